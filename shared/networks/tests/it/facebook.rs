//! Contract tests of the Facebook Pages connector against a local double of the Graph API,
//! built from Meta's documentation (fixtures under tests/fixtures/facebook cite the pages).

use crate::support;

use chrono::{DateTime, Duration};
use herald_adapters::ManualClock;
use herald_domain::Platform;
use herald_networks::facebook::{FacebookConnector, LIMITS};
use herald_networks::meta::MetaApp;
use herald_ports::{
    AccountContext, Connector, MediaRef, NetworkErrorKind, NoCheckpoint, PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{
    Steps, account_named, base_url, form, merged, presigned, raw_fixture, received, start,
};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE: &str = "1234567890";
const TOKEN: &str = "EAApage";

fn fixture(name: &str) -> Value {
    raw_fixture("facebook", &format!("{name}.json"))
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

fn connector(server: &MockServer) -> (FacebookConnector, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let app = MetaApp {
        client_id: "app-id".into(),
        client_secret: "app-secret".into(),
    };
    let base = base_url(server, "v24.0/");
    let fb = FacebookConnector::new(reqwest::Client::new(), base, clock.clone(), Some(app));
    (fb, clock)
}

fn account(extra: Value) -> AccountContext {
    let credentials = json!({ "access_token": TOKEN, "page_id": PAGE });
    account_named("Herald Page", merged(credentials, extra))
}

fn media(content_type: &str, n: u32) -> MediaRef {
    MediaRef {
        duration_seconds: content_type.starts_with("video/").then_some(30.0),
        ..presigned(content_type, n)
    }
}

fn request(text: &str) -> PublishRequest {
    support::request("tgt_1", text)
}

async fn permalink(server: &MockServer, id: &str, fixture_name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{id}")))
        .and(query_param("fields", "permalink_url"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok(fixture_name))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_text_post_with_a_link_goes_to_the_page_feed_with_the_page_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ok("feed_post"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server, "1234567890_987654321", "permalink").await;
    let (fb, _) = connector(&server);
    let mut req = request("Spring sale starts now!");
    req.link = Some("https://shop.example/spring".into());
    let cp = Steps::default();

    let published = fb.publish(&account(json!({})), &req, &cp).await.unwrap();

    assert_eq!(published.remote_id, "1234567890_987654321");
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.facebook.com/1234567890/posts/987654321")
    );
    let sent = received(&server, "POST", &format!("/v24.0/{PAGE}/feed")).await;
    let f = form(&sent[0]);
    assert_eq!(f["message"], "Spring sale starts now!");
    assert_eq!(f["link"], "https://shop.example/spring");
    assert_eq!(f["access_token"], TOKEN);
    assert_eq!(
        cp.recorded(),
        vec![("post".to_owned(), "1234567890_987654321".to_owned())]
    );
}

#[tokio::test]
async fn photos_are_uploaded_unpublished_then_attached_to_one_feed_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/photos")))
        .and(wiremock::matchers::body_string_contains("presigned%2F1"))
        .respond_with(ok("photo_1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/photos")))
        .and(wiremock::matchers::body_string_contains("presigned%2F2"))
        .respond_with(ok("photo_2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ok("feed_post"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server, "1234567890_987654321", "permalink").await;
    let (fb, _) = connector(&server);
    let mut req = request("Two photos");
    req.link = Some("https://shop.example".into());
    req.media = vec![media("image/jpeg", 1), media("image/png", 2)];
    let cp = Steps::default();

    fb.publish(&account(json!({})), &req, &cp).await.unwrap();

    let photos = received(&server, "POST", &format!("/v24.0/{PAGE}/photos")).await;
    for p in &photos {
        assert_eq!(form(p)["published"], "false");
    }
    let feed = form(&received(&server, "POST", &format!("/v24.0/{PAGE}/feed")).await[0]);
    let a0: Value = serde_json::from_str(&feed["attached_media[0]"]).unwrap();
    let a1: Value = serde_json::from_str(&feed["attached_media[1]"]).unwrap();
    assert_eq!(a0, json!({"media_fbid": "111"}));
    assert_eq!(a1, json!({"media_fbid": "222"}));
    // With photos the link cannot be a preview: it travels in the message.
    assert_eq!(feed["message"], "Two photos\n\nhttps://shop.example");
    assert!(!feed.contains_key("link"));
    let steps: Vec<String> = cp.recorded().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, vec!["photo:0", "photo:1", "post"]);
}

#[tokio::test]
async fn a_resumed_publish_reuses_the_photos_an_earlier_attempt_uploaded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/photos")))
        .respond_with(ok("photo_2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ok("feed_post"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server, "1234567890_987654321", "permalink").await;
    let (fb, _) = connector(&server);
    let mut req = request("Two photos");
    req.media = vec![media("image/jpeg", 1), media("image/jpeg", 2)];
    req.progress.insert("photo:0".into(), "111".into());

    fb.publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    let feed = form(&received(&server, "POST", &format!("/v24.0/{PAGE}/feed")).await[0]);
    assert_eq!(feed["attached_media[0]"], r#"{"media_fbid":"111"}"#);
    assert_eq!(feed["attached_media[1]"], r#"{"media_fbid":"222"}"#);
}

#[tokio::test]
async fn a_publish_that_already_made_its_post_only_adds_the_missing_first_comment() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ok("feed_post"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v24.0/1234567890_987654321/comments"))
        .respond_with(ok("comment"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server, "1234567890_987654321", "permalink").await;
    let (fb, _) = connector(&server);
    let mut req = request("Hello");
    req.first_comment = Some("Link in here: https://shop.example".into());
    req.progress
        .insert("post".into(), "1234567890_987654321".into());
    let cp = Steps::default();

    let published = fb.publish(&account(json!({})), &req, &cp).await.unwrap();

    assert_eq!(published.remote_id, "1234567890_987654321");
    let c = form(&received(&server, "POST", "/v24.0/1234567890_987654321/comments").await[0]);
    assert_eq!(c["message"], "Link in here: https://shop.example");
    assert_eq!(
        cp.recorded(),
        vec![("first_comment".to_owned(), "987654321_444".to_owned())]
    );
}

#[tokio::test]
async fn a_video_goes_to_the_videos_edge_with_its_url_and_description() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/videos")))
        .respond_with(ok("video"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server, "555000", "video_permalink").await;
    let (fb, _) = connector(&server);
    let mut req = request("Watch this");
    req.title = Some("Launch".into());
    req.media = vec![media("video/mp4", 9)];
    let cp = Steps::default();

    let published = fb.publish(&account(json!({})), &req, &cp).await.unwrap();

    let f = form(&received(&server, "POST", &format!("/v24.0/{PAGE}/videos")).await[0]);
    assert_eq!(f["file_url"], "https://media.example/presigned/9");
    assert_eq!(f["description"], "Watch this");
    assert_eq!(f["title"], "Launch");
    assert_eq!(published.remote_id, "555000");
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.facebook.com/1234567890/videos/555000/")
    );
    assert_eq!(cp.recorded()[0].0, "video");
}

#[tokio::test]
async fn content_over_the_limits_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let (fb, _) = connector(&server);
    let mut req = request("x");
    req.media = vec![media("image/webp", 1)];

    let e = fb
        .publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(e.message.contains("image/webp"), "{}", e.message);
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(LIMITS.max_text, 63_206);
}

#[tokio::test]
async fn an_expired_token_is_unauthorized_with_metas_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_token_expired")))
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);

    let e = fb
        .publish(&account(json!({})), &request("hi"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert!(e.message.contains("Session has expired"), "{}", e.message);
    assert_eq!(e.code.as_deref(), Some("463"));
    assert_eq!(e.status, Some(400));
}

#[tokio::test]
async fn a_page_rate_limit_comes_back_when_the_usage_header_says() {
    let server = MockServer::start().await;
    let usage = json!({ PAGE: [{
        "type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30,
        "estimated_time_to_regain_access": 17
    }]});
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("X-Business-Use-Case-Usage", usage.to_string().as_str())
                .set_body_json(fixture("error_page_rate_limit")),
        )
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);

    let e = fb
        .publish(&account(json!({})), &request("hi"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(start() + Duration::minutes(17))
        }
    );
    assert_eq!(e.code.as_deref(), Some("32"));
}

#[tokio::test]
async fn a_server_error_while_creating_the_post_is_uncertain_but_elsewhere_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_transient")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{PAGE}/posts")))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_transient")))
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);

    let create = fb
        .publish(&account(json!({})), &request("hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    let lookup = fb
        .find_published(&account(json!({})), &request("hi"), start())
        .await
        .unwrap_err();

    assert_eq!(create.kind, NetworkErrorKind::Uncertain);
    assert_eq!(lookup.kind, NetworkErrorKind::Transient);
    assert!(
        lookup.message.contains("Please retry"),
        "{}",
        lookup.message
    );
}

#[tokio::test]
async fn a_refusal_is_permanent_and_keeps_metas_words() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{PAGE}/feed")))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_refused")))
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);

    let e = fb
        .publish(&account(json!({})), &request("hi"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(e.message.contains("going too fast"), "{}", e.message);
    assert!(e.message.contains("code 368"), "{}", e.message);
}

#[tokio::test]
async fn the_lookup_matches_the_posts_message_not_the_newest_post() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{PAGE}/posts")))
        .and(query_param(
            "since",
            start().timestamp().to_string().as_str(),
        ))
        .and(query_param(
            "fields",
            "id,message,created_time,permalink_url",
        ))
        .respond_with(ok("page_posts"))
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);

    let found = fb
        .find_published(
            &account(json!({})),
            &request("Spring sale starts now!"),
            start(),
        )
        .await
        .unwrap()
        .expect("the post is found");
    let missing = fb
        .find_published(&account(json!({})), &request("Never posted"), start())
        .await
        .unwrap();

    assert_eq!(found.remote_id, "1234567890_2");
    assert_eq!(missing, None);
}

