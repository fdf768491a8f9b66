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
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    (endpoint.map(str::to_owned), loader.load().await)
}

/// One HTTP client for every AWS client, as the SDK's default one is made (rustls on aws-lc,
/// the proxy from the environment) but shared: without it each client builds its own TLS
/// connector, parsing the root certificates again, on its first call, and keeps its own pool.
fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
        connector.build()
    })
}
