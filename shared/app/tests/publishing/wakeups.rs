//! The wake-up path as deployed on AWS, on the manual clock: every entry into the due index
//! arranges its wake (its minute's schedule, or a delayed send when it is due soon), a
//! minute's run hands each target to the send queue delayed to its second, the sender
//! publishes what the queue delivers exactly once, and the hourly sweep makes up for a lost
//! wake.

use crate::support::{World, messages, trusted};
use chrono::{DateTime, Duration, Utc};
use herald_app::auth::Principal;
use herald_app::posts::{self, Author, NewPost};
use herald_app::publish::Outcome;
use herald_app::publish::wake::Ticket;
use herald_domain::{Actor, PostId, PostStatus, Role, TargetStatus};
use herald_networks::sandbox::Fault;
use herald_ports::Clock;
use herald_ports::wake::minute_of;
use std::sync::atomic::Ordering;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The post a queued send names.
fn post_of(body: &str) -> PostId {
    let t: Ticket = serde_json::from_str(body).unwrap();
    PostId::parse(&t.post).unwrap()
}

fn outcomes(sent: Vec<herald_app::publish::Sent>) -> Vec<Outcome> {
    sent.into_iter().map(|(_, r)| r.unwrap()).collect()
}

fn new_post(text: &str, acct: &herald_domain::AccountId, when: DateTime<Utc>) -> NewPost {
    NewPost {
        text: text.into(),
        accounts: vec![acct.clone()],
        scheduled_at: Some(when),
        variants: Default::default(),
        media: vec![],
        tags: vec![],
        kind: Default::default(),
        recurrence: None,
        queue: false,
    }
}

#[tokio::test]
async fn scheduling_rescheduling_and_approving_each_arrange_a_wake() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    assert_eq!(w.clock.now(), at("2026-11-23T09:00:00Z"));

    // Later than a minute's wake lead: its minute's wake, nothing queued yet.
    let later = w
        .post("later", &[&acct], Duration::seconds(10 * 60 + 17))
        .await;
    assert_eq!(w.wakes.minutes(), vec![at("2026-11-23T09:10:00Z")]);
    assert!(w.wakes.take_sends().is_empty());

    // Due within the lead: to the queue at once, delayed to its second, no schedule.
    let soon = w.post("soon", &[&acct], Duration::seconds(30)).await;
    let sends = w.wakes.take_sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].delay_seconds, 30);
    assert_eq!(post_of(&sends[0].body), soon);
    assert_eq!(w.wakes.minutes().len(), 1);

    // Moved: the new minute's wake.
    posts::schedule(
        &w.deps,
        &w.ws,
        &trusted(),
        &later,
        at("2026-11-23T09:20:05Z"),
    )
    .await
    .unwrap();
    assert_eq!(w.wakes.minutes().last(), Some(&at("2026-11-23T09:20:00Z")));

    // With approvals on, a writer's post waits in review (out of the index: no wake); its
    // approval puts it in, with its wake.
    let owner = Principal::Member {
        workspace: w.ws.clone(),
        role: Role::Owner,
        member: None,
    };
    herald_app::settings::update(&w.deps, &owner, &serde_json::json!({"approvals": true}))
        .await
        .unwrap();
    let before = w.wakes.minutes().len();
    let reviewed = posts::create(
        &w.deps,
        &w.ws,
        &Author::writer(Actor::WorkspaceKey),
        new_post("reviewed", &acct, at("2026-11-23T09:40:00Z")),
        None,
    )
    .await
    .unwrap()
    .post
    .id;
    assert_eq!(
        w.wakes.minutes().len(),
        before,
        "nothing due while in review"
    );
    posts::approve(&w.deps, &w.ws, &reviewed, &trusted())
        .await
        .unwrap();
    assert_eq!(w.wakes.minutes().last(), Some(&at("2026-11-23T09:40:00Z")));
    assert!(w.wakes.take_sends().is_empty());
}

