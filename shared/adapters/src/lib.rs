//! Adapters of the blob store, event bus and clock ports: AWS (feature `aws`) and embedded.

pub mod clock;

pub use clock::{ManualClock, SystemClock};
