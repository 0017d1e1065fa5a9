//! The browser's live connection to a thread stream: a WebSocket that
//! reconnects with backoff and resumes from the last event the page has.
//!
//! Every message that stores something (it carries a `client_id`) stays in
//! an outbox until the server acknowledges it (`Ack`, or an `Error` naming
//! it), and is sent again after every reconnect: the server stores a resend
//! once, so nothing is lost and nothing is stored twice. The client pings the
//! server and reconnects when it has heard nothing for too long (a dead peer
//! that never closed the connection).
//!
//! The component API (`use_live`) compiles everywhere; the socket itself only
//! exists in the browser (`hydrate`), since effects never run on the server.

use std::sync::Arc;

use leptos::prelude::*;
use uuid::Uuid;

use crate::types::{ClientMsg, ServerMsg};

/// Sends a frame (with the message's client id, if it has one). Only ever
/// set in the browser, where the socket lives.
type Sender = Arc<dyn Fn(Option<Uuid>, String) + Send + Sync>;

/// A handle to send messages on the live connection.
#[derive(Clone, Copy)]
pub struct Live {
    sender: StoredValue<Option<Sender>>,
}

impl Live {
    /// Sends now if connected. A message with a client id is also kept until
    /// acknowledged, and sent again after a reconnect; others (typing, seen,
    /// ping) are only worth sending now.
    pub fn send(&self, msg: &ClientMsg) {
        let Ok(text) = serde_json::to_string(msg) else {
            return;
        };
        self.sender.with_value(|sender| {
            if let Some(send) = sender {
                send(msg.client_id(), text);
            }
        });
    }
}

/// Opens the live connection for the current component. `path` is called on
/// every (re)connect, so it can carry the last sequence number the page has;
/// `on_open` runs when a connection opens, before any of its messages (the
/// server then sends what the page lacks, and the AI's draft whole).
pub fn use_live(
    path: impl Fn() -> String + 'static,
    on_open: impl Fn() + 'static,
    on_message: impl Fn(ServerMsg) + 'static,
    connected: RwSignal<bool>,
) -> Live {
    let sender = StoredValue::new(None::<Sender>);
    #[cfg(feature = "hydrate")]
    {
        let conn = browser::Conn::new(
            Box::new(path),
            Box::new(on_open),
            Box::new(on_message),
            connected,
        );
        browser::open(conn.clone());
        browser::heartbeat(&conn);
        // The browser knows when the network goes and comes back: drop the
        // socket at once, and reconnect at once (no back-off) on return.
        let online = {
            let conn = send_wrapper::SendWrapper::new(conn.clone());
            window_event_listener_untyped("online", move |_| browser::online(&conn))
        };
        let offline = {
            let conn = send_wrapper::SendWrapper::new(conn.clone());
            window_event_listener_untyped("offline", move |_| browser::offline(&conn))
        };
        on_cleanup(move || {
            online.remove();
            offline.remove();
        });
        let for_send = send_wrapper::SendWrapper::new(conn.clone());
        sender.set_value(Some(Arc::new(move |id, text| {
            browser::send(&for_send, id, text)
        })));
        let closer = send_wrapper::SendWrapper::new(conn);
        on_cleanup(move || browser::close(&closer));
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, on_open, on_message, connected);
    }
    Live { sender }
}

/// Tells the other side that the user is typing: "typing" at most every 3 s
/// while keys are pressed, "stopped" 4 s after the last one.
#[derive(Clone, Copy)]
pub struct TypingNotifier {
    live: Live,
    /// When "typing" was last sent (ms since the epoch; 0: not typing).
    last_sent: StoredValue<f64>,
    /// When typing counts as stopped unless another key comes.
    stop_at: StoredValue<f64>,
}

impl TypingNotifier {
    pub fn new(live: Live) -> Self {
        Self {
            live,
            last_sent: StoredValue::new(0.0),
            stop_at: StoredValue::new(0.0),
        }
    }

