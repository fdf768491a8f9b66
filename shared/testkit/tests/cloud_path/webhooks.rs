//! The webhook function's release binary against moto: a herald event from the bus (matched by
//! the template's rule) is delivered signed to a loopback receiver, refused once and retried
//! by the scheduled sweep with the same id; a repeated event makes nothing new.

use crate::cloud::Cloud;
use crate::events::{api_event, schedule_event};
use crate::{READY_WITHIN, template};
use axum::http::{HeaderMap, StatusCode};
use herald_domain::webhook::{Secret, verify};
use herald_testkit::lambda::Function;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Got = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on loopback: 500 to the first request, 200 after; every request kept.
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
                if all.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_webhook_function_delivers_a_bus_event_signed_and_its_sweep_retries_with_the_same_id() {
    let cloud = Cloud::create("hooks").await;
    cloud.put_admin_key_parameter("cloud-hooks-admin-key").await;
    let loopback = [("HERALD_ALLOW_LOOPBACK", "1")];
    let mut intake = cloud.start("IntakeFunction", &loopback).await;
    let mut hooks = cloud.start("WebhooksFunction", &loopback).await;
    for f in [&mut intake, &mut hooks] {
        f.ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (url, got, server) = receiver().await;
    let ws = call(
        &intake,
        "POST",
        "/v1/workspaces",
        "cloud-hooks-admin-key",
        json!({"name": "Hooks"}),
    )
    .await;
    assert_eq!(ws.0, 201, "{ws:?}");
    let ws_id = ws.1["id"].as_str().unwrap().to_owned();
    let key = ws.1["api_key"].as_str().unwrap().to_owned();
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
    assert_eq!(report, json!({"recorded": 1, "attempted": 1}));
    // The refused attempt, told to CloudWatch as the invocation ended.
    let failed = crate::emf::values(&hooks, "WebhookDeliveriesFailed", 1).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, 1.0);
    assert!(failed[0].1.get("network").is_none(), "{}", failed[0].1);
    // The schedule's tick before the retry is due: nothing to do.
    let early = hooks.invoke(&schedule_event()).await.expect("sweep");
    assert_eq!(early["attempted"], 0, "{early}");
    // A repeated event (EventBridge delivers at least once) makes nothing new.
    let again = hooks.invoke(&envelope).await.expect("webhooks");
    assert_eq!(again, json!({"recorded": 0, "attempted": 0}));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let retried = hooks.invoke(&schedule_event()).await.expect("sweep");
    assert_eq!(retried["attempted"], 1, "{retried}");
    let delivered = crate::emf::values(&hooks, "WebhookDeliveriesSucceeded", 1).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        crate::emf::total(&hooks, "WebhookDeliveriesFailed", 0).await,
        1.0
    );
    assert_ne!(
        delivered[0].1["requestId"], failed[0].1["requestId"],
        "each invocation writes its own"
    );

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
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
    }
    assert_eq!(
        header(&got[0].0, "webhook-id"),
        header(&got[1].0, "webhook-id")
    );
    assert_ne!(
        header(&got[0].0, "webhook-timestamp"),
        header(&got[1].0, "webhook-timestamp")
    );
    let log = call(
        &intake,
        "GET",
        &format!("/v1/webhooks/endpoints/{ep_id}/deliveries"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(log.0, 200, "{log:?}");
    let items = log.1["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log:?}");
    assert_eq!(items[0]["response_code"], 500);
    assert_eq!(items[1]["status"], "delivered");
    server.abort();
    assert!(!hooks.log().contains("panicked"), "{}", hooks.log());
    cloud.assert_least_privilege();
}
