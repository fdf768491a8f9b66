//! Structured logs: JSON on Lambda (CloudWatch parses it), readable text on a terminal.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = on_lambda || std::env::var("HERALD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder
            .json()
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.try_init()
    };
}
