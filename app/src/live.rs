//! The browser's live connection to a thread stream: a WebSocket that
//! reconnects with backoff and resumes from the last event it has.
//!
//! The component API (`use_live`) compiles everywhere; the socket itself only
//! exists in the browser (`hydrate`), since effects never run on the server.

use std::sync::Arc;

use leptos::prelude::*;

use crate::types::{ClientMsg, ServerMsg};

/// Sends a text frame. Only ever set in the browser, where the socket lives;
/// on the server it stays `None` (nothing thread-bound is created there).
type Sender = Arc<dyn Fn(String) + Send + Sync>;

/// A handle to send messages on the live connection.
#[derive(Clone, Copy)]
pub struct Live {
    sender: StoredValue<Option<Sender>>,
}

impl Live {
    /// Sends now if connected, or as soon as the connection is back.
    pub fn send(&self, msg: &ClientMsg) {
        let Ok(text) = serde_json::to_string(msg) else {
            return;
        };
        self.sender.with_value(|sender| {
            if let Some(send) = sender {
                send(text);
            }
        });
    }
}

/// Opens the live connection for the current component. `path` is called on
/// every (re)connect, so it can carry the last sequence number the page has.
pub fn use_live(
    path: impl Fn() -> String + 'static,
    on_message: impl Fn(ServerMsg) + 'static,
    connected: RwSignal<bool>,
) -> Live {
    let sender = StoredValue::new(None::<Sender>);
    #[cfg(feature = "hydrate")]
    {
        let conn = browser::Conn::new(Box::new(path), Box::new(on_message), connected);
        browser::open(conn.clone());
        let for_send = send_wrapper::SendWrapper::new(conn.clone());
        sender.set_value(Some(Arc::new(move |text| browser::send(&for_send, text))));
        let closer = send_wrapper::SendWrapper::new(conn);
        on_cleanup(move || browser::close(&closer));
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, on_message, connected);
    }
    Live { sender }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    use crate::types::ServerMsg;

    pub struct Conn {
        path: Box<dyn Fn() -> String>,
        on_message: Box<dyn Fn(ServerMsg)>,
        connected: RwSignal<bool>,
        socket: RefCell<Option<WebSocket>>,
        pending: RefCell<Vec<String>>,
        failures: Cell<u32>,
        closed: Cell<bool>,
    }

    impl Conn {
        pub fn new(
            path: Box<dyn Fn() -> String>,
            on_message: Box<dyn Fn(ServerMsg)>,
            connected: RwSignal<bool>,
        ) -> Rc<Self> {
            Rc::new(Self {
                path,
                on_message,
                connected,
                socket: RefCell::new(None),
                pending: RefCell::new(Vec::new()),
                failures: Cell::new(0),
                closed: Cell::new(false),
            })
        }
    }

    fn url(path: &str) -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}{path}", location.host().ok()?))
    }

    pub fn open(conn: Rc<Conn>) {
        if conn.closed.get() {
            return;
        }
        let Some(url) = url(&(conn.path)()) else {
            return;
        };
        let Ok(ws) = WebSocket::new(&url) else {
            retry(conn);
            return;
        };

        let on_open = {
            let conn = conn.clone();
            Closure::<dyn FnMut()>::new(move || {
                conn.failures.set(0);
                conn.connected.set(true);
                let pending: Vec<String> = conn.pending.borrow_mut().drain(..).collect();
                if let Some(ws) = conn.socket.borrow().as_ref() {
                    for text in pending {
                        let _ = ws.send_with_str(&text);
                    }
                }
            })
        };
        let on_message = {
            let conn = conn.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(text) = event.data().as_string() {
                    match serde_json::from_str::<ServerMsg>(&text) {
                        Ok(msg) => (conn.on_message)(msg),
                        Err(err) => leptos::logging::warn!("unreadable server message: {err}"),
                    }
                }
            })
        };
        let on_close = {
            let conn = conn.clone();
            Closure::<dyn FnMut()>::new(move || {
                conn.connected.set(false);
                conn.socket.borrow_mut().take();
                retry(conn.clone());
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // The socket owns its handlers from here on.
        on_open.forget();
        on_message.forget();
        on_close.forget();
        *conn.socket.borrow_mut() = Some(ws);
    }

    fn retry(conn: Rc<Conn>) {
        if conn.closed.get() {
            return;
        }
        let failures = conn.failures.get();
        conn.failures.set(failures + 1);
        // 0.5 s, 1 s, 2 s, ... capped at 10 s.
        let delay = (500u64 << failures.min(5)).min(10_000);
        let conn = send_wrapper::SendWrapper::new(conn);
        set_timeout(move || open(conn.take()), Duration::from_millis(delay));
    }

    pub fn send(conn: &Rc<Conn>, text: String) {
        let socket = conn.socket.borrow();
        match socket.as_ref() {
            Some(ws) if ws.ready_state() == WebSocket::OPEN => {
                if ws.send_with_str(&text).is_err() {
                    conn.pending.borrow_mut().push(text);
                }
            }
            _ => conn.pending.borrow_mut().push(text),
        }
    }

    pub fn close(conn: &Rc<Conn>) {
        conn.closed.set(true);
        if let Some(ws) = conn.socket.borrow_mut().take() {
            ws.set_onclose(None);
            let _ = ws.close();
        }
    }
}

/// A value the widget keeps in the frame's `localStorage` (never before the
/// visitor opens the widget, since the frame only loads then).
pub fn stored(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        window()
            .local_storage()
            .ok()
            .flatten()?
            .get_item(key)
            .ok()
            .flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

pub fn store(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item(key, value);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

/// Scrolls a scrollable element to its end (the newest message).
pub fn scroll_to_bottom(node: NodeRef<leptos::html::Div>) {
    // After the browser has laid out the new content.
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        if let Some(el) = node.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = node;
}

/// Asks the page embedding the widget (widget.js) to close the chat frame.
pub fn close_widget() {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(parent)) = window().parent() {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"tandem".into(), &"close".into());
        let _ = parent.post_message(&message, "*");
    }
}
