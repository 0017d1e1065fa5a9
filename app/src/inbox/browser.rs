//! What the inbox asks of the browser: desktop notifications and a sound
//! (both opt-in, remembered in `localStorage`), whether a key press is
//! typing into a field, and idleness for automatic "away".

/// Where the agent's notification choice is kept.
const NOTIFY_KEY: &str = "tandem.inbox.notify";

/// Whether the agent turned notifications on (in this browser).
pub fn notifications_wanted() -> bool {
    crate::live::stored(NOTIFY_KEY).as_deref() == Some("on")
}

/// Turns notifications on (asking the browser's permission) or off.
pub fn want_notifications(on: bool) {
    crate::live::store(NOTIFY_KEY, if on { "on" } else { "off" });
    #[cfg(feature = "hydrate")]
    if on && web_sys::Notification::permission() == web_sys::NotificationPermission::Default {
        let _ = web_sys::Notification::request_permission();
    }
}

/// A desktop notification (if allowed) and a short chime.
pub fn notify(title: &str, body: &str) {
    #[cfg(feature = "hydrate")]
    {
        if web_sys::Notification::permission() == web_sys::NotificationPermission::Granted {
            let options = web_sys::NotificationOptions::new();
            options.set_body(body);
            options.set_tag("tandem-inbox");
            let _ = web_sys::Notification::new_with_options(title, &options);
        }
        chime();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (title, body);
}

/// Two short tones (no sound file to load).
#[cfg(feature = "hydrate")]
fn chime() {
    let Ok(context) = web_sys::AudioContext::new() else {
        return;
    };
    let now = context.current_time();
    for (i, frequency) in [880.0_f32, 1320.0].into_iter().enumerate() {
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        oscillator.frequency().set_value(frequency);
        let start = now + i as f64 * 0.16;
        gain.gain().set_value(0.0);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.15, start + 0.02);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.0, start + 0.14);
        let _ = oscillator.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&context.destination());
        let _ = oscillator.start_with_when(start);
        let _ = oscillator.stop_with_when(start + 0.15);
    }
    // Browsers allow a few contexts only: this one closes after its tones.
    leptos::prelude::set_timeout(
        move || {
            let _ = context.close();
        },
        std::time::Duration::from_millis(600),
    );
}

/// Whether a key event happens in a text field (shortcuts leave those alone).
#[cfg(feature = "hydrate")]
pub fn in_field(ev: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || el.get_attribute("contenteditable").is_some()
        })
}

/// Moves the focus to the element with this id.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = leptos::prelude::document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Milliseconds since the epoch (0 on the server).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}
