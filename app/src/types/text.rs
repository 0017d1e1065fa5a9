//! Names people give things (their own, a business's, a team's): shown to
//! others, so checked alike everywhere.

/// Characters that reorder the text around them (bidirectional overrides,
/// embeddings, isolates and marks): in a name they can make "Alex" read as
/// someone else's name or flip what follows it.
fn reorders(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The name trimmed, if it is 1 to `max` characters with no control or
/// reordering characters.
pub fn plain_name(text: &str, max: usize) -> Option<&str> {
    let name = text.trim();
    let count = name.chars().count();
    (count >= 1 && count <= max && !name.chars().any(|c| c.is_control() || reorders(c)))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn names_are_trimmed_and_plain() {
        assert_eq!(plain_name("  Sam Lee ", 80), Some("Sam Lee"));
        assert_eq!(
            plain_name("Zoë Ångström-Nakamura 山田", 80),
            Some("Zoë Ångström-Nakamura 山田")
        );
        assert_eq!(plain_name("مريم", 80), Some("مريم"));
        for bad in [
            "",
            "   ",
            "Sam\u{202E}nimdA",
            "a\u{2066}b",
            "Sam\nAdmin",
            "x\u{0}",
        ] {
            assert_eq!(plain_name(bad, 80), None, "{bad:?}");
        }
        assert_eq!(plain_name(&"a".repeat(81), 80), None);
        assert_eq!(
            plain_name(&"é".repeat(80), 80).map(|n| n.chars().count()),
            Some(80)
        );
    }
}
