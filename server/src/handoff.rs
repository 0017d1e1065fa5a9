//! Handoff policy: when the AI must not answer alone. A visitor asking for a
//! person (any wording, several languages), a sensitive topic, or an answer
//! below the confidence threshold.

use std::sync::LazyLock;

use regex::Regex;

/// Phrasings of "I want a person", in English, German, French, Spanish and Japanese.
static HUMAN_REQUEST: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\b(talk|speak|chat|connect|transfer|put|get)\b[^.?!]{0,20}\b(to|with|me)\b[^.?!]{0,20}\b(person|human|agent|someone|somebody|representative|operator|staff|team|people|rep|support)\b",
        r"\b(real|live|actual)\s+(person|human|agent|people)\b",
        r"\b(human|person|agent)\s*,?\s*please\b",
        r"\bi\s+(want|need|would like|'d like)\b[^.?!]{0,15}\b(a |an )?(person|human|agent|representative)\b",
        r"\b(mit\s+)?(einem|einer)\s+(menschen|mitarbeiter|mitarbeiterin|berater|beraterin|person)\s+(sprechen|reden)\b",
        r"\b(echten|realen)\s+(menschen|person|mitarbeiter)\b",
        r"\bparler\s+(à|a|avec)\s+(un|une|quelqu'un|quelqu’un)\b",
        r"\b(un|une)\s+(humain|conseiller|conseillère|personne réelle|vraie personne|agent humain)\b",
        r"\bhablar\s+con\s+(una persona|un humano|un agente|alguien|un asesor)\b",
        r"\b(persona real|agente humano)\b",
        r"(人と話|担当者|オペレーター|人間と|スタッフと話)",
    ]
    .iter()
    .map(|p| Regex::new(&format!("(?i){p}")).expect("static pattern"))
    .collect()
});

/// Default sensitive categories with phrases that signal them.
static SENSITIVE: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("billing_dispute", r"\b(charged twice|double[- ]charged|overcharged|chargeback|dispute (a|the|this) (charge|payment)|unauthori[sz]ed (charge|payment|transaction)|did not authori[sz]e|didn't authori[sz]e|fraudulent)\b|(doppelt (abgebucht|belastet)|débité deux fois|cobrado dos veces|二重請求)"),
        ("account_access", r"\b(hacked|locked out|lost access|can'?t (log|sign) ?in|cannot (log|sign) ?in|someone (else )?(logged|signed) into my account|account (was )?(compromised|taken over))\b|(gehackt|piraté|hackeado|乗っ取)"),
        ("security_incident", r"\b(data breach|security (breach|incident|vulnerability)|phishing|leaked (my )?data)\b|(datenleck|fuite de données|brecha de datos|情報漏洩)"),
        ("legal", r"\b(lawyer|attorney|lawsuit|sue you|legal action|small claims)\b|(anwalt|klage|avocat|poursuite|abogado|demanda|弁護士|訴訟)"),
        ("privacy_request", r"\b(gdpr|delete (all )?my (personal )?data|erase my data|right to be forgotten|data subject (access )?request)\b|(dsgvo|rgpd|削除してください)"),
        ("abuse", r"\b(harass(ed|ment)?|threaten(ed|ing)?|stalk(ed|ing)?)\b|(belästig|harcèlement|acoso|嫌がらせ)"),
        ("wellbeing", r"\b(suicid(e|al)|kill myself|self[- ]harm|want to die|end my life)\b|(selbstmord|suicide|suicidio|自殺|死にたい)"),
    ]
    .iter()
    .map(|(category, p)| (*category, Regex::new(&format!("(?i){p}")).expect("static pattern")))
    .collect()
});

/// The words that ask for a person, if the message does.
pub fn human_request(text: &str) -> Option<String> {
    HUMAN_REQUEST
        .iter()
        .find_map(|re| re.find(text).map(|m| m.as_str().to_owned()))
}

/// The sensitive category and the words that signalled it, if any.
pub fn sensitive_topic(text: &str) -> Option<(String, String)> {
    SENSITIVE.iter().find_map(|(category, re)| {
        re.find(text)
            .map(|m| ((*category).to_owned(), m.as_str().to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_requests_for_a_person() {
        for text in [
            "I want to talk to a person",
            "can I speak with someone from support?",
            "real human please",
            "Connect me to an agent",
            "Ich möchte mit einem Menschen sprechen",
            "Je veux parler à un conseiller",
            "Quiero hablar con una persona",
            "担当者と話したいです",
        ] {
            assert!(human_request(text).is_some(), "missed: {text}");
        }
    }

    #[test]
    fn ignores_ordinary_questions() {
        for text in [
            "how do I add a human user role",
            "how long do refunds take?",
            "Can the lamp talk to Alexa?",
            "what does the team plan cost",
        ] {
            assert!(human_request(text).is_none(), "false positive: {text}");
        }
    }

    #[test]
    fn flags_sensitive_topics() {
        assert_eq!(
            sensitive_topic("I was charged twice this month").unwrap().0,
            "billing_dispute"
        );
        assert_eq!(
            sensitive_topic("my account got hacked").unwrap().0,
            "account_access"
        );
        assert!(sensitive_topic("how do I reset my password?").is_none());
        assert!(sensitive_topic("how long do refunds take?").is_none());
    }
}
