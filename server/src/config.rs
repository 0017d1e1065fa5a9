//! Settings from the command line and environment, with documented defaults
//! (see `.env.example`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The threshold of a workspace with neither an admin's threshold nor a
/// calibration yet (on the tune sets: one answerable question in eight handed
/// off on Wikipedia pages and 42 % of unanswerable ones; on the SQLite manual
/// two in three and 94 %: where the scores fall differs by site, which is why
/// each workspace is calibrated).
pub const DEFAULT_THRESHOLD: f32 = 0.5;
#[derive(Clone, Debug, Args)]
pub struct DbArgs {
    /// PostgreSQL URL. When unset, Tandem uses the project's private cluster
    /// (started by `make run` / `scripts/db.sh`) under `TANDEM_DATA_DIR`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The URL `serve` answers requests with: a role that owns no table, so
    /// the tables' row-level security holds (`tandem_app`, created by the
    /// migrations). Default: `DATABASE_URL` with the user `tandem_app`.
    #[arg(long, env = "TANDEM_APP_DATABASE_URL", hide_env_values = true)]
    pub app_database_url: Option<String>,

    /// Where the private cluster and other local state live.
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
}

impl DbArgs {
    /// The URL to connect to: `DATABASE_URL`, or the private cluster's socket.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => {
                let dir = std::path::absolute(self.data_dir.join("run"))
                    .unwrap_or_else(|_| self.data_dir.join("run"));
                format!("postgres:///tandem?host={}&user=tandem", dir.display())
            }
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct ModelArgs {
    /// Folder with the embedding model (model.onnx, tokenizer.json,
    /// model.json, libonnxruntime.so): multilingual-e5-small by default.
    #[arg(long, env = "TANDEM_MODEL_DIR", default_value = "models/e5-small-int8")]
    pub model_dir: PathBuf,
    /// Folder with the English companion model (all-MiniLM-L6-v2, the model
    /// of earlier versions): English questions are also searched with it.
    /// Skipped when the folder does not exist.
    #[arg(
        long,
        env = "TANDEM_ENGLISH_MODEL_DIR",
        default_value = "models/minilm-int8"
    )]
    pub english_model_dir: PathBuf,
}

impl ModelArgs {
    /// Loads the model, and the English companion when its folder exists.
    pub fn load(&self) -> Result<crate::embed::Embedder, crate::embed::EmbedError> {
        let embedder = crate::embed::Embedder::load(&self.model_dir)?;
        if self.english_model_dir.join("model.onnx").exists() {
            let english = crate::embed::Embedder::load(&self.english_model_dir)?;
            return Ok(embedder.with_english(english));
        }
        Ok(embedder)
    }
}

#[derive(Clone, Debug, Args)]
pub struct OutboundArgs {
    /// Private or local addresses the crawler and the model endpoint may
    /// reach besides the public internet, comma-separated: host names
    /// (`docs.intranet`, `*.intranet`), `host:port`, IP addresses,
    /// `IP:port` or networks (`10.0.0.0/8`). Default: none (loopback,
    /// private, link-local and metadata addresses are refused).
    #[arg(
        long = "outbound-allow",
        env = "TANDEM_OUTBOUND_ALLOW",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allow: Vec<String>,
}

impl OutboundArgs {
    pub fn policy(&self) -> Result<crate::outbound::Outbound, String> {
        crate::outbound::Outbound::allowing(&self.allow)
            .map_err(|e| format!("TANDEM_OUTBOUND_ALLOW: {e}"))
    }
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub outbound: OutboundArgs,

    /// Address to listen on.
    #[arg(long, env = "TANDEM_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The URL visitors and agents use to reach this instance (defaults to
    /// `http://TANDEM_ADDR`). The demo site is crawled from here.
    #[arg(long, env = "TANDEM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Behind a reverse proxy: the request header in which it passes the
    /// client's address (`X-Forwarded-For`: the right-most entry, the one
    /// the proxy added; `X-Real-IP`). Without it every client would share
    /// the proxy's address, and its sign-in throttle. Set it only behind a
    /// proxy that sets the header, or clients could name any address.
    #[arg(long, env = "TANDEM_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,

