//! A local SMTP server for the tests: it speaks the protocol's plain
//! commands (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) as a relay
//! would, and keeps what it receives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope's sender.
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (dot-stuffing undone, soft breaks of
    /// quoted-printable joined).
    pub data: String,
}

#[derive(Clone)]
pub struct Smtp {
    port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
    arrived: Arc<tokio::sync::Notify>,
}

impl Smtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp = Self {
            port: listener.local_addr().unwrap().port(),
            received: Arc::default(),
            arrived: Arc::default(),
        };
        let server = smtp.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.session(stream).await;
                });
            }
        });
        smtp
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for the next message (those already taken are not returned again).
    pub async fn next_message(&self, wait: Duration) -> Mail {
        tokio::time::timeout(wait, async {
            loop {
                let notified = self.arrived.notified();
                if let Some(mail) = {
                    let mut all = self.received.lock().unwrap();
                    (!all.is_empty()).then(|| all.remove(0))
                } {
                    return mail;
                }
                notified.await;
            }
        })
        .await
        .expect("an email within the wait")
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 tandem-test ESMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_uppercase();
            match verb.as_str() {
                "EHLO" => {
                    write
                        .write_all(b"250-tandem-test\r\n250 8BITMIME\r\n")
                        .await?
                }
                "HELO" => write.write_all(b"250 tandem-test\r\n").await?,
                "MAIL" => {
                    from = command[5..].trim().trim_start_matches("FROM:").to_owned();
                    to.clear();
                    write.write_all(b"250 OK\r\n").await?;
                }
                "RCPT" => {
                    to.push(command[5..].trim().trim_start_matches("TO:").to_owned());
                    write.write_all(b"250 OK\r\n").await?;
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    if data
                        .to_lowercase()
                        .contains("content-transfer-encoding: quoted-printable")
                    {
                        data = data.replace("=\r\n", "").replace("=3D", "=");
                    }
                    self.received.lock().unwrap().push(Mail {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    self.arrived.notify_waiters();
                    write.write_all(b"250 OK queued\r\n").await?;
                }
                "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => write.write_all(b"502 command not implemented\r\n").await?,
            }
        }
    }
}
