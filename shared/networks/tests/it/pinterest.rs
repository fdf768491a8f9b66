//! Contract tests for the Pinterest connector against a local double built from the Pinterest
//! API v5 docs. Fixtures: tests/fixtures/pinterest/*.json, each citing its doc page in `_doc`.

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::pinterest::PinterestConnector;
use herald_ports::{
    AccountContext, BlobStore, Connector, MediaRef, NetworkError, NetworkErrorKind, NoCheckpoint,
    PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{Steps, account_named, base_url, fixture_for, oauth_app};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str, server: &MockServer) -> Value {
    fixture_for("pinterest", name, server)
}

fn now() -> DateTime<Utc> {
    support::start()
}

type Setup = support::Double<PinterestConnector>;

async fn setup() -> Setup {
    support::double(|server, blobs| {
        PinterestConnector::new(
            herald_networks::http::client(),
            blobs,
            Arc::new(ManualClock::new(now())),
            oauth_app("pin-client", "pin-secret", "pinterest"),
        )
        .with_base(base_url(server, ""))
        .with_poll_pause(Duration::ZERO)
    })
    .await
}

fn account() -> AccountContext {
    account_named(
        "herald",
        json!({
            "access_token": "pina_token",
            "refresh_token": "pinr_refresh",
            "expires_at": (now() + chrono::Duration::days(20)).to_rfc3339(),
            "board_id": "549755885175",
        }),
    )
}

fn media(key: &str, content_type: &str) -> MediaRef {
    let url = format!("https://blobs.example/{key}?signature=abc");
    support::media(key, content_type, 100, url)
}

fn request() -> PublishRequest {
    PublishRequest {
        title: Some("Spring sale".into()),
        link: Some("https://herald.example/spring".into()),
        media: vec![media("ws/media/p1/pin", "image/jpeg")],
        ..support::request("tgt_1", "Fish & chips for two, all week")
    }
}

