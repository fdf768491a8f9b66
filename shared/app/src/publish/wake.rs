//! Waking the publisher for what enters the due index. After each write that puts a target
//! in the index has committed, its time is routed: due soon (within a minute's wake lead), it
//! is handed over at once with a delay that lands on its second; later, its minute's
//! wake is ensured, and that minute's run queues it. A failed wake loses nothing: the hourly
//! sweep of the index finds the target and routes it again.

use crate::Deps;
use chrono::{DateTime, Duration, Utc};
use herald_domain::{AccountId, PostId, Target, WorkspaceId};
use herald_ports::wake::{MAX_SEND_DELAY, WAKE_LEAD, arrange, minute_of, send_delay};
use herald_ports::{DelayedSend, Key, WakeError, WakeJob};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Beyond the lead: a write this close to its minute's wake may miss that run's index read
/// (the index trails the table by a little), so it is queued at once instead.
const MARGIN: Duration = Duration::seconds(5);

/// A target entered (or re-entered) the due index, for `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub workspace: WorkspaceId,
    pub post: PostId,
    pub account: AccountId,
    pub at: DateTime<Utc>,
}

impl Due {
    pub fn of(t: &Target, at: DateTime<Utc>) -> Due {
        Due {
            workspace: t.workspace.clone(),
            post: t.post.clone(),
            account: t.account.clone(),
            at,
        }
    }
}

/// A send's message: which target, and the time it was handed over for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub workspace: String,
    pub post: String,
    pub account: String,
    /// Milliseconds since the epoch.
    pub at: i64,
}

impl Ticket {
    fn of(d: &Due) -> Ticket {
        Ticket {
            workspace: d.workspace.to_string(),
            post: d.post.to_string(),
            account: d.account.to_string(),
            at: d.at.timestamp_millis(),
        }
    }

    /// The target's key and the time it was queued for; None for a message that is not one.
    pub fn parse(body: &str) -> Option<(Key, DateTime<Utc>)> {
        let t: Ticket = serde_json::from_str(body).ok()?;
        let key = keys::target(
            &WorkspaceId::parse(&t.workspace)?,
            &PostId::parse(&t.post)?,
            &AccountId::parse(&t.account)?,
        );
        Some((key, DateTime::from_timestamp_millis(t.at)?))
    }
}

pub use herald_ports::wake::Routed;

/// Routes each due time: queued at once when `all_now` or when it is within the lead (and
/// the queue's longest delay), its minute's wake ensured otherwise. Does nothing where sends
/// are not queued (the host's own runs find everything).
pub(crate) async fn route(deps: &Deps, dues: &[Due], all_now: bool) -> Result<Routed, WakeError> {
    let wakes = &deps.wakeups;
    if !wakes.queues_sends() || dues.is_empty() {
        return Ok(Routed::default());
    }
    let now = deps.clock.now();
    let mut sends = Vec::new();
    let mut minutes = BTreeSet::new();
    for d in dues {
        let wait = send_delay(now, d.at);
        let soon = d.at <= now + WAKE_LEAD + MARGIN;
        if (all_now || soon) && wait <= MAX_SEND_DELAY {
            let body = serde_json::to_string(&Ticket::of(d)).expect("a ticket serializes");
            sends.push(DelayedSend {
                body,
                delay_seconds: wait,
            });
        } else {
            minutes.insert(minute_of(d.at));
        }
    }
    arrange(wakes.as_ref(), WakeJob::Publisher, &minutes, &sends).await
}

/// After a committed write that put these targets in the due index: wakes for them. Never
/// fails the write: a wake not made is logged, and the hourly sweep makes up for it.
pub async fn after_commit(deps: &Deps, dues: &[Due]) {
    if let Err(e) = route(deps, dues, false).await {
        tracing::warn!(error = %e, targets = dues.len(), "wake-up not arranged; the hourly sweep will find these targets");
    }
}

/// As `after_commit`, without holding up the caller (a claim about to send): for a wake that
/// only matters if the caller dies.
pub fn in_background(deps: &Deps, due: Due) {
    if !deps.wakeups.queues_sends() {
        return;
    }
    let deps = deps.clone();
    tokio::spawn(async move { after_commit(&deps, &[due]).await });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_round_trips_and_nonsense_is_no_ticket() {
        let d = Due {
            workspace: WorkspaceId::generate(1, 1),
            post: PostId::generate(1, 2),
            account: AccountId::generate(1, 3),
            at: DateTime::from_timestamp_millis(1_800_000_000_123).unwrap(),
        };
        let body = serde_json::to_string(&Ticket::of(&d)).unwrap();
        let (key, at) = Ticket::parse(&body).unwrap();
        assert_eq!(key, keys::target(&d.workspace, &d.post, &d.account));
        assert_eq!(at, d.at);
        assert_eq!(Ticket::parse("{}"), None);
        assert_eq!(
            Ticket::parse(r#"{"workspace":"x","post":"y","account":"z","at":1}"#),
            None
        );
    }
}
