//! The widget's setup page (`/admin/widget`, admins only): how it looks and
//! speaks, which sites may embed it, the script tag to paste, and the secret
//! a site signs its signed-in users with.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::error::DeskError;
use crate::knowledge::{AdminOnly, BUTTON, INPUT, SMALL_BUTTON};
use crate::types::widget::{Language, Position, WidgetAdmin, WidgetLook};
use crate::widget::{get_widget_admin, RotateIdentitySecret, SaveWidget};

const SECTION: &str = "flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4";
const HEADING: &str = "text-lg font-semibold";
const HELP: &str = "text-xs text-slate-500";
const LABEL: &str = "text-sm font-medium";
const CODE: &str =
    "overflow-x-auto whitespace-pre rounded bg-slate-900 p-3 font-mono text-xs text-slate-100";

#[component]
pub fn WidgetSetupPage() -> impl IntoView {
    view! { <AdminOnly section="widget"><WidgetSetup/></AdminOnly> }
}

#[component]
fn WidgetSetup() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| get_widget_admin());
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(admin) => view! { <SetupForm initial=admin/> }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p role="alert" class="p-6 text-red-700">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Where this Tandem is reached, for the script tag (the browser knows).
fn own_origin() -> String {
    #[cfg(feature = "hydrate")]
    if let Ok(origin) = window().location().origin() {
        return origin;
    }
    "https://YOUR-TANDEM".to_owned()
}