#[tokio::test]
async fn the_engines_own_entries_arrange_wakes_lease_ends_retries_rechecks_and_next_occurrences() {
    let w = World::queued().await;
    let acct = w.account("brand").await;

    // A claim's lease end, ensured beside its send: the index offers the target again then.
    w.post("lease", &[&acct], Duration::zero()).await;
    let sent = w.dispatcher().send(messages(&w.wakes.take_sends())).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);
    w.wakes.wait_for_minute(at("2026-11-23T09:05:00Z")).await;

    // A retry after an outage: queued for its backoff (1 to 2 s).
    w.sandbox.inject([Fault::Unavailable]);
    let retried = w.post("retry", &[&acct], Duration::zero()).await;
    let sent = w.dispatcher().send(messages(&w.wakes.take_sends())).await;
    assert_eq!(outcomes(sent), vec![Outcome::Retrying]);
    let sends = w.wakes.take_sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!((1..=2).contains(&sends[0].delay_seconds), "{sends:?}");
    assert_eq!(post_of(&sends[0].body), retried);
    w.clock.advance(Duration::seconds(2));
    let sent = w.dispatcher().send(messages(&sends)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);

    // An attempt that may have gone out: queued for its recheck, which finds it.
    w.sandbox.inject([Fault::AcceptThenTimeout]);
    let unsure = w.post("unsure", &[&acct], Duration::zero()).await;
    let sent = w.dispatcher().send(messages(&w.wakes.take_sends())).await;
    assert_eq!(outcomes(sent), vec![Outcome::Unconfirmed]);
    let sends = w.wakes.take_sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(post_of(&sends[0].body), unsure);
    w.clock
        .advance(Duration::seconds(i64::from(sends[0].delay_seconds)));
    let sent = w.dispatcher().send(messages(&sends)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Confirmed]);

    // A repeating post's next occurrence, made at the claim of this one: its minute's wake.
    let mut new = new_post("daily", &acct, w.clock.now());
    new.recurrence = Some(herald_domain::Recurrence {
        freq: herald_domain::Frequency::Daily,
        interval: 1,
        count: Some(2),
        until: None,
    });
    posts::create(&w.deps, &w.ws, &trusted(), new, None)
        .await
        .unwrap();
    let tomorrow = minute_of(w.clock.now() + Duration::days(1));
    let sent = w.dispatcher().send(messages(&w.wakes.take_sends())).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);
    assert!(
        w.wakes.minutes().contains(&tomorrow),
        "{:?}",
        w.wakes.minutes()
    );
    assert_eq!(w.outbox(&acct).await.len(), 4);
}

#[tokio::test]
async fn a_deferral_past_the_networks_allowance_is_queued_for_when_it_renews() {
    use herald_domain::limits::{RateLimit, RateScope};
    static ONE_A_MINUTE: [RateLimit; 1] = [RateLimit {
        scope: RateScope::Account,
        max: 1,
        window_seconds: 60,
    }];
    let w = World::queued_with(Some(&ONE_A_MINUTE)).await;
    let acct = w.account("busy").await;
    w.post("first", &[&acct], Duration::zero()).await;
    w.post("second", &[&acct], Duration::zero()).await;
    let sends = w.wakes.take_sends();
    assert_eq!(sends.len(), 2);
    let mut got = outcomes(w.dispatcher().send(messages(&sends)).await);
    got.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(got, vec![Outcome::Deferred, Outcome::Published]);
    let deferred = w.wakes.take_sends();
    assert_eq!(deferred.len(), 1, "{deferred:?}");
    // When the window renews, plus the spread of up to 5 s.
    assert!(
        (60..=65).contains(&deferred[0].delay_seconds),
        "{deferred:?}"
    );
    w.clock
        .advance(Duration::seconds(i64::from(deferred[0].delay_seconds)));
    let sent = w.dispatcher().send(messages(&deferred)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);
    w.assert_each_once(&acct, 2).await;
}

