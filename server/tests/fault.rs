//! The fault run: visitors and agents exchange thousands of messages through
//! two `tandem serve` processes on one database while one instance is killed
//! (SIGKILL) and restarted and PostgreSQL itself is restarted. Clients behave
//! like the widget and the inbox: they reconnect with back-off (to the other
//! instance when theirs is gone, as behind a load balancer), resume from the
//! last seq they have and resend what was not acknowledged.
//!
//! At the end every client must have received every event of its
//! conversation exactly once, in order, and every message sent must be
//! stored exactly once. The run has its own PostgreSQL cluster (under
//! `.data/fault`), since it restarts it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::types::{ClientMsg, EventBody, ServerMsg};
use futures::{SinkExt, StreamExt};
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const CONVERSATIONS_WITH_AGENTS: usize = 16;
const CONVERSATIONS_WITH_AI: usize = 8;
const MESSAGES_PER_VISITOR: usize = 60;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The run's own cluster, started with the project's script.
fn cluster(args: &[&str]) -> String {
    let out = Command::new(root().join("scripts/db.sh"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("TANDEM_DATA_DIR", ".data/fault")
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/db.sh");
    assert!(out.status.success(), "scripts/db.sh {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Instance {
    addr: SocketAddr,
    url: String,
    child: Option<Child>,
}

impl Instance {
    fn start(addr: SocketAddr, database_url: &str) -> Self {
        let mut instance = Self {
            addr,
            url: database_url.to_owned(),
            child: None,
        };
        instance.restart();
        instance
    }

    fn restart(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("serve")
            .env("DATABASE_URL", &self.url)
            .env("TANDEM_ADDR", self.addr.to_string())
            .env("TANDEM_DEMO", "false")
            .env("TANDEM_MODEL_DIR", root().join("models/e5-small-int8"))
            .env("TANDEM_SITE_ROOT", root().join("target/site"))
            .env("TANDEM_AI_QUIET_MS", "300")
            // 40 clients on one address, far past a visitor's pace.
            .env("TANDEM_LIMIT_VISITOR_MESSAGES", "0")
            .env("TANDEM_LIMIT_ADDRESS_MESSAGES", "0")
            .env("TANDEM_LIMIT_NEW_VISITORS", "0")
            // FAULT_RUST_LOG=info shows what the instances did.
            .env(
                "RUST_LOG",
                std::env::var("FAULT_RUST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("tandem serve");
        self.child = Some(child);
    }

    /// SIGKILL: no goodbye to its sockets, its leases or its listener.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut tcp) = tokio::net::TcpStream::connect(self.addr).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = tcp
                    .write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
                    .await;
                let mut reply = String::new();
                let _ = tcp.read_to_string(&mut reply).await;
                if reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance on {} never became healthy", self.addr);
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Visitor,
    Agent,
}

/// What one client saw, for the final check.
#[derive(Default, Debug)]
struct Seen {
    seqs: Vec<i64>,
    duplicates: usize,
    reconnects: usize,
    resent: usize,
    /// Client id → acknowledged seq.
    acked: HashMap<Uuid, i64>,
    refused: Vec<String>,
}

/// 50 ms, 100 ms, ... up to 800 ms, the upper half of it at random.
fn backoff(failures: u32) -> Duration {
    let ceiling = (50u64 << failures.min(4)).min(800);
    Duration::from_millis(rand::rng().random_range(ceiling / 2..=ceiling))
}

/// One widget or inbox conversation pane, reconnecting like the real ones.
struct Peer {
    role: Role,
    addrs: [SocketAddr; 2],
    prefer: usize,
    workspace: String,
    token: Option<String>,
    session: String,
    conversation: Uuid,
    seen: Seen,
    outbox: Vec<(Uuid, String)>,
}

impl Peer {
    fn request(&self) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let addr = self.addrs[self.prefer];
        let after = self.seen.seqs.last().copied().unwrap_or(0);
        match self.role {
            Role::Visitor => {
                let token = self
                    .token
                    .as_ref()
                    .map(|t| format!("&token={t}"))
                    .unwrap_or_default();
                format!(
                    "ws://{addr}/ws/visitor?workspace={}&after={after}{token}",
                    self.workspace
                )
                .into_client_request()
                .unwrap()
            }
            Role::Agent => {
                let mut request = format!(
                    "ws://{addr}/ws/inbox?conversation={}&after={after}",
                    self.conversation
                )
                .into_client_request()
                .unwrap();
                request.headers_mut().insert(
                    "cookie",
                    format!("tandem_session={}", self.session).parse().unwrap(),
                );
                request
            }
        }
    }

    fn receive(&mut self, msg: ServerMsg, events: &mpsc::UnboundedSender<(Role, Uuid, EventBody)>) {
        match msg {
            ServerMsg::Welcome {
                conversation_id,
                visitor_token,
            } => {
                if let Some(token) = visitor_token {
                    assert!(self.token.is_none(), "a visitor with a token stays itself");
                    self.token = Some(token);
                }
                self.conversation = conversation_id;
            }
            ServerMsg::Event { event } => {
                let last = self.seen.seqs.last().copied().unwrap_or(0);
                if event.seq <= last {
                    self.seen.duplicates += 1;
                } else {
                    self.seen.seqs.push(event.seq);
                    let _ = events.send((self.role, self.conversation, event.body));
                }
            }
            ServerMsg::Ack { client_id, seq } => {
                self.outbox.retain(|(id, _)| *id != client_id);
                if let Some(seq) = seq {
                    if let Some(first) = self.seen.acked.insert(client_id, seq) {
                        assert_eq!(first, seq, "a resend is acknowledged with the first seq");
                    }
                }
            }
            ServerMsg::Error { message, client_id } => {
                if let Some(id) = client_id {
                    self.outbox.retain(|(pending, _)| *pending != id);
                }
                self.seen.refused.push(message);
            }
            _ => {}
        }
    }

    /// Runs until `commands` closes and everything sent is acknowledged and
    /// `done` says the run is over.
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<ClientMsg>,
        events: mpsc::UnboundedSender<(Role, Uuid, EventBody)>,
        stop: Arc<tokio::sync::Notify>,
    ) -> Self {
        let mut failures = 0u32;
        let mut first = true;
        let stopped = stop.notified();
        tokio::pin!(stopped);
        loop {
            let connected = tokio::select! {
                c = tokio_tungstenite::connect_async(self.request()) => c,
                _ = &mut stopped => return self,
            };
            let mut socket = match connected {
                Ok((socket, _)) => socket,
                Err(_) => {
                    // This instance is gone: the load balancer sends us to the other.
                    self.prefer ^= 1;
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            };
            if !first {
                self.seen.reconnects += 1;
            }
            first = false;
            let opened = Instant::now();
            for (_, text) in &self.outbox {
                self.seen.resent += 1;
                if socket
                    .send(Message::Text(text.clone().into()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            loop {
                tokio::select! {
                    frame = socket.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            let msg: ServerMsg = serde_json::from_str(text.as_str()).unwrap();
                            self.receive(msg, &events);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => {
                            // Like the widget: a connection that lasted resets
                            // the back-off; one dropped at once counts as a failure.
                            if opened.elapsed() > Duration::from_secs(2) {
                                failures = 0;
                            } else {
                                failures += 1;
                                tokio::time::sleep(backoff(failures)).await;
                            }
                            break;
                        }
                    },
                    command = commands.recv() => match command {
                        Some(msg) => {
                            let text = serde_json::to_string(&msg).unwrap();
                            self.outbox.push((msg.client_id().unwrap(), text.clone()));
                            if socket.send(Message::Text(text.into())).await.is_err() {
                                break;
                            }
                        }
                        None => std::future::pending::<()>().await,
                    },
                    _ = &mut stopped => return self,
                }
            }
        }
    }
}

fn say(msg: &str) {
    eprintln!("[fault run] {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_run_clients_get_every_event_once_in_order_through_crashes_and_a_database_restart() {
    let started = Instant::now();
    cluster(&[]);
    let base = cluster(&["--url"]);
    let admin = PgPool::connect(&base).await.unwrap();
    let name = format!("fault_{}", Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = base.replace("/tandem?", &format!("/{name}?"));

    let (addr_a, addr_b) = (free_addr(), free_addr());
    let mut a = Instance::start(addr_a, &url);
    a.wait_healthy().await;
    let b = Instance::start(addr_b, &url);
    b.wait_healthy().await;

    // A workspace and an agent (the instances ran the migrations).
    let pool = PgPool::connect(&url).await.unwrap();
    let workspace_id = Uuid::new_v4();
    sqlx::query(
        "insert into workspace (workspace_id, slug, name) values ($1, 'fault', 'Fault run')",
    )
    .bind(workspace_id)
    .execute(&pool)
    .await
    .unwrap();
    let agent = tandem::auth::create_account(
        &pool,
        workspace_id,
        "agent@fault.example",
        "Agent",
        "agent-password",
        app::types::Role::Agent,
    )
    .await
    .unwrap();
    let session = tandem::auth::create_session(&pool, agent).await.unwrap();

    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let stop = Arc::new(tokio::sync::Notify::new());
    let total = CONVERSATIONS_WITH_AGENTS + CONVERSATIONS_WITH_AI;
    let mut visitors = Vec::new();
    let mut visitor_cmds = Vec::new();
    for i in 0..total {
        // Each visitor connects first (to get a conversation), then runs.
        let mut peer = Peer {
            role: Role::Visitor,
            addrs: [addr_a, addr_b],
            prefer: i % 2,
            workspace: "fault".into(),
            token: None,
            session: String::new(),
            conversation: Uuid::nil(),
            seen: Seen::default(),
            outbox: Vec::new(),
        };
        let (mut socket, _) = tokio_tungstenite::connect_async(peer.request())
            .await
            .unwrap();
        while peer.token.is_none() {
            if let Some(Ok(Message::Text(text))) = socket.next().await {
                peer.receive(serde_json::from_str(text.as_str()).unwrap(), &events_tx);
            }
        }
        drop(socket);
        let (tx, rx) = mpsc::unbounded_channel();
        visitor_cmds.push((peer.conversation, tx));
        visitors.push(tokio::spawn(peer.run(rx, events_tx.clone(), stop.clone())));
    }
    // Agents take the first conversations, on the other instance than their visitor.
    let mut agents = Vec::new();
    let mut agent_cmds = HashMap::new();
    for (i, (conversation, _)) in visitor_cmds
        .iter()
        .take(CONVERSATIONS_WITH_AGENTS)
        .enumerate()
    {
        let peer = Peer {
            role: Role::Agent,
            addrs: [addr_a, addr_b],
            prefer: (i + 1) % 2,
            workspace: String::new(),
            token: None,
            session: session.clone(),
            conversation: *conversation,
            seen: Seen::default(),
            outbox: Vec::new(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(ClientMsg::Claim {
            client_id: Uuid::new_v4(),
        })
        .unwrap();
        agent_cmds.insert(*conversation, tx);
        agents.push(tokio::spawn(peer.run(rx, events_tx.clone(), stop.clone())));
    }

    // Agents answer every visitor message they receive.
    let replies = Arc::new(AtomicUsize::new(0));
    let responder = {
        let replies = replies.clone();
        tokio::spawn(async move {
            while let Some((role, conversation, body)) = events_rx.recv().await {
                if let (Role::Agent, EventBody::VisitorMessage { text }) = (role, body) {
                    let reply = ClientMsg::Send {
                        client_id: Uuid::new_v4(),
                        text: format!("re: {text}"),
                    };
                    if agent_cmds[&conversation].send(reply).is_ok() {
                        replies.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };

    // Visitors write, each at its own pace, while the faults happen.
    let sent = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = visitor_cmds
        .iter()
        .enumerate()
        .map(|(v, (_, tx))| {
            let (tx, sent) = (tx.clone(), sent.clone());
            tokio::spawn(async move {
                for m in 0..MESSAGES_PER_VISITOR {
                    let pause = rand::rng().random_range(100..400);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    let msg = ClientMsg::Send {
                        client_id: Uuid::new_v4(),
                        text: format!("visitor {v} message {m}"),
                    };
                    tx.send(msg).unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(4)).await;
    say("killing instance A (SIGKILL)");
    a.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    say("restarting instance A");
    a.restart();
    a.wait_healthy().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    say("restarting PostgreSQL");
    cluster(&["--stop"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster(&[]);
    for writer in writers {
        writer.await.unwrap();
    }
    say("every visitor message handed to its client; waiting for the thread to settle");

    // Settled: every message stored and answered, every AI turn done, and
    // every client has the log's last event.
    let deadline = Instant::now() + Duration::from_secs(120);
    let expected_visitor = total * MESSAGES_PER_VISITOR;
    loop {
        let (messages, human, pending): (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from event e join conversation c using (conversation_id)
                      where c.workspace_id = $1 and e.kind = 'visitor_message'),
                    (select count(*) from event e join conversation c using (conversation_id)
                      where c.workspace_id = $1 and e.kind = 'human_reply'),
                    (select count(*) from conversation where workspace_id = $1
                      and visitor_seq > ai_handled_seq and status in ('ai', 'waiting_human'))",
        )
        .bind(workspace_id)
        .fetch_one(&pool)
        .await
        .unwrap_or((0, 0, 1));
        let all_replied = human as usize == CONVERSATIONS_WITH_AGENTS * MESSAGES_PER_VISITOR;
        if messages as usize == expected_visitor && all_replied && pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the thread did not settle: {messages}/{expected_visitor} messages, {human} replies, {pending} AI turns pending"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Give the last wake-ups time to arrive, then stop the clients.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.notify_waiters();
    let mut peers = Vec::new();
    for task in visitors.into_iter().chain(agents) {
        peers.push(task.await.unwrap());
    }
    responder.abort();

    // The log of each conversation, and what each client received.
    let rows: Vec<(Uuid, i64, Option<Uuid>, String, bool)> = sqlx::query_as(
        "select e.conversation_id, e.seq, e.client_id, e.kind,
                e.kind = 'ai_answer'
                  or (e.kind = 'status_change' and jsonb_typeof(e.payload->'decision') = 'object')
         from event e join conversation c using (conversation_id) where c.workspace_id = $1
         order by e.conversation_id, e.seq",
    )
    .bind(workspace_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut log: HashMap<Uuid, Vec<i64>> = HashMap::new();
    let mut stored_ids: HashMap<Uuid, i64> = HashMap::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    // One AI turn per burst, across instances and crashes: the visitor
    // messages each turn dealt with never overlap another's.
    let turns: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "select d.conversation_id, d.handled_from, d.handled_upto from decision d
         join conversation c using (conversation_id) where c.workspace_id = $1
         order by d.conversation_id, d.handled_upto",
    )
    .bind(workspace_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    for pair in turns.windows(2) {
        let ((c1, _, upto), (c2, from, _)) = (pair[0], pair[1]);
        assert!(
            c1 != c2 || from >= upto,
            "two AI turns dealt with the same messages in {c2}: {pair:?}"
        );
    }
    let ai_outputs = rows.iter().filter(|r| r.4).count();
    assert_eq!(ai_outputs, turns.len(), "one thing said per AI turn");
    for (conversation, seq, client_id, kind, _) in &rows {
        log.entry(*conversation).or_default().push(*seq);
        *kinds.entry(kind.clone()).or_default() += 1;
        if let Some(id) = client_id {
            assert!(
                stored_ids.insert(*id, *seq).is_none(),
                "a client id stored twice"
            );
        }
    }
    let (mut delivered, mut duplicates, mut reconnects, mut resent) = (0, 0, 0, 0);
    let mut acked = 0;
    for peer in &peers {
        let expected = &log[&peer.conversation];
        assert_eq!(
            &peer.seen.seqs, expected,
            "{:?} of {} did not get every event exactly once, in order",
            peer.role, peer.conversation
        );
        assert!(peer.outbox.is_empty(), "unacknowledged: {:?}", peer.outbox);
        assert!(peer.seen.refused.is_empty(), "{:?}", peer.seen.refused);
        for (id, seq) in &peer.seen.acked {
            assert_eq!(stored_ids.get(id), Some(seq), "acked as stored");
        }
        delivered += peer.seen.seqs.len();
        duplicates += peer.seen.duplicates;
        reconnects += peer.seen.reconnects;
        resent += peer.seen.resent;
        acked += peer.seen.acked.len();
    }
    assert_eq!(duplicates, 0);
    let messages_sent = sent.load(Ordering::Relaxed) + replies.load(Ordering::Relaxed);
    let distinct: HashSet<_> = stored_ids.keys().collect();
    println!(
        "fault run: {total} conversations ({CONVERSATIONS_WITH_AGENTS} with agents, {CONVERSATIONS_WITH_AI} AI), \
         2 instances, 1 SIGKILL + restart, 1 PostgreSQL restart, {:.0} s\n\
         messages sent: {messages_sent} ({} by visitors, {} agent replies) + {CONVERSATIONS_WITH_AGENTS} claims; \
         stored once each: {}; acknowledged: {acked}\n\
         events in the log: {} ({kinds:?}); AI turns: {ai_outputs}, none dealing with the same messages\n\
         events delivered to {} clients: {delivered}; duplicates: {duplicates}; gaps or reorderings: 0\n\
         reconnects: {reconnects}; messages resent after a reconnect: {resent}",
        started.elapsed().as_secs_f64(),
        sent.load(Ordering::Relaxed),
        replies.load(Ordering::Relaxed),
        distinct.len(),
        rows.len(),
        peers.len(),
    );
    assert!(reconnects > 0, "the faults cut connections");
    drop((a, b));
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database {name} with (force)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}