#[component]
fn SetupForm(initial: WidgetAdmin) -> impl IntoView {
    let look = RwSignal::new(initial.look);
    let origins_text = RwSignal::new(look.with_untracked(|l| l.allowed_origins.join("\n")));
    let secret = RwSignal::new(initial.identity_secret);
    let reveal = RwSignal::new(false);
    let save = ServerAction::<SaveWidget>::new();
    let rotate = ServerAction::<RotateIdentitySecret>::new();
    Effect::new(move |_| {
        if let Some(Ok(new_secret)) = rotate.value().get() {
            secret.set(new_secret);
            reveal.set(true);
        }
    });
    // The script tag to paste; the origin is filled in once the page runs.
    let origin = RwSignal::new("https://YOUR-TANDEM".to_owned());
    Effect::new(move |_| origin.set(own_origin()));
    let slug = initial.workspace_slug;
    let slug_for_copy = StoredValue::new(slug.clone());
    let workspace_name = initial.workspace_name;
    // "Copied" for a moment after the snippet went to the clipboard.
    let copied = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let text = format!(
            "<script src=\"{}/widget.js\" data-workspace=\"{}\" async></script>",
            origin.get_untracked(),
            slug_for_copy.get_value()
        );
        copy_to_clipboard(text, move |ok| {
            copied.set(Some(ok));
            #[cfg(feature = "hydrate")]
            set_timeout(move || copied.set(None), std::time::Duration::from_secs(3));
        });
    };
    let snippet = move || {
        format!(
            "<script src=\"{}/widget.js\" data-workspace=\"{slug}\" async></script>",
            origin.get()
        )
    };
    let outcome = move || {
        match save.value().get() {
        Some(Ok(())) => Some(view! { <p role="status" class="text-sm text-emerald-700">"Saved."</p> }.into_any()),
        Some(Err(err)) => Some(view! {
            <p role="alert" class="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{err.to_string()}</p>
        }.into_any()),
        None => None,
    }
    };
    let on_save = move |_| {
        let mut chosen = look.get_untracked();
        chosen.allowed_origins = origins_text
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        save.dispatch(SaveWidget { look: chosen });
    };
    view! {
        <main class="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
            <div>
                <h1 class="text-xl font-semibold">"Chat widget"</h1>
                <p class="text-sm text-slate-600">"How the widget looks and speaks on your site, where it may appear, and how your site vouches for signed-in users."</p>
            </div>

            <section class=SECTION aria-labelledby="embed-title">
                <h2 id="embed-title" class=HEADING>"Add it to your site"</h2>
                <p class=HELP>"Paste this before the closing </body> tag of every page that should show the chat."</p>
                <div class="flex items-start gap-2">
                    <pre tabindex="0" class=format!("{CODE} min-w-0 flex-1")><code class="embed-snippet">{snippet}</code></pre>
                    <button type="button" class=format!("{SMALL_BUTTON} shrink-0") on:click=copy>
                        {move || match copied.get() {
                            Some(true) => "Copied",
                            Some(false) => "Copy failed: select the text",
                            None => "Copy",
                        }}
                    </button>
                </div>
                <p class="sr-only" role="status">{move || (copied.get() == Some(true)).then_some("The script tag is on the clipboard.")}</p>
                <p class=HELP>"Sites can also call Tandem.open(), Tandem.close(), Tandem.identify({ user_id, user_hash, name, email }) and Tandem.on(\"unread\", count => …)."</p>
            </section>

            <section class=SECTION aria-labelledby="look-title">
                <h2 id="look-title" class=HEADING>"Look and language"</h2>
                <div class="grid gap-3 sm:grid-cols-2">
                    <div class="flex flex-col gap-1">
                        <label for="brand-color" class=LABEL>"Brand colour"</label>
                        <div class="flex items-center gap-2">
                            <input type="color" aria-label="Pick the brand colour" class="h-9 w-12 cursor-pointer rounded border border-slate-300"
                                prop:value=move || look.with(|l| l.brand_color.clone())
                                on:input=move |ev| { let v = event_target_value(&ev); look.update(|l| l.brand_color = v); }/>
                            <input id="brand-color" class=INPUT maxlength="7"
                                prop:value=move || look.with(|l| l.brand_color.clone())
                                on:input=move |ev| { let v = event_target_value(&ev); look.update(|l| l.brand_color = v); }/>
                        </div>
                    </div>
                    <div class="flex flex-col gap-1">
                        <label for="position" class=LABEL>"Launcher position"</label>
                        <select id="position" class=INPUT
                            prop:value=move || look.with(|l| l.position.as_str())
                            on:change=move |ev| {
                                let p = Position::parse(&event_target_value(&ev)).unwrap_or_default();
                                look.update(|l| l.position = p);
                            }>
                            <option value="right">"Bottom right"</option>
                            <option value="left">"Bottom left"</option>
                        </select>
                    </div>
                    <div class="flex flex-col gap-1">
                        <label for="language" class=LABEL>"Language of the widget's texts"</label>
                        <select id="language" class=INPUT
                            prop:value=move || look.with(|l| l.language.map_or("auto", Language::code))
                            on:change=move |ev| {
                                let l = Language::parse(&event_target_value(&ev));
                                look.update(|look| look.language = l);
                            }>
                            <option value="auto">"The visitor's browser language"</option>
                            {Language::ALL.into_iter().map(|l| view! { <option value=l.code()>{l.name()}</option> }).collect::<Vec<_>>()}
                        </select>
                    </div>
                    <div class="flex flex-col gap-1">
                        <label for="launcher-text" class=LABEL>"Launcher text"</label>
                        <input id="launcher-text" class=INPUT maxlength="40" placeholder="Chat with us (in the widget's language)"
                            prop:value=move || look.with(|l| l.launcher_text.clone())
                            on:input=move |ev| { let v = event_target_value(&ev); look.update(|l| l.launcher_text = v); }/>
                    </div>
                </div>
                <div class="flex flex-col gap-1">
                    <label for="greeting" class=LABEL>"Greeting"</label>
                    <textarea id="greeting" rows="3" maxlength="500" class=INPUT
                        placeholder="Empty: a greeting in the widget's language that says the AI answers from your help centre and the team is one click away."
                        prop:value=move || look.with(|l| l.greeting.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); look.update(|l| l.greeting = v); }></textarea>
                </div>
            </section>

            <Preview look=look workspace_name=workspace_name/>

            <section class=SECTION aria-labelledby="origins-title">
                <h2 id="origins-title" class=HEADING>"Allowed websites"</h2>
                <p class=HELP>"One origin per line, like https://shop.example. The chat refuses to open, and its socket refuses to connect, on any other site. Empty: any site."</p>
                <textarea id="allowed-origins" rows="3" class=INPUT aria-labelledby="origins-title"
                    placeholder="https://shop.example"
                    prop:value=move || origins_text.get()
                    on:input=move |ev| origins_text.set(event_target_value(&ev))></textarea>
            </section>

            <div class="flex flex-wrap items-center gap-3">
                <button id="save-widget" type="button" class=BUTTON disabled=move || save.pending().get() on:click=on_save>
                    "Save widget settings"
                </button>
                {outcome}
            </div>

            <section class=SECTION aria-labelledby="identity-title">
                <h2 id="identity-title" class=HEADING>"Identity verification"</h2>
                <p class=HELP>
                    "For users signed in to your site: your server signs their user id with this secret, and the page passes both to Tandem.identify. The chat then shows the team a verified identity and keeps their conversation across devices. An identity with a missing or wrong signature is refused. Keep the secret on your server."
                </p>
                <div class="flex flex-wrap items-center gap-2">
                    <code class="identity-secret min-w-0 flex-1 truncate rounded bg-slate-100 px-2 py-1 font-mono text-xs">
                        {move || if reveal.get() { secret.get() } else { "•".repeat(32) }}
                    </code>
                    <button type="button" class=SMALL_BUTTON on:click=move |_| reveal.update(|r| *r = !*r)>
                        {move || if reveal.get() { "Hide" } else { "Show" }}
                    </button>
                    <button type="button" class=SMALL_BUTTON disabled=move || rotate.pending().get()
                        on:click=move |_| { rotate.dispatch(RotateIdentitySecret {}); }>
                        "Replace the secret"
                    </button>
                </div>
                {move || rotate.value().get().and_then(Result::err).map(|err| view! {
                    <p role="alert" class="text-sm text-red-700">{err.to_string()}</p>
                })}
                <p class=HELP>"Signing on your server: user_hash = hex HMAC-SHA256 of the user id. To vouch for their name and email too, sign the id, the email and the name on three lines instead (a name or email that is not signed is ignored, never shown as verified):"</p>
                <pre tabindex="0" class=CODE>{"// Node.js\nconst signed = `${user.id}\\n${user.email}\\n${user.name}`;\nconst user_hash = require(\"crypto\").createHmac(\"sha256\", SECRET).update(signed).digest(\"hex\");\n\n# Python\nsigned = f\"{user.id}\\n{user.email}\\n{user.name}\"\nuser_hash = hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()\n\n<script>Tandem.identify({ user_id: \"42\", user_hash: \"…\", name: \"Ada\", email: \"ada@example.com\" });</script>"}</pre>
            </section>
        </main>
    }
}

