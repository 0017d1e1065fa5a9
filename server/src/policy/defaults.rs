//! The default sensitive categories every workspace starts with: phrases in
//! English, German, French, Spanish and Japanese, and English examples for
//! matching by meaning. Admins edit them per workspace.

use app::types::policy::SensitiveCategory;

struct Default {
    name: &'static str,
    phrases: &'static [&'static str],
    examples: &'static [&'static str],
}

const DEFAULTS: &[Default] = &[
    Default {
        name: "billing_dispute",
        phrases: &[
            r"/\b(charged|billed|paid|debited) (me )?(twice|double|two times|more than once|several times|multiple times|again)\b/",
            r"/\b(double|duplicate|duplicated|repeated|doubled)[- ]?(charge|charged|payment|transaction|billing|billed)s?\b/",
            r"/\b(payment|charge|transaction|debit)s? (is |was )?(showing|shows|appears|showing up|made|listed|twice|doubled|several times|more than once|multiple times)\b[^.?!]{0,25}\b(twice|more than once|several times|multiple times|doubled|two times)\b/",
            r"/\b(multiple|two|several) (of the same )?(charges|payments|transactions)\b[^.?!]{0,30}\b(one|same|single)\b/",
            r"/\b(unauthori[sz]ed|unknown|uknown|unrecogni[sz]ed|unfamiliar|strange|suspicious|fraudulent|odd|false|random|weird|mysterious) [^.?!]{0,20}(charge|payment|transaction|debit|withdrawal)s?\b/",
            r"/\b(don'?t|do not|didn'?t|did not|never|cannot|can'?t|dont) (recogni[sz]e|remember|authori[sz]e|make|made|set up|create|do|withdraw|take|took|approve|order|buy|purchase)\b[^.?!]{0,50}\b(charge|payment|transaction|debit|withdrawal|cash|money)\b/",
            r"/\b(charge|payment|transaction|debit|withdrawal|cash|money)s?\b[^.?!]{0,50}\b(i|that|that i|which i)\s+(really |definitely )?(don'?t|do not|didn'?t|did not|never|haven'?t|have not) (recogni[sz]e|remember|authori[sz]e|make|made|set up|create|do|done|withdraw|take|took|approve|receive)\b/",
            r"/\b(charge|fee|payment|withdrawal|debit)s?\b[^.?!]{0,40}\b(on|in|to) my (statement|bill)\b/",
            r"/\b(shows?|showing|appears?) (up )?as (multiple|several|two|double)\b|\b(multiple|several) of the same (charge|payment|transaction)\b|\bpayments? (was|were|got|has been) doubled\b/",
            r"/\bsomeone (else )?(made|has access|have access|is using|has been using)\b|\bwho has access to my (card|account)\b/",
            r"/\b(says|shows) (that )?i (got|withdr\w*|took|made|paid|spent|sent)\b[^.?!]{0,40}\bbut\b/",
            r"/\b(not mine|isn'?t mine|not my own|wasn'?t me|without my (consent|permission|knowledge))\b/",
            r"/\b(extra|additional|unexpected|hidden) (fee|charge|pound|euro|dollar|£|€|\$)\w*\b[^.?!]{0,30}\b(statement|account|card|app|charged|me)\b/",
            r"/\b(charged|charge|made to pay)\b[^.?!]{0,15}\b(extra|additional)\b/",
            r"/\b(what|why)\b[^.?!]{0,30}\b(fee|charge|withdrawal|payment|debit)\b[^.?!]{0,20}\b(on|in) my (statement|account|app|history)\b/",
            r"/\b(chargeback|charge back|overcharged|dispute)\b/",
            r"/\b(someone|somebody|people|thief|they)\b[^.?!]{0,40}\b(taking|taken|took|withdr[ae]wn?|withdrawing|stealing|using|used|spending|made)\b[^.?!]{0,30}\b(money|cash|card|payment|withdrawal)\b/",
            r"/\b(cloned|copied|skimmed) (my )?card\b|\b(someone|somebody) (has )?(cloned|copied)\b/",
            r"/\b(money|refund)\b[^.?!]{0,20}\bback\b[^.?!]{0,40}\b(payment|charge|transaction)\b[^.?!]{0,30}\b(didn'?t|did not|not|never)\b/",
            "doppelt abgebucht",
            "doppelt belastet",
            "unberechtigte abbuchung",
            "débité deux fois",
            "prélèvement non autorisé",
            "cobrado dos veces",
            "cargo no autorizado",
            "二重請求",
            "身に覚えのない請求",
        ],
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
        ],
    },
    Default {
        name: "account_access",
        phrases: &[
            r"/\b(hacked|locked out|lost access|account (is |was |got )?(blocked|locked|frozen|suspended|compromised|taken over))\b/",
            r"/\b(can ?n[o']?t|cannot|unable to|could ?n[o']?t|cant) (log|sign|get) ?(in|into)\b/",
            r"/\b(pin|passcode|password|code)\b[^.?!]{0,30}\b(blocked|locked|unblock\w*|unlock\w*|rejected|forgot\w*|wrong|incorrect|too many)\b/",
            r"/\b(unblock\w*|unlock\w*|forgot\w*|forget|lost|wrong|incorrect|don'?t (have|know|remember)|can'?t remember|cannot remember)\b[^.?!]{0,30}\b(pin|passcode|password)\b/",
            r"/\b(verify|verif\w*|prove|proving|confirm|provide)\b[^.?!]{0,25}\b(identity|identify|id|who i am|it is me|it'?s me)\b/",
            r"/\b(identity|id)\b[^.?!]{0,30}\b(verification|not (being )?accepted|rejected|failed|failing|won'?t|isn'?t|can'?t)\b/",
            r"/\b(pin|passcode)\b[^.?!]{0,20}\b(won'?t|doesn'?t|does not|not) work\b|\b(reset|change)\b[^.?!]{0,10}\bpasscode\b/",
            "gehackt",
            "gesperrt",
            "kein zugriff",
            "piraté",
            "compte bloqué",
            "hackeado",
            "cuenta bloqueada",
            "乗っ取",
            "ログインできない",
        ],
        examples: &[
            "I can't get into my account",
            "My account has been blocked",
            "Someone hacked my account",
            "My identity verification keeps failing and I can't access my account",
            "I entered the wrong passcode too many times and now I'm locked out",
            "The app won't accept my identity documents",
            "I forgot my passcode and can't open the app",
            "My PIN is blocked after too many wrong tries",
        ],
    },
    Default {
        name: "security_incident",
        phrases: &[
            r"/\b(data breach|security (breach|incident|vulnerability)|phishing|leaked (my )?data)\b/",
            r"/\b(stolen|lost|missing) (my )?(card|phone|wallet|cell ?phone|mobile)\b|\b(card|phone|wallet|cell ?phone|mobile) (was |is |has been |got )?(stolen|lost|gone|missing|taken)\b/",
            r"/\b(lost|left|forgot|misplaced) (my )?(card|phone|wallet|cell ?phone|mobile)\b/",
            r"/\b(can'?t|cannot) find my (card|phone|wallet)\b/",
            r"/\b(taken|took|grabbed) my (card|phone|wallet)\b|\b(wallet|card|phone) (fell|dropped)\b/",
            r"/\b(fraud\w*|scam|scammed|thief|mugged|robbed|stole|stolen)\b/",
            r"/\b(card|account)\b[^.?!]{0,30}\b(used|using|accessed) (by|without)\b/",
            r"/\bsomeone (else )?(is |has been |may be |might be )?(using|used|accessing|accessed) my (card|account|phone)\b/",
            "datenleck",
            "gestohlen",
            "fuite de données",
            "volé",
            "brecha de datos",
            "robado",
            "情報漏洩",
            "盗まれ",
        ],
        examples: &[
            "I lost my phone with the app on it",
            "I think I was scammed",
            "Someone is using my account without permission",
            "I received a phishing email pretending to be you",
            "My wallet was stolen with my card in it",
            "I left my phone somewhere and someone could open my account",
            "Someone else knows my card details",
        ],
    },
    Default {
        name: "legal",
        phrases: &[
            r"/\b(lawyer|attorney|lawsuit|sue you|legal action|small claims|court)\b/",
            "anwalt",
            "klage",
            "avocat",
            "poursuite judiciaire",
            "abogado",
            "demanda judicial",
            "弁護士",
            "訴訟",
        ],
        examples: &[
            "I am going to take legal action",
            "My lawyer will contact you",
        ],
    },
    Default {
        name: "privacy_request",
        phrases: &[
            r"/\b(gdpr|ccpa|right to be forgotten|data subject (access )?request)\b/",
            r"/\b(delete|erase|remove) (all )?(of )?my (personal )?(data|information)\b/",
            "dsgvo",
            "meine daten löschen",
            "rgpd",
            "supprimer mes données",
            "borrar mis datos",
            "個人情報を削除",
        ],
        examples: &[
            "Please delete all my personal data",
            "I want a copy of all the data you hold about me",
        ],
    },
    Default {
        name: "abuse",
        phrases: &[
            r"/\b(harass(ed|ment)?|threaten(ed|ing)?|stalk(ed|ing)?)\b/",
            "belästig",
            "harcèlement",
            "acoso",
            "嫌がらせ",
        ],
        examples: &["Another user is harassing me", "I am being threatened"],
    },
    Default {
        name: "wellbeing",
        phrases: &[
            r"/\b(suicid(e|al)|kill myself|self[- ]harm|want to die|end my life)\b/",
            "selbstmord",
            "mich umbringen",
            "me suicider",
            "suicidarme",
            "自殺",
            "死にたい",
        ],
        examples: &["I don't want to live anymore"],
    },
];

/// The default categories, enabled.
pub fn categories() -> Vec<SensitiveCategory> {
    DEFAULTS
        .iter()
        .map(|d| SensitiveCategory {
            name: d.name.to_owned(),
            enabled: true,
            phrases: d.phrases.iter().map(|p| (*p).to_owned()).collect(),
            examples: d.examples.iter().map(|e| (*e).to_owned()).collect(),
        })
        .collect()
}
