//! The aggregator's polls woken on demand, as deployed: a published target ensures the wake
//! after its first insight poll, each poll the wake after its next, a burst shares one wake,
//! and a Scheduler outage fails nothing (the hourly sweep runs the same polls).

use crate::support::World;
use chrono::{DateTime, Utc};
use herald_app::aggregate::{self, wake};
use herald_domain::event::{Event, EventKind, PostPublished};
use herald_domain::{EventId, Platform, PostId};
use herald_ports::wake::WAKE_LEAD;
use herald_ports::{BusEvent, Clock, WakeJob};
use std::sync::atomic::Ordering;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A target of a new post published at `published_at` (as the publisher's event says it).
fn published(w: &World, acct: &herald_domain::AccountId, published_at: &str, i: u128) -> BusEvent {
    BusEvent::of(&Event {
        id: EventId::generate(w.clock.now_ms() as u64, 5000 + i),
        workspace: w.ws.clone(),
        time: at(published_at),
        kind: EventKind::PostPublished(PostPublished {
            post: PostId::generate(w.clock.now_ms() as u64, 7000 + i),
            account: acct.clone(),
            platform: Platform::Sandbox,
            remote_id: format!("sbx-{i}"),
            url: None,
            published_at: at(published_at),
            scheduled_at: None,
        }),
    })
}

#[tokio::test]
async fn published_targets_wake_their_insight_polls_after_each_stage_one_wake_per_quarter() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    // Published 09:00, 09:05 and 09:10: first polls due 10:00, 10:05, 10:10, all woken by
    // 10:15's wake (it fires from 10:13 on, after each is due). 09:14's is due 10:14: 10:15's
    // wake may fire before it, so 10:30's is its.
    let batch: Vec<BusEvent> = ["09:00:00", "09:05:00", "09:10:00", "09:14:00"]
        .iter()
        .enumerate()
        .map(|(i, t)| published(&w, &acct, &format!("2026-11-23T{t}Z"), i as u128))
        .collect();
    aggregate::aggregate(&w.deps, &batch).await.unwrap();
    assert_eq!(
        w.wakes.minutes_of(WakeJob::Polls),
        [at("2026-11-23T10:15:00Z"), at("2026-11-23T10:30:00Z")]
    );
    assert!(
        w.wakes.minutes().is_empty(),
        "the publisher's wakes untouched"
    );
    for minute in w.wakes.minutes_of(WakeJob::Polls) {
        assert!(minute - WAKE_LEAD > at("2026-11-23T10:10:00Z"));
    }
    // The same batch delivered again: its wakes again (the same names: one schedule each).
    aggregate::aggregate(&w.deps, &batch).await.unwrap();
    assert_eq!(w.wakes.minutes_of(WakeJob::Polls).len(), 4);

    // 10:15's wake fires as early as it may: the three due polls run, 09:14's waits.
    w.clock.set(at("2026-11-23T10:13:00Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.insights.polled, 3, "{run:?}");
    assert_eq!(run.next_notifications, None, "no polled account: no chain");
    // Their next stage, 24 h after publishing, gets its wake: one for the three.
    assert_eq!(
        w.wakes.minutes_of(WakeJob::Polls)[4..],
        [at("2026-11-24T09:15:00Z")]
    );
    w.clock.set(at("2026-11-23T10:28:00Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.insights.polled, 1, "{run:?}");
    assert_eq!(
        w.wakes.minutes_of(WakeJob::Polls).last(),
        Some(&at("2026-11-24T09:30:00Z"))
    );
    // Nothing due: a run (the hourly sweep, say) polls nothing and wakes nothing more.
    let before = w.wakes.minutes_of(WakeJob::Polls).len();
    w.clock.set(at("2026-11-23T11:00:00Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.insights.polled, 0);
    assert_eq!(w.wakes.minutes_of(WakeJob::Polls).len(), before);
}

#[tokio::test]
async fn a_scheduler_outage_fails_no_rollup_and_the_sweep_still_polls() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    w.wakes.failing.store(true, Ordering::SeqCst);
    let batch = [published(&w, &acct, "2026-11-23T09:00:00Z", 1)];
    let report = aggregate::aggregate(&w.deps, &batch).await.unwrap();
    assert_eq!(report.counted, 1);
    assert!(w.wakes.minutes_of(WakeJob::Polls).is_empty());
    // The hourly sweep an hour on runs the poll the lost wake was for.
    w.clock.set(at("2026-11-23T10:40:00Z"));
    let run = wake::run(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(run.insights.polled, 1, "{run:?}");
}

#[tokio::test]
async fn a_host_that_ticks_wakes_nothing() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    aggregate::aggregate(&w.deps, &[published(&w, &acct, "2026-11-23T09:00:00Z", 1)])
        .await
        .unwrap();
    assert!(w.wakes.minutes_of(WakeJob::Polls).is_empty());
}
