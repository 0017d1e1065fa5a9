//! The agents' inbox: the live, filtered list of conversations with queue
//! counts, presence, notifications and keyboard shortcuts; one conversation
//! is in [`conversation`].

mod api;

pub use api::*;

mod browser;
mod conversation;

pub use conversation::ConversationPane;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::auth::{me, Logout};
use crate::error::DeskError;
use crate::live::use_live;
use crate::types::inbox::{Directory, ListFilter};
use crate::types::ReasonKind;
use crate::types::{
    AgentProfile, ClientMsg, ConversationStatus, ConversationSummary, HandoffReason, Queue,
    QueueCounts, ServerMsg,
};

/// A queue's rows: those fetched, updated by the rows changed live since
/// (the newer copy of each wins), in the queue's order.
pub fn queue_rows(
    fetched: &[ConversationSummary],
    changed: &HashMap<Uuid, ConversationSummary>,
    filter: &ListFilter,
    me: Uuid,
) -> Vec<ConversationSummary> {
    let queue = filter.queue;
    let mut rows: HashMap<Uuid, ConversationSummary> = fetched
        .iter()
        .map(|c| (c.conversation_id, c.clone()))
        .collect();
    for (id, row) in changed {
        match rows.get(id) {
            Some(old) if old.updated_at > row.updated_at => {}
            // Matched the filters when fetched: the newer copy replaces it,
            // unless it moved out of the reason, tag or team shown.
            Some(_) => {
                if filter.admits_ignoring_search(row) {
                    rows.insert(*id, row.clone());
                } else {
                    rows.remove(id);
                }
            }
            // New to this list: only if it matches the filters.
            None if filter.admits(row) => {
                rows.insert(*id, row.clone());
            }
            None => {}
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
                    Ok(profile) => view! { <Inbox profile=profile/> }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p class="p-6 text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A keyboard command for the open conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Claim it, or take it over from whoever has it.
    Claim,
    Resolve,
    Reopen,
    HandBack,
    Reply,
    Note,
    Suggest,
    Assign,
}

/// What the inbox shares with its panes.
#[derive(Clone, Copy)]
pub struct InboxContext {
    pub me: Uuid,
    /// The agent is an admin (may export and erase a visitor's data).
    pub admin: bool,
    /// The rows heard of since the page loaded, live or in fetched lists
    /// (newest copy of each).
    pub changed: RwSignal<HashMap<Uuid, ConversationSummary>>,
    /// Members, teams, canned replies and tags (a signal, not the resource:
    /// reading it never suspends a pane).
    pub directory: RwSignal<Directory>,
    /// The last keyboard command (numbered, so a repeat is a change).
    pub command: RwSignal<(u32, Option<Command>)>,
    /// When the agent last had each conversation open (its unread mark goes).
    pub opened: RwSignal<HashMap<Uuid, chrono::DateTime<chrono::Utc>>>,
}

/// The keyboard shortcuts, as `?` lists them.
pub const SHORTCUTS: [(&str, &str); 15] = [
    ("j / k", "next / previous conversation"),
    ("1 … 5", "queues: waiting, mine, all open, AI, resolved"),
    ("/", "search conversations"),
    ("c", "claim (or take over)"),
    ("a", "assign"),
    ("h", "hand back to the AI"),
    ("e", "resolve"),
    ("o", "reopen"),
    ("r", "write a reply"),
    ("n", "write a private note"),
    ("s", "suggest a reply from the knowledge"),
    ("Ctrl+Enter", "send the reply or add the note"),
    (
        "Ctrl+/",
        "choose a canned reply (or type / and its shortcut)",
    ),
    ("Esc", "leave the text box, close this list"),
    ("?", "show or hide this list"),
];

/// Minutes without a key press or pointer move before the inbox sets the
/// agent away (and back when they return).
const IDLE_MINUTES: f64 = 5.0;

#[component]
fn Inbox(profile: AgentProfile) -> impl IntoView {
    let me = profile.account_id;
    let is_admin = profile.role.is_admin();
    let filter = RwSignal::new(ListFilter::default());
    // Bumped to fetch the lists again: after a reconnect, or when told to.
    let version = RwSignal::new(0u64);
    let fetched = Resource::new(
        move || (filter.get(), version.get()),
        |(filter, _)| list_conversations(filter),
    );
    let changed = RwSignal::new(HashMap::<Uuid, ConversationSummary>::new());
    // A fetched list is news too (after a reconnect or a refresh, it may be
    // newer than anything heard live): the open conversation's pane reads
    // its row from here.
    Effect::new(move |_| {
        if let Some(Ok(list)) = fetched.get() {
            changed.update(|rows| {
                for row in list {
                    if rows
                        .get(&row.conversation_id)
                        .is_none_or(|old| old.updated_at <= row.updated_at)
                    {
                        rows.insert(row.conversation_id, row);
                    }
                }
            });
        }
    });
    let fetched_directory = Resource::new(move || version.get(), |_| get_directory());
    let directory = RwSignal::new(Directory::default());
    Effect::new(move |_| {
        if let Some(Ok(now)) = fetched_directory.get() {
            directory.set(now);
        }
    });
    let command = RwSignal::new((0u32, None::<Command>));
    let opened = RwSignal::new(HashMap::new());
    provide_context(InboxContext {
        me,
        admin: is_admin,
        changed,
        directory,
        command,
        opened,
    });
    let counts = RwSignal::new(None::<QueueCounts>);
    let connected = RwSignal::new(false);
    // Presence: away by choice, or by idleness.
    let away = RwSignal::new(profile.away);
    let idle = RwSignal::new(false);
    let notify_on = RwSignal::new(false);
    let help = RwSignal::new(false);
    let live = use_live(
        || "/ws/inbox".to_owned(),
        // The lists are fetched again on every connection: what changed
        // before it (or while it was down) is not missed.
        move || version.update(|v| *v += 1),
        move |msg| match msg {
            ServerMsg::ConversationChanged { summary } => changed.update(|c| {
                c.insert(summary.conversation_id, summary);
            }),
            ServerMsg::Counts { counts: now } => {
                if let Some(before) = counts.get_untracked() {
                    if notify_on.get_untracked() {
                        if now.waiting_human > before.waiting_human {
                            browser::notify("New escalation", "A visitor is waiting for a person.");
                        } else if now.mine > before.mine {
                            browser::notify(
                                "Assigned to you",
                                "A conversation was assigned to you.",
                            );
                        }
                    }
                }
                counts.set(Some(now));
            }
            ServerMsg::Refresh => version.update(|v| *v += 1),
            _ => {}
        },
        connected,
    );
    // Presence goes out on every connection and every change.
    Effect::new(move |_| {
        let away = away.get() || idle.get();
        if connected.get() {
            live.send(&ClientMsg::Presence { away });
        }
    });
    let last_active = StoredValue::new(browser::now_ms());
    Effect::new(move |_| {
        notify_on.set(browser::notifications_wanted());
        last_active.set_value(browser::now_ms());
        let active = move || {
            last_active.set_value(browser::now_ms());
            if idle.get_untracked() {
                idle.set(false);
            }
        };
        let keys = window_event_listener(leptos::ev::keydown, move |_| active());
        let moves = window_event_listener(leptos::ev::pointermove, move |_| active());
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let quiet = browser::now_ms() - last_active.get_value();
                if quiet > IDLE_MINUTES * 60_000.0 && !idle.get_untracked() {
                    idle.set(true);
                }
            },
            std::time::Duration::from_secs(20),
        ) {
            on_cleanup(move || handle.clear());
        }
        on_cleanup(move || {
            keys.remove();
            moves.remove();
        });
    });

    let now = use_now();
    let logout = ServerAction::<Logout>::new();
    let params = use_params_map();
    let selected = move || params.read().get("id");
    let search = RwSignal::new(String::new());
    // The search is sent a moment after the agent stops typing.
    let search_version = StoredValue::new(0u32);
    let on_search = move |text: String| {
        search.set(text.clone());
        search_version.update_value(|v| *v += 1);
        let mine = search_version.get_value();
        set_timeout(
            move || {
                if search_version.get_value() == mine {
                    let words = text.trim().to_owned();
                    filter.update(|f| f.search = (!words.is_empty()).then_some(words));
                }
            },
            std::time::Duration::from_millis(300),
        );
    };
    // The rows as shown: fetched, merged with live changes, filtered.
    let rows = move || {
        let list = fetched.get().and_then(Result::ok).unwrap_or_default();
        changed.with(|c| filter.with(|f| queue_rows(&list, c, f, me)))
    };
    let navigate = leptos_router::hooks::use_navigate();
    #[cfg(feature = "hydrate")]
    {
        let shortcuts = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let key = ev.key();
            if key == "Escape" {
                help.set(false);
                if browser::in_field(&ev) {
                    if let Some(el) = leptos::prelude::document().active_element() {
                        use wasm_bindgen::JsCast;
                        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                            let _ = el.blur();
                        }
                    }
                }
                return;
            }
            // The list of shortcuts is modal: only ? and Esc act under it.
            if help.get_untracked() {
                if key == "?" {
                    help.set(false);
                    ev.prevent_default();
                }
                return;
            }
            if browser::in_field(&ev) {
                return;
            }
            let run = |c: Command| {
                command.update(|(n, cmd)| {
                    *n += 1;
                    *cmd = Some(c);
                })
            };
            match key.as_str() {
                "?" => help.update(|h| *h = !*h),
                "j" | "k" => {
                    let rows = rows();
                    let at = selected()
                        .and_then(|s| rows.iter().position(|r| r.conversation_id.to_string() == s));
                    let next = match (at, key.as_str()) {
                        (None, _) => 0,
                        (Some(i), "j") => (i + 1).min(rows.len().saturating_sub(1)),
                        (Some(i), _) => i.saturating_sub(1),
                    };
                    if let Some(row) = rows.get(next) {
                        navigate(
                            &format!("/inbox/{}", row.conversation_id),
                            Default::default(),
                        );
                    }
                }
                "1" | "2" | "3" | "4" | "5" => {
                    let i: usize = key.parse().unwrap_or(1);
                    filter.update(|f| f.queue = Queue::ALL[i - 1]);
                }
                "/" => browser::focus("inbox-search"),
                "c" => run(Command::Claim),
                "e" => run(Command::Resolve),
                "o" => run(Command::Reopen),
                "h" => run(Command::HandBack),
                "r" => run(Command::Reply),
                "n" => run(Command::Note),
                "s" => run(Command::Suggest),
                "a" => run(Command::Assign),
                _ => return,
            }
            ev.prevent_default();
        });
        on_cleanup(move || shortcuts.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (navigate, command);

    let waiting_title = move || match counts.get().map(|c| c.waiting_human).filter(|n| *n > 0) {
        Some(n) => format!("({n}) Inbox · Tandem"),
        None => "Inbox · Tandem".to_owned(),
    };
    let select_class = "rounded border border-slate-300 bg-white px-1 py-1 text-xs";
    view! {
        <Title text=waiting_title/>
        <div class="flex h-dvh flex-col bg-slate-100 text-slate-900">
            <header class="flex flex-wrap items-center justify-between gap-x-3 gap-y-1 bg-slate-900 px-4 py-2 text-white">
                <div class="flex items-baseline gap-3">
                    <A href="/inbox" attr:class="font-bold tracking-tight">"tandem"</A>
                    <span class="text-sm text-slate-300">{profile.workspace_name.clone()}" · inbox"</span>
                </div>
                <div class="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
                    // On a phone with a conversation open, the admin pages'
                    // links step aside (the way back to the list brings them).
                    {is_admin.then(|| view! {
                        <span class="contents" class=("max-md:hidden", move || selected().is_some())>
                        <A href="/admin/team" attr:class="text-slate-300 hover:text-white">"Team"</A>
                        <A href="/admin/knowledge" attr:class="text-slate-300 hover:text-white">"Knowledge"</A>
                        <A href="/admin/policy" attr:class="text-slate-300 hover:text-white">"Handoff policy"</A>
                        <A href="/admin/widget" attr:class="text-slate-300 hover:text-white">"Widget"</A>
                        <A href="/admin/review" attr:class="text-slate-300 hover:text-white">"Review"</A>
                        <A href="/admin/dashboard" attr:class="text-slate-300 hover:text-white">"Dashboard"</A>
                        </span>
                    })}
                    <span class="live-status flex items-center gap-1">
                        <span class="inline-block h-2 w-2 rounded-full"
                            class=("bg-emerald-400", move || connected.get())
                            class=("bg-slate-500", move || !connected.get())></span>
                        {move || if connected.get() { "live" } else { "connecting" }}
                    </span>
                    <button type="button" class="presence-toggle flex items-center gap-1 rounded px-2 py-1 hover:bg-slate-700"
                        title="Away: the widget does not count you as online, and automatic assignment skips you"
                        aria-pressed=move || (away.get() || idle.get()).to_string()
                        on:click=move |_| { idle.set(false); away.update(|a| *a = !*a); }>
                        <span class="inline-block h-2 w-2 rounded-full"
                            class=("bg-amber-400", move || away.get() || idle.get())
                            class=("bg-emerald-400", move || !(away.get() || idle.get()))></span>
                        {move || if away.get() || idle.get() { "Away" } else { "Online" }}
                    </button>
                    <button type="button" class="notify-toggle rounded px-2 py-1 hover:bg-slate-700"
                        title="A desktop notification and a sound for each new escalation and each conversation assigned to you"
                        aria-pressed=move || notify_on.get().to_string()
                        on:click=move |_| {
                            let on = !notify_on.get_untracked();
                            browser::want_notifications(on);
                            notify_on.set(on);
                        }>
                        {move || if notify_on.get() { "Notifications on" } else { "Notifications off" }}
                    </button>
                    <button type="button" class="rounded px-2 py-1 text-slate-300 hover:bg-slate-700 hover:text-white" title="Keyboard shortcuts"
                        on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
                    <A href="/account" attr:class="text-slate-300 hover:text-white">{profile.name.clone()}</A>
                    <ActionForm action=logout>
                        <button type="submit" class="rounded bg-slate-700 px-2 py-1 hover:bg-slate-600">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <div class="flex min-h-0 flex-1">
                // On a phone, the list or the open conversation, not both.
                <nav class="w-full shrink-0 flex-col border-r border-slate-200 bg-white md:flex md:w-80" aria-label="Conversations"
                    class=("flex", move || selected().is_none()) class=("hidden", move || selected().is_some())>
                    <div class="queues grid grid-cols-5 gap-1 border-b border-slate-100 p-2" role="tablist" aria-label="Queues">
                        {Queue::ALL.into_iter().map(|q| {
                            let current = move || filter.with(|f| f.queue == q);
                            let urgent = move || q == Queue::Waiting && counts.get().is_some_and(|c| c.of(q) > 0);
                            view! {
                                <button type="button" role="tab" data-queue=q.as_str()
                                    class="queue-tab flex flex-col items-center rounded-lg px-1 py-1.5 leading-tight"
                                    class=("bg-slate-900", current) class=("text-white", current)
                                    class=("text-slate-700", move || !current()) class=("hover:bg-slate-100", move || !current())
                                    aria-selected=move || current().to_string()
                                    on:click=move |_| filter.update(|f| f.queue = q)>
                                    <span class="queue-count min-h-5 text-base font-semibold tabular-nums"
                                        class=("text-amber-600", move || urgent() && !current())
                                        class=("text-amber-300", move || urgent() && current())>
                                        {move || counts.get().map(|c| c.of(q).to_string()).unwrap_or_default()}
                                    </span>
                                    <span class="text-[11px]">{q.label()}</span>
                                </button>
                            }
                        }).collect::<Vec<_>>()}
                    </div>
                    <div class="filters flex flex-col gap-1 border-b border-slate-100 p-2">
                        <input id="inbox-search" type="search" maxlength="200" placeholder="Search messages, notes, visitors (/)"
                            aria-label="Search conversations"
                            class="w-full rounded border border-slate-300 px-2 py-1 text-sm focus:border-amber-500"
                            prop:value=move || search.get() on:input=move |ev| on_search(event_target_value(&ev))/>
                        <div class="grid grid-cols-3 gap-1">
                            <select class=select_class aria-label="Filter by reason"
                                on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.reason = (!v.is_empty()).then_some(v)); }>
                                <option value="">"Any reason"</option>
                                {ReasonKind::ALL.into_iter().map(|k| k.label()).map(|r| view! { <option value=r>{r}</option> }).collect::<Vec<_>>()}
                            </select>
                            {move || {
                                    let dir = directory.get();
                                    view! {
                                        <select class=select_class aria-label="Filter by tag"
                                            on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.tag = (!v.is_empty()).then_some(v)); }>
                                            <option value="">"Any tag"</option>
                                            {dir.tags.into_iter().map(|t| { let selected = filter.with_untracked(|f| f.tag.as_deref() == Some(t.as_str())); let label = t.clone(); view! { <option value=t selected=selected>{label}</option> } }).collect::<Vec<_>>()}
                                        </select>
                                        <select class=select_class aria-label="Filter by team"
                                            on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.team = (!v.is_empty()).then_some(v)); }>
                                            <option value="">"Any team"</option>
                                            {dir.teams.into_iter().map(|t| { let selected = filter.with_untracked(|f| f.team.as_deref() == Some(t.as_str())); let label = t.clone(); view! { <option value=t selected=selected>{label}</option> } }).collect::<Vec<_>>()}
                                        </select>
                                    }
                            }}
                        </div>
                    </div>
                    <div class="min-h-0 flex-1 overflow-y-auto">
                        <Transition fallback=|| view! { <p class="px-4 py-3 text-sm text-slate-500">"Loading…"</p> }>
                            {move || Suspend::new(async move {
                                match fetched.await {
                                    Ok(_) => view! {
                                        <Show when=move || !rows().is_empty()
                                            fallback=move || {
                                                let narrowed = filter.with(ListFilter::is_narrowed);
                                                view! { <p class="px-4 py-3 text-sm text-slate-500">{if narrowed { "Nothing matches these filters." } else { "Nothing here. Conversations appear live." }}</p> }
                                            }>
                                            // Keyed: a live change re-renders its own row only.
                                            <ul class="conversation-list">
                                                <For each=rows key=|c| (c.conversation_id, c.updated_at, c.unread) let(c)>
                                                    <ConversationRow summary=c now=now selected=selected/>
                                                </For>
                                            </ul>
                                        </Show>
                                    }.into_any(),
                                    Err(err) => view! { <p class="px-4 py-3 text-sm text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Transition>
                    </div>
                </nav>
                <main class="min-w-0 flex-1 md:block" class=("hidden", move || selected().is_none())>
                    {move || selected().is_some().then(|| view! {
                        <A href="/inbox" attr:class="back-to-list block border-b border-slate-200 bg-white px-4 py-2 text-sm text-amber-700 md:hidden">"← Conversations"</A>
                    })}
                    <Outlet/>
                </main>
            </div>
            <Show when=move || help.get()>
                <div class="shortcuts fixed inset-0 z-50 flex items-center justify-center bg-slate-900/40 p-4" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts"
                    on:click=move |_| help.set(false)>
                    <div class="w-full max-w-md rounded-2xl bg-white p-6 shadow-xl" on:click=|ev| ev.stop_propagation()>
                        <div class="flex items-center justify-between">
                            <h2 class="text-lg font-semibold">"Keyboard shortcuts"</h2>
                            <button type="button" class="rounded px-2 text-slate-500 hover:bg-slate-100" aria-label="Close" on:click=move |_| help.set(false)>"×"</button>
                        </div>
                        <dl class="mt-3 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
                            {SHORTCUTS.into_iter().map(|(keys, what)| view! {
                                <dt><kbd class="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs ring-1 ring-slate-300">{keys}</kbd></dt>
                                <dd class="text-slate-700">{what}</dd>
                            }).collect::<Vec<_>>()}
                        </dl>
                    </div>
                </div>
            </Show>
        </div>
    }
}

#[component]
fn ConversationRow(
    summary: ConversationSummary,
    now: RwSignal<Option<chrono::DateTime<chrono::Utc>>>,
    selected: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    let id = summary.conversation_id;
    let id_text = id.to_string();
    let href = format!("/inbox/{id}");
    let is_selected = move || selected().as_deref() == Some(id_text.as_str());
    let status = summary.status;
    let badge = summary.handoff_reason.as_ref().map(HandoffReason::short);
    let waiting = summary
        .escalated_at
        .filter(|_| status == ConversationStatus::WaitingHuman)
        .map(|since| move || waiting_label(since, now.get()));
    // Unread until the agent opens it (after its last change).
    let updated = summary.updated_at;
    let opened = use_context::<InboxContext>().map(|c| c.opened);
    let unread = summary.unread;
    let unread = move || {
        unread
            && opened
                .map(|o| o.with(|o| o.get(&id).is_none_or(|at| *at < updated)))
                .unwrap_or(true)
    };
    let with = summary
        .assignee_name
        .clone()
        .filter(|_| {
            matches!(
                status,
                ConversationStatus::Open | ConversationStatus::WaitingHuman
            )
        })
        .map(|n| {
            if status == ConversationStatus::Open {
                format!("with {n}")
            } else {
                format!("assigned to {n}")
            }
        });
    view! {
        <li>
            <A href=href attr:class="conversation-row block border-b border-slate-100 px-4 py-3 hover:bg-amber-50">
                <div class="flex items-center justify-between gap-2" class:font-semibold=is_selected>
                    <span class="flex items-center gap-1 text-xs"
                        class=("text-amber-700", status == ConversationStatus::WaitingHuman)
                        class=("text-slate-500", status != ConversationStatus::WaitingHuman)>
                        <Show when=unread>
                            <span class="unread inline-block h-2 w-2 rounded-full bg-sky-500" title="New messages from the visitor"></span>
                            <span class="sr-only">"New messages from the visitor. "</span>
                        </Show>
                        {status.label()}
                    </span>
                    <span class="flex flex-wrap justify-end gap-1">
                        {summary.team.clone().map(|t| view! { <span class="rounded bg-indigo-50 px-1.5 text-[11px] text-indigo-800">{t}</span> })}
                        {badge.map(|b| view! { <span class="rounded bg-amber-100 px-1.5 text-[11px] text-amber-900">{b}</span> })}
                    </span>
                </div>
                {summary.visitor.map(|who| view! {
                    <p class="visitor mt-1 truncate text-xs font-medium text-slate-700">
                        {who}
                        {summary.verified.then(|| view! { <span class="ml-1 rounded bg-emerald-100 px-1 text-[10px] text-emerald-800" title="Your site signed this user id; the name and email are as your site gave them">"verified"</span> })}
                    </p>
                })}
                <p class="mt-1 truncate text-sm text-slate-800" class:font-semibold=unread>{summary.last_message}</p>
                <p class="mt-0.5 flex flex-wrap gap-x-2 text-xs text-slate-500">
                    {waiting}
                    {with.map(|w| view! { <span>{w}</span> })}
                    {summary.tags.into_iter().map(|t| view! { <span class="tag text-slate-500">"#"{t}</span> }).collect::<Vec<_>>()}
                </p>
            </A>
        </li>
    }
}

/// Shown at `/inbox` before a conversation is chosen.
#[component]
pub fn NoConversation() -> impl IntoView {
    view! {
        <div class="flex h-full flex-col items-center justify-center gap-1 text-slate-600">
            <p>"Choose a conversation. Escalations waiting for a person come first."</p>
            <p class="text-xs">"Press "<kbd class="rounded bg-white px-1 ring-1 ring-slate-300">"j"</kbd>" for the first, "<kbd class="rounded bg-white px-1 ring-1 ring-slate-300">"?"</kbd>" for every shortcut."</p>
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
            team: None,
            tags: Vec::new(),
            unread: false,
        }
    }

    fn only(queue: Queue) -> ListFilter {
        ListFilter {
            queue,
            ..Default::default()
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
        let ids: Vec<_> = queue_rows(&fetched, &none, &only(Queue::Waiting), me)
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
        let waiting = queue_rows(&fetched, &changed, &only(Queue::Waiting), me);
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].conversation_id, newer.conversation_id);
        let mine = queue_rows(&fetched, &changed, &only(Queue::Mine), me);
        assert_eq!(mine[0].conversation_id, claimed.conversation_id);
        // A list fetched after the change is newer than it: the fetched row wins.
        let mut resolved = claimed.clone();
        resolved.status = ConversationStatus::Resolved;
        resolved.updated_at += chrono::Duration::minutes(1);
        let refetched = vec![resolved.clone()];
        assert!(queue_rows(&refetched, &changed, &only(Queue::Mine), me).is_empty());
        assert_eq!(
            queue_rows(&refetched, &changed, &only(Queue::Resolved), me).len(),
            1
        );
        // Someone else's conversation is not mine.
        assert!(queue_rows(
            &refetched,
            &HashMap::new(),
            &only(Queue::Mine),
            Uuid::new_v4()
        )
        .is_empty());
    }
}
