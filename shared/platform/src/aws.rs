//! The AWS SDK's shared configuration, one definition for every client the platform makes.

use tokio::sync::OnceCell;

/// Region and credentials from the environment (on Lambda: its own); `endpoint` points every
/// client at an emulator instead of AWS. Loaded once per process: the SSM reads at cold start
/// and the clients share it, as they share its credentials cache.
pub(crate) async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    static LOADED: OnceCell<(Option<String>, aws_config::SdkConfig)> = OnceCell::const_new();
    let (first, sdk) = LOADED.get_or_init(|| load(endpoint)).await;
    if first.as_deref() == endpoint {
        sdk.clone()
    } else {
        // Another endpoint than the process's first (only tests do this).
        load(endpoint).await.1
    }
}

async fn load(endpoint: Option<&str>) -> (Option<String>, aws_config::SdkConfig) {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    (endpoint.map(str::to_owned), loader.load().await)
}
