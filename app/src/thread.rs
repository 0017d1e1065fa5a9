//! A conversation's thread as the browser holds it, and its rendering,
//! shared by the widget and the inbox. All text is rendered as text nodes:
//! nothing from a visitor, a page or a model becomes HTML.

use leptos::prelude::*;
use uuid::Uuid;

use crate::markdown::{self, Block, Inline};
use crate::types::widget::{Language, Texts};
use crate::types::{
    Citation, ConversationStatus, Decision, EventBody, HandoffReason, ThreadEvent, Typist,
};

/// The visitor's language, which the widget provides; English elsewhere.
#[derive(Clone, Copy, Debug)]
pub struct VisitorTexts(pub &'static Texts);

fn visitor_texts() -> &'static Texts {
    use_context::<VisitorTexts>().map_or(Language::En.texts(), |t| t.0)
}

/// The visitor's way to the team from inside the thread (the AI's unsure
/// offer carries it), which the widget provides.
#[derive(Clone, Copy)]
pub struct AskTeam(pub Callback<()>);

/// The visitor's thumbs up/down on AI answers, which the widget provides.
#[derive(Clone, Copy)]
pub struct Ratings {
    /// Answer seq → helpful.
    pub rated: RwSignal<std::collections::HashMap<i64, bool>>,
    pub rate: Callback<(i64, bool)>,
}

