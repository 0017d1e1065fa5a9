//! One conversation in the inbox: the summary packet, the actions (claim,
//! take over, assign, hand back, resolve, reopen), tags, who else is here,
//! the thread, and the composer (Markdown, canned replies, private notes, a
//! suggested reply with its sources).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::{browser, get_conversation, set_tags, suggest_reply, Command, InboxContext};
use crate::error::DeskError;
use crate::live::{use_live, TypingNotifier};
use crate::thread::{current_status, Citations, ThreadState, ThreadTail, ThreadView, Viewer};
use crate::types::inbox::{
    canned_matches, insert_canned, reply_from_suggestion, Directory, Suggestion,
};
use crate::types::{
    ClientMsg, ConversationStatus, ConversationView, Decision, EventBody, MessageBody, ServerMsg,
    ThreadEvent, Typist,
};

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

const ACTION: &str = "rounded-lg bg-white px-3 py-1.5 text-sm font-semibold text-slate-900 ring-1 ring-slate-300 hover:bg-slate-50";
const PRIMARY: &str =
    "rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white hover:bg-slate-700";

#[component]
fn ConversationDetail(view: ConversationView) -> impl IntoView {
    let id = view.summary.conversation_id;
    let details = view.details.clone();
    let state = ThreadState::new(view.events);
    let connected = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let viewers = RwSignal::new(Vec::<Typist>::new());
    let inbox = use_context::<InboxContext>();
    let me = inbox.map(|c| c.me);
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
            ServerMsg::Viewers { agents, .. } => viewers.set(agents),
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

    // The conversation's row as the page loaded it, or as the live lists
    // report it since: who has it, its team and tags.
    let loaded = StoredValue::new(view.summary.clone());
    let row = move || {
        let loaded_at = loaded.with_value(|l| l.updated_at);
        inbox
            .and_then(|c| {
                c.changed.with(|r| {
                    r.get(&id)
                        .filter(|row| row.updated_at >= loaded_at)
                        .cloned()
                })
            })
            .unwrap_or_else(|| loaded.get_value())
    };
    let status = move || state.status();
    let assignee = move || row().assignee_id;
    let mine = move || me.is_some() && assignee() == me;
    // Another agent has it: replying needs an explicit take-over.
    let other_has = move || {
        matches!(
            status(),
            ConversationStatus::WaitingHuman | ConversationStatus::Open
        ) && assignee().is_some()
            && !mine()
    };
    let holder_name = move || {
        row()
            .assignee_name
            .unwrap_or_else(|| "Another agent".into())
    };
    let directory = move || inbox.map(|c| c.directory.get()).unwrap_or_default();
    // Open: its unread mark in the list goes, up to its row's last change
    // (the server's clock, as the rows carry it).
    Effect::new(move |_| {
        let seen_at = row().updated_at;
        if let Some(inbox) = inbox {
            inbox.opened.update(|o| {
                o.insert(id, seen_at);
            });
        }
    });

    let reply = RwSignal::new(String::new());
    // Writing a private note instead of a reply.
    let noting = RwSignal::new(false);
    // Why a reply cannot be sent now, if it cannot.
    let reply_blocked = move || {
        if noting.get() {
            None
        } else if other_has() {
            Some(format!(
                "{} has this conversation. Take it over to reply; notes are fine.",
                holder_name()
            ))
        } else if status() == ConversationStatus::Ai {
            Some(
                "The AI is handling this conversation. Take it over to reply; notes are fine."
                    .to_owned(),
            )
        } else {
            None
        }
    };
    let suggestion = RwSignal::new(None::<Suggestion>);
    let send = move |note: bool| {
        if !note && reply_blocked().is_some() {
            error.set(reply_blocked());
            return;
        }
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
        suggestion.set(None);
        typing.sent();
    };
    let scroller = NodeRef::<leptos::html::Div>::new();
    state.follow(scroller);

    // A suggested reply from the knowledge, for the agent to edit.
    let suggesting = RwSignal::new(false);
    let suggest = move || {
        if suggesting.get_untracked() {
            return;
        }
        suggesting.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match suggest_reply(id).await {
                Ok(s) => {
                    noting.set(false);
                    reply.set(reply_from_suggestion(&s));
                    suggestion.set(Some(s));
                    browser::focus("reply");
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            suggesting.set(false);
        });
    };

    let claim = move || {
        if other_has() {
            act(ClientMsg::TakeOver {
                client_id: Uuid::new_v4(),
            });
        } else if !mine() || status() != ConversationStatus::Open {
            act(ClientMsg::Claim {
                client_id: Uuid::new_v4(),
            });
        }
    };
    let resolve = move || {
        if status() != ConversationStatus::Resolved {
            act(ClientMsg::Resolve {
                client_id: Uuid::new_v4(),
            });
        }
    };
    let reopen = move || {
        if status() == ConversationStatus::Resolved {
            act(ClientMsg::Reopen {
                client_id: Uuid::new_v4(),
            });
        }
    };
    let hand_back = move || {
        if matches!(
            status(),
            ConversationStatus::WaitingHuman | ConversationStatus::Open
        ) {
            act(ClientMsg::HandBack {
                client_id: Uuid::new_v4(),
            });
        }
    };
    let assigning = RwSignal::new(false);
    let assign = move |agent: Option<Uuid>, team: Option<String>| {
        act(ClientMsg::Assign {
            client_id: Uuid::new_v4(),
            agent,
            team,
        });
    };
    // Keyboard commands from the inbox.
    if let Some(inbox) = inbox {
        // Each command runs once, here: the effect depends on the command
        // alone (what the actions read is untracked).
        let handled = StoredValue::new(inbox.command.get_untracked().0);
        Effect::new(move |_| {
            let (n, command) = inbox.command.get();
            if n == handled.get_value() {
                return;
            }
            handled.set_value(n);
            untrack(move || match command {
                Some(Command::Claim) => claim(),
                Some(Command::Resolve) => resolve(),
                Some(Command::Reopen) => reopen(),
                Some(Command::HandBack) => hand_back(),
                Some(Command::Reply) => {
                    noting.set(false);
                    browser::focus("reply");
                }
                Some(Command::Note) => {
                    noting.set(true);
                    browser::focus("reply");
                }
                Some(Command::Suggest) => suggest(),
                Some(Command::Assign) => {
                    assigning.set(true);
                    // Once the menu is drawn.
                    request_animation_frame(|| browser::focus("assign-first"));
                }
                None => {}
            });
        });
    }

    // Why the AI escalated, what the visitor wants, what the AI tried.
    let context = move || {
        state.events.with(|events| {
            let reason = crate::thread::handoff_reason(events);
            let (wants, tried) = handoff_question(events);
            let email = events.iter().rev().find_map(|e| match &e.body {
                EventBody::EmailLeft { email } => Some(email.clone()),
                _ => None,
            });
            (reason, tried, wants, email, current_status(events))
        })
    };
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
    let others = move || {
        let typists = state.typists.get();
        viewers
            .get()
            .into_iter()
            .filter_map(|v| match v {
                Typist::Agent { account_id, name } => {
                    let typing = typists.iter().any(
                        |t| matches!(t, Typist::Agent { account_id: a, .. } if *a == account_id),
                    );
                    Some(if typing {
                        format!("{name} (typing)")
                    } else {
                        name
                    })
                }
                Typist::Visitor => None,
            })
            .collect::<Vec<_>>()
    };
    // Canned replies: the list opens while the text is `/shortcut`.
    let canned_index = RwSignal::new(0usize);
    let canned = move || {
        let all = directory().canned;
        let text = reply.get();
        canned_matches(&text, &all)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    // The picker the composer's button (or Ctrl+/) opens: every canned
    // reply, searchable by shortcut or words, chosen by keyboard or pointer.
    let picking = RwSignal::new(false);
    let pick_query = RwSignal::new(String::new());
    let pick_index = RwSignal::new(0usize);
    let picked = move || {
        let query = pick_query.get().to_lowercase();
        directory()
            .canned
            .into_iter()
            .filter(|c| {
                let body = c.body.to_lowercase();
                query
                    .split_whitespace()
                    .all(|w| c.shortcut.contains(w) || body.contains(w))
            })
            .collect::<Vec<_>>()
    };
    let open_picker = move || {
        pick_query.set(String::new());
        pick_index.set(0);
        picking.set(true);
        // One added since the inbox loaded is listed too.
        if let Some(inbox) = inbox {
            leptos::task::spawn_local(async move {
                if let Ok(now) = super::get_directory().await {
                    inbox.directory.set(now);
                }
            });
        }
        request_animation_frame(|| browser::focus("canned-search"));
    };
    let close_picker = move || {
        picking.set(false);
        browser::focus("reply");
    };
    let pick = move |body: String| {
        picking.set(false);
        reply.update(|text| {
            let gap = if text.is_empty() || text.ends_with(char::is_whitespace) {
                ""
            } else {
                " "
            };
            *text = format!("{text}{gap}{body}");
        });
        browser::focus("reply");
    };
    let take_canned = move |body: String| {
        reply.update(|text| *text = insert_canned(text, &body));
        canned_index.set(0);
        browser::focus("reply");
    };
    let verified = view.summary.verified;
    let visitor = view.summary.visitor.clone();
    let details_open = RwSignal::new(false);

    view! {
        <div class="flex h-full flex-col">
            // On a phone the summary keeps to a third of the screen (it
            // scrolls within), leaving the thread and the composer the rest.
            <section class="handoff-context max-h-[33dvh] shrink-0 overflow-y-auto border-b border-slate-200 bg-white px-4 py-3 md:max-h-none md:overflow-visible md:px-6 md:py-4" aria-label="Summary">
                {move || {
                    let (reason, last_answer, first_question, _, status) = context();
                    let row = row();
                    let holder = row.assignee_name.clone().filter(|_| matches!(status, ConversationStatus::Open | ConversationStatus::WaitingHuman));
                    view! {
                        <div class="flex flex-wrap items-center gap-2">
                            <span class="conversation-status rounded-full bg-slate-900 px-2 py-0.5 text-xs font-semibold text-white">{status.label()}</span>
                            {holder.map(|n| view! { <span class="holder text-xs text-slate-600">{if status == ConversationStatus::Open { "with " } else { "assigned to " }}{n}</span> })}
                            {row.team.clone().map(|t| view! { <span class="rounded-full bg-indigo-50 px-2 py-0.5 text-xs text-indigo-800">"team "{t}</span> })}
                            // Why it came to the team, while it is with the team.
                            {reason.filter(|_| matches!(status, ConversationStatus::WaitingHuman | ConversationStatus::Open)).map(|r| view! {
                                <span class="handoff-reason rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900">{r.describe()}</span>
                            })}
                        </div>
                        <dl class="summary-packet mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                            <dt class="text-slate-500">"Visitor wants"</dt>
                            <dd class="visitor-wants line-clamp-2 break-words">{first_question.unwrap_or_else(|| "—".to_owned())}</dd>
                            <dt class="text-slate-500">"AI tried"</dt>
                            <dd class="ai-tried">{last_answer.map(|d| tried_line(&d)).unwrap_or_else(|| "nothing yet".to_owned())}</dd>
                        </dl>
                    }
                }}
                // On a phone the visitor's details fold away under a button,
                // leaving the thread the room; on a desk they always show.
                <button type="button" class="details-toggle mt-1 text-xs font-medium text-amber-800 underline md:hidden"
                    aria-expanded=move || details_open.get().to_string() aria-controls="visitor-details"
                    on:click=move |_| details_open.update(|o| *o = !*o)>
                    {move || if details_open.get() { "Hide the visitor's details" } else { "The visitor's details, tags" }}
                </button>
                <div id="visitor-details" class="md:block" class=("hidden", move || !details_open.get())>
                <dl class="mt-1 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                    <dt class="text-slate-500">"Visitor"</dt>
                    <dd class="visitor-identity">
                        {visitor.clone().unwrap_or_else(|| "anonymous".to_owned())}
                        {if verified {
                            view! { <span class="ml-1 rounded bg-emerald-100 px-1 text-[11px] text-emerald-800">"verified by your site"</span> }.into_any()
                        } else {
                            view! { <span class="ml-1 text-xs text-slate-500">"(not verified)"</span> }.into_any()
                        }}
                        {details.language.clone().map(|l| view! { <span class="ml-2 text-xs text-slate-500">"· "{l}</span> })}
                    </dd>
                    <dt class="text-slate-500">"Page"</dt>
                    <dd class="truncate">{match details.page_url.clone() {
                        Some(url) => { let text = url.clone(); view! { <a class="page-url text-amber-700 hover:underline" href=url target="_blank" rel="noopener noreferrer">{text}</a> }.into_any() }
                        None => view! { <span>"—"</span> }.into_any(),
                    }}</dd>
                    <dt class="text-slate-500">"Email"</dt>
                    <dd class="follow-up-email">{move || context().3.or_else(|| details.email.clone()).unwrap_or_else(|| "not left".to_owned())}</dd>
                </dl>
                {inbox.is_some_and(|i| i.admin).then(|| view! { <crate::privacy::VisitorPrivacy id=id/> })}
                <Tags id=id current=Signal::derive(move || row().tags)/>
                </div>
                <div class="conversation-actions mt-3 flex flex-wrap items-center gap-2">
                    <Show when=move || status() != ConversationStatus::Resolved && !(mine() && status() == ConversationStatus::Open)>
                        <button type="button" class=move || format!("{} {}", if other_has() { "take-over" } else { "claim" }, PRIMARY)
                            title="c" on:click=move |_| claim()>
                            {move || if other_has() { format!("Take over from {}", holder_name()) } else if status() == ConversationStatus::Ai { "Take over from the AI".to_owned() } else { "Claim".to_owned() }}
                        </button>
                    </Show>
                    <Show when=move || status() != ConversationStatus::Resolved>
                        <AssignMenu directory=Signal::derive(directory) assignee=Signal::derive(assignee) team=Signal::derive(move || row().team) open=assigning on_assign=assign/>
                    </Show>
                    <Show when=move || matches!(status(), ConversationStatus::WaitingHuman | ConversationStatus::Open)>
                        <button type="button" class=format!("hand-back {ACTION}") title="h" on:click=move |_| hand_back()>"Hand back to the AI"</button>
                    </Show>
                    <Show when=move || status() != ConversationStatus::Resolved>
                        <button type="button" class=format!("resolve {ACTION}") title="e" on:click=move |_| resolve()>"Resolve"</button>
                    </Show>
                    <Show when=move || status() == ConversationStatus::Resolved>
                        <button type="button" class=format!("reopen {ACTION}") title="o" on:click=move |_| reopen()>"Reopen"</button>
                    </Show>
                    <span class="self-center text-xs text-slate-500">
                        {move || if connected.get() { "" } else { "Reconnecting… what you send goes out when the connection is back." }}
                    </span>
                </div>
                {move || {
                    let others = others();
                    (!others.is_empty()).then(|| view! {
                        <p class="viewers mt-2 text-xs text-sky-800" role="status">
                            <span class="rounded-full bg-sky-50 px-2 py-0.5 ring-1 ring-sky-200">"Also here: "{others.join(", ")}</span>
                        </p>
                    })
                }}
            </section>
            <div node_ref=scroller class="flex-1 overflow-y-auto px-6 py-4">
                <ThreadView state=state viewer=Viewer::Agent/>
                <Show when=reply_seen>
                    <p class="visitor-seen mt-1 text-right text-[11px] text-slate-600">"Seen by the visitor"</p>
                </Show>
                <ThreadTail state=state viewer=Viewer::Agent/>
            </div>
            <form class="composer relative border-t border-slate-200 bg-white p-4" on:submit=move |ev| { ev.prevent_default(); send(noting.get_untracked()); }>
                {move || suggestion.get().map(|s| view! {
                    <div class="suggestion mb-2 rounded-lg bg-violet-50 p-2 text-xs text-violet-950 ring-1 ring-violet-200">
                        <div class="flex items-center justify-between gap-2">
                            <p>{format!("Suggested from your knowledge (confidence {:.2}) for “{}”. Edit it before sending.", s.confidence, s.question)}</p>
                            <button type="button" class="rounded px-1 hover:bg-violet-100" aria-label="Dismiss the suggestion" on:click=move |_| suggestion.set(None)>"×"</button>
                        </div>
                        <Citations citations=s.citations viewer=Viewer::Agent/>
                    </div>
                })}
                {move || {
                    let list = canned();
                    (!list.is_empty()).then(|| {
                        let at = canned_index.get().min(list.len() - 1);
                        view! {
                            <ul id="canned-list" class="canned-list absolute bottom-full left-4 right-4 mb-1 max-h-56 overflow-y-auto rounded-lg bg-white py-1 text-sm shadow-lg ring-1 ring-slate-200" role="listbox" aria-label="Canned replies">
                                {list.into_iter().enumerate().map(|(i, c)| {
                                    let body = c.body.clone();
                                    view! {
                                        <li role="option" id=format!("canned-{i}") aria-selected=(i == at).to_string()
                                            class="cursor-pointer px-3 py-1.5" class=("bg-amber-50", i == at)
                                            on:mousedown=move |ev| { ev.prevent_default(); take_canned(body.clone()); }>
                                            <code class="font-semibold">"/"{c.shortcut}</code>
                                            <span class="ml-2 truncate text-slate-600">{c.body.chars().take(80).collect::<String>()}</span>
                                        </li>
                                    }
                                }).collect::<Vec<_>>()}
                            </ul>
                        }
                    })
                }}
                <Show when=move || picking.get()>
                    <div class="canned-picker absolute bottom-full left-4 right-4 z-10 mb-1 rounded-lg bg-white p-2 text-sm shadow-lg ring-1 ring-slate-200"
                        role="dialog" aria-label="Canned replies"
                        on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); ev.stop_propagation(); close_picker(); }>
                        <label class="sr-only" for="canned-search">"Search canned replies"</label>
                        <input id="canned-search" type="text" role="combobox" autocomplete="off"
                            aria-expanded="true" aria-controls="canned-options" aria-autocomplete="list"
                            aria-activedescendant=move || (!picked().is_empty()).then(|| format!("canned-option-{}", pick_index.get()))
                            class="w-full rounded border border-slate-300 px-2 py-1 text-sm"
                            placeholder="Search by shortcut or words… (↑ ↓ to choose, Enter to insert, Esc to close)"
                            prop:value=move || pick_query.get()
                            on:input=move |ev| { pick_query.set(event_target_value(&ev)); pick_index.set(0); }
                            on:keydown=move |ev| {
                                let list = picked();
                                if list.is_empty() {
                                    return;
                                }
                                let at = pick_index.get_untracked().min(list.len() - 1);
                                match ev.key().as_str() {
                                    "ArrowDown" => { ev.prevent_default(); pick_index.set((at + 1) % list.len()); }
                                    "ArrowUp" => { ev.prevent_default(); pick_index.set((at + list.len() - 1) % list.len()); }
                                    "Enter" => { ev.prevent_default(); pick(list[at].body.clone()); }
                                    _ => {}
                                }
                            }/>
                        {move || {
                            let list = picked();
                            if list.is_empty() {
                                let why = if directory().canned.is_empty() {
                                    "No canned replies yet: an admin adds them on the Team page."
                                } else {
                                    "No canned reply matches."
                                };
                                return view! { <p class="px-2 py-1.5 text-slate-600">{why}</p> }.into_any();
                            }
                            let at = pick_index.get().min(list.len() - 1);
                            view! {
                                <ul id="canned-options" class="mt-1 max-h-56 overflow-y-auto" role="listbox" aria-label="Canned replies">
                                    {list.into_iter().enumerate().map(|(i, c)| {
                                        let body = c.body.clone();
                                        view! {
                                            <li role="option" id=format!("canned-option-{i}") aria-selected=(i == at).to_string()
                                                class="cursor-pointer rounded px-2 py-1.5 hover:bg-amber-50" class=("bg-amber-100", i == at)
                                                on:mousedown=move |ev| { ev.prevent_default(); pick(body.clone()); }>
                                                <code class="font-semibold">"/"{c.shortcut}</code>
                                                <span class="ml-2 text-slate-700">{c.body.chars().take(90).collect::<String>()}</span>
                                            </li>
                                        }
                                    }).collect::<Vec<_>>()}
                                </ul>
                            }.into_any()
                        }}
                    </div>
                </Show>
                <div class="mb-2 flex items-center gap-1 text-xs font-semibold">
                    <div class="flex items-center gap-1" role="tablist" aria-label="Write">
                    <button type="button" role="tab" class="rounded-full px-3 py-1"
                        aria-selected=move || (!noting.get()).to_string()
                        class=("bg-emerald-700", move || !noting.get()) class=("text-white", move || !noting.get())
                        class=("text-slate-600", move || noting.get()) class=("hover:bg-slate-100", move || noting.get())
                        on:click=move |_| noting.set(false)>"Reply"</button>
                    <button type="button" role="tab" class="rounded-full px-3 py-1"
                        aria-selected=move || noting.get().to_string()
                        class=("bg-yellow-300", move || noting.get()) class=("text-yellow-950", move || noting.get())
                        class=("text-slate-600", move || !noting.get()) class=("hover:bg-slate-100", move || !noting.get())
                        on:click=move |_| noting.set(true)>"Private note"</button>
                    </div>
                    <span class="flex-1"></span>
                    <button type="button" class="suggest rounded-full px-3 py-1 text-violet-700 ring-1 ring-violet-300 hover:bg-violet-50 disabled:opacity-50"
                        title="s" disabled=move || suggesting.get() on:click=move |_| suggest()>
                        {move || if suggesting.get() { "Suggesting…" } else { "Suggest a reply" }}
                    </button>
                    <button type="button" class="rounded-full px-3 py-1 text-slate-600 ring-1 ring-slate-300 hover:bg-slate-50"
                        title="Ctrl+/" aria-haspopup="dialog" aria-expanded=move || picking.get().to_string()
                        on:click=move |_| if picking.get_untracked() { close_picker() } else { open_picker() }>"Canned replies"</button>
                </div>
                {move || reply_blocked().map(|why| view! { <p class="reply-blocked mb-2 rounded bg-amber-50 px-3 py-1.5 text-xs text-amber-900" role="status">{why}</p> })}
                <label class="sr-only" for="reply">{move || if noting.get() { "Private note for the team" } else { "Reply to the visitor" }}</label>
                <div class="flex items-end gap-2">
                    <textarea id="reply" rows="3" maxlength="4000"
                        aria-autocomplete="list" aria-controls=move || (!canned().is_empty()).then_some("canned-list")
                        aria-activedescendant=move || (!canned().is_empty()).then(|| format!("canned-{}", canned_index.get()))
                        class="flex-1 resize-y rounded-xl border px-3 py-2 text-sm"
                        class=("border-slate-300", move || !noting.get()) class=("focus:border-emerald-600", move || !noting.get())
                        class=("border-yellow-300", move || noting.get()) class=("bg-yellow-50", move || noting.get())
                        placeholder=move || if noting.get() { "A note only the team sees… (Ctrl+Enter adds it)" } else { "Write a reply… (Ctrl+Enter sends; Markdown works; / for canned replies)" }
                        prop:value=move || reply.get()
                        on:input=move |ev| {
                            reply.set(event_target_value(&ev));
                            canned_index.set(0);
                            // A note is not news to the visitor, nor a reason for the AI to wait.
                            if !noting.get_untracked() {
                                typing.input();
                            }
                        }
                        on:keydown=move |ev| {
                            let list = canned();
                            let key = ev.key();
                            if !list.is_empty() && matches!(key.as_str(), "ArrowDown" | "ArrowUp" | "Enter" | "Tab") && !(ev.ctrl_key() || ev.meta_key()) {
                                ev.prevent_default();
                                let at = canned_index.get_untracked().min(list.len() - 1);
                                match key.as_str() {
                                    "ArrowDown" => canned_index.set((at + 1) % list.len()),
                                    "ArrowUp" => canned_index.set((at + list.len() - 1) % list.len()),
                                    _ => take_canned(list[at].body.clone()),
                                }
                            } else if key == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                                ev.prevent_default();
                                send(noting.get_untracked());
                            } else if key == "/" && (ev.ctrl_key() || ev.meta_key()) {
                                ev.prevent_default();
                                open_picker();
                            }
                        }></textarea>
                    <Show when=move || !noting.get()
                        fallback=|| view! { <button type="submit" class="add-note rounded-xl bg-yellow-300 px-4 py-2 text-sm font-semibold text-yellow-950 hover:bg-yellow-400">"Add note"</button> }>
                        <button type="submit" class="send-reply rounded-xl bg-emerald-700 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-800 disabled:opacity-50"
                            disabled=move || reply_blocked().is_some()>"Send reply"</button>
                    </Show>
                </div>
                {move || error.get().map(|e| view! { <p class="mt-2 text-sm text-red-700" role="alert">{e}</p> })}
            </form>
        </div>
    }
}

