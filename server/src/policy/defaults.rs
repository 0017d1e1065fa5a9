//! The default sensitive categories every workspace starts with, each with a
//! few starter examples the admin sees and edits. Recognition itself rests on
//! the built-in multilingual examples (`intent`); phrases start empty: they
//! are the admin's explicit override (bare words such as "GDPR" also appear
//! in ordinary questions, so none is built in).

use app::types::policy::SensitiveCategory;

struct Default {
    name: &'static str,
    examples: &'static [&'static str],
}

const DEFAULTS: &[Default] = &[
    Default {
        name: "billing_dispute",
        examples: &[
            "I was charged twice for the same order",
            "There is a payment on my statement I did not make",
            "I want to dispute a charge",
            "Why is there an unknown transaction on my account?",
            "Someone used my card to pay for things",
            "I was charged more than the price",
            "I want my money back for a payment I didn't authorise",
            "A payment shows up twice on my account",
            "There is a withdrawal from my account that I did not do",
            "Why was I charged a fee I was not told about?",
            "There is a direct debit I never set up",
            "I don't know what this charge is for",
            "I was billed for something I never ordered",
            "The same payment went through two times",
            "Money left my account and it wasn't me",
            "My statement has a fee nobody told me about",
            "I see a purchase from a shop I have never been to",
            "You took more money than you should have",
            "A cash machine withdrawal shows up that I didn't make",
        ],
    },
    Default {
        name: "account_access",
        examples: &[
            "I can't get into my account",
            "My account has been blocked",
            "Someone hacked my account",
            "My identity verification keeps failing and I can't access my account",
            "I entered the wrong passcode too many times and now I'm locked out",
            "The app won't accept my identity documents",
            "I forgot my passcode and can't open the app",
            "My PIN is blocked after too many wrong tries",
            "The app keeps rejecting my ID",
            "I can't prove who I am to open my account",
            "My login code never arrives so I can't get in",
            "I'm stuck at the verification step",
        ],
    },
    Default {
        name: "security_incident",
        examples: &[
            "I lost my phone with the app on it",
            "I think I was scammed",
            "Someone is using my account without permission",
            "I received a phishing email pretending to be you",
            "My wallet was stolen with my card in it",
            "I left my phone somewhere and someone could open my account",
            "Someone else knows my card details",
            "My bag was stolen with my cards inside",
            "Somebody might be using my account",
            "I think my details were leaked",
            "My phone is gone and my account is on it",
            "I need to block my card right now, it's missing",
        ],
    },
    Default {
        name: "legal",
        examples: &[
            "I am going to take legal action",
            "My lawyer will contact you",
        ],
    },
    Default {
        name: "privacy_request",
        examples: &[
            "Please delete all my personal data",
            "I want a copy of all the data you hold about me",
        ],
    },
    Default {
        name: "abuse",
        examples: &["Another user is harassing me", "I am being threatened"],
    },
    Default {
        name: "wellbeing",
        examples: &["I don't want to live anymore"],
    },
];

/// Whether `example` is one of the starter examples of `category` (counted
/// like a built-in example, not as the admin's own).
pub fn is_default_example(category: &str, example: &str) -> bool {
    DEFAULTS
        .iter()
        .any(|d| d.name == category && d.examples.contains(&example))
}

/// The default categories, enabled.
pub fn categories() -> Vec<SensitiveCategory> {
    DEFAULTS
        .iter()
        .map(|d| SensitiveCategory {
            name: d.name.to_owned(),
            enabled: true,
            phrases: Vec::new(),
            examples: d.examples.iter().map(|e| (*e).to_owned()).collect(),
        })
        .collect()
}
