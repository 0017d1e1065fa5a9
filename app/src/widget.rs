//! The chat a visitor sees inside the widget's frame (`/widget?workspace=…`),
//! in the workspace's (or the visitor's) language, with the embedding page's
//! origin (`host`) and, for a site's signed-in user, a signed identity.

mod api;

pub use api::*;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::live::{self, use_live};
use crate::thread::{Avatar, Ratings, ThreadState, ThreadTail, ThreadView, Viewer, VisitorTexts};
use crate::types::widget::{Expectation, Identity, Language, Texts};
use crate::types::{ClientMsg, ConversationStatus, EventBody, MessageBody, ServerMsg};

/// What the chat shows before any conversation: the workspace's own texts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub greeting: String,
    pub brand_color: String,
    pub language: Language,
}

fn slug_only(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(63)
        .collect()
}

/// A visitor token as the server issues it: hex, nothing else.
fn token_only(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .take(128)
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the frame's address says: the workspace, the page it is on, the
/// page's origin, and the site's signed-in user (if `Tandem.identify` ran).
#[derive(Clone, Debug, Default)]
struct Embedding {
    workspace: String,
    page: String,
    host: String,
    identity: Option<Identity>,
    /// Loaded hidden (a later page of a site where the chat was opened), to
    /// count unread replies until the visitor opens it.
    hidden: bool,
    /// The key of a follow-up email's link: this browser continues that
    /// visitor's conversation.
    resume: Option<String>,
}

impl Embedding {
    /// The socket's query, less `after` and the token.
    fn query(&self) -> String {
        let mut query = format!("workspace={}", self.workspace);
        for (key, value) in [("page", &self.page), ("host", &self.host)] {
            if !value.is_empty() {
                query.push_str(&format!("&{key}={}", percent_encode(value)));
            }
        }
        if let Some(identity) = &self.identity {
            query.push_str(&format!(
                "&user_id={}&user_hash={}",
                percent_encode(&identity.user_id),
                percent_encode(&identity.user_hash)
            ));
            for (key, value) in [("name", &identity.name), ("email", &identity.email)] {
                if let Some(value) = value {
                    query.push_str(&format!("&{key}={}", percent_encode(value)));
                }
            }
        }
        query
    }
}

fn bounded(text: Option<String>, max: usize) -> String {
    text.unwrap_or_default().chars().take(max).collect()
}

/// The chat frame's whole UI, on its own (see [`crate::widget_shell`]). The
/// frame is one page (the server routes `/widget` to it), so it has no
/// router: its query is read from the request, and in the browser from the
/// address (a router's code would double the chat's download).
#[component]
pub fn WidgetApp() -> impl IntoView {
    view! { <WidgetPage/> }
}

/// The frame's query string, as the server got it or the browser shows it.
fn frame_query() -> ParamsMap {
    #[cfg(feature = "ssr")]
    let url = use_context::<leptos_router::location::RequestUrl>().and_then(|u| u.parse().ok());
    #[cfg(not(feature = "ssr"))]
    let url = {
        use leptos_router::location::{BrowserUrl, LocationProvider};
        BrowserUrl::current().ok()
    };
    url.map(|u| u.search_params().clone()).unwrap_or_default()
}

#[component]
pub fn WidgetPage() -> impl IntoView {
    let query = frame_query();
    let embedding = {
        let q = &query;
        let user_id = bounded(q.get("user_id"), 200);
        Embedding {
            // One workspace only (the frame's policy header names one).
            workspace: match q.get_all("workspace").as_deref() {
                Some([one]) => slug_only(one),
                _ => String::new(),
            },
            // The page the widget is on, for the handoff rules.
            page: bounded(q.get("page"), 2000),
            host: bounded(q.get("host"), 300),
            hidden: q.get("hidden").as_deref() == Some("1"),
            resume: q
                .get("resume")
                .filter(|k| k.len() <= 128 && k.chars().all(|c| c.is_ascii_hexdigit())),
            identity: (!user_id.is_empty()).then(|| Identity {
                user_id,
                user_hash: bounded(q.get("user_hash"), 128),
                name: q.get("name").map(|n| n.chars().take(100).collect()),
                email: q.get("email").map(|e| e.chars().take(254).collect()),
            }),
        }
    };
    let settings = Resource::new(move || (), {
        let e = embedding.clone();
        move |_| {
            fetch_widget_settings(
                e.workspace.clone(),
                (!e.host.is_empty()).then(|| e.host.clone()),
                e.identity.as_ref().map(|i| i.user_id.clone()),
                e.identity.as_ref().map(|i| i.user_hash.clone()),
                e.identity.as_ref().and_then(|i| i.name.clone()),
                e.identity.as_ref().and_then(|i| i.email.clone()),
            )
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="p-4 text-sm text-slate-500">"…"</p> }>
            {move || {
                let embedding = embedding.clone();
                Suspend::new(async move {
                match settings.await {
                    Ok(settings) => view! { <Chat settings=settings embedding=embedding/> }.into_any(),
                    Err(err) => view! {
                        <div class="widget-refused flex h-dvh flex-col items-center justify-center gap-2 bg-slate-50 p-6 text-center">
                            <p class="text-sm text-red-700" role="alert">{err.to_string()}</p>
                            <button type="button" class="rounded-full px-3 py-1 text-sm text-slate-600 ring-1 ring-slate-300 hover:bg-white"
                                on:click=move |_| live::tell_parent("close", None, "")>"×"</button>
                        </div>
                    }.into_any(),
                }
            })}}
        </Suspense>
    }
}

/// The agent who has the conversation, from its latest status change.
fn joined_agent(state: &ThreadState) -> Option<String> {
    state
        .events
        .with(|events| {
            events.iter().rev().find_map(|e| match &e.body {
                EventBody::StatusChange {
                    status, agent_name, ..
                } => Some(match status {
                    ConversationStatus::Open => agent_name.clone(),
                    _ => None,
                }),
                _ => None,
            })
        })
        .flatten()
}

/// Messages from the team or the AI, after `seq`.
fn replies_after(state: &ThreadState, seq: i64) -> u32 {
    state.events.with(|events| {
        events
            .iter()
            .filter(|e| e.seq > seq)
            .filter(|e| {
                matches!(
                    e.body,
                    EventBody::AiAnswer { .. } | EventBody::HumanReply { .. }
                )
            })
            .count() as u32
    })
}

#[component]
fn Chat(settings: WidgetSettings, embedding: Embedding) -> impl IntoView {
    let texts: &'static Texts = settings.language.texts();
    provide_context(VisitorTexts(texts));
    let state = ThreadState::new(Vec::new());
    let connected = RwSignal::new(false);
    let conversation = RwSignal::new(None::<Uuid>);
    let notice = RwSignal::new(None::<String>);
    // What the visitor typed (and perhaps sent) before the chat's code ran
    // is kept: it is in the server-rendered box.
    let (early_text, early_send) = typed_before_hydration();
    let text = RwSignal::new(early_text);
    // Shown on the embedding page (widget.js says when it hides the chat).
    let visible = RwSignal::new(!embedding.hidden);
    // How far the visitor has seen this conversation, kept in the frame's
    // storage so a later page's hidden frame counts only what is new.
    let shown_key = StoredValue::new(format!("tandem.shown.{}", settings.workspace_slug));
    let shown_upto = StoredValue::new(0i64);
    // Opened from a follow-up email's link: that conversation shows in this
    // frame only, under a key of its own, so a link someone else sent never
    // replaces the chat this browser keeps on the site.
    let resuming = embedding.resume.as_deref().map(token_only);
    let token_key = match &resuming {
        Some(_) => format!("tandem.resumed.{}", settings.workspace_slug),
        None => format!("tandem.visitor.{}", settings.workspace_slug),
    };
    let host = StoredValue::new(embedding.host.clone());
    // Tells the embedding page (its origin, when known) something.
    let tell =
        move |kind: &str, count: Option<u32>| live::tell_parent(kind, count, &host.get_value());

    let settings_language = settings.language;
    let path = {
        let key = token_key.clone();
        let query = embedding.query();
        move || {
            // Sent with an identity too: an anonymous conversation started
            // before the visitor signed in on the site becomes theirs. A
            // link's key goes as a link (the server takes no visitor's own
            // token for one).
            let token = live::stored(&key)
                .map(|t| format!("&token={}", token_only(&t)))
                .unwrap_or_default();
            // The link always goes along: a token kept from an earlier
            // link (or a made-up one) never hides the conversation of the
            // link opened now.
            let link = resuming
                .as_ref()
                .map(|l| format!("&link={l}"))
                .unwrap_or_default();
            let token = format!("{token}{link}");
            format!(
                "/ws/visitor?{query}&lang={}&after={}{token}",
                settings_language.code(),
                state.last_seq()
            )
        }
    };
    let rated = RwSignal::new(HashMap::<i64, bool>::new());
    let on_message = move |msg: ServerMsg| match msg {
        ServerMsg::Welcome {
            conversation_id,
            visitor_token,
        } => {
            if let Some(token) = visitor_token {
                live::store(&token_key, &token);
            }
            let known = conversation.get_untracked();
            if known.is_some() && known != Some(conversation_id) {
                state.reset();
                rated.set(HashMap::new());
            }
            conversation.set(Some(conversation_id));
            let saved = shown_key
                .with_value(|k| live::stored(k))
                .unwrap_or_default();
            if let Some((id, seq)) = saved.split_once(':') {
                if id == conversation_id.to_string() {
                    shown_upto.set_value(seq.parse().unwrap_or(0));
                }
            }
        }
        ServerMsg::Event { event } => state.apply(event),
        ServerMsg::Ack { client_id, seq } => {
            state.awaiting_ai(client_id, seq);
            state.acknowledged(client_id, seq);
        }
        ServerMsg::AiToken {
            turn_id,
            offset,
            delta,
            ..
        } => state.append_token(turn_id, offset, &delta),
        ServerMsg::DraftDropped { turn_id, .. } => state.drop_draft(turn_id),
        ServerMsg::Typing { typists, .. } => state.typists.set(typists),
        ServerMsg::Rated { seq, helpful } => rated.update(|r| {
            r.insert(seq, helpful);
        }),
        ServerMsg::Error { message, client_id } => {
            if let Some(refused) = client_id.and_then(|id| state.refused(id)) {
                // Back in the composer unless something new is being typed.
                if text.get_untracked().trim().is_empty() {
                    text.set(refused);
                }
            }
            notice.set(Some(message));
        }
        ServerMsg::VisitorSeen { .. }
        | ServerMsg::Viewers { .. }
        | ServerMsg::ConversationChanged { .. }
        | ServerMsg::Counts { .. }
        | ServerMsg::Refresh
        | ServerMsg::Pong => {}
    };
    // Read receipts: the visitor has seen what the open chat shows. Sent
    // again on every connection (one sent as a connection died is lost).
    let seen = StoredValue::new(0i64);
    let live = use_live(
        path,
        move || {
            state.reconnected();
            seen.set_value(0);
        },
        on_message,
        connected,
    );
    provide_context(Ratings {
        rated,
        rate: Callback::new(move |(seq, helpful): (i64, bool)| {
            rated.update(|r| {
                r.insert(seq, helpful);
            });
            live.send(&ClientMsg::Rate { seq, helpful });
        }),
    });

    let typing = live::TypingNotifier::new(live);
    let send = move || {
        let raw = text.get_untracked();
        match MessageBody::parse(&raw) {
            Ok(body) => {
                let client_id = Uuid::new_v4();
                state.sending(client_id, body.as_str().to_owned(), false);
                live.send(&ClientMsg::Send {
                    client_id,
                    text: body.into(),
                });
                text.set(String::new());
                typing.sent();
                notice.set(None);
            }
            Err(err) => notice.set(Some(err.to_string())),
        }
    };
    // Hydrated: the page's own script stops holding back what is sent, and
    // a message sent before now goes (queued until the socket opens).
    Effect::new(move |_| {
        mark_hydrated();
        if early_send {
            send();
        }
    });
    // "typing…" never outstays a silent AI.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if state.ai_typing.get() {
            set_timeout(
                move || state.ai_typing.set(false),
                std::time::Duration::from_secs(30),
            );
        }
    });
    let talk_to_team = move |_| {
        live.send(&ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
    };
    provide_context(crate::thread::AskTeam(Callback::new(move |()| {
        live.send(&ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
    })));
    // (The button is gone once a person has joined: Open needs no case.)
    let waiting = move || state.status() == ConversationStatus::WaitingHuman;

    // Seen only while the chat shows; what arrives while it is hidden is
    // unread, and the launcher shows how much.
    // Focus goes to the message box whenever the chat shows (keyboard users
    // land where they type; the launcher gets it back on close).
    let input = NodeRef::<leptos::html::Textarea>::new();
    let focus_input = move || {
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    // Hydrated: ask the launcher whether the chat shows (a message it sent
    // before this listener existed is lost).
    Effect::new(move |_| tell("ready", None));
    live::on_parent_visibility(move |open| {
        visible.set(open);
        if open {
            focus_input();
        }
    });
    Effect::new(move |_| {
        // A hidden frame must not take the focus from the page.
        if input.get().is_some() && visible.get_untracked() {
            focus_input();
        }
    });
    Effect::new(move |_| {
        let last = state.events.with(|e| e.last().map_or(0, |e| e.seq));
        if visible.get() && connected.get() && last > seen.get_value() {
            seen.set_value(last);
            live.send(&ClientMsg::Seen { seq: last });
        }
    });
    Effect::new(move |_| {
        let last = state.events.with(|e| e.last().map_or(0, |e| e.seq));
        if visible.get() {
            shown_upto.set_value(last);
            if let Some(id) = conversation.get_untracked() {
                shown_key.with_value(|k| live::store(k, &format!("{id}:{last}")));
            }
            tell("unread", Some(0));
        } else {
            let unread = replies_after(&state, shown_upto.get_value());
            tell("unread", Some(unread));
        }
    });

    let scroller = NodeRef::<leptos::html::Div>::new();
    state.follow(scroller);
    // A hidden frame has no height to scroll: the thread that arrived while
    // the chat was closed is brought to its end when the chat opens.
    Effect::new(move |_| {
        if visible.get() {
            crate::live::scroll_to_bottom(scroller);
        }
    });
    let agent = Memo::new(move |_| joined_agent(&state));
    let workspace = settings.workspace_slug.clone();

    view! {
        <div class="widget flex h-dvh flex-col bg-slate-50 text-slate-900" lang=settings.language.code()
            style=format!("--brand: {}", settings.brand_color)>
            <header class="flex items-center justify-between gap-2 bg-[var(--brand)] px-4 py-3 text-white shadow">
                {move || match agent.get() {
                    Some(name) => view! {
                        <div class="flex min-w-0 items-center gap-2">
                            <Avatar name=name.clone() large=true/>
                            <div class="min-w-0">
                                <h1 class="agent-name truncate text-base font-semibold leading-tight">{name}</h1>
                                <p class="text-xs">
                                    {
                                        let team = format!("{} · {}", settings.workspace_name, texts.team);
                                        move || if connected.get() { team.clone() } else { texts.connecting.to_owned() }
                                    }
                                </p>
                            </div>
                        </div>
                    }.into_any(),
                    None => view! {
                        <div class="min-w-0">
                            <h1 class="truncate text-base font-semibold leading-tight">{settings.workspace_name.clone()}</h1>
                            <p class="text-xs">
                                {move || if connected.get() { texts.subtitle_ai } else { texts.connecting }}
                            </p>
                        </div>
                    }.into_any(),
                }}
                <div class="flex shrink-0 items-center gap-1">
                    // Once a person has joined, the header names them: no
                    // button (nor a "notified" that is no longer news).
                    <Show when=move || state.status() != ConversationStatus::Open>
                        <button type="button" class="talk-to-team shrink-0 whitespace-nowrap rounded-full bg-white/95 px-3 py-1.5 text-sm font-semibold text-slate-900 shadow hover:bg-white focus-visible:outline focus-visible:outline-2 focus-visible:outline-white disabled:opacity-70"
                            on:click=talk_to_team disabled=waiting>
                            {move || if waiting() { texts.team_notified } else { texts.talk_to_team }}
                        </button>
                    </Show>
                    <button type="button" class="close-chat rounded-full p-1.5 text-white/90 hover:bg-white/20 hover:text-white focus-visible:outline focus-visible:outline-2 focus-visible:outline-white"
                        aria-label=texts.close_chat title=texts.close_chat
                        on:click=move |_| tell("close", None)>
                        <svg aria-hidden="true" viewBox="0 0 20 20" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="2">
                            <path d="M5 5l10 10M15 5L5 15" stroke-linecap="round"/>
                        </svg>
                    </button>
                </div>
            </header>
            <Show when=move || state.status() == ConversationStatus::WaitingHuman>
                <Expecting workspace=workspace.clone() state=state live=live texts=texts language=settings.language/>
            </Show>
            <div node_ref=scroller class="flex-1 overflow-y-auto px-3 py-4" role="log" aria-label=texts.conversation>
                <div class="mb-2 flex">
                    <div class="greeting max-w-[85%] rounded-2xl bg-slate-100 px-3 py-2 text-sm shadow-sm">
                        <p class="whitespace-pre-wrap">{settings.greeting.clone()}</p>
                    </div>
                </div>
                <ThreadView state=state viewer=Viewer::Visitor/>
                <ThreadTail state=state viewer=Viewer::Visitor/>
            </div>
            {move || notice.get().map(|n| view! {
                <p class="px-4 py-1 text-xs text-red-700" role="alert">{n}</p>
            })}
            <form id="tandem-composer" class="relative flex items-end gap-2 border-t border-slate-200 bg-white p-3"
                data-queued-label=texts.sending
                on:submit=move |ev| { ev.prevent_default(); send(); }>
                <label class="sr-only" for="tandem-message">{texts.your_message}</label>
                <textarea id="tandem-message" node_ref=input rows="1" maxlength="4000"
                    class="max-h-32 min-h-10 flex-1 resize-none rounded-xl border border-slate-300 px-3 py-2 text-sm focus:border-[var(--brand)] focus:ring-2 focus:ring-[var(--brand)]/30"
                    placeholder=texts.placeholder
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        typing.input();
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        } else if ev.key() == "Escape" {
                            tell("close", None);
                        }
                    }></textarea>
                <button type="submit" class="rounded-xl bg-[var(--brand)] px-4 py-2 text-sm font-semibold text-white hover:opacity-90 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-[var(--brand)]">{texts.send}</button>
            </form>
        </div>
    }
}