/// A person's initials on a colour of their own (the same name, the same colour).
#[component]
pub fn Avatar(name: String, #[prop(optional)] large: bool) -> impl IntoView {
    const COLOURS: [&str; 6] = [
        "bg-emerald-700",
        "bg-sky-700",
        "bg-violet-600",
        "bg-rose-600",
        "bg-teal-700",
        "bg-indigo-600",
    ];
    let initials: String = name
        .split_whitespace()
        // "Alex (support)" is A, not A( or AS.
        .map_while(|w| w.chars().next().filter(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    let hash = name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let colour = COLOURS[hash as usize % COLOURS.len()];
    let size = if large {
        "h-8 w-8 text-xs"
    } else {
        "h-6 w-6 text-[10px]"
    };
    view! {
        <span class=format!("avatar inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white {size} {colour}")
            aria-hidden="true">{initials}</span>
    }
}

/// A message this page sent that is not in the thread yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub client_id: Uuid,
    pub text: String,
    /// A private note (agents only).
    pub note: bool,
    /// The seq it was stored as, once acknowledged (its event may come later).
    seq: Option<i64>,
}

/// The events a page has, in `seq` order, without duplicates, plus the AI
/// answer being streamed, if any, who else is typing, and what the page sent
/// that is not in the thread yet.
#[derive(Clone, Copy)]
pub struct ThreadState {
    pub events: RwSignal<Vec<ThreadEvent>>,
    pub outgoing: RwSignal<Vec<Outgoing>>,
    pub draft: RwSignal<Option<(Uuid, String)>>,
    /// The turn whose draft an event ended: its late pieces are ignored.
    ended_turn: RwSignal<Option<Uuid>>,
    pub typists: RwSignal<Vec<Typist>>,
    /// How far the visitor has read (known to the team only).
    pub visitor_seen: RwSignal<i64>,
    /// The visitor's message is stored and the AI has not said a word yet.
    pub ai_typing: RwSignal<bool>,
}

impl ThreadState {
    pub fn new(initial: Vec<ThreadEvent>) -> Self {
        Self {
            events: RwSignal::new(initial),
            outgoing: RwSignal::new(Vec::new()),
            draft: RwSignal::new(None),
            ended_turn: RwSignal::new(None),
            typists: RwSignal::new(Vec::new()),
            visitor_seen: RwSignal::new(0),
            ai_typing: RwSignal::new(false),
        }
    }

    /// A scroller that follows the thread: to its end whenever something
    /// arrives, is being written, typed or sent.
    pub fn follow(self, scroller: NodeRef<leptos::html::Div>) {
        Effect::new(move |_| {
            self.events.track();
            self.draft.track();
            self.typists.track();
            self.outgoing.track();
            crate::live::scroll_to_bottom(scroller);
        });
    }

    /// Adds an event unless it is already there; keeps `seq` order.
    pub fn apply(&self, event: ThreadEvent) {
        // An answer ends the draft; so does a person taking the conversation
        // (or resolving it). A handoff does not: the AI may go on answering
        // while the visitor waits, and a draft it drops is announced.
        let ends_draft = match &event.body {
            EventBody::AiAnswer { .. } => true,
            EventBody::StatusChange { status, .. } => matches!(
                status,
                ConversationStatus::Open | ConversationStatus::Resolved
            ),
            _ => false,
        };
        if matches!(
            event.body,
            EventBody::AiAnswer { .. }
                | EventBody::AiUnsure { .. }
                | EventBody::HumanReply { .. }
                | EventBody::StatusChange { .. }
        ) {
            self.ai_typing.set(false);
        }
        let seq = event.seq;
        self.outgoing.update(|o| o.retain(|m| m.seq != Some(seq)));
        if ends_draft {
            if let Some((turn_id, _)) = self.draft.get_untracked() {
                self.ended_turn.set(Some(turn_id));
            }
            self.draft.set(None);
        }
        self.events.update(|events| merge(events, event));
    }

    /// A piece of the AI's draft: `delta` goes at byte `offset`. Offset 0
    /// (re)starts the draft; a piece that does not continue the draft the
    /// page has is one it already has, and is ignored.
    pub fn append_token(&self, turn_id: Uuid, offset: usize, delta: &str) {
        if self.ended_turn.get_untracked() == Some(turn_id) {
            return;
        }
        self.ai_typing.set(false);
        self.draft.update(|draft| {
            *draft = next_draft(draft.take(), turn_id, offset, delta);
        });
    }

    /// The AI stopped writing without answering.
    pub fn drop_draft(&self, turn_id: Uuid) {
        self.ai_typing.set(false);
        if self
            .draft
            .with_untracked(|d| d.as_ref().is_some_and(|(id, _)| *id == turn_id))
        {
            self.draft.set(None);
        }
    }

    pub fn last_seq(&self) -> i64 {
        self.events
            .with_untracked(|events| events.last().map_or(0, |e| e.seq))
    }

    /// The page sent a message; it shows as "sending" until it is stored.
    pub fn sending(&self, client_id: Uuid, text: String, note: bool) {
        self.outgoing.update(|o| {
            o.push(Outgoing {
                client_id,
                text,
                note,
                seq: None,
            })
        });
    }

    /// A message of the visitor's was stored as `seq` while the AI has the
    /// conversation: the AI is "typing" until its first word (or a handoff),
    /// unless something already answered it.
    pub fn awaiting_ai(&self, client_id: Uuid, seq: Option<i64>) {
        let Some(seq) = seq else { return };
        let ours = self
            .outgoing
            .with_untracked(|o| o.iter().any(|m| m.client_id == client_id && !m.note));
        let answered = self.events.with_untracked(|events| {
            events.iter().any(|e| {
                e.seq > seq
                    && matches!(
                        e.body,
                        EventBody::AiAnswer { .. }
                            | EventBody::AiUnsure { .. }
                            | EventBody::HumanReply { .. }
                            | EventBody::StatusChange { .. }
                    )
            })
        });
        if ours
            && !answered
            && self.events.with_untracked(|e| current_status(e)) == ConversationStatus::Ai
        {
            self.ai_typing.set(true);
        }
    }

    /// The server acknowledged a message: stored as `seq` (its event may
    /// already be here, or come next), or nothing stored.
    pub fn acknowledged(&self, client_id: Uuid, seq: Option<i64>) {
        let here = seq.is_some_and(|seq| {
            self.events
                .with_untracked(|events| events.iter().any(|e| e.seq == seq))
        });
        self.outgoing.update(|o| {
            if here || seq.is_none() {
                o.retain(|m| m.client_id != client_id);
            } else if let Some(m) = o.iter_mut().find(|m| m.client_id == client_id) {
                m.seq = seq;
            }
        });
    }

    /// The server refused a message (the page says why).
    /// A message the server refused leaves the thread; its text is returned
    /// (to go back to the composer, so nothing typed is lost).
    pub fn refused(&self, client_id: Uuid) -> Option<String> {
        let mut text = None;
        self.outgoing.update(|o| {
            if let Some(at) = o.iter().position(|m| m.client_id == client_id) {
                text = Some(o.remove(at).text);
            }
        });
        text
    }

    /// A new connection: the server sends the draft whole and who is
    /// typing again, so what the page had of them goes.
    pub fn reconnected(&self) {
        self.draft.set(None);
        self.typists.set(Vec::new());
    }

    pub fn reset(&self) {
        self.events.set(Vec::new());
        self.draft.set(None);
        self.typists.set(Vec::new());
    }

    /// The status the thread's own status changes say it has.
    pub fn status(&self) -> ConversationStatus {
        self.events.with(|events| current_status(events))
    }
}

/// The draft after a piece at `offset` of turn `turn_id`.
fn next_draft(
    draft: Option<(Uuid, String)>,
    turn_id: Uuid,
    offset: usize,
    delta: &str,
) -> Option<(Uuid, String)> {
    match draft {
        _ if offset == 0 => Some((turn_id, delta.to_owned())),
        Some((id, mut text)) if id == turn_id && text.len() == offset => {
            text.push_str(delta);
            Some((id, text))
        }
        other => other,
    }
}

/// "Dana is typing…", "The visitor is typing…", or nothing.
pub fn typing_line(typists: &[Typist]) -> Option<String> {
    let names: Vec<String> = typists
        .iter()
        .map(|t| match t {
            Typist::Visitor => "The visitor".to_owned(),
            Typist::Agent { name, .. } => name.clone(),
        })
        .collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [init @ .., last] => Some(format!("{} and {last} are typing…", init.join(", "))),
    }
}

