use herald_platform::{Config, build, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let built = &build(&Config::from_env()?).await?;
    let deps = &built.deps;
    telemetry::init_step("ready");
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<herald_relay::StreamBatch>| async move {
            // The start's pending reads (the sealing key), at once after the first.
            built.ready().await?;
            herald_relay::handle(deps, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
