//! Contract tests for the X connector against a local double built from the X API v2 docs.
//! Fixtures: tests/fixtures/x/*.json, each citing its doc page in `_doc`.

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::x::XConnector;
use herald_ports::{
    AccountContext, BlobStore, Connector, MediaRef, NetworkError, NetworkErrorKind, NoCheckpoint,
    PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{Steps, account_named, base_url, oauth_app, raw_fixture};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn fixture(name: &str) -> Value {
    raw_fixture("x", name)
}

fn now() -> DateTime<Utc> {
    support::start()
}

type Setup = support::Double<XConnector>;

async fn setup() -> Setup {
    support::double(|server, blobs| {
        XConnector::new(
            herald_networks::http::client(),
            blobs,
            Arc::new(ManualClock::new(now())),
            oauth_app("client-1", "secret-1", "x"),
        )
        .with_base(base_url(server, ""))
        .with_poll_pause(Duration::ZERO)
    })
    .await
}

fn account(expires_at: DateTime<Utc>) -> AccountContext {
    account_named(
        "@herald",
        json!({
            "access_token": "user-token",
            "refresh_token": "old-refresh",
            "expires_at": expires_at.to_rfc3339(),
            "user_id": "2244994945",
        }),
    )
}

fn request(text: &str) -> PublishRequest {
    support::request("tgt_1", text)
}

fn media(key: &str, content_type: &str, bytes: u64) -> MediaRef {
    support::media(
        key,
        content_type,
        bytes,
        format!("https://blobs.example/{key}"),
    )
}

#[tokio::test]
async fn a_text_post_is_sent_to_post_2_tweets_with_the_user_token() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", "Bearer user-token"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "text": "Hello from Herald" })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("create_post.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    let cp = Steps::default();
    let out = s
        .connector
        .publish(&account(now()), &request("Hello from Herald"), &cp)
        .await
        .unwrap();
    assert_eq!(out.remote_id, "1445880548472328192");
    assert_eq!(
        out.url.as_deref(),
        Some("https://x.com/herald/status/1445880548472328192")
    );
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![("post:0".to_string(), "1445880548472328192".to_string())]
    );
}

