use herald_platform::{Config, admin_key, build, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let built = build(&config).await?;
    // As `herald serve` does: the configured admin key is the admin key, the one before revoked.
    let admin = admin_key::configured(&config).await?;
    telemetry::init_step("admin key read");
    if let Some(token) =
        herald_app::auth::ensure_admin_key(&built.deps, admin.as_ref().map(|k| k.expose())).await?
    {
        // Only without AWS (admin_key::configured requires a key there).
        println!("Admin key (shown once, keep it): {token}");
    }
    telemetry::init_step("admin key ensured; ready");
    lambda_http::run(herald_intake::router_with_limits(
        Arc::new(built.deps),
        config.api_limits,
    ))
    .await
}
