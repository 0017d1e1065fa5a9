//! The signed-in agent's own account (`/account`: password, workspaces) and
//! accepting an invitation (`/invite/TOKEN`).

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_params_map;

use crate::auth::{
    get_invitation, my_workspaces, AcceptInvitation, ChangePassword, SwitchWorkspace,
};
use crate::error::DeskError;
use crate::knowledge::{BUTTON, INPUT};

const CARD: &str = "flex flex-col gap-3 rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200";
const LABEL: &str = "flex flex-col gap-1 text-sm font-medium text-slate-700";

#[component]
pub fn AccountPage() -> impl IntoView {
    let workspaces = Resource::new(|| (), |_| my_workspaces());
    let change = ServerAction::<ChangePassword>::new();
    let switch = ServerAction::<SwitchWorkspace>::new();
    let outcome = move || {
        change.value().get().map(|r| match r {
            Ok(()) => view! { <p class="text-sm text-emerald-700" role="status">"Password changed. Your other sessions were signed out."</p> }.into_any(),
            Err(e) => view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <main class="min-h-dvh bg-slate-100 p-6 text-slate-900">
            <div class="mx-auto flex max-w-lg flex-col gap-6">
                <A href="/inbox" attr:class="text-sm font-semibold text-amber-700 hover:underline">"← Back to the inbox"</A>
                <h1 class="text-2xl font-semibold">"Your account"</h1>
                <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match workspaces.await {
                            Ok(list) => {
                                // Only an admin (of the workspace they look at) may
                                // create another.
                                let admin = list.iter().any(|w| w.current && w.role.is_admin());
                                view! {
                                <section class=CARD aria-label="Workspaces">
                                    <h2 class="text-lg font-semibold">"Workspaces"</h2>
                                    <ul class="flex flex-col gap-2">
                                        {list.into_iter().map(|w| view! {
                                            <li class="flex items-center justify-between gap-2 text-sm">
                                                <span class="min-w-0 break-words">{w.name}" "<span class="text-slate-500">"("{w.role.as_str()}" · "<code class="text-xs">{w.slug}</code>")"</span></span>
                                                {if w.current {
                                                    view! { <span class="text-xs font-semibold text-emerald-700">"current"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=switch>
                                                            <input type="hidden" name="workspace_id" value=w.workspace_id.to_string()/>
                                                            <button type="submit" class="rounded bg-slate-100 px-2 py-1 text-xs font-semibold hover:bg-slate-200">"Switch"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}
                                            </li>
                                        }).collect::<Vec<_>>()}
                                    </ul>
                                </section>
                                {admin.then(|| view! { <crate::start::NewWorkspaceForm/> })}
                            }.into_any()
                            }
                            Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                            Err(e) => view! { <p class="text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <section class=CARD aria-label="Password">
                    <h2 class="text-lg font-semibold">"Change your password"</h2>
                    <ActionForm action=change attr:class="flex flex-col gap-3">
                        <label class=LABEL>"Current password"
                            <input type="password" name="current" required autocomplete="current-password" class=INPUT/>
                        </label>
                        <label class=LABEL>"New password (at least 10 characters)"
                            <input type="password" name="new" required minlength="10" maxlength="200" autocomplete="new-password" class=INPUT/>
                        </label>
                        {outcome}
                        <button type="submit" class=BUTTON disabled=move || change.pending().get()>"Change password"</button>
                    </ActionForm>
                </section>
            </div>
        </main>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invitation = Resource::new(token, get_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = move || {
        accept
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="text-sm text-red-700" role="alert">{e.to_string()}</p> })
    };
    view! {
        <main class="flex min-h-dvh items-center justify-center bg-slate-100 p-4">
            <div class="w-full max-w-sm rounded-2xl bg-white p-8 shadow-lg ring-1 ring-slate-200">
                <A href="/" attr:class="text-sm font-bold tracking-tight text-slate-900">"tandem"</A>
                <Suspense fallback=|| view! { <p class="mt-4 text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match invitation.await {
                            Ok(invite) => view! {
                                <h1 class="mt-4 text-2xl font-semibold text-slate-900">"Join "{invite.workspace_name.clone()}</h1>
                                <p class="mt-1 text-sm text-slate-600">"You are invited to join as "{invite.role.with_article()}", as "<strong>{invite.email.clone()}</strong>"."</p>
                                <ActionForm action=accept attr:class="mt-6 flex flex-col gap-4">
                                    <input type="hidden" name="token" value=token()/>
                                    <label class=LABEL>"Your name (shown to visitors)"
                                        <input type="text" name="name" required maxlength="80" autocomplete="name" class=INPUT/>
                                    </label>
                                    <label class=LABEL>"Password (new here: choose one of at least 10 characters; already on Tandem with this email: your password)"
                                        <input type="password" name="password" required minlength="10" maxlength="200" autocomplete="new-password" class=INPUT/>
                                    </label>
                                    {error}
                                    <button type="submit" class=BUTTON disabled=move || accept.pending().get()>"Join the team"</button>
                                </ActionForm>
                            }.into_any(),
                            Err(e) => view! {
                                <p class="mt-4 text-red-700" role="alert">{e.to_string()}</p>
                                <p class="mt-2 text-sm">"Already joined? "<A href="/login" attr:class="font-semibold text-amber-800 underline">"Sign in"</A></p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