#[tokio::test]
async fn an_image_goes_through_initialize_append_finalize_then_the_post_carries_its_id() {
    let s = setup().await;
    s.blobs
        .put("ws/media/m1/x", vec![7u8; 1024], "image/png")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/2/media/upload/initialize"))
        .and(header("authorization", "Bearer user-token"))
        .and(body_json(json!({
            "media_type": "image/png",
            "total_bytes": 1024,
            "media_category": "tweet_image",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("media_initialize.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/append"))
        .and(body_string_contains("name=\"segment_index\""))
        .and(body_string_contains("name=\"media\""))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/finalize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("media_finalize_image.json")),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/metadata"))
        .and(body_json(json!({
            "id": "1880028106020515840",
            "metadata": { "alt_text": { "text": "A plate of chips" } }
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data":{"associated_metadata":true}})),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({
            "text": "With a picture",
            "media": { "media_ids": ["1880028106020515840"] }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("create_post.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request("With a picture");
    let mut m = media("ws/media/m1/x", "image/png", 1024);
    m.alt_text = Some("A plate of chips".into());
    req.media.push(m);
    let cp = Steps::default();
    s.connector
        .publish(&account(now()), &req, &cp)
        .await
        .unwrap();
    // The appended chunk carries the media bytes themselves.
    let received = s.server.received_requests().await.unwrap();
    let append = received
        .iter()
        .find(|r| r.url.path().ends_with("/append"))
        .unwrap();
    assert!(
        append.body.windows(1024).any(|w| w.iter().all(|&b| b == 7)),
        "the append request holds the 1024 media bytes"
    );
    assert_eq!(
        cp.0.lock().unwrap()[0],
        ("media:0".to_string(), "1880028106020515840".to_string())
    );
}

#[tokio::test]
async fn a_video_is_polled_with_status_until_processing_succeeds() {
    let s = setup().await;
    s.blobs
        .put("ws/media/v1/x", vec![1u8; 2048], "video/mp4")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/2/media/upload/initialize"))
        .and(body_json(json!({
            "media_type": "video/mp4",
            "total_bytes": 2048,
            "media_category": "tweet_video",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("media_initialize.json")))
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/append"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/finalize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("media_finalize_video.json")),
        )
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/media/upload"))
        .and(query_param("command", "STATUS"))
        .and(query_param("media_id", "1880028106020515840"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("media_status_succeeded.json")),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({
            "text": "A clip",
            "media": { "media_ids": ["1880028106020515840"] }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("create_post.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request("A clip");
    req.media.push(media("ws/media/v1/x", "video/mp4", 2048));
    let out = s
        .connector
        .publish(&account(now()), &req, &NoCheckpoint)
        .await
        .unwrap();
    assert_eq!(out.remote_id, "1445880548472328192");
}

#[tokio::test]
async fn a_thread_replies_to_the_previous_post_and_a_resumed_publish_skips_what_was_done() {
    let s = setup().await;
    // The first post and its media were made by an earlier attempt: nothing is uploaded or
    // posted again, and the second post replies to the recorded first one.
    Mock::given(method("POST"))
        .and(path("/2/media/upload/initialize"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({
            "text": "Part two",
            "reply": { "in_reply_to_tweet_id": "111" }
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"data":{"id":"222","text":"Part two"}})),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({
            "text": "Part three",
            "reply": { "in_reply_to_tweet_id": "222" }
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"data":{"id":"333","text":"Part three"}})),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request("Part one");
    req.media.push(media("ws/media/gone/x", "image/png", 10));
    req.thread = vec!["Part two".into(), "Part three".into()];
    req.progress.insert("media:0".into(), "999".into());
    req.progress.insert("post:0".into(), "111".into());
    let cp = Steps::default();
    let out = s
        .connector
        .publish(&account(now()), &req, &cp)
        .await
        .unwrap();
    assert_eq!(out.remote_id, "111");
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![
            ("post:1".to_string(), "222".to_string()),
            ("post:2".to_string(), "333".to_string())
        ]
    );
}

async fn publish_answered(status: u16, body: Value, headers: &[(&str, &str)]) -> NetworkError {
    let s = setup().await;
    let mut resp = ResponseTemplate::new(status).set_body_json(body);
    for (k, v) in headers {
        resp = resp.insert_header(*k, *v);
    }
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(resp)
        .mount(&s.server)
        .await;
    s.connector
        .publish(&account(now()), &request("Hello"), &NoCheckpoint)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_x_rate_limit_reset_time() {
    let e = publish_answered(
        429,
        fixture("error_too_many_requests.json"),
        &[
            ("x-rate-limit-limit", "100"),
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1740823200"),
        ],
    )
    .await;
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(Utc.timestamp_opt(1_740_823_200, 0).unwrap())
        }
    );
}

#[tokio::test]
async fn a_spent_daily_user_cap_waits_for_its_own_24_hour_reset() {
    let e = publish_answered(
        429,
        fixture("error_too_many_requests.json"),
        &[
            ("x-rate-limit-reset", "1740823200"),
            ("x-user-limit-24hour-limit", "17"),
            ("x-user-limit-24hour-remaining", "0"),
            ("x-user-limit-24hour-reset", "1740900000"),
        ],
    )
    .await;
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(Utc.timestamp_opt(1_740_900_000, 0).unwrap())
        }
    );
}

#[tokio::test]
async fn a_402_for_exhausted_credits_is_permanent_and_says_so() {
    let e = publish_answered(402, fixture("error_payment_required.json"), &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(e.status, Some(402));
    assert!(e.message.contains("credits are exhausted"), "{}", e.message);
    assert!(
        e.message.contains("does not have any credits"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_401_means_the_account_must_be_reconnected() {
    let e = publish_answered(401, fixture("error_unauthorized.json"), &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
}

#[tokio::test]
async fn duplicate_content_is_permanent_with_x_s_message_and_a_code_for_reconciliation() {
    let e = publish_answered(403, fixture("error_duplicate.json"), &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(e.code.as_deref(), Some("duplicate_content"));
    assert!(
        e.message
            .contains("You are not allowed to create a Tweet with duplicate content")
    );
}

#[tokio::test]
async fn a_503_is_transient() {
    let e = publish_answered(
        503,
        json!({"title":"Service Unavailable","detail":"Service Unavailable","status":503}),
        &[],
    )
    .await;
    assert_eq!(e.kind, NetworkErrorKind::Transient);
}

#[tokio::test]
async fn find_published_matches_the_text_not_the_newest_post() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/2/users/2244994945/tweets"))
        .and(query_param("start_time", "2025-03-01T09:55:00Z"))
        .and(query_param("exclude", "retweets,replies"))
        .and(header("authorization", "Bearer user-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("user_posts.json")))
        .mount(&s.server)
        .await;
    let since = Utc.with_ymd_and_hms(2025, 3, 1, 9, 55, 0).unwrap();
    let mut req = request("Spring sale: fish & chips for two");
    req.link = Some("https://shop.example/sale".into());
    let found = s
        .connector
        .find_published(&account(now()), &req, since)
        .await
        .unwrap()
        .expect("the post is found");
    assert_eq!(found.remote_id, "1900000000000000002");

    let other = s
        .connector
        .find_published(&account(now()), &request("Never posted"), since)
        .await
        .unwrap();
    assert_eq!(other, None);
}

#[tokio::test]
async fn delete_sends_delete_2_tweets_id() {
    let s = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/2/tweets/1445880548472328192"))
        .and(header("authorization", "Bearer user-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data":{"deleted":true}})))
        .expect(1)
        .mount(&s.server)
        .await;
    s.connector
        .delete(&account(now()), "1445880548472328192")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reply_is_a_post_in_reply_to_the_given_id() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({
            "text": "Thanks!",
            "reply": { "in_reply_to_tweet_id": "1900000000000000009" }
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"data":{"id":"444","text":"Thanks!"}})),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let out = s
        .connector
        .reply(&account(now()), "1900000000000000009", "Thanks!")
        .await
        .unwrap();
    assert_eq!(out.remote_id, "444");
}

#[tokio::test]
async fn metrics_read_public_and_private_counts() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/2/tweets/1445880548472328192"))
        .and(query_param(
            "tweet.fields",
            "public_metrics,non_public_metrics,organic_metrics",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("post_metrics.json")))
        .mount(&s.server)
        .await;
    let m = s
        .connector
        .metrics(&account(now()), "1445880548472328192")
        .await
        .unwrap();
    assert_eq!(m.impressions, Some(950));
    assert_eq!(m.likes, Some(40));
    assert_eq!(m.comments, Some(2));
    assert_eq!(m.shares, Some(4));
    assert_eq!(m.saves, Some(5));
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_refreshed_and_the_new_refresh_token_kept() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        // base64("client-1:secret-1")
        .and(header("authorization", "Basic Y2xpZW50LTE6c2VjcmV0LTE="))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=old-refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("token_refresh.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    let soon = account(now() + chrono::Duration::minutes(3));
    let creds = s
        .connector
        .refresh_credentials(&soon, now())
        .await
        .unwrap()
        .expect("refreshed");
    assert_eq!(creds["access_token"], "new-access");
    assert_eq!(creds["refresh_token"], "new-refresh");
    assert_eq!(creds["user_id"], "2244994945");
    assert_eq!(
        creds["expires_at"],
        (now() + chrono::Duration::hours(2)).to_rfc3339()
    );

    // An hour left: nothing to do, no request made (the mock above expects exactly one).
    let later = account(now() + chrono::Duration::hours(1));
    assert_eq!(
        s.connector
            .refresh_credentials(&later, now())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_account_for_reconnection() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid."
        })))
        .mount(&s.server)
        .await;
    let e = s
        .connector
        .refresh_credentials(&account(now()), now())
        .await
        .unwrap_err();
    // X answers a bad refresh token with invalid_request, not invalid_grant.
    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert!(e.message.contains("Value passed for the token was invalid"));
}

#[tokio::test]
async fn a_video_larger_than_one_chunk_is_read_and_appended_one_chunk_at_a_time() {
    let s = setup().await;
    const MB: usize = 1024 * 1024;
    // 9 MB: two 4 MB segments and a 1 MB tail, each with its own bytes.
    let bytes: Vec<u8> = (0..9 * MB).map(|i| (i / MB) as u8).collect();
    s.blobs
        .put("ws/media/v2/x", bytes.clone(), "video/mp4")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/2/media/upload/initialize"))
        .and(body_json(json!({
            "media_type": "video/mp4",
            "total_bytes": 9 * MB,
            "media_category": "tweet_video",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("media_initialize.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/append"))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/finalize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("media_finalize_image.json")),
        )
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("create_post.json")))
        .mount(&s.server)
        .await;
    let mut req = request("A long video");
    req.media
        .push(media("ws/media/v2/x", "video/mp4", 9 * MB as u64));
    s.connector
        .publish(&account(now()), &req, &Steps::default())
        .await
        .unwrap();

    assert!(
        s.blobs.whole_reads.lock().unwrap().is_empty(),
        "the video was never loaded whole"
    );
    assert_eq!(
        *s.blobs.range_reads.lock().unwrap(),
        vec![(0, 4 * MB), (4 * MB, 8 * MB), (8 * MB, 9 * MB)]
    );
    let appends: Vec<_> = s
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/append"))
        .collect();
    for (index, append) in appends.iter().enumerate() {
        let body = &append.body;
        assert!(
            String::from_utf8_lossy(&body[..body.len().min(4096)])
                .contains(&format!("\r\n\r\n{index}\r\n")),
            "segment {index} carries its index"
        );
        let len = if index == 2 { MB } else { 4 * MB };
        let marker = vec![index as u8 * 4; len.min(MB)];
        assert!(
            body.windows(marker.len()).any(|w| w == marker.as_slice()),
            "segment {index} carries its own bytes"
        );
    }
}