#[tokio::test]
async fn delete_reply_and_metrics_use_the_post_id() {
    let server = MockServer::start().await;
    let post = "1234567890_987654321";
    Mock::given(method("DELETE"))
        .and(path(format!("/v24.0/{post}")))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok("delete_ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v24.0/{post}/comments")))
        .respond_with(ok("comment"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{post}/insights")))
        .and(query_param(
            "metric",
            "post_media_view,post_total_media_view_unique",
        ))
        .respond_with(ok("insights"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v24.0/{post}")))
        .respond_with(ok("reactions_comments_shares"))
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);
    let acct = account(json!({}));

    fb.delete(&acct, post).await.unwrap();
    let reply = fb.reply(&acct, post, "Thanks!").await.unwrap();
    let m = fb.metrics(&acct, post).await.unwrap();

    assert_eq!(reply.remote_id, "987654321_444");
    assert_eq!(m.impressions, Some(1500));
    assert_eq!(m.reach, Some(900));
    assert_eq!(m.likes, Some(42));
    assert_eq!(m.comments, Some(7));
    assert_eq!(m.shares, Some(3));
}

#[tokio::test]
async fn a_page_token_without_expiry_is_never_refreshed() {
    let server = MockServer::start().await;
    let (fb, _) = connector(&server);

    let fresh = fb
        .refresh_credentials(&account(json!({})), start())
        .await
        .unwrap();

    assert_eq!(fresh, None);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expiring_token_is_exchanged_for_a_long_lived_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v24.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", "app-id"))
        .and(query_param("client_secret", "app-secret"))
        .and(query_param("fb_exchange_token", TOKEN))
        .respond_with(ok("token_exchange"))
        .expect(1)
        .mount(&server)
        .await;
    let (fb, _) = connector(&server);
    let soon = (start() + Duration::days(2)).to_rfc3339();
    let later = (start() + Duration::days(30)).to_rfc3339();

    let untouched = fb
        .refresh_credentials(&account(json!({ "expires_at": later })), start())
        .await
        .unwrap();
    let renewed = fb
        .refresh_credentials(&account(json!({ "expires_at": soon })), start())
        .await
        .unwrap()
        .expect("renewed");

    assert_eq!(untouched, None);
    assert_eq!(renewed["access_token"], "EAAnew");
    assert_eq!(renewed["page_id"], PAGE);
    let expires = DateTime::parse_from_rfc3339(renewed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires, start() + Duration::seconds(5_183_944));
    assert_eq!(fb.platform(), Platform::Facebook);
}

#[test]
fn metas_error_codes_map_to_herald_kinds() {
    let headers = reqwest::header::HeaderMap::new();
    let body = |code: i64, transient: bool| {
        json!({"error": {"message": "m", "type": "OAuthException", "code": code,
            "is_transient": transient, "fbtrace_id": "t"}})
        .to_string()
    };
    let cases = [
        (190, false, "unauthorized"),
        (102, false, "unauthorized"),
        (4, false, "rate"),
        (17, false, "rate"),
        (613, false, "rate"),
        (80001, false, "rate"),
        (80014, false, "rate"),
        (1, false, "transient"),
        (2, false, "transient"),
        (100, true, "transient"),
        (100, false, "permanent"),
        (506, false, "permanent"),
    ];
    for (code, transient, expected) in cases {
        let e = herald_networks::meta::map_error(
            Platform::Facebook,
            400,
            &headers,
            &body(code, transient),
            start(),
        );
        let kind = match e.kind {
            NetworkErrorKind::Unauthorized => "unauthorized",
            NetworkErrorKind::RateLimited { .. } => "rate",
            NetworkErrorKind::Transient => "transient",
            NetworkErrorKind::Permanent => "permanent",
            NetworkErrorKind::Uncertain => "uncertain",
        };
        assert_eq!(kind, expected, "code {code}");
        assert_eq!(e.code, Some(code.to_string()));
    }
}

#[test]
fn usage_headers_report_the_highest_percentage() {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-app-usage",
        r#"{"call_count":28,"total_time":25,"total_cputime":91}"#
            .parse()
            .unwrap(),
    );
    headers.insert(
        "x-business-use-case-usage",
        r#"{"1234567890":[{"type":"pages","call_count":40,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0}]}"#
            .parse()
            .unwrap(),
    );

    assert_eq!(herald_networks::meta::usage_percent(&headers), Some(91));
    // Zero minutes to regain access: nothing to wait for.
    assert_eq!(herald_networks::meta::usage_reset(&headers, start()), None);
}
