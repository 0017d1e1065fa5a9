//! `tandem-load`: the live thread's load bench. It starts two `tandem serve`
//! processes (the binary beside this one) on a fresh database, holds N idle
//! widget sockets open on instance A, then has agents reply into
//! conversations, first through A and then through B, and prints:
//! connect rate, memory per idle socket (instance A's resident set before and
//! after), and fan-out latency from an agent's send to the visitor's receipt
//! (p50/p95/p99), on one instance and across two.
//!
//!     target/release/tandem-load [--sockets 5000] [--replies 2000] [--rate 200]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::types::{ClientMsg, EventBody, ServerMsg};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use tandem::config::DbArgs;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(about = "Load bench of Tandem's live thread (sockets, fan-out latency, memory)")]
struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Idle widget sockets held open on instance A.
    #[arg(long, default_value_t = 5000)]
    sockets: usize,
    /// Conversations the agents reply into (taken from the idle sockets).
    #[arg(long, default_value_t = 200)]
    conversations: usize,
    /// Replies sent per measurement (one instance, then across two).
    #[arg(long, default_value_t = 2000)]
    replies: usize,
    /// Replies per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    connecting: usize,
    /// Folder of the embedding model the instances load.
    #[arg(long, env = "TANDEM_MODEL_DIR", default_value = "models/minilm-int8")]
    model_dir: PathBuf,
}

struct Instance {
    addr: SocketAddr,
    child: Child,
}

