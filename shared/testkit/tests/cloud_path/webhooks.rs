//! The webhook function's release binary against moto: a herald event from the bus (matched by
//! the template's rule) is delivered signed to a loopback receiver and refused; its 5 s retry
//! waits in the send state machine (every job's delayed hand-off, run by moto's interpreter)
//! until its second and is attempted, with the same id, when the state machine invokes its
//! sender, the publisher binary; a retry 30 minutes out gets the webhook job's one-time
//! schedule for its minute instead (moto keeps schedules but never fires them: the test drives
//! the run with the schedule's own input); a redelivery by hand is handed over at once. Nothing runs
//! unless something is due; a repeated event makes nothing new.

use crate::cloud::Cloud;
use crate::events::{api_event, schedule_event};
use crate::{READY_WITHIN, template};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use herald_domain::webhook::{Secret, verify};
use herald_testkit::lambda::Function;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Got = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// How long the second refusal asks Herald to wait (`Retry-After`): beyond the hand-off's 3
/// minutes, so the retry gets a schedule.
const RETRY_AFTER_SECS: i64 = 1800;

/// A receiver on loopback: 500 to the first request, 429 with a long `Retry-After` to the
/// second, 200 after; every request kept.
async fn receiver() -> (String, Got, tokio::task::JoinHandle<()>) {
    let got: Got = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let mut all = kept.lock().unwrap();
                all.push((headers, body.to_vec()));
                match all.len() {
                    1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    2 => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", RETRY_AFTER_SECS.to_string())],
                    )
                        .into_response(),
                    _ => StatusCode::OK.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got, server)
}

