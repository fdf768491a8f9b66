//! The aggregator on what the engine published: a post's engagement rolled up per post, day,
//! account, hour of week, tag and kind; repeats adding nothing; network totals replacing what
//! the post counted, polled 1 h, 24 h and 7 d after publishing.

use crate::support::World;
use chrono::Duration;
use herald_app::aggregate::{self, insights};
use herald_app::posts::{self, NewPost};
use herald_domain::event::{Engagement, EngagementRecorded, Event, EventKind};
use herald_domain::{AccountId, EventId, Platform, PostId, PostKind};
use herald_ports::{BusEvent, Clock, Item, PostMetrics, Value};
use herald_storage::keys;

async fn published(w: &mut World, acct: &AccountId) -> (PostId, String, Vec<BusEvent>) {
    let new = NewPost {
        text: "Black Friday: 30% off".into(),
        accounts: vec![acct.clone()],
        scheduled_at: Some(w.clock.now()),
        variants: Default::default(),
        media: vec![],
        tags: vec!["sale".into(), "launch".into()],
        kind: PostKind::Promotional,
        recurrence: None,
        queue: false,
    };
    let post = posts::create(&w.deps, &w.ws, &crate::support::trusted(), new, None)
        .await
        .unwrap()
        .post
        .id;
    w.dispatcher().run_once().await.unwrap();
    let remote = w.view(&post).await.targets[0].remote_id.clone().unwrap();
    (post, remote, w.events())
}

fn engagement(
    w: &World,
    acct: &AccountId,
    post: &PostId,
    kind: Engagement,
    n: u64,
    i: u128,
) -> BusEvent {
    BusEvent::of(&Event {
        id: EventId::generate(w.clock.now_ms() as u64, 1000 + i),
        workspace: w.ws.clone(),
        time: w.clock.now(),
        kind: EventKind::EngagementRecorded(EngagementRecorded {
            account: acct.clone(),
            platform: Platform::Sandbox,
            remote_id: "sbx".into(),
            post: Some(post.clone()),
            engagement: kind,
            count: n,
        }),
    })
}

async fn item(w: &World, key: herald_ports::Key) -> Item {
    w.deps.table.get(&key).await.unwrap().unwrap_or_default()
}

fn n(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_n).unwrap_or(0)
}

#[tokio::test]
async fn engagement_rolls_up_per_post_day_account_hour_tag_and_kind_once_however_often_delivered() {
    let mut w = World::new().await;
    let acct = w.account("brand").await;
    let (post, _, events) = published(&mut w, &acct).await;
    assert_eq!(
        events.iter().filter(|e| e.kind == "post.published").count(),
        1
    );
    let first = aggregate::aggregate(&w.deps, &events).await.unwrap();
    assert_eq!(first.counted, 1);

    let mut batch: Vec<BusEvent> = (0..3)
        .map(|i| engagement(&w, &acct, &post, Engagement::Like, 1, i))
        .collect();
    batch.push(engagement(&w, &acct, &post, Engagement::Impression, 250, 9));
    batch.push(batch[0].clone()); // a repeat inside the batch
    let report = aggregate::aggregate(&w.deps, &batch).await.unwrap();
    assert_eq!((report.counted, report.repeats), (4, 1), "{report:?}");
    // The whole batch again, as a retried invocation delivers it: nothing more.
    let again = aggregate::aggregate(&w.deps, &batch).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
    assert!(again.already_applied >= 1);
    // The published event again too.
    assert_eq!(
        aggregate::aggregate(&w.deps, &events).await.unwrap().writes,
        0
    );

    let day = w.clock.now().date_naive();
    let ws = &w.ws;
    let d = item(&w, keys::metrics_day(ws, day)).await;
    assert_eq!((n(&d, "published"), n(&d, "posts")), (1, 1));
    assert_eq!(
        (n(&d, "likes"), n(&d, "impressions"), n(&d, "engagements")),
        (3, 250, 3)
    );
    let p = item(&w, keys::metrics_post(ws, &post)).await;
    assert_eq!((n(&p, "likes"), n(&p, "impressions")), (3, 250));
    assert_eq!(p.get("post_kind"), Some(&Value::S("promotional".into())));
    let a = item(&w, keys::metrics_account_day(ws, &acct, day)).await;
    assert_eq!((n(&a, "posts"), n(&a, "likes")), (1, 3));
    // Published Monday 09:00 in the workspace's zone (UTC).
    let h = item(&w, keys::metrics_hour_of_week(ws, &acct, 0, 9)).await;
    assert_eq!((n(&h, "posts"), n(&h, "engagements")), (1, 3));
    for tag in ["sale", "launch"] {
        let t = item(&w, keys::metrics_tag(ws, day, tag)).await;
        assert_eq!((n(&t, "posts"), n(&t, "engagements")), (1, 3), "{tag}");
    }
    let k = item(&w, keys::metrics_kind(ws, day, "promotional")).await;
    assert_eq!((n(&k, "posts"), n(&k, "impressions")), (1, 250));
    // No day item carries anything per event: its attributes are the counters alone.
    assert!(d.keys().all(|name| !name.starts_with("seen_")), "{d:?}");
}