/// What a visitor sees while the team types: "Dana is typing…".
fn visitor_typing_line(typists: &[Typist]) -> Option<String> {
    let texts = visitor_texts();
    typists.iter().find_map(|t| match t {
        Typist::Agent { name, .. } => Some(texts.is_typing.replace("{name}", name)),
        Typist::Visitor => None,
    })
}

/// Thumbs up and down under an AI answer; the visitor's choice shows pressed.
#[component]
fn Thumbs(seq: i64, ratings: Ratings) -> impl IntoView {
    let texts = visitor_texts();
    let rated = move || ratings.rated.with(|r| r.get(&seq).copied());
    let button = move |helpful: bool| {
        let (label, path) = if helpful {
            (texts.helpful, "M7 10v9H4v-9h3zm2 9h7.5a2 2 0 0 0 2-1.6l1.2-6A2 2 0 0 0 17.7 9H13l.7-3.4a1.5 1.5 0 0 0-2.8-1L9 9.5V19z")
        } else {
            (texts.not_helpful, "M7 14V5H4v9h3zm2-9h7.5a2 2 0 0 1 2 1.6l1.2 6a2 2 0 0 1-2 2.4H13l.7 3.4a1.5 1.5 0 0 1-2.8 1L9 14.5V5z")
        };
        view! {
            <button type="button" class="thumb rounded-full p-1 text-slate-600 hover:bg-slate-200 hover:text-slate-800 aria-pressed:bg-[var(--brand)] aria-pressed:text-white"
                aria-label=label title=label
                aria-pressed=move || (rated() == Some(helpful)).to_string()
                on:click=move |_| ratings.rate.run((seq, helpful))>
                <svg aria-hidden="true" viewBox="0 0 24 24" class="h-4 w-4" fill="currentColor"><path d=path/></svg>
            </button>
        }
    };
    view! {
        <div class="thumbs mt-1 flex items-center gap-1" role="group" aria-label=texts.rate_prompt>
            {button(true)}
            {button(false)}
            {move || rated().is_some().then(|| view! {
                <span class="text-[11px] text-slate-600" role="status">{texts.thanks_feedback}</span>
            })}
        </div>
    }
}

/// Inserts `event` in `seq` order unless an event with its `seq` is present.
pub fn merge(events: &mut Vec<ThreadEvent>, event: ThreadEvent) {
    match events.binary_search_by_key(&event.seq, |e| e.seq) {
        Ok(_) => {}
        Err(at) => events.insert(at, event),
    }
}

pub fn current_status(events: &[ThreadEvent]) -> ConversationStatus {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.body {
            EventBody::StatusChange { status, .. } => Some(*status),
            _ => None,
        })
        .unwrap_or(ConversationStatus::Ai)
}

/// Why the conversation is with the team: the reason of the last handoff
/// that brought it there. A record made while it already waited (what the
/// AI, answering meanwhile, did not answer) does not replace it: the
/// agent, and the queue's row, see why it came.
pub fn handoff_reason(events: &[ThreadEvent]) -> Option<HandoffReason> {
    let mut status = ConversationStatus::Ai;
    let mut reason = None;
    for event in events {
        if let EventBody::StatusChange {
            status: next,
            reason: why,
            ..
        } = &event.body
        {
            if *next == ConversationStatus::WaitingHuman
                && status != ConversationStatus::WaitingHuman
            {
                reason = why.clone();
            }
            status = *next;
        }
    }
    reason
}

