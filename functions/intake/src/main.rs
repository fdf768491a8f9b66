use herald_platform::{Config, admin_key, build, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let built = build(&config).await?;
    // As `herald serve` does: the configured admin key is the admin key, the one before
    // revoked. Read and installed after init; every request waits for it and the sealing key.
    let pending = built
        .pending
        .clone()
        .and(admin_key::install(&config, &built.deps));
    telemetry::init_step("ready");
    let router = herald_intake::router_with_limits(Arc::new(built.deps), config.api_limits);
    lambda_http::run(herald_intake::gated(router, pending)).await
}
