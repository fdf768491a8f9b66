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
    let from_env = if profile_files_exist() {
        None
    } else {
        from_lambda_environment(endpoint, |name| std::env::var(name).ok(), env_names())
    };
    let sdk = match from_env {
        Some(sdk) => sdk,
        None => {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http_client());
            if let Some(endpoint) = endpoint {
                loader = loader.endpoint_url(endpoint);
            }
            loader.load().await
        }
    };
    (endpoint.map(str::to_owned), sdk)
}

/// The shared config and credentials files the loader would read (Lambda has neither).
fn profile_files_exist() -> bool {
    std::env::var_os("HOME").is_some_and(|home| {
        let dir = std::path::Path::new(&home).join(".aws");
        dir.join("config").exists() || dir.join("credentials").exists()
    })
}

fn env_names() -> impl Iterator<Item = String> {
    std::env::vars_os().filter_map(|(k, _)| k.into_string().ok())
}

/// The variables Lambda sets that the SDK's loader would read or that it ignores: with no
/// other `AWS_` variable present, the loader's answer is known without running it.
const LAMBDA_SET: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EXECUTION_ENV",
];

/// The configuration the SDK's loader would build in a Lambda environment (region and
/// credentials in variables, no profile files, no other setting), built directly: the loader's
/// dozen providers, each consulting the environment and the absent profile files, and its
/// credential and token chains cost 4-6 ms of every cold start here. None when anything else
/// could matter (a profile, a container credentials URI, an endpoint or retry setting, SSO):
/// then the loader runs.
fn from_lambda_environment(
    endpoint: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    mut names: impl Iterator<Item = String>,
) -> Option<aws_config::SdkConfig> {
    use aws_config::{retry::RetryConfig, timeout::TimeoutConfig};
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    let other = names.any(|n| {
        n.starts_with("AWS_")
            && !LAMBDA_SET.contains(&n.as_str())
            && !n.starts_with("AWS_LAMBDA_")
            && !n.starts_with("AWS_XRAY_")
    });
    if other {
        return None;
    }
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"))?;
    let key = var("AWS_ACCESS_KEY_ID").or_else(|| var("AWS_ACCESS_KEY"))?;
    let secret = var("AWS_SECRET_ACCESS_KEY")?;
    let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
    let mut sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::standard())
        // The loader's default: 3.1 s to connect, no other limit.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .http_client(http_client());
    if let Some(endpoint) = endpoint {
        sdk = sdk.endpoint_url(endpoint);
    }
    Some(sdk.build())
}

/// One HTTP client for every AWS client, as the SDK's default one is made (rustls on aws-lc,
/// the proxy from the environment) but shared: without it each client builds its own TLS
/// connector, parsing the root certificates again, on its first call, and keeps its own pool.
fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let client =
        aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
            let mut connector = aws_smithy_http_client::ConnectorBuilder::default()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector
                .set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
            connector.build()
        });
    aws_sdk_dynamodb::config::SharedHttpClient::new(ConnectsOnFirstUse(client))
}

/// The shared client, without building its connector when an AWS client is made: the SDK's
/// client builds it then (in `validate_base_client_config`) to load the system's root
/// certificates early, which is 8 ms of the first client of a process here (some 150
/// certificate files read and parsed), on the path to the first poll of Lambda's Runtime API.
/// Built on its first request instead: the SSM read that starts at init (startup.rs), on the
/// other core, and once for the process (the roots are kept, the connector is cached).
#[derive(Debug)]
struct ConnectsOnFirstUse(aws_sdk_dynamodb::config::SharedHttpClient);

impl aws_smithy_runtime_api::client::http::HttpClient for ConnectsOnFirstUse {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn built(vars: &[(&str, &str)]) -> Option<aws_config::SdkConfig> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names: Vec<String> = map.keys().cloned().collect();
        from_lambda_environment(
            Some("http://127.0.0.1:5000"),
            |n| map.get(n).cloned(),
            names.into_iter(),
        )
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
        ("AWS_LAMBDA_FUNCTION_NAME", "stack-publisher"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("HERALD_BACKEND", "aws"),
    ];

    #[tokio::test]
    async fn lambdas_environment_gives_its_region_credentials_and_the_endpoint() {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        let sdk = built(LAMBDA).expect("Lambda's variables are enough");
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        let creds = sdk
            .credentials_provider()
            .expect("credentials")
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(creds.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(creds.secret_access_key(), "secret");
        assert_eq!(creds.session_token(), Some("token"));
        let retry = sdk.retry_config().expect("retries");
        assert_eq!(retry.max_attempts(), 3);
        assert!(
            sdk.sleep_impl().is_some(),
            "retries and timeouts need a sleep"
        );
        assert!(sdk.http_client().is_some());
    }

    #[test]
    fn anything_the_loader_would_read_beyond_lambdas_variables_means_the_loader() {
        for extra in [
            ("AWS_PROFILE", "dev"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1/creds",
            ),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_MAX_ATTEMPTS", "10"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/token"),
        ] {
            let mut vars = LAMBDA.to_vec();
            vars.push(extra);
            assert!(built(&vars).is_none(), "{} was ignored", extra.0);
        }
        let without = |name: &str| -> Vec<(&str, &str)> {
            LAMBDA.iter().copied().filter(|(k, _)| *k != name).collect()
        };
        assert!(built(&without("AWS_SECRET_ACCESS_KEY")).is_none());
        assert!(built(&without("AWS_ACCESS_KEY_ID")).is_none());
        let no_region: Vec<_> = without("AWS_REGION")
            .into_iter()
            .filter(|(k, _)| *k != "AWS_DEFAULT_REGION")
            .collect();
        assert!(built(&no_region).is_none());
        // Without a session token (long-lived keys, as the tests' emulator takes): still fine.
        assert!(built(&without("AWS_SESSION_TOKEN")).is_some());
    }
}