#[tokio::test]
async fn a_minutes_run_hands_each_target_to_the_queue_delayed_to_its_second() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    let minute = at("2026-11-23T09:10:00Z");
    let times = [
        at("2026-11-23T09:10:00Z"),
        at("2026-11-23T09:10:17Z"),
        at("2026-11-23T09:10:59.500Z"),
    ];
    let mut ids = Vec::new();
    for (i, t) in times.iter().enumerate() {
        ids.push(
            w.post(&format!("at {i}"), &[&acct], *t - w.clock.now())
                .await,
        );
    }
    // The next minute's target has a wake of its own.
    let next = w
        .post(
            "next minute",
            &[&acct],
            at("2026-11-23T09:11:00Z") - w.clock.now(),
        )
        .await;
    assert_eq!(
        w.wakes.minutes(),
        vec![minute, minute, minute, at("2026-11-23T09:11:00Z")]
    );
    assert!(w.wakes.take_sends().is_empty());

    // The wake fires within the minute two minutes before its own (60 s precision).
    w.clock.set(at("2026-11-23T09:08:20Z"));
    let handed = w
        .dispatcher()
        .hand_off(minute + Duration::milliseconds(59_999))
        .await
        .unwrap();
    assert_eq!((handed.due, handed.queued), (3, 3), "{handed:?}");
    let mut sends = w.wakes.take_sends();
    sends.sort_by_key(|s| s.delay_seconds);
    let delays: Vec<u32> = sends.iter().map(|s| s.delay_seconds).collect();
    assert_eq!(delays, vec![100, 117, 160], "each lands on its second");
    assert!(sends.iter().all(|s| post_of(&s.body) != next));

    // SQS delivers each at its delay: published then, at its second.
    for (send, id) in sends.iter().zip(&ids) {
        w.clock
            .set(at("2026-11-23T09:08:20Z") + Duration::seconds(i64::from(send.delay_seconds)));
        let sent = w
            .dispatcher()
            .send(messages(std::slice::from_ref(send)))
            .await;
        assert_eq!(outcomes(sent), vec![Outcome::Published]);
        let view = w.view(id).await;
        let due = view.scheduled_at.unwrap();
        let lateness = view.targets[0].published_at.unwrap() - due;
        assert!(
            lateness >= Duration::zero() && lateness < Duration::seconds(1),
            "{lateness}"
        );
    }
    w.assert_each_once(&acct, 3).await;
}

#[tokio::test]
async fn a_lost_wake_is_caught_by_the_hourly_sweep_late_but_never_lost() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    // The Scheduler and the queue are down while the posts are written: the writes stand.
    w.wakes.failing.store(true, Ordering::SeqCst);
    let near = w.post("near", &[&acct], Duration::seconds(30)).await;
    let far = w.post("far", &[&acct], Duration::minutes(40)).await;
    assert!(w.wakes.minutes().is_empty());
    assert!(w.wakes.take_sends().is_empty());
    assert_eq!(w.view(&near).await.status, PostStatus::Scheduled);
    w.wakes.failing.store(false, Ordering::SeqCst);

    // Nothing woke for them. The sweep, some minutes later: the overdue one is queued at
    // once, the later one gets its minute's wake.
    w.clock.advance(Duration::minutes(3));
    let swept = w.dispatcher().sweep(Duration::minutes(65)).await.unwrap();
    assert_eq!(
        (swept.due, swept.queued, swept.minutes),
        (2, 1, 1),
        "{swept:?}"
    );
    assert_eq!(w.wakes.minutes(), vec![at("2026-11-23T09:40:00Z")]);
    let sends = w.wakes.take_sends();
    assert_eq!(sends[0].delay_seconds, 0);
    assert_eq!(post_of(&sends[0].body), near);
    let sent = w.dispatcher().send(messages(&sends)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);

    // The far one's minute runs as any other.
    w.clock.set(at("2026-11-23T09:38:30Z"));
    let handed = w
        .dispatcher()
        .hand_off(at("2026-11-23T09:40:59.999Z"))
        .await
        .unwrap();
    assert_eq!(handed.queued, 1);
    let sends = w.wakes.take_sends();
    assert_eq!(sends[0].delay_seconds, 90);
    w.clock.advance(Duration::seconds(90));
    let sent = w.dispatcher().send(messages(&sends)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);
    assert_eq!(w.view(&far).await.status, PostStatus::Published);
    w.assert_each_once(&acct, 2).await;
}

