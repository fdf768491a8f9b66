//! Outbound endpoints' secret rotation and re-enabling, on the manual clock: within the 24 h
//! overlap each delivery carries a signature per secret and a receiver holding only the old
//! or only the new one accepts; after it the old one is refused. Rotating again and again,
//! rotating what is gone, enabling what is enabled: each answered plainly, nothing else
//! changed.

use crate::deliveries::{Got, Receiver, deliver_event, endpoint, event, status};
use crate::support::{App, Ws};
use axum::http::StatusCode;
use chrono::Duration;
use herald_domain::webhook::{Secret, verify};
use serde_json::Value;

async fn rotate(app: &App, ws: &Ws, ep: &str) -> crate::support::Answer {
    app.post(
        &format!("/v1/webhooks/endpoints/{ep}/secret"),
        &ws.key,
        Value::Null,
    )
    .await
}

async fn rotated(app: &App, ws: &Ws, ep: &str) -> Secret {
    let a = rotate(app, ws, ep).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    Secret::parse(a.body["secret"].as_str().expect("secret")).expect("a whsec_ secret")
}

async fn enable(app: &App, ws: &Ws, ep: &str) -> crate::support::Answer {
    app.post(
        &format!("/v1/webhooks/endpoints/{ep}/enable"),
        &ws.key,
        Value::Null,
    )
    .await
}

/// Whether a receiver holding only `secret` accepts the request, as the reference check does.
fn accepts(secret: &Secret, got: &Got) -> bool {
    verify(
        std::slice::from_ref(secret),
        got.header("webhook-id"),
        got.header("webhook-timestamp"),
        got.header("webhook-signature"),
        &got.body,
        got.at.timestamp(),
    )
    .is_ok()
}

fn entries(got: &Got) -> usize {
    let header = got.header("webhook-signature").unwrap();
    assert!(header.split(' ').all(|e| e.starts_with("v1,")), "{header}");
    header.split(' ').count()
}

async fn status_of(app: &App, ws: &Ws, ep: &str) -> Value {
    let list = app.get("/v1/webhooks/endpoints", &ws.key).await;
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == ep)
        .cloned()
        .expect("the endpoint is listed")
}

#[tokio::test]
async fn within_the_overlap_either_secret_verifies_and_after_it_only_the_new_one() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, old) = endpoint(&app, &ws, &["post.published"]).await;
    let new = rotated(&app, &ws, &ep).await;
    assert_ne!(new.encode(), old.encode());
    let receiver = Receiver::new(&app, vec![]);
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    // Just before the overlap ends: both sign.
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(1));
    deliver_event(&app, &receiver, &event(&app, &ws, 2)).await;
    for got in receiver.got() {
        assert_eq!(
            entries(&got),
            2,
            "the new secret's signature and the old one's"
        );
        assert!(accepts(&old, &got), "a receiver still on the old secret");
        assert!(accepts(&new, &got), "a receiver already on the new one");
    }
    // Once it has ended, only the new one signs: the old one is refused.
    app.clock.advance(Duration::seconds(1));
    deliver_event(&app, &receiver, &event(&app, &ws, 3)).await;
    let last = receiver.got().pop().unwrap();
    assert_eq!(entries(&last), 1);
    assert!(!accepts(&old, &last), "the old secret after the overlap");
    assert!(accepts(&new, &last));
    // A forged or truncated entry beside the real one changes nothing for the receiver.
    let header = last.header("webhook-signature").unwrap().to_owned();
    let mut forged = last.clone();
    for (n, v) in &mut forged.headers {
        if n == "webhook-signature" {
            *v = format!("v1, v1,AAAA {header}");
        }
    }
    assert!(accepts(&new, &forged) && !accepts(&old, &forged));
}

