//! The widget as admins set it up, as the launcher and the chat frame get
//! it, and what the widget tells a visitor who waits for a person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The languages the widget's own texts come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    En,
    De,
    Fr,
    Es,
    Ja,
}

impl Language {
    pub const ALL: [Language; 5] = [Self::En, Self::De, Self::Fr, Self::Es, Self::Ja];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::Ja => "ja",
        }
    }

    /// The language's own name, for the admin's menu.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
            Self::Fr => "Français",
            Self::Es => "Español",
            Self::Ja => "日本語",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The first language of an `Accept-Language` header the widget speaks
    /// (`de-CH,de;q=0.9,en;q=0.8` → German), by the header's weights.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(f32, usize, Self)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let weight = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                let primary = tag.split('-').next()?;
                Some((weight, i, Self::parse(primary)?))
            })
            .filter(|(w, _, _)| *w > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|r| r.2)
    }
}

/// Which corner the launcher sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Left,
    #[default]
    Right,
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "left" => Some(Self::Left),
            "right" => Some(Self::Right),
            _ => None,
        }
    }
}

/// What an admin sets on `/admin/widget`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetLook {
    /// `#rrggbb`.
    pub brand_color: String,
    pub position: Position,
    /// Empty: the default greeting in the widget's language.
    pub greeting: String,
    /// Empty: the default launcher text in the widget's language.
    pub launcher_text: String,
    /// `None`: the visitor's browser language, when the widget speaks it.
    pub language: Option<Language>,
    /// Sites (`https://shop.example`) allowed to embed the widget; empty: any.
    pub allowed_origins: Vec<String>,
}

/// The admin page's view: the settings, and what a site needs to embed the
/// widget and to verify its users.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetAdmin {
    pub look: WidgetLook,
    pub workspace_slug: String,
    /// Its name, as the chat's header shows it.
    pub workspace_name: String,
    /// The HMAC-SHA256 key the site signs its users' ids with.
    pub identity_secret: String,
}

/// Without the key: a `Debug` print (a log line, a panic) never shows it.
impl std::fmt::Debug for WidgetAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetAdmin")
            .field("look", &self.look)
            .field("workspace_slug", &self.workspace_slug)
            .field("workspace_name", &self.workspace_name)
            .field("identity_secret", &super::REDACTED)
            .finish()
    }
}

/// What the launcher script (`widget.js`) fetches from `/widget/config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LauncherConfig {
    pub brand_color: String,
    pub position: Position,
    pub language: Language,
    pub launcher_text: String,
    pub close_text: String,
    /// The frame's accessible name.
    pub frame_title: String,
    /// "{n} unread messages", for the launcher's badge.
    pub unread_label: String,
}

/// A signed-in user of the embedding site, as `Tandem.identify` passes it.
/// `user_hash` is hex(HMAC-SHA256(identity secret, user_id)), computed by
/// the site's server; an identity without a valid one is refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub user_id: String,
    pub user_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// What a visitor waiting for a person is told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expectation {
    /// Within support hours with agents online: an estimate from the queue
    /// and recent first replies (`None`: too little history to say).
    ReplyIn { minutes: Option<u32> },
    /// Within support hours, but nobody is online right now.
    TeamAway,
    /// Outside support hours: when they open again.
    BackAt { at: DateTime<Utc> },
}