/// Who is looking at the thread.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Visitor,
    Agent,
}

fn render_inline(pieces: Vec<Inline>, citations: &[Citation]) -> Vec<AnyView> {
    pieces
        .into_iter()
        .map(|piece| match piece {
            Inline::Text(t) => t.into_any(),
            Inline::Strong(inner) => {
                view! { <strong>{render_inline(inner, citations)}</strong> }.into_any()
            }
            Inline::Em(inner) => view! { <em>{render_inline(inner, citations)}</em> }.into_any(),
            Inline::Code(code) => {
                view! { <code class="rounded bg-slate-200 px-1 text-[0.9em]">{code}</code> }
                    .into_any()
            }
            Inline::Link { text, url } => view! {
                <a class="underline" href=url target="_blank" rel="noopener noreferrer nofollow">{text}</a>
            }
            .into_any(),
            Inline::Cite(n) => match citations.iter().find(|c| c.number == n) {
                Some(c) => view! {
                    <a class="citation-ref text-[11px] align-super font-semibold text-amber-700 hover:underline"
                        href=c.url.clone() target="_blank" rel="noopener noreferrer"
                        title=c.heading_path.clone()>{format!("[{n}]")}</a>
                }
                .into_any(),
                None => format!("[{n}]").into_any(),
            },
        })
        .collect()
}

/// Answer or reply text as safe Markdown, `[n]` linked to its citation.
#[component]
fn MarkdownText(text: String, citations: Vec<Citation>) -> impl IntoView {
    let blocks = markdown::parse(&text)
        .into_iter()
        .map(|block| match block {
            Block::Paragraph(pieces) => {
                view! { <p class="break-words">{render_inline(pieces, &citations)}</p> }.into_any()
            }
            Block::Bullets(items) => view! {
                <ul class="ml-4 list-disc">
                    {items.into_iter().map(|i| view! { <li>{render_inline(i, &citations)}</li> }).collect::<Vec<_>>()}
                </ul>
            }
            .into_any(),
            Block::Numbered(items) => view! {
                <ol class="ml-4 list-decimal">
                    {items.into_iter().map(|i| view! { <li>{render_inline(i, &citations)}</li> }).collect::<Vec<_>>()}
                </ol>
            }
            .into_any(),
        })
        .collect::<Vec<_>>();
    view! { <div class="markdown flex flex-col gap-1">{blocks}</div> }
}

/// Why the AI answered or handed off, for agents: the trigger, the scores
/// against the threshold, the rules that held, the passages retrieved.
#[component]
fn DecisionDetails(decision: Decision) -> impl IntoView {
    let outcome = match &decision.handoff {
        Some(reason) => reason.describe(),
        None => "Answered".to_owned(),
    };
    let threshold = decision.threshold.map(|t| t.value());
    let scores = decision.signals.as_ref().map(|s| {
        format!(
            "confidence {:.2}{} · top passage {:.2} · best sentence {:.2} · coverage {:.2}",
            s.confidence,
            threshold
                .map(|t| format!(" (threshold {t:.2})"))
                .unwrap_or_default(),
            s.top_similarity,
            s.sentence_score,
            s.coverage
        )
    });
    let rules =
        (!decision.rules.is_empty()).then(|| view! { <p>"Rules: "{decision.rules.join(", ")}</p> });
    let retrieved = if decision.retrieved.is_empty() {
        view! { <p>"Nothing relevant found."</p> }.into_any()
    } else {
        view! {
            <ol class="ml-4 list-decimal">
                {decision.retrieved.iter().map(|p| view! {
                    <li>
                        <a class="hover:underline" href=p.url.clone() target="_blank" rel="noopener noreferrer">{p.heading_path.clone()}</a>
                        {format!(" · {:.2} · chunk {}", p.similarity, &p.chunk_id.to_string()[..8])}
                    </li>
                }).collect::<Vec<_>>()}
            </ol>
        }
        .into_any()
    };
    view! {
        <details class="decision mt-1 text-left text-[11px] text-slate-600">
            <summary class="cursor-pointer select-none">"Why: "{outcome}</summary>
            <div class="mt-1 flex flex-col gap-1 rounded bg-white p-2 ring-1 ring-slate-200">
                {scores.map(|s| view! { <p class="decision-scores">{s}</p> })}
                {rules}
                {retrieved}
            </div>
        </details>
    }
}

