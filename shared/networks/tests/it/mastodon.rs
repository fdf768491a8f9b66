//! Mastodon connector: contract tests against a local REST double, and one test against
//! mastodon-mock (`HERALD_MASTODON_URL`, started by `infra/services.sh start`).

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::guard::Guard;
use herald_networks::mastodon::MastodonConnector;
use herald_ports::{Connector, NetworkErrorKind, NoCheckpoint};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{MemoryBlobs, PNG_1X1, Steps, account, fixture, image, received, request};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "tok-herald";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture("mastodon", name))
}

struct Double {
    server: MockServer,
    connector: MastodonConnector,
}

impl Double {
    async fn new(blobs: MemoryBlobs) -> Double {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/instance"))
            .respond_with(ok("instance.json"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/accounts/verify_credentials"))
            .and(header("authorization", format!("Bearer {TOKEN}")))
            .respond_with(ok("account.json"))
            .mount(&server)
            .await;
        let connector = MastodonConnector::new(
            Guard::new(true),
            Arc::new(blobs),
            Arc::new(ManualClock::new(start_time())),
        )
        .with_media_polling(Duration::from_millis(1), 5);
        Double { server, connector }
    }

    fn account(&self) -> herald_ports::AccountContext {
        account(json!({"instance": self.server.uri(), "access_token": TOKEN}))
    }

    async fn requests(&self, m: &str, p: &str) -> Vec<Request> {
        received(&self.server, m, p).await
    }

    async fn statuses_posted(&self) -> Vec<(Option<String>, Value)> {
        self.requests("POST", "/api/v1/statuses")
            .await
            .iter()
            .map(|r| {
                let key = r
                    .headers
                    .get("idempotency-key")
                    .map(|v| v.to_str().unwrap().to_owned());
                (key, r.body_json::<Value>().unwrap())
            })
            .collect()
    }
}

fn status(id: &str, reply_to: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "created_at": "2025-01-01T12:00:00.000Z", "in_reply_to_id": reply_to,
        "url": format!("https://mastodon.test/@herald/{id}"), "content": "<p>x</p>",
        "account": {"id": "14715", "acct": "herald"},
    }))
}

#[tokio::test]
async fn a_status_with_media_uploads_waits_for_processing_and_posts_with_the_idempotency_key() {
    let d = Double::new(MemoryBlobs::with("k/img", PNG_1X1.to_vec(), "image/png")).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(fixture("mastodon", "media_processing.json")),
        )
        .expect(1)
        .mount(&d.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/media/22348641"))
        .respond_with(
            ResponseTemplate::new(206).set_body_json(fixture("mastodon", "media_processing.json")),
        )
        .up_to_n_times(1)
        .mount(&d.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/media/22348641"))
        .respond_with(ok("media_ready.json"))
        .mount(&d.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .and(header("idempotency-key", "mk_1"))
        .respond_with(ok("status.json"))
        .mount(&d.server)
        .await;

    let mut req = request("mk_1", "Hello from Herald");
    req.media = vec![image("k/img", 67, Some("A test image"))];
    let steps = Steps::default();
    let published = d
        .connector
        .publish(&d.account(), &req, &steps)
        .await
        .unwrap();

    assert_eq!(published.remote_id, "103704874086360371");
    assert_eq!(
        published.url.as_deref(),
        Some("https://mastodon.test/@herald/103704874086360371")
    );
    assert_eq!(
        steps.recorded(),
        vec![
            ("media.0".to_owned(), "22348641".to_owned()),
            ("status".to_owned(), "103704874086360371".to_owned()),
        ]
    );
    let upload = &d.requests("POST", "/api/v2/media").await[0];
    let content_type = upload
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(content_type.starts_with("multipart/form-data; boundary="));
    let body = String::from_utf8_lossy(&upload.body);
    assert!(body.contains("name=\"file\""), "{body}");
    assert!(body.contains("Content-Type: image/png"), "{body}");
    assert!(
        body.contains("name=\"description\"\r\n\r\nA test image"),
        "{body}"
    );
    assert!(
        upload.body.windows(PNG_1X1.len()).any(|w| w == PNG_1X1),
        "the image bytes are in the upload"
    );
    assert_eq!(d.requests("GET", "/api/v1/media/22348641").await.len(), 2);
    let posted = d.statuses_posted().await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].0.as_deref(), Some("mk_1"));
    assert_eq!(
        posted[0].1,
        json!({"status": "Hello from Herald", "media_ids": ["22348641"]})
    );
}

