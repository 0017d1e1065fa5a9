//! The admins' knowledge page: the workspace's sources (websites, files,
//! answer snippets) with each ingest job's live progress and problems, the
//! forms that add them, and each source's indexed pages with their chunks.

mod api;

pub use api::*;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::me;
use crate::confirm::ConfirmDelete;
use crate::error::DeskError;
pub use crate::types::knowledge::{JobStatus, SourceKind};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job_id: Uuid,
    pub status: JobStatus,
    pub pages_found: i32,
    pub pages_done: i32,
    pub pages_changed: i32,
    pub pages_unchanged: i32,
    pub pages_skipped: i32,
    pub pages_failed: i32,
    pub chunks: i32,
    pub message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobView {
    pub fn active(&self) -> bool {
        self.status.active()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceView {
    pub source_id: Uuid,
    pub kind: SourceKind,
    pub title: String,
    pub url: String,
    pub recrawl_hours: Option<i32>,
    pub pages: i64,
    pub chunks: i64,
    /// The latest job.
    pub job: Option<JobView>,
}

/// A page of the latest job that was not indexed, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemIssue {
    pub url: String,
    /// failed, skipped or duplicate.
    pub state: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkView {
    pub heading_path: String,
    pub anchor: Option<String>,
    pub content: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    pub url: String,
    pub title: String,
    pub fetched_at: DateTime<Utc>,
    pub chunks: Vec<ChunkView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceDetail {
    pub source: SourceView,
    pub issues: Vec<ItemIssue>,
    pub pages: Vec<PageView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnippetView {
    pub snippet_id: Uuid,
    pub question: String,
    pub answer: String,
    pub url: String,
    pub updated_at: DateTime<Utc>,
}

/// A website to crawl, as the admin typed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewWebsite {
    pub url: String,
    /// One URL prefix per line.
    pub extra_prefixes: String,
    pub max_pages: String,
    pub max_depth: String,
    /// Hours between re-crawls; empty for on demand only.
    pub recrawl_hours: String,
}

/// A workspace's move to the current embedding model, while it lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reembedding {
    /// The model the workspace is moving to.
    pub model: String,
    /// Passages with a vector of that model.
    pub done: i64,
    pub total: i64,
}

/// A ticking counter that advances every `ms` while `active` is true
/// (only in the browser): what the page's resources refetch on.
pub(crate) fn use_poll(active: RwSignal<bool>, ms: u64) -> RwSignal<u64> {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if active.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_millis(ms),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

/// Only admins get the page; others are sent to sign in or to the inbox.
/// `section` names the page in the header ("knowledge", "policy").
#[component]
pub(crate) fn AdminOnly(section: &'static str, children: ChildrenFn) -> impl IntoView {
    let profile = Resource::new(|| (), |_| me());
    let logout = ServerAction::<crate::auth::Logout>::new();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match profile.await {
                    Ok(p) if p.role.is_admin() => view! {
                        <div class="flex min-h-dvh flex-col bg-slate-100 text-slate-900">
                            <header class="flex flex-wrap items-center justify-between gap-x-4 gap-y-1 bg-slate-900 px-4 py-2 text-white">
                                <div class="flex items-baseline gap-3">
                                    <A href="/inbox" attr:class="font-bold tracking-tight">"tandem"</A>
                                    <span class="text-sm text-slate-300">{p.workspace_name}" · "{section}</span>
                                </div>
                                <nav class="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm" aria-label="Sections">
                                    <A href="/inbox" attr:class="text-slate-300 hover:text-white">"Inbox"</A>
                                    <A href="/admin/start" attr:class=if section == "get started" { "text-white" } else { "text-slate-300 hover:text-white" }>"Get started"</A>
                                    <A href="/admin/team" attr:class=if section == "team" { "text-white" } else { "text-slate-300 hover:text-white" }>"Team"</A>
                                    <A href="/admin/knowledge" attr:class=if section == "knowledge" { "text-white" } else { "text-slate-300 hover:text-white" }>"Knowledge"</A>
                                    <A href="/admin/policy" attr:class=if section == "policy" { "text-white" } else { "text-slate-300 hover:text-white" }>"Handoff policy"</A>
                                    <A href="/admin/widget" attr:class=if section == "widget" { "text-white" } else { "text-slate-300 hover:text-white" }>"Widget"</A>
                                    <A href="/admin/review" attr:class=if section == "review" { "text-white" } else { "text-slate-300 hover:text-white" }>"Review"</A>
                                    <A href="/admin/dashboard" attr:class=if section == "dashboard" { "text-white" } else { "text-slate-300 hover:text-white" }>"Dashboard"</A>
                                    <A href="/admin/privacy" attr:class=if section == "privacy" { "text-white" } else { "text-slate-300 hover:text-white" }>"Privacy"</A>
                                    <A href="/account" attr:class="text-slate-300 hover:text-white" attr:title="Your account: password, workspaces">{p.name}</A>
                                    <ActionForm action=logout>
                                        <button type="submit" class="rounded bg-slate-700 px-2 py-1 hover:bg-slate-600">"Sign out"</button>
                                    </ActionForm>
                                </nav>
                            </header>
                            {children.read_value()()}
                        </div>
                    }.into_any(),
                    Ok(_) => view! {
                        <main class="p-8">
                            <p role="alert" class="text-red-700">{DeskError::Forbidden.to_string()}</p>
                            <A href="/inbox" attr:class="text-amber-700 hover:underline">"Back to the inbox"</A>
                        </main>
                    }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p class="p-6 text-red-700" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn KnowledgePage() -> impl IntoView {
    view! { <AdminOnly section="knowledge"><Knowledge/></AdminOnly> }
}

#[component]
pub fn SourcePage() -> impl IntoView {
    view! { <AdminOnly section="knowledge"><SourceDetailView/></AdminOnly> }
}

pub(crate) const INPUT: &str = "w-full rounded border border-slate-300 bg-white px-3 py-2 text-sm focus:border-amber-500 focus:ring-2 focus:ring-amber-200";
pub(crate) const BUTTON: &str = "rounded bg-slate-900 px-3 py-2 text-sm font-semibold text-white hover:bg-slate-700 disabled:opacity-50";
pub(crate) const SMALL_BUTTON: &str =
    "rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium hover:bg-slate-50";

#[component]
fn Knowledge() -> impl IntoView {
    let active = RwSignal::new(false);
    let tick = use_poll(active, 1000);
    let add = ServerAction::<AddWebsite>::new();
    let recrawl = ServerAction::<RecrawlSource>::new();
    let cancel = ServerAction::<CancelSource>::new();
    let delete = ServerAction::<DeleteSource>::new();
    let add_snippet = ServerAction::<SaveSnippet>::new();
    let remove_snippet = ServerAction::<DeleteSnippet>::new();
    let sources = Resource::new(
        move || {
            (
                tick.get(),
                add.version().get(),
                recrawl.version().get(),
                cancel.version().get(),
                delete.version().get(),
                add_snippet.version().get(),
                remove_snippet.version().get(),
            )
        },
        |_| list_sources(),
    );
    let snippets = Resource::new(
        move || (add_snippet.version().get(), remove_snippet.version().get()),
        |_| list_snippets(),
    );
    let query = use_query_map();
    let notice = move || query.read().get("notice");
    let upload_error = move || query.read().get("error");
    let action_error = move || {
        [
            add.value().get().and_then(|r| r.err()),
            recrawl.value().get().and_then(|r| r.err()),
            cancel.value().get().and_then(|r| r.err()),
            delete.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    let snippet_error = move || {
        add_snippet
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    // A move to a new embedding model, polled while it lasts.
    let moving_active = RwSignal::new(true);
    let moving_tick = use_poll(moving_active, 3000);
    let moving = Resource::new(move || moving_tick.get(), |_| model_move());
    // Clear the snippet form once it is saved.
    let question = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = add_snippet.value().get() {
            question.set(String::new());
            answer.set(String::new());
        }
    });

    view! {
        <main class="mx-auto grid w-full max-w-6xl gap-6 p-4 lg:grid-cols-[1fr_22rem]">
            <section aria-labelledby="sources-title" class="flex flex-col gap-3">
                <h1 id="sources-title" class="text-xl font-semibold">"Knowledge sources"</h1>
                <p class="text-sm text-slate-600">"The AI answers only from these, and cites them. Websites are re-crawled on demand or on their schedule; only what changed is redone."</p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let state = moving.await.ok().flatten();
                        moving_active.set(state.is_some());
                        state.map(|m| {
                            let percent = (m.done * 100).checked_div(m.total).unwrap_or(100);
                            view! {
                                <div class="model-move rounded border border-sky-200 bg-sky-50 px-3 py-2 text-sm text-sky-900" role="status">
                                    <p>{format!("Moving your content to the multilingual model ({}): {} of {} passages re-embedded. The AI keeps answering from the previous vectors until every passage is done.", m.model, m.done, m.total)}</p>
                                    <div class="mt-1 h-1.5 w-full rounded bg-sky-100" role="progressbar" aria-label="Re-embedding" aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string()>
                                        <div class="h-1.5 rounded bg-sky-600" style=format!("width: {percent}%")></div>
                                    </div>
                                </div>
                            }
                        })
                    })}
                </Transition>
                {move || notice().map(|n| view! { <p role="status" class="rounded border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{n}</p> })}
                {move || upload_error().or_else(action_error).map(|e| view! { <p role="alert" class="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{e}</p> })}
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sources.await {
                            Ok(list) => {
                                active.set(list.iter().any(|s| s.job.as_ref().is_some_and(JobView::active)));
                                if list.is_empty() {
                                    view! { <p class="rounded border border-dashed border-slate-300 p-6 text-center text-sm text-slate-500">"No knowledge yet. Add a website, upload a file or write a snippet."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="flex flex-col gap-3" aria-label="Sources">
                                            {list.into_iter().map(|s| view! { <SourceCard source=s recrawl=recrawl cancel=cancel delete=delete/> }).collect::<Vec<_>>()}
                                        </ul>
                                    }.into_any()
                                }
                            }
                            Err(err) => view! { <p role="alert" class="text-sm text-red-700">{err.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>

                <h2 class="mt-4 text-lg font-semibold">"Answer snippets"</h2>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match snippets.await {
                            Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500">"No snippets yet. A snippet is a question and the answer you want the AI to give, indexed at once."</p> }.into_any(),
                            Ok(list) => view! {
                                <ul class="flex flex-col gap-2" aria-label="Snippets">
                                    {list.into_iter().map(|s| {
                                        let id = s.snippet_id;
                                        let question = format!("Delete the snippet “{}”?", s.question);
                                        view! {
                                            <li class="snippet rounded border border-slate-200 bg-white p-3">
                                                <div class="flex items-start justify-between gap-3">
                                                    <a class="font-medium text-slate-900 hover:underline" href=s.url target="_blank" rel="noopener">{s.question}</a>
                                                    <ConfirmDelete class=SMALL_BUTTON.to_owned()
                                                        question=question
                                                        on_confirm=Callback::new(move |()| { remove_snippet.dispatch(DeleteSnippet { id }); })/>
                                                </div>
                                                <p class="mt-1 whitespace-pre-wrap text-sm text-slate-700">{s.answer}</p>
                                            </li>
                                        }
                                    }).collect::<Vec<_>>()}
                                </ul>
                            }.into_any(),
                            Err(err) => view! { <p role="alert" class="text-sm text-red-700">{err.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>

            <aside class="flex flex-col gap-4">
                <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="add-website">
                    <h2 id="add-website" class="mb-2 font-semibold">"Add a website"</h2>
                    <ActionForm action=add attr:class="flex flex-col gap-2">
                        <label class="text-sm font-medium" for="website-url">"Start URL or sitemap"</label>
                        <input id="website-url" class=INPUT type="url" name="website[url]" required placeholder="https://help.example.com/ or …/sitemap.xml"/>
                        <details class="text-sm">
                            <summary class="cursor-pointer text-slate-600">"Limits and schedule"</summary>
                            <div class="mt-2 flex flex-col gap-2">
                                <label for="website-prefixes">"Also crawl URLs starting with (one per line)"</label>
                                <textarea id="website-prefixes" class=INPUT name="website[extra_prefixes]" rows="2"></textarea>
                                <div class="grid grid-cols-2 gap-2">
                                    <label>"Max pages"<input class=INPUT type="number" min="1" max="50000" name="website[max_pages]" value="5000"/></label>
                                    <label>"Max depth"<input class=INPUT type="number" min="0" max="50" name="website[max_depth]" value="10"/></label>
                                </div>
                                <label for="website-schedule">"Re-crawl"</label>
                                <select id="website-schedule" class=INPUT name="website[recrawl_hours]">
                                    <option value="">"On demand"</option>
                                    <option value="24" selected>"Daily"</option>
                                    <option value="168">"Weekly"</option>
                                </select>
                            </div>
                        </details>
                        <button class=BUTTON type="submit" disabled=move || add.pending().get()>"Crawl website"</button>
                    </ActionForm>
                </section>

                <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="upload-files">
                    <h2 id="upload-files" class="mb-2 font-semibold">"Upload files"</h2>
                    <form method="post" action="/admin/files" enctype="multipart/form-data" class="flex flex-col gap-2">
                        <label class="text-sm" for="file-input">"Markdown, HTML, plain text or PDF, up to 20 MB each"</label>
                        <input id="file-input" class="text-sm" type="file" name="file" multiple required accept=".md,.markdown,.html,.htm,.txt,.pdf,text/markdown,text/html,text/plain,application/pdf"/>
                        <button class=BUTTON type="submit">"Upload"</button>
                    </form>
                </section>

                <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="add-snippet">
                    <h2 id="add-snippet" class="mb-2 font-semibold">"Write an answer snippet"</h2>
                    <ActionForm action=add_snippet attr:class="flex flex-col gap-2">
                        <label class="text-sm font-medium" for="snippet-question">"Question"</label>
                        <input id="snippet-question" class=INPUT name="question" required maxlength="500"
                            prop:value=move || question.get() on:input=move |ev| question.set(event_target_value(&ev))/>
                        <label class="text-sm font-medium" for="snippet-answer">"Answer"</label>
                        <textarea id="snippet-answer" class=INPUT name="answer" rows="4" required maxlength="10000"
                            prop:value=move || answer.get() on:input=move |ev| answer.set(event_target_value(&ev))></textarea>
                        {move || snippet_error().map(|e| view! { <p role="alert" class="text-sm text-red-700">{e}</p> })}
                        <button class=BUTTON type="submit" disabled=move || add_snippet.pending().get()>"Save snippet"</button>
                    </ActionForm>
                </section>
            </aside>
        </main>
    }
}

/// "1 page", "3 pages".
fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn status_class(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Done => "bg-emerald-100 text-emerald-800",
        JobStatus::Failed => "bg-red-100 text-red-800",
        JobStatus::Cancelled => "bg-slate-200 text-slate-700",
        JobStatus::Queued | JobStatus::Running => "bg-amber-100 text-amber-800",
    }
}

#[component]
fn JobProgress(job: JobView) -> impl IntoView {
    let percent = if job.pages_found > 0 {
        (job.pages_done as f64 / job.pages_found as f64 * 100.0).round() as i32
    } else {
        0
    };
    let active = job.active();
    let summary = format!(
        "{} / {} pages · {} new or changed · {} unchanged · {} skipped · {} · {}",
        job.pages_done,
        job.pages_found,
        job.pages_changed,
        job.pages_unchanged,
        job.pages_skipped,
        count(job.pages_failed, "error", "errors"),
        count(job.chunks, "chunk embedded", "chunks embedded")
    );
    view! {
        <div class="flex flex-col gap-1">
            <div class="flex items-center gap-2 text-xs">
                <span class=format!("job-status rounded px-1.5 py-0.5 font-semibold {}", status_class(job.status))>{job.status.as_str()}</span>
                <span class="job-summary text-slate-600">{summary}</span>
            </div>
            {active.then(|| view! {
                <div class="h-2 w-full overflow-hidden rounded bg-slate-200" role="progressbar"
                    aria-valuemin="0" aria-valuemax=job.pages_found aria-valuenow=job.pages_done aria-label="Pages done">
                    <div class="h-full bg-amber-500 transition-all" style=format!("width: {percent}%")></div>
                </div>
            })}
            {job.message.map(|m| view! { <p class="text-xs text-red-700">{m}</p> })}
        </div>
    }
}

#[component]
fn SourceCard(
    source: SourceView,
    recrawl: ServerAction<RecrawlSource>,
    cancel: ServerAction<CancelSource>,
    delete: ServerAction<DeleteSource>,
) -> impl IntoView {
    let id = source.source_id;
    let active = source.job.as_ref().is_some_and(JobView::active);
    let schedule = match source.recrawl_hours {
        Some(24) => "re-crawled daily".to_owned(),
        Some(168) => "re-crawled weekly".to_owned(),
        Some(h) => format!("re-crawled every {h} h"),
        None if source.kind == SourceKind::Website => "re-crawled on demand".to_owned(),
        None => String::new(),
    };
    let is_snippets = source.kind == SourceKind::Snippets;
    let question = format!("Delete “{}”?", source.title);
    let detail = format!(
        "Its {} and {} leave the knowledge; answers stop citing it.",
        count(source.pages, "page", "pages"),
        count(source.chunks, "chunk", "chunks")
    );
    view! {
        <li class="source rounded-lg border border-slate-200 bg-white p-4">
            <div class="flex items-start justify-between gap-3">
                <div class="min-w-0">
                    <div class="flex items-center gap-2">
                        <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs font-medium text-slate-600">{source.kind.label()}</span>
                        <A href=format!("/admin/knowledge/{id}") attr:class="source-title truncate font-medium hover:underline">{source.title.clone()}</A>
                    </div>
                    {(!is_snippets).then(|| view! {
                        <p class="truncate text-xs text-slate-500"><a href=source.url.clone() target="_blank" rel="noopener" class="hover:underline">{source.url.clone()}</a></p>
                    })}
                    <p class="source-counts text-xs text-slate-600">{format!("{} · {}", count(source.pages, "page", "pages"), count(source.chunks, "chunk", "chunks"))}{(!schedule.is_empty()).then(|| format!(" · {schedule}"))}</p>
                </div>
                <div class="flex shrink-0 gap-1">
                    {(!is_snippets && !active).then(|| view! {
                        <button class=SMALL_BUTTON on:click=move |_| { recrawl.dispatch(RecrawlSource { id }); }>
                            {if source.kind == SourceKind::Website { "Re-crawl" } else { "Re-index" }}
                        </button>
                    })}
                    {active.then(|| view! {
                        <button class=SMALL_BUTTON on:click=move |_| { cancel.dispatch(CancelSource { id }); }>"Cancel"</button>
                    })}
                    {(!is_snippets).then(|| view! {
                        <ConfirmDelete class=format!("{SMALL_BUTTON} text-red-700")
                            question=question
                            detail=detail
                            on_confirm=Callback::new(move |()| { delete.dispatch(DeleteSource { id }); })/>
                    })}
                </div>
            </div>
            {source.job.map(|job| view! { <div class="mt-2"><JobProgress job=job/></div> })}
        </li>
    }
}

#[component]
fn SourceDetailView() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let active = RwSignal::new(false);
    let tick = use_poll(active, 1500);
    let detail = Resource::new(
        move || (id(), tick.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_source(id).await,
                None => Err(DeskError::Invalid("That source does not exist.".into())),
            }
        },
    );
    view! {
        <main class="mx-auto flex w-full max-w-5xl flex-col gap-4 p-4">
            <A href="/admin/knowledge" attr:class="text-sm text-amber-700 hover:underline">"← All sources"</A>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => {
                            active.set(d.source.job.as_ref().is_some_and(JobView::active));
                            let issues = d.issues;
                            let pages = d.pages;
                            view! {
                                <section class="rounded-lg border border-slate-200 bg-white p-4">
                                    <h1 class="text-xl font-semibold">{d.source.title.clone()}</h1>
                                    <p class="text-sm text-slate-500"><a class="hover:underline" href=d.source.url.clone() target="_blank" rel="noopener">{d.source.url.clone()}</a></p>
                                    <p class="mt-1 text-sm">{format!("{} · {}", count(d.source.pages, "page", "pages"), count(d.source.chunks, "chunk", "chunks"))}</p>
                                    {d.source.job.map(|job| view! { <div class="mt-2"><JobProgress job=job/></div> })}
                                </section>
                                {(!issues.is_empty()).then(|| view! {
                                    <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="issues-title">
                                        <h2 id="issues-title" class="mb-2 font-semibold">"Not indexed in the last run"</h2>
                                        <ul class="issues flex flex-col gap-1 text-sm">
                                            {issues.into_iter().map(|i| {
                                                let tone = if i.state == "failed" { "bg-red-100 text-red-800" } else { "bg-slate-100 text-slate-700" };
                                                view! {
                                                <li class="flex gap-2">
                                                    <span class=format!("w-20 shrink-0 rounded px-1.5 text-center text-xs leading-5 {tone}")>{i.state}</span>
                                                    <span class="min-w-0 break-all"><span class="font-mono text-xs">{i.url}</span>" — "{i.detail}</span>
                                                </li>
                                            }}).collect::<Vec<_>>()}
                                        </ul>
                                    </section>
                                })}
                                <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="pages-title">
                                    <h2 id="pages-title" class="mb-2 font-semibold">"Indexed pages"</h2>
                                    <ul class="pages flex flex-col divide-y divide-slate-100">
                                        {pages.into_iter().map(|p| {
                                            let count_chunks = p.chunks.len();
                                            view! {
                                                <li class="py-2">
                                                    <details>
                                                        <summary class="cursor-pointer">
                                                            <span class="font-medium">{p.title}</span>
                                                            <span class="ml-2 text-xs text-slate-500">{count(count_chunks as i64, "chunk", "chunks")}</span>
                                                            <span class="block truncate text-xs text-slate-500">{p.url.clone()}</span>
                                                        </summary>
                                                        <ol class="mt-2 flex flex-col gap-2">
                                                            {p.chunks.into_iter().map(|c| {
                                                                let link = match &c.anchor {
                                                                    Some(a) => format!("{}#{a}", p.url),
                                                                    None => p.url.clone(),
                                                                };
                                                                view! {
                                                                    <li class="chunk rounded bg-slate-50 p-2 text-sm">
                                                                        <a class="text-xs font-semibold text-amber-800 hover:underline" href=link target="_blank" rel="noopener">{c.heading_path}</a>
                                                                        <p class="mt-1 whitespace-pre-wrap text-slate-700">{c.content}</p>
                                                                    </li>
                                                                }
                                                            }).collect::<Vec<_>>()}
                                                        </ol>
                                                    </details>
                                                </li>
                                            }
                                        }).collect::<Vec<_>>()}
                                    </ul>
                                </section>
                            }.into_any()
                        }
                        Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(err) => view! { <p role="alert" class="text-red-700">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
