//! Learning from escalations (admins): `/admin/review` lists what people
//! escalate, grouped into topics; `/admin/review/:key` opens a topic with
//! its conversations and the team's answers, and fixes it (a snippet from
//! an agent's reply, a re-crawl, "always a person") and re-tests it;
//! `/admin/dashboard` measures it all.

mod api;

pub use api::*;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::error::DeskError;
use crate::knowledge::{AdminOnly, BUTTON, INPUT, SMALL_BUTTON};
use crate::types::review::{
    duration, window, Dashboard, EscalationView, FixEffect, FixView, PassageScore, Retest,
    ReviewOverview, TopicDetail, TopicSummary, Verdict, RELEVANT, WINDOWS,
};

/// The window in the page's `?days=`.
fn days_param() -> Memo<u32> {
    let query = use_query_map();
    Memo::new(move |_| {
        window(query.with(|q| q.get("days").and_then(|d| d.parse().ok()).unwrap_or(30)))
    })
}

#[component]
fn WindowPicker(days: Memo<u32>, base: &'static str) -> impl IntoView {
    view! {
        <nav class="flex gap-1 text-sm" aria-label="Period">
            {WINDOWS.into_iter().map(|d| view! {
                <A href=format!("{base}?days={d}")
                    attr:class=move || if days.get() == d { "rounded bg-slate-900 px-2 py-1 text-white" } else { "rounded px-2 py-1 text-slate-700 hover:bg-slate-200" }
                    attr:aria-current=move || (days.get() == d).then_some("page")>
                    {format!("{d} days")}
                </A>
            }).collect::<Vec<_>>()}
        </nav>
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A topic's escalations per week, as small bars.
#[component]
fn Trend(weeks: Vec<u32>) -> impl IntoView {
    let max = weeks.iter().copied().max().unwrap_or(0).max(1);
    let label = format!(
        "Escalations per week, oldest first: {}",
        weeks
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    view! {
        <div class="trend flex h-8 items-end gap-0.5" role="img" aria-label=label.clone() title=label>
            {weeks.into_iter().map(|n| {
                let h = 4 + 28 * n / max;
                view! { <span class="w-2 rounded-sm bg-amber-500" style=format!("height: {h}px")></span> }
            }).collect::<Vec<_>>()}
        </div>
    }
}

#[component]
fn Passages(
    passages: Vec<PassageScore>,
    nothing_found: bool,
    best_similarity: Option<f32>,
) -> impl IntoView {
    let why = best_similarity.map_or_else(
        || "no passage at all".to_owned(),
        |b| format!("best similarity {b:.2}"),
    );
    // What it says agrees with what it lists.
    let verdict = if passages.is_empty() {
        "Nothing found in the knowledge."
    } else {
        "The closest passages, listed below, were not close enough for the AI to answer from."
    };
    view! {
        {nothing_found.then(|| view! {
            <p class="nothing-found text-sm font-medium text-red-700" title=format!("{why}; {RELEVANT:.2} counts as relevant")>{verdict}</p>
        })}
        <ul class="passages flex flex-col gap-0.5 text-sm">
            {passages.into_iter().map(|p| {
                let place = if p.heading_path.is_empty() {
                    p.title.clone()
                } else if p.heading_path.starts_with(&p.title) {
                    p.heading_path.clone()
                } else {
                    format!("{} › {}", p.title, p.heading_path)
                };
                view! {
                    <li class="flex gap-2">
                        <span class="w-12 shrink-0 text-right font-mono text-xs leading-5 text-slate-500">{format!("{:.2}", p.score)}</span>
                        <a class="min-w-0 truncate text-slate-700 hover:underline" href=p.url target="_blank" rel="noopener">{place}</a>
                    </li>
                }
            }).collect::<Vec<_>>()}
        </ul>
    }
}

fn fix_line(effect: &FixEffect) -> String {
    format!(
        "{} {} — handed off {} before, {} since",
        effect.fix.describe(),
        effect.fix.at.format("%Y-%m-%d"),
        effect.before.describe(),
        effect.after.describe()
    )
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    view! { <AdminOnly section="review"><Review/></AdminOnly> }
}

#[component]
fn Review() -> impl IntoView {
    let days = days_param();
    let overview = Resource::new(move || days.get(), load_review);
    view! {
        <main class="mx-auto flex w-full max-w-5xl flex-col gap-4 p-4">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h1 class="text-xl font-semibold">"What people escalate"</h1>
                <div class="flex items-center gap-3">
                    <WindowPicker days=days base="/admin/review"/>
                    <A href=move || format!("/admin/dashboard?days={}", days.get()) attr:class="text-sm text-amber-700 hover:underline">"Dashboard"</A>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Grouping escalations…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => overview_view(o).into_any(),
                        Err(err) => view! { <p role="alert" class="text-red-700">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

fn overview_view(o: ReviewOverview) -> impl IntoView {
    let days = o.days;
    let intro = format!(
        "{} in the last {} days, in {}. Questions that mean the same are one topic, named by its most typical question.",
        plural(o.escalations, "escalated question", "escalated questions"),
        o.days,
        plural(o.topics.len() as u32, "topic", "topics"),
    );
    view! {
        <p class="text-sm text-slate-600">{intro}</p>
        {o.topics.is_empty().then(|| view! {
            <p class="rounded-lg border border-slate-200 bg-white p-6 text-slate-600">"Nothing was escalated in this period."</p>
        })}
        <ol class="topics flex flex-col gap-3">
            {o.topics.into_iter().map(|t| view! { <TopicCard topic=t days=days/> }).collect::<Vec<_>>()}
        </ol>
    }
}

#[component]
fn TopicCard(topic: TopicSummary, days: u32) -> impl IntoView {
    let counts = format!(
        "{} · {}",
        plural(topic.escalations, "escalation", "escalations"),
        plural(topic.conversations, "conversation", "conversations")
    );
    view! {
        <li class="topic rounded-lg border border-slate-200 bg-white p-4">
            <div class="flex items-start justify-between gap-4">
                <div class="min-w-0">
                    <A href=format!("/admin/review/{}?days={days}", topic.key) attr:class="topic-name font-semibold text-slate-900 hover:underline">
                        {format!("\u{201c}{}\u{201d}", topic.name)}
                    </A>
                    <p class="text-sm text-slate-600">{counts}</p>
                    <Reasons reasons=topic.reasons.clone()/>
                </div>
                <Trend weeks=topic.trend.clone()/>
            </div>
            <div class="mt-2">
                <Passages passages=topic.passages.clone() nothing_found=topic.nothing_found best_similarity=topic.best_similarity/>
            </div>
            {topic.last_fix.as_ref().map(|f| view! { <p class="last-fix mt-2 text-sm text-green-800">{fix_line(f)}</p> })}
        </li>
    }
}

#[component]
fn Reasons(reasons: Vec<(crate::types::review::ReasonKind, u32)>) -> impl IntoView {
    view! {
        <ul class="reasons mt-1 flex flex-wrap gap-1">
            {reasons.into_iter().map(|(kind, n)| view! {
                <li class="rounded bg-slate-100 px-1.5 text-xs leading-5 text-slate-700">{format!("{} {n}", kind.label())}</li>
            }).collect::<Vec<_>>()}
        </ul>
    }
}

#[component]
pub fn TopicPage() -> impl IntoView {
    view! { <AdminOnly section="review"><Topic/></AdminOnly> }
}

#[component]
fn Topic() -> impl IntoView {
    let params = use_params_map();
    let days = days_param();
    let key =
        Memo::new(move |_| params.with(|p| p.get("key").and_then(|k| k.parse::<Uuid>().ok())));
    let detail = Resource::new(
        move || (key.get(), days.get()),
        |(key, days)| async move {
            match key {
                Some(key) => load_topic(key, days).await,
                None => Err(DeskError::Invalid("That topic does not exist.".into())),
            }
        },
    );
    view! {
        <main class="mx-auto flex w-full max-w-5xl flex-col gap-4 p-4">
            <A href=move || format!("/admin/review?days={}", days.get()) attr:class="text-sm text-amber-700 hover:underline">"← All topics"</A>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match (detail.await, key.get_untracked()) {
                        (Ok(d), Some(key)) => view! { <TopicView detail=d key=key days=days.get_untracked()/> }.into_any(),
                        (Err(err), _) => view! { <p role="alert" class="text-red-700">{err.to_string()}</p> }.into_any(),
                        (Ok(_), None) => view! { <p role="alert" class="text-red-700">"That topic does not exist."</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The first reply an agent wrote to one of the topic's questions: what a
/// snippet starts from.
fn first_reply(escalations: &[EscalationView]) -> String {
    escalations
        .iter()
        .flat_map(|e| e.replies.first())
        .next()
        .map(|r| r.text.clone())
        .unwrap_or_default()
}

#[component]
fn TopicView(detail: TopicDetail, key: Uuid, days: u32) -> impl IntoView {
    let summary = detail.summary;
    let question = RwSignal::new(summary.name.clone());
    let answer = RwSignal::new(first_reply(&detail.escalations));
    let write = ServerAction::<WriteTopicSnippet>::new();
    let rule = ServerAction::<MarkAlwaysAPerson>::new();
    let recrawl = ServerAction::<RecrawlTopicSource>::new();
    let retest = ServerAction::<RetestTopic>::new();
    // Each fix joins the topic's history as it is saved (newest first).
    let fixes = RwSignal::new(detail.fixes.clone());
    for value in [write.value(), rule.value(), recrawl.value()] {
        Effect::new(move |_| {
            if let Some(Ok(fix)) = value.get() {
                fixes.update(|all| {
                    if !all.iter().any(|f| f.fix_id == fix.fix_id) {
                        all.insert(0, fix);
                    }
                });
            }
        });
    }
    // Each page the passages came from: (source, kind, page title, page URL).
    let mut sources: Vec<(Uuid, crate::types::knowledge::SourceKind, String, String)> = Vec::new();
    for p in summary
        .passages
        .iter()
        .chain(detail.escalations.iter().flat_map(|e| &e.passages))
    {
        let page = p.url.split('#').next().unwrap_or_default().to_owned();
        if let (Some(id), Some(kind)) = (p.source_id, p.source_kind) {
            if !sources.iter().any(|(_, _, _, u)| *u == page) {
                sources.push((id, kind, p.title.clone(), page));
            }
        }
    }
    let counts = format!(
        "{} · {} in the last {days} days",
        plural(summary.escalations, "escalation", "escalations"),
        plural(summary.conversations, "conversation", "conversations")
    );
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-4">
            <div class="flex items-start justify-between gap-4">
                <div class="min-w-0">
                    <h1 class="text-xl font-semibold">{format!("\u{201c}{}\u{201d}", summary.name)}</h1>
                    <p class="text-sm text-slate-600">{counts}</p>
                    <Reasons reasons=summary.reasons.clone()/>
                </div>
                <Trend weeks=summary.trend.clone()/>
            </div>
            <h2 class="mt-3 text-sm font-semibold text-slate-700">"What the knowledge offered for the typical question"</h2>
            <Passages passages=summary.passages.clone() nothing_found=summary.nothing_found best_similarity=summary.best_similarity/>
            {summary.last_fix.as_ref().map(|f| view! { <p class="last-fix mt-2 text-sm text-green-800">{fix_line(f)}</p> })}
        </section>

        <section class="fix rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="fix-title">
            <h2 id="fix-title" class="font-semibold">"Fix it"</h2>
            <div class="mt-2 grid gap-4 md:grid-cols-2">
                <form class="snippet-form flex flex-col gap-2" on:submit=move |ev| {
                    ev.prevent_default();
                    write.dispatch(WriteTopicSnippet { key, days, question: question.get_untracked(), answer: answer.get_untracked() });
                }>
                    <h3 class="text-sm font-semibold">"Write an answer snippet"</h3>
                    <label class="text-xs text-slate-600" for="snippet-question">"Question"</label>
                    <input id="snippet-question" class=INPUT prop:value=move || question.get() on:input=move |ev| question.set(event_target_value(&ev))/>
                    <label class="text-xs text-slate-600" for="snippet-answer">"Answer (from an agent's reply; edit it)"</label>
                    <textarea id="snippet-answer" rows="6" class=INPUT prop:value=move || answer.get() on:input=move |ev| answer.set(event_target_value(&ev))></textarea>
                    <div class="flex items-center gap-2">
                        <button type="submit" class=format!("{BUTTON} shrink-0 whitespace-nowrap") disabled=move || write.pending().get()>"Save snippet"</button>
                        {move || write.value().get().map(|r| match r {
                            Ok(_) => view! { <span class="text-sm text-green-800" role="status">"Snippet saved and indexed. Re-test to see the difference."</span> }.into_any(),
                            Err(e) => view! { <span class="text-sm text-red-700" role="alert">{e.to_string()}</span> }.into_any(),
                        })}
                    </div>
                </form>
                <div class="flex flex-col gap-3">
                    <div>
                        <h3 class="text-sm font-semibold">"Pages behind the passages"</h3>
                        <p class="text-sm text-slate-600">"Edit a page where it lives, then re-crawl its website here."</p>
                        {sources.is_empty().then(|| view! { <p class="text-sm text-slate-500">"No source was retrieved."</p> })}
                        <ul class="sources flex flex-col gap-1 text-sm">
                            {sources.into_iter().map(|(id, kind, title, page)| view! {
                                <li class="flex items-center gap-2">
                                    <a href=page target="_blank" rel="noopener" class="min-w-0 truncate hover:underline">{title}</a>
                                    <A href=format!("/admin/knowledge/{id}") attr:class="shrink-0 text-xs text-amber-700 hover:underline">"in Knowledge"</A>
                                    {(kind == crate::types::knowledge::SourceKind::Website).then(|| view! {
                                        <button class=format!("{SMALL_BUTTON} shrink-0") disabled=move || recrawl.pending().get()
                                            on:click=move |_| { recrawl.dispatch(RecrawlTopicSource { key, days, source_id: id }); }>"Re-crawl"</button>
                                    })}
                                </li>
                            }).collect::<Vec<_>>()}
                        </ul>
                        {move || recrawl.value().get().map(|r| match r {
                            Ok(_) => view! { <p class="text-sm text-green-800" role="status">"Re-crawl queued; its progress is on the knowledge page."</p> }.into_any(),
                            Err(e) => view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                        })}
                    </div>
                    <div>
                        <h3 class="text-sm font-semibold">"Always a person"</h3>
                        <p class="text-sm text-slate-600">"Adds an admin rule: questions that mean the same as this topic's go to the team."</p>
                        <button class=format!("{SMALL_BUTTON} mt-1") disabled=move || rule.pending().get()
                            on:click=move |_| { rule.dispatch(MarkAlwaysAPerson { key, days }); }>"Mark as always a person"</button>
                        {move || rule.value().get().map(|r| match r {
                            Ok(fix) => view! { <p class="text-sm text-green-800" role="status">"Rule \u{201c}"{fix.target}"\u{201d} added. "<A href="/admin/policy" attr:class="underline">"See the policy"</A></p> }.into_any(),
                            Err(e) => view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                        })}
                    </div>
                    <div>
                        <h3 class="text-sm font-semibold">"Re-test"</h3>
                        <p class="text-sm text-slate-600">"Runs the topic's questions through the AI again, with today's knowledge and policy. Nothing is sent to anyone."</p>
                        <button class=format!("{SMALL_BUTTON} mt-1") disabled=move || retest.pending().get()
                            on:click=move |_| { retest.dispatch(RetestTopic { key, days }); }>
                            {move || if retest.pending().get() { "Re-testing…" } else { "Re-test" }}
                        </button>
                    </div>
                </div>
            </div>
            {move || retest.value().get().map(|r| match r {
                Ok(r) => retest_view(r).into_any(),
                Err(e) => view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
            })}
            <Show when=move || fixes.with(|f| !f.is_empty())>
                <h3 class="mt-3 text-sm font-semibold">"Fixes made"</h3>
                <ul class="fixes text-sm text-slate-700">
                    <For each=move || fixes.get() key=|f| f.fix_id let:f>
                        <li>{fix_entry(&f)}</li>
                    </For>
                </ul>
            </Show>
        </section>

        <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="escalations-title">
            <h2 id="escalations-title" class="font-semibold">"Escalations and how the team answered"</h2>
            <ol class="escalations mt-2 flex flex-col divide-y divide-slate-100">
                {detail.escalations.into_iter().map(|e| view! { <EscalationItem escalation=e question=question answer=answer/> }).collect::<Vec<_>>()}
            </ol>
        </section>
    }
}

fn fix_entry(f: &FixView) -> String {
    format!(
        "{} — {}{}",
        f.at.format("%Y-%m-%d %H:%M UTC"),
        f.describe(),
        f.by.as_ref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default()
    )
}

#[component]
fn EscalationItem(
    escalation: EscalationView,
    question: RwSignal<String>,
    answer: RwSignal<String>,
) -> impl IntoView {
    let e = escalation;
    let this_question = e.question.clone();
    let this_reply = e.replies.first().map(|r| r.text.clone());
    let meta = format!(
        "{} · {}{}",
        e.at.format("%Y-%m-%d %H:%M UTC"),
        e.detail,
        confidence_note(&e.detail, e.confidence).unwrap_or_default()
    );
    view! {
        <li class="escalation flex flex-col gap-1 py-3">
            <div class="flex items-baseline justify-between gap-2">
                <p class="font-medium">{e.question.clone()}</p>
                <div class="flex shrink-0 items-center gap-2">
                    <button class=SMALL_BUTTON title="Fill the snippet form with this question and its first reply"
                        on:click=move |_| {
                            question.set(this_question.clone());
                            if let Some(reply) = &this_reply {
                                answer.set(reply.clone());
                            }
                            if let Some(form) = leptos::prelude::document().get_element_by_id("snippet-question") {
                                form.scroll_into_view();
                            }
                        }>"Snippet for this question"</button>
                    {e.conversation_id.map(|c| view! { <A href=format!("/inbox/{c}") attr:class="text-xs text-amber-700 hover:underline">"Open conversation"</A> })}
                </div>
            </div>
            <p class="text-xs text-slate-500">{meta}</p>
            <Passages passages=e.passages.clone() nothing_found=e.nothing_found best_similarity=e.best_similarity/>
            {e.replies.is_empty().then(|| view! { <p class="text-sm italic text-slate-500">"No reply from the team yet."</p> })}
            <ul class="replies flex flex-col gap-1">
                {e.replies.into_iter().map(|r| {
                    let text = r.text.clone();
                    view! {
                        <li class="reply rounded border-l-4 border-sky-300 bg-sky-50 px-3 py-2 text-sm">
                            <p class="text-xs font-semibold text-sky-900">{r.agent.unwrap_or_else(|| "The team".into())}</p>
                            <p class="whitespace-pre-wrap">{r.text}</p>
                            <button class=format!("{SMALL_BUTTON} mt-1") on:click=move |_| answer.set(text.clone())>"Use this reply for the snippet"</button>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
        </li>
    }
}

/// The confidence, unless the reason already gives it ("unsure: confidence …").
fn confidence_note(reason: &str, confidence: f32) -> Option<String> {
    (!reason.starts_with("unsure")).then(|| format!(" · confidence {confidence:.2}"))
}

fn verdict(v: Verdict) -> impl IntoView {
    let confidence = confidence_note(v.reason.as_deref().unwrap_or_default(), v.confidence);
    let (tone, what) = if v.answered {
        ("text-green-800", "answered".to_owned())
    } else {
        (
            "text-red-800",
            format!("handed off ({})", v.reason.unwrap_or_default()),
        )
    };
    view! {
        <span class=tone>{what}</span>
        <span class="text-xs text-slate-500">{confidence}</span>
        {(!v.citations.is_empty()).then(|| view! {
            <span class="citations block text-xs text-slate-600">{format!("cites {}", v.citations.join(", "))}</span>
        })}
    }
}

fn retest_view(r: Retest) -> impl IntoView {
    let total = r.rows.len() as u32;
    view! {
        <div class="retest mt-3">
            <p class="text-sm font-semibold" role="status">
                {format!("Answered by the AI: {} of {total} before → {} of {total} now.", r.answered_before, r.answered_after)}
            </p>
            <table class="mt-1 w-full text-left text-sm">
                <thead><tr class="text-xs text-slate-500"><th class="py-1 pr-2">"Question"</th><th class="py-1 pr-2">"Before"</th><th class="py-1">"Now"</th></tr></thead>
                <tbody>
                    {r.rows.into_iter().map(|row| view! {
                        <tr class="retest-row border-t border-slate-100 align-top">
                            <td class="py-1 pr-2">{row.question}</td>
                            <td class="before py-1 pr-2">{verdict(row.before)}</td>
                            <td class="after py-1">{verdict(row.after)}</td>
                        </tr>
                    }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! { <AdminOnly section="dashboard"><DashboardView/></AdminOnly> }
}

#[component]
fn Figure(label: &'static str, value: String, note: String) -> impl IntoView {
    view! {
        <div class="figure rounded-lg border border-slate-200 bg-white p-3">
            <p class="text-xs text-slate-500">{label}</p>
            <p class="text-2xl font-semibold">{value}</p>
            <p class="text-xs text-slate-500">{note}</p>
        </div>
    }
}

#[component]
fn DashboardView() -> impl IntoView {
    let days = days_param();
    let data = Resource::new(move || days.get(), load_dashboard);
    view! {
        <main class="mx-auto flex w-full max-w-5xl flex-col gap-4 p-4">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h1 class="text-xl font-semibold">"Dashboard"</h1>
                <div class="flex items-center gap-3">
                    <WindowPicker days=days base="/admin/dashboard"/>
                    <A href=move || format!("/admin/review?days={}", days.get()) attr:class="text-sm text-amber-700 hover:underline">"Topics"</A>
                    <a class="text-sm text-amber-700 hover:underline" rel="external" download
                        href=move || format!("/admin/export/conversations.csv?days={}", days.get())>"Export CSV"</a>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Measuring…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => dashboard_view(d).into_any(),
                        Err(err) => view! { <p role="alert" class="text-red-700">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

fn dashboard_view(d: Dashboard) -> impl IntoView {
    let resolved_note = format!(
        "of {} conversations whose 7 days have passed (started in the {} days before the last 7); {} counting this period's as they stand",
        d.ai_resolved.total,
        d.days,
        d.ai_resolved_so_far.share()
    );
    let reply = match (d.first_reply_median_secs, d.first_reply_p90_secs) {
        (Some(m), Some(p)) => (duration(m), format!("median; 90 % within {}", duration(p))),
        _ => ("—".to_owned(), "no handoff answered yet".to_owned()),
    };
    view! {
        <div class="figures grid grid-cols-2 gap-3 md:grid-cols-5">
            <Figure label="Conversations" value=d.conversations.to_string() note=format!("last {} days", d.days)/>
            <Figure label="AI-resolved" value=d.ai_resolved.share() note=resolved_note/>
            <Figure label="Handed off" value=d.handed_off.share() note=format!("{} of {} conversations", d.handed_off.count, d.handed_off.total)/>
            <Figure label="First human reply" value=reply.0 note=reply.1/>
            <Figure label="Ratings" value=format!("{} up · {} down", d.thumbs_up, d.thumbs_down) note="thumbs on AI answers".to_owned()/>
        </div>
        <p class="text-xs text-slate-600">
            "A conversation starts with the visitor's first message. AI-resolved: the AI answered, nobody from the team was needed, no answer was rated down, and the visitor did not come back (after 30 minutes of quiet, or to a resolved conversation) within 7 days. Conversations younger than 7 days are not counted in the rate yet."
        </p>
        <div class="charts grid gap-4 md:grid-cols-2">
            {d.charts.into_iter().map(|c| view! {
                <figure class="chart rounded-lg border border-slate-200 bg-white p-3">
                    <figcaption class="mb-1">
                        <h2 class="text-sm font-semibold">{c.title}</h2>
                        <p class="text-xs text-slate-500">{c.caption}</p>
                    </figcaption>
                    // Drawn by the server from numbers and escaped labels only.
                    <div inner_html=c.svg></div>
                </figure>
            }).collect::<Vec<_>>()}
        </div>
    }
}
