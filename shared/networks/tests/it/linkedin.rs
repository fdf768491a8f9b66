//! Contract tests for the LinkedIn connector against a local double built from LinkedIn's
//! Posts, Images, Comments and Share Statistics docs. Fixtures: tests/fixtures/linkedin/*.json,
//! each citing its doc page in `_doc`.

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::linkedin::{LinkedinConnector, VERSION};
use herald_ports::{
    AccountContext, BlobStore, Connector, MediaRef, NetworkError, NetworkErrorKind, NoCheckpoint,
    PublishRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Steps, account_named, base_url, fixture_for, oauth_app};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHARE: &str = "urn:li:share:7110000000000000001";
const SHARE_PATH: &str = "/rest/posts/urn%3Ali%3Ashare%3A7110000000000000001";
const ORG: &str = "urn:li:organization:5515715";

fn fixture(name: &str, server: &MockServer) -> Value {
    fixture_for("linkedin", name, server)
}

fn now() -> DateTime<Utc> {
    support::start()
}

type Setup = support::Double<LinkedinConnector>;

async fn setup() -> Setup {
    support::double(|server, blobs| {
        LinkedinConnector::new(
            herald_networks::http::client(),
            blobs,
            Arc::new(ManualClock::new(now())),
            oauth_app("li-client", "li-secret", "linkedin"),
        )
        .with_base(base_url(server, ""))
        .with_token_url(base_url(server, "oauth/v2/accessToken"))
    })
    .await
}

fn account() -> AccountContext {
    account_named(
        "Herald Inc",
        json!({
            "access_token": "li-token",
            "refresh_token": "li-refresh",
            "expires_at": (now() + chrono::Duration::days(30)).to_rfc3339(),
            "author_urn": ORG,
        }),
    )
}

fn request(text: &str) -> PublishRequest {
    support::request("tgt_1", text)
}

fn image(key: &str, alt: Option<&str>) -> MediaRef {
    MediaRef {
        alt_text: alt.map(str::to_owned),
        ..support::media(
            key,
            "image/jpeg",
            100,
            format!("https://blobs.example/{key}"),
        )
    }
}

async fn mount_confirm(s: &Setup) {
    Mock::given(method("GET"))
        .and(path(SHARE_PATH))
        .and(header("linkedin-version", VERSION))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("post.json", &s.server)))
        .mount(&s.server)
        .await;
}

#[tokio::test]
async fn a_text_post_escapes_reserved_characters_and_takes_its_id_from_x_restli_id() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer li-token"))
        .and(header("linkedin-version", VERSION))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .and(body_json(json!({
            "author": ORG,
            "commentary": "Sale \\(today\\) {hashtag|\\#|deals} \\@team \\<3 \\*bold\\* a\\_b",
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": []
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false
        })))
        .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", SHARE))
        .expect(1)
        .mount(&s.server)
        .await;
    mount_confirm(&s).await;
    let cp = Steps::default();
    let out = s
        .connector
        .publish(
            &account(),
            &request("Sale (today) #deals @team <3 *bold* a_b"),
            &cp,
        )
        .await
        .unwrap();
    assert_eq!(out.remote_id, SHARE);
    assert_eq!(
        out.url.as_deref(),
        Some("https://www.linkedin.com/feed/update/urn:li:share:7110000000000000001/")
    );
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![("post".to_string(), SHARE.to_string())]
    );
}

