//! Signing in and out of the inbox.

mod api;

pub use api::*;

use leptos::prelude::*;
use leptos_router::components::A;

#[cfg(feature = "ssr")]
use crate::error::DeskError;

/// The address the request came from (sign-in throttling counts by it).
#[cfg(feature = "ssr")]
pub(crate) async fn client_address() -> Option<std::net::IpAddr> {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|info| info.0.ip())
}

/// Gives the browser its session (HttpOnly, for two weeks).
#[cfg(feature = "ssr")]
pub(crate) fn set_session_cookie(token: &str) -> Result<(), DeskError> {
    use axum::http::{header, HeaderValue};

    let https = crate::desk::desk::<dyn crate::desk::Sessions>()?.https();
    // Strict: no other site's page, nor a link from one, brings the
    // session along (a link's first request is reloaded from here; see the
    // server's private-page headers).
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        crate::desk::session_cookie_name(https),
        60 * 60 * 24 * 14,
        if https { "; Secure" } else { "" }
    );
    let value = HeaderValue::from_str(&cookie).map_err(|_| DeskError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(header::SET_COOKIE, value);
    Ok(())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || {
        login
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <main class="flex min-h-dvh items-center justify-center bg-slate-100 p-4">
            <div class="w-full max-w-sm rounded-2xl bg-white p-8 shadow-lg ring-1 ring-slate-200">
                <A href="/" attr:class="text-sm font-bold tracking-tight text-slate-900">"tandem"</A>
                <h1 class="mt-4 text-2xl font-semibold text-slate-900">"Sign in to the inbox"</h1>
                <ActionForm action=login attr:class="mt-6 flex flex-col gap-4">
                    <label class="flex flex-col gap-1 text-sm font-medium text-slate-700">
                        "Email"
                        <input type="email" name="email" required autocomplete="username"
                            class="rounded-lg border border-slate-300 px-3 py-2 font-normal focus:border-amber-500"/>
                    </label>
                    <label class="flex flex-col gap-1 text-sm font-medium text-slate-700">
                        "Password"
                        <input type="password" name="password" required autocomplete="current-password"
                            class="rounded-lg border border-slate-300 px-3 py-2 font-normal focus:border-amber-500"/>
                    </label>
                    {move || error().map(|e| view! { <p class="text-sm text-red-700" role="alert">{e}</p> })}
                    <button type="submit" class="rounded-lg bg-slate-900 px-4 py-2 font-semibold text-white hover:bg-slate-700 disabled:opacity-60"
                        disabled=move || login.pending().get()>
                        "Sign in"
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
