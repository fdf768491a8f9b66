use herald_platform::{Config, build, telemetry};
use herald_publisher::{Invocation, Publisher};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let built = build(&Config::from_env()?).await?;
    let publisher = &Publisher::scheduled(built.deps);
    lambda_runtime::run(service_fn(
        |_event: LambdaEvent<serde_json::Value>| async move {
            publisher
                .handle(Invocation::Run)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