    /// Where the built UI (pkg/tandem.js, .wasm, .css) lives.
    #[arg(long, env = "TANDEM_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Seed the demo workspace (help centre at /demo/, admin account) on first start.
    #[arg(long, env = "TANDEM_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Password for the seeded demo admin; a random one is generated (and kept
    /// in TANDEM_DATA_DIR/demo-admin-password) when unset.
    #[arg(long, env = "TANDEM_DEMO_ADMIN_PASSWORD", hide_env_values = true)]
    pub demo_admin_password: Option<String>,

    /// How long a visitor must have paused before the AI answers, besides
    /// not typing (0: as soon as they are not typing). A burst of messages
    /// gets one answer: a message or typing before any of the answer is
    /// shown restarts the turn (within 3.5 s, or five times this).
    #[arg(long, env = "TANDEM_AI_QUIET_MS", default_value_t = 0)]
    pub ai_quiet_ms: u64,

    /// How often sockets ping their clients, in seconds; a client silent for
    /// three pings is disconnected.
    #[arg(long, env = "TANDEM_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,

    /// Messages one visitor may send per minute (0: no limit).
    #[arg(long, env = "TANDEM_LIMIT_VISITOR_MESSAGES", default_value_t = 20)]
    pub limit_visitor_messages: u32,

    /// Messages all visitors from one client address may send per minute
    /// (0: no limit). Behind a reverse proxy every visitor has its address:
    /// raise it or set 0 there.
    #[arg(long, env = "TANDEM_LIMIT_ADDRESS_MESSAGES", default_value_t = 120)]
    pub limit_address_messages: u32,

    /// New visitors one client address may start per minute (0: no limit).
    #[arg(long, env = "TANDEM_LIMIT_NEW_VISITORS", default_value_t = 30)]
    pub limit_new_visitors: u32,

    /// SMTP server for email follow-ups and reminders:
    /// `smtp://user:pass@host:587` (STARTTLS when offered; `?tls=required`
    /// to insist) or `smtps://…:465`. Unset: no email is sent.
    #[arg(long, env = "TANDEM_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of Tandem's emails (the agent's or workspace's name is
    /// put in front of the address).
    #[arg(
        long,
        env = "TANDEM_MAIL_FROM",
        default_value = "Tandem <tandem@localhost>"
    )]
    pub mail_from: String,

    /// How long after a team reply its email follow-up waits (the visitor
    /// may come back and see it in the chat first), in seconds.
    #[arg(long, env = "TANDEM_FOLLOW_UP_DELAY_SECS", default_value_t = 60)]
    pub follow_up_delay_secs: u64,

    /// Answers whose confidence is below this go to a person instead.
    #[arg(long, env = "TANDEM_CONFIDENCE_THRESHOLD", default_value_t = DEFAULT_THRESHOLD)]
    pub confidence_threshold: f32,
}

impl ServeArgs {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    /// Every setting the server reads from the environment is in
    /// `.env.example` and in the README's configuration table: a new one
    /// fails here until it is documented.
    #[test]
    fn every_setting_is_documented() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        let (example, readme) = (read(".env.example"), read("README.md"));
        let mut sources = Vec::new();
        let mut dirs = vec![format!("{root}/server/src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path.display().to_string());
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push(std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut settings = std::collections::BTreeSet::new();
        for source in &sources {
            for marker in ["env = \"", "env::var(\""] {
                for (at, _) in source.match_indices(marker) {
                    let rest = &source[at + marker.len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if name.starts_with("TANDEM_") || name == "DATABASE_URL" {
                        settings.insert(name);
                    }
                }
            }
        }
        assert!(settings.len() > 15, "{settings:?}");
        let missing: Vec<_> = settings
            .iter()
            .filter(|s| !example.contains(s.as_str()) || !readme.contains(s.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "not in .env.example or README: {missing:?}"
        );
    }
}
