//! The chat a visitor sees inside the widget's frame (`/widget?workspace=…`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DeskError;
use crate::live::{self, use_live};
use crate::thread::{ThreadState, ThreadTail, ThreadView, Viewer};
use crate::types::{ClientMsg, ConversationStatus, MessageBody, ServerMsg};

/// What the widget shows before any conversation: the workspace's own texts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub greeting: String,
    pub brand_color: String,
}

#[server]
pub async fn fetch_widget_settings(workspace: String) -> Result<WidgetSettings, DeskError> {
    crate::desk::desk_only()?.widget_settings(&workspace).await
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

#[component]
pub fn WidgetPage() -> impl IntoView {
    let query = use_query_map();
    let workspace = slug_only(&query.read_untracked().get("workspace").unwrap_or_default());
    // The page the widget is embedded on, for the handoff rules.
    let page: String = query
        .read_untracked()
        .get("page")
        .unwrap_or_default()
        .chars()
        .take(2000)
        .collect();
    let settings = Resource::new(move || (), {
        let workspace = workspace.clone();
        move |_| fetch_widget_settings(workspace.clone())
    });
    view! {
        <Suspense fallback=|| view! { <p class="p-4 text-sm text-slate-500">"Loading…"</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                match settings.await {
                    Ok(settings) => view! { <Chat settings=settings page=page/> }.into_any(),
                    Err(err) => view! {
                        <p class="p-4 text-sm text-red-700" role="alert">{err.to_string()}</p>
                    }.into_any(),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn Chat(settings: WidgetSettings, page: String) -> impl IntoView {
    let state = ThreadState::new(Vec::new());
    let connected = RwSignal::new(false);
    let conversation = RwSignal::new(None::<Uuid>);
    let notice = RwSignal::new(None::<String>);
    let text = RwSignal::new(String::new());
    let token_key = format!("tandem.visitor.{}", settings.workspace_slug);

    let path = {
        let slug = settings.workspace_slug.clone();
        let key = token_key.clone();
        let page = if page.is_empty() {
            String::new()
        } else {
            format!("&page={}", percent_encode(&page))
        };
        move || {
            let token = live::stored(&key)
                .map(|t| format!("&token={}", token_only(&t)))
                .unwrap_or_default();
            format!(
                "/ws/visitor?workspace={slug}&after={}{token}{page}",
                state.last_seq()
            )
        }
    };
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
            }
            conversation.set(Some(conversation_id));
        }
        ServerMsg::Event { event } => state.apply(event),
        ServerMsg::Ack { client_id, seq } => state.acknowledged(client_id, seq),
        ServerMsg::AiToken {
            turn_id,
            offset,
            delta,
            ..
        } => state.append_token(turn_id, offset, &delta),
        ServerMsg::DraftDropped { turn_id, .. } => state.drop_draft(turn_id),
        ServerMsg::Typing { typists, .. } => state.typists.set(typists),
        ServerMsg::Error { message, client_id } => {
            if let Some(id) = client_id {
                state.refused(id);
            }
            notice.set(Some(message));
        }
        ServerMsg::VisitorSeen { .. }
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
    let talk_to_team = move |_| {
        live.send(&ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
    };
    let waiting = move || {
        matches!(
            state.status(),
            ConversationStatus::WaitingHuman | ConversationStatus::Open
        )
    };

    Effect::new(move |_| {
        let last = state.events.with(|e| e.last().map_or(0, |e| e.seq));
        if connected.get() && last > seen.get_value() {
            seen.set_value(last);
            live.send(&ClientMsg::Seen { seq: last });
        }
    });

    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.events.track();
        state.draft.track();
        state.typists.track();
        state.outgoing.track();
        live::scroll_to_bottom(scroller);
    });

    view! {
        <div class="widget flex h-dvh flex-col bg-slate-50 text-slate-900" style=format!("--brand: {}", settings.brand_color)>
            <header class="flex items-center justify-between gap-2 bg-[var(--brand)] px-4 py-3 text-white shadow">
                <div>
                    <h1 class="text-base font-semibold leading-tight">{settings.workspace_name.clone()}</h1>
                    <p class="text-xs opacity-90">
                        {move || if connected.get() { "AI assistant · answers from our help centre" } else { "Connecting…" }}
                    </p>
                </div>
                <div class="flex shrink-0 items-center gap-1">
                    <button type="button" class="talk-to-team shrink-0 whitespace-nowrap rounded-full bg-white/95 px-3 py-1.5 text-sm font-semibold text-slate-900 shadow hover:bg-white disabled:opacity-70"
                        on:click=talk_to_team disabled=waiting>
                        {move || if waiting() { "Team notified" } else { "Talk to the team" }}
                    </button>
                    <button type="button" class="close-chat rounded-full p-1.5 text-white/90 hover:bg-white/20 hover:text-white"
                        aria-label="Close the chat" title="Close" on:click=move |_| live::close_widget()>
                        <svg aria-hidden="true" viewBox="0 0 20 20" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="2">
                            <path d="M5 5l10 10M15 5L5 15" stroke-linecap="round"/>
                        </svg>
                    </button>
                </div>
            </header>
            <Show when=move || state.status() == ConversationStatus::WaitingHuman>
                <p class="handoff-banner border-b border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900" role="status">
                    "A person from the team will reply here. You can keep asking the AI meanwhile."
                </p>
            </Show>
            <div node_ref=scroller class="flex-1 overflow-y-auto px-3 py-4" role="log" aria-label="Conversation">
                <div class="mb-2 flex">
                    <div class="max-w-[85%] rounded-2xl bg-slate-100 px-3 py-2 text-sm shadow-sm">
                        <p class="whitespace-pre-wrap">{settings.greeting.clone()}</p>
                    </div>
                </div>
                <ThreadView state=state viewer=Viewer::Visitor/>
                <ThreadTail state=state viewer=Viewer::Visitor/>
            </div>
            {move || notice.get().map(|n| view! {
                <p class="px-4 py-1 text-xs text-red-700" role="alert">{n}</p>
            })}
            <form class="flex items-end gap-2 border-t border-slate-200 bg-white p-3"
                on:submit=move |ev| { ev.prevent_default(); send(); }>
                <label class="sr-only" for="tandem-message">"Your message"</label>
                <textarea id="tandem-message" rows="1" maxlength="4000"
                    class="max-h-32 min-h-10 flex-1 resize-none rounded-xl border border-slate-300 px-3 py-2 text-sm focus:border-[var(--brand)] focus:outline-none"
                    placeholder="Ask a question…"
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        typing.input();
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        }
                    }></textarea>
                <button type="submit" class="rounded-xl bg-[var(--brand)] px-4 py-2 text-sm font-semibold text-white hover:opacity-90">"Send"</button>
            </form>
        </div>
    }
}
