//! `herald serve`: every Herald function in one process on the embedded store, for a laptop.
//! The intake router answers HTTP; the publisher, relay, aggregator and transcoder run through
//! the handlers their Lambdas call (see `hosts`); upkeep purges expired items. State lives only
//! in the store: a kill -9 at any moment loses nothing, and the next start resolves whatever
//! was in flight.

pub mod blobs;
pub mod hosts;
pub mod http;

use anyhow::Context;
use herald_platform::{Backend, Config, build};
use herald_publisher::Publisher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HERALD_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory holding the store, media and keys.
    #[arg(long, env = "HERALD_DATA", default_value = "./herald-data")]
    pub data: PathBuf,
    /// Allow loopback addresses as webhook, import and service targets (local tests only).
    #[arg(long = "allow-loopback-targets", env = "HERALD_ALLOW_LOOPBACK", value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_loopback: bool,
    /// How often the publisher looks for due posts, in milliseconds.
    #[arg(long, env = "HERALD_TICK_MS", default_value_t = 100)]
    pub tick_ms: u64,
}

/// How long in-flight publishes get to finish on SIGTERM before the process exits anyway
/// (what does not finish is resolved at the next start).
const DRAIN: Duration = Duration::from_secs(10);

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut config = Config::from_env().context("configuration")?;
    config.backend = Backend::Embedded {
        data_dir: args.data.clone(),
    };
    config.allow_loopback |= args.allow_loopback;
    if std::env::var_os("HERALD_PUBLIC_URL").is_none() {
        config.public_url = format!("http://{}", args.addr);
    }
    let built = build(&config).await.context("opening the data directory")?;
    let deps = built.deps.clone();

    if let Some(token) =
        herald_app::auth::ensure_admin_key(&deps, config.admin_key.as_ref().map(|s| s.expose()))
            .await?
    {
        println!("Admin key (shown once, keep it): {token}");
    }

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let shutdown = tokio_util::sync::CancellationToken::new();

    let tick = Duration::from_millis(args.tick_ms.max(10));
    let publisher = Arc::new(Publisher::local(deps.clone(), tick));
    let recovered = publisher.recover().await?;
    if recovered > 0 {
        tracing::info!(
            targets = recovered,
            "resolving work an earlier run left in flight"
        );
    }
    // Consumers first, so nothing the relay sends finds nobody listening.
    let bus = built
        .local_bus
        .clone()
        .context("the embedded backend has an in-process bus")?;
    hosts::aggregator(&bus, deps.clone());
    let webhooks = hosts::webhooks(
        &bus,
        deps.clone(),
        herald_webhooks::sender(config.allow_loopback),
        shutdown.clone(),
    );
    let polls = hosts::insights(deps.clone(), shutdown.clone());
    let notifications = hosts::notifications(deps.clone(), shutdown.clone());
    let blobs = built
        .local_blobs
        .clone()
        .context("the embedded backend has a filesystem blob store")?;
    let transcoder = hosts::transcoder(&blobs, deps.clone(), shutdown.clone());
    // The relay stops last, after in-flight publishes have recorded their outcomes.
    let relay_stop = tokio_util::sync::CancellationToken::new();
    let relay = hosts::relay(deps.clone(), relay_stop.clone());
    let ticks = hosts::publisher(publisher.clone(), tick, shutdown.clone());
    let upkeep = tokio::spawn(upkeep_loop(
        built.embedded_table.clone(),
        deps.clock.clone(),
        shutdown.clone(),
    ));

    // Presigned blob URLs first (S3 answers them on AWS), then the API.
    let app = blobs::router(blobs.clone()).fallback_service(herald_intake::router_with_limits(
        Arc::new(deps),
        config.api_limits,
    ));
    tracing::info!(%addr, data = %args.data.display(), startup_ms = started.elapsed().as_millis() as u64, "herald listening");
    println!("herald listening on http://{addr}");
    let stop = shutdown.clone();
    http::serve(listener, app, http::Limits::from_env()?, async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing what is in flight");
        stop.cancel();
    })
    .await?;
    shutdown.cancel();
    let _ = ticks.await;
    let _ = upkeep.await;
    let _ = transcoder.await;
    let _ = webhooks.await;
    let _ = polls.await;
    let _ = notifications.await;
    if tokio::time::timeout(DRAIN, publisher.drain())
        .await
        .is_err()
    {
        tracing::warn!("in-flight publishes did not finish; the next start resolves them");
    }
    // After the drain: the outcomes' events leave before the process does.
    relay_stop.cancel();
    let _ = relay.await;
    Ok(())
}

async fn upkeep_loop(
    table: Option<Arc<herald_storage::embedded::EmbeddedTable>>,
    clock: Arc<dyn herald_ports::Clock>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(table) = table else { return };
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = clock.now().timestamp();
        match table.purge_expired(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(items = n, "expired items purged"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