#[tokio::test]
async fn a_thread_chains_in_reply_to_with_a_key_per_step() {
    let d = Double::new(MemoryBlobs::default()).await;
    for (key, id) in [
        ("mk_2", "1"),
        ("mk_2:thread.1", "2"),
        ("mk_2:thread.2", "3"),
    ] {
        Mock::given(method("POST"))
            .and(path("/api/v1/statuses"))
            .and(header("idempotency-key", key))
            .respond_with(status(id, None))
            .mount(&d.server)
            .await;
    }
    let mut req = request("mk_2", "1/3");
    req.thread = vec!["2/3".into(), "3/3".into()];
    let steps = Steps::default();
    let published = d
        .connector
        .publish(&d.account(), &req, &steps)
        .await
        .unwrap();
    assert_eq!(published.remote_id, "1");
    let posted = d.statuses_posted().await;
    assert_eq!(posted[1].1, json!({"status": "2/3", "in_reply_to_id": "1"}));
    assert_eq!(posted[2].1, json!({"status": "3/3", "in_reply_to_id": "2"}));
    assert_eq!(
        steps
            .recorded()
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
        vec!["status", "thread.1", "thread.2"]
    );
}

#[tokio::test]
async fn a_resumed_publish_reuses_the_recorded_media_instead_of_uploading_again() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(ok("status.json"))
        .mount(&d.server)
        .await;
    let mut req = request("mk_3", "resumed");
    req.media = vec![image("k/missing", 67, None)];
    req.progress.insert("media.0".into(), "999".into());
    d.connector
        .publish(&d.account(), &req, &NoCheckpoint)
        .await
        .unwrap();
    assert!(d.requests("POST", "/api/v2/media").await.is_empty());
    assert_eq!(d.statuses_posted().await[0].1["media_ids"], json!(["999"]));
}

#[tokio::test]
async fn text_over_the_instance_limit_is_refused_before_posting() {
    let d = Double::new(MemoryBlobs::default()).await;
    // instance.json allows 120 characters; a long URL still counts 23.
    let fits = format!("{} https://example.com/{}", "a".repeat(96), "p".repeat(200));
    let too_long = "a".repeat(121);
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(ok("status.json"))
        .mount(&d.server)
        .await;
    d.connector
        .publish(&d.account(), &request("mk_4", &fits), &NoCheckpoint)
        .await
        .unwrap();
    let err = d
        .connector
        .publish(&d.account(), &request("mk_5", &too_long), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Permanent);
    assert!(err.message.contains("121 characters"), "{}", err.message);
    assert!(err.message.contains("120"), "{}", err.message);
    assert_eq!(d.statuses_posted().await.len(), 1);
    let limits = d.connector.instance_limits(&d.account()).await.unwrap();
    assert_eq!((limits.max_text, limits.max_images), (120, 2));
    assert_eq!(
        d.requests("GET", "/api/v2/instance").await.len(),
        1,
        "the instance configuration is cached"
    );
}

async fn publish_answered(template: ResponseTemplate) -> herald_ports::NetworkError {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(template)
        .mount(&d.server)
        .await;
    d.connector
        .publish(&d.account(), &request("mk_e", "hi"), &NoCheckpoint)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_validation_failure_is_permanent_with_the_instances_message() {
    let err = publish_answered(
        ResponseTemplate::new(422).set_body_json(fixture("mastodon", "error_validation.json")),
    )
    .await;
    assert_eq!(err.kind, NetworkErrorKind::Permanent);
    assert_eq!(err.status, Some(422));
    assert_eq!(
        err.message,
        "Validation failed: Text character limit of 500 exceeded"
    );
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized() {
    let err = publish_answered(
        ResponseTemplate::new(401).set_body_json(fixture("mastodon", "error_unauthorized.json")),
    )
    .await;
    assert_eq!(err.kind, NetworkErrorKind::Unauthorized);
    assert_eq!(err.message, "The access token is invalid");
}

#[tokio::test]
async fn a_rate_limit_answer_carries_the_iso_8601_reset_time() {
    let err = publish_answered(
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-limit", "300")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "2025-01-01T12:05:00.019685Z")
            .set_body_json(fixture("mastodon", "error_rate_limited.json")),
    )
    .await;
    let expected = DateTime::parse_from_rfc3339("2025-01-01T12:05:00.019685Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        err.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(expected)
        }
    );
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let err = publish_answered(
        ResponseTemplate::new(503).set_body_json(json!({"error": "Service Unavailable"})),
    )
    .await;
    assert_eq!(err.kind, NetworkErrorKind::Transient);
    assert_eq!(err.message, "Service Unavailable");
}

#[tokio::test]
async fn a_loopback_instance_is_refused_by_a_strict_guard_without_a_request() {
    let server = MockServer::start().await;
    let connector = MastodonConnector::new(
        Guard::default(),
        Arc::new(MemoryBlobs::default()),
        Arc::new(ManualClock::new(start_time())),
    );
    let acct = account(json!({"instance": server.uri(), "access_token": TOKEN}));
    let err = connector
        .publish(&acct, &request("mk_6", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert!(err.message.contains("loopback"), "{}", err.message);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn find_published_matches_the_html_content_not_the_newest_status() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/14715/statuses"))
        .and(query_param("limit", "40"))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("mastodon", "statuses.json")["items"].clone()),
        )
        .mount(&d.server)
        .await;
    let req = request("mk_7", "Launch day & more:\nsee https://example.com/launch");
    let found = d
        .connector
        .find_published(&d.account(), &req, start_time())
        .await
        .unwrap()
        .expect("the matching status is found");
    assert_eq!(found.remote_id, "200", "not the newest, not the reply");
    assert_eq!(
        found.url.as_deref(),
        Some("https://mastodon.test/@herald/200")
    );
    let none = d
        .connector
        .find_published(
            &d.account(),
            &request("mk_8", "An older post"),
            start_time(),
        )
        .await
        .unwrap();
    assert_eq!(none, None);
}

#[tokio::test]
async fn delete_removes_the_status_and_a_missing_one_counts_as_deleted() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/statuses/200"))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(status("200", None))
        .expect(1)
        .mount(&d.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/statuses/404"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
        )
        .mount(&d.server)
        .await;
    d.connector.delete(&d.account(), "200").await.unwrap();
    d.connector.delete(&d.account(), "404").await.unwrap();
}