#[component]
pub fn Citations(citations: Vec<Citation>, viewer: Viewer) -> impl IntoView {
    let items = citations
        .into_iter()
        .map(|c| {
            let passage = (viewer == Viewer::Agent).then(|| {
                view! {
                    <details class="mt-1 text-xs text-slate-600">
                        <summary class="cursor-pointer select-none">"Passage"</summary>
                        <p class="mt-1 whitespace-pre-wrap rounded bg-white p-2 ring-1 ring-slate-200">{c.passage.clone()}</p>
                    </details>
                }
            });
            view! {
                <li class="citation">
                    <a class="inline-flex max-w-full items-center gap-1 rounded-full bg-white px-2 py-0.5 text-xs text-slate-700 ring-1 ring-slate-300 hover:ring-amber-500"
                        href=c.url.clone() target="_blank" rel="noopener noreferrer">
                        <span class="font-semibold text-amber-700">{c.number}</span>
                        <span class="truncate">{c.heading_path.clone()}</span>
                    </a>
                    {passage}
                </li>
            }
        })
        .collect::<Vec<_>>();
    view! { <ol class="citations mt-2 flex flex-col items-start gap-1" aria-label="Sources">{items}</ol> }
}

/// "14:05": in the visitor's own time zone in the widget (its thread is only
/// ever rendered in the browser), in UTC for agents (the inbox is rendered
/// on the server first, and hydration must find the same text).
fn clock(at: chrono::DateTime<chrono::Utc>, viewer: Viewer) -> String {
    #[cfg(feature = "hydrate")]
    if viewer == Viewer::Visitor {
        let local = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            at.timestamp_millis() as f64
        ));
        return format!("{:02}:{:02}", local.get_hours(), local.get_minutes());
    }
    let _ = viewer;
    at.format("%H:%M").to_string()
}

