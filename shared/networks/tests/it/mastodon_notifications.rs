//! Mastodon notification polling: `GET /api/v1/notifications?types[]=mention` paged forward
//! with `min_id`, against a double (paging, 429, a hanging instance, hostile text) and
//! against mastodon-mock (a second user's reply appears once, a cursor whose status is gone).

use crate::support::{MemoryBlobs, account};
use chrono::{TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::guard::Guard;
use herald_networks::mastodon::MastodonConnector;
use herald_ports::{Connector, NetworkErrorKind};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn connector() -> MastodonConnector {
    MastodonConnector::new(
        Guard::new(true),
        Arc::new(MemoryBlobs::default()),
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap(),
        )),
    )
}

fn mention(id: u64, status: u64, reply_to: Option<&str>, text: &str) -> Value {
    json!({
        "id": id.to_string(), "type": "mention", "created_at": "2025-01-01T11:00:00Z",
        "account": {"id": "9", "acct": "carol@elsewhere.test"},
        "status": {"id": status.to_string(), "in_reply_to_id": reply_to,
                   "content": format!("<p>{text}</p>"),
                   "account": {"id": "9", "acct": "carol@elsewhere.test"}}
    })
}

#[tokio::test]
async fn the_first_poll_reads_the_newest_page_and_later_polls_page_forward_from_the_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .and(query_param("types[]", "mention"))
        .and(query_param_is_missing("min_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            mention(102, 502, Some("400"), "second"),
            mention(101, 501, None, "first, a mention"),
            {"id": "100", "type": "mention", "status": null, "account": {"acct": "gone"}},
        ])))
        .mount(&server)
        .await;
    // After 102: a full page (40, newest first) then the rest.
    let full: Vec<Value> = (0..40u64)
        .rev()
        .map(|i| mention(103 + i, 600 + i, Some("400"), &format!("n{i}")))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .and(query_param("min_id", "102"))
        .respond_with(ResponseTemplate::new(200).set_body_json(full))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .and(query_param("min_id", "142"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([mention(
            1000,
            2000,
            Some("400"),
            "last"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .and(query_param("min_id", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let c = connector();
    let acct = account(json!({"instance": server.uri(), "access_token": "t"}));

    let first = c.notifications(&acct, None).await.unwrap();
    assert_eq!(first.cursor.as_deref(), Some("102"));
    assert_eq!(
        first.items.len(),
        2,
        "the one whose status is gone is skipped"
    );
    assert_eq!(first.items[0].id, "501", "oldest first");
    assert!(!first.items[0].reply);
    assert_eq!(first.items[0].post_remote_id, "501");
    assert_eq!(first.items[0].text.as_deref(), Some("first, a mention"));
    assert_eq!(first.items[1].post_remote_id, "400");
    assert!(first.items[1].reply);
    assert_eq!(
        first.items[1].author.as_deref(),
        Some("carol@elsewhere.test")
    );

    let next = c.notifications(&acct, Some("102")).await.unwrap();
    assert_eq!(next.items.len(), 41, "a full page, then the one after it");
    assert_eq!(next.items[0].id, "600");
    assert_eq!(next.items[40].id, "2000");
    assert_eq!(
        next.cursor.as_deref(),
        Some("1000"),
        "1000 is newer than 142"
    );

    let nothing = c.notifications(&acct, Some("1000")).await.unwrap();
    assert!(nothing.items.is_empty());
    assert_eq!(nothing.cursor.as_deref(), Some("1000"), "the cursor stays");
}

#[tokio::test]
async fn a_429_says_when_to_come_back_from_its_rate_limit_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Limit", "300")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", "2025-01-01T12:05:00.000Z")
                .set_body_json(json!({"error": "Too many requests"})),
        )
        .mount(&server)
        .await;
    let acct = account(json!({"instance": server.uri(), "access_token": "t"}));
    let e = connector()
        .notifications(&acct, Some("5"))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(Utc.with_ymd_and_hms(2025, 1, 1, 12, 5, 0).unwrap())
        }
    );
}

#[tokio::test]
async fn a_hanging_instance_costs_the_poll_timeout_not_the_poll() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(30))
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    let acct = account(json!({"instance": server.uri(), "access_token": "t"}));
    let started = Instant::now();
    let e = connector()
        .with_poll_timeout(Duration::from_millis(300))
        .notifications(&acct, None)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e.kind,
            NetworkErrorKind::Uncertain | NetworkErrorKind::Transient
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_100_kb_mention_full_of_control_characters_is_read_without_trouble() {
    let server = MockServer::start().await;
    let hostile = format!("{}\u{0}\u{7}\u{1b}[31m&lt;b&gt;", "é".repeat(50_000));
    Mock::given(method("GET"))
        .and(path("/api/v1/notifications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([mention(7, 8, None, &hostile)])),
        )
        .mount(&server)
        .await;
    let acct = account(json!({"instance": server.uri(), "access_token": "t"}));
    let page = connector().notifications(&acct, None).await.unwrap();
    let text = page.items[0].text.as_deref().unwrap();
    assert!(
        text.len() > 100_000,
        "the text comes whole to the inbox, which cuts it"
    );
    assert!(
        text.ends_with("<b>"),
        "entities decoded: {}",
        &text[text.len() - 20..]
    );
}

// ---------------------------------------------------------------------------------------------
// mastodon-mock, an implementation of the API written by others.

fn instance() -> String {
    std::env::var("HERALD_MASTODON_URL").unwrap_or_else(|_| {
        panic!(
            "HERALD_MASTODON_URL is not set: run the tests with the README's test command, which \
             starts mastodon-mock (`infra/services.sh start`)"
        )
    })
}

/// A token of one of mastodon-mock's demo users other than the permissive one (its code flow
/// names the user in the code).
async fn token_of(instance: &str, user: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{instance}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &format!("mockcode_{user}")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn post_status(instance: &str, token: &str, text: &str, reply_to: Option<&str>) -> Value {
    let mut body = json!({"status": text});
    if let Some(r) = reply_to {
        body["in_reply_to_id"] = json!(r);
    }
    let answer = reqwest::Client::new()
        .post(format!("{instance}/api/v1/statuses"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

#[tokio::test]
async fn mastodon_mock_a_second_users_reply_is_polled_once_and_a_deleted_cursor_moves_on() {
    let instance = instance();
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let c = connector();
    // mastodon-mock's permissive token is its first demo user, the account Herald acts for.
    let ours = account(json!({"instance": instance, "access_token": "herald-any"}));
    let me: Value = reqwest::Client::new()
        .get(format!("{instance}/api/v1/accounts/verify_credentials"))
        .bearer_auth("herald-any")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let my_acct = me["acct"].as_str().unwrap().to_owned();
    let start = c.notifications(&ours, None).await.unwrap().cursor;

    let post = post_status(
        &instance,
        "herald-any",
        &format!("Herald post {unique}"),
        None,
    )
    .await;
    let other = token_of(&instance, "alan").await;
    let reply = post_status(
        &instance,
        &other,
        &format!("@{my_acct} nice one {unique}"),
        post["id"].as_str(),
    )
    .await;

    let page = c.notifications(&ours, start.as_deref()).await.unwrap();
    let found: Vec<_> = page
        .items
        .iter()
        .filter(|n| n.text.as_deref().unwrap_or("").contains(&unique))
        .collect();
    assert_eq!(found.len(), 1, "{:?}", page.items);
    assert_eq!(found[0].id, reply["id"].as_str().unwrap());
    assert!(found[0].reply);
    assert_eq!(found[0].post_remote_id, post["id"].as_str().unwrap());
    assert_eq!(found[0].author.as_deref(), Some("alan"));
    let cursor = page.cursor.clone().expect("a cursor");

    let again = c.notifications(&ours, Some(&cursor)).await.unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|n| !n.text.as_deref().unwrap_or("").contains(&unique)),
        "nothing new: {:?}",
        again.items
    );

    // The status the cursor's notification was about is deleted (its notification with it):
    // polling from that cursor still finds what comes after.
    let gone = reqwest::Client::new()
        .delete(format!(
            "{instance}/api/v1/statuses/{}",
            reply["id"].as_str().unwrap()
        ))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success(), "{}", gone.status());
    let later = post_status(
        &instance,
        &other,
        &format!("@{my_acct} still here {unique}"),
        post["id"].as_str(),
    )
    .await;
    let after = c.notifications(&ours, Some(&cursor)).await.unwrap();
    let ids: Vec<&str> = after.items.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![later["id"].as_str().unwrap()],
        "{:?}",
        after.items
    );
}