/// The message box's text as the visitor left it before the chat's code ran,
/// and whether they sent it (the page's script held it back: see
/// [`crate::widget_shell`]).
fn typed_before_hydration() -> (String, bool) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let document = document();
        let text = document
            .get_element_by_id("tandem-message")
            .and_then(|el| el.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            .map(|textarea| textarea.value())
            .unwrap_or_default();
        let sent = document
            .get_element_by_id("tandem-composer")
            .is_some_and(|form| form.has_attribute("data-queued"));
        (text, sent)
    }
    #[cfg(not(feature = "hydrate"))]
    (String::new(), false)
}

/// Tells the page's script that the chat runs now.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    {
        let document = document();
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
        if let Some(form) = document.get_element_by_id("tandem-composer") {
            let _ = form.remove_attribute("data-queued");
        }
    }
}

/// "Back Monday 09:00", in the visitor's own time zone and the widget's language.
fn local_time(at: chrono::DateTime<chrono::Utc>, language: Language) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            at.timestamp_millis() as f64
        ));
        let options = js_sys::Object::new();
        for (key, value) in [
            ("weekday", "long"),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
        ] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        // A weekday alone is ambiguous a week or more ahead (long holidays).
        if at - chrono::Utc::now() > chrono::Duration::days(6) {
            for (key, value) in [("day", "numeric"), ("month", "long")] {
                let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
            }
        }
        date.to_locale_string(language.code(), &options).into()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = language;
        at.format("%A %H:%M UTC").to_string()
    }
}

