use herald_platform::{Config, build, telemetry};
use herald_publisher::{Invocation, Publisher};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let built = build(&Config::from_env()?).await?;
    let publisher = &Publisher::scheduled(built.deps);
    telemetry::init_step("ready");
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let invocation = Invocation::from_event(&event.payload)?;
            let answer = publisher.handle(invocation).await?;
            Ok::<_, lambda_runtime::Error>(answer.to_json())
        },
    ))
    .await
}
