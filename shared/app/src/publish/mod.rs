//! The publishing engine: finds due targets through the time-bucketed due index, claims each
//! with a conditional write and a lease before any network call, publishes, and records the
//! outcome together with its event in one transaction.
//!
//! Exactly once: a target whose earlier attempt may have reached the network (a crash, a
//! timeout, an expired lease) is `unconfirmed` and is resolved by asking the network for the
//! post (by marker or content) before anything is sent again. Nothing is ever re-sent blindly.

mod claim;
mod dispatcher;
mod due;
mod held;
mod outcome;
mod prepare;
mod queued;
mod request;
mod retry;
pub mod wake;

pub use claim::process;
pub use dispatcher::{Dispatcher, RunReport, TickReport};
pub use queued::{HandOff, Sent};
pub use retry::{Decision, Failure, decide, next_delay};

use chrono::Duration;
use herald_domain::Target;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// How long a claim holds. Longer than any single network call (the HTTP timeout), so a
    /// live attempt is never taken over; checkpoints extend it during long uploads.
    pub lease: Duration,
    /// How far ahead a run looks: targets due within it are claimed and prepared at once, then
    /// sent at their second (on Lambda, the minute until the next scheduled run). A post due
    /// within it can no longer be moved, only cancelled.
    pub lookahead: Duration,
    /// Publish attempts before a target fails for good.
    pub max_attempts: u32,
    /// Caps the sends in flight at once on every network; `None` leaves each network its own
    /// bound (`NetworkLimits::max_in_flight`).
    pub concurrency: Option<usize>,
    /// This process is the only publisher (the embedded store allows one process): claims
    /// left by earlier processes are dead and are taken over at once, not at lease expiry.
    pub exclusive: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            lease: Duration::minutes(5),
            lookahead: Duration::seconds(1),
            max_attempts: 6,
            concurrency: None,
            exclusive: false,
        }
    }
}

/// What one target's processing came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Published,
    /// Found already on the network by reconciliation: recorded, not sent again.
    Confirmed,
    Failed,
    Retrying,
    Unconfirmed,
    /// The network's allowance for the account (or app) is spent: moved to when it renews.
    Deferred,
    /// Its post was cancelled before it was sent: it ends without reaching the network.
    Cancelled,
    /// Someone else holds it, or it is not due.
    Skipped,
}

/// The stable marker of a target: its idempotency key where a network takes one.
pub fn marker(t: &Target) -> String {
    let digest = Sha256::digest(format!("{}/{}/{}", t.workspace, t.post, t.account).as_bytes());
    format!("hrld-{}", &hex::encode(digest)[..24])
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::TargetStatus;

    #[test]
    fn markers_are_stable_and_distinct_per_target() {
        let t = |acct| Target {
            workspace: herald_domain::WorkspaceId::generate(1, 1),
            post: herald_domain::PostId::generate(1, 2),
            account: acct,
            platform: herald_domain::Platform::Sandbox,
            status: TargetStatus::Scheduled,
            due_at: None,
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
        };
        let a = t(herald_domain::AccountId::generate(1, 3));
        let b = t(herald_domain::AccountId::generate(1, 4));
        assert_eq!(marker(&a), marker(&a.clone()));
        assert_ne!(marker(&a), marker(&b));
    }
}
