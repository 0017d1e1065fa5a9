//! Tandem's server: start-up, configuration, the HTTP and WebSocket edges,
//! and the server-only engines, one module each.

// The inbox's view types are deep; rendering them is instantiated here.
#![recursion_limit = "256"]

pub mod answer;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk;
pub mod embed;
pub mod eval;
pub mod html;
pub mod http;
pub mod inbox;
pub mod ingest;
pub mod lang;
pub mod limits;
pub mod mail;
pub mod outbound;
pub mod policy;
pub mod privacy;
pub mod retrieve;
pub mod review;
pub mod setup;
pub mod thread;
pub mod turn;
pub mod widget;

use std::sync::Arc;

use app::types::Confidence;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use embed::Embedder;
use thread::hub::Hub;

/// Instance-wide settings of the answer engine and handoff policy.
#[derive(Clone, Debug)]
pub struct AnswerSettings {
    /// The threshold of workspaces whose admins have not set their own.
    pub confidence_threshold: Confidence,
}

/// The server-only engines, shared by every request and socket.
#[derive(Clone)]
pub struct Engines {
    /// The serving pool ([`db::APP_ROLE`]): under row-level security, so a
    /// statement sees a workspace's rows only through `pool.ws(id)`.
    pub pool: PgPool,
    /// The owner's pool, for the statements that cross workspaces by design
    /// (see [`db`]).
    pub system: db::System,
    /// The address visitors reach this server at (no trailing slash); the
    /// stable URLs of uploaded files and snippets start with it.
    pub public_url: Arc<str>,
    pub embedder: Embedder,
    pub hub: Hub,
    pub settings: Arc<AnswerSettings>,
    /// How many AI turns may run at once on this instance (each uses
    /// database connections while it embeds, retrieves and streams).
    pub turn_slots: Arc<tokio::sync::Semaphore>,
    /// This instance's AI turns (lease owner id, debounce, running tasks).
    pub turns: Arc<turn::Turns>,
    /// The sockets' heartbeat.
    pub live: http::LiveSettings,
    /// Email follow-ups and reminders (off without an SMTP URL).
    pub mail: Arc<mail::Mail>,
    /// Rate limits on visitors' messages and new visitors.
    pub limits: Arc<limits::Limits>,
    /// Where the crawler and the model endpoint may connect.
    pub outbound: outbound::Outbound,
    /// The demo help centre is served at `/demo/` (`TANDEM_DEMO`).
    pub demo: bool,
    /// Behind a reverse proxy, the header it puts the client's address in
    /// (`TANDEM_CLIENT_IP_HEADER`); none: the socket's peer is the client.
    pub client_ip_header: Option<axum::http::HeaderName>,
}

impl Engines {
    /// Whether visitors and agents reach this instance over `https`.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The default for [`Engines::turn_slots`]: well below the pool's 20 connections.
pub const CONCURRENT_TURNS: usize = 4;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub engines: Engines,
    pub desk: Arc<desk::EngineDesk>,
}

impl AppState {
    /// Builds the state and starts this instance's notification listener and
    /// its sweeps for AI turns left pending (by a crash, a restart) and for
    /// escalations waiting past their workspace's maximum.
    pub fn new(engines: Engines, leptos_options: LeptosOptions) -> Self {
        engines.hub.listen(engines.pool.clone());
        turn::sweep(engines.clone());
        thread::waits::sweep(engines.pool.clone(), engines.system.clone());
        privacy::sweep(engines.pool.clone(), engines.system.clone());
        mail::spawn_sender(
            engines.pool.clone(),
            engines.system.clone(),
            engines.mail.clone(),
            engines.public_url.clone(),
        );
        let desk = Arc::new(desk::EngineDesk {
            engines: engines.clone(),
        });
        Self {
            leptos_options,
            engines,
            desk,
        }
    }
}

pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("tandem")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}
