//! Engagement and the inbox through the API: sandbox events through the network intake path,
//! the inbox in answering order, a reply through the network, assign and dismiss, the
//! metrics that read them, and bad input refused naming the field with nothing recorded.

use crate::support::{App, Ws};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

async fn published(app: &App, ws: &Ws, acct: &str, body: Value) -> (String, String) {
    let mut body = body;
    body["accounts"] = json!([acct]);
    body["scheduled_at"] = json!(app.at(Duration::zero()));
    let id = app.create_post(ws, body).await;
    app.run_publisher().await;
    let view = app.post_view(ws, &id).await;
    let remote = view["targets"][0]["remote_id"]
        .as_str()
        .expect("remote_id")
        .to_owned();
    (id, remote)
}

async fn event(app: &App, ws: &Ws, acct: &str, body: Value) -> crate::support::Answer {
    app.post(&format!("/v1/sandbox/{acct}/events"), &ws.key, body)
        .await
}

/// What the relay and the aggregator's bus rule do in `herald serve`: every event the
/// workspace's outbox holds, rolled up (a repeat of one rolled up before adds nothing).
async fn aggregate(app: &App, ws: &Ws) {
    let ws_id = herald_domain::WorkspaceId::parse(&ws.id).expect("workspace id");
    let pk = herald_storage::keys::event(&ws_id, app.now(), "x").pk;
    let items = app
        .deps
        .table
        .query_all(herald_ports::Query::table(pk))
        .await
        .expect("outbox");
    let events: Vec<herald_ports::BusEvent> = items
        .iter()
        .map(|i| herald_app::records::from_json(i).expect("an event"))
        .collect();
    herald_app::aggregate::aggregate(&app.deps, &events)
        .await
        .expect("aggregate");
}

