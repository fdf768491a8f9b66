//! Adapters of the blob store, event bus, clock and randomness ports: AWS (feature `aws`) and embedded.

pub mod blob_key;
pub mod clock;
pub mod ffmpeg;
pub mod fs_blob;
pub mod memory_bus;
pub mod random;
pub mod wakeups;

#[cfg(feature = "aws")]
pub mod aws_wakeups;
#[cfg(feature = "aws")]
pub mod eventbridge_bus;
#[cfg(feature = "aws")]
pub mod s3_blob;

pub use blob_key::validate_key;
pub use clock::{ManualClock, SystemClock};
pub use ffmpeg::Ffmpeg;
pub use fs_blob::{FsBlobStore, PresignError, PresignedQuery, verify_presigned};
pub use memory_bus::InProcessBus;
pub use random::{SeededRandom, SystemRandom};
pub use wakeups::InlineWakeUps;

#[cfg(feature = "aws")]
pub use aws_wakeups::{AwsWakeUps, JobTarget, WakeTarget};
#[cfg(feature = "aws")]
pub use eventbridge_bus::EventBridgeBus;
#[cfg(feature = "aws")]
pub use s3_blob::S3BlobStore;
