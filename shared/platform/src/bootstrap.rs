//! Builds the adapters named by the configuration, once, and wires them into `Deps`.

use crate::config::{Backend, Config, ConfigError};
use crate::sealer::LateSealer;
use crate::startup::Pending;
use herald_adapters::{FsBlobStore, InProcessBus, InlineWakeUps, SystemClock, SystemRandom};
use herald_app::Deps;
use herald_domain::Platform;
use herald_networks::sandbox::SandboxConnector;
use herald_ports::{BlobStore, Clock, Connector, Connectors, EventBus, Random, Table};
use herald_storage::embedded::EmbeddedTable;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// What the bootstrap built: the use cases' dependencies, and the in-process bus when there is
/// one (the local host feeds its subscribers).
pub struct Built {
    pub deps: Deps,
    pub local_bus: Option<Arc<InProcessBus>>,
    /// The filesystem blob store when there is one: the local host hands what it announces
    /// as written to the transcoder, as S3 notifications do on AWS.
    pub local_blobs: Option<Arc<FsBlobStore>>,
    /// The embedded table, for upkeep only the local host does (TTL purge).
    pub embedded_table: Option<Arc<EmbeddedTable>>,
    pub sandbox: Arc<SandboxConnector>,
    /// What is still to be done before the first event (the sealing key's SSM read on AWS):
    /// started at init, awaited by `ready`.
    pub pending: Pending,
}

impl Built {
    /// Awaited by each invocation before it runs a use case: at once after the first success.
    pub async fn ready(&self) -> Result<(), ConfigError> {
        self.pending.ready().await
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// The SSM parameter the sealing key is read from after init: on AWS, when no key is set.
fn key_parameter(config: &Config) -> Option<&str> {
    match (
        &config.backend,
        &config.encryption_key,
        &config.encryption_key_parameter,
    ) {
        (Backend::Aws { .. }, None, Some(name)) => Some(name),
        _ => None,
    }
}

/// The sealer, and the pending read of its key when it comes from SSM (no network at init:
/// the read starts now and the first invocation waits for what is left of it).
async fn sealer(config: &Config) -> Result<(LateSealer, Option<[u8; 32]>, Pending), ConfigError> {
    if key_parameter(config).is_none() {
        let key = encryption_key(config).await?;
        return Ok((LateSealer::with_key(key), Some(key), Pending::none()));
    }
    let sealer = LateSealer::default();
    let (late, config) = (sealer.clone(), config.clone());
    let pending = Pending::start("sealing key read", move || {
        let (late, config) = (late.clone(), config.clone());
        async move {
            late.set(encryption_key(&config).await?);
            Ok(())
        }
    });
    Ok((sealer, None, pending))
}

/// The sealing key: configured, read from its SSM SecureString (on AWS), or for a local
/// server, made on first start and kept (0600).
async fn encryption_key(config: &Config) -> Result<[u8; 32], ConfigError> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let decode = |name: &'static str, s: &str| -> Result<[u8; 32], ConfigError> {
        engine
            .decode(s.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(ConfigError::Invalid {
                name,
                message: "must be 32 bytes, base64".into(),
            })
    };
    if let Some(key) = &config.encryption_key {
        return decode("HERALD_ENCRYPTION_KEY", key.expose());
    }
    if let Some(name) = key_parameter(config) {
        const SETTING: &str = "HERALD_ENCRYPTION_KEY_PARAMETER";
        let key = crate::parameters::read_secure(&config.backend, SETTING, name).await?;
        return decode(SETTING, key.expose());
    }
    let Backend::Embedded { data_dir } = &config.backend else {
        return Err(ConfigError::Missing {
            name: "HERALD_ENCRYPTION_KEY or HERALD_ENCRYPTION_KEY_PARAMETER",
            backend: "aws",
        });
    };
    private_dir(data_dir).map_err(|e| io(data_dir, e))?;
    let path = data_dir.join("encryption.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return decode("HERALD_ENCRYPTION_KEY", &existing);
    }
    let key = SystemRandom.secret32();
    write_private(&path, engine.encode(key).as_bytes()).map_err(|e| io(&path, e))?;
    Ok(key)
}

/// The data directory holds the store (key hashes, sealed credentials), the sealing key and
/// media: the owner's alone (0700), however it was created before.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn oauth_app(
    config: &Config,
    platform: Platform,
    app: &crate::config::NetworkApp,
) -> herald_networks::oauth::OAuthApp {
    herald_networks::oauth::OAuthApp {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        redirect_uri: format!("{}/v1/oauth/{platform}/callback", config.public_url),
    }
}

