//! The OpenAI-compatible generator against a real model server: llama.cpp's
//! own, with SmolLM2-135M-Instruct (`scripts/llm-server.sh`, both from PyPI),
//! one per test on 127.0.0.1. Not about the answers (a 135M model invents),
//! about the protocol: a streamed reply, a server killed or stalled in the
//! middle of one, and a takeover that must stop the generation on the server.

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use app::types::policy::{GeneratorSettings, Policy};
use app::types::{ClientMsg, HandoffReason};
use serde_json::Value;
use sqlx::PgPool;
use tandem::answer::generate::{sources, GenerateError, Generator, Sink};
use tandem::answer::openai::OpenAi;
use tandem::policy::{settings, Message};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::helpers::{count_events, TestApp};

const QUESTION: &str = "How long do refunds take?";
/// Reading the prompt (five passages and the rules, ~1,600 tokens) takes
/// ~11 s on one thread here, more while the other tests run.
const PROMPT_READ: Duration = Duration::from_secs(90);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Installs the server and the model, once per run (quick when done already).
fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let status = std::process::Command::new(root().join("scripts/llm-server.sh"))
            .arg("setup")
            .current_dir(root())
            .status()
            .expect("run scripts/llm-server.sh setup");
        assert!(status.success(), "scripts/llm-server.sh setup failed");
    });
}

/// llama.cpp's server, killed when dropped.
struct LlamaServer {
    child: Child,
    /// Where it listens, such as `http://127.0.0.1:40291`.
    address: String,
    /// Its last lines of output, for a failure's message.
    log: Arc<Mutex<VecDeque<String>>>,
    http: reqwest::Client,
}