#[tokio::test]
async fn a_reply_mentions_the_author_and_is_keyed_by_target_and_text() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/statuses/777"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "777", "content": "<p>nice</p>", "in_reply_to_id": null,
            "account": {"id": "99", "acct": "fan@other.test"},
        })))
        .mount(&d.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(status("778", Some("777")))
        .mount(&d.server)
        .await;
    let first = d
        .connector
        .reply(&d.account(), "777", "thanks!")
        .await
        .unwrap();
    d.connector
        .reply(&d.account(), "777", "thanks!")
        .await
        .unwrap();
    assert_eq!(first.remote_id, "778");
    let posted = d.statuses_posted().await;
    assert_eq!(
        posted[0].1,
        json!({"status": "@fan@other.test thanks!", "in_reply_to_id": "777"})
    );
    assert!(posted[0].0.is_some());
    assert_eq!(
        posted[0].0, posted[1].0,
        "a retried reply carries the same key"
    );
}

#[tokio::test]
async fn metrics_read_the_status_counts() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/statuses/103704874086360371"))
        .respond_with(ok("status.json"))
        .mount(&d.server)
        .await;
    let m = d
        .connector
        .metrics(&d.account(), "103704874086360371")
        .await
        .unwrap();
    assert_eq!(m.likes, Some(42));
    assert_eq!(m.shares, Some(5));
    assert_eq!(m.comments, Some(3));
    assert_eq!(m.impressions, None);
}

// ---------------------------------------------------------------------------------------------
// mastodon-mock, an implementation of the API written by others.

#[tokio::test]
async fn mastodon_mock_posts_a_status_with_media_once_for_a_repeated_idempotency_key() {
    let Ok(instance) = std::env::var("HERALD_MASTODON_URL") else {
        panic!(
            "HERALD_MASTODON_URL is not set: run the tests with the README's test command, which \
             starts mastodon-mock (`infra/services.sh start`)"
        );
    };
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let connector = MastodonConnector::new(
        Guard::new(true),
        Arc::new(MemoryBlobs::with("k/img", PNG_1X1.to_vec(), "image/png")),
        Arc::new(herald_adapters::SystemClock),
    )
    .with_media_polling(Duration::from_millis(100), 50);
    let acct = account(json!({"instance": instance, "access_token": "any-token"}));
    let text = format!("Herald & mastodon-mock {unique} https://example.com/herald #herald");
    let mut req = request(&format!("mk_{unique}"), &text);
    req.media = vec![image("k/img", PNG_1X1.len() as u64, Some("one pixel"))];
    let since = Utc::now() - chrono::Duration::seconds(5);

    let first = connector.publish(&acct, &req, &NoCheckpoint).await.unwrap();
    let second = connector.publish(&acct, &req, &NoCheckpoint).await.unwrap();
    assert_eq!(
        first.remote_id, second.remote_id,
        "the key deduplicated the retry"
    );

    let http = reqwest::Client::new();
    let me: Value = http
        .get(format!("{instance}/api/v1/accounts/verify_credentials"))
        .bearer_auth("any-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<Value> = http
        .get(format!(
            "{instance}/api/v1/accounts/{}/statuses",
            me["id"].as_str().unwrap()
        ))
        .bearer_auth("any-token")
        .query(&[("limit", "40")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ours: Vec<&Value> = statuses
        .iter()
        .filter(|s| s["content"].as_str().unwrap_or("").contains(&unique))
        .collect();
    assert_eq!(ours.len(), 1, "one status, not two");
    let status = ours[0];
    assert_eq!(status["id"], first.remote_id.as_str());
    let media = status["media_attachments"].as_array().unwrap();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0]["type"], "image");
    assert_eq!(media[0]["description"], "one pixel");
    assert_eq!(
        herald_networks::mastodon::html_to_text(status["content"].as_str().unwrap()),
        text
    );

    let timeline: Vec<Value> = http
        .get(format!("{instance}/api/v1/timelines/home"))
        .bearer_auth("any-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        timeline.iter().any(|s| s["id"] == first.remote_id.as_str()),
        "the status is on the home timeline"
    );

    let found = connector
        .find_published(&acct, &req, since)
        .await
        .unwrap()
        .expect("find_published finds the status");
    assert_eq!(found.remote_id, first.remote_id);
}