/// Assigning to an agent (with their presence) and/or a team: a menu of
/// buttons, so choosing is one deliberate press (`a` opens it).
#[component]
fn AssignMenu(
    directory: Signal<Directory>,
    assignee: Signal<Option<Uuid>>,
    team: Signal<Option<String>>,
    open: RwSignal<bool>,
    on_assign: impl Fn(Option<Uuid>, Option<String>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let item = "block w-full px-3 py-1.5 text-left text-sm hover:bg-amber-50 focus:bg-amber-50";
    let choose = move |agent: Option<Uuid>, team: Option<String>| {
        open.set(false);
        on_assign(agent, team);
    };
    let label = move || {
        let dir = directory.get();
        let who = assignee
            .get()
            .and_then(|a| dir.members.iter().find(|m| m.account_id == a))
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "nobody".to_owned());
        match team.get() {
            Some(team) => format!("Assigned: {who} · {team}"),
            None => format!("Assigned: {who}"),
        }
    };
    view! {
        <div class="relative">
            <button type="button" id="assign-button" class=format!("assign {ACTION}") title="a"
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {label}" ▾"
            </button>
            <Show when=move || open.get()>
                <div class="assign-menu absolute left-0 top-full z-20 mt-1 max-h-80 w-64 overflow-y-auto rounded-lg bg-white py-1 shadow-lg ring-1 ring-slate-200"
                    role="menu" aria-label="Assign"
                    on:keydown=move |ev| if ev.key() == "Escape" { ev.stop_propagation(); open.set(false); browser::focus("assign-button"); }>
                    <p class="px-3 pt-1 text-[11px] font-semibold uppercase tracking-wide text-slate-500">"Agent"</p>
                    <button type="button" role="menuitem" id="assign-first" class=item
                        on:click=move |_| choose(None, team.get_untracked())>"Nobody (back to the queue)"</button>
                    {move || directory.get().members.into_iter().map(|m| {
                        let id = m.account_id;
                        let current = move || assignee.get() == Some(id);
                        view! {
                            <button type="button" role="menuitem" class=item class=("font-semibold", current)
                                on:click=move |_| choose(Some(id), team.get_untracked())>
                                {format!("{} · {}", m.name, m.presence.label())}
                            </button>
                        }
                    }).collect::<Vec<_>>()}
                    <p class="px-3 pt-2 text-[11px] font-semibold uppercase tracking-wide text-slate-500">"Team"</p>
                    <button type="button" role="menuitem" class=item
                        on:click=move |_| choose(assignee.get_untracked(), None)>"No team"</button>
                    {move || directory.get().teams.into_iter().map(|t| {
                        let name = t.clone();
                        view! {
                            <button type="button" role="menuitem" class=item
                                on:click=move |_| choose(assignee.get_untracked(), Some(name.clone()))>
                                {format!("Team {t}")}
                            </button>
                        }
                    }).collect::<Vec<_>>()}
                </div>
            </Show>
        </div>
    }
}