/// Keeps the last lines of a child's output.
fn keep_lines(
    from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = log.lock().unwrap();
            if log.len() == 40 {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}

impl LlamaServer {
    /// Starts `scripts/llm-server.sh start 0` with these settings (see the
    /// script) on a free port, and waits until it answers.
    async fn start(settings: &[(&str, &str)]) -> Self {
        setup();
        let mut child = Command::new(root().join("scripts/llm-server.sh"))
            .args(["start", "0"])
            .envs(settings.iter().copied())
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start scripts/llm-server.sh");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        keep_lines(child.stderr.take().unwrap(), log.clone());
        // Its first line on stdout says where it listens, once the model is in.
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let read =
            tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut first)).await;
        let address = first
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_owned);
        let mut server = Self {
            child,
            address: address.clone().unwrap_or_default(),
            log: log.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        if address.is_none() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server.child.wait()).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "llama.cpp's server did not start ({read:?}, {first:?}):\n{}",
                server.log_tail()
            );
        }
        keep_lines(stdout, log);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match server.http.get(server.url("/health")).send().await {
                Ok(response) if response.status().is_success() => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!(
                    "llama.cpp's server is not healthy ({other:?}):\n{}",
                    server.log_tail()
                ),
            }
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The API root a client is given.
    fn base_url(&self) -> String {
        self.url("/v1")
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Kills it at once (SIGKILL), as a crash would.
    async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }

    /// Freezes it (SIGSTOP): its connections stay open, and silent.
    fn freeze(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Its one slot, as `GET /slots` shows it: whether it is working on a
    /// request, and how many tokens of the reply it has written.
    async fn slot(&self) -> (bool, i64) {
        let slots: Value = self
            .http
            .get(self.url("/slots"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let slot = &slots[0];
        (
            slot["is_processing"].as_bool().unwrap_or(false),
            slot["next_token"][0]["n_decoded"].as_i64().unwrap_or(0),
        )
    }
}

async fn within<T>(limit: Duration, what: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, what).await {
        Ok(done) => done,
        Err(_) => panic!("not done within {limit:?}"),
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

async fn policy(app: &TestApp) -> Policy {
    settings::load(
        &app.state.engines.pool,
        app.workspace_id,
        app.state.engines.settings.confidence_threshold,
    )
    .await
    .unwrap()
}

/// Makes the server the workspace's generator, as an admin would (a local
/// server takes no key), and returns the policy saved.
async fn use_server(app: &TestApp, pool: &PgPool, server: &LlamaServer) -> Policy {
    let mut p = policy(app).await;
    p.generator = GeneratorSettings::OpenAi {
        base_url: server.base_url(),
        model: "smollm2".into(),
        api_key: String::new(),
    };
    settings::save(pool, app.workspace_id, &p).await.unwrap();
    let p = policy(app).await;
    assert!(matches!(&p.generator, GeneratorSettings::OpenAi { .. }));
    p
}

/// Asks the question as the live turn does: decision, then the generator.
async fn ask(
    app: &TestApp,
    policy: &Policy,
    generator: &dyn Generator,
    out: &Sink,
) -> tandem::answer::Response {
    let message = Message {
        workspace_id: app.workspace_id,
        text: QUESTION.into(),
        ..Message::default()
    };
    tandem::answer::respond(
        &app.state.engines.pool,
        &app.state.engines.embedder,
        policy,
        generator,
        &message,
        out,
    )
    .await
    .unwrap()
}

fn failure(response: &tandem::answer::Response) -> String {
    assert!(response.answer.is_none(), "{response:?}");
    assert!(!response.decision.answered);
    match &response.decision.handoff {
        Some(HandoffReason::GeneratorFailed { error }) => error.clone(),
        other => panic!("expected a failed generator, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_real_llama_cpp_server_streams_an_answer(pool: PgPool) {
    let server = LlamaServer::start(&[]).await;
    let app = TestApp::spawn_trained(pool.clone()).await;
    let policy = use_server(&app, &pool, &server).await;
    let generator = tandem::answer::generator(
        &policy.generator,
        &app.state.engines.outbound,
        Duration::ZERO,
    );

    let (out, mut rx) = mpsc::unbounded_channel();
    let response = within(
        Duration::from_secs(150),
        ask(&app, &policy, generator.as_ref(), &out),
    )
    .await;
    let pieces = drain(&mut rx);
    assert!(pieces.len() > 1, "streamed in pieces: {pieces:?}");
    // A model this small rarely cites its sources: a reply that is not
    // grounded is handed off, which is right too. A protocol fault is not.
    match (&response.answer, &response.decision.handoff) {
        (Some(answer), None) => {
            assert!(response.decision.answered);
            assert!(!answer.citations.is_empty(), "{answer:?}");
        }
        (None, Some(reason)) => assert!(
            !matches!(reason, HandoffReason::GeneratorFailed { .. }),
            "{reason:?}, after {pieces:?}\n{}",
            server.log_tail()
        ),
        other => panic!("{other:?}"),
    }

    // The same passages straight to the generator: what it returns is
    // exactly what it streamed (llama.cpp opens with a role-only chunk whose
    // content is null, and ends with finish_reason, then [DONE]).
    let given = &response.ranked[..response.ranked.len().min(tandem::answer::GIVEN)];
    let (out, mut rx) = mpsc::unbounded_channel();
    let text = within(
        Duration::from_secs(150),
        generator.generate(QUESTION, &sources(given), &out),
    )
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", server.log_tail()));
    let pieces = drain(&mut rx);
    assert!(!text.is_empty());
    assert!(pieces.len() > 1, "{pieces:?}");
    assert_eq!(pieces.concat(), text);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_killed_llama_cpp_server_becomes_a_handoff(pool: PgPool) {
    // It does not stop writing by itself before it is killed.
    let mut server =
        LlamaServer::start(&[("LLM_IGNORE_EOS", "1"), ("LLM_MAX_TOKENS", "1000")]).await;
    let app = TestApp::spawn_trained(pool.clone()).await;
    let policy = use_server(&app, &pool, &server).await;
    let generator = tandem::answer::generator(
        &policy.generator,
        &app.state.engines.outbound,
        Duration::ZERO,
    );

    let (out, mut rx) = mpsc::unbounded_channel();
    let asked = ask(&app, &policy, generator.as_ref(), &out);
    tokio::pin!(asked);
    let first = within(PROMPT_READ, async {
        tokio::select! {
            piece = rx.recv() => piece.unwrap(),
            response = &mut asked => panic!("ended before any piece: {response:?}"),
        }
    })
    .await;
    server.kill().await;
    let response = within(Duration::from_secs(60), asked).await;
    let error = failure(&response);
    assert!(
        error.contains("broke off"),
        "{error} (after {first:?}{:?})",
        drain(&mut rx)
    );

    // With the server gone, the next question is handed off at once.
    let began = Instant::now();
    let response = within(
        Duration::from_secs(60),
        ask(&app, &policy, generator.as_ref(), &out),
    )
    .await;
    let error = failure(&response);
    // In words that say nothing of the address or the system's error.
    assert_eq!(error, "the model endpoint could not be reached");
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "{:?}",
        began.elapsed()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stalled_llama_cpp_server_becomes_a_handoff_after_the_idle_timeout(pool: PgPool) {
    // While it reads the prompt it sends an SSE comment every second or two,
    // which keeps the shortened idle timeout below from firing too early.
    let server = LlamaServer::start(&[
        ("LLM_IGNORE_EOS", "1"),
        ("LLM_MAX_TOKENS", "1000"),
        ("LLM_SSE_PING", "1"),
    ])
    .await;
    let app = TestApp::spawn_trained(pool.clone()).await;
    let policy = use_server(&app, &pool, &server).await;
    // The live turn's generator is the same, with 20-second timeouts.
    let idle = Duration::from_secs(5);
    let generator = OpenAi::new(
        server.base_url(),
        "smollm2",
        "",
        &app.state.engines.outbound,
    )
    .with_timeouts(Duration::from_secs(10), idle);

    let (out, mut rx) = mpsc::unbounded_channel();
    let asked = ask(&app, &policy, &generator, &out);
    tokio::pin!(asked);
    within(PROMPT_READ, async {
        tokio::select! {
            piece = rx.recv() => piece.unwrap(),
            response = &mut asked => panic!("ended before any piece: {response:?}"),
        }
    })
    .await;
    server.freeze();
    let frozen = Instant::now();
    let response = within(Duration::from_secs(60), asked).await;
    let waited = frozen.elapsed();
    assert_eq!(failure(&response), GenerateError::Timeout.to_string());
    assert!(
        waited >= idle - Duration::from_secs(1) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_takeover_stops_the_generation_on_the_llama_cpp_server(pool: PgPool) {
    // Left alone it would write 2,000 tokens: half a minute at the least.
    let server = LlamaServer::start(&[("LLM_IGNORE_EOS", "1"), ("LLM_MAX_TOKENS", "2000")]).await;
    let app = TestApp::spawn_trained(pool.clone()).await;
    use_server(&app, &pool, &server).await;
    // Signing in takes a while: before the question.
    let session = app.session().await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask(QUESTION).await;

    // The live turn asked, and the model is writing the answer.
    within(PROMPT_READ, async {
        loop {
            match server.slot().await {
                (true, written) if written > 0 => break,
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    })
    .await;
    // The agent's socket opens only now: one left unread would be dropped.
    let mut agent = app.agent_socket(&session, visitor.conversation_id, 0).await;
    agent
        .act(ClientMsg::Claim {
            client_id: Uuid::new_v4(),
        })
        .await
        .unwrap();
    let claimed = Instant::now();

    // The turn drops the stream; llama.cpp sees the connection close at its
    // next write and cancels the request.
    loop {
        let (processing, written) = server.slot().await;
        if !processing {
            break;
        }
        assert!(
            claimed.elapsed() < Duration::from_secs(15),
            "still writing ({written} tokens) after the takeover:\n{}",
            server.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Cancelled, not finished: its log says so.
    within(Duration::from_secs(5), async {
        while !server.log_tail().contains("cancel task") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(count_events(&pool, "ai_answer").await, 0);
}
