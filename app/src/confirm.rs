//! A destructive button that asks first, inline: pressed, it opens the
//! question under it with two buttons ("Keep", which has the focus, and
//! "Yes, delete"), so one slip of the mouse or the keyboard deletes nothing.

use leptos::prelude::*;

/// `label` on the button ("Delete"); `question` ("Delete /thanks?") names the
/// group; `detail` says what goes with it. `on_confirm` runs on "Yes".
#[component]
pub fn ConfirmDelete(
    #[prop(into)] question: String,
    #[prop(optional, into)] detail: Option<String>,
    #[prop(into)] class: String,
    on_confirm: Callback<()>,
    #[prop(default = "Delete")] label: &'static str,
    /// The confirming button.
    #[prop(default = "Yes, delete")]
    yes: &'static str,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let keep = NodeRef::<leptos::html::Button>::new();
    let delete = NodeRef::<leptos::html::Button>::new();
    // Focus follows the question: to "Keep" when asked, back after.
    Effect::new(move |was: Option<bool>| {
        let now = asking.get();
        if was.is_some() {
            let target = if now { keep.get() } else { delete.get() };
            if let Some(button) = target {
                let _ = button.focus();
            }
        }
        now
    });
    view! {
        <span class="relative inline-block">
            <button type="button" node_ref=delete class=class aria-expanded=move || asking.get().to_string()
                on:click=move |_| asking.update(|a| *a = !*a)>{label}</button>
            <Show when=move || asking.get()>
                <div class="confirm absolute right-0 top-full z-20 mt-1 flex w-72 max-w-[80vw] flex-col gap-2 rounded-lg border border-red-200 bg-red-50 p-3 text-left text-sm text-red-900 shadow-lg"
                    role="group" aria-label=question.clone()
                    on:keydown=move |ev| if ev.key() == "Escape" { asking.set(false) }>
                    <p class="font-medium">{question.clone()}</p>
                    {detail.clone().map(|d| view! { <p class="text-xs">{d}</p> })}
                    <div class="flex justify-end gap-2">
                        <button type="button" node_ref=keep class="rounded bg-white px-2 py-1 text-xs font-semibold text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50"
                            on:click=move |_| asking.set(false)>"Keep"</button>
                        <button type="button" class="rounded bg-red-700 px-2 py-1 text-xs font-semibold text-white hover:bg-red-800"
                            on:click=move |_| { asking.set(false); on_confirm.run(()); }>{yes}</button>
                    </div>
                </div>
            </Show>
        </span>
    }
}
