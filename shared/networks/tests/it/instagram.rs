//! Contract tests of the Instagram connector against a local double of the Instagram Graph
//! API, built from Meta's documentation (fixtures under tests/fixtures/instagram cite pages).

use crate::support;

use chrono::{DateTime, Duration};
use herald_adapters::ManualClock;
use herald_networks::instagram::{InstagramConnector, validate};
use herald_ports::{
    AccountContext, Connector, MediaRef, NetworkErrorKind, NoCheckpoint, PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{
    Steps, account_named, base_url, merged, no_wait_polling, oauth_app, posted_forms, presigned,
    raw_fixture, start,
};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "17841405822304914";
const TOKEN: &str = "IGQtoken";
const CONTAINER: &str = "17889455560051444";
const MEDIA: &str = "17920238422030506";

fn fixture(name: &str) -> Value {
    raw_fixture("instagram", &format!("{name}.json"))
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

fn connector(server: &MockServer) -> InstagramConnector {
    let clock = Arc::new(ManualClock::new(start()));
    let app = oauth_app("ig-app", "ig-secret", "instagram");
    InstagramConnector::new(
        reqwest::Client::new(),
        base_url(server, "v24.0/"),
        clock,
        Some(app),
    )
    .with_polling(no_wait_polling())
}

fn account(extra: Value) -> AccountContext {
    let credentials = json!({ "access_token": TOKEN, "user_id": USER });
    account_named("herald", merged(credentials, extra))
}

fn media(content_type: &str, n: u32) -> MediaRef {
    MediaRef {
        height: Some(1350),
        duration_seconds: content_type.starts_with("video/").then_some(20.0),
        ..presigned(content_type, n)
    }
}

fn request(text: &str, media: Vec<MediaRef>) -> PublishRequest {
    PublishRequest {
        media,
        ..support::request("tgt_1", text)
    }
}

async fn quota(server: &MockServer, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{USER}/content_publishing_limit")))
        .and(query_param("fields", "quota_usage,config"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok(name))
        .mount(server)
        .await;
}

async fn status(server: &MockServer, container: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{container}")))
        .and(query_param("fields", "status_code,status"))
        .respond_with(ok(name))
        .mount(server)
        .await;
}

async fn publish_answers(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media_publish")))
        .respond_with(response)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{MEDIA}")))
        .and(query_param("fields", "permalink"))
        .respond_with(ok("permalink"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_image_goes_through_container_status_and_media_publish() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .expect(1)
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_finished").await;
    publish_answers(&server, ok("media_publish")).await;
    let ig = connector(&server);
    let mut req = request("New drop today #spring", vec![media("image/jpeg", 1)]);
    req.link = Some("https://shop.example/spring".into());
    let cp = Steps::default();

    let published = ig.publish(&account(json!({})), &req, &cp).await.unwrap();

    assert_eq!(published.remote_id, MEDIA);
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.instagram.com/p/Cabc123/")
    );
    let c = &posted_forms(&server, &format!("/v24.0/{USER}/media")).await[0];
    assert_eq!(c["image_url"], "https://media.example/presigned/1");
    assert_eq!(
        c["caption"],
        "New drop today #spring\n\nhttps://shop.example/spring"
    );
    assert_eq!(c["access_token"], TOKEN);
    let p = &posted_forms(&server, &format!("/v24.0/{USER}/media_publish")).await[0];
    assert_eq!(p["creation_id"], CONTAINER);
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![
            ("container".to_owned(), CONTAINER.to_owned()),
            ("media".to_owned(), MEDIA.to_owned())
        ]
    );
}

#[tokio::test]
async fn a_single_video_is_a_reel_and_waits_until_the_container_is_finished() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{CONTAINER}")))
        .respond_with(ok("status_in_progress"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_finished").await;
    publish_answers(&server, ok("media_publish")).await;
    let ig = connector(&server);

    let published = ig
        .publish(
            &account(json!({})),
            &request("Reel", vec![media("video/mp4", 7)]),
            &NoCheckpoint,
        )
        .await
        .unwrap();

    assert_eq!(published.remote_id, MEDIA);
    let c = &posted_forms(&server, &format!("/v24.0/{USER}/media")).await[0];
    assert_eq!(c["media_type"], "REELS");
    assert_eq!(c["video_url"], "https://media.example/presigned/7");
    assert!(!c.contains_key("image_url"));
}

#[tokio::test]
async fn a_carousel_creates_item_containers_then_one_carousel_container() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .and(wiremock::matchers::body_string_contains("presigned%2F1"))
        .respond_with(ok("child_1"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .and(wiremock::matchers::body_string_contains("presigned%2F2"))
        .respond_with(ok("child_2"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .and(wiremock::matchers::body_string_contains("CAROUSEL"))
        .respond_with(ok("carousel_container"))
        .mount(&server)
        .await;
    status(&server, "17800000000000002", "status_finished").await;
    status(&server, "17899999999999999", "status_finished").await;
    publish_answers(&server, ok("media_publish")).await;
    let ig = connector(&server);
    let cp = Steps::default();

    ig.publish(
        &account(json!({})),
        &request(
            "Two looks",
            vec![media("image/jpeg", 1), media("video/mp4", 2)],
        ),
        &cp,
    )
    .await
    .unwrap();

    let creates = posted_forms(&server, &format!("/v24.0/{USER}/media")).await;
    assert_eq!(creates.len(), 3);
    assert_eq!(creates[0]["is_carousel_item"], "true");
    assert_eq!(creates[1]["is_carousel_item"], "true");
    assert_eq!(creates[1]["media_type"], "VIDEO");
    assert_eq!(creates[2]["media_type"], "CAROUSEL");
    assert_eq!(
        creates[2]["children"],
        "17800000000000001,17800000000000002"
    );
    assert_eq!(creates[2]["caption"], "Two looks");
    let steps: Vec<String> = cp.0.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    assert_eq!(steps, vec!["child:0", "child:1", "container", "media"]);
}

#[tokio::test]
async fn a_resumed_publish_reuses_the_recorded_container_instead_of_creating_one() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .expect(0)
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_finished").await;
    publish_answers(&server, ok("media_publish")).await;
    let ig = connector(&server);
    let mut req = request("Again", vec![media("image/jpeg", 1)]);
    req.progress.insert("container".into(), CONTAINER.into());

    let published = ig
        .publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    assert_eq!(published.remote_id, MEDIA);
    let p = &posted_forms(&server, &format!("/v24.0/{USER}/media_publish")).await[0];
    assert_eq!(p["creation_id"], CONTAINER);
}

#[tokio::test]
async fn a_used_up_publishing_quota_is_rate_limited_before_any_container() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_used_up").await;
    Mock::given(method("POST"))
        .respond_with(ok("container"))
        .expect(0)
        .mount(&server)
        .await;
    let ig = connector(&server);

    let e = ig
        .publish(
            &account(json!({})),
            &request("Over", vec![media("image/jpeg", 1)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(start() + Duration::hours(1))
        }
    );
    assert!(e.message.contains("50 of 50"), "{}", e.message);
}

#[tokio::test]
async fn a_container_in_error_is_permanent_with_its_status() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_error").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media_publish")))
        .respond_with(ok("media_publish"))
        .expect(0)
        .mount(&server)
        .await;
    let ig = connector(&server);

    let e = ig
        .publish(
            &account(json!({})),
            &request("Broken", vec![media("image/jpeg", 1)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(e.message.contains("2207026"), "{}", e.message);
}

#[tokio::test]
async fn an_error_after_the_post_may_be_live_is_uncertain_never_retryable() {
    for (response, expected) in [
        (
            ResponseTemplate::new(400).set_body_json(fixture("error_published_anyway")),
            NetworkErrorKind::Uncertain,
        ),
        (
            ResponseTemplate::new(500).set_body_string("upstream hiccup"),
            NetworkErrorKind::Uncertain,
        ),
        (
            ResponseTemplate::new(400).set_body_json(fixture("error_not_ready")),
            NetworkErrorKind::Transient,
        ),
        (
            ResponseTemplate::new(400).set_body_json(fixture("error_token_revoked")),
            NetworkErrorKind::Unauthorized,
        ),
    ] {
        let server = MockServer::start().await;
        quota(&server, "publishing_limit_ok").await;
        Mock::given(method("POST"))
            .and(path(format!("/v24.0/{USER}/media")))
            .respond_with(ok("container"))
            .mount(&server)
            .await;
        status(&server, CONTAINER, "status_finished").await;
        publish_answers(&server, response).await;
        let ig = connector(&server);

        let e = ig
            .publish(
                &account(json!({})),
                &request("Maybe", vec![media("image/jpeg", 1)]),
                &NoCheckpoint,
            )
            .await
            .unwrap_err();

        assert_eq!(e.kind, expected, "{e:?}");
    }
}

#[tokio::test]
async fn the_2207051_answer_keeps_its_code_and_instagrams_message() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_finished").await;
    publish_answers(
        &server,
        ResponseTemplate::new(400).set_body_json(fixture("error_published_anyway")),
    )
    .await;
    let ig = connector(&server);

    let e = ig
        .publish(
            &account(json!({})),
            &request("Maybe", vec![media("image/jpeg", 1)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert_eq!(e.code.as_deref(), Some("2207051"));
    assert!(
        e.message.contains("restrict certain activity"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn an_app_rate_limit_is_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{USER}/content_publishing_limit")))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_app_rate_limit")))
        .mount(&server)
        .await;
    let ig = connector(&server);

    let e = ig
        .publish(
            &account(json!({})),
            &request("Busy", vec![media("image/jpeg", 1)]),
            &NoCheckpoint,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(e.kind, NetworkErrorKind::RateLimited { .. }),
        "{e:?}"
    );
}

#[test]
fn captions_breaking_instagrams_rules_are_refused() {
    let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
    let mentions: String = (0..21).map(|i| format!("@u{i} ")).collect();
    let cases = [
        (request(&tags, vec![media("image/jpeg", 1)]), "hashtags"),
        (request(&mentions, vec![media("image/jpeg", 1)]), "mentions"),
        (request("png", vec![media("image/png", 1)]), "image/png"),
        (request("nothing to show", vec![]), "needs an image"),
        (
            // A 9:16 story-shaped photo is taller than the feed's 4:5.
            request(
                "too tall",
                vec![MediaRef {
                    height: Some(1920),
                    ..media("image/jpeg", 1)
                }],
            ),
            "1080×1920, the accepted aspect ratios are 4:5 to 1.91:1",
        ),
        (
            request(&"a".repeat(2_201), vec![media("image/jpeg", 1)]),
            "2201 characters",
        ),
        (
            // Six images and five videos pass the per-kind counts but not the carousel's 10.
            request(
                "many",
                (0..11)
                    .map(|i| media(if i < 6 { "image/jpeg" } else { "video/mp4" }, i))
                    .collect(),
            ),
            "carousel",
        ),
    ];
    for (req, expected) in cases {
        let e = validate(&req).unwrap_err();
        assert_eq!(e.kind, NetworkErrorKind::Permanent);
        assert!(e.message.contains(expected), "{expected}: {}", e.message);
    }
    assert!(validate(&request("fine #one @two", vec![media("image/jpeg", 1)])).is_ok());
}

#[tokio::test]
async fn the_first_comment_goes_under_the_published_media() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{USER}/media")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    status(&server, CONTAINER, "status_finished").await;
    publish_answers(&server, ok("media_publish")).await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{MEDIA}/comments")))
        .respond_with(ok("comment"))
        .expect(1)
        .mount(&server)
        .await;
    let ig = connector(&server);
    let mut req = request("Look", vec![media("image/jpeg", 1)]);
    req.first_comment = Some("#more #tags".into());
    let cp = Steps::default();

    ig.publish(&account(json!({})), &req, &cp).await.unwrap();

    let c = &posted_forms(&server, &format!("/v24.0/{MEDIA}/comments")).await[0];
    assert_eq!(c["message"], "#more #tags");
    assert_eq!(
        cp.0.lock().unwrap().last().cloned(),
        Some(("first_comment".to_owned(), "17870913679156914".to_owned()))
    );
}

#[tokio::test]
async fn the_lookup_matches_the_caption_among_recent_media() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{USER}/media")))
        .and(query_param("fields", "id,caption,timestamp,permalink"))
        .respond_with(ok("user_media"))
        .mount(&server)
        .await;
    let ig = connector(&server);
    let mut req = request("New drop today  #spring", vec![media("image/jpeg", 1)]);
    req.link = Some("https://shop.example/spring".into());
    let mut old = request("Old", vec![media("image/jpeg", 1)]);
    old.link = None;

    let found = ig
        .find_published(&account(json!({})), &req, start())
        .await
        .unwrap()
        .expect("found");
    // The only post with this caption is older than `since`: not this attempt's.
    let stale = ig
        .find_published(&account(json!({})), &old, start())
        .await
        .unwrap();

    assert_eq!(found.remote_id, "17900000000000002");
    assert_eq!(
        found.url.as_deref(),
        Some("https://www.instagram.com/p/C2/")
    );
    assert_eq!(stale, None);
}

#[tokio::test]
async fn metrics_read_the_media_insights() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{MEDIA}/insights")))
        .and(query_param(
            "metric",
            "reach,likes,comments,shares,saved,views",
        ))
        .respond_with(ok("insights"))
        .mount(&server)
        .await;
    let ig = connector(&server);

    let m = ig.metrics(&account(json!({})), MEDIA).await.unwrap();

    assert_eq!(m.reach, Some(800));
    assert_eq!(m.likes, Some(120));
    assert_eq!(m.comments, Some(14));
    assert_eq!(m.shares, Some(9));
    assert_eq!(m.saves, Some(31));
    assert_eq!(m.impressions, Some(2000));
}

#[tokio::test]
async fn a_reply_to_a_comment_uses_the_replies_edge() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v24.0/17858893269000001/replies"))
        .respond_with(ok("comment"))
        .expect(1)
        .mount(&server)
        .await;
    let ig = connector(&server);

    let r = ig
        .reply(&account(json!({})), "17858893269000001", "Thank you!")
        .await
        .unwrap();

    assert_eq!(r.remote_id, "17870913679156914");
    let body = &posted_forms(&server, "/v24.0/17858893269000001/replies").await[0];
    assert_eq!(body["message"], "Thank you!");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_with_ig_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok("refresh"))
        .expect(1)
        .mount(&server)
        .await;
    let ig = connector(&server);
    let soon = (start() + Duration::days(3)).to_rfc3339();

    let renewed = ig
        .refresh_credentials(&account(json!({ "expires_at": soon })), start())
        .await
        .unwrap()
        .expect("renewed");
    let fresh = ig
        .refresh_credentials(
            &account(json!({ "expires_at": (start() + Duration::days(50)).to_rfc3339() })),
            start(),
        )
        .await
        .unwrap();

    assert_eq!(renewed["access_token"], "IGQnew");
    assert_eq!(renewed["user_id"], USER);
    let expires = DateTime::parse_from_rfc3339(renewed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires, start() + Duration::seconds(5_183_944));
    assert_eq!(fresh, None);
}

#[tokio::test]
async fn a_resumed_container_that_is_already_published_is_uncertain_and_not_published_again() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    status(&server, CONTAINER, "status_published").await;
    Mock::given(method("POST"))
        .respond_with(ok("media_publish"))
        .expect(0)
        .mount(&server)
        .await;
    let ig = connector(&server);
    let mut req = request("Crashed after publishing", vec![media("image/jpeg", 1)]);
    req.progress.insert("container".into(), CONTAINER.into());

    let e = ig
        .publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Uncertain);
    assert!(e.message.contains("already published"), "{}", e.message);
}