/// The widget's own texts in one language. `{n}` and `{name}` are filled in.
#[derive(Debug)]
pub struct Texts {
    pub launcher: &'static str,
    pub close: &'static str,
    pub frame_title: &'static str,
    pub unread: &'static str,
    pub greeting: &'static str,
    pub subtitle_ai: &'static str,
    pub connecting: &'static str,
    pub talk_to_team: &'static str,
    pub team_notified: &'static str,
    pub close_chat: &'static str,
    pub your_message: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub sending: &'static str,
    pub not_sent: &'static str,
    pub ai_label: &'static str,
    pub sources: &'static str,
    pub helpful: &'static str,
    pub not_helpful: &'static str,
    pub thanks_feedback: &'static str,
    pub reply_in: &'static str,
    pub reply_soon: &'static str,
    pub team_away: &'static str,
    pub back_at: &'static str,
    pub keep_asking: &'static str,
    pub email_prompt: &'static str,
    pub email_label: &'static str,
    pub email_submit: &'static str,
    pub email_left: &'static str,
    /// The maximum wait passed with nobody free (`{n}`: minutes).
    pub wait_notice: &'static str,
    pub joined: &'static str,
    pub is_typing: &'static str,
    pub seen: &'static str,
    pub conversation: &'static str,
    pub you: &'static str,
    pub team: &'static str,
    pub ai_answer: &'static str,
    pub writing: &'static str,
    /// Shown from the moment a message is stored until the AI's first word.
    pub ai_typing: &'static str,
    pub handoff_unsure: &'static str,
    /// The AI is unsure and offers the team (the workspace's choice).
    pub unsure_offer: &'static str,
    pub handoff_personal: &'static str,
    pub handoff_asked: &'static str,
    pub resolved: &'static str,
    pub ai_back: &'static str,
    pub rate_prompt: &'static str,
}

impl Language {
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::De => &DE,
            Self::Fr => &FR,
            Self::Es => &ES,
            Self::Ja => &JA,
        }
    }
}

static EN: Texts = Texts {
    launcher: "Chat with us",
    close: "Close chat",
    frame_title: "Support chat",
    unread: "{n} unread",
    greeting: "Hi! I'm the {name} AI assistant. I answer from our help centre and cite my sources. You can talk to the team at any time.",
    subtitle_ai: "AI assistant · answers from our help centre",
    connecting: "Connecting…",
    talk_to_team: "Talk to the team",
    team_notified: "Team notified",
    close_chat: "Close the chat",
    your_message: "Your message",
    placeholder: "Ask a question…",
    send: "Send",
    sending: "Sending…",
    not_sent: "Not sent",
    ai_label: "AI",
    sources: "Sources",
    helpful: "Helpful",
    not_helpful: "Not helpful",
    thanks_feedback: "Thanks for the feedback.",
    reply_in: "A person from the team will reply here, usually in ~{n} min.",
    reply_soon: "A person from the team will reply here shortly.",
    team_away: "Nobody from the team is online right now.",
    back_at: "The team is away and back {when}.",
    keep_asking: "You can keep asking the AI meanwhile.",
    email_prompt: "Leave your email and we'll follow up there.",
    email_label: "Your email",
    email_submit: "Notify me",
    email_left: "We'll email you at {email} if you're not here when the team replies.",
    wait_notice: "Sorry, nobody from the team has been free for {n} minutes. You're still in the queue; leave your email and we'll reply there too.",
    joined: "{name} from the team joined the conversation.",
    is_typing: "{name} is typing…",
    seen: "Seen",
    conversation: "Conversation",
    you: "You",
    team: "Team",
    ai_answer: "AI answer",
    writing: "writing…",
    ai_typing: "typing…",
    handoff_unsure: "I could not find a reliable answer in our help centre, so I passed your question to the team.",
    unsure_offer: "I'm not sure: I could not find a reliable answer to that in our help centre. You can ask it another way, or choose “Talk to the team” to reach a person.",
    handoff_personal: "This is something our team handles personally.",
    handoff_asked: "You asked for a person: someone from the team will reply here.",
    resolved: "The conversation was marked as resolved.",
    ai_back: "The AI assistant is back.",
    rate_prompt: "Was this answer helpful?",
};