#[tokio::test]
async fn a_send_delivered_twice_publishes_once() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    let post = w.post("twice", &[&acct], Duration::seconds(5)).await;
    let sends = w.wakes.take_sends();
    w.clock.advance(Duration::seconds(5));
    // SQS delivers at least once: the same message to two senders at once, then again.
    let (d1, d2) = (w.dispatcher(), w.dispatcher());
    let (a, b) = tokio::join!(d1.send(messages(&sends)), d2.send(messages(&sends)));
    let mut got = outcomes(a);
    got.extend(outcomes(b));
    got.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(got, vec![Outcome::Published, Outcome::Skipped]);
    let again = outcomes(w.dispatcher().send(messages(&sends)).await);
    assert_eq!(again, vec![Outcome::Skipped]);
    assert_eq!(w.outbox(&acct).await.len(), 1);
    assert_eq!(w.view(&post).await.targets[0].attempts, 1);
}

#[tokio::test]
async fn a_cancelled_posts_send_arriving_later_publishes_nothing() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    let post = w.post("never mind", &[&acct], Duration::seconds(20)).await;
    let sends = w.wakes.take_sends();
    assert_eq!(sends.len(), 1);
    posts::cancel(&w.deps, &w.ws, &post).await.unwrap();
    w.clock.advance(Duration::seconds(20));
    let sent = w.dispatcher().send(messages(&sends)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Skipped]);
    assert!(w.outbox(&acct).await.is_empty());
    let view = w.view(&post).await;
    assert_eq!(view.status, PostStatus::Cancelled);
    assert_eq!(view.targets[0].status, TargetStatus::Cancelled);
}

#[tokio::test]
async fn a_send_for_a_post_moved_later_is_dropped_and_the_new_time_has_its_own() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    let post = w.post("moved", &[&acct], Duration::seconds(20)).await;
    let old = w.wakes.take_sends();
    let new_time = w.clock.now() + Duration::seconds(50);
    posts::schedule(&w.deps, &w.ws, &trusted(), &post, new_time)
        .await
        .unwrap();
    let new = w.wakes.take_sends();
    assert_eq!(new[0].delay_seconds, 50);
    // The old message arrives at the old time: too early for the post now, dropped.
    w.clock.advance(Duration::seconds(20));
    let sent = w.dispatcher().send(messages(&old)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Skipped]);
    assert!(w.outbox(&acct).await.is_empty());
    w.clock.set(new_time);
    let sent = w.dispatcher().send(messages(&new)).await;
    assert_eq!(outcomes(sent), vec![Outcome::Published]);
    assert_eq!(w.outbox(&acct).await.len(), 1);
}

#[tokio::test]
async fn a_message_that_names_no_target_is_dropped_and_changes_nothing() {
    let w = World::queued().await;
    let acct = w.account("brand").await;
    w.post("bystander", &[&acct], Duration::seconds(5)).await;
    let junk = vec![
        ("m1".to_owned(), "not json".to_owned()),
        (
            "m2".to_owned(),
            r#"{"workspace":"ws_x","post":"p","account":"a","at":0}"#.to_owned(),
        ),
    ];
    let sent = w.dispatcher().send(junk).await;
    assert_eq!(outcomes(sent), vec![Outcome::Skipped, Outcome::Skipped]);
    assert!(w.outbox(&acct).await.is_empty());
}

#[tokio::test]
async fn without_a_send_queue_writes_arrange_nothing_and_runs_send_inline() {
    let w = World::new().await;
    let acct = w.account("brand").await;
    w.post("inline soon", &[&acct], Duration::seconds(1)).await;
    w.post("inline later", &[&acct], Duration::minutes(10))
        .await;
    assert!(w.wakes.minutes().is_empty());
    assert!(w.wakes.take_sends().is_empty());
    w.clock.advance(Duration::seconds(1));
    let report = w.dispatcher().run_once().await.unwrap();
    assert_eq!(report.published, 1);
}
