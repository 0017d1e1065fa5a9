//! Names people give things (their own, a business's, a team's, a tag):
//! shown to others, so checked alike everywhere.

/// Characters a name shown to others must not have: controls, those that
/// reorder the text around them (bidirectional overrides, embeddings,
/// isolates and marks: "Alex" could read as someone else's name), line and
/// paragraph separators, and invisible ones (zero-width space, word joiner,
/// invisible operators and deprecated format characters, byte-order mark,
/// soft hyphen, Hangul fillers, interlinear annotation, tag characters,
/// musical formatting). The zero-width joiners some scripts and emoji need
/// stay.
pub fn hidden_or_reordering(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0E}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// The name trimmed, if it is 1 to `max` characters with none of
/// [`hidden_or_reordering`].
pub fn plain_name(text: &str, max: usize) -> Option<&str> {
    let name = text.trim();
    let count = name.chars().count();
    (count >= 1 && count <= max && !name.chars().any(hidden_or_reordering)).then_some(name)
}

/// The text with [`hidden_or_reordering`] characters taken out (a title
/// taken from a file, a name a site sent).
pub fn without_hidden(text: &str) -> String {
    text.chars().filter(|c| !hidden_or_reordering(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::{plain_name, without_hidden};

    #[test]
    fn names_are_trimmed_and_plain() {
        assert_eq!(plain_name("  Sam Lee ", 80), Some("Sam Lee"));
        assert_eq!(
            plain_name("Zoë Ångström-Nakamura 山田", 80),
            Some("Zoë Ångström-Nakamura 山田")
        );
        assert_eq!(plain_name("مريم", 80), Some("مريم"));
        // Persian's non-joiner and an emoji's joiner are letters' business.
        let joined = "کتاب\u{200C}ها 👩\u{200D}💻";
        assert_eq!(plain_name(joined, 80), Some(joined));
        for bad in [
            "",
            "   ",
            "Sam\u{202E}nimdA",
            "a\u{2066}b",
            "Sam\nAdmin",
            "x\u{0}",
            "Sa\u{2028}les",
            "Sa\u{200B}m",
            "\u{FEFF}Sam",
            "Sa\u{00AD}m",
            "\u{3164}",
            "vip\u{E0041}",
            "a\u{206A}b",
        ] {
            assert_eq!(plain_name(bad, 80), None, "{bad:?}");
        }
        assert_eq!(plain_name(&"a".repeat(81), 80), None);
        assert_eq!(
            plain_name(&"é".repeat(80), 80).map(|n| n.chars().count()),
            Some(80)
        );
        assert_eq!(without_hidden("invoice\u{202E}txt.exe"), "invoicetxt.exe");
    }
}