static DE: Texts = Texts {
    launcher: "Chatte mit uns",
    close: "Chat schließen",
    frame_title: "Support-Chat",
    unread: "{n} ungelesen",
    greeting: "Hallo! Ich bin der KI-Assistent von {name}. Ich antworte aus unserem Hilfe-Center und nenne meine Quellen. Du kannst jederzeit mit dem Team sprechen.",
    subtitle_ai: "KI-Assistent · antwortet aus dem Hilfe-Center",
    connecting: "Verbinde…",
    talk_to_team: "Mit dem Team sprechen",
    team_notified: "Team benachrichtigt",
    close_chat: "Chat schließen",
    your_message: "Deine Nachricht",
    placeholder: "Stell eine Frage…",
    send: "Senden",
    sending: "Wird gesendet…",
    not_sent: "Nicht gesendet",
    ai_label: "KI",
    sources: "Quellen",
    helpful: "Hilfreich",
    not_helpful: "Nicht hilfreich",
    thanks_feedback: "Danke für dein Feedback.",
    reply_in: "Jemand aus dem Team antwortet hier, meist in ca. {n} Min.",
    reply_soon: "Jemand aus dem Team antwortet hier in Kürze.",
    team_away: "Gerade ist niemand aus dem Team online.",
    back_at: "Das Team ist nicht da und wieder erreichbar {when}.",
    keep_asking: "Du kannst die KI inzwischen weiter fragen.",
    email_prompt: "Hinterlass deine E-Mail-Adresse, wir melden uns dort.",
    email_label: "Deine E-Mail-Adresse",
    email_submit: "Benachrichtigen",
    email_left: "Wir schreiben dir an {email}, falls du nicht mehr hier bist, wenn das Team antwortet.",
    wait_notice: "Entschuldige, seit {n} Minuten ist niemand aus dem Team frei. Du bleibst in der Warteschlange; hinterlass deine E-Mail-Adresse, dann antworten wir auch dort.",
    joined: "{name} aus dem Team ist dem Gespräch beigetreten.",
    is_typing: "{name} schreibt…",
    seen: "Gesehen",
    conversation: "Gespräch",
    you: "Du",
    team: "Team",
    ai_answer: "KI-Antwort",
    writing: "schreibt…",
    ai_typing: "schreibt…",
    handoff_unsure: "Ich habe in unserem Hilfe-Center keine verlässliche Antwort gefunden und deine Frage an das Team weitergegeben.",
    unsure_offer: "Da bin ich mir nicht sicher: In unserem Hilfe-Center habe ich keine verlässliche Antwort gefunden. Du kannst die Frage anders stellen oder über „Mit dem Team sprechen“ eine Person erreichen.",
    handoff_personal: "Darum kümmert sich unser Team persönlich.",
    handoff_asked: "Du hast nach einer Person gefragt: Jemand aus dem Team antwortet hier.",
    resolved: "Das Gespräch wurde als gelöst markiert.",
    ai_back: "Der KI-Assistent ist wieder da.",
    rate_prompt: "War diese Antwort hilfreich?",
};

static FR: Texts = Texts {
    launcher: "Discuter avec nous",
    close: "Fermer le chat",
    frame_title: "Chat d'assistance",
    unread: "{n} non lus",
    greeting: "Bonjour ! Je suis l'assistant IA de {name}. Je réponds à partir de notre centre d'aide et je cite mes sources. Vous pouvez parler à l'équipe à tout moment.",
    subtitle_ai: "Assistant IA · répond à partir du centre d'aide",
    connecting: "Connexion…",
    talk_to_team: "Parler à l'équipe",
    team_notified: "Équipe prévenue",
    close_chat: "Fermer le chat",
    your_message: "Votre message",
    placeholder: "Posez une question…",
    send: "Envoyer",
    sending: "Envoi…",
    not_sent: "Non envoyé",
    ai_label: "IA",
    sources: "Sources",
    helpful: "Utile",
    not_helpful: "Pas utile",
    thanks_feedback: "Merci pour votre avis.",
    reply_in: "Une personne de l'équipe vous répondra ici, en général sous ~{n} min.",
    reply_soon: "Une personne de l'équipe vous répondra ici sous peu.",
    team_away: "Personne de l'équipe n'est en ligne pour le moment.",
    back_at: "L'équipe est absente et revient {when}.",
    keep_asking: "Vous pouvez continuer à interroger l'IA en attendant.",
    email_prompt: "Laissez votre e-mail et nous vous répondrons par ce biais.",
    email_label: "Votre e-mail",
    email_submit: "Me prévenir",
    email_left: "Nous vous écrirons à {email} si vous n'êtes plus là quand l'équipe répondra.",
    wait_notice: "Désolé, personne de l'équipe n'est disponible depuis {n} minutes. Vous restez dans la file ; laissez votre e-mail et nous vous répondrons aussi par ce biais.",
    joined: "{name} de l'équipe a rejoint la conversation.",
    is_typing: "{name} écrit…",
    seen: "Vu",
    conversation: "Conversation",
    you: "Vous",
    team: "Équipe",
    ai_answer: "Réponse de l'IA",
    writing: "en train d'écrire…",
    ai_typing: "écrit…",
    handoff_unsure: "Je n'ai pas trouvé de réponse fiable dans notre centre d'aide, j'ai donc transmis votre question à l'équipe.",
    unsure_offer: "Je ne suis pas sûr : je n'ai pas trouvé de réponse fiable dans notre centre d'aide. Vous pouvez reformuler votre question, ou choisir « Parler à l'équipe » pour joindre une personne.",
    handoff_personal: "Notre équipe traite ce sujet personnellement.",
    handoff_asked: "Vous avez demandé une personne : quelqu'un de l'équipe vous répondra ici.",
    resolved: "La conversation a été marquée comme résolue.",
    ai_back: "L'assistant IA est de retour.",
    rate_prompt: "Cette réponse vous a-t-elle aidé ?",
};

