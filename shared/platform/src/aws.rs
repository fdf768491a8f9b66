//! The AWS SDK's shared configuration, one definition for every client the platform makes.

/// Region and credentials from the environment (on Lambda: its own); `endpoint` points every
/// client at an emulator instead of AWS.
pub(crate) async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
