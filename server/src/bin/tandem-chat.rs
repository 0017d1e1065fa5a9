//! `tandem-chat`: runs a set of multi-turn conversations (JSON lines: `id`,
//! `turns` of `text`, `expect` "answer" or "handoff", optional `fact` the
//! answer must contain) through a running instance's real visitor socket,
//! as a widget would, and prints what happened to each turn and the time
//! from each send to the first word of the AI's draft: once with a visitor
//! who stops after sending, once with one who keeps typing for a while.
//!
//!     target/release/tandem-chat --url http://127.0.0.1:3000 --workspace demo \
//!         --file eval/conversations-demo.jsonl

use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::types::{ClientMsg, ServerMsg};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use tandem::eval::chat::{self, Outcome, Tally};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(about = "Multi-turn conversations through a running instance's visitor socket")]
struct Args {
    /// The instance (its widget socket is /ws/visitor).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    #[arg(long, default_value = "demo")]
    workspace: String,
    #[arg(long)]
    file: PathBuf,
    /// How long the typing visitor keeps typing after each send.
    #[arg(long, default_value_t = 1500)]
    typing_ms: u64,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, msg: &ClientMsg) -> Result<(), AnyError> {
    socket
        .send(Message::Text(serde_json::to_string(msg)?.into()))
        .await?;
    Ok(())
}

/// Sends one message and reads until the AI answered, offered the team or
/// handed off; with `typing`, keeps "typing" for that long after the send.
async fn turn(
    socket: &mut Socket,
    text: &str,
    typing: Option<Duration>,
) -> Result<(Outcome, Option<Duration>), AnyError> {
    send(
        socket,
        &ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: text.into(),
        },
    )
    .await?;
    let sent = Instant::now();
    let mut typing_until = typing.map(|t| sent + t);
    if typing.is_some() {
        send(socket, &ClientMsg::Typing { typing: true }).await?;
    }
    let mut first_word = None;
    let deadline = sent + Duration::from_secs(60);
    loop {
        let wait = match typing_until {
            Some(until) => until.saturating_duration_since(Instant::now()),
            None => deadline.saturating_duration_since(Instant::now()),
        };
        let frame = match tokio::time::timeout(wait, socket.next()).await {
            Err(_) if typing_until.is_some() => {
                typing_until = None;
                send(socket, &ClientMsg::Typing { typing: false }).await?;
                continue;
            }
            Err(_) => return Err(format!("no outcome within 60 s for {text:?}").into()),
            Ok(None) => return Err("the socket closed".into()),
            Ok(Some(frame)) => frame?,
        };
        let Message::Text(raw) = frame else {
            continue;
        };
        match serde_json::from_str::<ServerMsg>(raw.as_str())? {
            ServerMsg::AiToken { .. } if first_word.is_none() => {
                first_word = Some(sent.elapsed());
            }
            ServerMsg::Event { event } => {
                if let Some(outcome) = Outcome::of(&event.body) {
                    return Ok((outcome, first_word));
                }
            }
            _ => {}
        }
    }
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    values
        .get(((values.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let args = Args::parse();
    let set = chat::parse(&std::fs::read_to_string(&args.file)?)?;
    let ws = args.url.trim_end_matches('/').replacen("http", "ws", 1);
    for typing in [None, Some(Duration::from_millis(args.typing_ms))] {
        let mut tally = Tally::default();
        let mut first_words = Vec::new();
        for conversation in &set {
            let mut request =
                format!("{ws}/ws/visitor?workspace={}", args.workspace).into_client_request()?;
            request
                .headers_mut()
                .insert("Origin", args.url.trim_end_matches('/').parse()?);
            let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
            for (i, t) in conversation.turns.iter().enumerate() {
                let (got, first_word) = turn(&mut socket, &t.text, typing).await?;
                first_words.extend(first_word);
                if !tally.record(conversation, i, &got) {
                    break;
                }
            }
            let _ = socket.close(None).await;
        }
        println!(
            "{} ({}):",
            args.file.display(),
            match typing {
                None => "the visitor stops after sending".to_owned(),
                Some(t) => format!(
                    "the visitor keeps typing {} ms after sending",
                    t.as_millis()
                ),
            }
        );
        println!("  {}", tally.summary());
        for miss in &tally.misses {
            println!("  miss: {miss}");
        }
        let (p50, p95) = (
            percentile(&mut first_words, 0.5),
            percentile(&mut first_words, 0.95),
        );
        println!(
            "  send → first word of the AI's draft over {} answers: p50 {} ms, p95 {} ms",
            first_words.len(),
            p50.as_millis(),
            p95.as_millis()
        );
    }
    Ok(())
}
