use herald_platform::{Config, build, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

/// The parts of an S3 event notification the transcoder reads.
#[derive(serde::Deserialize)]
struct S3Event {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}
#[derive(serde::Deserialize)]
struct Record {
    s3: S3,
}
#[derive(serde::Deserialize)]
struct S3 {
    object: Object,
}
#[derive(serde::Deserialize)]
struct Object {
    key: String,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let built = &build(&Config::from_env()?).await?;
    let deps = &built.deps;
    telemetry::init_step("ready");
    lambda_runtime::run(service_fn(|event: LambdaEvent<S3Event>| async move {
        // The start's pending reads (the sealing key), at once after the first.
        built.ready().await?;
        for record in event.payload.records {
            let raw = &record.s3.object.key;
            let Some(key) = herald_transcoder::event_object_key(raw) else {
                tracing::warn!(
                    key = raw,
                    "an S3 event key that is not URL-encoded; ignored"
                );
                continue;
            };
            herald_transcoder::handle(deps, &key)
                .await
                .map_err(lambda_runtime::Error::from)?;
        }
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}
