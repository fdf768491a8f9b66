use herald_platform::{Config, build, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let built = &build(&config).await?;
    let deps = &built.deps;
    let sender = &herald_webhooks::sender(config.allow_loopback);
    telemetry::init_step("ready");
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            // The start's pending reads (the sealing key), at once after the first.
            built.ready().await?;
            let invocation = herald_webhooks::Invocation::from_payload(event.payload)?;
            herald_webhooks::handle(deps, sender, invocation)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
