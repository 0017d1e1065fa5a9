//! Tandem's UI and the types it shares with the server: the visitor's chat
//! widget, the agents' inbox, and thin server functions over the server's
//! engines (each feature declares what it needs in its `api.rs`; see [`desk`]).

// The policy editor's nested views exceed the default type-normalisation depth.
#![recursion_limit = "256"]

pub mod account;
pub mod auth;
pub mod confirm;
#[cfg(feature = "ssr")]
pub mod desk;
pub mod error;
pub mod inbox;
pub mod knowledge;
pub mod live;
pub mod markdown;
pub mod policy;
pub mod privacy;
pub mod review;
pub mod setup;
pub mod start;
pub mod team;
pub mod thread;
pub mod types;
pub mod widget;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes, A};
use leptos_router::path;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <ContentSecurityPolicy/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Sets the page's Content-Security-Policy header while it is rendered on
/// the server: scripts only from this origin or inline with this response's
/// nonce (Leptos's hydration and streaming scripts carry it), WebAssembly
/// compiled, sockets and requests to this origin only, nothing embedded.
/// Text that reaches a page is escaped; this is the second line.
#[component]
fn ContentSecurityPolicy() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use axum::http::{header, request::Parts, HeaderValue};
        let host = use_context::<Parts>().and_then(|parts| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                })
                .map(str::to_owned)
        });
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) {
            if let Ok(value) =
                HeaderValue::from_str(&content_security_policy(&nonce, host.as_deref()))
            {
                response.insert_header(header::CONTENT_SECURITY_POLICY, value);
            }
        }
    }
}

/// The policy of Tandem's own pages (see [`ContentSecurityPolicy`]).
pub fn content_security_policy(nonce: &str, host: Option<&str>) -> String {
    let sockets = host.map_or(String::new(), |h| format!(" ws://{h} wss://{h}"));
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// Until the chat's code runs, a message the visitor sends (the Send button,
/// or Enter in the message box) is held in the page instead of being lost
/// to a plain form submission: the form is marked `data-queued` and the chat
/// sends it once it runs (see `widget::typed_before_hydration`).
const HOLD_BEFORE_HYDRATION: &str = r#"(function () {
  var root = document.documentElement;
  function hold(event, form) {
    if (root.hasAttribute("data-hydrated")) return;
    event.preventDefault();
    if (form && form.id === "tandem-composer") form.setAttribute("data-queued", "");
  }
  document.addEventListener("submit", function (e) { hold(e, e.target); }, true);
  document.addEventListener("keydown", function (e) {
    var box = e.target;
    if (e.key === "Enter" && !e.shiftKey && box && box.id === "tandem-message") hold(e, box.form);
  }, true);
})();"#;

/// The chat frame's document (`/widget`). It hydrates with its own, smaller
/// bundle (`/pkg/widget.js`, built from `frontend` with the `widget`
/// feature), which holds the chat and nothing of the inbox or admin pages.
pub fn widget_shell(options: LeptosOptions) -> impl IntoView {
    let mut options = options;
    options.output_name = "widget".into();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>"Support chat"</title>
                <link rel="stylesheet" href="/pkg/tandem.css"/>
                <ContentSecurityPolicy/>
                <script nonce=leptos::nonce::use_nonce() inner_html=HOLD_BEFORE_HYDRATION></script>
                <HydrationScripts options/>
            </head>
            <body>
                <widget::WidgetApp/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="tandem" href="/pkg/tandem.css"/>
        <Title text="Tandem"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/login") view=auth::LoginPage/>
                <Route path=path!("/setup") view=start::SetupPage/>
                <Route path=path!("/admin/start") view=start::StartPage/>
                <Route path=path!("/account") view=account::AccountPage/>
                <Route path=path!("/invite/:token") view=account::InvitePage/>
                <Route path=path!("/admin/team") view=team::TeamPage/>
                <Route path=path!("/admin/knowledge") view=knowledge::KnowledgePage/>
                <Route path=path!("/admin/knowledge/:id") view=knowledge::SourcePage/>
                <Route path=path!("/admin/policy") view=policy::PolicyPage/>
                <Route path=path!("/admin/review") view=review::ReviewPage/>
                <Route path=path!("/admin/review/:key") view=review::TopicPage/>
                <Route path=path!("/admin/dashboard") view=review::DashboardPage/>
                <Route path=path!("/admin/privacy") view=privacy::PrivacyPage/>
                <Route path=path!("/admin/widget") view=setup::WidgetSetupPage/>
                <ParentRoute path=path!("/inbox") view=inbox::InboxLayout>
                    <Route path=path!("") view=inbox::NoConversation/>
                    <Route path=path!(":id") view=inbox::ConversationPane/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn Home() -> impl IntoView {
    let state = Resource::new(|| (), |_| auth::get_install_state(None));
    view! {
        <main class="mx-auto flex min-h-dvh max-w-2xl flex-col justify-center gap-6 p-8 text-slate-900">
            <h1 class="text-4xl font-bold tracking-tight">"tandem"</h1>
            <p class="text-lg text-slate-600">
                "AI-first customer support with a seamless human handoff. The AI answers visitors from your
                 content with cited sources, and hands the conversation to your team whenever it should not answer alone."
            </p>
            <Suspense fallback=|| ()>
                {move || state.get().map(|state| {
                    let state = state.ok();
                    let demo = state.as_ref().is_none_or(|s| s.demo);
                    let pending = state.as_ref().is_some_and(|s| s.setup_pending);
                    view! {
                        {pending.then(|| view! {
                            <p class="rounded-lg bg-amber-50 p-4 text-slate-800 ring-1 ring-amber-200" role="note">
                                "Set it up for your own business: open the setup link Tandem printed when it started (it ends in "
                                <code>"/setup?code=…"</code>"), or run "<code>"tandem setup"</code>" on the server."
                            </p>
                        })}
                        <ul class="flex flex-col gap-3">
                            {demo.then(|| view! {
                                <li><a class="font-semibold text-amber-800 hover:underline" href="/demo/">"Demo help centre with the chat widget →"</a></li>
                            })}
                            <li><A href="/inbox" attr:class="font-semibold text-amber-800 hover:underline">"Agent inbox →"</A></li>
                        </ul>
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="p-8">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <A href="/" attr:class="text-amber-700 hover:underline">"Back to Tandem"</A>
        </main>
    }
}
