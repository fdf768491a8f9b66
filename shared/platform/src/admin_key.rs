//! Where a Lambda function's admin key comes from. `HERALD_ADMIN_KEY` wins; otherwise, on AWS,
//! the SSM SecureString named by `HERALD_ADMIN_KEY_PARAMETER` is read once per cold start,
//! after init (`install`): the first request waits for it.
//! CloudFormation cannot resolve a SecureString into a function's environment, and a plain
//! parameter or a literal would show the key to anyone who may read the function's settings;
//! the function's role may read this one parameter only.

use crate::config::{Backend, Config, ConfigError, Secret};
use crate::startup::Pending;
use herald_app::Deps;

const PARAMETER: &str = "HERALD_ADMIN_KEY_PARAMETER";

/// The admin key the intake function installs at cold start (`herald_app::auth::
/// ensure_admin_key`). On AWS one is required: there is no console to print a made-up key to
/// once, and a key written to the logs would stay readable there.
pub async fn configured(config: &Config) -> Result<Option<Secret>, ConfigError> {
    if let Some(key) = &config.admin_key {
        return Ok(Some(key.clone()));
    }
    match (&config.backend, &config.admin_key_parameter) {
        (Backend::Embedded { .. }, None) => Ok(None),
        (Backend::Aws { .. }, None) => Err(ConfigError::Missing {
            name: "HERALD_ADMIN_KEY or HERALD_ADMIN_KEY_PARAMETER",
            backend: "aws",
        }),
        (backend, Some(name)) => {
            let key = crate::parameters::read_secure(backend, PARAMETER, name).await?;
            herald_app::auth::check_admin_token(key.expose()).map_err(|message| {
                ConfigError::Invalid {
                    name: PARAMETER,
                    message: format!("the value of {name} {message}"),
                }
            })?;
            Ok(Some(key))
        }
    }
}

/// Reads the configured admin key and installs it (`herald_app::auth::ensure_admin_key`),
/// starting now, concurrently with the rest of the start: the intake function's first request
/// waits for it, and a missing or bad key answers that request (and each after it) with the
/// reason logged. Without AWS and without a key, a made-up one is printed once.
pub fn install(config: &Config, deps: &Deps) -> Pending {
    let (config, deps) = (config.clone(), deps.clone());
    Pending::start("admin key install", move || {
        let (config, deps) = (config.clone(), deps.clone());
        async move {
            let admin = configured(&config).await?;
            crate::telemetry::init_step("admin key read");
            let made =
                herald_app::auth::ensure_admin_key(&deps, admin.as_ref().map(|k| k.expose()))
                    .await
                    .map_err(|e| ConfigError::Step {
                        step: "the admin key install",
                        message: e.to_string(),
                    })?;
            if let Some(token) = made {
                // Only without AWS (`configured` requires a key there).
                println!("Admin key (shown once, keep it): {token}");
            }
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(backend: Backend, key: Option<&str>, parameter: Option<&str>) -> Config {
        Config {
            backend,
            public_url: "http://127.0.0.1:8080".into(),
            encryption_key: None,
            encryption_key_parameter: None,
            admin_key: key.map(|k| Secret::new(k.to_owned())),
            admin_key_parameter: parameter.map(str::to_owned),
            allow_loopback: false,
            ffmpeg_dir: None,
            network_apps: Default::default(),
            tiktok_audited: false,
            sandbox_latency: std::time::Duration::ZERO,
            sandbox_video_limits: Default::default(),
            wake: None,
            api_limits: Default::default(),
        }
    }

    fn aws() -> Backend {
        Backend::Aws {
            table: "t".into(),
            bucket: "b".into(),
            event_bus: "e".into(),
            // Nothing answers here: a test that reached for SSM would fail.
            endpoint: Some("http://127.0.0.1:9".into()),
        }
    }

    #[tokio::test]
    async fn a_plain_admin_key_wins_without_asking_ssm() {
        let c = config(aws(), Some("plain-admin-key"), Some("/herald/admin-key"));
        let key = configured(&c).await.unwrap().expect("a key");
        assert_eq!(key.expose(), "plain-admin-key");
    }

    #[tokio::test]
    async fn on_aws_an_admin_key_is_required_and_the_error_names_both_ways() {
        let e = configured(&config(aws(), None, None)).await.unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("HERALD_ADMIN_KEY or HERALD_ADMIN_KEY_PARAMETER"),
            "{message}"
        );
        let embedded = Backend::Embedded {
            data_dir: "./unused".into(),
        };
        assert!(
            configured(&config(embedded, None, None))
                .await
                .unwrap()
                .is_none()
        );
    }
}
