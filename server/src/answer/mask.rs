//! Personal data in a visitor's words, masked before they leave for an
//! external model: email addresses, card-like numbers (13–19 digits that
//! pass the Luhn check) and phone numbers. The workspace's own content is
//! sent as it is (its support address is an answer, not personal data).

use std::sync::LazyLock;

use regex::Regex;

pub const EMAIL: &str = "[email]";
pub const CARD: &str = "[card number]";
pub const PHONE: &str = "[phone number]";

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b").expect("email")
});

/// Runs of digits with the separators people type in numbers: spaces,
/// dashes, dots, slashes and parentheses, optionally after a `+`.
static NUMBER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d[\d \-./()]{6,}\d").expect("number"));

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What a run of digits is, if personal.
fn classify(run: &str) -> Option<&'static str> {
    let digits: Vec<u32> = run.chars().filter_map(|c| c.to_digit(10)).collect();
    let separated = run.chars().any(|c| !c.is_ascii_digit() && c != '+');
    if (13..=19).contains(&digits.len()) && luhn(&digits) {
        return Some(CARD);
    }
    // A phone number: 9 to 15 digits, written like one (a leading +, or
    // grouped with separators), or 10 or more digits in a row. Dates
    // (2026-11-30, 8 digits) and short order numbers stay.
    let phone_like = run.starts_with('+') || separated || digits.len() >= 10;
    ((9..=15).contains(&digits.len()) && phone_like).then_some(PHONE)
}

/// `text` with email addresses, card-like numbers and phone numbers replaced
/// by `[email]`, `[card number]` and `[phone number]`.
pub fn mask(text: &str) -> String {
    let text = EMAIL_RE.replace_all(text, EMAIL);
    NUMBER_RE
        .replace_all(&text, |caps: &regex::Captures<'_>| {
            let run = &caps[0];
            // Trailing separators are not part of the number.
            let trimmed = run.trim_end_matches([' ', '-', '.', '/', '(', ')']);
            match classify(trimmed) {
                Some(label) => format!("{label}{}", &run[trimmed.len()..]),
                None => run.to_owned(),
            }
        })
        .into_owned()
}

/// Where `text` gives email addresses and phone or card numbers: each
/// span with its key (the address in lowercase, the number's digits). The
/// contact details an answer may only repeat from its sources.
pub fn contact_spans(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found: Vec<(std::ops::Range<usize>, String)> = EMAIL_RE
        .find_iter(text)
        .map(|m| (m.range(), m.as_str().to_ascii_lowercase()))
        .collect();
    for m in NUMBER_RE.find_iter(text) {
        let run = m.as_str().trim_end_matches([' ', '-', '.', '/', '(', ')']);
        let overlaps = found
            .iter()
            .any(|(r, _)| r.start < m.end() && m.start() < r.end);
        if !overlaps && classify(run).is_some() {
            let digits = run.chars().filter(char::is_ascii_digit).collect();
            found.push((m.start()..m.start() + run.len(), digits));
        }
    }
    found.sort_by_key(|(r, _)| r.start);
    found
}

/// The keys of [`contact_spans`].
pub fn contacts(text: &str) -> Vec<String> {
    contact_spans(text)
        .into_iter()
        .map(|(_, key)| key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_cards_and_phones_are_masked() {
        assert_eq!(
            mask("I'm jane.doe+shop@example.co.uk, call +44 20 7946 0958 or 020-7946-0958."),
            "I'm [email], call [phone number] or [phone number]."
        );
        assert_eq!(
            mask("my card 4111 1111 1111 1111 was charged twice"),
            "my card [card number] was charged twice"
        );
        assert_eq!(mask("card 5555-5555-5555-4444"), "card [card number]");
        assert_eq!(mask("ring me on 07700900123"), "ring me on [phone number]");
        assert_eq!(mask("(555) 123-4567 please"), "[phone number] please");
    }

    #[test]
    fn ordinary_numbers_stay() {
        for text in [
            "order 48213 arrived on 2026-11-30",
            "it costs 1,299.00 and weighs 2.5 kg",
            "reference 12345678",
            "4111 1111 1111 1112 is not a valid card",
            "version 1.2.3.4",
        ] {
            let masked = mask(text);
            assert!(!masked.contains(CARD), "{text} → {masked}");
            assert!(!masked.contains(EMAIL), "{text} → {masked}");
        }
        assert_eq!(
            mask("order 48213 arrived on 2026-11-30"),
            "order 48213 arrived on 2026-11-30"
        );
        assert_eq!(mask("reference 12345678"), "reference 12345678");
    }
}
