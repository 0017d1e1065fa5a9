//! The code under fuzzing, from the main crates' own files.

// Inline modules with a path: their files resolve as in their own crates
// (`types.rs` finds `types/inbox.rs` and its siblings).
#[allow(dead_code)]
#[path = "../../app/src"]
mod app_src {
    pub mod types;
}
pub use app_src::types;

#[allow(dead_code)]
#[path = "../../server/src/ingest"]
mod ingest {
    pub mod extract;
}
pub use ingest::extract;

/// What the server does with a socket's text frame: decode it, then check
/// the message body it carries. Returns whether it
/// was a message the server would act on.
pub fn client_frame(data: &[u8]) -> bool {
    use types::{ClientMsg, MessageBody};
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(msg) = serde_json::from_str::<ClientMsg>(text) else {
        return false;
    };
    match &msg {
        ClientMsg::Send { text, .. } | ClientMsg::Note { text, .. } => {
            if let Ok(body) = MessageBody::parse(text) {
                assert!(!body.as_str().trim().is_empty());
                assert!(body.as_str().chars().count() <= types::MAX_MESSAGE_CHARS);
            }
        }
        _ => {}
    }
    // What decodes encodes back to the same message.
    let again: ClientMsg = serde_json::from_str(&serde_json::to_string(&msg).unwrap()).unwrap();
    assert_eq!(again, msg);
    true
}

/// The HTML-to-text path: a page's sections, with no markup left in
/// headings' anchors and nothing empty.
pub fn html_to_text(data: &[u8]) {
    let html = String::from_utf8_lossy(data);
    let page = extract::extract(&html);
    for section in &page.sections {
        assert!(!section.text.trim().is_empty() || !section.headings.is_empty());
    }
}
