//! The publishing engine through every fault: crashes, duplicate runs, timeouts after the
//! network accepted, outages and a throttling table. Each test counts what the sandbox network
//! received: zero lost, zero duplicated. Time is a manual clock; nothing sleeps to wait.

mod ahead;
mod attempts;
mod cancel;
mod faults;
mod inbox;
mod media;
mod oauth_connect;
mod poll_wakes;
mod polling;
mod rollups;
mod series;
mod support;
mod wakeups;

use chrono::Duration;
use herald_app::publish::{Dispatcher, Outcome, PublishOptions};
use herald_domain::{PostStatus, TargetStatus};
use herald_networks::sandbox::Fault;
use support::World;

#[tokio::test]
async fn a_scheduled_post_is_published_once_at_its_time_and_not_before() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Launch day", &[&acct], Duration::seconds(30)).await;
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published, 0, "nothing is due yet");
    assert!(w.outbox(&acct).await.is_empty());
    w.clock.advance(Duration::seconds(30));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published, 1);
    assert_eq!(report.events, 1, "post.published was relayed");
    assert_eq!(w.texts(&acct).await, vec!["Launch day"]);
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Published);
    assert_eq!(view.targets[0].attempts, 1);
    let again = w.dispatcher().run_once().await.unwrap();
    assert_eq!(again.due, 0, "a published target leaves the due index");
    assert_eq!(w.outbox(&acct).await.len(), 1);
}

#[tokio::test]
async fn the_published_event_is_written_with_the_state_and_reaches_the_bus_once() {
    let mut w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Hello", &[&acct], Duration::seconds(1)).await;
    w.clock.advance(Duration::seconds(1));
    w.dispatcher().run_once().await.unwrap();
    w.dispatcher().run_once().await.unwrap();
    let events = w.events();
    let scheduled = events.iter().filter(|e| e.kind == "post.scheduled").count();
    assert_eq!(
        scheduled, 1,
        "scheduling recorded its event once: {events:?}"
    );
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.kind != "post.scheduled")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "post.published");
    assert_eq!(events[0].data["post"], post.as_str());
    assert_eq!(events[0].data["account"], acct.as_str());
}

#[tokio::test]
async fn a_crash_between_the_network_call_and_the_record_is_resolved_without_a_resend() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Crash me", &[&acct], Duration::zero()).await;
    w.sandbox.inject([Fault::AcceptThenHang]);
    {
        // The run reaches the network, which keeps the post, and is then killed mid-call.
        let doomed = w.dispatcher();
        doomed.tick().await.unwrap();
        w.wait_for_outbox(&acct, 1).await;
        drop(doomed);
    }
    assert_eq!(
        w.view(&post).await.targets[0].status,
        TargetStatus::Publishing
    );
    // Before the lease runs out nobody touches it: the attempt might still be alive.
    let early = w.dispatcher().run_once().await.unwrap();
    assert_eq!(early.published + early.confirmed, 0);
    w.clock.advance(Duration::minutes(6));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.confirmed, 1, "{report:?}");
    assert_eq!(w.outbox(&acct).await.len(), 1, "never sent twice");
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Published);
    assert_eq!(
        view.targets[0].remote_id.as_deref(),
        Some(w.outbox(&acct).await[0].remote_id.as_str()),
        "the record binds the post the network really has"
    );
}

#[tokio::test]
async fn a_restarted_exclusive_publisher_resolves_dead_claims_at_once() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    w.post("Left in flight", &[&acct], Duration::zero()).await;
    w.sandbox.inject([Fault::AcceptThenHang]);
    let options = PublishOptions {
        lookahead: Duration::zero(),
        exclusive: true,
        ..PublishOptions::default()
    };
    {
        let doomed = Dispatcher::new(w.deps.clone(), options.clone());
        doomed.tick().await.unwrap();
        w.wait_for_outbox(&acct, 1).await;
    }
    let restarted = Dispatcher::new(w.deps.clone(), options);
    let recovered = restarted.recover().await.unwrap();
    assert_eq!(recovered.started, 1);
    assert_eq!(restarted.drain().await, vec![Outcome::Confirmed]);
    assert_eq!(w.outbox(&acct).await.len(), 1);
}