#[tokio::test]
async fn rotating_again_keeps_each_secret_to_its_own_overlap_and_a_fourth_within_a_day_is_refused()
{
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, first) = endpoint(&app, &ws, &["post.published"]).await;
    // Twice in a row, then once more an hour later.
    let second = rotated(&app, &ws, &ep).await;
    let third = rotated(&app, &ws, &ep).await;
    app.clock.advance(Duration::hours(1));
    let fourth = rotated(&app, &ws, &ep).await;
    let secrets = [&first, &second, &third, &fourth];
    let distinct: std::collections::BTreeSet<String> = secrets.iter().map(|s| s.encode()).collect();
    assert_eq!(distinct.len(), 4);
    // A fourth rotation within 24 hours: refused, saying when, nothing changed.
    let refused = rotate(&app, &ws, &ep).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("from "),
        "{refused:?}"
    );
    let receiver = Receiver::new(&app, vec![]);
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    let got = receiver.got().pop().unwrap();
    assert_eq!(entries(&got), 4);
    for s in secrets {
        assert!(accepts(s, &got));
    }
    // The first two rotated out an hour before the last: they stop signing first, and a
    // rotation is possible again.
    app.clock.advance(Duration::hours(23));
    deliver_event(&app, &receiver, &event(&app, &ws, 2)).await;
    let got = receiver.got().pop().unwrap();
    assert_eq!(entries(&got), 2);
    assert!(!accepts(&first, &got) && !accepts(&second, &got));
    assert!(accepts(&third, &got) && accepts(&fourth, &got));
    let fifth = rotated(&app, &ws, &ep).await;
    deliver_event(&app, &receiver, &event(&app, &ws, 3)).await;
    let got = receiver.got().pop().unwrap();
    assert_eq!(entries(&got), 3);
    assert!(accepts(&fifth, &got) && accepts(&fourth, &got) && accepts(&third, &got));
}

#[tokio::test]
async fn a_deleted_or_unknown_endpoint_is_404_for_rotation_and_enabling() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let gone = app
        .call(
            axum::http::Method::DELETE,
            &format!("/v1/webhooks/endpoints/{ep}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{gone:?}");
    for id in [ep.as_str(), "ep_00000000000000000000000000", "not-an-id"] {
        assert_eq!(rotate(&app, &ws, id).await.status, StatusCode::NOT_FOUND);
        assert_eq!(enable(&app, &ws, id).await.status, StatusCode::NOT_FOUND);
    }
    // Rotating or enabling made nothing back into being.
    let list = app.get("/v1/webhooks/endpoints", &ws.key).await;
    assert_eq!(list.body["items"], serde_json::json!([]), "{list:?}");
    // Another workspace's endpoint is not this one's to rotate.
    let (theirs, _) = endpoint(&app, &ws, &["post.published"]).await;
    let other = app.workspace("Other").await;
    assert_eq!(
        rotate(&app, &other, &theirs).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn enabling_a_disabled_endpoint_clears_its_failure_streak_and_an_enabled_one_is_left_alone() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    // Failing since day 0, then a 410 on day 1: disabled.
    let receiver = Receiver::new(
        &app,
        vec![status(500), status(410), status(500), status(500)],
    );
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    // Enabling an endpoint that is enabled changes nothing: its streak stands.
    let same = enable(&app, &ws, &ep).await;
    assert_eq!(same.status, StatusCode::OK, "{same:?}");
    assert_eq!(same.body["status"], "enabled");
    app.clock.advance(Duration::days(1));
    deliver_event(&app, &receiver, &event(&app, &ws, 2)).await;
    let disabled = status_of(&app, &ws, &ep).await;
    assert_eq!(disabled["status"], "disabled", "{disabled}");
    // Disabled: no event reaches it, a redelivery is refused saying how to enable it.
    assert_eq!(
        deliver_event(&app, &receiver, &event(&app, &ws, 3)).await,
        0
    );
    app.clock.advance(Duration::days(1));
    let on = enable(&app, &ws, &ep).await;
    assert_eq!(on.status, StatusCode::OK, "{on:?}");
    assert_eq!(on.body["status"], "enabled");
    assert!(on.body.get("disabled_reason").is_none(), "{on:?}");
    assert_eq!(status_of(&app, &ws, &ep).await["status"], "enabled");
    // Day 2: a failure starts a new streak; day 6 (five days after the old streak began,
    // four after the new one) still enabled.
    deliver_event(&app, &receiver, &event(&app, &ws, 4)).await;
    app.clock.advance(Duration::days(4));
    deliver_event(&app, &receiver, &event(&app, &ws, 5)).await;
    assert_eq!(status_of(&app, &ws, &ep).await["status"], "enabled");
    // Enabled twice: the second changes nothing.
    let again = enable(&app, &ws, &ep).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, on.body);
}

#[tokio::test]
async fn enabling_an_enabled_endpoint_does_not_reset_its_failure_clock() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(&app, (0..10).map(|_| status(500)).collect());
    deliver_event(&app, &receiver, &event(&app, &ws, 1)).await;
    app.clock.advance(Duration::days(3));
    assert_eq!(enable(&app, &ws, &ep).await.status, StatusCode::OK);
    app.clock.advance(Duration::days(2));
    deliver_event(&app, &receiver, &event(&app, &ws, 2)).await;
    let view = status_of(&app, &ws, &ep).await;
    assert_eq!(view["status"], "disabled", "five days of failures: {view}");
}