#[tokio::test]
async fn network_totals_polled_after_publishing_replace_the_posts_counts() {
    let mut w = World::new().await;
    let acct = w.account("brand").await;
    let (post, remote, events) = published(&mut w, &acct).await;
    aggregate::aggregate(&w.deps, &events).await.unwrap();
    let likes: Vec<BusEvent> = (0..3)
        .map(|i| engagement(&w, &acct, &post, Engagement::Like, 1, i))
        .collect();
    aggregate::aggregate(&w.deps, &likes).await.unwrap();
    let day = w.clock.now().date_naive();

    // Not before the first hour.
    w.clock.advance(Duration::minutes(59));
    let early = insights::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(early.polled, 0, "{early:?}");

    w.sandbox.set_metrics(
        &remote,
        PostMetrics {
            impressions: Some(900),
            likes: Some(10),
            ..PostMetrics::default()
        },
    );
    w.clock.advance(Duration::minutes(2));
    let first = insights::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!((first.polled, first.updated), (1, 1), "{first:?}");
    let p = item(&w, keys::metrics_post(&w.ws, &post)).await;
    assert_eq!(
        (n(&p, "likes"), n(&p, "impressions"), n(&p, "engagements")),
        (10, 900, 10)
    );
    // The day moved by the difference: 3 counted from events, 7 more from the total.
    let d = item(&w, keys::metrics_day(&w.ws, day)).await;
    assert_eq!((n(&d, "likes"), n(&d, "engagements")), (10, 10));
    let tag = item(&w, keys::metrics_tag(&w.ws, day, "sale")).await;
    assert_eq!(n(&tag, "likes"), 10);
    herald_app::events::relay(&w.deps, 100).await.unwrap();
    let updated: Vec<_> = w
        .events()
        .into_iter()
        .filter(|e| e.kind == "metrics.updated")
        .collect();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].data["likes"], 10);

    // Polled again at once: nothing is due until the 24th hour.
    assert_eq!(
        insights::poll(&w.deps, w.clock.now()).await.unwrap().polled,
        0
    );
    // A network may lower its totals (a like taken back): they still replace.
    w.sandbox.set_metrics(
        &remote,
        PostMetrics {
            likes: Some(8),
            ..PostMetrics::default()
        },
    );
    w.clock.advance(Duration::hours(24));
    let second = insights::poll(&w.deps, w.clock.now()).await.unwrap();
    assert_eq!(second.updated, 1, "{second:?}");
    let p = item(&w, keys::metrics_post(&w.ws, &post)).await;
    assert_eq!((n(&p, "likes"), n(&p, "impressions")), (8, 900));
    let d = item(&w, keys::metrics_day(&w.ws, day)).await;
    let d2 = item(&w, keys::metrics_day(&w.ws, w.clock.now().date_naive())).await;
    assert_eq!(n(&d, "likes") + n(&d2, "likes"), 8);

    // The seventh day is the last poll.
    w.clock.advance(Duration::days(7));
    assert_eq!(
        insights::poll(&w.deps, w.clock.now()).await.unwrap().polled,
        1
    );
    w.clock.advance(Duration::days(30));
    assert_eq!(
        insights::poll(&w.deps, w.clock.now()).await.unwrap().polled,
        0
    );
}
