//! The agents' inbox: the live list of conversations and one conversation
//! with its full context and a reply composer.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::auth::{me, Logout};
use crate::error::DeskError;
use crate::live::use_live;
use crate::thread::{current_status, ThreadState, ThreadView, Viewer};
use crate::types::{
    ConversationStatus, ConversationSummary, ConversationView, EventBody, HandoffReason,
    MessageBody, ServerMsg,
};

#[server]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, DeskError> {
    let (desk, agent) = crate::desk::agent().await?;
    desk.conversations(&agent).await
}

#[server]
pub async fn get_conversation(id: Uuid) -> Result<ConversationView, DeskError> {
    let (desk, agent) = crate::desk::agent().await?;
    desk.conversation(&agent, id).await
}

#[server]
pub async fn send_reply(id: Uuid, client_id: Uuid, text: String) -> Result<(), DeskError> {
    let body = MessageBody::parse(&text).map_err(|e| DeskError::Invalid(e.to_string()))?;
    let (desk, agent) = crate::desk::agent().await?;
    desk.reply(&agent, id, client_id, body).await
}

/// The current time, known only in the browser (so server and browser render
/// the same thing until hydration), ticking every 15 seconds.
fn use_now() -> RwSignal<Option<chrono::DateTime<chrono::Utc>>> {
    let now = RwSignal::new(None);
    Effect::new(move |_| {
        now.set(Some(chrono::Utc::now()));
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(Some(chrono::Utc::now())),
            std::time::Duration::from_secs(15),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    now
}

fn waiting_label(
    since: chrono::DateTime<chrono::Utc>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    match now {
        Some(now) => {
            let minutes = (now - since).num_minutes().max(0);
            if minutes < 1 {
                "waiting <1 min".to_owned()
            } else {
                format!("waiting {minutes} min")
            }
        }
        None => format!("since {}", since.format("%H:%M")),
    }
}

#[component]
pub fn InboxLayout() -> impl IntoView {
    let profile = Resource::new(|| (), |_| me());
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match profile.await {
                    Ok(profile) => view! { <Inbox is_admin=profile.role == "admin" workspace_name=profile.workspace_name agent_name=profile.name/> }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p class="p-6 text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Inbox(workspace_name: String, agent_name: String, is_admin: bool) -> impl IntoView {
    let version = RwSignal::new(0u64);
    let conversations = Resource::new(move || version.get(), |_| list_conversations());
    let connected = RwSignal::new(false);
    let _live = use_live(
        || "/ws/inbox".to_owned(),
        move |msg| {
            if let ServerMsg::ConversationChanged { .. } = msg {
                version.update(|v| *v += 1);
            }
        },
        connected,
    );
    let now = use_now();
    let logout = ServerAction::<Logout>::new();
    let params = use_params_map();
    let selected = move || params.read().get("id");

    view! {
        <div class="flex h-dvh flex-col bg-slate-100 text-slate-900">
            <header class="flex items-center justify-between bg-slate-900 px-4 py-2 text-white">
                <div class="flex items-baseline gap-3">
                    <A href="/inbox" attr:class="font-bold tracking-tight">"tandem"</A>
                    <span class="text-sm text-slate-300">{workspace_name}" · inbox"</span>
                </div>
                <div class="flex items-center gap-3 text-sm">
                    {is_admin.then(|| view! {
                        <A href="/admin/knowledge" attr:class="text-slate-300 hover:text-white">"Knowledge"</A>
                        <A href="/admin/policy" attr:class="text-slate-300 hover:text-white">"Handoff policy"</A>
                    })}
                    <span class="flex items-center gap-1">
                        <span class="inline-block h-2 w-2 rounded-full"
                            class=("bg-emerald-400", move || connected.get())
                            class=("bg-slate-500", move || !connected.get())></span>
                        {move || if connected.get() { "live" } else { "connecting" }}
                    </span>
                    <span class="text-slate-300">{agent_name}</span>
                    <ActionForm action=logout>
                        <button type="submit" class="rounded bg-slate-700 px-2 py-1 hover:bg-slate-600">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <div class="flex min-h-0 flex-1">
                <nav class="w-80 shrink-0 overflow-y-auto border-r border-slate-200 bg-white" aria-label="Conversations">
                    <h2 class="px-4 pt-4 pb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">"Conversations"</h2>
                    <Transition fallback=|| view! { <p class="px-4 text-sm text-slate-500">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match conversations.await {
                                Ok(list) if list.is_empty() => view! {
                                    <p class="px-4 text-sm text-slate-500">"No conversations yet. They appear here live."</p>
                                }.into_any(),
                                Ok(list) => view! {
                                    <ul class="conversation-list">
                                        {list.into_iter().map(|c| view! { <ConversationRow summary=c now=now selected=selected/> }).collect::<Vec<_>>()}
                                    </ul>
                                }.into_any(),
                                Err(err) => view! { <p class="px-4 text-sm text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </nav>
                <main class="min-w-0 flex-1">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

#[component]
fn ConversationRow(
    summary: ConversationSummary,
    now: RwSignal<Option<chrono::DateTime<chrono::Utc>>>,
    selected: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    let id = summary.conversation_id.to_string();
    let href = format!("/inbox/{id}");
    let is_selected = move || selected().as_deref() == Some(id.as_str());
    let status = summary.status;
    let badge = summary.handoff_reason.as_ref().map(HandoffReason::short);
    let waiting = summary
        .escalated_at
        .filter(|_| status == ConversationStatus::WaitingHuman)
        .map(|since| move || waiting_label(since, now.get()));
    view! {
        <li>
            <A href=href attr:class="conversation-row block border-b border-slate-100 px-4 py-3 hover:bg-amber-50">
                <div class="flex items-center justify-between gap-2" class:font-semibold=is_selected>
                    <span class="text-xs"
                        class=("text-amber-700", status == ConversationStatus::WaitingHuman)
                        class=("text-slate-500", status != ConversationStatus::WaitingHuman)>{status.label()}</span>
                    {badge.map(|b| view! { <span class="rounded bg-amber-100 px-1.5 text-[11px] text-amber-900">{b}</span> })}
                </div>
                <p class="mt-1 truncate text-sm text-slate-800">{summary.last_message}</p>
                <p class="mt-0.5 text-xs text-slate-500">{waiting}</p>
            </A>
        </li>
    }
}

/// Shown at `/inbox` before a conversation is chosen.
#[component]
pub fn NoConversation() -> impl IntoView {
    view! {
        <div class="flex h-full items-center justify-center text-slate-500">
            <p>"Choose a conversation. Escalations waiting for a person come first."</p>
        </div>
    }
}

#[component]
pub fn ConversationPane() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let conversation = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_conversation(id).await,
            None => Err(DeskError::NotFound),
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match conversation.await {
                    Ok(view) => view! { <ConversationDetail view=view/> }.into_any(),
                    Err(err) => view! { <p class="p-6 text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ConversationDetail(view: ConversationView) -> impl IntoView {
    let id = view.summary.conversation_id;
    let state = ThreadState::new(view.events);
    let connected = RwSignal::new(false);
    let _live = use_live(
        move || format!("/ws/inbox?conversation={id}&after={}", state.last_seq()),
        move |msg| match msg {
            ServerMsg::Event { event } if event.conversation_id == id => state.apply(event),
            ServerMsg::AiToken {
                conversation_id,
                turn_id,
                delta,
            } if conversation_id == id => state.append_token(turn_id, &delta),
            _ => {}
        },
        connected,
    );
    let reply = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let send = move || {
        let text = reply.get_untracked();
        if let Err(err) = MessageBody::parse(&text) {
            error.set(Some(err.to_string()));
            return;
        }
        sending.set(true);
        leptos::task::spawn_local(async move {
            match send_reply(id, Uuid::new_v4(), text).await {
                Ok(()) => {
                    reply.set(String::new());
                    error.set(None);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
            sending.set(false);
        });
    };
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.events.track();
        state.draft.track();
        crate::live::scroll_to_bottom(scroller);
    });

    // Why the AI escalated, with the scores of its last answer.
    let context = move || {
        state.events.with(|events| {
            let reason = events.iter().rev().find_map(|e| match &e.body {
                EventBody::StatusChange {
                    status: ConversationStatus::WaitingHuman,
                    reason,
                    ..
                } => reason.clone(),
                _ => None,
            });
            let last_answer = events.iter().rev().find_map(|e| match &e.body {
                EventBody::AiAnswer { decision, .. } => Some(decision.clone()),
                EventBody::StatusChange {
                    decision: Some(decision),
                    ..
                } => Some(decision.clone()),
                _ => None,
            });
            let first_question = events.iter().find_map(|e| match &e.body {
                EventBody::VisitorMessage { text } => Some(text.clone()),
                _ => None,
            });
            (reason, last_answer, first_question, current_status(events))
        })
    };

    view! {
        <div class="flex h-full flex-col">
            <section class="handoff-context border-b border-slate-200 bg-white px-6 py-4" aria-label="Handoff context">
                {move || {
                    let (reason, last_answer, first_question, status) = context();
                    view! {
                        <div class="flex flex-wrap items-center gap-2">
                            <span class="rounded-full bg-slate-900 px-2 py-0.5 text-xs font-semibold text-white">{status.label()}</span>
                            {reason.map(|r| view! {
                                <span class="handoff-reason rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900">{r.describe()}</span>
                            })}
                        </div>
                        <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                            <dt class="text-slate-500">"Visitor wants"</dt>
                            <dd class="truncate">{first_question.unwrap_or_else(|| "—".to_owned())}</dd>
                            <dt class="text-slate-500">"Last AI decision"</dt>
                            <dd>{last_answer.map(|d| {
                                let top = d.retrieved.first().map(|p| format!(", top passage similarity {:.2}", p.similarity)).unwrap_or_default();
                                format!("{}, confidence {:.2}{top}, {} passages retrieved", if d.answered { "answered" } else { "did not answer" }, d.confidence.value(), d.retrieved.len())
                            }).unwrap_or_else(|| "none".to_owned())}</dd>
                        </dl>
                    }
                }}
            </section>
            <div node_ref=scroller class="flex-1 overflow-y-auto px-6 py-4">
                <ThreadView state=state viewer=Viewer::Agent/>
            </div>
            <form class="border-t border-slate-200 bg-white p-4" on:submit=move |ev| { ev.prevent_default(); send(); }>
                <label class="sr-only" for="reply">"Reply to the visitor"</label>
                <div class="flex items-end gap-2">
                    <textarea id="reply" rows="3" maxlength="4000"
                        class="flex-1 resize-y rounded-xl border border-slate-300 px-3 py-2 text-sm focus:border-emerald-600 focus:outline-none"
                        placeholder="Write a reply… (Ctrl+Enter sends)"
                        prop:value=move || reply.get()
                        on:input=move |ev| reply.set(event_target_value(&ev))
                        on:keydown=move |ev| if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); send(); }></textarea>
                    <button type="submit" class="rounded-xl bg-emerald-600 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-700 disabled:opacity-60"
                        disabled=move || sending.get()>"Send reply"</button>
                </div>
                {move || error.get().map(|e| view! { <p class="mt-2 text-sm text-red-700" role="alert">{e}</p> })}
            </form>
        </div>
    }
}
