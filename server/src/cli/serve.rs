//! `tandem serve`: the database, the model, the engines and the HTTP server.

use crate::config::ServeArgs;
use crate::db::Scope;
use crate::http::LiveSettings;
use crate::ingest::crawl::CrawlSettings;
use crate::ingest::jobs;
use crate::thread::hub::Hub;
use crate::turn::Turns;
use crate::{db, demo, http, AnswerSettings, AppState, Engines};
use app::types::Confidence;
use axum::serve::ListenerExt;
use std::sync::Arc;
use std::time::Duration;

use super::{connect, AnyError};

pub async fn serve(args: ServeArgs) -> Result<(), AnyError> {
    // Migrated as the tables' owner; served as a role under their row-level
    // security (the owner's pool stays for the sweeps across workspaces).
    let owner = connect(&args.db).await?;
    let pool = db::connect_app(&owner, args.db.app_database_url.as_deref()).await?;
    let system = db::System(owner.clone());
    let embedder = args.model.load()?;
    let mut outbound = args.outbound.policy()?;
    if args.demo {
        outbound = outbound.with_own_site(&args.public_url(), demo::CRAWLED_PATHS);
    }
    let engines =
        Engines {
            pool: pool.clone(),
            system: system.clone(),
            public_url: args.public_url().into(),
            embedder: embedder.clone(),
            hub: Hub::new(),
            settings: Arc::new(AnswerSettings {
                confidence_threshold: Confidence::new(args.confidence_threshold)
                    .map_err(|e| format!("TANDEM_CONFIDENCE_THRESHOLD: {e}"))?,
            }),
            turn_slots: Arc::new(tokio::sync::Semaphore::new(crate::CONCURRENT_TURNS)),
            turns: Arc::new(Turns::new(Duration::from_millis(args.ai_quiet_ms))),
            live: LiveSettings {
                heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
            },
            mail: crate::mail::Mail::new(
                args.smtp_url.as_deref(),
                &args.mail_from,
                Duration::from_secs(args.follow_up_delay_secs),
            )?,
            limits: Arc::new(crate::limits::Limits::new(
                args.limit_visitor_messages,
                args.limit_address_messages,
                args.limit_new_visitors,
            )),
            demo: args.demo,
            outbound: outbound.clone(),
            client_ip_header: match args.client_ip_header.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(name) => Some(axum::http::HeaderName::try_from(name).map_err(|_| {
                    format!("TANDEM_CLIENT_IP_HEADER: {name:?} is not a header name")
                })?),
            },
        };
    // Every socket is a file descriptor: allow as many as the system does.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open files limit"),
    }
    let state = AppState::new(engines, crate::leptos_options(&args.site_root, args.addr));
    if !std::path::Path::new(&args.site_root)
        .join("pkg/tandem_bg.wasm")
        .exists()
    {
        tracing::warn!(site_root = %args.site_root, "the UI is not built: run `make run` (or scripts/build.sh)");
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} ({e}); set TANDEM_ADDR to another address",
                args.addr
            )
        })?;
    let public = args.public_url();

    let mut login = None;
    if args.demo {
        let demo =
            demo::ensure(&owner, &args.db.data_dir, args.demo_admin_password.clone()).await?;
        login = Some(demo.admin_password.clone());
        if demo.needs_crawl {
            let start = format!("{public}/demo/index.html");
            tracing::info!(%start, "training the demo workspace's AI by crawling the demo site");
            let source_id = jobs::website_source(
                &pool,
                demo.workspace_id,
                &start,
                &CrawlSettings::default(),
                None,
            )
            .await?;
            jobs::enqueue(pool.ws(demo.workspace_id), source_id).await?;
        }
    }
    crate::ingest::reembed::spawn(pool.clone(), system.clone(), embedder.clone());
    crate::policy::calibrate::spawn(
        pool.clone(),
        system.clone(),
        embedder.clone(),
        state.engines.settings.confidence_threshold,
    );
    // The intent classifiers a new workspace uses, fitted before the first
    // visitor (and before the demo crawl competes for the cores): ~10 s.
    tracing::info!("fitting the intent classifiers on the built-in examples");
    if let Err(err) = crate::policy::intent::warm_up(&embedder).await {
        tracing::warn!(error = %err, "fitting the intent classifiers failed");
    }
    jobs::spawn_worker(pool.clone(), system.clone(), embedder, outbound);

    println!();
    println!("  Tandem is running at {public}");
    if args.demo {
        println!("  Demo help centre with the chat widget:  {public}/demo/");
    }
    println!("  Agent inbox:                            {public}/inbox");
    if let Some(password) = login {
        println!(
            "  Sign in as {} with password {}",
            demo::ADMIN_EMAIL,
            password
                .as_deref()
                .unwrap_or("(set by TANDEM_DEMO_ADMIN_PASSWORD)")
        );
    }
    match crate::setup::prepare(&owner, &args.db.data_dir, &public).await {
        Ok(Some(link)) => {
            println!("  Set up your own workspace (the link is kept in");
            println!("  {}):", args.db.data_dir.join("setup-url").display());
            println!("    {link}");
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "could not prepare the first-run setup"),
    }
    println!();

    // Small writes (socket frames, streamed tokens) go out at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    // Connection addresses: sign-in throttling counts failures per address.
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