    /// A key was pressed.
    pub fn input(self) {
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            if now - self.last_sent.get_value() > 3_000.0 {
                self.last_sent.set_value(now);
                self.live.send(&ClientMsg::Typing { typing: true });
            }
            self.stop_at.set_value(now + 4_000.0);
            set_timeout(
                move || {
                    // Only the timer of the last key press finds its own deadline.
                    if js_sys::Date::now() >= self.stop_at.get_value()
                        && self.last_sent.get_value() > 0.0
                    {
                        self.last_sent.set_value(0.0);
                        self.live.send(&ClientMsg::Typing { typing: false });
                    }
                },
                std::time::Duration::from_millis(4_050),
            );
        }
        // Keys are only pressed in the browser.
        #[cfg(not(feature = "hydrate"))]
        let _ = (self.live, self.stop_at);
    }

    /// The message was sent: the server ends the typing with it, so the next
    /// key starts it again at once.
    pub fn sent(self) {
        self.last_sent.set_value(0.0);
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use uuid::Uuid;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    use crate::types::{ClientMsg, ServerMsg};

    /// How often the client pings, and how long it waits for any word.
    const PING_EVERY: Duration = Duration::from_secs(20);
    const SILENCE_LIMIT_MS: f64 = 50_000.0;
    /// A connection open this long was a success.
    const STABLE_MS: f64 = 5_000.0;

    pub struct Conn {
        path: Box<dyn Fn() -> String>,
        on_open: Box<dyn Fn()>,
        on_message: Box<dyn Fn(ServerMsg)>,
        connected: RwSignal<bool>,
        socket: RefCell<Option<WebSocket>>,
        /// Unacknowledged messages, in the order they were first sent.
        outbox: RefCell<Vec<(Uuid, String)>>,
        failures: Cell<u32>,
        closed: Cell<bool>,
        /// When the server last said anything (ms since the epoch).
        heard: Cell<f64>,
        /// When the current socket opened.
        opened: Cell<f64>,
    }

    impl Conn {
        pub fn new(
            path: Box<dyn Fn() -> String>,
            on_open: Box<dyn Fn()>,
            on_message: Box<dyn Fn(ServerMsg)>,
            connected: RwSignal<bool>,
        ) -> Rc<Self> {
            Rc::new(Self {
                path,
                on_open,
                on_message,
                connected,
                socket: RefCell::new(None),
                outbox: RefCell::new(Vec::new()),
                failures: Cell::new(0),
                closed: Cell::new(false),
                heard: Cell::new(js_sys::Date::now()),
                opened: Cell::new(0.0),
            })
        }

        fn open_socket(&self) -> Option<std::cell::Ref<'_, WebSocket>> {
            std::cell::Ref::filter_map(self.socket.borrow(), |s| {
                s.as_ref().filter(|ws| ws.ready_state() == WebSocket::OPEN)
            })
            .ok()
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
        // One socket at a time: a retry that finds one (connecting or open) is spent.
        if conn.closed.get() || conn.socket.borrow().is_some() {
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
                conn.opened.set(js_sys::Date::now());
                conn.heard.set(js_sys::Date::now());
                (conn.on_open)();
                conn.connected.set(true);
                // Everything not yet acknowledged goes again, in order.
                if let Some(ws) = conn.open_socket() {
                    for (_, text) in conn.outbox.borrow().iter() {
                        let _ = ws.send_with_str(text);
                    }
                }
            })
        };
        let on_message = {
            let conn = conn.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                conn.heard.set(js_sys::Date::now());
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(msg) => {
                        let done = match &msg {
                            ServerMsg::Ack { client_id, .. } => Some(*client_id),
                            ServerMsg::Error {
                                client_id: Some(id),
                                ..
                            } => Some(*id),
                            _ => None,
                        };
                        if let Some(id) = done {
                            conn.outbox
                                .borrow_mut()
                                .retain(|(pending, _)| *pending != id);
                        }
                        (conn.on_message)(msg)
                    }
                    Err(err) => leptos::logging::warn!("unreadable server message: {err}"),
                }
            })
        };
        let on_close = {
            let conn = conn.clone();
            Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |event: web_sys::CloseEvent| {
                conn.connected.set(false);
                conn.socket.borrow_mut().take();
                // A server that will never serve this client (it said why
                // before closing): no reconnecting.
                if event.code() == crate::types::CLOSE_REFUSED {
                    conn.closed.set(true);
                    return;
                }
                // A connection that lasted is a success: the next attempt is
                // quick. One dropped at once (a server that cannot serve yet)
                // counts as a failure, so clients back off instead of spinning.
                if conn.opened.get() > 0.0 && js_sys::Date::now() - conn.opened.get() > STABLE_MS {
                    conn.failures.set(0);
                }
                conn.opened.set(0.0);
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
        // 0.5 s, 1 s, 2 s, ... capped at 10 s, each with up to half of it
        // random, so that clients cut off together do not return together.
        let ceiling = (500u64 << failures.min(5)).min(10_000) as f64;
        let delay = ceiling * (0.5 + js_sys::Math::random() / 2.0);
        let conn = send_wrapper::SendWrapper::new(conn);
        set_timeout(
            move || open(conn.take()),
            Duration::from_millis(delay as u64),
        );
    }

    /// Pings the server; a connection silent for too long is closed (and so
    /// reopened).
    pub fn heartbeat(conn: &Rc<Conn>) {
        let conn = send_wrapper::SendWrapper::new(Rc::downgrade(conn));
        let beat = move || {
            let Some(conn) = conn.upgrade() else { return };
            let Some(ws) = conn.socket.borrow().clone() else {
                return;
            };
            if ws.ready_state() != WebSocket::OPEN {
                return;
            }
            if js_sys::Date::now() - conn.heard.get() > SILENCE_LIMIT_MS {
                let _ = ws.close();
            } else if let Ok(text) = serde_json::to_string(&ClientMsg::Ping) {
                let _ = ws.send_with_str(&text);
            }
        };
        if let Ok(handle) = set_interval_with_handle(beat, PING_EVERY) {
            on_cleanup(move || handle.clear());
        }
    }

    /// The network is gone: the socket goes too (what is sent meanwhile waits
    /// in the outbox); reconnection attempts back off until it returns.
    pub fn offline(conn: &Rc<Conn>) {
        let socket = conn.socket.borrow().clone();
        if let Some(ws) = socket {
            conn.connected.set(false);
            let _ = ws.close();
        }
    }

    /// The network is back: reconnect now rather than at the next retry.
    pub fn online(conn: &Rc<Conn>) {
        let stale = conn
            .socket
            .borrow()
            .as_ref()
            .is_some_and(|ws| ws.ready_state() != WebSocket::OPEN);
        if stale {
            if let Some(ws) = conn.socket.borrow_mut().take() {
                ws.set_onclose(None);
                let _ = ws.close();
            }
        }
        conn.failures.set(0);
        open(conn.clone());
    }

    pub fn send(conn: &Rc<Conn>, client_id: Option<Uuid>, text: String) {
        if let Some(ws) = conn.open_socket() {
            let _ = ws.send_with_str(&text);
        }
        if let Some(id) = client_id {
            conn.outbox.borrow_mut().push((id, text));
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

/// Tells the page embedding the widget (widget.js) something:
/// `{tandem: kind, count}`. `target` is that page's origin when known.
pub fn tell_parent(kind: &str, count: Option<u32>, target: &str) {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(parent)) = window().parent() {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"tandem".into(), &kind.into());
        if let Some(count) = count {
            let _ = js_sys::Reflect::set(&message, &"count".into(), &count.into());
        }
        let target = if target.is_empty() { "*" } else { target };
        let _ = parent.post_message(&message, target);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (kind, count, target);
}

/// Calls `on_visible` when the embedding page shows or hides the chat
/// (`{tandem: "visible", open: bool}` from widget.js).
pub fn on_parent_visibility(on_visible: impl Fn(bool) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::message, move |event| {
            let from_parent = match (event.source(), window().parent()) {
                (Some(source), Ok(Some(parent))) => {
                    source.loose_eq(&wasm_bindgen::JsValue::from(parent))
                }
                _ => false,
            };
            if !from_parent {
                return;
            }
            let data = event.data();
            let kind = js_sys::Reflect::get(&data, &"tandem".into()).ok();
            if kind.and_then(|k| k.as_string()).as_deref() == Some("visible") {
                let open = js_sys::Reflect::get(&data, &"open".into())
                    .ok()
                    .and_then(|o| o.as_bool())
                    .unwrap_or(true);
                on_visible(open);
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_visible;
}