static ES: Texts = Texts {
    launcher: "Chatea con nosotros",
    close: "Cerrar chat",
    frame_title: "Chat de soporte",
    unread: "{n} sin leer",
    greeting: "¡Hola! Soy el asistente de IA de {name}. Respondo a partir de nuestro centro de ayuda y cito mis fuentes. Puedes hablar con el equipo en cualquier momento.",
    subtitle_ai: "Asistente de IA · responde desde el centro de ayuda",
    connecting: "Conectando…",
    talk_to_team: "Hablar con el equipo",
    team_notified: "Equipo avisado",
    close_chat: "Cerrar el chat",
    your_message: "Tu mensaje",
    placeholder: "Haz una pregunta…",
    send: "Enviar",
    sending: "Enviando…",
    not_sent: "No enviado",
    ai_label: "IA",
    sources: "Fuentes",
    helpful: "Útil",
    not_helpful: "No útil",
    thanks_feedback: "Gracias por tu opinión.",
    reply_in: "Una persona del equipo te responderá aquí, normalmente en ~{n} min.",
    reply_soon: "Una persona del equipo te responderá aquí en breve.",
    team_away: "Ahora mismo no hay nadie del equipo conectado.",
    back_at: "El equipo no está y vuelve {when}.",
    keep_asking: "Mientras tanto puedes seguir preguntando a la IA.",
    email_prompt: "Déjanos tu correo y te responderemos allí.",
    email_label: "Tu correo electrónico",
    email_submit: "Avísame",
    email_left: "Te escribiremos a {email} si no estás aquí cuando el equipo responda.",
    wait_notice: "Lo sentimos, nadie del equipo ha estado libre durante {n} minutos. Sigues en la cola; déjanos tu correo y también te responderemos allí.",
    joined: "{name} del equipo se unió a la conversación.",
    is_typing: "{name} está escribiendo…",
    seen: "Visto",
    conversation: "Conversación",
    you: "Tú",
    team: "Equipo",
    ai_answer: "Respuesta de la IA",
    writing: "escribiendo…",
    ai_typing: "escribiendo…",
    handoff_unsure: "No encontré una respuesta fiable en nuestro centro de ayuda, así que pasé tu pregunta al equipo.",
    unsure_offer: "No estoy seguro: no encontré una respuesta fiable en nuestro centro de ayuda. Puedes preguntarlo de otra forma o elegir «Hablar con el equipo» para hablar con una persona.",
    handoff_personal: "De esto se encarga nuestro equipo personalmente.",
    handoff_asked: "Pediste hablar con una persona: alguien del equipo te responderá aquí.",
    resolved: "La conversación se marcó como resuelta.",
    ai_back: "El asistente de IA ha vuelto.",
    rate_prompt: "¿Te ha sido útil esta respuesta?",
};

