//! Structured logs: on Lambda, one JSON object a line carrying the invocation's request id and
//! X-Ray trace id, and the app's metric events (`herald_app::observe`) written as CloudWatch
//! embedded metric format lines, once per invocation; on a terminal, readable text, the metric
//! events shown only at debug level (`RUST_LOG=herald_metrics=debug`).

mod emf;
mod lambda;

pub use emf::{Emf, NAMESPACE};
pub use lambda::LambdaLayer;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn";

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Where a cold start goes: each step of the bootstrap logged, at debug level under
/// `herald_init` (`RUST_LOG=info,herald_init=debug`), with its time since `init` in ms.
pub fn init_step(step: &'static str) {
    let at_ms = STARTED
        .get()
        .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0);
    tracing::debug!(target: "herald_init", step, at_ms, "init step");
}

pub fn init() {
    STARTED.get_or_init(std::time::Instant::now);
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    if let Some(function) = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME") {
        // Metrics pass whatever RUST_LOG says of the rest.
        let directive = format!("{}=debug", herald_app::observe::TARGET);
        let filter = filter().add_directive(directive.parse().expect("a directive"));
        let layer = LambdaLayer::stdout(&function.to_string_lossy());
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init();
        return;
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter());
    let _ = if std::env::var("HERALD_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder
            .json()
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.try_init()
    };
}