#[tokio::test]
async fn an_image_is_initialized_put_to_its_upload_url_and_referenced_by_urn() {
    let s = setup().await;
    s.blobs
        .put("ws/media/i1/li", vec![9u8; 100], "image/jpeg")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/rest/images"))
        .and(query_param("action", "initializeUpload"))
        .and(header("linkedin-version", VERSION))
        .and(body_json(
            json!({ "initializeUploadRequest": { "owner": ORG } }),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("image_initialize.json", &s.server)),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/dms-uploads/sp/D4E10AQ/upload"))
        .and(header("authorization", "Bearer li-token"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(body_partial_json(json!({
            "content": { "media": { "id": "urn:li:image:C4E10AQFoyyAjHPMQuQ", "altText": "A chart" } }
        })))
        .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", SHARE))
        .expect(1)
        .mount(&s.server)
        .await;
    mount_confirm(&s).await;
    let mut req = request("Our quarter");
    req.media.push(image("ws/media/i1/li", Some("A chart")));
    s.connector
        .publish(&account(), &req, &NoCheckpoint)
        .await
        .unwrap();
    let put = s
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(put.body, vec![9u8; 100]);
}

#[tokio::test]
async fn several_images_make_a_multi_image_post() {
    let s = setup().await;
    for k in ["a", "b"] {
        s.blobs.put(k, vec![1, 2, 3], "image/jpeg").await.unwrap();
    }
    Mock::given(method("POST"))
        .and(path("/rest/images"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("image_initialize.json", &s.server)),
        )
        .expect(2)
        .mount(&s.server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(body_partial_json(json!({
            "content": { "multiImage": { "images": [
                { "id": "urn:li:image:C4E10AQFoyyAjHPMQuQ" },
                { "id": "urn:li:image:C4E10AQFoyyAjHPMQuQ" }
            ] } }
        })))
        .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", SHARE))
        .expect(1)
        .mount(&s.server)
        .await;
    mount_confirm(&s).await;
    let mut req = request("Two pictures");
    req.media = vec![image("a", None), image("b", None)];
    s.connector
        .publish(&account(), &req, &NoCheckpoint)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_link_becomes_an_article_with_its_title() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(body_partial_json(json!({
            "content": { "article": { "source": "https://herald.example/blog", "title": "Our blog" } }
        })))
        .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", SHARE))
        .expect(1)
        .mount(&s.server)
        .await;
    mount_confirm(&s).await;
    let mut req = request("Read this");
    req.link = Some("https://herald.example/blog".into());
    req.title = Some("Our blog".into());
    s.connector
        .publish(&account(), &req, &NoCheckpoint)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_created_post_that_cannot_be_read_back_is_uncertain_not_published() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", SHARE))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(SHARE_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "status": 404, "message": "Not Found"
        })))
        .mount(&s.server)
        .await;
    let cp = Steps::default();
    let e = s
        .connector
        .publish(&account(), &request("Page post"), &cp)
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Uncertain);
    // The URN was recorded the moment LinkedIn returned it, so reconciliation knows it.
    assert_eq!(cp.0.lock().unwrap()[0].1, SHARE);
}

