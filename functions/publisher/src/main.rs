use herald_platform::{Config, build, telemetry};
use herald_publisher::{Invocation, Publisher};
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let built = build(&config).await?;
    let webhooks = herald_networks::webhook::HttpWebhookSender::new(
        herald_networks::guard::Guard::new(config.allow_loopback),
    );
    let pending = &built.pending;
    let publisher = &Publisher::scheduled(built.deps).with_webhooks(Arc::new(webhooks));
    telemetry::init_step("ready");
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            // The start's pending reads (the sealing key), at once after the first.
            pending.ready().await?;
            let invocation = Invocation::from_event(&event.payload)?;
            let answer = publisher.handle(invocation).await?;
            Ok::<_, lambda_runtime::Error>(answer.into_response()?)
        },
    ))
    .await
}