/// The consent flows of the OAuth networks whose app is configured.
fn oauth_flows(
    config: &Config,
) -> std::collections::BTreeMap<Platform, Arc<dyn herald_ports::OAuthFlow>> {
    config
        .network_apps
        .iter()
        .filter_map(|(p, app)| {
            let flow = herald_networks::oauth::OAuthClient::new(
                herald_networks::http::client(),
                herald_networks::oauth::provider(*p)?,
                oauth_app(config, *p, app),
            );
            Some((*p, Arc::new(flow) as Arc<dyn herald_ports::OAuthFlow>))
        })
        .collect()
}

/// One connector per enabled network: the sandbox, Bluesky and Mastodon always (their
/// credentials are per account), OAuth networks when their app is configured.
fn connectors(
    config: &Config,
    table: Arc<dyn Table>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
) -> (Connectors, Arc<SandboxConnector>) {
    use herald_networks::{
        bluesky, facebook, guard::Guard, http, instagram, linkedin, mastodon, meta, pinterest,
        threads, tiktok, x,
    };
    let sandbox = Arc::new(
        SandboxConnector::new(table, clock.clone())
            .with_latency(config.sandbox_latency)
            .with_video_limits(config.sandbox_video_limits),
    );
    let mut map = Connectors::new();
    map.insert(Platform::Sandbox, sandbox.clone() as Arc<dyn Connector>);
    let guard = || Guard::new(config.allow_loopback);
    map.insert(
        Platform::Bluesky,
        Arc::new(bluesky::BlueskyConnector::new(
            guard(),
            blobs.clone(),
            clock.clone(),
        )),
    );
    map.insert(
        Platform::Mastodon,
        Arc::new(mastodon::MastodonConnector::new(
            guard(),
            blobs.clone(),
            clock.clone(),
        )),
    );
    for (platform, app) in &config.network_apps {
        let oauth_app = oauth_app(config, *platform, app);
        let (b, c) = (blobs.clone(), clock.clone());
        let connector: Arc<dyn Connector> = match platform {
            Platform::X => Arc::new(x::XConnector::new(http::client(), b, c, oauth_app)),
            Platform::Linkedin => Arc::new(linkedin::LinkedinConnector::new(
                http::client(),
                b,
                c,
                oauth_app,
            )),
            Platform::Pinterest => Arc::new(pinterest::PinterestConnector::new(
                http::client(),
                b,
                c,
                oauth_app,
            )),
            Platform::Facebook => Arc::new(facebook::FacebookConnector::production(
                c,
                Some(meta::MetaApp {
                    client_id: oauth_app.client_id,
                    client_secret: oauth_app.client_secret,
                }),
            )),
            Platform::Instagram => Arc::new(instagram::InstagramConnector::production(
                c,
                Some(oauth_app),
            )),
            Platform::Threads => {
                Arc::new(threads::ThreadsConnector::production(c, Some(oauth_app)))
            }
            Platform::Tiktok => Arc::new(tiktok::TiktokConnector::production(
                b,
                c,
                Some(oauth_app),
                if config.tiktok_audited {
                    tiktok::Visibility::Widest
                } else {
                    tiktok::Visibility::PrivateOnly
                },
            )),
            _ => continue,
        };
        map.insert(*platform, connector);
    }
    (map, sandbox)
}

