use herald_platform::{Config, build, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let built = build(&Config::from_env()?).await?;
    lambda_http::run(herald_intake::router(Arc::new(built.deps))).await
}