async fn call(intake: &Function, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
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

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The state machine's next invocation (or None once `within` passed): its time and payload,
/// the publisher's as the template's definition names it.
async fn receive(
    cloud: &Cloud,
    within: Duration,
) -> Option<(chrono::DateTime<chrono::Utc>, Value)> {
    let got = cloud.handed_over(1, within).await;
    assert!(got.len() <= 1, "{got:?}");
    got.into_iter().next().map(|h| {
        assert_eq!(h.function, cloud.publisher_arn(), "{h:?}");
        (h.at, h.payload)
    })
}

/// The attempts listed for the endpoint.
async fn log_of(intake: &Function, key: &str, ep_id: &str) -> Vec<Value> {
    let log = call(
        intake,
        "GET",
        &format!("/v1/webhooks/endpoints/{ep_id}/deliveries"),
        key,
        Value::Null,
    )
    .await;
    assert_eq!(log.0, 200, "{log:?}");
    log.1["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_webhook_function_delivers_a_bus_event_signed_and_is_woken_for_each_retry() {
    let cloud = Cloud::create("hooks").await;
    cloud.put_admin_key_parameter("cloud-hooks-admin-key").await;
    let loopback = [("HERALD_ALLOW_LOOPBACK", "1")];
    let mut intake = cloud.start("IntakeFunction", &loopback).await;
    let mut hooks = cloud.start("WebhooksFunction", &loopback).await;
    let mut publisher = cloud.start("PublisherFunction", &loopback).await;
    for f in [&mut intake, &mut hooks, &mut publisher] {
        f.ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (url, got, server) = receiver().await;
    let (ws_id, key) = crate::workspace(&intake, "cloud-hooks-admin-key", "Hooks").await;
    let ep = call(
        &intake,
        "POST",
        "/v1/webhooks/endpoints",
        &key,
        json!({"url": url, "events": ["post.published"]}),
    )
    .await;
    assert_eq!(ep.0, 201, "{ep:?}");
    let secret = Secret::parse(ep.1["secret"].as_str().unwrap()).unwrap();
    let ep_id = ep.1["id"].as_str().unwrap().to_owned();

    // The envelope EventBridge makes of a relayed event, as the template's rule passes it.
    let envelope = json!({
        "version": "0", "id": "cloud-hooks", "detail-type": "post.published", "source": "herald",
        "account": crate::cloud::ACCOUNT, "region": crate::cloud::REGION,
        "time": chrono::Utc::now().to_rfc3339(), "resources": [],
        "detail": {"id": "evt_01jcloudhooks0000000000000", "kind": "post.published",
                   "workspace": ws_id, "time": chrono::Utc::now().to_rfc3339(),
                   "data": {"post": "post_00000000000000000000000000"}},
    });
    let pattern = cloud
        .template
        .rule_pattern("WebhooksFunction", "HeraldEvents");
    assert!(template::matches(&pattern, &envelope), "{pattern}");
    let report = hooks.invoke(&envelope).await.expect("webhooks");
    assert_eq!(report["recorded"], 1, "{report}");
    assert_eq!(report["attempted"], 1, "{report}");
    // The refused attempt, told to CloudWatch as the invocation ended.
    let failed = crate::emf::values(&hooks, "WebhookDeliveriesFailed", 1).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, 1.0);
    assert!(failed[0].1.get("network").is_none(), "{}", failed[0].1);
    let first = log_of(&intake, &key, &ep_id).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let retry_due: chrono::DateTime<chrono::Utc> = first[0]["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A repeated event (EventBridge delivers at least once) makes nothing new, and its
    // delivery, not yet due again, is not attempted.
    let again = hooks.invoke(&envelope).await.expect("webhooks");
    assert_eq!(
        (again["recorded"].as_u64(), again["attempted"].as_u64()),
        (Some(0), Some(0))
    );

    // The 5 s retry (with jitter) waits in the state machine until its second.
    let early = receive(&cloud, Duration::from_millis(300)).await;
    assert!(
        early.is_none() && chrono::Utc::now() < retry_due,
        "handed over before its delay: {early:?}"
    );
    let (at, payload) = receive(&cloud, Duration::from_secs(20))
        .await
        .expect("the retry's invocation");
    let late = at - retry_due;
    eprintln!(
        "webhook retry handed over {} ms after its due time",
        late.num_milliseconds()
    );
    assert!(
        late >= chrono::Duration::milliseconds(-20) && late < chrono::Duration::milliseconds(1500),
        "received at {at}, due {retry_due}"
    );
    // Handed to the sender as the state machine's task would: the second attempt, refused
    // with a Retry-After beyond the hand-off's 3 minutes.
    let retried = publisher.invoke(&payload).await.expect("retry");
    assert_eq!(retried["webhook_attempts"], 1, "{retried}");
    assert_eq!(retried["outcomes"], json!([]), "{retried}");
    // Handed over again (Express runs at least once): the delivery is not due, nothing is sent.
    let twice = publisher.invoke(&payload).await.expect("retry");
    assert_eq!(twice["webhook_attempts"], 0, "{twice}");
    assert_eq!(got.lock().unwrap().len(), 2);

    // Its retry gets the webhook job's schedule for its minute, firing two minutes before.
    let second = log_of(&intake, &key, &ep_id).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[1]["response_code"], 429);
    let far: chrono::DateTime<chrono::Utc> = second[1]["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        far - chrono::Utc::now() > chrono::Duration::seconds(RETRY_AFTER_SECS - 60),
        "{far}"
    );
    let minute = herald_ports::wake::minute_of(far);
    let name = format!("herald-hooks-{}", minute.format("%Y-%m-%dT%H-%M"));
    assert_eq!(
        cloud.schedule_names("").await,
        std::slice::from_ref(&name),
        "one schedule, for the retry's minute"
    );
    let input = cloud.wake_schedule(&name, &cloud.webhooks_arn()).await;
    // The schedule's own run, driven now (moto never fires it): its minute's retry is not
    // due before its time, so it is neither attempted nor queued, only its wake kept.
    let run = hooks.invoke(&input).await.expect("the minute's run");
    assert_eq!(
        (
            run["attempted"].as_u64(),
            run["queued"].as_u64(),
            run["minutes"].as_u64()
        ),
        (Some(0), Some(0), Some(1)),
        "{run}"
    );
    // The hourly sweep (and any other scheduled tick) finds the same: the hour ahead holds
    // one retry, its minute's wake ensured again (it is there: harmless).
    for tick in [json!({"sweep": true}), schedule_event()] {
        let swept = hooks.invoke(&tick).await.expect("sweep");
        assert_eq!(
            (swept["attempted"].as_u64(), swept["minutes"].as_u64()),
            (Some(0), Some(1)),
            "{swept}"
        );
    }
    assert_eq!(got.lock().unwrap().len(), 2, "nothing sent before its time");

    // Sent again by hand: intake hands it over at once, and the state machine's invocation
    // delivers it.
    let delivery = second[1]["id"].as_str().unwrap().to_owned();
    let redeliver = call(
        &intake,
        "POST",
        &format!("/v1/webhooks/deliveries/{delivery}/redeliver"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(redeliver.0, 202, "{redeliver:?}");
    let (_, payload) = receive(&cloud, Duration::from_secs(10))
        .await
        .expect("the redelivery's invocation");
    let sent = publisher.invoke(&payload).await.expect("redelivery");
    assert_eq!(sent["webhook_attempts"], 1, "{sent}");
    // Each attempt told to CloudWatch by the function that made it.
    let delivered = crate::emf::values(&publisher, "WebhookDeliveriesSucceeded", 1).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        crate::emf::total(&hooks, "WebhookDeliveriesFailed", 0).await,
        1.0
    );
    assert_eq!(
        crate::emf::total(&publisher, "WebhookDeliveriesFailed", 0).await,
        1.0
    );
    assert_ne!(
        delivered[0].1["requestId"], failed[0].1["requestId"],
        "each invocation writes its own"
    );

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for (headers, body) in &got {
        let ts = header(headers, "webhook-timestamp").unwrap();
        let now = chrono::Utc::now().timestamp();
        let checked = verify(
            std::slice::from_ref(&secret),
            header(headers, "webhook-id"),
            Some(ts),
            header(headers, "webhook-signature"),
            body,
            now,
        );
        assert!(checked.is_ok(), "{checked:?}");
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["kind"], "post.published");
        assert_eq!(event["workspace"], ws_id.as_str());
        assert_eq!(header(headers, "webhook-id"), Some(delivery.as_str()));
    }
    assert_ne!(
        header(&got[0].0, "webhook-timestamp"),
        header(&got[1].0, "webhook-timestamp")
    );
    let items = log_of(&intake, &key, &ep_id).await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0]["response_code"], 500);
    assert_eq!(items[2]["status"], "delivered");
    server.abort();
    for f in [&intake, &hooks, &publisher] {
        assert!(!f.log().contains("panicked"), "{}", f.log());
        assert!(!f.log().contains("wake-up not arranged"), "{}", f.log());
    }
    cloud.assert_least_privilege();
}