#[tokio::test]
async fn a_network_that_times_out_after_accepting_is_confirmed_not_reposted() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Slow network", &[&acct], Duration::zero()).await;
    w.sandbox.inject([Fault::AcceptThenTimeout]);
    let first = w.dispatcher().run_once().await.unwrap();
    assert_eq!(first.unconfirmed, 1);
    assert_eq!(
        w.view(&post).await.targets[0].status,
        TargetStatus::Unconfirmed
    );
    w.clock.advance(Duration::minutes(1));
    let second = w.dispatcher().run_once().await.unwrap();
    assert_eq!(second.confirmed, 1, "{second:?}");
    assert_eq!(w.outbox(&acct).await.len(), 1);
    assert_eq!(w.view(&post).await.status, PostStatus::Published);
}

#[tokio::test]
async fn a_failed_lookup_keeps_the_target_unconfirmed_until_the_network_answers() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Lookup trouble", &[&acct], Duration::zero()).await;
    w.sandbox
        .inject([Fault::AcceptThenTimeout, Fault::LookupUnavailable]);
    w.dispatcher().run_once().await.unwrap();
    w.clock.advance(Duration::minutes(1));
    let second = w.dispatcher().run_once().await.unwrap();
    assert_eq!(second.unconfirmed, 1, "{second:?}");
    assert_eq!(w.outbox(&acct).await.len(), 1, "no resend while unsure");
    w.clock.advance(Duration::minutes(1));
    let third = w.dispatcher().run_once().await.unwrap();
    assert_eq!(third.confirmed, 1, "{third:?}");
    assert_eq!(w.outbox(&acct).await.len(), 1);
    assert_eq!(w.view(&post).await.status, PostStatus::Published);
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff_and_published_once() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Outage", &[&acct], Duration::zero()).await;
    w.sandbox.inject([Fault::Unavailable, Fault::Unavailable]);
    let first = w.dispatcher().run_once().await.unwrap();
    assert_eq!(first.retrying, 1);
    let view = w.view(&post).await;
    assert_eq!(view.targets[0].status, TargetStatus::Scheduled);
    assert!(
        view.targets[0]
            .error
            .as_deref()
            .unwrap()
            .contains("unavailable")
    );
    // Not before the backoff.
    let immediate = w.dispatcher().run_once().await.unwrap();
    assert_eq!(immediate.due, 0);
    for _ in 0..4 {
        w.clock.advance(Duration::minutes(1));
        w.dispatcher().run_once().await.unwrap();
    }
    assert_eq!(w.outbox(&acct).await.len(), 1);
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Published);
    assert_eq!(view.targets[0].attempts, 3);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_until_the_network_says() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Busy", &[&acct], Duration::zero()).await;
    w.sandbox.inject([Fault::RateLimited {
        retry_after_seconds: 900,
    }]);
    w.dispatcher().run_once().await.unwrap();
    w.clock.advance(Duration::minutes(14));
    let early = w.dispatcher().run_once().await.unwrap();
    assert_eq!(early.due, 0, "not before the network's reset time");
    w.clock.advance(Duration::minutes(2));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published + report.confirmed, 1, "{report:?}");
    assert_eq!(w.outbox(&acct).await.len(), 1);
    assert_eq!(w.view(&post).await.status, PostStatus::Published);
}

#[tokio::test]
async fn a_refusal_fails_the_target_at_once_with_the_networks_message() {
    let mut w = World::new().await;
    let good = w.account("good").await;
    let bad = w.account("bad").await;
    let post = w
        .post("Mixed fortunes", &[&good, &bad], Duration::zero())
        .await;
    w.sandbox.inject([Fault::Reject("text rejected".into())]);
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!((report.published, report.failed), (1, 1), "{report:?}");
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::PartiallyPublished);
    let failed = view
        .targets
        .iter()
        .find(|t| t.status == TargetStatus::Failed)
        .unwrap();
    assert!(failed.error.as_deref().unwrap().contains("text rejected"));
    let events = w.events();
    let failure = events.iter().find(|e| e.kind == "post.failed").unwrap();
    assert!(
        failure.data["error"]
            .as_str()
            .unwrap()
            .contains("text rejected")
    );
    assert_eq!(w.outbox(&good).await.len() + w.outbox(&bad).await.len(), 1);
}

