//! Bluesky notification polling: `app.bsky.notification.listNotifications` on the account's
//! PDS, read newest first back to what the last poll saw, against a double shaped as the
//! lexicon documents it (the reference PDS alone answers no `app.bsky.*` read: it needs an
//! AppView, which these machines do not have).

use crate::support::{MemoryBlobs, account, fixture};
use chrono::{TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::bluesky::BlueskyConnector;
use herald_networks::guard::Guard;
use herald_ports::{Connector, NetworkErrorKind};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POST: &str = "at://did:plc:herald7test/app.bsky.feed.post/3post";

async fn pds() -> (MockServer, BlueskyConnector) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("bluesky", "createSession.json")),
        )
        .mount(&server)
        .await;
    let connector = BlueskyConnector::new(
        Guard::new(true),
        Arc::new(MemoryBlobs::default()),
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap(),
        )),
    );
    (server, connector)
}

fn creds(server: &MockServer) -> herald_ports::AccountContext {
    account(json!({"service": server.uri(), "identifier": "herald.test",
                   "app_password": "abcd-efgh-ijkl-mnop"}))
}

fn note(key: &str, reason: &str, at: &str, text: &str) -> Value {
    let uri = format!("at://did:plc:carol/app.bsky.feed.post/{key}");
    let mut record = json!({"$type": "app.bsky.feed.post", "text": text, "createdAt": at});
    if reason == "reply" {
        record["reply"] =
            json!({"root": {"uri": POST, "cid": "c1"}, "parent": {"uri": POST, "cid": "c1"}});
    }
    json!({"uri": uri, "cid": format!("cid{key}"), "reason": reason,
           "reasonSubject": if reason == "reply" { json!(POST) } else { Value::Null },
           "author": {"did": "did:plc:carol", "handle": "carol.test"},
           "record": record, "isRead": false, "indexedAt": at})
}

#[tokio::test]
async fn a_poll_reads_back_to_what_it_saw_and_keeps_the_newest_time_as_its_cursor() {
    let (server, c) = pds().await;
    let list = "/xrpc/app.bsky.notification.listNotifications";
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "notifications": [
                note("c3", "reply", "2025-01-01T11:03:00.000Z", "third"),
                note("l1", "like", "2025-01-01T11:02:30.000Z", ""),
                note("c2", "mention", "2025-01-01T11:02:00.000Z", "@herald.test second"),
            ],
            "cursor": "page2",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("cursor", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "notifications": [
                note("c1", "reply", "2025-01-01T11:01:00.000Z", "first"),
                note("c0", "reply", "2025-01-01T10:00:00.000Z", "seen long ago"),
            ],
            "cursor": "page3",
        })))
        .mount(&server)
        .await;
    let acct = creds(&server);

    // First poll: the newest page only.
    let first = c.notifications(&acct, None).await.unwrap();
    let ids: Vec<&str> = first
        .items
        .iter()
        .map(|n| n.id.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(ids, vec!["c2", "c3"], "oldest first, the like left out");
    assert!(first.items[1].reply);
    assert_eq!(first.items[1].post_remote_id, POST);
    assert!(!first.items[0].reply);
    assert_eq!(first.items[0].author.as_deref(), Some("carol.test"));
    assert_eq!(first.cursor.as_deref(), Some("2025-01-01T11:03:00.000000Z"));

    // From an older cursor: back through the second page, stopping at what was seen.
    let later = c
        .notifications(&acct, Some("2025-01-01T11:00:00.000000Z"))
        .await
        .unwrap();
    let ids: Vec<&str> = later
        .items
        .iter()
        .map(|n| n.id.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(ids, vec!["c1", "c2", "c3"]);
    let pages = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == list)
        .count();
    assert_eq!(pages, 3, "one page, then two; never page3");
    let r = &server.received_requests().await.unwrap();
    let q = r
        .iter()
        .rfind(|r| r.url.path() == list)
        .unwrap()
        .url
        .query()
        .unwrap()
        .to_owned();
    assert!(
        q.contains("reasons=reply") && q.contains("reasons=mention"),
        "{q}"
    );
    assert!(
        !r.iter().any(|r| r.url.path().ends_with("updateSeen")),
        "Herald never clears the person's unread notifications"
    );
}

#[tokio::test]
async fn a_cursor_no_herald_wrote_starts_over_from_the_newest_page() {
    let (server, c) = pds().await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.notification.listNotifications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "notifications": [note("c9", "reply", "2025-01-01T11:09:00.000Z", "hi")],
            "cursor": "more",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = c
        .notifications(&creds(&server), Some("at://a/deleted/post"))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.cursor.as_deref(), Some("2025-01-01T11:09:00.000000Z"));
}

#[tokio::test]
async fn a_429_carries_its_ratelimit_reset() {
    let (server, c) = pds().await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.notification.listNotifications"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "3000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "1735733100")
                .set_body_json(
                    json!({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}),
                ),
        )
        .mount(&server)
        .await;
    let e = c.notifications(&creds(&server), None).await.unwrap_err();
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(Utc.timestamp_opt(1_735_733_100, 0).unwrap())
        }
    );
}

#[tokio::test]
async fn a_hanging_pds_costs_the_poll_timeout() {
    let (server, c) = pds().await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.notification.listNotifications"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(30))
                .set_body_json(json!({"notifications": []})),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let e = c
        .with_poll_timeout(Duration::from_millis(300))
        .notifications(&creds(&server), None)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            e.kind,
            NetworkErrorKind::Uncertain | NetworkErrorKind::Transient
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_100_kb_reply_with_control_characters_and_a_broken_entry_is_read_safely() {
    let (server, c) = pds().await;
    let hostile = format!("{}\u{0}\u{1b}[2J\u{7}", "x".repeat(100_000));
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.notification.listNotifications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"notifications": [
                note("big", "reply", "2025-01-01T11:09:00.000Z", &hostile),
                {"reason": "reply", "uri": 7, "indexedAt": "not a time"},
                {"reason": "mention"},
            ]})),
        )
        .mount(&server)
        .await;
    let page = c.notifications(&creds(&server), None).await.unwrap();
    assert_eq!(page.items.len(), 1, "the broken entries are skipped");
    assert_eq!(page.items[0].text.as_deref(), Some(hostile.as_str()));
}
