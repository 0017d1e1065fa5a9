//! A self-hoster's first hour: the first-run page (`/setup?code=…`) that
//! creates their workspace and its admin, the getting-started page
//! (`/admin/start`: training, the widget snippet, inviting the team, trying
//! it), and a further workspace from the account page.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::auth::{get_install_state, CompleteSetup, CreateWorkspace};
use crate::knowledge::{list_sources, AdminOnly, SourceView, BUTTON, INPUT};
use crate::team::InviteMember;
use crate::types::inbox::Invited;
use crate::types::setup::DAYS;
use crate::types::widget::Language;
use crate::widget::get_widget_admin;

const CARD: &str = "flex flex-col gap-3 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200";
const LABEL: &str = "flex flex-col gap-1 text-sm font-medium text-slate-700";
const HINT: &str = "text-xs font-normal text-slate-600";

/// Time zones offered while typing (any IANA name is accepted).
const ZONES: [&str; 24] = [
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Zurich",
    "Europe/Vienna",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// The browser's own time zone, once the page runs.
fn browser_time_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|zone| zone.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// The fields of a new workspace, named `workspace[…]` for the server
/// function's `workspace` argument.
#[component]
fn WorkspaceFields() -> impl IntoView {
    let zone = RwSignal::new("UTC".to_owned());
    Effect::new(move |_| {
        if let Some(browser) = browser_time_zone() {
            zone.set(browser);
        }
    });
    view! {
        <label class=LABEL>"Business name"
            <input name="workspace[name]" required maxlength="80" autocomplete="organization" class=INPUT
                placeholder="Lumen Lamps"/>
        </label>
        <label class=LABEL>"Your website or help centre"
            <input name="workspace[site_url]" type="url" class=INPUT placeholder="https://help.example.com/"/>
            <span class=HINT>"The AI learns from its pages (a start page or a sitemap). You can add files and more sites later, or leave this empty."</span>
        </label>
        <label class=LABEL>"Language of the chat widget"
            <select name="workspace[language]" class=INPUT>
                <option value="auto" selected>"The visitor's browser language"</option>
                {Language::ALL.into_iter().map(|l| view! { <option value=l.code()>{l.name()}</option> }).collect::<Vec<_>>()}
            </select>
        </label>
        <fieldset class="flex flex-col gap-3 rounded-lg border border-slate-200 p-3">
            <legend class="px-1 text-sm font-medium text-slate-700">"Support hours"</legend>
            <p class=HINT>"Outside them, visitors who ask for a person are told when the team is back."</p>
            <label class=LABEL>"Time zone"
                <input name="workspace[time_zone]" required list="time-zones" class=INPUT
                    prop:value=move || zone.get() on:input=move |ev| zone.set(event_target_value(&ev))/>
                <datalist id="time-zones">
                    {ZONES.into_iter().map(|z| view! { <option value=z></option> }).collect::<Vec<_>>()}
                </datalist>
            </label>
            <label class=LABEL>"Days"
                <select name="workspace[days]" class=INPUT>
                    {DAYS.into_iter().map(|(value, label)| view! {
                        <option value=value selected=value == "mon-fri">{label}</option>
                    }).collect::<Vec<_>>()}
                </select>
            </label>
            <div class="flex gap-3">
                <label class=LABEL>"Opens"
                    <input name="workspace[opens]" type="time" value="09:00" class=INPUT/>
                </label>
                <label class=LABEL>"Closes"
                    <input name="workspace[closes]" type="time" value="17:00" class=INPUT/>
                </label>
            </div>
        </fieldset>
    }
}

/// `/setup?code=…`: the first run.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let state = Resource::new(code, |code| get_install_state(Some(code)));
    let setup = ServerAction::<CompleteSetup>::new();
    let error = move || {
        setup
            .value()
            .get()
            .and_then(Result::err)
            // One problem per line: every one of them at once.
            .map(|e| view! { <p class="whitespace-pre-line rounded bg-red-50 p-2 text-sm text-red-800" role="alert">{e.to_string()}</p> })
    };
    view! {
        <main class="min-h-dvh bg-slate-100 px-4 py-8 text-slate-900">
            <div class="mx-auto flex max-w-xl flex-col gap-6">
                <p class="text-sm font-bold tracking-tight">"tandem"</p>
                <h1 class="text-2xl font-semibold">"Set up Tandem for your business"</h1>
                <Suspense fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match state.await {
                            Ok(s) if !s.setup_pending => view! {
                                <section class=CARD>
                                    <p>"This Tandem is set up. Sign in to reach your workspaces; an admin can add another workspace from their account page."</p>
                                    <A href="/login" attr:class="font-semibold text-amber-800 hover:underline">"Sign in →"</A>
                                </section>
                            }.into_any(),
                            Ok(s) if !s.code_valid => view! {
                                <section class=CARD>
                                    <p>"To set up this Tandem, open the setup link it printed when it started (it ends in "<code>"?code=…"</code>")."</p>
                                    <p class="text-sm text-slate-600">"On a server without a browser, run "<code>"tandem setup --help"</code>" instead."</p>
                                </section>
                            }.into_any(),
                            Ok(_) => view! {
                                <ActionForm action=setup attr:class="flex flex-col gap-6">
                                    <input type="hidden" name="code" prop:value=code/>
                                    <section class=CARD aria-labelledby="setup-business">
                                        <h2 id="setup-business" class="text-lg font-semibold">"1. Your business"</h2>
                                        <WorkspaceFields/>
                                    </section>
                                    <section class=CARD aria-labelledby="setup-admin">
                                        <h2 id="setup-admin" class="text-lg font-semibold">"2. Your admin account"</h2>
                                        <label class=LABEL>"Your name"
                                            <input name="admin[name]" required maxlength="80" autocomplete="name" class=INPUT/>
                                        </label>
                                        <label class=LABEL>"Email"
                                            <input name="admin[email]" type="email" required autocomplete="username" class=INPUT/>
                                        </label>
                                        <label class=LABEL>"Password (at least 10 characters)"
                                            <input name="admin[password]" type="password" required minlength="10" maxlength="200"
                                                autocomplete="new-password" class=INPUT/>
                                        </label>
                                    </section>
                                    {error}
                                    <button type="submit" class=BUTTON disabled=move || setup.pending().get()>
                                        {move || if setup.pending().get() { "Creating your workspace…" } else { "Create my workspace" }}
                                    </button>
                                </ActionForm>
                            }.into_any(),
                            Err(e) => view! { <p class="text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}

/// A website source's training, in words.
fn training(source: &SourceView) -> (bool, String) {
    match &source.job {
        Some(job) if job.active() => (
            false,
            format!(
                "Reading {} — {} of {} pages so far",
                source.url, job.pages_done, job.pages_found
            ),
        ),
        Some(job) if job.status == crate::types::knowledge::JobStatus::Failed => (
            false,
            format!(
                "{} could not be read: {}",
                source.url,
                job.message.as_deref().unwrap_or("see the knowledge page")
            ),
        ),
        _ => (
            source.chunks > 0,
            format!(
                "{}: {} pages, {} passages",
                if source.url.is_empty() {
                    &source.title
                } else {
                    &source.url
                },
                source.pages,
                source.chunks
            ),
        ),
    }
}

/// `/admin/start`: the steps from a new workspace to a team answering.
#[component]
pub fn StartPage() -> impl IntoView {
    view! { <AdminOnly section="get started"><Start/></AdminOnly> }
}

#[component]
fn Start() -> impl IntoView {
    let sources = Resource::new(|| (), |_| list_sources());
    let widget = Resource::new(|| (), |_| get_widget_admin());
    let invite = ServerAction::<InviteMember>::new();
    // Training is followed while it runs.
    let training_runs = RwSignal::new(false);
    Effect::new(move |_| {
        training_runs.set(sources.get().and_then(Result::ok).is_some_and(|list| {
            list.iter()
                .any(|s| s.job.as_ref().is_some_and(|j| j.active()))
        }));
    });
    let tick = crate::knowledge::use_poll(training_runs, 2000);
    Effect::new(move |_| {
        if tick.get() > 0 {
            sources.refetch();
        }
    });
    let origin = RwSignal::new("https://YOUR-TANDEM".to_owned());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(o) = leptos::prelude::window().location().origin() {
            origin.set(o);
        }
    });
    let copied = RwSignal::new(false);
    view! {
        <main class="mx-auto flex w-full max-w-3xl flex-col gap-6 p-4 sm:p-6">
            <h1 class="text-2xl font-semibold">"Get started"</h1>
            <section class=CARD aria-labelledby="start-train">
                <h2 id="start-train" class="text-lg font-semibold">"1. Train your AI"</h2>
                <Suspense fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                    {move || sources.get().map(|r| match r {
                        Ok(list) if list.iter().all(|s| s.kind == crate::types::knowledge::SourceKind::Snippets) => view! {
                            <p class="text-sm">"Nothing to learn from yet. Add your website or upload documents:"</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="flex flex-col gap-1 text-sm" data-testid="training">
                                {list.into_iter().filter(|s| s.kind != crate::types::knowledge::SourceKind::Snippets).map(|s| {
                                    let (ready, text) = training(&s);
                                    view! {
                                        <li class=if ready { "text-emerald-800" } else { "text-slate-700" }>
                                            {if ready { "✓ " } else { "… " }}{text}
                                        </li>
                                    }
                                }).collect::<Vec<_>>()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
                <A href="/admin/knowledge" attr:class="text-sm font-semibold text-amber-800 hover:underline">"Knowledge: add sites, files and snippets →"</A>
            </section>
            <section class=CARD aria-labelledby="start-widget">
                <h2 id="start-widget" class="text-lg font-semibold">"2. Put the chat on your site"</h2>
                <p class="text-sm">"Paste this before "<code>"</body>"</code>" on every page where visitors should find help:"</p>
                <Suspense fallback=|| ()>
                    {move || widget.get().map(|r| match r {
                        Ok(w) => {
                            let snippet = move || format!(
                                "<script src=\"{}/widget.js\" data-workspace=\"{}\" async></script>",
                                origin.get(),
                                w.workspace_slug
                            );
                            view! {
                                <pre tabindex="0" class="overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-testid="snippet"><code>{snippet.clone()}</code></pre>
                                <button type="button" class=BUTTON on:click=move |_| {
                                    crate::setup::copy_to_clipboard(snippet(), move |ok| copied.set(ok));
                                }>{move || if copied.get() { "Copied" } else { "Copy the snippet" }}</button>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
                <A href="/admin/widget" attr:class="text-sm font-semibold text-amber-800 hover:underline">"Widget: colour, greeting, allowed sites, signed-in users →"</A>
            </section>
            <section class=CARD aria-labelledby="start-team">
                <h2 id="start-team" class="text-lg font-semibold">"3. Invite your team"</h2>
                <p class="text-sm">"Agents answer handed-off conversations in the inbox; admins also change these settings."</p>
                <ActionForm action=invite attr:class="flex flex-wrap items-end gap-2">
                    <label class=LABEL>"Email"
                        <input name="email" type="email" required class=INPUT/>
                    </label>
                    <label class=LABEL>"Role"
                        <select name="role" class=INPUT>
                            <option value="agent" selected>"Agent"</option>
                            <option value="admin">"Admin"</option>
                        </select>
                    </label>
                    <button type="submit" class=BUTTON disabled=move || invite.pending().get()>"Invite"</button>
                </ActionForm>
                {move || invite.value().get().map(|r| match r {
                    Ok(Invited::Link(path)) => view! {
                        <p class="text-sm" role="status">"Send them this link (valid 7 days, once): "
                            <code class="break-all">{format!("{}{path}", origin.get())}</code></p>
                    }.into_any(),
                    Ok(Invited::Emailed(to)) => view! {
                        <p class="text-sm" role="status">"Invitation emailed to "{to}"."</p>
                    }.into_any(),
                    Err(e) => view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                })}
                <A href="/admin/team" attr:class="text-sm font-semibold text-amber-800 hover:underline">"Team: roles, teams, canned replies →"</A>
            </section>
            <section class=CARD aria-labelledby="start-next">
                <h2 id="start-next" class="text-lg font-semibold">"4. Then"</h2>
                <ul class="flex list-disc flex-col gap-1 pl-5 text-sm">
                    <li><A href="/admin/policy" attr:class="text-amber-800 underline">"Decide when the AI hands over to a person"</A></li>
                    <li><A href="/inbox" attr:class="text-amber-800 underline">"Open the inbox"</A>" — handed-off conversations arrive here, live"</li>
                    <li><A href="/admin/review" attr:class="text-amber-800 underline">"Review what the AI could not answer"</A>" and close the gaps"</li>
                </ul>
            </section>
        </main>
    }
}

/// The account page's form for one more workspace.
#[component]
pub fn NewWorkspaceForm() -> impl IntoView {
    let create = ServerAction::<CreateWorkspace>::new();
    let open = RwSignal::new(false);
    view! {
        <section class=CARD aria-labelledby="new-workspace">
            <h2 id="new-workspace" class="text-lg font-semibold">"Another business"</h2>
            <p class="text-sm text-slate-700">"A workspace of its own: its knowledge, widget, policy and team, separate from the others. You are its admin."</p>
            {move || if open.get() {
                view! {
                    <ActionForm action=create attr:class="flex flex-col gap-3">
                        <WorkspaceFields/>
                        {move || create.value().get().and_then(Result::err).map(|e| view! {
                            <p class="whitespace-pre-line text-sm text-red-700" role="alert">{e.to_string()}</p>
                        })}
                        <button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create the workspace"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <button type="button" class=BUTTON on:click=move |_| open.set(true)>"Create a workspace"</button>
                }.into_any()
            }}
        </section>
    }
}