/// The conversation's tags: remove one with its ×, add one by typing it.
/// They follow the list row (another agent's change shows here too).
#[component]
fn Tags(id: Uuid, current: Signal<Vec<String>>) -> impl IntoView {
    let tags = RwSignal::new(current.get_untracked());
    Effect::new(move |_| tags.set(current.get()));
    let adding = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let save = move |next: Vec<String>| {
        leptos::task::spawn_local(async move {
            match set_tags(id, next).await {
                Ok(saved) => {
                    tags.set(saved);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <div class="tags mt-2 flex flex-wrap items-center gap-1 text-xs">
            {move || tags.get().into_iter().map(|t| {
                let name = t.clone();
                view! {
                    <span class="tag inline-flex items-center gap-1 rounded-full bg-slate-100 px-2 py-0.5 text-slate-700">
                        "#"{t}
                        <button type="button" class="text-slate-400 hover:text-red-700" aria-label=format!("Remove tag {name}")
                            on:click=move |_| { let name = name.clone(); save(tags.get_untracked().into_iter().filter(|x| *x != name).collect()); }>"×"</button>
                    </span>
                }
            }).collect::<Vec<_>>()}
            <form class="inline" on:submit=move |ev| {
                ev.prevent_default();
                let tag = adding.get_untracked().trim().to_owned();
                if !tag.is_empty() {
                    let mut next = tags.get_untracked();
                    next.push(tag);
                    adding.set(String::new());
                    save(next);
                }
            }>
                <input type="text" maxlength="40" placeholder="+ tag" aria-label="Add a tag"
                    class="w-24 rounded-full border border-dashed border-slate-300 px-2 py-0.5 focus:border-amber-500"
                    prop:value=move || adding.get() on:input=move |ev| adding.set(event_target_value(&ev))/>
            </form>
            {move || error.get().map(|e| view! { <span class="text-red-700" role="alert">{e}</span> })}
        </div>
    }
}

/// What the summary packet calls the visitor's question: their messages the
/// AI had not answered when the conversation went to the team (or, handed
/// off right after an answer, the question that answer was to), and the
/// AI's try at that same question. Without a handoff: the latest question.
pub(crate) fn handoff_question(events: &[ThreadEvent]) -> (Option<String>, Option<Decision>) {
    let visitor_text = |e: &ThreadEvent| match &e.body {
        EventBody::VisitorMessage { text } => Some(text.clone()),
        _ => None,
    };
    let decision_of = |e: &ThreadEvent| match &e.body {
        EventBody::AiAnswer { decision, .. } | EventBody::AiUnsure { decision } => {
            Some(decision.clone())
        }
        EventBody::StatusChange {
            decision: Some(decision),
            ..
        } => Some(decision.clone()),
        _ => None,
    };
    let is_reply = |e: &ThreadEvent| {
        matches!(
            e.body,
            EventBody::AiAnswer { .. } | EventBody::AiUnsure { .. } | EventBody::HumanReply { .. }
        )
    };
    // Up to the last handoff (or everything, when there was none).
    let end = events
        .iter()
        .rposition(|e| {
            matches!(
                e.body,
                EventBody::StatusChange {
                    status: ConversationStatus::WaitingHuman,
                    ..
                }
            )
        })
        .map_or(events.len(), |at| at + 1);
    let before = &events[..end];
    let last_reply = before.iter().rposition(is_reply);
    let since = &before[last_reply.map_or(0, |at| at + 1)..];
    let unanswered: Vec<String> = since.iter().filter_map(visitor_text).collect();
    if !unanswered.is_empty() {
        let tried = since.iter().rev().find_map(decision_of);
        return (Some(unanswered.join(" ")), tried);
    }
    match last_reply {
        Some(at) => (
            before[..at].iter().rev().find_map(visitor_text),
            decision_of(&before[at]).or_else(|| since.iter().rev().find_map(decision_of)),
        ),
        None => (None, since.iter().rev().find_map(decision_of)),
    }
}

/// "answered, confidence 0.82, top passage “Refunds › Timing” similarity 0.88".
fn tried_line(d: &Decision) -> String {
    let outcome = match (&d.handoff, d.answered) {
        (_, true) => "answered".to_owned(),
        (Some(reason), false) => format!("did not answer ({})", reason.describe()),
        (None, false) => "did not answer".to_owned(),
    };
    let top = d.retrieved.first().map_or_else(
        || ", nothing relevant found".to_owned(),
        |p| {
            format!(
                ", top passage “{}” similarity {:.2}",
                p.heading_path, p.similarity
            )
        },
    );
    format!("{outcome}, confidence {:.2}{top}", d.confidence.value())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Confidence, HandoffReason};

    fn decision(answered: bool, confidence: f32) -> Decision {
        Decision {
            answered,
            confidence: Confidence::new(confidence).unwrap(),
            handoff: None,
            retrieved: Vec::new(),
            threshold: None,
            signals: None,
            rules: Vec::new(),
        }
    }

    fn thread(bodies: Vec<EventBody>) -> Vec<ThreadEvent> {
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| ThreadEvent {
                conversation_id: Uuid::nil(),
                seq: i as i64 + 1,
                at: chrono::Utc::now(),
                body,
            })
            .collect()
    }

    fn asked(text: &str) -> EventBody {
        EventBody::VisitorMessage { text: text.into() }
    }

    fn answer(confidence: f32) -> EventBody {
        EventBody::AiAnswer {
            text: "An answer".into(),
            citations: Vec::new(),
            decision: decision(true, confidence),
        }
    }

    fn handoff(decision: Option<Decision>) -> EventBody {
        EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            reason: Some(HandoffReason::NotGrounded),
            agent_name: None,
            decision,
        }
    }

    #[test]
    fn the_summary_is_about_the_question_that_came_to_the_team() {
        // Answered, then a question the AI handed off: that one, with its decision.
        let events = thread(vec![
            asked("how long do refunds take?"),
            answer(0.9),
            asked("Ich möchte mit einem Mitarbeiter sprechen"),
            handoff(Some(decision(false, 0.2))),
        ]);
        let (wants, tried) = handoff_question(&events);
        assert_eq!(
            wants.as_deref(),
            Some("Ich möchte mit einem Mitarbeiter sprechen")
        );
        assert_eq!(tried.map(|d| d.confidence.value()), Some(0.2));

        // Handed off (by the button) right after an answer: the question it answered.
        let events = thread(vec![
            asked("first"),
            answer(0.9),
            asked("second"),
            answer(0.6),
            handoff(None),
        ]);
        let (wants, tried) = handoff_question(&events);
        assert_eq!(wants.as_deref(), Some("second"));
        assert_eq!(tried.map(|d| d.confidence.value()), Some(0.6));

        // A burst of unanswered messages reads as one question; no try yet.
        let events = thread(vec![
            asked("hello"),
            asked("my lamp is broken"),
            handoff(None),
        ]);
        let (wants, tried) = handoff_question(&events);
        assert_eq!(wants.as_deref(), Some("hello my lamp is broken"));
        assert!(tried.is_none());

        // Later messages, after the handoff, do not change what came to the team.
        let mut events = events;
        events.extend(
            thread(vec![asked("still there?")])
                .into_iter()
                .map(|mut e| {
                    e.seq += 10;
                    e
                }),
        );
        assert_eq!(
            handoff_question(&events).0.as_deref(),
            Some("hello my lamp is broken")
        );
    }
}
