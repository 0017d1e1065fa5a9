//! `TestApp::spawn()` and typed actors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tandem::db::Scope;

use app::desk::Admin;
use app::types::{ClientMsg, ServerMsg};
use desks::*;
use futures::{SinkExt, StreamExt};
use sqlx::PgPool;
use tandem::embed::Embedder;
use tandem::http::LiveSettings;
use tandem::ingest::crawl::CrawlSettings;
use tandem::ingest::jobs::{self, JobRow};
use tandem::thread::hub::Hub;
use tandem::turn::Turns;
use tandem::{demo, AnswerSettings, AppState, Engines};
use tokio::net::TcpStream;
use tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "test-admin-password";

pub fn embedder() -> Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
            let english = Embedder::load(&models.join("minilm-int8"))
                .expect("the English companion model (run scripts/setup.sh)");
            Embedder::load(&models.join("e5-small-int8"))
                .expect("the embedding model (run scripts/setup.sh)")
                .with_english(english)
        })
        .clone()
}

/// The harness's outbound policy (the test sites on 127.0.0.1 allowed), for
/// tests that run jobs or generators without an app.
pub fn local_outbound() -> tandem::outbound::Outbound {
    tandem::outbound::Outbound::allowing(["127.0.0.1"]).unwrap()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub workspace_id: Uuid,
}

/// How a test instance is set up.
#[derive(Clone)]
pub struct Options {
    /// How long the visitor must pause before the AI answers.
    pub quiet: Duration,
    pub heartbeat: Duration,
    /// An SMTP server for email follow-ups (none: email off).
    pub smtp: Option<String>,
    pub follow_up_delay: Duration,
    /// Rate limits (messages per visitor, per address, new visitors per
    /// address, a minute); off unless a test is about them.
    pub limits: (u32, u32, u32),
    /// The public URL (default: `http://` and the test's address).
    pub public_url: Option<String>,
    /// `TANDEM_OUTBOUND_ALLOW`: the tests' sites and model servers listen
    /// on 127.0.0.1, allowed here as an administrator would allow an
    /// intranet; the tests of the guard itself set none.
    pub outbound_allow: Vec<String>,
    /// `TANDEM_CLIENT_IP_HEADER`.
    pub client_ip_header: Option<axum::http::HeaderName>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            quiet: Duration::from_millis(300),
            heartbeat: Duration::from_secs(15),
            smtp: None,
            follow_up_delay: Duration::ZERO,
            limits: (0, 0, 0),
            public_url: None,
            outbound_allow: vec!["127.0.0.1".into()],
            client_ip_header: None,
        }
    }
}

