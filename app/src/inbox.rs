//! The agents' inbox: the live list of conversations and one conversation
//! with its full context and a reply composer.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::auth::{me, Logout};
use crate::error::DeskError;
use crate::live::{use_live, TypingNotifier};
use crate::thread::{current_status, ThreadState, ThreadTail, ThreadView, Viewer};
use crate::types::{
    ClientMsg, ConversationStatus, ConversationSummary, ConversationView, EventBody, HandoffReason,
    MessageBody, Queue, QueueCounts, ServerMsg,
};

#[server]
pub async fn list_conversations(queue: Queue) -> Result<Vec<ConversationSummary>, DeskError> {
    let (desk, agent) = crate::desk::agent().await?;
    desk.conversations(&agent, queue).await
}

#[server]
pub async fn get_conversation(id: Uuid) -> Result<ConversationView, DeskError> {
    let (desk, agent) = crate::desk::agent().await?;
    desk.conversation(&agent, id).await
}

/// A queue's rows: those fetched, updated by the rows changed live since
/// (the newer copy of each wins), in the queue's order.
pub fn queue_rows(
    fetched: &[ConversationSummary],
    changed: &HashMap<Uuid, ConversationSummary>,
    queue: Queue,
    me: Uuid,
) -> Vec<ConversationSummary> {
    let mut rows: HashMap<Uuid, ConversationSummary> = fetched
        .iter()
        .map(|c| (c.conversation_id, c.clone()))
        .collect();
    for (id, row) in changed {
        match rows.get(id) {
            Some(old) if old.updated_at > row.updated_at => {}
            _ => {
                rows.insert(*id, row.clone());
            }
        }
    }
    let mut rows: Vec<_> = rows.into_values().filter(|c| queue.holds(c, me)).collect();
    let waiting_first = |c: &ConversationSummary| c.status != ConversationStatus::WaitingHuman;
    rows.sort_by(|a, b| match queue {
        Queue::Waiting | Queue::Open => (waiting_first(a), a.escalated_at, a.conversation_id)
            .cmp(&(waiting_first(b), b.escalated_at, b.conversation_id))
            .then(b.updated_at.cmp(&a.updated_at)),
        _ => b
            .updated_at
            .cmp(&a.updated_at)
            .then(a.conversation_id.cmp(&b.conversation_id)),
    });
    rows
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
                    Ok(profile) => view! { <Inbox is_admin=profile.role == "admin" me=profile.account_id workspace_name=profile.workspace_name agent_name=profile.name/> }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p class="p-6 text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The signed-in agent, for the panes inside the inbox.
#[derive(Clone, Copy)]
struct Me {
    account_id: Uuid,
}

/// The list rows changed live since the page loaded (newest copy of each).
#[derive(Clone, Copy)]
struct ChangedRows(RwSignal<HashMap<Uuid, ConversationSummary>>);

#[component]
fn Inbox(workspace_name: String, agent_name: String, me: Uuid, is_admin: bool) -> impl IntoView {
    provide_context(Me { account_id: me });
    let queue = RwSignal::new(Queue::Waiting);
    // Bumped to fetch the lists again: after a reconnect, or when told to.
    let version = RwSignal::new(0u64);
    let fetched = Resource::new(
        move || (queue.get(), version.get()),
        |(queue, _)| list_conversations(queue),
    );
    let changed = RwSignal::new(HashMap::<Uuid, ConversationSummary>::new());
    provide_context(ChangedRows(changed));
    let counts = RwSignal::new(None::<QueueCounts>);
    let connected = RwSignal::new(false);
    let _live = use_live(
        || "/ws/inbox".to_owned(),
        // The lists are fetched again on every connection: what changed
        // before it (or while it was down) is not missed.
        move || version.update(|v| *v += 1),
        move |msg| match msg {
            ServerMsg::ConversationChanged { summary } => changed.update(|c| {
                c.insert(summary.conversation_id, summary);
            }),
            ServerMsg::Counts { counts: now } => counts.set(Some(now)),
            ServerMsg::Refresh => version.update(|v| *v += 1),
            _ => {}
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
                        <A href="/admin/widget" attr:class="text-slate-300 hover:text-white">"Widget"</A>
                    })}
                    <span class="live-status flex items-center gap-1">
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
                <nav class="flex w-80 shrink-0 flex-col border-r border-slate-200 bg-white" aria-label="Conversations">
                    <div class="queues grid grid-cols-5 gap-1 border-b border-slate-100 p-2" role="tablist" aria-label="Queues">
                        {Queue::ALL.into_iter().map(|q| {
                            let urgent = move || q == Queue::Waiting && counts.get().is_some_and(|c| c.of(q) > 0);
                            view! {
                                <button type="button" role="tab" data-queue=q.as_str()
                                    class="queue-tab flex flex-col items-center rounded-lg px-1 py-1.5 leading-tight"
                                    class=("bg-slate-900", move || queue.get() == q) class=("text-white", move || queue.get() == q)
                                    class=("text-slate-700", move || queue.get() != q) class=("hover:bg-slate-100", move || queue.get() != q)
                                    aria-selected=move || (queue.get() == q).to_string()
                                    on:click=move |_| queue.set(q)>
                                    <span class="queue-count min-h-5 text-base font-semibold tabular-nums"
                                        class=("text-amber-600", move || urgent() && queue.get() != q)
                                        class=("text-amber-300", move || urgent() && queue.get() == q)>
                                        {move || counts.get().map(|c| c.of(q).to_string()).unwrap_or_default()}
                                    </span>
                                    <span class="text-[11px]">{q.label()}</span>
                                </button>
                            }
                        }).collect::<Vec<_>>()}
                    </div>
                    <div class="min-h-0 flex-1 overflow-y-auto">
                        <Transition fallback=|| view! { <p class="px-4 py-3 text-sm text-slate-500">"Loading…"</p> }>
                            {move || Suspend::new(async move {
                                match fetched.await {
                                    Ok(list) => view! {
                                        {move || {
                                            let rows = changed.with(|c| queue_rows(&list, c, queue.get_untracked(), me));
                                            if rows.is_empty() {
                                                view! { <p class="px-4 py-3 text-sm text-slate-500">"Nothing here. Conversations appear live."</p> }.into_any()
                                            } else {
                                                view! {
                                                    <ul class="conversation-list">
                                                        {rows.into_iter().map(|c| view! { <ConversationRow summary=c now=now selected=selected/> }).collect::<Vec<_>>()}
                                                    </ul>
                                                }.into_any()
                                            }
                                        }}
                                    }.into_any(),
                                    Err(err) => view! { <p class="px-4 py-3 text-sm text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Transition>
                    </div>
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
                {summary.visitor.map(|who| view! {
                    <p class="visitor mt-1 truncate text-xs font-medium text-slate-700">
                        {who}
                        {summary.verified.then(|| view! { <span class="ml-1 rounded bg-emerald-100 px-1 text-[10px] text-emerald-800" title="Your site signed this user id; the name and email are as your site gave them">"verified"</span> })}
                    </p>
                })}
                <p class="mt-1 truncate text-sm text-slate-800">{summary.last_message}</p>
                <p class="mt-0.5 text-xs text-slate-500">
                    {waiting}
                    {summary.assignee_name.filter(|_| status == ConversationStatus::Open).map(|n| format!("with {n}"))}
                </p>
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
    let error = RwSignal::new(None::<String>);
    // Read receipts: the agent has seen what the pane shows; sent again on
    // every connection.
    let seen = StoredValue::new(0i64);
    let live = use_live(
        move || format!("/ws/inbox?conversation={id}&after={}", state.last_seq()),
        move || {
            state.reconnected();
            seen.set_value(0);
        },
        move |msg| match msg {
            ServerMsg::Event { event } if event.conversation_id == id => state.apply(event),
            ServerMsg::Ack { client_id, seq } => state.acknowledged(client_id, seq),
            ServerMsg::AiToken {
                conversation_id,
                turn_id,
                offset,
                delta,
            } if conversation_id == id => state.append_token(turn_id, offset, &delta),
            ServerMsg::DraftDropped { turn_id, .. } => state.drop_draft(turn_id),
            ServerMsg::Typing { typists, .. } => state.typists.set(typists),
            ServerMsg::VisitorSeen { seq, .. } => state.visitor_seen.set(seq),
            ServerMsg::Error { message, client_id } => {
                if let Some(failed) = client_id {
                    state.refused(failed);
                }
                error.set(Some(message));
            }
            _ => {}
        },
        connected,
    );
    let typing = TypingNotifier::new(live);
    Effect::new(move |_| {
        let last = state.events.with(|e| e.last().map_or(0, |e| e.seq));
        if connected.get() && last > seen.get_value() {
            seen.set_value(last);
            live.send(&ClientMsg::Seen { seq: last });
        }
    });

    let act = move |msg: ClientMsg| {
        error.set(None);
        live.send(&msg);
    };
    let reply = RwSignal::new(String::new());
    // Writing a private note instead of a reply.
    let noting = RwSignal::new(false);
    let send = move |note: bool| {
        let text = reply.get_untracked();
        let body = match MessageBody::parse(&text) {
            Ok(body) => body,
            Err(err) => {
                error.set(Some(err.to_string()));
                return;
            }
        };
        let client_id = Uuid::new_v4();
        state.sending(client_id, body.as_str().to_owned(), note);
        let text: String = body.into();
        act(if note {
            ClientMsg::Note { client_id, text }
        } else {
            ClientMsg::Send { client_id, text }
        });
        reply.set(String::new());
        typing.sent();
    };
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.events.track();
        state.draft.track();
        state.typists.track();
        state.outgoing.track();
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
    // Who has the conversation (the last person to claim or reopen it).
    let holder = move || {
        state.events.with(|events| {
            events.iter().rev().find_map(|e| match &e.body {
                EventBody::StatusChange {
                    status: ConversationStatus::Open,
                    agent_name,
                    ..
                } => agent_name.clone(),
                EventBody::StatusChange { .. } => Some(String::new()),
                _ => None,
            })
        })
    };
    let status = move || state.status();
    // Whether the signed-in agent has the conversation: its assignee as the
    // page loaded it, or as the live lists report it since.
    let me = use_context::<Me>().map(|m| m.account_id);
    let rows = use_context::<ChangedRows>();
    let loaded = view.summary.clone();
    let assignee = move || {
        rows.and_then(|ChangedRows(rows)| {
            rows.with(|r| {
                r.get(&id)
                    .filter(|row| row.updated_at >= loaded.updated_at)
                    .map(|row| row.assignee_id)
            })
        })
        .unwrap_or(loaded.assignee_id)
    };
    let mine = move || status() == ConversationStatus::Open && me.is_some() && assignee() == me;
    // The visitor has seen the team's last reply.
    let reply_seen = move || {
        state.events.with(|events| {
            events
                .iter()
                .rev()
                .find(|e| matches!(e.body, EventBody::HumanReply { .. }))
                .is_some_and(|e| state.visitor_seen.get() >= e.seq)
        })
    };

    view! {
        <div class="flex h-full flex-col">
            <section class="handoff-context border-b border-slate-200 bg-white px-6 py-4" aria-label="Handoff context">
                {move || {
                    let (reason, last_answer, first_question, status) = context();
                    let holder = holder().filter(|n| !n.is_empty() && status == ConversationStatus::Open);
                    view! {
                        <div class="flex flex-wrap items-center gap-2">
                            <span class="conversation-status rounded-full bg-slate-900 px-2 py-0.5 text-xs font-semibold text-white">{status.label()}</span>
                            {holder.map(|n| view! { <span class="text-xs text-slate-600">"with "{n}</span> })}
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
                <div class="conversation-actions mt-3 flex flex-wrap gap-2">
                    <Show when=move || status() != ConversationStatus::Resolved && !mine()>
                        <button type="button" class="claim rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white hover:bg-slate-700"
                            on:click=move |_| act(ClientMsg::Claim { client_id: Uuid::new_v4() })>
                            {move || if status() == ConversationStatus::Open { "Take over" } else { "Claim" }}
                        </button>
                    </Show>
                    <Show when=move || status() != ConversationStatus::Resolved>
                        <button type="button" class="resolve rounded-lg bg-white px-3 py-1.5 text-sm font-semibold text-slate-900 ring-1 ring-slate-300 hover:bg-slate-50"
                            on:click=move |_| act(ClientMsg::Resolve { client_id: Uuid::new_v4() })>"Resolve"</button>
                    </Show>
                    <Show when=move || status() == ConversationStatus::Resolved>
                        <button type="button" class="reopen rounded-lg bg-white px-3 py-1.5 text-sm font-semibold text-slate-900 ring-1 ring-slate-300 hover:bg-slate-50"
                            on:click=move |_| act(ClientMsg::Reopen { client_id: Uuid::new_v4() })>"Reopen"</button>
                    </Show>
                    <span class="self-center text-xs text-slate-500">
                        {move || if connected.get() { "" } else { "Reconnecting… what you send goes out when the connection is back." }}
                    </span>
                </div>
            </section>
            <div node_ref=scroller class="flex-1 overflow-y-auto px-6 py-4">
                <ThreadView state=state viewer=Viewer::Agent/>
                <Show when=reply_seen>
                    <p class="visitor-seen mt-1 text-right text-[11px] text-slate-500">"Seen by the visitor"</p>
                </Show>
                <ThreadTail state=state viewer=Viewer::Agent/>
            </div>
            <form class="border-t border-slate-200 bg-white p-4" on:submit=move |ev| { ev.prevent_default(); send(noting.get_untracked()); }>
                <div class="mb-2 flex gap-1 text-xs font-semibold" role="tablist" aria-label="Write">
                    <button type="button" role="tab" class="rounded-full px-3 py-1"
                        aria-selected=move || (!noting.get()).to_string()
                        class=("bg-emerald-600", move || !noting.get()) class=("text-white", move || !noting.get())
                        class=("text-slate-600", move || noting.get()) class=("hover:bg-slate-100", move || noting.get())
                        on:click=move |_| noting.set(false)>"Reply"</button>
                    <button type="button" role="tab" class="rounded-full px-3 py-1"
                        aria-selected=move || noting.get().to_string()
                        class=("bg-yellow-300", move || noting.get()) class=("text-yellow-950", move || noting.get())
                        class=("text-slate-600", move || !noting.get()) class=("hover:bg-slate-100", move || !noting.get())
                        on:click=move |_| noting.set(true)>"Private note"</button>
                </div>
                <label class="sr-only" for="reply">{move || if noting.get() { "Private note for the team" } else { "Reply to the visitor" }}</label>
                <div class="flex items-end gap-2">
                    <textarea id="reply" rows="3" maxlength="4000"
                        class="flex-1 resize-y rounded-xl border px-3 py-2 text-sm focus:outline-none"
                        class=("border-slate-300", move || !noting.get()) class=("focus:border-emerald-600", move || !noting.get())
                        class=("border-yellow-300", move || noting.get()) class=("bg-yellow-50", move || noting.get())
                        placeholder=move || if noting.get() { "A note only the team sees… (Ctrl+Enter adds it)" } else { "Write a reply… (Ctrl+Enter sends; Markdown works)" }
                        prop:value=move || reply.get()
                        on:input=move |ev| {
                            reply.set(event_target_value(&ev));
                            // A note is not news to the visitor, nor a reason for the AI to wait.
                            if !noting.get_untracked() {
                                typing.input();
                            }
                        }
                        on:keydown=move |ev| if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); send(noting.get_untracked()); }></textarea>
                    <Show when=move || !noting.get()
                        fallback=|| view! { <button type="submit" class="add-note rounded-xl bg-yellow-300 px-4 py-2 text-sm font-semibold text-yellow-950 hover:bg-yellow-400">"Add note"</button> }>
                        <button type="submit" class="send-reply rounded-xl bg-emerald-600 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-700">"Send reply"</button>
                    </Show>
                </div>
                {move || error.get().map(|e| view! { <p class="mt-2 text-sm text-red-700" role="alert">{e}</p> })}
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        status: ConversationStatus,
        minutes: i64,
        assignee: Option<Uuid>,
    ) -> ConversationSummary {
        let at = chrono::DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap();
        ConversationSummary {
            conversation_id: Uuid::new_v4(),
            status,
            handoff_reason: None,
            last_message: String::new(),
            assignee_id: assignee,
            assignee_name: None,
            escalated_at: Some(at),
            updated_at: at,
            visitor: None,
            verified: false,
        }
    }

    #[test]
    fn live_changes_move_rows_between_queues_and_keep_the_order() {
        let me = Uuid::new_v4();
        let old = row(ConversationStatus::WaitingHuman, 0, None);
        let newer = row(ConversationStatus::WaitingHuman, 5, None);
        let fetched = vec![newer.clone(), old.clone()];
        let none = HashMap::new();
        // Waiting: oldest escalation first.
        let ids: Vec<_> = queue_rows(&fetched, &none, Queue::Waiting, me)
            .iter()
            .map(|c| c.conversation_id)
            .collect();
        assert_eq!(ids, vec![old.conversation_id, newer.conversation_id]);

        // I claim the old one: it leaves Waiting and joins Mine.
        let mut claimed = old.clone();
        claimed.status = ConversationStatus::Open;
        claimed.assignee_id = Some(me);
        claimed.updated_at += chrono::Duration::minutes(10);
        let changed = HashMap::from([(claimed.conversation_id, claimed.clone())]);
        let waiting = queue_rows(&fetched, &changed, Queue::Waiting, me);
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].conversation_id, newer.conversation_id);
        let mine = queue_rows(&fetched, &changed, Queue::Mine, me);
        assert_eq!(mine[0].conversation_id, claimed.conversation_id);
        // A list fetched after the change is newer than it: the fetched row wins.
        let mut resolved = claimed.clone();
        resolved.status = ConversationStatus::Resolved;
        resolved.updated_at += chrono::Duration::minutes(1);
        let refetched = vec![resolved.clone()];
        assert!(queue_rows(&refetched, &changed, Queue::Mine, me).is_empty());
        assert_eq!(
            queue_rows(&refetched, &changed, Queue::Resolved, me).len(),
            1
        );
        // Someone else's conversation is not mine.
        assert!(queue_rows(&refetched, &HashMap::new(), Queue::Mine, Uuid::new_v4()).is_empty());
    }
}