static JA: Texts = Texts {
    launcher: "チャットで質問",
    close: "チャットを閉じる",
    frame_title: "サポートチャット",
    unread: "未読 {n} 件",
    greeting: "こんにちは！{name}のAIアシスタントです。ヘルプセンターの内容から出典付きでお答えします。いつでもチームと話せます。",
    subtitle_ai: "AIアシスタント · ヘルプセンターからお答えします",
    connecting: "接続中…",
    talk_to_team: "チームと話す",
    team_notified: "チームに通知しました",
    close_chat: "チャットを閉じる",
    your_message: "メッセージ",
    placeholder: "質問を入力…",
    send: "送信",
    sending: "送信中…",
    not_sent: "未送信",
    ai_label: "AI",
    sources: "出典",
    helpful: "役に立った",
    not_helpful: "役に立たなかった",
    thanks_feedback: "ご意見ありがとうございます。",
    reply_in: "チームの担当者がここで返信します（通常 約{n}分）。",
    reply_soon: "チームの担当者がまもなくここで返信します。",
    team_away: "現在オンラインのチームメンバーはいません。",
    back_at: "チームは不在です。再開は{when}です。",
    keep_asking: "その間もAIに質問できます。",
    email_prompt: "メールアドレスを残していただければ、メールでご連絡します。",
    email_label: "メールアドレス",
    email_submit: "通知を受け取る",
    email_left: "チームが返信するときにご不在の場合は、{email} にご連絡します。",
    wait_notice: "申し訳ありません。{n}分間、対応できる担当者がいません。順番はそのままです。メールアドレスを残していただければ、メールでもお返事します。",
    joined: "チームの{name}が会話に参加しました。",
    is_typing: "{name}が入力中…",
    seen: "既読",
    conversation: "会話",
    you: "あなた",
    team: "チーム",
    ai_answer: "AIの回答",
    writing: "入力中…",
    ai_typing: "入力中…",
    handoff_unsure: "ヘルプセンターに確かな回答が見つからなかったため、ご質問をチームに引き継ぎました。",
    unsure_offer: "確かな回答がヘルプセンターに見つかりませんでした。別の言い方で質問するか、「チームと話す」を選ぶと担当者につながります。",
    handoff_personal: "この件はチームの担当者が直接対応します。",
    handoff_asked: "担当者との会話をご希望されました。チームの担当者がここで返信します。",
    resolved: "この会話は解決済みになりました。",
    ai_back: "AIアシスタントに戻りました。",
    rate_prompt: "この回答は役に立ちましたか？",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let admin = WidgetAdmin {
            look: WidgetLook {
                brand_color: "#123456".into(),
                position: Position::default(),
                greeting: String::new(),
                launcher_text: String::new(),
                language: None,
                allowed_origins: Vec::new(),
            },
            workspace_slug: "demo".into(),
            workspace_name: "Nimbus".into(),
            identity_secret: "s3cret-key-42".into(),
        };
        let generator = crate::types::policy::GeneratorSettings::OpenAi {
            base_url: "https://api.example/v1".into(),
            model: "m".into(),
            api_key: "sk-live-42".into(),
        };
        let printed = format!("{admin:?} {admin:#?} {generator:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("sk-live"),
            "{printed}"
        );
        assert!(
            printed.contains("Nimbus") && printed.contains("api.example"),
            "{printed}"
        );
    }

    #[test]
    fn accept_language_picks_the_best_spoken_language() {
        assert_eq!(
            Language::from_accept_language("de-CH,de;q=0.9,en;q=0.8"),
            Some(Language::De)
        );
        assert_eq!(
            Language::from_accept_language("pt-BR,pt;q=0.9,fr;q=0.5,en;q=0.7"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("ja;q=0, es"),
            Some(Language::Es)
        );
        assert_eq!(Language::from_accept_language("pt, nl"), None);
        assert_eq!(Language::from_accept_language(""), None);
    }

    #[test]
    fn every_language_fills_its_placeholders() {
        for language in Language::ALL {
            let t = language.texts();
            assert!(t.greeting.contains("{name}"), "{language:?}");
            assert!(t.reply_in.contains("{n}"), "{language:?}");
            assert!(t.unread.contains("{n}"), "{language:?}");
            assert!(t.back_at.contains("{when}"), "{language:?}");
            assert!(t.email_left.contains("{email}"), "{language:?}");
            assert!(t.wait_notice.contains("{n}"), "{language:?}");
            assert!(t.joined.contains("{name}"), "{language:?}");
            assert!(t.is_typing.contains("{name}"), "{language:?}");
        }
    }
}
