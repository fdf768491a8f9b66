//! One typed configuration, read once at start; it fails fast and never prints secrets.

use herald_domain::Platform;
use herald_ports::WakeJob;
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
    /// A start-up step that needs a service (the admin key's table write) failed.
    #[error("{step} failed: {message}")]
    Step { step: &'static str, message: String },
}

impl ConfigError {
    /// What is at fault, in words safe to show to a caller: the setting, path or step named.
    pub fn subject(&self) -> String {
        match self {
            ConfigError::Invalid { name, .. } | ConfigError::Missing { name, .. } => {
                (*name).to_owned()
            }
            ConfigError::Io { path, .. } => path.display().to_string(),
            ConfigError::Step { step, .. } => (*step).to_owned(),
        }
    }
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
    /// Where ffmpeg and ffprobe are (`HERALD_FFMPEG_DIR`; on AWS the layer's `/opt/bin`);
    /// without it, the PATH.
    pub ffmpeg_dir: Option<std::path::PathBuf>,
    /// OAuth app registrations (`HERALD_<NETWORK>_CLIENT_ID` / `_CLIENT_SECRET`); a network
    /// whose app is not configured is not offered.
    pub network_apps: BTreeMap<Platform, NetworkApp>,
    /// Whether the TikTok app passed TikTok's audit (`HERALD_TIKTOK_AUDITED=1`); until then
    /// TikTok allows private posts only.
    pub tiktok_audited: bool,
    /// The round trip every sandbox call takes (`HERALD_SANDBOX_LATENCY_MS`, load tests).
    pub sandbox_latency: std::time::Duration,
    /// The video limits the sandbox plays (`HERALD_SANDBOX_MAX_VIDEO_SECONDS`,
    /// `HERALD_SANDBOX_MAX_VIDEO_BYTES`; tests).
    pub sandbox_video_limits: herald_networks::sandbox::VideoLimits,
    /// The jobs' wake-ups on AWS (`HERALD_SCHEDULE_GROUP`, and per job its function and the
    /// state machine that delivers its sends at their second:
    /// `HERALD_PUBLISHER_ARN` with `HERALD_SEND_STATE_MACHINE_ARN`, `HERALD_WEBHOOKS_ARN` with
    /// `HERALD_WEBHOOKS_STATE_MACHINE_ARN`); without them a publisher run sends inline what is due
    /// within its minute and webhook retries wait for a sweep.
    pub wake: Option<WakeSettings>,
    /// Per-key API request allowances (`HERALD_RATE_LIMIT_PER_SECOND`, `..._PER_MINUTE`; 0
    /// for none).
    pub api_limits: herald_app::api_rate::ApiLimits,
}

/// Where wakes go on AWS: the schedule group and the role EventBridge Scheduler invokes a
/// job's function with, and each job this function wakes (its function and state machine).
#[derive(Clone, Debug)]
pub struct WakeSettings {
    pub schedule_group: String,
    pub scheduler_role_arn: String,
    pub jobs: BTreeMap<WakeJob, JobSettings>,
}

/// One job's function ARN (what its schedules invoke) and its send state machine, for a job
/// that reaches seconds (the polls' minutes are precise enough: they have none).
#[derive(Clone, Debug)]
pub struct JobSettings {
    pub function_arn: String,
    pub state_machine_arn: Option<String>,
}

/// The settings naming a job's function and, for a job with one, its state machine.
fn job_names(job: WakeJob) -> (&'static str, Option<&'static str>) {
    match job {
        WakeJob::Publisher => (
            "HERALD_PUBLISHER_ARN",
            Some("HERALD_SEND_STATE_MACHINE_ARN"),
        ),
        WakeJob::Webhooks => (
            "HERALD_WEBHOOKS_ARN",
            Some("HERALD_WEBHOOKS_STATE_MACHINE_ARN"),
        ),
        WakeJob::Polls => ("HERALD_AGGREGATOR_ARN", None),
    }
}

impl WakeSettings {
    /// A job's function and state machine both or neither, and the group and role with any job: a
    /// state machine without its schedules (or the reverse) would leave work waiting for the hourly
    /// sweep. None of them at all: every job ticks on its own host.
    fn from_env() -> Result<Option<WakeSettings>, ConfigError> {
        Self::from_lookup(var)
    }

    fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<WakeSettings>, ConfigError> {
        const SHARED: [&str; 2] = ["HERALD_SCHEDULE_GROUP", "HERALD_SCHEDULER_ROLE_ARN"];
        let mut jobs = BTreeMap::new();
        for job in WakeJob::ALL {
            let (arn_name, machine_name) = job_names(job);
            let function_arn = var(arn_name);
            let state_machine_arn = machine_name.and_then(&var);
            match (function_arn, machine_name, state_machine_arn) {
                (None, _, None) => {}
                // A job with no state machine, or one with its state machine.
                (Some(function_arn), None, state_machine_arn)
                | (Some(function_arn), Some(_), state_machine_arn @ Some(_)) => {
                    jobs.insert(
                        job,
                        JobSettings {
                            function_arn,
                            state_machine_arn,
                        },
                    );
                }
                (Some(_), Some(machine_name), None) => {
                    return Err(ConfigError::Invalid {
                        name: machine_name,
                        message: format!("is required with {arn_name}"),
                    });
                }
                (None, Some(machine_name), Some(_)) => {
                    return Err(ConfigError::Invalid {
                        name: arn_name,
                        message: format!("is required with {machine_name}"),
                    });
                }
                (_, None, Some(_)) => unreachable!("no state machine setting, no state machine"),
            }
        }
        let [group, role] = SHARED.map(&var);
        match (group, role) {
            (None, None) if jobs.is_empty() => Ok(None),
            (Some(_), Some(_)) if jobs.is_empty() => Err(ConfigError::Invalid {
                name: "HERALD_SCHEDULE_GROUP",
                message: format!(
                    "names no job to wake; set {}",
                    WakeJob::ALL
                        .map(|j| match job_names(j) {
                            (arn, Some(machine)) => format!("{arn} and {machine}"),
                            (arn, None) => arn.to_owned(),
                        })
                        .join(", or ")
                ),
            }),
            (Some(schedule_group), Some(scheduler_role_arn)) => Ok(Some(WakeSettings {
                schedule_group,
                scheduler_role_arn,
                jobs,
            })),
            (group, _) => Err(ConfigError::Invalid {
                name: if group.is_none() {
                    SHARED[0]
                } else {
                    SHARED[1]
                },
                message: format!("is required with {}", SHARED.join(" and ")),
            }),
        }
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
            ffmpeg_dir: var("HERALD_FFMPEG_DIR").map(Into::into),
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
            sandbox_video_limits: herald_networks::sandbox::VideoLimits::from_env()
                .map_err(|(name, message)| ConfigError::Invalid { name, message })?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wake(pairs: &[(&str, &str)]) -> Result<Option<WakeSettings>, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WakeSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn each_job_wakes_with_its_function_and_state_machine_and_the_shared_group_and_role() {
        assert!(wake(&[]).unwrap().is_none());
        let shared = [
            ("HERALD_SCHEDULE_GROUP", "g"),
            ("HERALD_SCHEDULER_ROLE_ARN", "r"),
        ];
        let hooks = [
            ("HERALD_WEBHOOKS_ARN", "arn:hooks"),
            ("HERALD_WEBHOOKS_STATE_MACHINE_ARN", "q"),
        ];
        let only_hooks = wake(&[&shared[..], &hooks[..]].concat()).unwrap().unwrap();
        assert_eq!(
            only_hooks.jobs.keys().copied().collect::<Vec<_>>(),
            [WakeJob::Webhooks]
        );
        assert_eq!(
            only_hooks.jobs[&WakeJob::Webhooks].function_arn,
            "arn:hooks"
        );
        // The polls wake with their function alone (minutes, no state machine).
        let polls = wake(&[&shared[..], &[("HERALD_AGGREGATOR_ARN", "arn:agg")]].concat())
            .unwrap()
            .unwrap();
        assert_eq!(polls.jobs[&WakeJob::Polls].function_arn, "arn:agg");
        assert_eq!(polls.jobs[&WakeJob::Polls].state_machine_arn, None);
        assert_eq!(
            only_hooks.jobs[&WakeJob::Webhooks]
                .state_machine_arn
                .as_deref(),
            Some("q")
        );
        // A function without its state machine, or a job without the group, names what is missing.
        let e = wake(&[&shared[..], &hooks[..1]].concat()).unwrap_err();
        assert!(
            e.to_string().contains("HERALD_WEBHOOKS_STATE_MACHINE_ARN"),
            "{e}"
        );
        let e = wake(&[("HERALD_SEND_STATE_MACHINE_ARN", "q")]).unwrap_err();
        assert!(e.to_string().contains("HERALD_PUBLISHER_ARN"), "{e}");
        let e = wake(&hooks).unwrap_err();
        assert!(e.to_string().contains("HERALD_SCHEDULE_GROUP"), "{e}");
        // A group and role waking nothing is a mistake, not a silent no.
        let e = wake(&shared).unwrap_err();
        assert!(e.to_string().contains("names no job"), "{e}");
    }
}
