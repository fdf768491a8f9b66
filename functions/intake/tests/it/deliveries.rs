//! Outbound deliveries driven explicitly on the manual clock, with a scripted receiver: the
//! retry schedule as measured, the same `webhook-id` with a fresh timestamp and signature on
//! every attempt, 410 and five days of failures disabling the endpoint, Retry-After honoured,
//! a redelivery by hand, and a repeated event delivered once.

use crate::support::{App, Ws};
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use herald_app::webhooks::deliver;
use herald_domain::webhook::retry::SCHEDULE;
use herald_domain::webhook::{Secret, verify};
use herald_ports::{BusEvent, Query, WebhookAnswer, WebhookSender};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub at: DateTime<Utc>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Got {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers from a script (then 200), and remembers every request with the clock's time.
pub struct Receiver {
    app_clock: Arc<herald_adapters::ManualClock>,
    script: Mutex<VecDeque<Result<WebhookAnswer, String>>>,
    pub got: Mutex<Vec<Got>>,
}

impl Receiver {
    pub(crate) fn new(app: &App, script: Vec<Result<WebhookAnswer, String>>) -> Arc<Receiver> {
        Arc::new(Receiver {
            app_clock: app.clock.clone(),
            script: Mutex::new(script.into()),
            got: Mutex::new(vec![]),
        })
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl WebhookSender for Receiver {
    async fn send(
        &self,
        _url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookAnswer, String> {
        use herald_ports::Clock;
        self.got.lock().unwrap().push(Got {
            at: self.app_clock.now(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
            body,
        });
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(WebhookAnswer {
                status: 200,
                retry_after: None,
            }))
    }
}

pub(crate) fn status(code: u16) -> Result<WebhookAnswer, String> {
    Ok(WebhookAnswer {
        status: code,
        retry_after: None,
    })
}

pub(crate) async fn endpoint(app: &App, ws: &Ws, events: &[&str]) -> (String, Secret) {
    let a = app
        .post(
            "/v1/webhooks/endpoints",
            &ws.key,
            json!({"url": "https://hooks.example.com/in", "events": events}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    (
        a.body["id"].as_str().unwrap().to_owned(),
        Secret::parse(a.body["secret"].as_str().unwrap()).unwrap(),
    )
}

pub(crate) fn event(app: &App, ws: &Ws, n: u32) -> BusEvent {
    BusEvent {
        id: format!("evt_{n:026}"),
        kind: "post.published".into(),
        workspace: ws.id.clone(),
        time: app.now(),
        data: json!({"post": "post_00000000000000000000000000", "n": n}),
    }
}

/// The event accepted and every delivery due attempted, as the function does on an event.
pub(crate) async fn deliver_event(app: &App, receiver: &Arc<Receiver>, event: &BusEvent) -> usize {
    let made = deliver::accept(&app.deps, event).await.expect("accept");
    let sender: Arc<dyn WebhookSender> = receiver.clone();
    deliver::attempt_all(&app.deps, &sender, made.made)
        .await
        .expect("attempts")
}

async fn sweep(app: &App, receiver: &Arc<Receiver>) -> usize {
    let sender: Arc<dyn WebhookSender> = receiver.clone();
    deliver::sweep(&app.deps, &sender, app.now(), 100)
        .await
        .expect("sweep")
        .attempted
}

pub(crate) async fn attempts(app: &App, ws: &Ws, ep: &str) -> Vec<Value> {
    let a = app
        .get(
            &format!("/v1/webhooks/endpoints/{ep}/deliveries?limit=500"),
            &ws.key,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["items"].as_array().unwrap().clone()
}

async fn endpoint_status(app: &App, ws: &Ws) -> Vec<Value> {
    app.get("/v1/webhooks/endpoints", &ws.key).await.body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The kinds of the events the workspace's outbox holds.
async fn recorded_kinds(app: &App, ws: &Ws) -> Vec<String> {
    let items = app
        .deps
        .table
        .query_all(Query::table(format!("T#{}#EVT", ws.id)))
        .await
        .unwrap();
    items
        .iter()
        .filter_map(|i| i.get("data").and_then(|d| d.as_s()))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["kind"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_on_the_schedule_with_the_same_id_and_fresh_signatures() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, secret) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(&app, (0..8).map(|_| status(500)).collect());
    let start = app.now();
    assert_eq!(
        deliver_event(&app, &receiver, &event(&app, &ws, 1)).await,
        1
    );
    // Nothing is due before its time; each retry is due at its time.
    loop {
        let log = attempts(&app, &ws, &ep).await;
        let Some(next) = log.last().and_then(|a| a["next_attempt_at"].as_str()) else {
            break;
        };
        let next: DateTime<Utc> = next.parse().unwrap();
        app.clock.set(next - Duration::milliseconds(1));
        assert_eq!(sweep(&app, &receiver).await, 0, "not due yet");
        app.clock.set(next);
        assert_eq!(sweep(&app, &receiver).await, 1);
    }
    let got = receiver.got();
    assert_eq!(got.len(), 8, "the first attempt and seven retries");
    let mut measured = vec![];
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.header("webhook-id"), got[0].header("webhook-id"));
        assert_eq!(
            g.header("webhook-timestamp"),
            Some(g.at.timestamp().to_string().as_str())
        );
        // The reference check: signed now, with the endpoint's secret.
        let id = verify(
            std::slice::from_ref(&secret),
            g.header("webhook-id"),
            g.header("webhook-timestamp"),
            g.header("webhook-signature"),
            &g.body,
            g.at.timestamp(),
        );
        assert!(id.is_ok(), "attempt {}: {id:?}", i + 1);
        if i > 0 {
            let gap = (g.at - got[i - 1].at).to_std().unwrap();
            let base = SCHEDULE[i - 1];
            assert!(
                gap >= base.mul_f64(0.8) && gap < base.mul_f64(1.2),
                "retry {i}: {gap:?} for {base:?}"
            );
            measured.push(gap);
        }
    }
    assert_eq!(got[0].at, start, "the first attempt is made at once");
    println!("retry schedule as measured on the manual clock (after the first attempt at once):");
    for (i, gap) in measured.iter().enumerate() {
        println!(
            "  retry {}: +{:.1} s (schedule {} s)",
            i + 1,
            gap.as_secs_f64(),
            SCHEDULE[i].as_secs()
        );
    }
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log.len(), 8);
    for (i, a) in log.iter().enumerate() {
        assert_eq!(a["attempt"], i + 1);
        assert_eq!(a["status"], "failed");
        assert_eq!(a["response_code"], 500);
        assert_eq!(a["event"], "post.published");
        assert_eq!(a["id"], got[0].header("webhook-id").unwrap());
    }
    // Attempts are spent: nothing is due however long we wait.
    app.clock.advance(Duration::days(2));
    assert_eq!(sweep(&app, &receiver).await, 0);
    assert_eq!(receiver.got().len(), 8);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_with_an_endpoint_disabled_event() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(&app, vec![status(410)]);
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    let eps = endpoint_status(&app, &ws).await;
    assert_eq!(eps[0]["status"], "disabled", "{eps:?}");
    assert_eq!(recorded_kinds(&app, &ws).await, ["endpoint.disabled"]);
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log[0]["status"], "gone");
    assert!(log[0].get("next_attempt_at").is_none());
    // No more events reach it, and nothing is retried.
    app.clock.advance(Duration::hours(1));
    assert_eq!(
        deliver_event(&app, &receiver, &event(&app, &ws, 2)).await,
        0
    );
    assert_eq!(sweep(&app, &receiver).await, 0);
    assert_eq!(receiver.got().len(), 1);
    // Redelivering to a disabled endpoint is refused.
    let id = log[0]["id"].as_str().unwrap();
    let a = app
        .post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            &ws.key,
            json!({}),
        )
        .await;
    a.problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_one_success_resets_the_clock() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (_ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(
        &app,
        (0..100)
            .map(|_| Err("could not connect".to_owned()))
            .collect(),
    );
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    // Four days and a success: the clock starts over.
    app.clock.advance(Duration::days(4));
    receiver.script.lock().unwrap().push_front(status(204));
    deliver_event(&app, &receiver, &event(&app, &ws, 2)).await;
    app.clock.advance(Duration::days(2));
    deliver_event(&app, &receiver, &event(&app, &ws, 3)).await;
    assert_eq!(endpoint_status(&app, &ws).await[0]["status"], "enabled");
    app.clock.advance(Duration::days(5) - Duration::seconds(1));
    deliver_event(&app, &receiver, &event(&app, &ws, 4)).await;
    assert_eq!(endpoint_status(&app, &ws).await[0]["status"], "enabled");
    app.clock.advance(Duration::seconds(1));
    deliver_event(&app, &receiver, &event(&app, &ws, 5)).await;
    let eps = endpoint_status(&app, &ws).await;
    assert_eq!(eps[0]["status"], "disabled", "{eps:?}");
    assert_eq!(
        recorded_kinds(&app, &ws).await,
        ["endpoint.disabled"],
        "once"
    );
    deliver_event(&app, &receiver, &event(&app, &ws, 6)).await;
    assert_eq!(recorded_kinds(&app, &ws).await.len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_redirect_is_a_failure() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(
        &app,
        vec![
            Ok(WebhookAnswer {
                status: 429,
                retry_after: Some("3600".into()),
            }),
            status(302),
        ],
    );
    let t0 = app.now();
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    let log = attempts(&app, &ws, &ep).await;
    let next: DateTime<Utc> = log[0]["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next - t0, Duration::hours(1), "{log:?}");
    app.clock.set(next - Duration::seconds(1));
    assert_eq!(sweep(&app, &receiver).await, 0);
    app.clock.set(next);
    assert_eq!(sweep(&app, &receiver).await, 1);
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log[1]["response_code"], 302);
    assert_eq!(log[1]["status"], "failed");
    assert!(log[1]["error"].as_str().unwrap().contains("redirect"));
}

#[tokio::test]
async fn a_delivery_is_sent_again_by_hand_with_its_id_and_a_repeated_event_once() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let (_other, _) = endpoint(&app, &ws, &["post.failed"]).await;
    let receiver = Receiver::new(&app, vec![]);
    let e = event(&app, &ws, 1);
    assert_eq!(
        deliver_event(&app, &receiver, &e).await,
        1,
        "only the endpoint that takes it"
    );
    assert_eq!(
        deliver_event(&app, &receiver, &e).await,
        0,
        "a repeated event"
    );
    assert_eq!(receiver.got().len(), 1);
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log[0]["status"], "delivered");
    let id = log[0]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(3));
    let a = app
        .post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            &ws.key,
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    assert_eq!(sweep(&app, &receiver).await, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-id"), Some(id.as_str()));
    assert_ne!(
        got[1].header("webhook-timestamp"),
        got[0].header("webhook-timestamp")
    );
    assert_eq!(got[1].body, got[0].body);
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["attempt"], 2);
    // Unknown and foreign deliveries are 404.
    let other = app.workspace("Other").await;
    let a = app
        .post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            &other.key,
            json!({}),
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    let a = app
        .post(
            "/v1/webhooks/deliveries/msg_nope/redeliver",
            &ws.key,
            json!({}),
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    // A deleted endpoint's pending delivery ends failed, sending nothing.
    let receiver2 = Receiver::new(&app, vec![status(500)]);
    deliver_event(&app, &receiver2, &event(&app, &ws, 2)).await;
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/endpoints/{ep}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(sweep(&app, &receiver2).await, 1);
    assert_eq!(receiver2.got().len(), 1);
}

#[tokio::test]
async fn the_delivered_body_is_the_event_and_the_attempt_list_pages() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(&app, vec![]);
    for n in 0..5 {
        app.clock.advance(Duration::seconds(1));
        deliver_event(&app, &receiver, &event(&app, &ws, n)).await;
    }
    let got = receiver.got();
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["kind"], "post.published");
    assert_eq!(body["workspace"], ws.id.as_str());
    assert_eq!(body["data"]["n"], 0);
    let mut seen = vec![];
    let mut uri = format!("/v1/webhooks/endpoints/{ep}/deliveries?limit=2");
    loop {
        let a = app.get(&uri, &ws.key).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        seen.extend(
            a.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["event_id"].clone()),
        );
        match a.body["next"].as_str() {
            Some(next) => {
                uri = format!("/v1/webhooks/endpoints/{ep}/deliveries?limit=2&cursor={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
}
