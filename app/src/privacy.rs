//! Privacy (`/admin/privacy`, admins only): how long conversations are
//! kept, and the audit log of exports, erasures and retention. A visitor's
//! data is exported or erased from their conversation in the inbox.

mod api;

pub use api::*;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use uuid::Uuid;

use crate::error::DeskError;
use crate::knowledge::{AdminOnly, BUTTON};
use crate::types::privacy::{
    PrivacyView, DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS,
};

const DAYS_INPUT: &str = "w-24 rounded border border-slate-300 bg-white px-2 py-1 text-sm focus:border-amber-500 focus:ring-2 focus:ring-amber-200 disabled:bg-slate-100";

#[component]
pub fn PrivacyPage() -> impl IntoView {
    view! { <AdminOnly section="privacy"><Privacy/></AdminOnly> }
}

#[component]
fn Privacy() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let loaded = Resource::new(move || version.get(), |_| load_privacy());
    view! {
        <main class="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
            <div>
                <h1 class="text-xl font-semibold">"Privacy"</h1>
                <p class="text-sm text-slate-600">"How long conversations are kept, and a record of every export and erasure of people's data. To export or erase one visitor's data, open their conversation in the inbox."</p>
            </div>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(view) => view! {
                            <Retention initial=view.retention_days version=version/>
                            <AuditLog view=view/>
                        }.into_any(),
                        Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(err) => view! { <p role="alert" class="text-red-700">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Retention(initial: Option<u32>, version: RwSignal<u32>) -> impl IntoView {
    let on = RwSignal::new(initial.is_some());
    let days = RwSignal::new(initial.unwrap_or(DEFAULT_RETENTION_DAYS).to_string());
    let save = ServerAction::<SaveRetention>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = if on.get_untracked() {
            match days.get_untracked().trim().parse::<u32>() {
                Ok(d) => Some(d),
                Err(_) => Some(0),
            }
        } else {
            None
        };
        save.dispatch(SaveRetention { days: chosen });
    };
    view! {
        <section class="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="retention-title">
            <h2 id="retention-title" class="text-lg font-semibold">"Retention"</h2>
            <form class="flex flex-col gap-3" novalidate on:submit=submit>
                <label class="flex items-center gap-2 text-sm">
                    <input id="retention-on" type="checkbox" prop:checked=move || on.get()
                        on:change=move |ev| on.set(event_target_checked(&ev))/>
                    "Delete conversations automatically"
                </label>
                <label class="flex flex-wrap items-center gap-2 text-sm">
                    "Delete a conversation"
                    <input id="retention-days" type="number" class=DAYS_INPUT
                        min=MIN_RETENTION_DAYS max=MAX_RETENTION_DAYS
                        prop:disabled=move || !on.get()
                        prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                    "days after its last message, with everything in it (the visitor too, once they have no conversation left)."
                </label>
                <p class="text-xs text-slate-500">"Checked every hour. Off: conversations are kept until you erase them."</p>
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON>"Save"</button>
                    {move || match save.value().get() {
                        Some(Ok(())) => Some(view! { <p role="status" class="text-sm text-emerald-700">"Saved."</p> }.into_any()),
                        Some(Err(err)) => Some(view! { <p role="alert" class="text-sm text-red-700">{err.to_string()}</p> }.into_any()),
                        None => None,
                    }}
                </div>
            </form>
        </section>
    }
}

#[component]
fn AuditLog(view: PrivacyView) -> impl IntoView {
    let empty = view.audit.is_empty();
    view! {
        <section class="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="audit-title">
            <h2 id="audit-title" class="text-lg font-semibold">"Audit log"</h2>
            {empty.then(|| view! { <p class="text-sm text-slate-500">"Nothing exported or erased yet."</p> })}
            <table class="audit-log w-full text-left text-sm" class:hidden=empty>
                <thead class="text-xs text-slate-500">
                    <tr><th class="py-1 pr-3 font-medium">"When (UTC)"</th><th class="py-1 pr-3 font-medium">"What"</th><th class="py-1 pr-3 font-medium">"About"</th><th class="py-1 pr-3 font-medium">"Who"</th></tr>
                </thead>
                <tbody>
                    {view.audit.into_iter().map(|e| view! {
                        <tr class="border-t border-slate-100 align-top">
                            <td class="whitespace-nowrap py-1.5 pr-3 text-slate-600">{e.at.format("%Y-%m-%d %H:%M").to_string()}</td>
                            <td class="py-1.5 pr-3"><span class="font-medium">{e.label()}</span><span class="block text-xs text-slate-500">{e.detail.clone()}</span></td>
                            <td class="py-1.5 pr-3 break-all">{e.subject.clone()}</td>
                            <td class="py-1.5 pr-3 text-slate-600">{e.actor.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The inbox's privacy actions on a conversation's visitor (admins).
#[component]
pub fn VisitorPrivacy(id: Uuid) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let erase = ServerAction::<EraseVisitor>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = erase.value().get() {
            navigate("/inbox", Default::default());
        }
    });
    view! {
        <div class="visitor-privacy mt-2 flex flex-wrap items-center gap-3 text-xs">
            <a class="export-visitor text-amber-700 hover:underline" href=format!("/admin/export/visitor/{id}") download="tandem-visitor.json">"Export visitor's data"</a>
            <Show when=move || !confirming.get()>
                <button type="button" class="erase-visitor text-red-700 hover:underline" on:click=move |_| confirming.set(true)>"Erase visitor…"</button>
            </Show>
            <Show when=move || confirming.get()>
                <span class="rounded bg-red-50 px-2 py-1 text-red-900 ring-1 ring-red-200" role="alert">
                    "Erase this visitor and all their conversations? This cannot be undone. "
                    <button type="button" class="confirm-erase ml-1 rounded bg-red-700 px-2 py-0.5 font-semibold text-white hover:bg-red-800"
                        on:click=move |_| { erase.dispatch(EraseVisitor { id }); }>"Erase"</button>
                    <button type="button" class="ml-1 underline" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </span>
            </Show>
            {move || match erase.value().get() {
                Some(Err(err)) => Some(view! { <span role="alert" class="text-red-700">{err.to_string()}</span> }),
                _ => None,
            }}
        </div>
    }
}
