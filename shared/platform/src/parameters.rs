//! Secrets a Lambda function reads from SSM Parameter Store at cold start: CloudFormation
//! cannot resolve a SecureString into a function's environment, and a plain parameter or a
//! literal would show the secret to anyone who may read the function's settings. Each
//! function's role may read only the parameters it names.

use crate::config::{Backend, ConfigError, Secret};

/// The value of the SecureString `name`, decrypted; `setting` names the variable that pointed
/// at it, for the error.
#[cfg(feature = "aws")]
pub async fn read_secure(
    backend: &Backend,
    setting: &'static str,
    name: &str,
) -> Result<Secret, ConfigError> {
    let endpoint = match backend {
        Backend::Aws { endpoint, .. } => endpoint.as_deref(),
        Backend::Embedded { .. } => None,
    };
    let ssm = aws_sdk_ssm::Client::new(&crate::aws::sdk_config(endpoint).await);
    crate::telemetry::init_step("sdk config, ssm client");
    let answer = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ConfigError::Invalid {
            name: setting,
            message: format!(
                "cannot read SSM parameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            ),
        })?;
    answer
        .parameter
        .and_then(|p| p.value)
        .map(Secret::new)
        .ok_or_else(|| ConfigError::Invalid {
            name: setting,
            message: format!("SSM parameter {name} has no value"),
        })
}

#[cfg(not(feature = "aws"))]
pub async fn read_secure(
    _backend: &Backend,
    setting: &'static str,
    _name: &str,
) -> Result<Secret, ConfigError> {
    Err(ConfigError::Invalid {
        name: setting,
        message: "this build has no AWS support (feature `aws`)".into(),
    })
}
