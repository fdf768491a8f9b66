//! The cloud path, as deployed: every function's release binary hosted through a Lambda Runtime
//! API on loopback, `HERALD_BACKEND=aws` against moto, the table, environment, rule pattern,
//! upload filter and stream filter all taken from template.yaml.
//!
//! Needs the release binaries (`HERALD_LAMBDA_BIN_DIR`, or target/release checked against the
//! sources) and moto; without either it fails, it never skips. infra/test.sh builds them first.

mod cloud;
mod deploy_checks;
mod emf;
mod events;
mod media;
mod observe;
mod polls;
mod teams;
mod template;
mod wakeups;
mod webhooks;

use cloud::Cloud;
use events::api_event;
use herald_testkit::lambda::Function;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a cold start may take before its first poll. Measured with the release binaries
/// on a loaded 2-core machine: 30 to 130 ms each (before the secrets' reads moved after init). Twenty times that leaves room for a busy CI machine; a
/// function that hangs or crawls at init fails.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(3);

const ADMIN_KEY: &str = "hk_admin_cloud-path-admin-key-0001";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cloud_path_publishes_relays_aggregates_and_transcodes_through_every_binary() {
    let cloud = Cloud::create("main").await;
    cloud.put_admin_key_parameter(ADMIN_KEY).await;

    // Every function's cold start, timed; two intakes at once with the same key (two cold
    // starts racing to install it) must both come up.
    let mut started = Vec::new();
    for function in [
        "IntakeFunction",
        "IntakeFunction",
        "PublisherFunction",
        "TranscoderFunction",
        "AggregatorFunction",
        "RelayFunction",
    ] {
        // Without the send state machine: each run sends inline what is due within its minute.
        started.push(cloud.start(function, cloud::INLINE).await);
    }
    let mut timings = Vec::new();
    for f in &mut started {
        let took = f
            .ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let function = f.name.split("-herald-").next().unwrap_or(&f.name);
        timings.push(format!("{function} {} ms", took.as_millis()));
    }
    eprintln!("exec → first poll: {}", timings.join(", "));
    let [
        intake,
        intake_twin,
        publisher,
        transcoder,
        aggregator,
        relay,
    ] = <[Function; 6]>::try_from(started)
        .ok()
        .expect("six functions");

    // An HTTP API (payload v2) request through intake: the admin key from the SSM parameter.
    let (ws_id, key) = workspace(&intake, ADMIN_KEY, "Cloud").await;
    // The bare secret is no admin key, on AWS either; the twin knows the same key.
    let bare = ADMIN_KEY.strip_prefix("hk_admin_").unwrap();
    let refused = call(
        &intake_twin,
        "POST",
        "/v1/workspaces",
        bare,
        json!({"name": "X"}),
    )
    .await;
    assert_eq!(refused.0, 401, "{refused:?}");
    let twin = call(
        &intake_twin,
        "POST",
        "/v1/workspaces",
        ADMIN_KEY,
        json!({"name": "Twin"}),
    )
    .await;
    assert_eq!(twin.0, 201, "{twin:?}");

    let acct = call(
        &intake,
        "POST",
        "/v1/accounts",
        &key,
        json!({"platform": "sandbox", "handle": "cloud"}),
    )
    .await;
    assert_eq!(acct.0, 201, "{acct:?}");
    let acct_id = acct.1["id"].as_str().expect("id").to_owned();

    // A post due in two seconds; one scheduled publisher run covers the minute ahead.
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let post = call(
        &intake,
        "POST",
        "/v1/posts",
        &key,
        json!({"text": "Hello from the cloud path", "accounts": [acct_id],
               "scheduled_at": due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}),
    )
    .await;
    assert_eq!(post.0, 201, "{post:?}");
    let post_id = post.1["id"].as_str().expect("id").to_owned();
    let run = publisher
        .invoke(&events::schedule_event())
        .await
        .expect("publisher run");
    assert_eq!(run["published"], 1, "{run}");
    assert!(
        chrono::Utc::now() >= due,
        "published before its time: {run}"
    );
    let view = call(
        &intake,
        "GET",
        &format!("/v1/posts/{post_id}"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(view.0, 200, "{view:?}");
    assert_eq!(view.1["status"], "published", "{view:?}");
    published_metrics_as_cloudwatch_takes_them(&publisher, &view.1).await;

    // The publisher's run relayed post.published to the bus; the template's rule (an SQS
    // target here) shows the envelope EventBridge made of it.
    let envelope = cloud.next_bus_event("post.published").await;
    assert_eq!(envelope["source"], "herald", "{envelope}");
    assert_eq!(
        envelope["detail"]["workspace"],
        ws_id.as_str(),
        "{envelope}"
    );
    let published_event = envelope["detail"]["id"]
        .as_str()
        .expect("event id")
        .to_owned();

    // That very envelope, handed to the aggregator, counts once, however often it arrives.
    for _ in 0..2 {
        aggregator.invoke(&envelope).await.expect("aggregator");
    }
    let day = envelope["detail"]["time"].as_str().expect("time")[..10].to_owned();
    assert_eq!(cloud.published_count(&ws_id, &day).await, Some(1));

    // The relay on its own trigger: a second post is published by a publisher that cannot
    // reach the bus, so its event stays in the outbox; the table's stream record of that
    // event item, through the template's filter, wakes the relay, which delivers it.
    let unreachable_bus = cloud
        .start(
            "PublisherFunction",
            &[cloud::INLINE, &[("HERALD_EVENT_BUS", "no-such-bus")]].concat(),
        )
        .await;
    let mut stuck = unreachable_bus;
    stuck
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let due = chrono::Utc::now() + chrono::Duration::seconds(1);
    let second = call(
        &intake,
        "POST",
        "/v1/posts",
        &key,
        json!({"text": "Relayed by the stream", "accounts": [acct_id],
               "scheduled_at": due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}),
    )
    .await;
    assert_eq!(second.0, 201, "{second:?}");
    let second_id = second.1["id"].as_str().expect("id").to_owned();
    let _ = stuck.invoke(&events::schedule_event()).await; // fails at the relay: the bus is gone
    let view = call(
        &intake,
        "GET",
        &format!("/v1/posts/{second_id}"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(view.1["status"], "published", "{view:?}");
    assert!(
        cloud.bus_is_quiet().await,
        "an event reached the bus without the relay"
    );

    let records = cloud.stream_records().await;
    let filters = cloud
        .template
        .filter_patterns("RelayFunction", "EventItems", "DynamoDB");
    let passed: Vec<&Value> = records
        .iter()
        .filter(|r| filters.iter().any(|f| template::matches(f, r)))
        .collect();
    // Every write went to the stream, and the filter let through the event items' inserts
    // only: four events (each post's post.scheduled and post.published); not the posts,
    // targets, keys or counters.
    assert!(
        records.len() > passed.len() + 5,
        "{} records",
        records.len()
    );
    assert_eq!(passed.len(), 4, "{passed:#?}");
    for r in &passed {
        assert_eq!(r["dynamodb"]["NewImage"]["kind"]["S"], "event", "{r}");
    }
    let woke = Instant::now();
    let report = relay
        .invoke(&events::stream_event(&passed))
        .await
        .expect("relay run");
    assert_eq!(
        report,
        json!({"records": 4, "relayed": 2}),
        "the first post's events were relayed already"
    );
    let envelope = cloud.next_bus_event("post.published").await;
    eprintln!(
        "relay wake → event on the queue: {} ms",
        woke.elapsed().as_millis()
    );
    assert_ne!(envelope["detail"]["id"], published_event.as_str());
    assert_eq!(envelope["detail"]["workspace"], ws_id.as_str());
    // Woken again by the same records (a retried batch), it relays nothing twice.
    let again = relay
        .invoke(&events::stream_event(&passed))
        .await
        .expect("relay run");
    assert_eq!(again["relayed"], 0, "{again}");
    assert!(cloud.bus_is_quiet().await);

    // An upload: the media item waits (processing), the object lands where the transcoder's
    // key says, and S3's own notification of it (to a queue here) reaches the transcoder.
    // A real photo: the transcoder's whole pipeline runs, its renditions land in S3.
    let bytes = herald_app::media::image::synthetic_photo(1600, 1200, 7, 90);
    let media_id = cloud
        .create_processing_media(&ws_id, "image/jpeg", bytes.len() as u64)
        .await;
    cloud.upload_original(&ws_id, &media_id, bytes).await;
    let notification = cloud.next_upload_notification().await;
    // S3 URL-encodes the key in its events (moto even the slashes); the transcoder decodes.
    let key_in_event = notification["Records"][0]["s3"]["object"]["key"]
        .as_str()
        .unwrap();
    assert_eq!(
        key_in_event.replace("%2F", "/"),
        format!("{ws_id}/media/{media_id}/original")
    );
    transcoder.invoke(&notification).await.expect("transcoder");
    assert_eq!(cloud.media_status(&ws_id, &media_id).await, "ready");
    let renditions = cloud.rendition_objects(&ws_id, &media_id).await;
    // Ten profiles, in fewer files where networks want the same pixels (a 1600×1200 photo is
    // small enough that most of them take it whole).
    for file in ["instagram-feed", "pinterest", "x", "thumbnail"] {
        assert!(
            renditions
                .iter()
                .any(|(key, _)| key.ends_with(&format!("/r/{file}.jpg"))),
            "no {file} rendition in {renditions:?}"
        );
    }
    for (key, length) in &renditions {
        assert!(*length > 1000, "{key} is {length} bytes");
    }

    // The aggregator's schedule: insight polls through the due index (none due yet: the
    // first is an hour after publishing).
    let polled = aggregator
        .invoke(&json!({"poll": "insights"}))
        .await
        .expect("insight poll");
    assert_eq!(polled["polled"], 0, "{polled}");
    // A like the sandbox network reports, through intake's network path, to the bus by the
    // relay, then to the aggregator as a queue's batch, twice: it counts once.
    let remote = view.1["targets"][0]["remote_id"]
        .as_str()
        .expect("remote id")
        .to_owned();
    let like = call(
        &intake,
        "POST",
        &format!("/v1/sandbox/{acct_id}/events"),
        &key,
        json!({"type": "like", "remote_id": remote, "id": "cloud-like-1"}),
    )
    .await;
    assert_eq!(like.0, 202, "{like:?}");
    let again = call(
        &intake,
        "POST",
        &format!("/v1/sandbox/{acct_id}/events"),
        &key,
        json!({"type": "like", "remote_id": remote, "id": "cloud-like-1"}),
    )
    .await;
    assert_eq!(again.1["status"], "repeat", "{again:?}");
    let records = cloud.stream_records().await;
    let liked: Vec<&Value> = records
        .iter()
        .filter(|r| filters.iter().any(|f| template::matches(f, r)))
        .filter(|r| {
            r["dynamodb"]["NewImage"]["data"]["S"]
                .as_str()
                .is_some_and(|d| d.contains("engagement.recorded"))
        })
        .collect();
    assert_eq!(liked.len(), 1, "one engagement event for one like");
    relay
        .invoke(&events::stream_event(&liked))
        .await
        .expect("relay run");
    let envelope = cloud.next_bus_event("engagement.recorded").await;
    let batch = json!({"Records": [{"messageId": "m1", "body": envelope.to_string()}]});
    let day = envelope["detail"]["time"].as_str().expect("time")[..10].to_owned();
    for _ in 0..2 {
        aggregator.invoke(&batch).await.expect("aggregator batch");
    }
    assert_eq!(cloud.day_counter(&ws_id, &day, "likes").await, 1);
    assert_eq!(cloud.day_counter(&ws_id, &day, "engagements").await, 1);
    // Likes are no inbox items; a comment is one, counted once however often it arrives.
    assert_eq!(emf::total(&intake, "InboxItems", 0).await, 0.0);
    for _ in 0..2 {
        let comment = call(
            &intake,
            "POST",
            &format!("/v1/sandbox/{acct_id}/events"),
            &key,
            json!({"type": "comment", "remote_id": remote, "id": "cloud-comment-1",
                   "text": "Lovely post", "author": "@fan"}),
        )
        .await;
        assert_eq!(comment.0, 202, "{comment:?}");
    }
    let inbox = emf::values(&intake, "InboxItems", 1).await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0].0, 1.0);
    assert_eq!(inbox[0].1["network"], "sandbox");

    // What each printed (CloudWatch Logs bills it by the byte; docs/cost.py takes the sum
    // for the run's two posts).
    let sizes: Vec<String> = [&intake, &publisher, &relay, &aggregator]
        .iter()
        .map(|f| {
            let function = f.name.split("-herald-").next().unwrap_or(&f.name);
            format!("{function} {}", f.log().len())
        })
        .collect();
    eprintln!("log bytes: {}", sizes.join(", "));
    // Every AWS call every binary made is one its role in template.yaml allows.
    cloud.assert_least_privilege();
    // The functions kept running: no crash after their invocations.
    for f in [
        &intake,
        &intake_twin,
        &publisher,
        &transcoder,
        &aggregator,
        &relay,
    ] {
        assert!(
            !f.log().contains("panicked"),
            "{} panicked:\n{}",
            f.name,
            f.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_takes_a_plain_admin_key_over_the_parameter_and_a_new_one_revokes_the_old() {
    let cloud = Cloud::create("keys").await;
    cloud.put_admin_key_parameter("parameter-admin-key").await;
    let env_key = "environment-admin-key";
    let mut intake = cloud
        .start("IntakeFunction", &[("HERALD_ADMIN_KEY", env_key)])
        .await;
    intake
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let by_env = call(
        &intake,
        "POST",
        "/v1/workspaces",
        env_key,
        json!({"name": "A"}),
    )
    .await;
    assert_eq!(by_env.0, 201, "{by_env:?}");
    let by_param = call(
        &intake,
        "POST",
        "/v1/workspaces",
        "parameter-admin-key",
        json!({"name": "B"}),
    )
    .await;
    assert_eq!(by_param.0, 401, "{by_param:?}");

    // The operator puts a new key in the parameter; the next cold start revokes the old key,
    // for every instance (the warm one included: the key lives in the table).
    cloud.put_admin_key_parameter("rotated-admin-key").await;
    let mut rotated = cloud.start("IntakeFunction", &[]).await;
    rotated
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The new instance installs it by its first request at the latest (the read starts at
    // init, the first request waits for it): ask it first.
    for f in [&rotated, &intake] {
        let old = call(f, "POST", "/v1/workspaces", env_key, json!({"name": "C"})).await;
        assert_eq!(old.0, 401, "{old:?}");
        let new = call(
            f,
            "POST",
            "/v1/workspaces",
            "rotated-admin-key",
            json!({"name": "D"}),
        )
        .await;
        assert_eq!(new.0, 201, "{new:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_without_a_usable_admin_key_starts_but_answers_503_saying_which_setting() {
    let cloud = Cloud::create("nokey").await;
    // The parameter named by the template does not exist. Nothing at init asks for it (the
    // read starts there and the first request waits for it), so the start succeeds; each
    // request then answers why it cannot be served, and tries again.
    let mut intake = cloud.start("IntakeFunction", &[]).await;
    intake
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let unavailable = |(status, body): &(u16, Value)| {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["type"], "/problems/unavailable", "{body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("HERALD_ADMIN_KEY_PARAMETER"), "{body}");
    };
    unavailable(&call(&intake, "GET", "/healthz", "", Value::Null).await);
    let cannot_read = logged(&intake, "cannot read SSM parameter", 1).await;
    assert!(
        cannot_read.contains("\"level\":\"ERROR\"") && cannot_read.contains(&cloud.parameter),
        "{cannot_read}"
    );

    // A key too short to be one: the next request reads it, refuses it, and says so.
    cloud.put_admin_key_parameter("short").await;
    let weak = call(
        &intake,
        "POST",
        "/v1/workspaces",
        "short",
        json!({"name": "W"}),
    )
    .await;
    unavailable(&weak);
    let refused = logged(&intake, "8 to 512", 1).await;
    assert!(refused.contains("\"level\":\"ERROR\""), "{refused}");
    assert!(
        !intake.log().contains("short\"") && !weak.1.to_string().contains("short\""),
        "the key is shown: {}",
        intake.log()
    );

    // Once the operator puts a usable key, the same instance serves with it: no restart.
    cloud.put_admin_key_parameter("usable-admin-key").await;
    let made = call(
        &intake,
        "POST",
        "/v1/workspaces",
        "usable-admin-key",
        json!({"name": "U"}),
    )
    .await;
    assert_eq!(made.0, 201, "{made:?}");
    let (status, _) = call(&intake, "GET", "/healthz", "", Value::Null).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_whose_sealing_key_cannot_be_read_starts_and_each_invocation_says_why() {
    let cloud = Cloud::create("nosealkey").await;
    let absent = format!("{}-absent", cloud.encryption_parameter);
    let mut extra = cloud::INLINE.to_vec();
    extra.push(("HERALD_ENCRYPTION_KEY_PARAMETER", &absent));
    let mut publisher = cloud.start("PublisherFunction", &extra).await;
    publisher
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for attempt in 1..=2 {
        let e = publisher
            .invoke(&events::schedule_event())
            .await
            .expect_err("a run without its sealing key");
        let answer = e.split("; log:").next().unwrap_or_default();
        assert!(
            answer.contains("HERALD_ENCRYPTION_KEY_PARAMETER") && answer.contains(&absent),
            "attempt {attempt}: {e}"
        );
    }
    // Each invocation tried the read again (a parameter put meanwhile would be read).
    let log = logged(&publisher, "cannot serve", 2).await;
    assert!(!log.contains("panicked"), "{log}");
}

/// The function's log once it holds `needle` (its log reader runs behind it), at most 2 s.
async fn logged(f: &Function, needle: &str, times: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let log = f.log();
        if log.matches(needle).count() >= times || Instant::now() >= deadline {
            assert!(
                log.matches(needle).count() >= times,
                "{needle:?} not {times} times in the log:\n{log}"
            );
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A workspace made through intake with an admin key: its id and its owner's API key.
pub(crate) async fn workspace(intake: &Function, admin_key: &str, name: &str) -> (String, String) {
    let ws = call(
        intake,
        "POST",
        "/v1/workspaces",
        admin_key,
        json!({ "name": name }),
    )
    .await;
    assert_eq!(ws.0, 201, "{ws:?}");
    let id = ws.1["id"].as_str().expect("id").to_owned();
    let key = ws.1["api_key"].as_str().expect("api_key").to_owned();
    (id, key)
}

/// One HTTP API request through intake: status and JSON body.
pub(crate) async fn call(
    intake: &Function,
    method: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let answer = intake
        .invoke(&api_event(method, path, key, &body))
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = answer["statusCode"].as_u64().expect("statusCode") as u16;
    let body = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// The publisher's first run as CloudWatch takes it: one EMF line for its invocation (under
/// the function and the sandbox network, with its request id), counting the one post it
/// published, its lateness exactly what the post's record says (published_at - scheduled_at),
/// nothing failed or retried; and its JSON log lines carry the same request id and the trace
/// id the Runtime API handed it.
async fn published_metrics_as_cloudwatch_takes_them(publisher: &Function, view: &Value) {
    let published = emf::values(publisher, "PostsPublished", 1).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let (count, line) = &published[0];
    assert_eq!(*count, 1.0, "{line}");
    assert_eq!(line["network"], "sandbox", "{line}");
    let request = line["requestId"].as_str().expect("a request id").to_owned();
    assert!(request.starts_with("req-"), "{line}");
    let lateness = emf::values(publisher, "PublishLateness", 1).await;
    assert_eq!(lateness.len(), 1, "{lateness:?}");
    let at = |field: &str| {
        let text = view["targets"][0][field]
            .as_str()
            .or(view[field].as_str())
            .unwrap_or_else(|| panic!("{field} in {view}"));
        chrono::DateTime::parse_from_rfc3339(text).expect("a time")
    };
    let recorded = (at("published_at") - at("scheduled_at")).num_milliseconds();
    assert_eq!(lateness[0].0, recorded as f64, "{view}");
    assert!(recorded >= 0, "published before its second: {view}");
    assert_eq!(lateness[0].1["requestId"], request.as_str());
    assert_eq!(emf::total(publisher, "PostsFailed", 0).await, 0.0);
    assert_eq!(emf::total(publisher, "PublishRetries", 0).await, 0.0);

    let logs = emf::log_lines(publisher);
    let run = logs
        .iter()
        .find(|l| l["message"] == "target published")
        .unwrap_or_else(|| panic!("no JSON log of the publish:\n{}", publisher.log()));
    assert_eq!(run["requestId"], request.as_str(), "{run}");
    assert!(
        run["traceId"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=1-")),
        "{run}"
    );
    assert_eq!(run["level"], "INFO");
}
