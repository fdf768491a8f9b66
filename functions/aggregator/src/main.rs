use herald_platform::{Config, build, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

/// EventBridge delivers `{ "detail-type", "detail": <BusEvent>, ... }`.
#[derive(serde::Deserialize)]
struct Envelope {
    detail: herald_ports::BusEvent,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let built = build(&Config::from_env()?).await?;
    let deps = &built.deps;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Envelope>| async move {
        herald_aggregator::handle(deps, event.payload.detail)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
