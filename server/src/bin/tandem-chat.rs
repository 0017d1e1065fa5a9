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

use app::types::{ClientMsg, ConversationStatus, EventBody, ServerMsg};
use clap::Parser;
use futures::{SinkExt, StreamExt};
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

#[derive(serde::Deserialize)]
struct Conversation {
    id: String,
    turns: Vec<Turn>,
}

#[derive(serde::Deserialize)]
struct Turn {
    text: String,
    expect: String,
    fact: Option<String>,
}

enum Outcome {
    Answered(String),
    HandedOff,
    Offered,
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
            ServerMsg::Event { event } => match event.body {
                EventBody::AiAnswer { text, .. } => {
                    return Ok((Outcome::Answered(text), first_word))
                }
                EventBody::AiUnsure { .. } => return Ok((Outcome::Offered, first_word)),
                EventBody::StatusChange {
                    status: ConversationStatus::WaitingHuman,
                    ..
                } => return Ok((Outcome::HandedOff, first_word)),
                _ => {}
            },
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
    let set: Vec<Conversation> = std::fs::read_to_string(&args.file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let ws = args.url.trim_end_matches('/').replacen("http", "ws", 1);
    for typing in [None, Some(Duration::from_millis(args.typing_ms))] {
        let (mut turns, mut right, mut follow_ups, mut follow_ups_right) = (0, 0, 0, 0);
        let mut first_words = Vec::new();
        let mut misses = Vec::new();
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
                let ok = match (&got, t.expect.as_str()) {
                    (Outcome::Answered(text), "answer") => t
                        .fact
                        .as_ref()
                        .is_none_or(|f| text.to_lowercase().contains(&f.to_lowercase())),
                    (Outcome::HandedOff, "handoff") => true,
                    _ => false,
                };
                turns += 1;
                right += usize::from(ok);
                if i > 0 {
                    follow_ups += 1;
                    follow_ups_right += usize::from(ok);
                }
                if !ok {
                    let said = match &got {
                        Outcome::Answered(text) => format!("answered: {}", text.replace('\n', " ")),
                        Outcome::HandedOff => "handed off".into(),
                        Outcome::Offered => "said it was unsure".into(),
                    };
                    misses.push(format!(
                        "{} turn {}: {:?} → {said}",
                        conversation.id,
                        i + 1,
                        t.text
                    ));
                }
                if matches!(got, Outcome::HandedOff) {
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
        println!(
            "  {right} of {turns} turns as expected; follow-ups {follow_ups_right} of {follow_ups}"
        );
        for miss in &misses {
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