/// What the waiting visitor is told: an estimate, or when the team is
/// back, and a form to leave an email when nobody can answer live.
#[component]
fn Expecting(
    workspace: String,
    state: ThreadState,
    live: live::Live,
    texts: &'static Texts,
    language: Language,
) -> impl IntoView {
    // Asked again every minute while the visitor waits.
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(60),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    let expectation = LocalResource::new(move || {
        tick.track();
        fetch_expectation(workspace.clone())
    });
    let email_left = move || {
        state.events.with(|events| {
            events
                .iter()
                .any(|e| matches!(e.body, EventBody::EmailLeft { .. }))
        })
    };
    // Nobody took it within the workspace's maximum wait: email is offered
    // whatever the estimate says.
    let overdue = move || {
        state.events.with(|events| {
            events
                .iter()
                .any(|e| matches!(e.body, EventBody::WaitNotice { .. }))
        })
    };
    let email = RwSignal::new(String::new());
    let leave_email = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked().trim().to_owned();
        if !address.is_empty() {
            live.send(&ClientMsg::LeaveEmail {
                client_id: Uuid::new_v4(),
                email: address,
            });
        }
    };
    view! {
        <div class="handoff-banner border-b border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900" role="status">
            {move || {
                let current = expectation.get().and_then(Result::ok);
                let (line, offer_email) = match current {
                    Some(Expectation::ReplyIn { minutes: Some(n) }) => (texts.reply_in.replace("{n}", &n.to_string()), false),
                    Some(Expectation::ReplyIn { minutes: None }) | None => (texts.reply_soon.to_owned(), false),
                    Some(Expectation::TeamAway) => (texts.team_away.to_owned(), true),
                    Some(Expectation::BackAt { at }) => (texts.back_at.replace("{when}", &local_time(at, language)), true),
                };
                view! {
                    <p class="expectation">{line}" "{texts.keep_asking}</p>
                    {((offer_email || overdue()) && !email_left()).then(|| view! {
                        <form class="email-form mt-2 flex flex-wrap items-center gap-2" on:submit=leave_email>
                            <label class="w-full text-xs" for="tandem-email">{texts.email_prompt}</label>
                            <input id="tandem-email" type="email" required maxlength="254" autocomplete="email"
                                class="min-w-0 flex-1 rounded-lg border border-amber-300 bg-white px-2 py-1 text-sm text-slate-900 focus:ring-2 focus:ring-[var(--brand)]/40"
                                placeholder=texts.email_label aria-label=texts.email_label
                                prop:value=move || email.get()
                                on:input=move |ev| email.set(event_target_value(&ev))/>
                            <button type="submit" class="rounded-lg bg-[var(--brand)] px-3 py-1 text-sm font-semibold text-white hover:opacity-90">{texts.email_submit}</button>
                        </form>
                    })}
                }
            }}
        </div>
    }
}