#[tokio::test]
async fn an_image_pin_is_created_from_the_presigned_url_on_the_account_board() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/v5/pins"))
        .and(header("authorization", "Bearer pina_token"))
        .and(body_json(json!({
            "board_id": "549755885175",
            "title": "Spring sale",
            "description": "Fish & chips for two, all week",
            "link": "https://herald.example/spring",
            "alt_text": "Chips on a plate",
            "media_source": {
                "source_type": "image_url",
                "url": "https://blobs.example/ws/media/p1/pin?signature=abc"
            }
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("pin_created.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request();
    req.media[0].alt_text = Some("Chips on a plate".into());
    let cp = Steps::default();
    let out = s.connector.publish(&account(), &req, &cp).await.unwrap();
    assert_eq!(out.remote_id, "813744226420795884");
    assert_eq!(
        out.url.as_deref(),
        Some("https://www.pinterest.com/pin/813744226420795884/")
    );
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![("pin".to_string(), "813744226420795884".to_string())]
    );
}

#[tokio::test]
async fn several_images_make_a_multiple_image_urls_carousel() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/v5/pins"))
        .and(wiremock::matchers::body_partial_json(json!({
            "media_source": {
                "source_type": "multiple_image_urls",
                "items": [
                    { "url": "https://blobs.example/a?signature=abc" },
                    { "url": "https://blobs.example/b?signature=abc" }
                ]
            }
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("pin_created.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request();
    req.media = vec![media("a", "image/png"), media("b", "image/png")];
    s.connector
        .publish(&account(), &req, &NoCheckpoint)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_video_is_registered_uploaded_with_its_parameters_polled_then_pinned_by_media_id() {
    let s = setup().await;
    s.blobs
        .put("ws/media/v1/pin", vec![5u8; 300], "video/mp4")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/v5/media"))
        .and(header("authorization", "Bearer pina_token"))
        .and(body_json(json!({ "media_type": "video" })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("media_registered.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pinterest-media-upload"))
        .and(body_string_contains("name=\"policy\""))
        .and(body_string_contains("name=\"x-amz-signature\""))
        .and(body_string_contains("name=\"key\""))
        .and(body_string_contains("name=\"file\""))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v5/media/12345"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("media_succeeded.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v5/pins"))
        .and(wiremock::matchers::body_partial_json(json!({
            "media_source": {
                "source_type": "video_id",
                "media_id": "12345",
                "cover_image_url": "https://blobs.example/cover?signature=abc"
            }
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("pin_created.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request();
    req.media = vec![
        media("ws/media/v1/pin", "video/mp4"),
        media("cover", "image/jpeg"),
    ];
    let cp = Steps::default();
    s.connector.publish(&account(), &req, &cp).await.unwrap();
    let upload = s
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/pinterest-media-upload")
        .unwrap();
    // The storage upload carries no API token, and the file part comes after the fields.
    assert!(upload.headers.get("authorization").is_none());
    let body = String::from_utf8_lossy(&upload.body);
    assert!(body.find("name=\"policy\"").unwrap() < body.find("name=\"file\"").unwrap());
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![
            ("media".to_string(), "12345".to_string()),
            ("pin".to_string(), "813744226420795884".to_string())
        ]
    );
}

#[tokio::test]
async fn a_pin_without_media_is_refused_before_any_call() {
    let s = setup().await;
    let mut req = request();
    req.media.clear();
    let e = s
        .connector
        .publish(&account(), &req, &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(s.server.received_requests().await.unwrap().is_empty());
}

async fn publish_answered(status: u16, name: &str, headers: &[(&str, &str)]) -> NetworkError {
    let s = setup().await;
    let mut resp = ResponseTemplate::new(status).set_body_json(fixture(name, &s.server));
    for (k, v) in headers {
        resp = resp.insert_header(*k, *v);
    }
    Mock::given(method("POST"))
        .and(path("/v5/pins"))
        .respond_with(resp)
        .mount(&s.server)
        .await;
    s.connector
        .publish(&account(), &request(), &NoCheckpoint)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_429_waits_for_x_ratelimit_reset() {
    let e = publish_answered(
        429,
        "error_rate_limited.json",
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "42")],
    )
    .await;
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(now() + chrono::Duration::seconds(42))
        }
    );
    assert!(e.message.contains("exceeded your rate limit"));
}

#[tokio::test]
async fn a_401_means_reconnect_a_400_is_permanent_with_pinterest_s_message_a_5xx_transient() {
    let e = publish_answered(401, "error_unauthorized.json", &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    let e = publish_answered(400, "error_invalid.json", &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(e.code.as_deref(), Some("1"));
    assert!(e.message.contains("The link is not a valid URL"));
    let e = publish_answered(503, "error_invalid.json", &[]).await;
    assert_eq!(e.kind, NetworkErrorKind::Transient);
}

#[tokio::test]
async fn find_published_matches_description_and_title_on_the_board_since_the_attempt() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v5/boards/549755885175/pins"))
        .and(header("authorization", "Bearer pina_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("board_pins.json", &s.server)),
        )
        .mount(&s.server)
        .await;
    let since = Utc.with_ymd_and_hms(2025, 3, 1, 9, 59, 0).unwrap();
    let found = s
        .connector
        .find_published(&account(), &request(), since)
        .await
        .unwrap()
        .expect("found");
    // Not the newest pin, and not the older pin with the same text from before `since`.
    assert_eq!(found.remote_id, "900000000000000002");
    let mut other = request();
    other.text = "Never pinned".into();
    assert_eq!(
        s.connector
            .find_published(&account(), &other, since)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_sends_delete_v5_pins_id() {
    let s = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v5/pins/813744226420795884"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s.server)
        .await;
    s.connector
        .delete(&account(), "813744226420795884")
        .await
        .unwrap();
}

#[tokio::test]
async fn metrics_read_the_analytics_summary_for_the_last_90_days() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v5/pins/813744226420795884/analytics"))
        .and(query_param("start_date", "2024-12-02"))
        .and(query_param("end_date", "2025-03-01"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("pin_analytics.json", &s.server)),
        )
        .mount(&s.server)
        .await;
    let m = s
        .connector
        .metrics(&account(), "813744226420795884")
        .await
        .unwrap();
    assert_eq!(m.impressions, Some(700));
    assert_eq!(m.saves, Some(12));
    assert_eq!(m.comments, Some(3));
    assert_eq!(m.likes, Some(21));
}

#[tokio::test]
async fn a_token_expiring_within_a_day_is_refreshed_with_basic_client_auth_and_rotated() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/v5/oauth/token"))
        // base64("pin-client:pin-secret")
        .and(header(
            "authorization",
            "Basic cGluLWNsaWVudDpwaW4tc2VjcmV0",
        ))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=pinr_refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "pina_new",
            "refresh_token": "pinr_new",
            "response_type": "refresh_token",
            "token_type": "bearer",
            "expires_in": 2592000,
            "refresh_token_expires_in": 31536000,
            "scope": "boards:read,pins:read,pins:write"
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut acct = account();
    acct.credentials["expires_at"] = json!((now() + chrono::Duration::hours(2)).to_rfc3339());
    let creds = s
        .connector
        .refresh_credentials(&acct, now())
        .await
        .unwrap()
        .expect("refreshed");
    assert_eq!(creds["access_token"], "pina_new");
    assert_eq!(creds["refresh_token"], "pinr_new");
    assert_eq!(creds["board_id"], "549755885175");
}

#[tokio::test]
async fn replying_is_refused_because_the_api_has_no_comment_endpoint() {
    let s = setup().await;
    let e = s
        .connector
        .reply(&account(), "813744226420795884", "Thanks")
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
}
