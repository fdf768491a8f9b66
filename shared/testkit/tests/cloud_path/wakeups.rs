//! The wake-up path as deployed: intake and the publisher with the template's send state
//! machine and schedule group (in moto). A post due minutes ahead gets its minute's one-time
//! schedule in the Scheduler (moto keeps schedules but never fires them, so the test drives
//! the run with the schedule's own input); a post due soon is handed to the state machine at
//! once; moto's interpreter runs the template's definition, waiting until the target's
//! second before its Lambda task, and the publisher binary, handed that task's payload,
//! publishes each post once at its second.

use crate::cloud::{Cloud, Handed};
use crate::{READY_WITHIN, call, workspace};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

const ADMIN_KEY: &str = "hk_admin_cloud-path-wakeups-0001";

fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp().div_euclid(60) * 60, 0).unwrap()
}

fn rfc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the state machine invoked until `n` invocations came (or `within` passed): each
/// the publisher's, as the template's definition names it.
async fn handed(cloud: &Cloud, n: usize, within: std::time::Duration) -> Vec<Handed> {
    let got = cloud.handed_over(n, within).await;
    for h in &got {
        assert_eq!(h.function, cloud.publisher_arn(), "{h:?}");
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn due_minutes_get_one_time_schedules_and_each_target_is_sent_at_its_second_once() {
    let cloud = Cloud::create("wake").await;
    cloud.put_admin_key_parameter(ADMIN_KEY).await;
    let mut intake = cloud.start("IntakeFunction", &[]).await;
    let mut publisher = cloud.start("PublisherFunction", &[]).await;
    for f in [&mut intake, &mut publisher] {
        f.ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, key) = workspace(&intake, ADMIN_KEY, "Wake").await;
    let acct = call(
        &intake,
        "POST",
        "/v1/accounts",
        &key,
        json!({"platform": "sandbox", "handle": "wake"}),
    )
    .await;
    let acct_id = acct.1["id"].as_str().expect("id").to_owned();
    let post = |text: &str, at: DateTime<Utc>| {
        let body = json!({"text": text, "accounts": [acct_id], "scheduled_at": rfc(at)});
        let (intake, key) = (&intake, key.clone());
        async move {
            let answer = call(intake, "POST", "/v1/posts", &key, body).await;
            assert_eq!(answer.0, 201, "{answer:?}");
            answer.1["id"].as_str().expect("id").to_owned()
        }
    };

    // Two posts in a minute a few minutes ahead: one schedule for it, named by it, firing
    // two minutes before it (the Scheduler's 60 s precision), deleted once it has run.
    let minute = minute_of(Utc::now() + Duration::seconds(420));
    post("far one", minute + Duration::seconds(7)).await;
    post("far two", minute + Duration::seconds(41)).await;
    let name = format!("herald-due-{}", minute.format("%Y-%m-%dT%H-%M"));
    assert_eq!(
        cloud.schedule_names("").await,
        std::slice::from_ref(&name),
        "one schedule for the minute"
    );
    cloud.wake_schedule(&name, &cloud.publisher_arn()).await;

    // A post due in a few seconds is handed over at once; its minute's run (driven here with
    // the input a schedule would hand it) hands it over again: a duplicate on purpose.
    // Far enough ahead that a loaded machine has written and run before it comes.
    let due = Utc::now() + Duration::seconds(12);
    let soon_due = due;
    let soon = post("soon", due).await;
    let run = publisher
        .invoke(&json!({"wake": minute_of(due).to_rfc3339_opts(SecondsFormat::Secs, true)}))
        .await
        .expect("the minute's run");
    assert_eq!(run["queued"], 1, "{run}");
    // Held by the execution's Wait until its second: nothing invoked yet.
    let early = handed(&cloud, 1, std::time::Duration::from_millis(300)).await;
    assert!(
        early.is_empty() && Utc::now() < due,
        "invoked before its delay: {early:?}"
    );
    let got = handed(&cloud, 2, std::time::Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    for Handed { at, .. } in &got {
        assert!(
            *at >= due - Duration::milliseconds(20),
            "delivered at {at}, due {due}"
        );
        assert!(
            *at < due + Duration::milliseconds(1500),
            "delivered at {at}, due {due}"
        );
    }
    // Each execution's invocation handed to the publisher binary, as the two executions
    // would: one send. (Lambda runs one invocation at a time per environment; a second
    // environment would race the first for the claim, and the later claim's holder sends. A
    // batch that lost its claim fails its invocation, and the state machine's retry hands it
    // over again.)
    let payloads: Vec<Value> = got.iter().map(|h| h.payload.clone()).collect();
    let mut outcomes: Vec<String> = Vec::new();
    let mut answers = Vec::new();
    for payload in &payloads {
        let answer = match publisher.invoke(payload).await {
            Ok(answer) => answer,
            Err(e) => {
                assert!(
                    publisher.log().contains("the claim was taken over"),
                    "{e}\n{}",
                    publisher.log()
                );
                publisher.invoke(payload).await.expect("handed over again")
            }
        };
        for o in answer["outcomes"].as_array().unwrap() {
            outcomes.push(o.as_str().unwrap().to_owned());
        }
        answers.push(answer);
    }
    outcomes.sort();
    assert_eq!(outcomes, ["published", "skipped"], "{answers:?}");
    let view = call(
        &intake,
        "GET",
        &format!("/v1/posts/{soon}"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(view.1["status"], "published", "{view:?}");
    let published: DateTime<Utc> = view.1["targets"][0]["published_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let lateness = published - due;
    eprintln!(
        "lateness through the state machine's wait: {} ms",
        lateness.num_milliseconds()
    );
    assert!(
        lateness >= Duration::zero() && lateness < Duration::seconds(2),
        "{lateness}"
    );
    // Handed over once more (Express runs at least once): still one post on the network.
    for payload in &payloads {
        let again = publisher.invoke(payload).await.expect("sender");
        assert_eq!(again["outcomes"], json!(["skipped"]), "{again}");
    }
    let outbox = call(
        &intake,
        "GET",
        &format!("/v1/sandbox/{acct_id}/outbox"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(
        outbox.1["items"].as_array().map(Vec::len),
        Some(1),
        "{outbox:?}"
    );

    // A post cancelled after its send was handed over: the invocation comes, nothing goes out.
    let due = Utc::now() + Duration::seconds(3);
    let cancelled = post("never mind", due).await;
    let gone = call(
        &intake,
        "DELETE",
        &format!("/v1/posts/{cancelled}"),
        &key,
        Value::Null,
    )
    .await;
    assert!(gone.0 == 204 || gone.0 == 200, "{gone:?}");
    let got = handed(&cloud, 1, std::time::Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    let answer = publisher.invoke(&got[0].payload).await.expect("sender");
    assert_eq!(answer["outcomes"], json!(["skipped"]), "{answer}");
    let outbox = call(
        &intake,
        "GET",
        &format!("/v1/sandbox/{acct_id}/outbox"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(
        outbox.1["items"].as_array().map(Vec::len),
        Some(1),
        "{outbox:?}"
    );

    // The hourly sweep: the two far posts' minute is ensured again (it is there: harmless),
    // nothing is handed over before its time.
    let swept = publisher
        .invoke(&json!({"sweep": true}))
        .await
        .expect("sweep");
    assert_eq!(
        (
            swept["due"].as_u64(),
            swept["queued"].as_u64(),
            swept["minutes"].as_u64()
        ),
        (Some(2), Some(0), Some(1)),
        "{swept}"
    );
    // The far minute's, and the one the sender's claim made for its lease's end (should the
    // send have died, the index offers the target again then).
    let names = cloud.schedule_names("").await;
    let lease_minutes: Vec<String> = [soon_due, published]
        .iter()
        .map(|t| {
            format!(
                "herald-due-{}",
                minute_of(*t + Duration::minutes(5)).format("%Y-%m-%dT%H-%M")
            )
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&name), "{names:?}");
    assert!(
        names.iter().any(|n| lease_minutes.contains(n)),
        "{names:?} {lease_minutes:?}"
    );

    for f in [&intake, &publisher] {
        assert!(
            !f.log().contains("panicked"),
            "{} panicked:\n{}",
            f.name,
            f.log()
        );
        assert!(
            !f.log().contains("wake-up not arranged"),
            "{}:\n{}",
            f.name,
            f.log()
        );
    }
}