/// One stored event, as a chat bubble or a status line.
#[component]
pub fn EventItem(event: ThreadEvent, viewer: Viewer) -> impl IntoView {
    let time = clock(event.at, viewer);
    match event.body {
        EventBody::VisitorMessage { text } => {
            let mine = viewer == Viewer::Visitor;
            view! {
                <div class="flex" class:justify-end=mine data-kind="visitor_message">
                    <div class="max-w-[85%] rounded-2xl px-3 py-2 text-sm shadow-sm"
                        class=("bg-[var(--brand)]", mine) class=("text-white", mine)
                        class=("bg-white", !mine) class=("ring-1", !mine) class=("ring-slate-200", !mine)>
                        <p class="whitespace-pre-wrap break-words">{text}</p>
                        <p class="mt-1 text-[10px]">{if mine { visitor_texts().you } else { "Visitor" }}" · "{time}</p>
                    </div>
                </div>
            }
            .into_any()
        }
        EventBody::AiAnswer {
            text,
            citations,
            decision,
        } => {
            let confidence = (viewer == Viewer::Agent).then(|| {
                view! {
                    <span class="ml-1 rounded bg-slate-200 px-1 text-[10px] text-slate-700">
                        {format!("confidence {:.2}", decision.confidence.value())}
                    </span>
                }
            });
            let cites = (!citations.is_empty())
                .then(|| view! { <Citations citations=citations.clone() viewer=viewer/> });
            let label = match viewer {
                Viewer::Visitor => visitor_texts().ai_answer,
                Viewer::Agent => "AI answer",
            };
            let thumbs = (viewer == Viewer::Visitor)
                .then(use_context::<Ratings>)
                .flatten()
                .map(|ratings| view! { <Thumbs seq=event.seq ratings=ratings/> });
            view! {
                <div class="flex" data-kind="ai_answer">
                    <div class="ai-answer max-w-[85%] rounded-2xl bg-slate-100 px-3 py-2 text-sm text-slate-900 shadow-sm">
                        <p class="mb-1 text-[10px] font-semibold uppercase tracking-wide text-slate-600">
                            {label}" · "{time}{confidence}
                        </p>
                        <MarkdownText text=text citations=citations/>
                        {cites}
                        {thumbs}
                        {(viewer == Viewer::Agent).then(|| view! { <DecisionDetails decision=decision.clone()/> })}
                    </div>
                </div>
            }
            .into_any()
        }
        EventBody::HumanReply { text, agent_name } => {
            let mine = viewer == Viewer::Agent;
            let team = match viewer {
                Viewer::Visitor => visitor_texts().team,
                Viewer::Agent => "team",
            };
            let avatar = (!mine).then(|| view! { <Avatar name=agent_name.clone()/> });
            view! {
                <div class="flex items-end gap-1.5" class:justify-end=mine data-kind="human_reply">
                    {avatar}
                    <div class="human-reply max-w-[85%] rounded-2xl px-3 py-2 text-sm shadow-sm"
                        class=("bg-emerald-700", mine) class=("text-white", mine)
                        class=("bg-emerald-50", !mine) class=("ring-1", !mine) class=("ring-emerald-200", !mine)>
                        <p class="mb-1 text-[10px] font-semibold uppercase tracking-wide">{agent_name}" · "{team}" · "{time}</p>
                        <MarkdownText text=text citations=Vec::new()/>
                    </div>
                </div>
            }
            .into_any()
        }
        EventBody::EmailLeft { email } => {
            let line = match viewer {
                Viewer::Visitor => visitor_texts().email_left.replace("{email}", &email),
                Viewer::Agent => format!("The visitor left their email for follow-up: {email}"),
            };
            view! {
                <div class="status-line email-left my-1 text-center text-xs text-slate-600" data-kind="email_left" role="status">
                    <span class="inline-block rounded-full bg-sky-50 px-3 py-1 ring-1 ring-sky-200">{line}" · "{time}</span>
                </div>
            }
            .into_any()
        }
        EventBody::WaitNotice { minutes } => {
            let line = match viewer {
                Viewer::Visitor => visitor_texts().wait_notice.replace("{n}", &minutes.to_string()),
                Viewer::Agent => format!(
                    "Nobody took this within {minutes} min: the visitor was told and offered email follow-up"
                ),
            };
            view! {
                <div class="status-line wait-notice my-1 text-center text-xs text-slate-600" data-kind="wait_notice" role="status">
                    <span class="inline-block rounded-full bg-rose-50 px-3 py-1 ring-1 ring-rose-200">{line}" · "{time}</span>
                </div>
            }
            .into_any()
        }
        EventBody::AiUnsure { decision } => {
            let label = match viewer {
                Viewer::Visitor => visitor_texts().ai_label,
                Viewer::Agent => "AI unsure · offered the team",
            };
            let line = match viewer {
                Viewer::Visitor => visitor_texts().unsure_offer.to_owned(),
                Viewer::Agent => format!(
                    "The AI was unsure (confidence {:.2}): it said so and offered the team; the visitor may rephrase.",
                    decision.confidence.value()
                ),
            };
            view! {
                <div class="flex" data-kind="ai_unsure">
                    <div class="ai-unsure max-w-[85%] rounded-2xl bg-slate-100 px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-amber-200">
                        <p class="mb-1 text-[10px] font-semibold uppercase tracking-wide text-slate-600">{label}" · "{time}</p>
                        <p class="break-words">{line}</p>
                        {(viewer == Viewer::Visitor).then(use_context::<AskTeam>).flatten().map(|ask| view! {
                            <button type="button" class="ask-team mt-2 rounded-full bg-[var(--brand)] px-3 py-1 text-xs font-semibold text-white hover:opacity-90 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2"
                                on:click=move |_| ask.0.run(())>
                                {visitor_texts().talk_to_team}
                            </button>
                        })}
                        {(viewer == Viewer::Agent).then(|| view! { <DecisionDetails decision=decision.clone()/> })}
                    </div>
                </div>
            }
            .into_any()
        }
        EventBody::Assigned { by, agent, team } => {
            let to = match (agent, team) {
                (Some(agent), Some(team)) => format!("{agent} ({team})"),
                (Some(agent), None) => agent,
                (None, Some(team)) => format!("team {team}"),
                (None, None) => "nobody".to_owned(),
            };
            view! {
                <div class="status-line assigned my-1 text-center text-xs text-slate-600" data-kind="assigned" role="status">
                    <span class="inline-block rounded-full bg-slate-50 px-3 py-1 ring-1 ring-slate-200">{format!("{by} assigned this to {to}")}" · "{time}</span>
                </div>
            }
            .into_any()
        }
        EventBody::Note { text, agent_name } => view! {
            <div class="flex justify-end" data-kind="note">
                <div class="note max-w-[85%] rounded-2xl bg-yellow-50 px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-yellow-300">
                    <p class="mb-1 text-[10px] font-semibold uppercase tracking-wide text-yellow-800">"Private note · "{agent_name}" · "{time}</p>
                    <MarkdownText text=text citations=Vec::new()/>
                </div>
            </div>
        }
        .into_any(),
        EventBody::StatusChange {
            status,
            reason,
            agent_name,
            decision,
        } => {
            let details = decision
                .filter(|_| viewer == Viewer::Agent)
                .map(|d| view! { <DecisionDetails decision=d/> });
            let texts = visitor_texts();
            let line = match (viewer, status) {
                (Viewer::Visitor, ConversationStatus::WaitingHuman) => match reason {
                    Some(HandoffReason::LowConfidence { .. } | HandoffReason::NotGrounded | HandoffReason::GeneratorFailed { .. }) => texts.handoff_unsure.to_owned(),
                    Some(HandoffReason::Sensitive { .. } | HandoffReason::Rule { .. }) => texts.handoff_personal.to_owned(),
                    _ => texts.handoff_asked.to_owned(),
                },
                (Viewer::Visitor, ConversationStatus::Open) => {
                    texts.joined.replace("{name}", &agent_name.unwrap_or_else(|| texts.team.into()))
                }
                (Viewer::Visitor, ConversationStatus::Resolved) => texts.resolved.to_owned(),
                (Viewer::Visitor, ConversationStatus::Ai) => texts.ai_back.to_owned(),
                (Viewer::Agent, ConversationStatus::WaitingHuman) => match (&reason, &agent_name) {
                    // Put back in the queue (or given to the team) by a person.
                    (None, Some(name)) => format!("Waiting for a person · {name}"),
                    _ => format!(
                        "Escalated to the team: {}",
                        reason.as_ref().map(|r| r.describe()).unwrap_or_else(|| "no reason recorded".into())
                    ),
                },
                (Viewer::Agent, status) => format!(
                    "{}{}",
                    status.label(),
                    agent_name.map(|n| format!(" · {n}")).unwrap_or_default()
                ),
            };
            view! {
                <div class="status-line my-1 text-center text-xs text-slate-600" data-kind="status_change" role="status">
                    <span class="inline-block rounded-full bg-amber-50 px-3 py-1 ring-1 ring-amber-200">{line}" · "{time}</span>
                    {details}
                </div>
            }
            .into_any()
        }
    }
}