/// The launcher and the open chat as a visitor will see them, following the
/// form as it is edited (nothing reaches visitors until "Save").
#[component]
fn Preview(look: RwSignal<WidgetLook>, workspace_name: String) -> impl IntoView {
    let texts = move || look.with(|l| l.language.unwrap_or(Language::En)).texts();
    let brand = move || look.with(|l| l.brand_color.clone());
    let launcher_text = move || {
        let text = look.with(|l| l.launcher_text.trim().to_owned());
        if text.is_empty() {
            texts().launcher.to_owned()
        } else {
            text
        }
    };
    let greeting = {
        let name = workspace_name.clone();
        move || {
            let text = look.with(|l| l.greeting.trim().to_owned());
            if text.is_empty() {
                texts().greeting.replace("{name}", &name)
            } else {
                text
            }
        }
    };
    let left = move || look.with(|l| l.position == Position::Left);
    view! {
        <section class=SECTION aria-labelledby="preview-title">
            <h2 id="preview-title" class=HEADING>"Preview"</h2>
            <p class=HELP>"How visitors will see the launcher and the chat, as you edit (saved only with “Save widget settings”)."</p>
            <div class="widget-preview relative h-[26rem] overflow-hidden rounded-lg bg-slate-100 p-3" aria-label="Preview of the chat widget" role="img"
                style=move || format!("--brand: {}", brand())>
                <div class="absolute bottom-16 flex h-[19rem] w-64 max-w-[calc(100%-1.5rem)] flex-col overflow-hidden rounded-xl bg-slate-50 shadow-lg ring-1 ring-slate-200"
                    class=("left-3", left) class=("right-3", move || !left())>
                    <div class="preview-header flex items-center justify-between gap-2 bg-[var(--brand)] px-3 py-2 text-white">
                        <div class="min-w-0">
                            <p class="truncate text-sm font-semibold">{workspace_name.clone()}</p>
                            <p class="truncate text-[11px]">{move || texts().subtitle_ai}</p>
                        </div>
                        <span class="shrink-0 rounded-full bg-white/95 px-2 py-0.5 text-[11px] font-semibold text-slate-900">{move || texts().talk_to_team}</span>
                    </div>
                    <div class="flex flex-1 flex-col gap-2 overflow-hidden p-2 text-xs">
                        <p class="preview-greeting max-w-[85%] whitespace-pre-wrap rounded-2xl bg-slate-100 px-2.5 py-1.5 text-slate-900 shadow-sm">{greeting}</p>
                        <p class="max-w-[85%] self-end rounded-2xl bg-[var(--brand)] px-2.5 py-1.5 text-white">{move || texts().placeholder.trim_end_matches('…').to_owned()}</p>
                    </div>
                    <div class="flex items-center gap-1.5 border-t border-slate-200 bg-white p-2">
                        <span class="flex-1 truncate rounded-lg border border-slate-300 px-2 py-1 text-[11px] text-slate-500">{move || texts().placeholder}</span>
                        <span class="rounded-lg bg-[var(--brand)] px-2 py-1 text-[11px] font-semibold text-white">{move || texts().send}</span>
                    </div>
                </div>
                <span class="preview-launcher absolute bottom-3 rounded-full bg-[var(--brand)] px-4 py-2.5 text-sm font-semibold text-white shadow-lg"
                    class=("left-3", left) class=("right-3", move || !left()) class:left=left>
                    {launcher_text}
                </span>
            </div>
        </section>
    }
}

/// Puts `text` on the clipboard; `done` says whether it worked.
pub(crate) fn copy_to_clipboard(text: String, done: impl Fn(bool) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast, JsValue};
        let promise = (|| -> Option<js_sys::Promise> {
            let navigator = js_sys::Reflect::get(&window(), &"navigator".into()).ok()?;
            let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into()).ok()?;
            let write = js_sys::Reflect::get(&clipboard, &"writeText".into())
                .ok()?
                .dyn_into::<js_sys::Function>()
                .ok()?;
            write
                .call1(&clipboard, &JsValue::from_str(&text))
                .ok()?
                .dyn_into::<js_sys::Promise>()
                .ok()
        })();
        match promise {
            Some(promise) => {
                let done = std::rc::Rc::new(done);
                let ok = {
                    let done = done.clone();
                    Closure::<dyn FnMut(JsValue)>::new(move |_| done(true))
                };
                let failed = Closure::<dyn FnMut(JsValue)>::new(move |_| done(false));
                let _ = promise.then2(&ok, &failed);
                ok.forget();
                failed.forget();
            }
            None => done(false),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        done(false);
    }
}