pub async fn build(config: &Config) -> Result<Built, ConfigError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(SystemRandom);
    let step = crate::telemetry::init_step;
    let (sealer, key, pending) = sealer(config).await?;
    step("sealer made");
    let sealer = Arc::new(sealer);
    let oauth = Arc::new(oauth_flows(config));
    let guard: Arc<dyn herald_ports::UrlGuard> =
        Arc::new(herald_networks::guard::Guard::new(config.allow_loopback));
    match &config.backend {
        Backend::Embedded { data_dir } => {
            // Only AWS reads its key after init.
            let key = key.expect("the embedded backend's key is at hand");
            private_dir(data_dir).map_err(|e| io(data_dir, e))?;
            let table = Arc::new(
                EmbeddedTable::open(data_dir.join("herald.redb")).map_err(|e| io(data_dir, e))?,
            );
            let signing_key =
                Sha256::digest([b"herald blob urls".as_slice(), &key].concat()).to_vec();
            let fs_blobs = Arc::new(
                FsBlobStore::new(
                    data_dir.join("blobs"),
                    &config.public_url,
                    signing_key,
                    clock.clone(),
                )
                .map_err(|e| ConfigError::Invalid {
                    name: "HERALD_PUBLIC_URL",
                    message: e.to_string(),
                })?,
            );
            let blobs: Arc<dyn BlobStore> = fs_blobs.clone();
            let bus = Arc::new(InProcessBus::new());
            let (connectors, sandbox) =
                connectors(config, table.clone(), blobs.clone(), clock.clone());
            let deps = Deps {
                table: table.clone(),
                blobs,
                bus: bus.clone() as Arc<dyn EventBus>,
                clock,
                random: random.clone(),
                connectors: Arc::new(connectors),
                sealer,
                guard,
                oauth,
                wakeups: Arc::new(InlineWakeUps),
                video: Arc::new(herald_adapters::Ffmpeg::new(config.ffmpeg_dir.as_deref())),
            };
            Ok(Built {
                deps,
                local_bus: Some(bus),
                local_blobs: Some(fs_blobs),
                embedded_table: Some(table),
                sandbox,
                pending,
            })
        }
        #[cfg(feature = "aws")]
        Backend::Aws {
            table,
            bucket,
            event_bus,
            endpoint,
        } => {
            let sdk = crate::aws::sdk_config(endpoint.as_deref()).await;
            step("sdk config");
            let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(endpoint.is_some())
                .build();
            let table: Arc<dyn Table> = Arc::new(herald_storage::dynamo::DynamoTable::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                table.clone(),
            ));
            let blobs: Arc<dyn BlobStore> = Arc::new(herald_adapters::S3BlobStore::new(
                aws_sdk_s3::Client::from_conf(s3_config),
                bucket.clone(),
            ));
            let bus: Arc<dyn EventBus> = Arc::new(herald_adapters::EventBridgeBus::new(
                aws_sdk_eventbridge::Client::new(&sdk),
                event_bus.clone(),
                "herald",
            ));
            let wakeups: Arc<dyn herald_ports::WakeUps> = match &config.wake {
                Some(w) => Arc::new(herald_adapters::AwsWakeUps::new(
                    aws_sdk_scheduler::Client::new(&sdk),
                    herald_adapters::WakeTarget {
                        group: w.schedule_group.clone(),
                        role_arn: w.scheduler_role_arn.clone(),
                    },
                    aws_sdk_sfn::Client::new(&sdk),
                    w.jobs
                        .iter()
                        .map(|(job, s)| {
                            let target = herald_adapters::JobTarget {
                                function_arn: s.function_arn.clone(),
                                state_machine_arn: s.state_machine_arn.clone(),
                            };
                            (*job, target)
                        })
                        .collect(),
                )),
                None => Arc::new(InlineWakeUps),
            };
            step("aws clients built");
            let (connectors, sandbox) =
                connectors(config, table.clone(), blobs.clone(), clock.clone());
            step("connectors built");
            Ok(Built {
                deps: Deps {
                    table,
                    blobs,
                    bus,
                    clock,
                    random: random.clone(),
                    connectors: Arc::new(connectors),
                    sealer,
                    guard,
                    oauth,
                    wakeups,
                    video: Arc::new(herald_adapters::Ffmpeg::new(config.ffmpeg_dir.as_deref())),
                },
                local_bus: None,
                local_blobs: None,
                embedded_table: None,
                sandbox,
                pending,
            })
        }
        #[cfg(not(feature = "aws"))]
        Backend::Aws { .. } => Err(ConfigError::Invalid {
            name: "HERALD_BACKEND",
            message: "this build has no AWS support (feature `aws`)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_config(key: Option<&str>, parameter: Option<&str>) -> Config {
        Config {
            backend: Backend::Aws {
                table: "t".into(),
                bucket: "b".into(),
                event_bus: "e".into(),
                // Nothing answers here: a test that reached for SSM would fail.
                endpoint: Some("http://127.0.0.1:9".into()),
            },
            public_url: "http://127.0.0.1:8080".into(),
            encryption_key: key.map(|k| crate::config::Secret::new(k.to_owned())),
            encryption_key_parameter: parameter.map(str::to_owned),
            admin_key: None,
            admin_key_parameter: None,
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

    #[tokio::test]
    async fn on_aws_the_sealing_key_is_required_and_the_error_names_both_ways() {
        let e = encryption_key(&aws_config(None, None)).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("HERALD_ENCRYPTION_KEY or HERALD_ENCRYPTION_KEY_PARAMETER"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_plain_sealing_key_wins_without_asking_ssm_and_a_bad_one_is_named() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let got = encryption_key(&aws_config(Some(key), Some("/herald/encryption-key")))
            .await
            .unwrap();
        assert_eq!(got[1], 1);
        let e = encryption_key(&aws_config(Some("c2hvcnQ="), None))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("HERALD_ENCRYPTION_KEY"), "{e}");
    }
}