impl TestApp {
    /// Starts the real router with the demo workspace seeded (not crawled).
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, Options::default()).await
    }

    pub async fn spawn_with(pool: PgPool, options: Options) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Served as the role under row-level security, as `tandem serve`
        // does; `pool` (the tables' owner) stays the tests' own.
        let app_pool = tandem::db::connect_app(&pool, None).await.unwrap();
        // Closed with the test's pool, so the test's database can be dropped.
        tokio::spawn({
            let (owner, app_pool) = (pool.clone(), app_pool.clone());
            async move {
                owner.close_event().await;
                app_pool.close().await;
            }
        });
        let engines = Engines {
            pool: app_pool,
            system: tandem::db::System(pool.clone()),
            public_url: options
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"))
                .into(),
            embedder: embedder(),
            hub: Hub::new(),
            settings: Arc::new(AnswerSettings {
                confidence_threshold: app::types::Confidence::new(
                    tandem::policy::confidence::DEFAULT_THRESHOLD,
                )
                .unwrap(),
            }),
            turn_slots: Arc::new(tokio::sync::Semaphore::new(tandem::CONCURRENT_TURNS)),
            turns: Arc::new(Turns::new(options.quiet)),
            live: LiveSettings {
                heartbeat: options.heartbeat,
            },
            mail: match &options.smtp {
                Some(url) => tandem::mail::Mail::new(
                    Some(url),
                    "Nimbus support <support@nimbus.example>",
                    options.follow_up_delay,
                )
                .unwrap(),
                None => tandem::mail::Mail::disabled(),
            },
            limits: Arc::new(tandem::limits::Limits::new(
                options.limits.0,
                options.limits.1,
                options.limits.2,
            )),
            demo: true,
            client_ip_header: options.client_ip_header.clone(),
            // As `tandem serve` with the demo on: its site is reachable too.
            outbound: tandem::outbound::Outbound::allowing(&options.outbound_allow)
                .unwrap()
                .with_own_site(&format!("http://{addr}"), demo::CRAWLED_PATHS),
        };
        let state = AppState::new(engines, tandem::leptos_options("target/site", addr));
        let router = tandem::http::router(state.clone());
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap()
        });
        let data = std::env::temp_dir().join(format!("tandem-test-{}", Uuid::new_v4()));
        let demo = demo::ensure(&pool, &data, Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap();
        // Give the notification listener a moment to subscribe.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Self {
            addr,
            state,
            workspace_id: demo.workspace_id,
        }
    }

    /// Spawns and trains the demo workspace on the demo site, served by itself.
    pub async fn spawn_trained(pool: PgPool) -> Self {
        let app = Self::spawn(pool).await;
        let job = app
            .ingest(&app.url("/demo/index.html"), CrawlSettings::default())
            .await;
        assert_eq!(
            (job.status.as_str(), job.pages_failed),
            ("done", 0),
            "{job:?}"
        );
        app
    }

    /// Crawls `url` into the demo workspace as a job run here, to its end.
    pub async fn ingest(&self, url: &str, settings: CrawlSettings) -> JobRow {
        let pool = &self.state.engines.pool;
        let source = jobs::website_source(pool, self.workspace_id, url, &settings, None)
            .await
            .unwrap();
        let job_id = jobs::enqueue(pool.ws(self.workspace_id), source)
            .await
            .unwrap();
        self.run_job(job_id).await
    }

    /// Runs a queued job here, to its end.
    pub async fn run_job(&self, job_id: Uuid) -> JobRow {
        let pool = &self.state.engines.pool;
        let worker = Uuid::new_v4();
        let claimed = jobs::claim(&self.state.engines.system, worker, Some(job_id))
            .await
            .unwrap()
            .expect("the job is runnable");
        jobs::run(
            pool,
            &embedder(),
            &self.state.engines.outbound,
            worker,
            claimed,
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path`, with the session cookie if given: (status, body).
    pub async fn get(&self, path: &str, session: Option<&str>) -> (u16, String) {
        let mut request = reqwest::Client::new().get(self.url(path));
        if let Some(session) = session {
            request = request.header("cookie", format!("tandem_session={session}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    pub async fn visitor(&self, token: Option<&str>, after: i64) -> Client {
        self.visitor_of("demo", token, after).await
    }

    /// A visitor of the workspace `slug`.
    pub async fn visitor_of(&self, slug: &str, token: Option<&str>, after: i64) -> Client {
        let extra = token.map(|t| format!("&token={t}")).unwrap_or_default();
        self.visitor_with(slug, &extra, token, after).await
    }

    /// A visitor who opened the link of a follow-up email (its key).
    pub async fn visitor_from_link(&self, key: &str) -> Client {
        self.visitor_with("demo", &format!("&link={key}"), None, 0)
            .await
    }

    /// A visitor whose socket URL ends with `extra` (`&token=…&link=…`).
    pub async fn visitor_with(
        &self,
        slug: &str,
        extra: &str,
        token: Option<&str>,
        after: i64,
    ) -> Client {
        let url = format!(
            "ws://{}/ws/visitor?workspace={slug}&after={after}{extra}",
            self.addr
        );
        let (socket, _) = connect_async(url).await.expect("visitor socket");
        let mut visitor = Client {
            socket,
            token: None,
            conversation_id: Uuid::nil(),
        };
        match visitor.next().await {
            ServerMsg::Welcome {
                conversation_id,
                visitor_token,
            } => {
                visitor.conversation_id = conversation_id;
                visitor.token = visitor_token.or(token.map(str::to_owned));
            }
            other => panic!("expected a welcome, got {other:?}"),
        }
        visitor
    }

    /// The demo admin's session token (a fresh sign-in).
    pub async fn session(&self) -> String {
        self.state
            .desk
            .login(demo::ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .expect("login")
    }

    /// An agent's socket on one conversation, having every event up to `after`.
    pub async fn agent_socket(&self, session: &str, conversation: Uuid, after: i64) -> Client {
        self.inbox_url_socket(
            session,
            &format!("/ws/inbox?conversation={conversation}&after={after}"),
            conversation,
        )
        .await
    }

    /// An agent's inbox socket: the lists, or one conversation from its start.
    pub async fn inbox_socket(&self, session: &str, conversation: Option<Uuid>) -> Client {
        match conversation {
            Some(id) => self.agent_socket(session, id, 0).await,
            None => {
                self.inbox_url_socket(session, "/ws/inbox", Uuid::nil())
                    .await
            }
        }
    }

    async fn inbox_url_socket(&self, session: &str, path: &str, conversation: Uuid) -> Client {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{}{path}", self.addr);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "cookie",
            format!("{}={session}", app::desk::SESSION_COOKIE)
                .parse()
                .unwrap(),
        );
        let (socket, _) = connect_async(request).await.expect("inbox socket");
        Client {
            socket,
            token: None,
            conversation_id: conversation,
        }
    }

    /// Another workspace (`slug`) with one account of `role`, signed in:
    /// (the workspace, the session).
    pub async fn other_workspace(&self, slug: &str, email: &str, role: &str) -> (Uuid, String) {
        let pool = &self.state.engines.pool;
        let workspace = Uuid::new_v4();
        sqlx::query("insert into workspace (workspace_id, slug, name) values ($1, $2, $2)")
            .bind(workspace)
            .bind(slug)
            .execute(pool)
            .await
            .unwrap();
        let (_, session) = self
            .account(workspace, email, "Eve", "eve-password-1", role)
            .await;
        (workspace, session)
    }

    /// A new account of `workspace`, signed in: (the account, the session).
    pub async fn account(
        &self,
        workspace: Uuid,
        email: &str,
        name: &str,
        password: &str,
        role: &str,
    ) -> (Uuid, String) {
        let pool = &self.state.engines.pool;
        let id = tandem::auth::create_account(
            pool,
            workspace,
            email,
            name,
            password,
            app::types::Role::parse(role).unwrap(),
        )
        .await
        .unwrap();
        let session = self.state.desk.login(email, password, None).await.unwrap();
        (id, session)
    }

    /// A teammate of the demo workspace (`name@nimbus.example`, password
    /// `agent-password-1`), signed in: their account and session.
    pub async fn teammate(&self, name: &str, role: &str) -> (Uuid, String) {
        let email = format!("{}@nimbus.example", name.to_lowercase());
        self.account(self.workspace_id, &email, name, TEAMMATE_PASSWORD, role)
            .await
    }

    /// The demo workspace's admin, signed in.
    pub async fn admin(&self) -> Admin {
        let desk = &self.state.desk;
        let token = desk
            .login(demo::ADMIN_EMAIL, ADMIN_PASSWORD, None)
            .await
            .expect("login");
        Admin::check(desk.signed_in(&token).await.expect("session")).expect("an admin")
    }
}

/// The server functions' traits, for tests that call the desk directly.
pub mod desks {
    pub use app::auth::AuthDesk;
    pub use app::desk::Sessions;
    pub use app::inbox::InboxDesk;
    pub use app::knowledge::KnowledgeDesk;
    pub use app::policy::PolicyDesk;
    pub use app::privacy::PrivacyDesk;
    pub use app::review::ReviewDesk;
    pub use app::team::TeamDesk;
    pub use app::widget::WidgetDesk;
}

/// How many stored events of this kind there are, in all conversations.
pub async fn count_events(pool: &PgPool, kind: &str) -> i64 {
    sqlx::query_scalar("select count(*) from event where kind = $1")
        .bind(kind)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A socket client: a visitor's widget or an agent's inbox.
pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub token: Option<String>,
    pub conversation_id: Uuid,
}

impl Client {
    pub async fn send(&mut self, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).unwrap();
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    pub async fn ask(&mut self, text: &str) -> Uuid {
        let client_id = Uuid::new_v4();
        self.send(&ClientMsg::Send {
            client_id,
            text: text.into(),
        })
        .await;
        client_id
    }

    /// The next server message (pings skipped), failing after 30 s.
    pub async fn next(&mut self) -> ServerMsg {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("a server message within 30 s")
                .expect("socket open")
                .expect("frame");
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("a valid server message");
            }
        }
    }

    /// The next error the server reports to this client.
    pub async fn next_error(&mut self) -> String {
        self.until(|m| match m {
            ServerMsg::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .await
        .0
    }

    /// Sends a message that stores something and waits for its answer: the
    /// acknowledged seq, or the refusal.
    pub async fn act(&mut self, msg: ClientMsg) -> Result<Option<i64>, String> {
        let id = msg.client_id().expect("an action has a client id");
        self.send(&msg).await;
        self.until(|m| match m {
            ServerMsg::Ack { client_id, seq } if *client_id == id => Some(Ok(*seq)),
            ServerMsg::Error {
                message,
                client_id: Some(client_id),
            } if *client_id == id => Some(Err(message.clone())),
            _ => None,
        })
        .await
        .0
    }

    /// An agent's reply; returns its seq.
    pub async fn reply(&mut self, text: &str) -> i64 {
        self.act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: text.into(),
        })
        .await
        .expect("the reply is accepted")
        .expect("the reply is stored")
    }

    /// The next stored event this client receives.
    pub async fn next_event(&mut self) -> app::types::ThreadEvent {
        self.until(|m| match m {
            ServerMsg::Event { event } => Some(event.clone()),
            _ => None,
        })
        .await
        .0
    }

    /// Waits until the AI's draft starts arriving.
    pub async fn until_the_ai_writes(&mut self) {
        self.until(|m| matches!(m, ServerMsg::AiToken { .. }).then_some(()))
            .await;
    }

    /// Whether the server closes the socket within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .is_ok()
    }

    /// Whether the server sends anything but pings within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<ServerMsg> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(text.as_str()).expect("a server message"))
                }
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("socket ended: {other:?}"),
            }
        }
    }

    /// Reads messages until `pick` returns something; collects what passed.
    /// Fails after 60 s (pings alone would otherwise keep it waiting).
    pub async fn until<T>(
        &mut self,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> (T, Vec<ServerMsg>) {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "what was waited for did not come within 60 s; seen: {seen:?}"
            );
            let msg = self.next().await;
            if let Some(found) = pick(&msg) {
                return (found, seen);
            }
            seen.push(msg);
        }
    }
}

/// Every registered server function: (name, path), the name without the
/// hash Leptos appends.
pub fn server_functions() -> Vec<(String, String)> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| {
            let name = path
                .trim_start_matches("/api/")
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_owned();
            (name, path.to_owned())
        })
        .collect()
}

/// A form-encoded body.
pub fn form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl TestApp {
    /// Calls a server function over HTTP (JSON or form body), with a session
    /// cookie if given: (status, body).
    pub async fn call_server_fn(
        &self,
        functions: &[(String, String)],
        name: &str,
        body: &str,
        json: bool,
        session: Option<&str>,
    ) -> (u16, String) {
        let path = &functions.iter().find(|(n, _)| n == name).expect(name).1;
        let mut request = reqwest::Client::new()
            .post(self.url(path))
            .header(
                "content-type",
                if json {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                },
            )
            .body(body.to_owned());
        if let Some(session) = session {
            request = request.header("cookie", format!("tandem_session={session}"));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// The password of [`TestApp::teammate`]s.
pub const TEAMMATE_PASSWORD: &str = "agent-password-1";

/// The token of an invitation whose link was shown to the admin (no email).
pub fn shown_token(invited: app::types::inbox::Invited) -> String {
    match invited {
        app::types::inbox::Invited::Link(path) => path
            .strip_prefix("/invite/")
            .expect("an invitation path")
            .to_owned(),
        other => panic!("expected a link, got {other:?}"),
    }
}
