//! One typed configuration, read once at start; it fails fast and never prints secrets.

use herald_domain::Platform;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("{name} is required with the {backend} backend")]
    Missing {
        name: &'static str,
        backend: &'static str,
    },
    #[error("could not prepare {path}: {message}")]
    Io { path: PathBuf, message: String },
}

pub use herald_domain::Secret;

#[derive(Clone, Debug)]
pub enum Backend {
    /// One process, no AWS: redb table, files, in-process bus.
    Embedded { data_dir: PathBuf },
    /// DynamoDB, S3, EventBridge (an endpoint override points them at an emulator).
    Aws {
        table: String,
        bucket: String,
        event_bus: String,
        endpoint: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub backend: Backend,
    /// Where the local server answers, for the URLs it hands out (media uploads).
    pub public_url: String,
    /// The AES-256 key sealing account credentials (base64); embedded: kept in the data dir.
    pub encryption_key: Option<Secret>,
    /// On AWS: the SSM SecureString holding that key (`HERALD_ENCRYPTION_KEY_PARAMETER`),
    /// read at cold start when `encryption_key` is not set.
    pub encryption_key_parameter: Option<String>,
    /// The admin key (`HERALD_ADMIN_KEY`); when set it wins over `admin_key_parameter`.
    pub admin_key: Option<Secret>,
    /// On AWS: the SSM SecureString holding the admin key (`HERALD_ADMIN_KEY_PARAMETER`), read
    /// at cold start (see `admin_key`).
    pub admin_key_parameter: Option<String>,
    pub allow_loopback: bool,
    /// OAuth app registrations (`HERALD_<NETWORK>_CLIENT_ID` / `_CLIENT_SECRET`); a network
    /// whose app is not configured is not offered.
    pub network_apps: BTreeMap<Platform, NetworkApp>,
    /// Whether the TikTok app passed TikTok's audit (`HERALD_TIKTOK_AUDITED=1`); until then
    /// TikTok allows private posts only.
    pub tiktok_audited: bool,
    /// The round trip every sandbox call takes (`HERALD_SANDBOX_LATENCY_MS`, load tests).
    pub sandbox_latency: std::time::Duration,
    /// The publisher's wake-ups on AWS (`HERALD_SEND_QUEUE_URL` and its companions); without
    /// them a publisher run sends inline what is due within its minute.
    pub wake: Option<WakeSettings>,
    /// Per-key API request allowances (`HERALD_RATE_LIMIT_PER_SECOND`, `..._PER_MINUTE`; 0
    /// for none).
    pub api_limits: herald_app::api_rate::ApiLimits,
}

/// Where wakes and sends go on AWS: the send queue the sender reads, and the schedule group,
/// the publisher function and the role EventBridge Scheduler invokes it with.
#[derive(Clone, Debug)]
pub struct WakeSettings {
    pub send_queue_url: String,
    pub schedule_group: String,
    pub publisher_arn: String,
    pub scheduler_role_arn: String,
}

impl WakeSettings {
    /// All four or none: a queue without its schedules (or the reverse) would leave targets
    /// waiting for the hourly sweep.
    fn from_env() -> Result<Option<WakeSettings>, ConfigError> {
        const NAMES: [&str; 4] = [
            "HERALD_SEND_QUEUE_URL",
            "HERALD_SCHEDULE_GROUP",
            "HERALD_PUBLISHER_ARN",
            "HERALD_SCHEDULER_ROLE_ARN",
        ];
        let values = NAMES.map(var);
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        if let Some(i) = values.iter().position(Option::is_none) {
            return Err(ConfigError::Invalid {
                name: NAMES[i],
                message: format!("is required with {}", NAMES.join(", ")),
            });
        }
        let [
            send_queue_url,
            schedule_group,
            publisher_arn,
            scheduler_role_arn,
        ] = values.map(Option::unwrap_or_default);
        Ok(Some(WakeSettings {
            send_queue_url,
            schedule_group,
            publisher_arn,
            scheduler_role_arn,
        }))
    }
}

/// An OAuth app registered with a network.
#[derive(Clone, Debug)]
pub struct NetworkApp {
    pub client_id: String,
    pub client_secret: Secret,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn count(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            message: format!("expected a whole number, got {v:?}"),
        }),
    }
}

fn flag(name: &'static str) -> Result<bool, ConfigError> {
    match var(name).as_deref() {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name,
            message: format!("expected 1/0/true/false, got {other:?}"),
        }),
    }
}

impl Config {
    /// The configuration of a Lambda function or a local server, from the environment.
    /// `HERALD_BACKEND` is `embedded` (default) or `aws`.
    pub fn from_env() -> Result<Config, ConfigError> {
        let backend = match var("HERALD_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded {
                data_dir: var("HERALD_DATA")
                    .unwrap_or_else(|| "./herald-data".into())
                    .into(),
            },
            Some("aws") => {
                let required = |name: &'static str| {
                    var(name).ok_or(ConfigError::Missing {
                        name,
                        backend: "aws",
                    })
                };
                Backend::Aws {
                    table: required("HERALD_TABLE")?,
                    bucket: required("HERALD_BUCKET")?,
                    event_bus: var("HERALD_EVENT_BUS").unwrap_or_else(|| "default".into()),
                    endpoint: var("HERALD_AWS_ENDPOINT"),
                }
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "HERALD_BACKEND",
                    message: format!("expected embedded or aws, got {other:?}"),
                });
            }
        };
        Ok(Config {
            backend,
            public_url: var("HERALD_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into()),
            encryption_key: var("HERALD_ENCRYPTION_KEY").map(Secret::new),
            encryption_key_parameter: var("HERALD_ENCRYPTION_KEY_PARAMETER"),
            admin_key: var("HERALD_ADMIN_KEY")
                .map(|key| {
                    herald_app::auth::check_admin_token(&key)
                        .map(|()| Secret::new(key))
                        .map_err(|message| ConfigError::Invalid {
                            name: "HERALD_ADMIN_KEY",
                            message,
                        })
                })
                .transpose()?,
            admin_key_parameter: var("HERALD_ADMIN_KEY_PARAMETER"),
            allow_loopback: flag("HERALD_ALLOW_LOOPBACK")?,
            network_apps: Platform::ALL
                .into_iter()
                .filter(|p| p.uses_oauth())
                .filter_map(|p| {
                    let name = p.as_str().to_ascii_uppercase();
                    Some((
                        p,
                        NetworkApp {
                            client_id: var(&format!("HERALD_{name}_CLIENT_ID"))?,
                            client_secret: Secret::new(var(&format!(
                                "HERALD_{name}_CLIENT_SECRET"
                            ))?),
                        },
                    ))
                })
                .collect(),
            tiktok_audited: flag("HERALD_TIKTOK_AUDITED")?,
            sandbox_latency: herald_networks::sandbox::SandboxConnector::latency_from_env()
                .map_err(|message| ConfigError::Invalid {
                    name: herald_networks::sandbox::LATENCY_ENV,
                    message,
                })?,
            wake: WakeSettings::from_env()?,
            api_limits: {
                let default = herald_app::api_rate::ApiLimits::default();
                herald_app::api_rate::ApiLimits {
                    per_second: count("HERALD_RATE_LIMIT_PER_SECOND", default.per_second)?,
                    per_minute: count("HERALD_RATE_LIMIT_PER_MINUTE", default.per_minute)?,
                }
            },
        })
    }
}