impl Instance {
    fn start(database_url: &str, model_dir: &PathBuf) -> Result<Self, AnyError> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let tandem = std::env::current_exe()?.with_file_name("tandem");
        let child = Command::new(&tandem)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("TANDEM_ADDR", addr.to_string())
            .env("TANDEM_DEMO", "false")
            .env("TANDEM_MODEL_DIR", model_dir)
            .env("RUST_LOG", "warn")
            // Thousands of visitors from one address, by design.
            .env("TANDEM_LIMIT_VISITOR_MESSAGES", "0")
            .env("TANDEM_LIMIT_ADDRESS_MESSAGES", "0")
            .env("TANDEM_LIMIT_NEW_VISITORS", "0")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", tandem.display()))?;
        Ok(Self { addr, child })
    }

    async fn wait_healthy(&self) -> Result<(), AnyError> {
        let url = format!("http://{}/healthz", self.addr);
        for _ in 0..600 {
            if let Ok(reply) = reqwest::get(&url).await {
                if reply.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("the instance on {} did not start", self.addr).into())
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> Result<u64, AnyError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmRSS".into())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When each reply was sent, by its client id; receipts are matched to it.
type Sent = Arc<Mutex<HashMap<Uuid, Instant>>>;

/// A visitor's socket: reads until the end, reporting the latency of every
/// agent reply it receives.
async fn visitor(
    addr: SocketAddr,
    ready: mpsc::UnboundedSender<Uuid>,
    sent: Sent,
    latencies: mpsc::UnboundedSender<Duration>,
) -> Result<(), AnyError> {
    let url = format!("ws://{addr}/ws/visitor?workspace=load");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    while let Some(frame) = socket.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        match serde_json::from_str::<ServerMsg>(text.as_str())? {
            ServerMsg::Welcome {
                conversation_id, ..
            } => {
                let _ = ready.send(conversation_id);
            }
            ServerMsg::Event { event } => {
                if let EventBody::HumanReply { text, .. } = event.body {
                    let id = text
                        .strip_prefix("reply ")
                        .and_then(|t| Uuid::parse_str(t).ok());
                    let at = id.and_then(|id| sent.lock().unwrap().remove(&id));
                    if let Some(at) = at {
                        let _ = latencies.send(at.elapsed());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// An agent's socket on one conversation, claimed.
async fn agent(
    addr: SocketAddr,
    session: &str,
    conversation: Uuid,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    AnyError,
> {
    let mut request =
        format!("ws://{addr}/ws/inbox?conversation={conversation}").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", format!("tandem_session={session}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let claim = ClientMsg::Claim {
        client_id: Uuid::new_v4(),
    };
    socket
        .send(Message::Text(serde_json::to_string(&claim)?.into()))
        .await?;
    while let Some(frame) = socket.next().await {
        if let Message::Text(text) = frame? {
            if let ServerMsg::Ack { .. } = serde_json::from_str::<ServerMsg>(text.as_str())? {
                return Ok(socket);
            }
        }
    }
    Err("the agent socket closed".into())
}

/// Sends `count` replies at `rate` per second round-robin into the
/// conversations (agents on `addr`), and returns the latencies received.
async fn fan_out(
    addr: SocketAddr,
    session: &str,
    conversations: &[Uuid],
    count: usize,
    rate: u32,
    sent: &Sent,
    latencies: &mut mpsc::UnboundedReceiver<Duration>,
) -> Result<Vec<Duration>, AnyError> {
    let mut agents = Vec::new();
    for &c in conversations {
        let (sink, mut stream) = agent(addr, session, c).await?.split();
        // Keep reading (acks, the agent's own events) so nothing backs up.
        tokio::spawn(async move { while stream.next().await.is_some() {} });
        agents.push(sink);
    }
    while latencies.try_recv().is_ok() {}
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let started = Instant::now();
    for i in 0..count {
        every.tick().await;
        let id = Uuid::new_v4();
        let reply = ClientMsg::Send {
            client_id: id,
            text: format!("reply {id}"),
        };
        let text = serde_json::to_string(&reply)?;
        sent.lock().unwrap().insert(id, Instant::now());
        let n = agents.len();
        agents[i % n].send(Message::Text(text.into())).await?;
    }
    let mut got = Vec::with_capacity(count);
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < count && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), latencies.recv()).await {
            Ok(Some(latency)) => got.push(latency),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "  {} of {count} replies received in {elapsed:.1} s ({:.0}/s sent)",
        got.len(),
        count as f64 / elapsed
    );
    for mut sink in agents {
        let _ = sink.close().await;
    }
    Ok(got)
}

fn percentiles(mut latencies: Vec<Duration>) -> String {
    if latencies.is_empty() {
        return "no replies received".into();
    }
    latencies.sort();
    let at = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    format!(
        "p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let args = Args::parse();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (limit as usize) < args.sockets * 2 + 1000 => {
            return Err(format!(
                "the open files limit ({limit}) is too low for {} sockets",
                args.sockets
            )
            .into())
        }
        Ok(_) => {}
        Err(err) => return Err(format!("cannot raise the open files limit: {err}").into()),
    }

    // A fresh database, so that nothing else is in the lists.
    let base = args.db.url();
    let admin = sqlx::PgPool::connect(&base).await?;
    let name = format!("tandem_load_{}", &Uuid::new_v4().simple().to_string()[..8]);
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&admin)
        .await?;
    let mut url = url::Url::parse(&base)?;
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let result = run(&args, &url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database {name} with (force)"
    )))
    .execute(&admin)
    .await?;
    result
}

async fn run(args: &Args, url: &str) -> Result<(), AnyError> {
    let a = Instance::start(url, &args.model_dir)?;
    a.wait_healthy().await?;
    let b = Instance::start(url, &args.model_dir)?;
    b.wait_healthy().await?;
    let pool = sqlx::PgPool::connect(url).await?;
    let workspace_id = Uuid::new_v4();
    sqlx::query!(
        "insert into workspace (workspace_id, slug, name) values ($1, 'load', 'Load')",
        workspace_id,
    )
    .execute(&pool)
    .await?;
    let account = tandem::auth::create_account(
        &pool,
        workspace_id,
        "agent@load.example",
        "Agent",
        "load-bench-password",
        app::types::Role::Agent,
    )
    .await?;
    let session = tandem::auth::create_session(&pool, account).await?;

    let sent: Sent = Arc::default();
    // Sockets that ended before the bench did (none should).
    let dropped = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let (latency_tx, mut latencies) = mpsc::unbounded_channel();
    let open = |count: usize| {
        let gate = Arc::new(Semaphore::new(args.connecting));
        for _ in 0..count {
            let (gate, ready, sent, latency) = (
                gate.clone(),
                ready_tx.clone(),
                sent.clone(),
                latency_tx.clone(),
            );
            let (dropped, finished) = (dropped.clone(), finished.clone());
            let addr = a.addr;
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await.unwrap();
                let (tx, mut rx) = mpsc::unbounded_channel();
                let socket = tokio::spawn(visitor(addr, tx, sent, latency));
                if let Some(id) = rx.recv().await {
                    let _ = ready.send(id);
                }
                drop(permit);
                let ended = socket.await;
                if !finished.load(Ordering::Relaxed) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    if let Ok(Err(err)) = ended {
                        eprintln!("a visitor socket ended early: {err}");
                    }
                }
            });
        }
    };

    // Warm up (allocator, pool, code paths), then measure from a quiet state.
    println!("instance A on {}, instance B on {}", a.addr, b.addr);
    open(100);
    let mut conversations = Vec::new();
    for _ in 0..100 {
        conversations.push(ready.recv().await.ok_or("sockets ended")?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = a.rss_kib()?;
    let started = Instant::now();
    open(args.sockets);
    for _ in 0..args.sockets {
        conversations.push(ready.recv().await.ok_or("sockets ended")?);
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = a.rss_kib()?;
    let total = args.sockets + 100;
    println!(
        "connect: {} widget sockets in {connect_secs:.1} s: {:.0} sockets/s ({} handshakes in flight)",
        args.sockets,
        args.sockets as f64 / connect_secs,
        args.connecting
    );
    println!(
        "memory: instance A {:.1} MiB with 100 sockets, {:.1} MiB with {total}: {:.1} KiB per idle socket",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / args.sockets as f64
    );

    let targets: Vec<Uuid> = conversations
        .iter()
        .rev()
        .take(args.conversations)
        .copied()
        .collect();
    let rounds = [
        (a.addr, format!("fan-out, one instance: agents on A reply into {} conversations, visitors on A ({total} sockets open)", targets.len())),
        (b.addr, "fan-out, two instances: agents on B reply, visitors on A".to_owned()),
    ];
    for (agents_on, title) in rounds {
        println!("{title}");
        let got = fan_out(
            agents_on,
            &session,
            &targets,
            args.replies,
            args.rate,
            &sent,
            &mut latencies,
        )
        .await?;
        println!("  agent send → visitor receipt: {}", percentiles(got));
    }
    println!(
        "instance A now {:.1} MiB; visitor sockets that ended early: {}",
        a.rss_kib()? as f64 / 1024.0,
        dropped.load(Ordering::Relaxed)
    );
    finished.store(true, Ordering::Relaxed);
    Ok(())
}
