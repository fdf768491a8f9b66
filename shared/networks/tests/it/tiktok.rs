//! Contract tests of the TikTok connector against a local double of the Content Posting API,
//! built from TikTok's documentation (fixtures under tests/fixtures/tiktok cite the pages).

use crate::support;

use chrono::{DateTime, Duration};
use herald_adapters::ManualClock;
use herald_networks::tiktok::{
    ChunkPlan, TiktokConnector, Visibility, chunk_plan, chunk_ranges, map_error,
};
use herald_ports::{
    AccountContext, Connector, MediaRef, NetworkErrorKind, NoCheckpoint, PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{
    MemoryBlobs, Steps, account_named, base_url, merged, no_wait_polling, oauth_app, presigned,
    raw_fixture, received, start,
};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "act.token";
const PUBLISH_ID: &str = "v_pub_file~v2-1.7390000000000000001";

fn fixture(name: &str) -> Value {
    raw_fixture("tiktok", &format!("{name}.json"))
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

fn connector(server: &MockServer, visibility: Visibility, video: &[u8]) -> TiktokConnector {
    connector_reading(server, visibility, video).0
}

/// The connector and the blob store it reads the video from.
fn connector_reading(
    server: &MockServer,
    visibility: Visibility,
    video: &[u8],
) -> (TiktokConnector, Arc<MemoryBlobs>) {
    let clock = Arc::new(ManualClock::new(start()));
    // The bytes the connector uploads.
    let blobs = Arc::new(MemoryBlobs::with(
        "ws/media/video",
        video.to_vec(),
        "video/mp4",
    ));
    let app = oauth_app("client-key", "client-secret", "tiktok");
    let tt = TiktokConnector::new(
        reqwest::Client::new(),
        base_url(server, ""),
        blobs.clone(),
        clock,
        Some(app),
        visibility,
    )
    .with_polling(no_wait_polling());
    (tt, blobs)
}

fn account(extra: Value) -> AccountContext {
    let credentials = json!({ "access_token": TOKEN, "refresh_token": "rft.old" });
    account_named("@herald", merged(credentials, extra))
}

fn video(bytes: u64) -> MediaRef {
    MediaRef {
        width: Some(1080),
        height: Some(1920),
        duration_seconds: Some(30.0),
        ..support::media(
            "ws/media/video",
            "video/mp4",
            bytes,
            "https://media.example/presigned/video".into(),
        )
    }
}

fn photo(n: u32) -> MediaRef {
    MediaRef {
        bytes: 200_000,
        ..presigned("image/jpeg", n)
    }
}

fn request(text: &str, media: Vec<MediaRef>) -> PublishRequest {
    PublishRequest {
        media,
        ..support::request("tgt_1", text)
    }
}

/// The API's JSON endpoints, each asserting the bearer token and TikTok's content type.
fn api(verb: &str, p: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json; charset=UTF-8"))
}

async fn video_flow(server: &MockServer, status_fixture: &str) {
    api("POST", "/v2/post/publish/creator_info/query/")
        .respond_with(ok("creator_info"))
        .expect(1)
        .mount(server)
        .await;
    let mut init = fixture("video_init");
    init["data"]["upload_url"] = json!(format!("{}/upload/?upload_id=67890", server.uri()));
    api("POST", "/v2/post/publish/video/init/")
        .respond_with(ResponseTemplate::new(200).set_body_json(init))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/"))
        .and(query_param("upload_id", "67890"))
        .respond_with(ResponseTemplate::new(201))
        .mount(server)
        .await;
    api("POST", "/v2/post/publish/status/fetch/")
        .respond_with(ok(status_fixture))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_video_asks_creator_info_then_inits_uploads_and_polls_until_complete() {
    let server = MockServer::start().await;
    video_flow(&server, "status_complete").await;
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let (tt, blobs) = connector_reading(&server, Visibility::Widest, &bytes);
    let cp = Steps::default();

    let published = tt
        .publish(
            &account(json!({})),
            &request("Behind the scenes #herald", vec![video(4096)]),
            &cp,
        )
        .await
        .unwrap();

    assert_eq!(published.remote_id, "7390000000000012345");
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.tiktok.com/@herald/video/7390000000000012345")
    );
    let init: Value = serde_json::from_slice(
        &received(&server, "POST", "/v2/post/publish/video/init/").await[0].body,
    )
    .unwrap();
    assert_eq!(init["post_info"]["title"], "Behind the scenes #herald");
    assert_eq!(init["post_info"]["privacy_level"], "PUBLIC_TO_EVERYONE");
    assert_eq!(
        init["source_info"],
        json!({"source": "FILE_UPLOAD", "video_size": 4096, "chunk_size": 4096, "total_chunk_count": 1})
    );
    let put = &received(&server, "PUT", "/upload/").await[0];
    assert_eq!(put.body, bytes);
    assert_eq!(put.headers["content-range"], "bytes 0-4095/4096");
    // Read by its chunk's range, never loaded whole.
    assert!(blobs.whole_reads.lock().unwrap().is_empty());
    assert_eq!(*blobs.range_reads.lock().unwrap(), vec![(0, 4096)]);
    assert_eq!(put.headers["content-type"], "video/mp4");
    let status: Value = serde_json::from_slice(
        &received(&server, "POST", "/v2/post/publish/status/fetch/").await[0].body,
    )
    .unwrap();
    assert_eq!(status, json!({ "publish_id": PUBLISH_ID }));
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![
            ("publish_id".to_owned(), PUBLISH_ID.to_owned()),
            ("uploaded".to_owned(), PUBLISH_ID.to_owned())
        ]
    );
}

#[tokio::test]
async fn an_unaudited_app_posts_private_and_the_post_has_no_public_page() {
    let server = MockServer::start().await;
    video_flow(&server, "status_complete_private").await;
    let tt = connector(&server, Visibility::PrivateOnly, &[7u8; 1000]);

    let published = tt
        .publish(
            &account(json!({})),
            &request("Private", vec![video(1000)]),
            &NoCheckpoint,
        )
        .await
        .unwrap();

    let init: Value = serde_json::from_slice(
        &received(&server, "POST", "/v2/post/publish/video/init/").await[0].body,
    )
    .unwrap();
    assert_eq!(init["post_info"]["privacy_level"], "SELF_ONLY");
    assert!(tt.is_private_only());
    assert_eq!(published.remote_id, PUBLISH_ID);
    assert_eq!(published.url, None);
}

#[tokio::test]
async fn tiktoks_refusal_of_an_unaudited_app_tells_the_user_what_to_do() {
    let server = MockServer::start().await;
    api("POST", "/v2/post/publish/creator_info/query/")
        .respond_with(ok("creator_info"))
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/video/init/")
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_unaudited")))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::PrivateOnly, &[1u8; 100]);

    let e = tt
        .publish(
            &account(json!({})),
            &request("x", vec![video(100)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(
        e.code.as_deref(),
        Some("unaudited_client_can_only_post_to_private_accounts")
    );
    assert!(
        e.message.contains("set the TikTok account to private"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_failed_post_is_permanent_with_tiktoks_reason() {
    let server = MockServer::start().await;
    video_flow(&server, "status_failed").await;
    let tt = connector(&server, Visibility::Widest, &[1u8; 100]);

    let e = tt
        .publish(
            &account(json!({})),
            &request("x", vec![video(100)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(e.code.as_deref(), Some("frame_rate_check_failed"));
}

#[tokio::test]
async fn a_resumed_publish_after_the_upload_only_polls() {
    let server = MockServer::start().await;
    api("POST", "/v2/post/publish/creator_info/query/")
        .respond_with(ok("creator_info"))
        .expect(0)
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/video/init/")
        .respond_with(ok("video_init"))
        .expect(0)
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/status/fetch/")
        .and(body_string_contains(PUBLISH_ID))
        .respond_with(ok("status_complete"))
        .expect(1)
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[1u8; 100]);
    let mut req = request("x", vec![video(100)]);
    req.progress.insert("publish_id".into(), PUBLISH_ID.into());
    req.progress.insert("uploaded".into(), PUBLISH_ID.into());

    let published = tt
        .publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    assert_eq!(published.remote_id, "7390000000000012345");
}

#[tokio::test]
async fn an_interrupted_upload_starts_over_with_a_new_init() {
    let server = MockServer::start().await;
    api("POST", "/v2/post/publish/status/fetch/")
        .respond_with(ok("status_processing"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    video_flow(&server, "status_complete").await;
    let tt = connector(&server, Visibility::Widest, &[1u8; 100]);
    let mut req = request("x", vec![video(100)]);
    req.progress
        .insert("publish_id".into(), "v_pub_file~old".into());

    tt.publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    assert_eq!(
        received(&server, "POST", "/v2/post/publish/video/init/")
            .await
            .len(),
        1
    );
    assert_eq!(received(&server, "PUT", "/upload/").await.len(), 1);
}

#[tokio::test]
async fn photos_are_posted_by_url_as_a_photo_post() {
    let server = MockServer::start().await;
    api("POST", "/v2/post/publish/creator_info/query/")
        .respond_with(ok("creator_info"))
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/content/init/")
        .respond_with(ok("photo_init"))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/status/fetch/")
        .respond_with(ok("status_complete"))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);
    let mut req = request("Two stills", vec![photo(1), photo(2)]);
    req.title = Some("Stills".into());

    let published = tt
        .publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    let body: Value = serde_json::from_slice(
        &received(&server, "POST", "/v2/post/publish/content/init/").await[0].body,
    )
    .unwrap();
    assert_eq!(body["media_type"], "PHOTO");
    assert_eq!(body["post_mode"], "DIRECT_POST");
    assert_eq!(body["source_info"]["source"], "PULL_FROM_URL");
    assert_eq!(
        body["source_info"]["photo_images"],
        json!([
            "https://media.example/presigned/1",
            "https://media.example/presigned/2"
        ])
    );
    assert_eq!(body["post_info"]["title"], "Stills");
    assert_eq!(body["post_info"]["description"], "Two stills");
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.tiktok.com/@herald/photo/7390000000000012345")
    );
}

#[tokio::test]
async fn errors_are_classified_from_tiktoks_codes() {
    let cases = [
        (429, "error_rate_limit", "rate"),
        (401, "error_token_invalid", "unauthorized"),
        (403, "error_spam", "rate"),
        (500, "error_internal", "transient"),
    ];
    for (status, name, expected) in cases {
        let server = MockServer::start().await;
        api("POST", "/v2/post/publish/creator_info/query/")
            .respond_with(ResponseTemplate::new(status).set_body_json(fixture(name)))
            .mount(&server)
            .await;
        let tt = connector(&server, Visibility::Widest, &[1u8; 10]);

        let e = tt
            .publish(
                &account(json!({})),
                &request("x", vec![video(10)]),
                &NoCheckpoint,
            )
            .await
            .unwrap_err();

        let kind = match e.kind {
            NetworkErrorKind::RateLimited { .. } => "rate",
            NetworkErrorKind::Unauthorized => "unauthorized",
            NetworkErrorKind::Transient => "transient",
            _ => "other",
        };
        assert_eq!(kind, expected, "{name}: {e:?}");
        let log_id = fixture(name)["error"]["log_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(e.message.contains(&log_id), "{}", e.message);
    }
}

#[test]
fn a_rate_limit_without_a_header_comes_back_the_next_minute_and_with_one_when_it_says() {
    let body = fixture("error_rate_limit").to_string();
    let mut headers = reqwest::header::HeaderMap::new();

    let plain = map_error(429, &headers, &body, start());
    headers.insert("retry-after", "42".parse().unwrap());
    let told = map_error(429, &headers, &body, start());

    assert_eq!(
        plain.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(start() + Duration::minutes(1))
        }
    );
    assert_eq!(
        told.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(start() + Duration::seconds(42))
        }
    );
}

#[test]
fn chunks_follow_the_media_transfer_guide() {
    // Under 5 MB, and anything up to 64 MB: one chunk, the whole file.
    assert_eq!(
        chunk_plan(3_000_000),
        ChunkPlan {
            chunk_size: 3_000_000,
            total_chunk_count: 1
        }
    );
    assert_eq!(chunk_plan(64_000_000).total_chunk_count, 1);
    // The guide's own example size, above 64 MB: 10 MB chunks, the trailing bytes merged
    // into the last one.
    let size = 150_000_123;
    let plan = chunk_plan(size);
    assert_eq!(plan.total_chunk_count, size / plan.chunk_size);
    let ranges = chunk_ranges(size, plan);
    assert_eq!(ranges.len() as u64, plan.total_chunk_count);
    assert_eq!(ranges[0], (0, plan.chunk_size - 1));
    assert_eq!(ranges.last().unwrap().1, size - 1);
    for pair in ranges.windows(2) {
        assert_eq!(pair[1].0, pair[0].1 + 1);
    }
    // Every chunk 5–64 MB, the last at most 128 MB, at most 1,000 chunks, even at 4 GB.
    for size in [64_000_001u64, 150_000_123, 4 * 1024 * 1024 * 1024] {
        let plan = chunk_plan(size);
        let ranges = chunk_ranges(size, plan);
        assert!(ranges.len() <= 1000);
        for (i, (s, e)) in ranges.iter().enumerate() {
            let len = e - s + 1;
            assert!(len >= 5_000_000, "{size}: chunk {i} is {len}");
            let cap = if i + 1 == ranges.len() {
                128_000_000
            } else {
                64_000_000
            };
            assert!(len <= cap, "{size}: chunk {i} is {len}");
        }
    }
}

#[tokio::test]
async fn the_lookup_matches_the_caption_in_the_video_list() {
    let server = MockServer::start().await;
    api("POST", "/v2/video/list/")
        .and(query_param(
            "fields",
            "id,title,video_description,create_time,share_url",
        ))
        .respond_with(ok("video_list"))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);

    let found = tt
        .find_published(
            &account(json!({})),
            &request("Behind the scenes #herald", vec![video(1)]),
            start(),
        )
        .await
        .unwrap()
        .expect("found");
    let none = tt
        .find_published(
            &account(json!({})),
            &request("Not posted", vec![video(1)]),
            start(),
        )
        .await
        .unwrap();

    assert_eq!(found.remote_id, "7390000000000012345");
    assert_eq!(none, None);
    let body: Value =
        serde_json::from_slice(&received(&server, "POST", "/v2/video/list/").await[0].body)
            .unwrap();
    assert_eq!(body["max_count"], 20);
}

#[tokio::test]
async fn metrics_come_from_the_video_query() {
    let server = MockServer::start().await;
    api("POST", "/v2/video/query/")
        .and(query_param(
            "fields",
            "id,like_count,comment_count,share_count,view_count",
        ))
        .respond_with(ok("video_query"))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);

    let m = tt
        .metrics(&account(json!({})), "7390000000000012345")
        .await
        .unwrap();

    let body: Value =
        serde_json::from_slice(&received(&server, "POST", "/v2/video/query/").await[0].body)
            .unwrap();
    assert_eq!(
        body,
        json!({"filters": {"video_ids": ["7390000000000012345"]}})
    );
    assert_eq!(m.likes, Some(250));
    assert_eq!(m.comments, Some(12));
    assert_eq!(m.shares, Some(8));
    assert_eq!(m.video_views, Some(9000));
}

#[tokio::test]
async fn a_refresh_replaces_the_refresh_token_because_tiktok_rotates_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rft.old"))
        .and(body_string_contains("client_key=client-key"))
        .and(body_string_contains("client_secret=client-secret"))
        .respond_with(ok("refresh"))
        .expect(1)
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);
    let soon = (start() + Duration::minutes(10)).to_rfc3339();
    let later = (start() + Duration::hours(12)).to_rfc3339();

    let renewed = tt
        .refresh_credentials(&account(json!({ "expires_at": soon })), start())
        .await
        .unwrap()
        .expect("renewed");
    let untouched = tt
        .refresh_credentials(&account(json!({ "expires_at": later })), start())
        .await
        .unwrap();

    assert_eq!(renewed["access_token"], "act.new");
    assert_eq!(renewed["refresh_token"], "rft.new");
    assert_eq!(renewed["open_id"], "open-1");
    let expires = DateTime::parse_from_rfc3339(renewed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires, start() + Duration::hours(24));
    let refresh_expires =
        DateTime::parse_from_rfc3339(renewed["refresh_expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(refresh_expires, start() + Duration::seconds(31_536_000));
    assert_eq!(untouched, None);
}

#[tokio::test]
async fn a_revoked_refresh_token_means_the_account_must_reconnect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("refresh_revoked")))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);

    let e = tt
        .refresh_credentials(
            &account(json!({ "expires_at": start().to_rfc3339() })),
            start(),
        )
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert!(
        e.message.contains("Refresh token is invalid"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn text_only_posts_and_deletes_are_refused_without_calling_tiktok() {
    let server = MockServer::start().await;
    let tt = connector(&server, Visibility::Widest, &[]);

    let text_only = tt
        .publish(
            &account(json!({})),
            &request("words", vec![]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();
    let delete = tt.delete(&account(json!({})), "739").await.unwrap_err();

    assert_eq!(text_only.kind, NetworkErrorKind::Permanent);
    assert!(text_only.message.contains("needs an image or a video"));
    assert_eq!(delete.kind, NetworkErrorKind::Permanent);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_server_error_on_a_photo_init_is_uncertain_because_tiktok_may_already_pull_it() {
    let server = MockServer::start().await;
    api("POST", "/v2/post/publish/creator_info/query/")
        .respond_with(ok("creator_info"))
        .mount(&server)
        .await;
    api("POST", "/v2/post/publish/content/init/")
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_internal")))
        .mount(&server)
        .await;
    let tt = connector(&server, Visibility::Widest, &[]);

    let e = tt
        .publish(
            &account(json!({})),
            &request("Stills", vec![photo(1)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Uncertain);
    assert_eq!(e.code.as_deref(), Some("internal_error"));
}
