//! The hydrate shim: the browser entry point that hydrates the server-rendered
//! UI. Built twice: as `tandem` (every page) and, with the `widget` feature,
//! as `widget` (the chat frame alone, a fraction of the size).

// The inbox's view types are deep; hydrating them is instantiated here.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    #[cfg(not(feature = "widget"))]
    leptos::mount::hydrate_body(app::App);
    #[cfg(feature = "widget")]
    leptos::mount::hydrate_body(app::widget::WidgetApp);
}