#[tokio::test]
async fn the_first_comment_goes_to_social_actions_and_a_resume_does_not_post_again() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&s.server)
        .await;
    mount_confirm(&s).await;
    Mock::given(method("POST"))
        .and(path(
            "/rest/socialActions/urn%3Ali%3Ashare%3A7110000000000000001/comments",
        ))
        .and(header("linkedin-version", VERSION))
        .and(body_json(json!({
            "actor": ORG,
            "object": SHARE,
            "message": { "text": "Details \\(link\\) below" }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("comment.json", &s.server)))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut req = request("Page post");
    req.first_comment = Some("Details (link) below".into());
    req.progress.insert("post".into(), SHARE.into());
    let cp = Steps::default();
    let out = s.connector.publish(&account(), &req, &cp).await.unwrap();
    assert_eq!(out.remote_id, SHARE);
    assert_eq!(
        *cp.0.lock().unwrap(),
        vec![(
            "comment".to_string(),
            "urn:li:comment:(urn:li:share:7110000000000000001,6636062862760562688)".to_string()
        )]
    );
}

async fn publish_answered(status: u16, body: Value) -> NetworkError {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&s.server)
        .await;
    s.connector
        .publish(&account(), &request("Hello"), &NoCheckpoint)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_duplicate_post_is_permanent_with_linkedin_s_message() {
    let server = MockServer::start().await;
    let e = publish_answered(422, fixture("error_duplicate.json", &server)).await;
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert_eq!(e.code.as_deref(), Some("DUPLICATE_POST"));
    assert!(
        e.message
            .contains("duplicate of urn:li:share:7110000000000000001")
    );
}

#[tokio::test]
async fn a_revoked_token_means_reconnect() {
    let server = MockServer::start().await;
    let e = publish_answered(401, fixture("error_revoked.json", &server)).await;
    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert_eq!(e.code.as_deref(), Some("REVOKED_ACCESS_TOKEN"));
}

#[tokio::test]
async fn a_daily_throttle_waits_until_midnight_utc_and_a_5xx_is_transient() {
    let server = MockServer::start().await;
    let e = publish_answered(429, fixture("error_throttled.json", &server)).await;
    assert_eq!(
        e.kind,
        NetworkErrorKind::RateLimited {
            retry_at: Some(Utc.with_ymd_and_hms(2025, 3, 2, 0, 0, 0).unwrap())
        }
    );
    let e = publish_answered(504, json!({"message":"Gateway Timeout","status":504})).await;
    assert_eq!(e.kind, NetworkErrorKind::Transient);
}

#[tokio::test]
async fn find_published_matches_commentary_among_the_author_s_posts() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/posts"))
        .and(query_param("q", "author"))
        .and(query_param("author", ORG))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("posts_by_author.json", &s.server)),
        )
        .mount(&s.server)
        .await;
    let since = Utc.with_ymd_and_hms(2025, 3, 1, 9, 59, 0).unwrap();
    let found = s
        .connector
        .find_published(&account(), &request("Spring sale (two days) #deals"), since)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.remote_id, "urn:li:share:7110000000000000002");
    assert_eq!(
        s.connector
            .find_published(&account(), &request("Not there"), since)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_uses_the_encoded_urn() {
    let s = setup().await;
    Mock::given(method("DELETE"))
        .and(path(SHARE_PATH))
        .and(header("linkedin-version", VERSION))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s.server)
        .await;
    s.connector.delete(&account(), SHARE).await.unwrap();
}

#[tokio::test]
async fn page_post_metrics_come_from_share_statistics() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityShareStatistics"))
        .and(query_param("q", "organizationalEntity"))
        .and(query_param("organizationalEntity", ORG))
        // Rest.li 2.0: the URN inside List(...) is itself encoded; the matcher sees it decoded.
        .and(query_param("shares", format!("List({SHARE})")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("share_statistics.json", &s.server)),
        )
        .mount(&s.server)
        .await;
    let m = s.connector.metrics(&account(), SHARE).await.unwrap();
    let sent = &s.server.received_requests().await.unwrap()[0];
    assert!(
        sent.url
            .query()
            .unwrap()
            .contains("shares=List(urn%3Ali%3Ashare%3A7110000000000000001)"),
        "{}",
        sent.url
    );
    assert_eq!(m.impressions, Some(1200));
    assert_eq!(m.reach, Some(800));
    assert_eq!(m.likes, Some(25));
    assert_eq!(m.comments, Some(4));
    assert_eq!(m.shares, Some(3));
}

#[tokio::test]
async fn a_token_a_day_from_expiry_is_refreshed_at_the_token_endpoint() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "li-token-2",
            "expires_in": 5184000,
            "refresh_token": "li-refresh",
            "refresh_token_expires_in": 20000000
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut acct = account();
    acct.credentials["expires_at"] = json!((now() + chrono::Duration::hours(3)).to_rfc3339());
    let creds = s
        .connector
        .refresh_credentials(&acct, now())
        .await
        .unwrap()
        .expect("refreshed");
    assert_eq!(creds["access_token"], "li-token-2");
    assert_eq!(creds["author_urn"], ORG);
    assert_eq!(
        s.connector
            .refresh_credentials(&account(), now())
            .await
            .unwrap(),
        None
    );
}