/// What follows the thread: the page's messages not stored yet, and who
/// else is typing.
#[component]
pub fn ThreadTail(state: ThreadState, viewer: Viewer) -> impl IntoView {
    let agent = viewer == Viewer::Agent;
    view! {
        <For each=move || state.outgoing.get() key=|m| m.client_id let(m)>
            <div class="mt-2 flex justify-end" data-kind="pending">
                <div class="max-w-[85%] rounded-2xl px-3 py-2 text-sm"
                    class=("bg-[var(--brand)]", !agent) class=("bg-emerald-700", agent && !m.note)
                    class=("text-white", !m.note)
                    class=("bg-yellow-50", m.note) class=("ring-1", m.note) class=("ring-yellow-300", m.note)>
                    <p class="whitespace-pre-wrap break-words">{m.text}</p>
                    <p class="mt-1 text-[10px]">{if agent { "Sending…" } else { visitor_texts().sending }}</p>
                </div>
            </div>
        </For>
        {move || (!agent && state.ai_typing.get() && state.draft.with(Option::is_none)).then(|| view! {
            <div class="mt-2 flex" data-kind="ai_typing">
                <p class="ai-typing rounded-2xl bg-slate-100 px-3 py-2 text-xs italic text-slate-600 shadow-sm" role="status">{visitor_texts().ai_typing}</p>
            </div>
        })}
        {move || state.typists.with(|t| if agent { typing_line(t) } else { visitor_typing_line(t) }).map(|line| view! {
            <p class="typing mt-2 text-xs italic text-slate-600" aria-live="polite">{line}</p>
        })}
    }
}

