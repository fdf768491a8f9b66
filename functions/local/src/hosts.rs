//! The functions `herald serve` hosts beside the API, each through the handler its Lambda
//! calls: the aggregator as a bus rule (EventBridge's rule on AWS), the transcoder on every
//! upload the blob store announces (the bucket's `ObjectCreated` notification on AWS), the
//! relay on its own loop (the table's stream on AWS), and the publisher on a fast tick.

use herald_adapters::memory_bus::Handler;
use herald_adapters::{FsBlobStore, InProcessBus};
use herald_app::Deps;
use herald_publisher::{Invocation, Publisher};
use herald_transcoder::{IMPORT_SUFFIX, UPLOAD_SUFFIX};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the relay looks for events the table outbox holds.
const RELAY_EVERY: Duration = Duration::from_millis(200);

/// Events to the aggregator: every event Herald publishes, as the template's rule
/// (`source: herald`) sends them.
pub fn aggregator(bus: &InProcessBus, deps: Deps) {
    let handler: Handler = Arc::new(move |event| {
        let deps = deps.clone();
        Box::pin(async move {
            let events = herald_aggregator::Invocation::Events(vec![event]);
            herald_aggregator::handle(&deps, events)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    bus.add_rule("aggregator", |_| true, handler);
}

/// How often `herald serve` looks for webhook deliveries due (retries, redeliveries); a new
/// event's deliveries wake it at once.
const WEBHOOKS_EVERY: Duration = Duration::from_secs(1);

/// Events to the webhook function: the bus rule records each event's deliveries (as the
/// template's rule hands the event to the function), and a sweep loop attempts whatever is
/// due, woken by the rule, so an endpoint that hangs never holds the bus.
pub fn webhooks(
    bus: &InProcessBus,
    deps: Deps,
    sender: Arc<dyn herald_ports::WebhookSender>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let wake = Arc::new(tokio::sync::Notify::new());
    let handler: Handler = {
        let deps = deps.clone();
        let wake = wake.clone();
        Arc::new(move |event| {
            let deps = deps.clone();
            let wake = wake.clone();
            Box::pin(async move {
                let made = herald_webhooks::record(&deps, &event)
                    .await
                    .map_err(|e| e.to_string())?;
                if made > 0 {
                    wake.notify_one();
                }
                Ok(())
            })
        })
    };
    bus.add_rule("webhooks", |_| true, handler);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(WEBHOOKS_EVERY) => {}
            }
            if let Err(e) =
                herald_webhooks::handle(&deps, &sender, herald_webhooks::Invocation::Sweep).await
            {
                tracing::warn!(error = %e, "webhook sweep failed; trying again");
            }
        }
    })
}

/// How often insight polls are looked for (the template's schedule on AWS is less eager).
const POLL_EVERY: Duration = Duration::from_secs(60);

/// The aggregator's schedule: insight polls of recently published posts, on a tick.
pub fn insights(deps: Deps, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(POLL_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(e) =
                herald_aggregator::handle(&deps, herald_aggregator::Invocation::Poll).await
            {
                tracing::warn!(error = %e, "insight polling failed; trying again");
            }
        }
    })
}

/// How often Mastodon and Bluesky accounts are polled for replies and mentions.
const NOTIFICATIONS_EVERY: Duration = Duration::from_secs(60);

/// Notification polling on a tick, through the aggregator's handler (as its wake runs it on
/// AWS). With no polled account a run is one index read.
pub fn notifications(deps: Deps, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(NOTIFICATIONS_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(e) =
                herald_aggregator::handle(&deps, herald_aggregator::Invocation::Notifications).await
            {
                tracing::warn!(error = %e, "notification polling failed; trying again");
            }
        }
    })
}

/// Uploads and imports to the transcoder: every original and import order the blob store
/// announces as written, as the template's notification filters (suffixes `/original` and
/// `/import`) pass them.
pub fn transcoder(
    blobs: &Arc<FsBlobStore>,
    deps: Deps,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut created = blobs.subscribe_created();
    let blobs = blobs.clone();
    tokio::spawn(async move {
        // Uploads and orders that landed while no transcoder ran (a server killed mid-way) are
        // found in the store and handled first; one handled already is left as it is.
        let mut left = Vec::new();
        for suffix in [IMPORT_SUFFIX, UPLOAD_SUFFIX] {
            match blobs.keys_ending_with(suffix).await {
                Ok(keys) => left.extend(keys),
                Err(e) => tracing::warn!(error = %e, "could not look for media left unhandled"),
            }
        }
        // An import waits on a peer for up to its timeout: it runs beside the transcoding, two
        // at a time (each holds its bytes in memory while they arrive).
        let imports = Arc::new(tokio::sync::Semaphore::new(2));
        let handle = |key: String| {
            let deps = deps.clone();
            let imports = imports.clone();
            async move {
                if key.ends_with(IMPORT_SUFFIX) {
                    let Ok(permit) = imports.acquire_owned().await else {
                        return;
                    };
                    tokio::spawn(async move {
                        transcode(&deps, &key).await;
                        drop(permit);
                    });
                } else {
                    transcode(&deps, &key).await;
                }
            }
        };
        for key in left {
            if shutdown.is_cancelled() {
                return;
            }
            handle(key).await;
        }
        loop {
            let key = tokio::select! {
                _ = shutdown.cancelled() => return,
                key = created.recv() => match key {
                    Some(key) => key,
                    None => return,
                },
            };
            if !key.ends_with(UPLOAD_SUFFIX) && !key.ends_with(IMPORT_SUFFIX) {
                continue;
            }
            handle(key).await;
        }
    })
}

async fn transcode(deps: &Deps, key: &str) {
    match herald_transcoder::handle(deps, key).await {
        Ok(ready) => tracing::info!(blob_key = %key, ready, "upload transcoded"),
        Err(e) => tracing::warn!(blob_key = %key, error = %e, "transcoding failed"),
    }
}

/// The relay: pending outbox events to the bus, on its own loop, so events leave whether or
/// not a publisher tick runs.
pub fn relay(deps: Deps, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(RELAY_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(e) = herald_relay::handle(&deps, herald_relay::StreamBatch::default()).await
            {
                tracing::warn!(error = %e, "event relay failed; trying again");
            }
        }
        // What is already in the outbox leaves before the process does.
        if let Err(e) = herald_relay::handle(&deps, herald_relay::StreamBatch::default()).await {
            tracing::warn!(error = %e, "final event relay failed; the next start sends it");
        }
    })
}

/// The publisher on a fast tick, through the handler its Lambda calls.
pub fn publisher(
    publisher: Arc<Publisher>,
    every: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(e) = publisher.handle(Invocation::Tick).await {
                tracing::warn!(error = %e, "publisher tick failed; trying again");
            }
        }
    })
}