#[tokio::test]
async fn a_sandbox_comment_reaches_the_inbox_by_sentiment_and_a_reply_clears_it() {
    let app = App::new().await;
    let ws = app.workspace("Cafe").await;
    let acct = app.sandbox(&ws, "cafe").await;
    let (post, remote) = published(&app, &ws, &acct, json!({"text": "New menu"})).await;

    let angry = json!({"type": "comment", "remote_id": remote, "id": "c-1", "author": "dana",
        "text": "Worst service ever, cold coffee and a rude waiter. I want my money back!"});
    let a = event(&app, &ws, &acct, angry.clone()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    assert_eq!(a.body["status"], "recorded");
    // The same delivery again adds nothing.
    let again = event(&app, &ws, &acct, angry).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["status"], "repeat");
    app.clock.advance(Duration::seconds(10));
    event(
        &app,
        &ws,
        &acct,
        json!({"type": "mention", "remote_id": remote, "id": "c-2",
        "author": "eli", "text": "Great brunch at @cafe today!"}),
    )
    .await;

    let inbox = app.get("/v1/inbox?status=unanswered", &ws.key).await;
    assert_eq!(inbox.status, StatusCode::OK, "{inbox:?}");
    let items = inbox.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{inbox:?}");
    let first = &items[0];
    assert_eq!(first["author"], "dana", "negative first: {inbox:?}");
    assert!(first["sentiment"].as_f64().unwrap() < -0.05);
    assert_eq!(first["platform"], "sandbox");
    assert_eq!(first["account"], acct.as_str());
    assert_eq!(first["post"], post.as_str());
    assert_eq!(first["status"], "unanswered");
    assert!(first["received_at"].is_string());
    assert!(items[1]["sentiment"].as_f64().unwrap() > 0.0);
    let id = first["id"].as_str().unwrap().to_owned();

    app.clock.advance(Duration::seconds(50));
    let reply = app
        .post(
            &format!("/v1/inbox/{id}/reply"),
            &ws.key,
            json!({"text": "So sorry! A coffee on us?"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["status"], "answered");
    assert_eq!(reply.body["response_seconds"], 60);
    assert!(reply.body["answered_at"].is_string());
    // The reply reached the network.
    let outbox = app.outbox(&ws, &acct).await;
    assert!(
        outbox
            .iter()
            .any(|e| e["text"] == "So sorry! A coffee on us?"),
        "{outbox:?}"
    );
    let left = app.get("/v1/inbox?status=unanswered", &ws.key).await;
    assert_eq!(left.body["items"].as_array().unwrap().len(), 1);

    // Assign the other to a member; dismiss it; an unknown member is refused.
    let member = app
        .post(
            "/v1/members",
            &ws.key,
            json!({"name": "Sam", "role": "editor"}),
        )
        .await;
    let member_id = member.body["id"].as_str().unwrap().to_owned();
    let other = left.body["items"][0]["id"].as_str().unwrap().to_owned();
    let assigned = app
        .post(
            &format!("/v1/inbox/{other}/assign"),
            &ws.key,
            json!({"assignee": member_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{assigned:?}");
    assert_eq!(assigned.body["assignee"], member_id.as_str());
    let nobody = app
        .post(
            &format!("/v1/inbox/{other}/assign"),
            &ws.key,
            json!({"assignee": "mem_00000000000000000000000000"}),
        )
        .await;
    assert!(nobody.invalid_field("assignee").contains("not a member"));
    let dismissed = app
        .call(
            Method::POST,
            &format!("/v1/inbox/{other}/dismiss"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(dismissed.body["status"], "dismissed", "{dismissed:?}");

    let summary = app.get("/v1/metrics/summary", &ws.key).await;
    assert_eq!(summary.status, StatusCode::OK, "{summary:?}");
    assert_eq!(summary.body["response_time_p50_s"], 60);
    assert_eq!(summary.body["response_time_p90_s"], 60);
    assert_eq!(summary.body["answered_share"], 1.0);

    // Likes and impressions the network reports add up in the summary.
    for (i, (kind, count)) in [("like", 1), ("like", 1), ("impression", 500), ("share", 1)]
        .into_iter()
        .enumerate()
    {
        let a = event(
            &app,
            &ws,
            &acct,
            json!({"type": kind, "remote_id": remote,
            "id": format!("e-{i}"), "count": count}),
        )
        .await;
        assert_eq!(a.body["status"], "recorded", "{a:?}");
    }
    aggregate(&app, &ws).await;
    aggregate(&app, &ws).await;
    let summary = app.get("/v1/metrics/summary", &ws.key).await;
    let totals = &summary.body;
    assert_eq!(
        (
            &totals["likes"],
            &totals["impressions"],
            &totals["shares"],
            &totals["comments"],
            &totals["mentions"]
        ),
        (&json!(2), &json!(500), &json!(1), &json!(1), &json!(1)),
        "{summary:?}"
    );
    assert_eq!(totals["engagements"], 5);
    assert_eq!(totals["posts"], 1);
    assert_eq!(totals["days"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_sandbox_events_are_refused_naming_the_field_and_record_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Cafe").await;
    let acct = app.sandbox(&ws, "cafe").await;
    for (body, field) in [
        (json!({"type": "poke", "remote_id": "r"}), "type"),
        (json!({"type": "like", "remote_id": ""}), "remote_id"),
        (
            json!({"type": "like", "remote_id": "r", "count": 0}),
            "count",
        ),
        (
            json!({"type": "comment", "remote_id": "r", "text": "x".repeat(20_001)}),
            "text",
        ),
        (
            json!({"type": "comment", "remote_id": "r", "count": 3, "text": "hi"}),
            "count",
        ),
        (
            json!({"type": "like", "remote_id": "r", "id": "a\u{0}b"}),
            "id",
        ),
        (json!({"type": "like"}), "remote_id"),
    ] {
        let a = event(&app, &ws, &acct, body.clone()).await;
        assert!(!a.invalid_field(field).is_empty(), "{body}: {a:?}");
    }
    let inbox = app.get("/v1/inbox", &ws.key).await;
    assert_eq!(inbox.body["items"], json!([]));
    // Not a sandbox account, or another workspace's: 404.
    let other = app.workspace("Other").await;
    let theirs = app.sandbox(&other, "other").await;
    let a = event(
        &app,
        &ws,
        &theirs,
        json!({"type": "like", "remote_id": "r"}),
    )
    .await;
    a.problem(StatusCode::NOT_FOUND);
    let bad_status = app.get("/v1/inbox?status=open", &ws.key).await;
    assert!(bad_status.invalid_field("status").contains("unanswered"));
    let unknown = app
        .post(
            "/v1/inbox/inb_00000000000000000000000000/reply",
            &ws.key,
            json!({"text": "hi"}),
        )
        .await;
    unknown.problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn best_times_and_the_eighty_twenty_warning_answer() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let acct = app.sandbox(&ws, "shop").await;
    // A new account: the default times, said so.
    let best = app
        .get(&format!("/v1/metrics/best-times?account={acct}"), &ws.key)
        .await;
    assert_eq!(best.status, StatusCode::OK, "{best:?}");
    assert_eq!(best.body["source"], "default");
    assert!(!best.body["items"].as_array().unwrap().is_empty());

    // Three social posts and two promotional ones in the window: 40% promotional.
    for (i, kind) in ["social", "social", "social", "promotional", "promotional"]
        .iter()
        .enumerate()
    {
        app.create_post(
            &ws,
            json!({"text": format!("post {i}"), "accounts": [acct], "kind": kind,
                   "scheduled_at": app.at(Duration::days(1) + Duration::hours(i as i64))}),
        )
        .await;
    }
    let from = crate::support::rfc3339(app.now());
    let to = crate::support::rfc3339(app.now() + Duration::days(7));
    let mix = app
        .get(
            &format!("/v1/metrics/content-mix?from={from}&to={to}"),
            &ws.key,
        )
        .await;
    assert_eq!(mix.status, StatusCode::OK, "{mix:?}");
    assert_eq!(
        (
            mix.body["social"].as_u64(),
            mix.body["promotional"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(mix.body["promotional_share"], 0.4);
    assert!(
        mix.body["warning"].as_str().unwrap().contains("80/20"),
        "{mix:?}"
    );
    let backwards = app
        .get(
            &format!("/v1/metrics/content-mix?from={to}&to={from}"),
            &ws.key,
        )
        .await;
    assert!(backwards.invalid_field("to").contains("after"));
    let tags = app.get("/v1/metrics/top-tags", &ws.key).await;
    assert_eq!(tags.status, StatusCode::OK, "{tags:?}");
    assert_eq!(tags.body["items"], json!([]));
}

#[tokio::test]
async fn each_network_sums_its_accounts_and_nothing_of_another_workspace() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let one = app.sandbox(&ws, "shop-one").await;
    let two = app.sandbox(&ws, "shop-two").await;
    let (_, r1) = published(&app, &ws, &one, json!({"text": "first"})).await;
    let (_, r2) = published(&app, &ws, &two, json!({"text": "second"})).await;
    for (acct, remote, n) in [(&one, &r1, 300), (&two, &r2, 200)] {
        let a = event(
            &app,
            &ws,
            acct,
            json!({"type": "impression", "remote_id": remote, "count": n}),
        )
        .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    }
    event(
        &app,
        &ws,
        &one,
        json!({"type": "like", "remote_id": r1, "id": "l-1", "author": "ann"}),
    )
    .await;
    // Another workspace's numbers stay its own.
    let other = app.workspace("Elsewhere").await;
    let theirs = app.sandbox(&other, "elsewhere").await;
    let (_, r3) = published(&app, &other, &theirs, json!({"text": "theirs"})).await;
    event(
        &app,
        &other,
        &theirs,
        json!({"type": "impression", "remote_id": r3, "count": 9999}),
    )
    .await;
    aggregate(&app, &ws).await;
    aggregate(&app, &other).await;

    let a = app.get("/v1/metrics/networks", &ws.key).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let items = a.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one network: {a:?}");
    let sandbox = &items[0];
    assert_eq!(sandbox["platform"], "sandbox");
    assert_eq!(sandbox["accounts"], 2);
    assert_eq!(sandbox["impressions"], 500, "{a:?}");
    assert_eq!(sandbox["posts"], 2);
    assert_eq!(sandbox["engagements"], 1);
    assert_eq!(sandbox["engagement_rate"], 0.002);

    // A window before any of it: the network is there, its counts zero.
    let from = crate::support::rfc3339(app.now() - Duration::days(20));
    let to = crate::support::rfc3339(app.now() - Duration::days(10));
    let before = app
        .get(
            &format!("/v1/metrics/networks?from={from}&to={to}"),
            &ws.key,
        )
        .await;
    assert_eq!(before.body["items"][0]["impressions"], 0, "{before:?}");
    assert!(before.body["items"][0].get("engagement_rate").is_none());
    let backwards = app
        .get(
            &format!("/v1/metrics/networks?from={to}&to={from}"),
            &ws.key,
        )
        .await;
    assert!(backwards.invalid_field("to").contains("after"));
}

#[tokio::test]
async fn a_reply_with_an_idempotency_key_sent_twice_replies_once_and_answers_the_first_again() {
    let app = App::new().await;
    let ws = app.workspace("Cafe").await;
    let acct = app.sandbox(&ws, "cafe").await;
    let (_, remote) = published(&app, &ws, &acct, json!({"text": "New menu"})).await;
    event(
        &app,
        &ws,
        &acct,
        json!({"type": "comment", "remote_id": remote, "id": "c-9", "author": "dana",
               "text": "Open on Sunday?"}),
    )
    .await;
    let inbox = app.get("/v1/inbox", &ws.key).await;
    let id = inbox.body["items"][0]["id"].as_str().unwrap().to_owned();
    let send = |key: &'static str, text: &'static str| {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/inbox/{id}/reply"))
            .header("authorization", format!("Bearer {}", ws.key))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(json!({"text": text}).to_string()))
            .unwrap();
        app.send(request)
    };
    let first = send("reply-1", "Yes, 10 to 4").await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.header("idempotent-replayed"), None);
    app.clock.advance(Duration::seconds(20));
    let again = send("reply-1", "Yes, 10 to 4").await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer again");
    let other = send("reply-1", "Something else").await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{other:?}");
    let sent = app
        .outbox(&ws, &acct)
        .await
        .into_iter()
        .filter(|e| e["text"] == "Yes, 10 to 4")
        .count();
    assert_eq!(sent, 1, "one reply on the network");
}
