//! The publisher function: on AWS an EventBridge schedule invokes it every minute; it publishes
//! everything due before the next invocation, each target at its second. Locally, `herald serve`
//! drives the same dispatcher on a fast tick.

use herald_app::publish::{Dispatcher, PublishOptions, RunReport};
use herald_app::{AppError, Deps};

/// How a scheduled run is configured: it covers the minute until the next one.
pub fn scheduled_run_options() -> PublishOptions {
    PublishOptions {
        lookahead: chrono::Duration::seconds(60),
        ..PublishOptions::default()
    }
}

/// One invocation. The event's content does not matter (a schedule tick, a retry of one, or a
/// duplicate delivery): claims make every run safe to repeat.
pub async fn handle(deps: &Deps, _event: serde_json::Value) -> Result<RunReport, AppError> {
    let dispatcher = Dispatcher::new(deps.clone(), scheduled_run_options());
    let report = dispatcher.run_once().await?;
    tracing::info!(?report, "publisher run");
    Ok(report)
}