#[tokio::test]
async fn two_publisher_runs_at_once_publish_each_target_once() {
    let w = World::new().await;
    let accounts = [
        w.account("a").await,
        w.account("b").await,
        w.account("c").await,
    ];
    let refs: Vec<_> = accounts.iter().collect();
    for i in 0..40 {
        w.post(&format!("post {i}"), &refs, Duration::zero()).await;
    }
    let (d1, d2) = (w.dispatcher(), w.dispatcher());
    let (r1, r2) = tokio::join!(d1.run_once(), d2.run_once());
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.published + r2.published, 120, "{r1:?} {r2:?}");
    for acct in &accounts {
        w.assert_each_once(acct, 40).await;
    }
}

#[tokio::test]
async fn the_same_trigger_delivered_twice_publishes_once() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    for i in 0..25 {
        w.post(&format!("tick {i}"), &[&acct], Duration::zero())
            .await;
    }
    // EventBridge delivers at least once: the same scheduled event twice, concurrently.
    let event = serde_json::json!({"id": "same-event", "detail-type": "Scheduled Event"});
    let (a, b) = tokio::join!(
        herald_publisher_like::handle(&w.deps, event.clone()),
        herald_publisher_like::handle(&w.deps, event)
    );
    assert_eq!(a.unwrap().published + b.unwrap().published, 25);
    w.assert_each_once(&acct, 25).await;
}

/// The publisher function's handler shape, without depending on the function crate.
mod herald_publisher_like {
    use herald_app::publish::{Dispatcher, PublishOptions, RunReport};
    use herald_app::{AppError, Deps};

    pub async fn handle(deps: &Deps, _event: serde_json::Value) -> Result<RunReport, AppError> {
        let options = PublishOptions {
            lookahead: chrono::Duration::zero(),
            ..PublishOptions::default()
        };
        Dispatcher::new(deps.clone(), options).run_once().await
    }
}

#[tokio::test]
async fn a_cancelled_post_is_not_published() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    let post = w.post("Never mind", &[&acct], Duration::seconds(10)).await;
    herald_app::posts::cancel(&w.deps, &w.ws, &post)
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(10));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published, 0);
    assert!(w.outbox(&acct).await.is_empty());
    assert_eq!(w.view(&post).await.status, PostStatus::Cancelled);
}

#[tokio::test]
async fn a_burst_is_spread_under_the_networks_allowance_and_deferrals_are_reported() {
    use herald_domain::limits::{RateLimit, RateScope};
    static THREE_A_MINUTE: [RateLimit; 1] = [RateLimit {
        scope: RateScope::Account,
        max: 3,
        window_seconds: 60,
    }];
    let w = World::with_sandbox_limits(&THREE_A_MINUTE).await;
    let busy = w.account("busy").await;
    let quiet = w.account("quiet").await;
    for i in 0..7 {
        w.post(&format!("burst {i}"), &[&busy], Duration::zero())
            .await;
    }
    w.post("alone", &[&quiet], Duration::zero()).await;
    let first = w.dispatcher().run_once().await.unwrap();
    assert_eq!((first.published, first.deferred), (4, 4), "{first:?}");
    assert_eq!(
        w.outbox(&busy).await.len(),
        3,
        "the allowance holds per account"
    );
    assert_eq!(
        w.outbox(&quiet).await.len(),
        1,
        "other accounts are not held up"
    );
    let early = w.dispatcher().run_once().await.unwrap();
    assert_eq!(early.published, 0, "not before the window renews");
    w.clock.advance(Duration::seconds(70));
    let second = w.dispatcher().run_once().await.unwrap();
    assert_eq!((second.published, second.deferred), (3, 1), "{second:?}");
    w.clock.advance(Duration::seconds(70));
    w.dispatcher().run_once().await.unwrap();
    w.assert_each_once(&busy, 7).await;
}
