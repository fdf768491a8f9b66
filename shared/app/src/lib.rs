//! Herald's use cases, written against the ports: the intake API's operations, the publishing
//! engine and the event relay. Every function host (Lambda or `herald serve`) calls these.

pub mod accounts;
pub mod aggregate;
pub mod api_rate;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod engagement;
pub mod error;
pub mod events;
pub mod feeds;
pub mod import;
pub mod inbox;
pub mod media;
pub mod members;
pub mod metrics;
pub mod oauth;
pub mod observe;
pub mod page;
pub mod posts;
pub mod publish;
pub mod queue;
pub mod rate;
pub mod records;
pub mod review_links;
pub mod settings;
pub mod webhooks;
pub mod workspaces;

pub use error::AppError;

use herald_domain::Platform;
use herald_ports::{
    BlobStore, Clock, Connector, Connectors, EventBus, OAuthFlow, Random, Sealer, Table, UrlGuard,
    WakeUps,
};
use std::sync::Arc;

/// Everything a use case may reach, built once by the bootstrap and shared.
#[derive(Clone)]
pub struct Deps {
    pub table: Arc<dyn Table>,
    pub blobs: Arc<dyn BlobStore>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub connectors: Arc<Connectors>,
    /// Seals account credentials before they reach the table.
    pub sealer: Arc<dyn Sealer>,
    /// Checks user-supplied service URLs (SSRF guard).
    pub guard: Arc<dyn UrlGuard>,
    /// The consent flows of the OAuth networks this server is registered with.
    pub oauth: Arc<std::collections::BTreeMap<Platform, Arc<dyn OAuthFlow>>>,
    /// Wakes the publisher for what enters the due index (schedules and a delayed send
    /// queue on AWS; nothing for a host that ticks on its own).
    pub wakeups: Arc<dyn WakeUps>,
    /// Probes and encodes videos (ffmpeg).
    pub video: Arc<dyn herald_ports::VideoTool>,
}

impl Deps {
    pub fn connector(&self, platform: Platform) -> Result<&Arc<dyn Connector>, AppError> {
        self.connectors
            .get(&platform)
            .ok_or(AppError::NetworkNotConfigured(platform))
    }

    /// A fresh random value for ids and claims, from the seedable `random` input.
    pub fn random_u128(&self) -> u128 {
        self.random.u128()
    }
}

/// New ids are time-ordered by the clock, random within a millisecond.
macro_rules! new_id {
    ($deps:expr, $ty:ty) => {
        <$ty>::generate($deps.clock.now_ms() as u64, $deps.random_u128())
    };
}
pub(crate) use new_id;
