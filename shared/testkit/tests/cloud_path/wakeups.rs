//! The wake-up path as deployed: intake and the publisher with the template's send queue and
//! schedule group (in moto). A post due minutes ahead gets its minute's one-time schedule in
//! the Scheduler (moto keeps schedules but never fires them, so the test drives the run with
//! the schedule's own input); a post due soon goes to the send queue at once; SQS holds each
//! message until its target's second (DelaySeconds), and the publisher binary, handed the
//! messages as an SQS event, publishes each post once at its second.

use crate::cloud::Cloud;
use crate::events::sqs_event;
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

/// Receives from the send queue until `n` messages came (or `within` passed), each with the
/// time it became receivable.
async fn receive(
    cloud: &Cloud,
    n: usize,
    within: std::time::Duration,
) -> Vec<(DateTime<Utc>, aws_sdk_sqs::types::Message)> {
    let deadline = std::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        let out = cloud
            .sqs
            .receive_message()
            .queue_url(&cloud.send_queue)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        let now = Utc::now();
        for m in out.messages.unwrap_or_default() {
            cloud
                .sqs
                .delete_message()
                .queue_url(&cloud.send_queue)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
            got.push((now, m));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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

    // A post due in a few seconds goes to the queue at once; its minute's run (driven here
    // with the input a schedule would hand it) queues it again: a duplicate on purpose.
    // Far enough ahead that a loaded machine has written and run before it comes.
    let due = Utc::now() + Duration::seconds(12);
    let soon_due = due;
    let soon = post("soon", due).await;
    let run = publisher
        .invoke(&json!({"wake": minute_of(due).to_rfc3339_opts(SecondsFormat::Secs, true)}))
        .await
        .expect("the minute's run");
    assert_eq!(run["queued"], 1, "{run}");
    // Held by SQS until its second: nothing to receive yet.
    let early = receive(&cloud, 1, std::time::Duration::from_millis(300)).await;
    assert!(
        early.is_empty() && Utc::now() < due,
        "delivered before its delay: {early:?}"
    );
    let got = receive(&cloud, 2, std::time::Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    for (at, _) in &got {
        assert!(
            *at >= due - Duration::milliseconds(20),
            "delivered at {at}, due {due}"
        );
        assert!(
            *at < due + Duration::milliseconds(1500),
            "delivered at {at}, due {due}"
        );
    }
    // Delivered (both, as one batch) to the publisher binary as its queue would: one send.
    let messages: Vec<_> = got.into_iter().map(|(_, m)| m).collect();
    let queue = cloud.send_queue.rsplit('/').next().unwrap().to_owned();
    let answer = publisher
        .invoke(&sqs_event(&queue, &messages))
        .await
        .expect("sender");
    let mut outcomes: Vec<String> = answer["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect();
    // A message whose claim was lost to its twin is answered as a failure, and SQS hands it
    // over again. (moto runs two transactions on one item concurrently without isolation, so
    // both claims can land here; DynamoDB's serializable transactions let one only. Either
    // way the later claim's holder is the one that sends.)
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    if !failed.is_empty() {
        assert!(
            publisher.log().contains("the claim was taken over"),
            "{answer}\n{}",
            publisher.log()
        );
        let again: Vec<_> = messages
            .iter()
            .filter(|m| m.message_id().is_some_and(|id| failed.contains(&id)))
            .cloned()
            .collect();
        let redelivered = publisher
            .invoke(&sqs_event(&queue, &again))
            .await
            .expect("sender");
        assert_eq!(redelivered["batchItemFailures"], json!([]), "{redelivered}");
        for o in redelivered["outcomes"].as_array().unwrap() {
            outcomes.push(o.as_str().unwrap().to_owned());
        }
    }
    outcomes.sort();
    assert_eq!(outcomes, ["published", "skipped"], "{answer}");
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
        "lateness through SQS's delay: {} ms",
        lateness.num_milliseconds()
    );
    assert!(
        lateness >= Duration::zero() && lateness < Duration::seconds(2),
        "{lateness}"
    );
    // Delivered once more (at least once): still one post on the network.
    let again = publisher
        .invoke(&sqs_event(&queue, &messages))
        .await
        .expect("sender");
    assert_eq!(again["outcomes"], json!(["skipped", "skipped"]), "{again}");
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

    // A post cancelled after its send was queued: the message arrives, nothing goes out.
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
    let got = receive(&cloud, 1, std::time::Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    let messages: Vec<_> = got.into_iter().map(|(_, m)| m).collect();
    let answer = publisher
        .invoke(&sqs_event(&queue, &messages))
        .await
        .expect("sender");
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
    // nothing is queued before its time.
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