/// The whole thread plus the answer being streamed.
#[component]
pub fn ThreadView(state: ThreadState, viewer: Viewer) -> impl IntoView {
    view! {
        <div class="thread flex flex-col gap-2" aria-live="polite">
            <For each=move || state.events.get() key=|e| e.seq let(event)>
                <EventItem event=event viewer=viewer/>
            </For>
            {move || {
                state.draft.get().map(|(_, text)| view! {
                    <div class="flex" data-kind="ai_draft">
                        <div class="max-w-[85%] rounded-2xl bg-slate-100 px-3 py-2 text-sm text-slate-900 shadow-sm">
                            <p class="mb-1 text-[10px] font-semibold uppercase tracking-wide text-slate-600">
                                {match viewer {
                                    Viewer::Visitor => format!("{} · {}", visitor_texts().ai_answer, visitor_texts().writing),
                                    Viewer::Agent => "AI answer · writing…".to_owned(),
                                }}
                            </p>
                            <p class="whitespace-pre-wrap break-words">{text}</p>
                        </div>
                    </div>
                })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_shown_is_the_one_that_brought_it_to_the_team() {
        let change = |seq, status, reason| ThreadEvent {
            conversation_id: Uuid::nil(),
            seq,
            at: chrono::Utc::now(),
            body: EventBody::StatusChange {
                status,
                reason,
                agent_name: None,
                decision: None,
            },
        };
        let sensitive = HandoffReason::Sensitive {
            category: "wellbeing".into(),
            matched: "…".into(),
        };
        let events = vec![
            change(1, ConversationStatus::Resolved, None),
            change(
                2,
                ConversationStatus::WaitingHuman,
                Some(HandoffReason::Reopened),
            ),
            // What the AI, answering meanwhile, did not answer.
            change(3, ConversationStatus::WaitingHuman, Some(sensitive.clone())),
        ];
        assert_eq!(handoff_reason(&events), Some(HandoffReason::Reopened));
        let mut later = events.clone();
        later.push(change(4, ConversationStatus::Ai, None));
        later.push(change(
            5,
            ConversationStatus::WaitingHuman,
            Some(sensitive.clone()),
        ));
        assert_eq!(handoff_reason(&later), Some(sensitive));
    }

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let event = |seq| ThreadEvent {
            conversation_id: Uuid::nil(),
            seq,
            at: chrono::Utc::now(),
            body: EventBody::VisitorMessage {
                text: seq.to_string(),
            },
        };
        let mut events = Vec::new();
        for seq in [2, 1, 3, 2, 1] {
            merge(&mut events, event(seq));
        }
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_sent_message_waits_until_its_event_is_here_whichever_comes_first() {
        let owner = Owner::new();
        owner.set();
        let event = |seq| ThreadEvent {
            conversation_id: Uuid::nil(),
            seq,
            at: chrono::Utc::now(),
            body: EventBody::VisitorMessage { text: "hi".into() },
        };
        let state = ThreadState::new(Vec::new());
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for id in [a, b, c] {
            state.sending(id, "hi".into(), false);
        }
        // Acknowledged first, event next.
        state.acknowledged(a, Some(1));
        assert_eq!(state.outgoing.get_untracked().len(), 3);
        state.apply(event(1));
        // Event first (a resend of something stored), acknowledgement next.
        state.apply(event(2));
        state.acknowledged(b, Some(2));
        // Refused: the page says why elsewhere.
        state.refused(c);
        assert!(state.outgoing.get_untracked().is_empty());
    }

    #[test]
    fn drafts_grow_only_by_the_piece_that_continues_them() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let draft = next_draft(None, a, 0, "Refunds ");
        let draft = next_draft(draft, a, 8, "take");
        // A piece the page already has (sent again after a reconnect) changes nothing.
        let draft = next_draft(draft, a, 8, "take");
        assert_eq!(draft, Some((a, "Refunds take".to_owned())));
        // A piece past the end would leave a hole: ignored.
        assert_eq!(
            next_draft(draft.clone(), a, 20, "x"),
            Some((a, "Refunds take".to_owned()))
        );
        // Offset 0 restarts: the draft of a reconnect, or a new turn.
        assert_eq!(
            next_draft(draft, b, 0, "Ship"),
            Some((b, "Ship".to_owned()))
        );
        assert_eq!(next_draft(None, a, 3, "lost"), None);
    }

    #[test]
    fn typing_lines_name_who_types() {
        let dana = Typist::Agent {
            account_id: Uuid::nil(),
            name: "Dana".into(),
        };
        assert_eq!(typing_line(&[]), None);
        assert_eq!(
            typing_line(std::slice::from_ref(&dana)).unwrap(),
            "Dana is typing…"
        );
        assert_eq!(
            typing_line(&[Typist::Visitor, dana]).unwrap(),
            "The visitor and Dana are typing…"
        );
    }
}
