//! Contract tests of the Threads connector against a local double of graph.threads.net,
//! built from Meta's Threads API documentation (fixtures under tests/fixtures/threads).

use crate::support;

use chrono::Duration;
use herald_adapters::ManualClock;
use herald_networks::threads::{LIMITS, ThreadsConnector, validate};
use herald_ports::{
    AccountContext, Connector, MediaRef, NetworkErrorKind, NoCheckpoint, PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{
    Steps, account_named, base_url, merged, no_wait_polling, oauth_app, posted_forms, presigned,
    raw_fixture, start,
};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "8901234";
const TOKEN: &str = "THtoken";

fn fixture(name: &str) -> Value {
    raw_fixture("threads", &format!("{name}.json"))
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

fn connector(server: &MockServer) -> ThreadsConnector {
    let clock = Arc::new(ManualClock::new(start()));
    let app = oauth_app("th-app", "th-secret", "threads");
    ThreadsConnector::new(
        reqwest::Client::new(),
        base_url(server, "v1.0/"),
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
        duration_seconds: content_type.starts_with("video/").then_some(20.0),
        ..presigned(content_type, n)
    }
}

fn request(text: &str) -> PublishRequest {
    support::request("tgt_1", text)
}

async fn quota(server: &MockServer, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{USER}/threads_publishing_limit")))
        .and(query_param("fields", "quota_usage,config"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok(name))
        .mount(server)
        .await;
}

async fn finished(server: &MockServer, container: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{container}")))
        .and(query_param("fields", "status,error_message"))
        .respond_with(ok("status_finished"))
        .mount(server)
        .await;
}

async fn permalink(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/2001"))
        .and(query_param("fields", "permalink"))
        .respond_with(ok("permalink"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_text_post_with_a_link_and_a_thread_chains_replies_to_the_post_before() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .and(body_string_contains("reply_to_id"))
        .respond_with(ok("reply_container"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    finished(&server, "1001").await;
    finished(&server, "1002").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .and(body_string_contains("creation_id=1002"))
        .respond_with(ok("reply_published"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .and(body_string_contains("creation_id=1001"))
        .respond_with(ok("published"))
        .mount(&server)
        .await;
    permalink(&server).await;
    let th = connector(&server);
    let mut req = request("Hello Threads from Herald");
    req.link = Some("https://herald.example".into());
    req.thread = vec!["And a follow-up".into()];
    let cp = Steps::default();

    let published = th.publish(&account(json!({})), &req, &cp).await.unwrap();

    assert_eq!(published.remote_id, "2001");
    assert_eq!(
        published.url.as_deref(),
        Some("https://www.threads.net/@herald/post/C2001")
    );
    let creates = posted_forms(&server, &format!("/v1.0/{USER}/threads")).await;
    assert_eq!(creates[0]["media_type"], "TEXT");
    assert_eq!(creates[0]["text"], "Hello Threads from Herald");
    assert_eq!(creates[0]["link_attachment"], "https://herald.example");
    assert_eq!(creates[0]["access_token"], TOKEN);
    assert_eq!(creates[1]["reply_to_id"], "2001");
    assert_eq!(creates[1]["text"], "And a follow-up");
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![
            ("container".to_owned(), "1001".to_owned()),
            ("post".to_owned(), "2001".to_owned()),
            ("reply_container:0".to_owned(), "1002".to_owned()),
            ("reply:0".to_owned(), "2002".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_resumed_thread_continues_after_the_last_recorded_reply() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("reply_container"))
        .expect(1)
        .mount(&server)
        .await;
    finished(&server, "1002").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .respond_with(ok("reply_published"))
        .expect(1)
        .mount(&server)
        .await;
    permalink(&server).await;
    let th = connector(&server);
    let mut req = request("Root");
    req.thread = vec!["one".into(), "two".into()];
    req.progress.insert("post".into(), "2001".into());
    req.progress.insert("reply:0".into(), "3001".into());

    th.publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    let creates = posted_forms(&server, &format!("/v1.0/{USER}/threads")).await;
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0]["text"], "two");
    assert_eq!(creates[0]["reply_to_id"], "3001");
}

#[tokio::test]
async fn a_video_waits_for_its_container_to_finish() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/1001"))
        .respond_with(ok("status_in_progress"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    finished(&server, "1001").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .respond_with(ok("published"))
        .mount(&server)
        .await;
    permalink(&server).await;
    let th = connector(&server);
    let mut req = request("Clip");
    req.media = vec![media("video/mp4", 3)];

    th.publish(&account(json!({})), &req, &NoCheckpoint)
        .await
        .unwrap();

    let c = &posted_forms(&server, &format!("/v1.0/{USER}/threads")).await[0];
    assert_eq!(c["media_type"], "VIDEO");
    assert_eq!(c["video_url"], "https://media.example/presigned/3");
    assert_eq!(c["text"], "Clip");
}

#[tokio::test]
async fn a_carousel_sends_item_containers_as_children() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .and(body_string_contains("is_carousel_item=true"))
        .respond_with(ok("reply_container"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    finished(&server, "1001").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .respond_with(ok("published"))
        .mount(&server)
        .await;
    permalink(&server).await;
    let th = connector(&server);
    let mut req = request("Gallery");
    req.media = vec![media("image/jpeg", 1), media("image/png", 2)];
    let cp = Steps::default();

    th.publish(&account(json!({})), &req, &cp).await.unwrap();

    let creates = posted_forms(&server, &format!("/v1.0/{USER}/threads")).await;
    assert_eq!(creates[0]["media_type"], "IMAGE");
    assert_eq!(creates[0]["image_url"], "https://media.example/presigned/1");
    assert_eq!(creates[2]["media_type"], "CAROUSEL");
    assert_eq!(creates[2]["children"], "1002,1002");
    let steps: Vec<String> = cp.0.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    assert_eq!(steps, vec!["child:0", "child:1", "container", "post"]);
}

#[tokio::test]
async fn a_used_up_quota_is_rate_limited_and_creates_nothing() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_used_up").await;
    Mock::given(method("POST"))
        .respond_with(ok("container"))
        .expect(0)
        .mount(&server)
        .await;
    let th = connector(&server);

    let e = th
        .publish(&account(json!({})), &request("Over"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(start() + Duration::hours(1))
        }
    );
    assert!(e.message.contains("250 of 250"), "{}", e.message);
}

#[tokio::test]
async fn a_failed_container_is_permanent_and_a_publish_error_uncertain() {
    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/1001"))
        .respond_with(ok("status_error"))
        .mount(&server)
        .await;
    let th = connector(&server);

    let failed = th
        .publish(&account(json!({})), &request("Video"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(failed.kind, NetworkErrorKind::Permanent);
    assert!(
        failed.message.contains("FAILED_DOWNLOADING_VIDEO"),
        "{}",
        failed.message
    );

    let server = MockServer::start().await;
    quota(&server, "publishing_limit_ok").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("container"))
        .mount(&server)
        .await;
    finished(&server, "1001").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("error_server")))
        .mount(&server)
        .await;
    let th = connector(&server);

    let maybe = th
        .publish(&account(json!({})), &request("Text"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(maybe.kind, NetworkErrorKind::Uncertain);
    assert!(
        maybe.message.contains("An unknown error occurred"),
        "{}",
        maybe.message
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{USER}/threads_publishing_limit")))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("error_token_expired")))
        .mount(&server)
        .await;
    let th = connector(&server);

    let e = th
        .publish(&account(json!({})), &request("hi"), &NoCheckpoint)
        .await
        .unwrap_err();

    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert!(e.message.contains("Session has expired"), "{}", e.message);
}

#[test]
fn text_over_500_characters_is_refused_in_the_post_and_in_the_thread() {
    let long = "é".repeat(501);
    let mut follow = request("short");
    follow.thread = vec!["ok".into(), long.clone()];

    let e1 = validate(&request(&long)).unwrap_err();
    let e2 = validate(&follow).unwrap_err();

    assert!(e1.message.contains("501 characters"), "{}", e1.message);
    assert!(e2.message.contains("follow-up 2"), "{}", e2.message);
    assert!(validate(&request(&"é".repeat(500))).is_ok());
    assert_eq!(LIMITS.publish_limits[0].max, 250);
}

#[tokio::test]
async fn the_lookup_matches_the_text_not_the_newest_thread() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .and(query_param("fields", "id,text,timestamp,permalink"))
        .and(query_param(
            "since",
            start().timestamp().to_string().as_str(),
        ))
        .respond_with(ok("user_threads"))
        .mount(&server)
        .await;
    let th = connector(&server);

    let found = th
        .find_published(
            &account(json!({})),
            &request("Hello Threads from Herald"),
            start(),
        )
        .await
        .unwrap()
        .expect("found");
    let none = th
        .find_published(&account(json!({})), &request("never"), start())
        .await
        .unwrap();

    assert_eq!(found.remote_id, "2001");
    assert_eq!(none, None);
}

#[tokio::test]
async fn delete_reply_and_metrics_speak_the_threads_api() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/2001"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok("delete_ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads")))
        .respond_with(ok("reply_container"))
        .mount(&server)
        .await;
    finished(&server, "1002").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{USER}/threads_publish")))
        .respond_with(ok("reply_published"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/2002"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "2002"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/2001/insights"))
        .and(query_param(
            "metric",
            "views,likes,replies,reposts,quotes,shares",
        ))
        .respond_with(ok("insights"))
        .mount(&server)
        .await;
    let th = connector(&server);
    let acct = account(json!({}));

    th.delete(&acct, "2001").await.unwrap();
    let reply = th.reply(&acct, "2001", "Thanks!").await.unwrap();
    let m = th.metrics(&acct, "2001").await.unwrap();

    assert_eq!(reply.remote_id, "2002");
    let c = &posted_forms(&server, &format!("/v1.0/{USER}/threads")).await[0];
    assert_eq!(c["reply_to_id"], "2001");
    assert_eq!(c["text"], "Thanks!");
    assert_eq!(m.impressions, Some(5000));
    assert_eq!(m.likes, Some(300));
    assert_eq!(m.comments, Some(25));
    assert_eq!(m.shares, Some(20));
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_with_th_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "th_refresh_token"))
        .and(query_param("access_token", TOKEN))
        .respond_with(ok("refresh"))
        .expect(1)
        .mount(&server)
        .await;
    let th = connector(&server);

    let renewed = th
        .refresh_credentials(
            &account(json!({ "expires_at": (start() + Duration::days(1)).to_rfc3339() })),
            start(),
        )
        .await
        .unwrap()
        .expect("renewed");
    let untouched = th
        .refresh_credentials(&account(json!({})), start())
        .await
        .unwrap();

    assert_eq!(renewed["access_token"], "THnew");
    assert_eq!(renewed["user_id"], USER);
    assert_eq!(untouched, None);
}
