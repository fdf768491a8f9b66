//! The aggregator's polls as deployed: nothing runs when nothing is due. Intake connecting a
//! Mastodon account, and the aggregator rolling up a published target, each make a one-time
//! schedule (`herald-polls-<minute>`) invoking the aggregator binary; moto keeps schedules
//! but never fires them, so the test drives the run with the schedule's own input, and the
//! run ensures the next notification wake.

use crate::cloud::{ACCOUNT, Cloud, REGION};
use crate::{READY_WITHIN, call, template, workspace};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::json;

const ADMIN_KEY: &str = "hk_admin_cloud-path-polls-00001";

/// The first multiple of `step` minutes strictly after `at`.
fn boundary_after(at: DateTime<Utc>, step: i64) -> DateTime<Utc> {
    let step = step * 60;
    DateTime::from_timestamp((at.timestamp().div_euclid(step) + 1) * step, 0).unwrap()
}

fn name_of(minute: DateTime<Utc>) -> String {
    format!("herald-polls-{}", minute.format("%Y-%m-%dT%H-%M"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polls_wake_the_aggregator_binary_only_when_due() {
    let cloud = Cloud::create("polls").await;
    cloud.put_admin_key_parameter(ADMIN_KEY).await;
    let mut intake = cloud.start("IntakeFunction", &[]).await;
    let mut aggregator = cloud.start("AggregatorFunction", &[]).await;
    for f in [&mut intake, &mut aggregator] {
        f.ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (ws_id, key) = workspace(&intake, ADMIN_KEY, "Polls").await;

    // A sandbox account is not polled: no wake.
    let plain = call(
        &intake,
        "POST",
        "/v1/accounts",
        &key,
        json!({"platform": "sandbox", "handle": "plain"}),
    )
    .await;
    assert_eq!(plain.0, 201, "{plain:?}");
    let acct = plain.1["id"].as_str().expect("id").to_owned();
    assert!(cloud.schedule_names("herald-polls-").await.is_empty());

    // A Mastodon account is: its first wake, on the five-minute mark its lead allows.
    let before = Utc::now();
    let masto = call(
        &intake,
        "POST",
        "/v1/accounts",
        &key,
        json!({"platform": "mastodon", "handle": "cafe@mastodon.invalid",
               "credentials": {"instance": "https://mastodon.invalid", "access_token": "t"}}),
    )
    .await;
    assert_eq!(masto.0, 201, "{masto:?}");
    let after = Utc::now();
    let first = [before, after].map(|t| name_of(boundary_after(t + Duration::minutes(2), 5)));
    let names = cloud.schedule_names("herald-polls-").await;
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(first.contains(&names[0]), "{names:?} not in {first:?}");
    let input = cloud
        .wake_schedule(&names[0], &cloud.aggregator_arn())
        .await;

    // A target published now, as the bus's rule hands it over: its first insight poll is
    // due in an hour, and the wake after it, on a quarter-hour mark, is made.
    let published_at = Utc::now();
    let envelope = json!({
        "version": "0", "id": "cloud-polls", "detail-type": "post.published", "source": "herald",
        "account": ACCOUNT, "region": REGION,
        "time": published_at.to_rfc3339(), "resources": [],
        "detail": {"id": "evt_01jd0000000000000000000002", "kind": "post.published",
                   "workspace": ws_id, "time": published_at.to_rfc3339(),
                   "data": {"post": "post_01jd0000000000000000000001", "account": acct,
                            "platform": "sandbox", "remote_id": "sbx-1", "url": null,
                            "published_at": published_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                            "scheduled_at": null}},
    });
    let pattern = cloud
        .template
        .rule_pattern("AggregatorFunction", "HeraldEvents");
    assert!(template::matches(&pattern, &envelope), "{pattern}");
    let rolled = aggregator.invoke(&envelope).await.expect("rollup");
    assert_eq!(rolled["counted"], 1, "{rolled}");
    let insight_wake = name_of(boundary_after(
        published_at + Duration::hours(1) + Duration::minutes(2),
        15,
    ));
    let names = cloud.schedule_names("herald-polls-").await;
    assert!(names.contains(&insight_wake), "{names:?}");
    assert_eq!(names.len(), 2, "{names:?}");

    // The notification wake's run, with the schedule's own input: the account is polled
    // (its instance does not resolve: a failed poll, tried again next time) and the next
    // wake, five minutes on, is made. No insight poll is due yet.
    let run = aggregator.invoke(&input).await.expect("polls run");
    assert_eq!(run["insights"]["polled"], 0, "{run}");
    assert_eq!(run["notifications"]["accounts"], 1, "{run}");
    assert_eq!(run["notifications"]["failed"], 1, "{run}");
    let next: DateTime<Utc> = run["next_notifications"]
        .as_str()
        .expect("next wake")
        .parse()
        .unwrap();
    // Driven at once rather than at its firing time, the run may name the same mark.
    assert!(next > Utc::now() + Duration::minutes(1), "{next}");
    assert_eq!(next.timestamp() % 300, 0, "{next}");
    let names_after = cloud.schedule_names("herald-polls-").await;
    assert!(names_after.contains(&name_of(next)), "{names_after:?}");
    let made = usize::from(!names.contains(&name_of(next)));
    assert_eq!(names_after.len(), names.len() + made, "{names_after:?}");

    // The hourly sweep runs the same polls (what a lost wake was for).
    let swept = aggregator
        .invoke(&json!({"sweep": true}))
        .await
        .expect("sweep");
    assert_eq!(swept["notifications"]["accounts"], 1, "{swept}");
    for f in [&intake, &aggregator] {
        assert!(!f.log().contains("wake-up not arranged"), "{}", f.log());
    }
}
