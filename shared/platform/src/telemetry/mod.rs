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

pub fn init() {
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
