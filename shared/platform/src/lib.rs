//! Configuration, bootstrap and telemetry: where the backends are chosen, once, from config.

pub mod admin_key;
#[cfg(feature = "aws")]
mod aws;
pub mod bootstrap;
pub mod config;
mod parameters;
mod sealer;
pub mod sends;
pub mod startup;
pub mod telemetry;

pub use bootstrap::{Built, build};
pub use config::{Backend, Config, ConfigError, Secret};
