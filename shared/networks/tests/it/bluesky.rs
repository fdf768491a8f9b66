//! Bluesky connector: contract tests against a local XRPC double, and one test against the
//! real reference PDS (`HERALD_PDS_URL`, started by `infra/services.sh start`).

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use herald_adapters::ManualClock;
use herald_networks::bluesky::{BlueskyConnector, detect_facets};
use herald_networks::guard::Guard;
use herald_ports::{Connector, NetworkErrorKind, NoCheckpoint};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{MemoryBlobs, PNG_1X1, Steps, account, fixture, image, request};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DID: &str = "did:plc:herald7test";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture("bluesky", name))
}

fn access_jwt() -> String {
    fixture("bluesky", "createSession.json")["accessJwt"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn refresh_jwt() -> String {
    fixture("bluesky", "createSession.json")["refreshJwt"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Double {
    server: MockServer,
    connector: BlueskyConnector,
}

impl Double {
    async fn new(blobs: MemoryBlobs) -> Double {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/xrpc/com.atproto.server.createSession"))
            .and(body_json(
                json!({"identifier": "herald.test", "password": "abcd-efgh-ijkl-mnop"}),
            ))
            .respond_with(ok("createSession.json"))
            .mount(&server)
            .await;
        let connector = BlueskyConnector::new(
            Guard::new(true),
            Arc::new(blobs),
            Arc::new(ManualClock::new(start_time())),
        )
        .with_appview(server.uri().parse().unwrap());
        Double { server, connector }
    }

    fn account(&self) -> herald_ports::AccountContext {
        account(json!({
            "service": self.server.uri(),
            "identifier": "herald.test",
            "app_password": "abcd-efgh-ijkl-mnop",
        }))
    }

    async fn requests_to(&self, nsid: &str) -> Vec<Request> {
        let p = format!("/xrpc/{nsid}");
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == p)
            .collect()
    }

    async fn records_created(&self) -> Vec<Value> {
        self.requests_to("com.atproto.repo.createRecord")
            .await
            .iter()
            .map(|r| r.body_json::<Value>().unwrap())
            .collect()
    }
}

async fn mount_create_record(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .and(header("authorization", format!("Bearer {}", access_jwt())))
        .respond_with(ok("createRecord.json"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_post_with_an_image_uploads_the_blob_then_creates_the_record_with_facets() {
    let d = Double::new(MemoryBlobs::with("k/img", PNG_1X1.to_vec(), "image/png")).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.uploadBlob"))
        .and(header("content-type", "image/png"))
        .and(header("authorization", format!("Bearer {}", access_jwt())))
        .respond_with(ok("uploadBlob.json"))
        .expect(1)
        .mount(&d.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.identity.resolveHandle"))
        .and(query_param("handle", "alice.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"did": "did:plc:alice"})))
        .mount(&d.server)
        .await;
    mount_create_record(&d.server).await;

    let text = "Ça marche 🦋 with @alice.test: https://example.com/launch #herald";
    let mut req = request("mk_1", text);
    req.media = vec![image("k/img", 67, Some("A butterfly"))];
    let published = d
        .connector
        .publish(&d.account(), &req, &NoCheckpoint)
        .await
        .unwrap();

    assert_eq!(
        published.remote_id,
        "at://did:plc:herald7test/app.bsky.feed.post/3l2root000001"
    );
    assert_eq!(
        published.url.as_deref(),
        Some("https://bsky.app/profile/did:plc:herald7test/post/3l2root000001")
    );
    let uploads = d.requests_to("com.atproto.repo.uploadBlob").await;
    assert_eq!(uploads[0].body, PNG_1X1.to_vec());

    let created = d.records_created().await;
    assert_eq!(created.len(), 1);
    let body = &created[0];
    assert_eq!(body["repo"], DID);
    assert_eq!(body["collection"], "app.bsky.feed.post");
    let record = &body["record"];
    assert_eq!(record["$type"], "app.bsky.feed.post");
    assert_eq!(record["text"], text);
    assert_eq!(record["createdAt"], "2025-01-01T12:00:00.000Z");
    // Byte offsets: "Ça" has a two-byte Ç and the butterfly four bytes.
    let mention = text.find("@alice.test").unwrap();
    let link = text.find("https://").unwrap();
    let tag = text.find("#herald").unwrap();
    assert_eq!(mention, 21);
    assert_eq!(
        record["facets"],
        json!([
            {"index": {"byteStart": mention, "byteEnd": mention + 11},
             "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}]},
            {"index": {"byteStart": link, "byteEnd": link + 26},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/launch"}]},
            {"index": {"byteStart": tag, "byteEnd": tag + 7},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "herald"}]},
        ])
    );
    assert_eq!(
        record["embed"],
        json!({
            "$type": "app.bsky.embed.images",
            "images": [{
                "alt": "A butterfly",
                "image": fixture("bluesky", "uploadBlob.json")["blob"],
                "aspectRatio": {"width": 1, "height": 1},
            }],
        })
    );
}

#[tokio::test]
async fn a_post_with_a_link_and_no_image_gets_an_external_card() {
    let d = Double::new(MemoryBlobs::default()).await;
    mount_create_record(&d.server).await;
    let mut req = request("mk_2", "Read this");
    req.link = Some("https://example.com/article".into());
    req.title = Some("The article".into());
    d.connector
        .publish(&d.account(), &req, &NoCheckpoint)
        .await
        .unwrap();
    let record = &d.records_created().await[0]["record"];
    assert_eq!(
        record["embed"],
        json!({"$type": "app.bsky.embed.external", "external": {
            "uri": "https://example.com/article", "title": "The article", "description": ""}})
    );
    assert!(record.get("facets").is_none());
}

#[tokio::test]
async fn an_image_over_the_blob_cap_is_refused_before_any_upload() {
    let big = vec![0u8; 1_000_001];
    let d = Double::new(MemoryBlobs::with("k/big", big, "image/png")).await;
    let mut req = request("mk_3", "too big");
    req.media = vec![image("k/big", 1_000_001, None)];
    let err = d
        .connector
        .publish(&d.account(), &req, &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Permanent);
    assert!(err.message.contains("1000001 bytes"), "{}", err.message);
    assert!(
        d.requests_to("com.atproto.repo.uploadBlob")
            .await
            .is_empty()
    );
    assert!(d.records_created().await.is_empty());
}

#[tokio::test]
async fn a_thread_replies_to_the_root_and_the_previous_post_and_checkpoints_each_step() {
    let d = Double::new(MemoryBlobs::default()).await;
    let uri = |rkey: &str| format!("at://{DID}/app.bsky.feed.post/{rkey}");
    for (i, rkey) in ["3l2root", "3l2two", "3l2three"].iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/xrpc/com.atproto.repo.createRecord"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"uri": uri(rkey), "cid": format!("cid{i}")})),
            )
            .up_to_n_times(1)
            .mount(&d.server)
            .await;
    }
    let mut req = request("mk_4", "1/3 a thread");
    req.thread = vec!["2/3 more".into(), "3/3 end".into()];
    let steps = Steps::default();
    let published = d
        .connector
        .publish(&d.account(), &req, &steps)
        .await
        .unwrap();
    assert_eq!(published.remote_id, uri("3l2root"));
    assert_eq!(
        steps.recorded(),
        vec![
            ("post".to_owned(), uri("3l2root")),
            ("thread.1".to_owned(), uri("3l2two")),
            ("thread.2".to_owned(), uri("3l2three")),
        ]
    );
    let created = d.records_created().await;
    assert_eq!(created.len(), 3);
    assert!(created[0]["record"].get("reply").is_none());
    let root = json!({"uri": uri("3l2root"), "cid": "cid0"});
    assert_eq!(
        created[1]["record"]["reply"],
        json!({"root": root, "parent": root})
    );
    assert_eq!(
        created[2]["record"]["reply"],
        json!({"root": root, "parent": {"uri": uri("3l2two"), "cid": "cid1"}})
    );
    assert_eq!(created[2]["record"]["text"], "3/3 end");
}

#[tokio::test]
async fn a_resumed_thread_reuses_the_recorded_root_instead_of_posting_it_again() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .and(query_param("repo", DID))
        .and(query_param("collection", "app.bsky.feed.post"))
        .and(query_param("rkey", "3l2root000001"))
        .respond_with(ok("getRecord.json"))
        .mount(&d.server)
        .await;
    mount_create_record(&d.server).await;
    let mut req = request("mk_5", "hello");
    req.thread = vec!["and more".into()];
    let root = "at://did:plc:herald7test/app.bsky.feed.post/3l2root000001";
    req.progress.insert("post".into(), root.into());
    let published = d
        .connector
        .publish(&d.account(), &req, &NoCheckpoint)
        .await
        .unwrap();
    assert_eq!(published.remote_id, root);
    let created = d.records_created().await;
    assert_eq!(created.len(), 1, "only the thread step is created");
    assert_eq!(created[0]["record"]["text"], "and more");
    assert_eq!(created[0]["record"]["reply"]["root"]["cid"], "bafyreiroot");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_call_retried_once() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(fixture("bluesky", "error_expired_token.json")),
        )
        .up_to_n_times(1)
        .mount(&d.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.refreshSession"))
        .and(header("authorization", format!("Bearer {}", refresh_jwt())))
        .respond_with(ok("createSession.json"))
        .expect(1)
        .mount(&d.server)
        .await;
    mount_create_record(&d.server).await;
    let published = d
        .connector
        .publish(&d.account(), &request("mk_6", "hi"), &NoCheckpoint)
        .await
        .unwrap();
    assert!(published.remote_id.starts_with("at://"));
    assert_eq!(d.records_created().await.len(), 2);
    assert_eq!(
        d.requests_to("com.atproto.server.createSession")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_rate_limit_answer_carries_the_ratelimit_reset_time() {
    let d = Double::new(MemoryBlobs::default()).await;
    let reset = start_time().timestamp() + 900;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "5000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", reset.to_string().as_str())
                .set_body_json(fixture("bluesky", "error_rate_limited.json")),
        )
        .mount(&d.server)
        .await;
    let err = d
        .connector
        .publish(&d.account(), &request("mk_7", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        NetworkErrorKind::RateLimited {
            retry_at: DateTime::from_timestamp(reset, 0)
        }
    );
    assert_eq!(err.code.as_deref(), Some("RateLimitExceeded"));
    assert_eq!(err.status, Some(429));
}

#[tokio::test]
async fn a_refused_record_is_permanent_with_the_networks_message() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(fixture("bluesky", "error_invalid_request.json")),
        )
        .mount(&d.server)
        .await;
    let err = d
        .connector
        .publish(&d.account(), &request("mk_8", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("InvalidRequest"));
    assert!(err.message.contains("300 graphemes"), "{}", err.message);
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .respond_with(
            ResponseTemplate::new(502).set_body_json(
                json!({"error": "UpstreamFailure", "message": "upstream went away"}),
            ),
        )
        .mount(&d.server)
        .await;
    let err = d
        .connector
        .publish(&d.account(), &request("mk_9", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Transient);
    assert_eq!(err.message, "upstream went away");
}

#[tokio::test]
async fn a_revoked_app_password_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}),
        ))
        .mount(&server)
        .await;
    let connector = BlueskyConnector::new(
        Guard::new(true),
        Arc::new(MemoryBlobs::default()),
        Arc::new(ManualClock::new(start_time())),
    );
    let acct = account(
        json!({"service": server.uri(), "identifier": "herald.test", "app_password": "revoked"}),
    );
    let err = connector
        .publish(&acct, &request("mk_10", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Unauthorized);
    assert_eq!(err.message, "Invalid identifier or password");
}

#[tokio::test]
async fn a_loopback_service_is_refused_by_a_strict_guard_without_a_request() {
    let server = MockServer::start().await;
    let connector = BlueskyConnector::new(
        Guard::default(),
        Arc::new(MemoryBlobs::default()),
        Arc::new(ManualClock::new(start_time())),
    );
    let acct =
        account(json!({"service": server.uri(), "identifier": "x.test", "app_password": "p"}));
    let err = connector
        .publish(&acct, &request("mk_11", "hi"), &NoCheckpoint)
        .await
        .unwrap_err();
    assert_eq!(err.kind, NetworkErrorKind::Permanent);
    assert!(err.message.contains("loopback"), "{}", err.message);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn find_published_matches_the_text_not_the_newest_post() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.listRecords"))
        .and(query_param("repo", DID))
        .and(query_param("collection", "app.bsky.feed.post"))
        .and(header("authorization", format!("Bearer {}", access_jwt())))
        .respond_with(ok("listRecords.json"))
        .mount(&d.server)
        .await;
    let req = request("mk_12", "Launch day: our new feature is live");
    let found = d
        .connector
        .find_published(&d.account(), &req, start_time())
        .await
        .unwrap()
        .expect("the matching post is found");
    assert_eq!(
        found.remote_id,
        "at://did:plc:herald7test/app.bsky.feed.post/3l2match00001"
    );
    let missing = d
        .connector
        .find_published(
            &d.account(),
            &request("mk_13", "An older post"),
            start_time(),
        )
        .await
        .unwrap();
    assert_eq!(missing, None, "a post from before `since` is not this one");
    // The page reached past `since`, so no second page was asked for.
    assert_eq!(d.requests_to("com.atproto.repo.listRecords").await.len(), 2);
}

#[tokio::test]
async fn delete_removes_the_record_by_repo_collection_and_key() {
    let d = Double::new(MemoryBlobs::default()).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.deleteRecord"))
        .and(body_json(
            json!({"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3l2root000001"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&d.server)
        .await;
    d.connector
        .delete(
            &d.account(),
            "at://did:plc:herald7test/app.bsky.feed.post/3l2root000001",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reply_to_a_reply_keeps_the_thread_root() {
    let d = Double::new(MemoryBlobs::default()).await;
    let root = json!({"uri": format!("at://{DID}/app.bsky.feed.post/3l2root"), "cid": "cidroot"});
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": "at://did:plc:someone/app.bsky.feed.post/3l2comment",
            "cid": "cidcomment",
            "value": {"$type": "app.bsky.feed.post", "text": "nice", "createdAt": "2025-01-01T12:00:00Z",
                      "reply": {"root": root, "parent": root}},
        })))
        .mount(&d.server)
        .await;
    mount_create_record(&d.server).await;
    d.connector
        .reply(
            &d.account(),
            "at://did:plc:someone/app.bsky.feed.post/3l2comment",
            "thanks!",
        )
        .await
        .unwrap();
    let record = &d.records_created().await[0]["record"];
    assert_eq!(record["text"], "thanks!");
    assert_eq!(record["reply"]["root"], root);
    assert_eq!(
        record["reply"]["parent"],
        json!({"uri": "at://did:plc:someone/app.bsky.feed.post/3l2comment", "cid": "cidcomment"})
    );
}

#[tokio::test]
async fn metrics_come_from_the_appview_get_posts() {
    let d = Double::new(MemoryBlobs::default()).await;
    let uri = "at://did:plc:herald7test/app.bsky.feed.post/3l2root000001";
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getPosts"))
        .and(query_param("uris", uri))
        .respond_with(ok("getPosts.json"))
        .mount(&d.server)
        .await;
    let m = d.connector.metrics(&d.account(), uri).await.unwrap();
    assert_eq!(m.likes, Some(42));
    assert_eq!(m.comments, Some(3));
    assert_eq!(m.shares, Some(7), "reposts and quotes");
    assert_eq!(m.impressions, None);
}

#[tokio::test]
async fn refresh_credentials_stores_a_session_and_leaves_a_fresh_one_alone() {
    let d = Double::new(MemoryBlobs::default()).await;
    let now = start_time();
    let updated = d
        .connector
        .refresh_credentials(&d.account(), now)
        .await
        .unwrap()
        .expect("a session is added");
    assert_eq!(updated["session"]["did"], DID);
    assert_eq!(updated["session"]["access_jwt"], access_jwt());
    assert_eq!(updated["app_password"], "abcd-efgh-ijkl-mnop");
    let again = d
        .connector
        .refresh_credentials(&account(updated.clone()), now)
        .await
        .unwrap();
    assert_eq!(again, None, "the stored session is good until 2100");
}

#[test]
fn the_limits_are_300_graphemes_and_four_images_of_a_megabyte() {
    let limits = herald_networks::bluesky::limits();
    assert_eq!(limits.max_text, 300);
    assert_eq!(limits.counting.count("👨‍👩‍👧"), 1);
    assert_eq!(limits.max_images, 4);
    assert_eq!(limits.max_image_bytes, Some(1_000_000));
}

// ---------------------------------------------------------------------------------------------
// The real reference PDS.

async fn xrpc_post(base: &str, nsid: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/xrpc/{nsid}"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{nsid}: {status} {v}");
    v
}

async fn xrpc_get(base: &str, nsid: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}/xrpc/{nsid}"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_real_pds_receives_a_post_with_an_image_a_link_and_a_thread_reply() {
    let Ok(pds) = std::env::var("HERALD_PDS_URL") else {
        panic!(
            "HERALD_PDS_URL is not set: run the tests with the README's test command, which \
             starts the local PDS (`infra/services.sh start`)"
        );
    };
    let pds = pds.trim_end_matches('/').to_owned();
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let handle = format!("h{}.test", &unique[unique.len() - 10..]);
    let created = xrpc_post(
        &pds,
        "com.atproto.server.createAccount",
        None,
        json!({"handle": handle, "email": format!("{handle}@example.com"), "password": "correct-horse"}),
    )
    .await;
    let did = created["did"].as_str().unwrap().to_owned();
    let app_password = xrpc_post(
        &pds,
        "com.atproto.server.createAppPassword",
        created["accessJwt"].as_str(),
        json!({"name": "herald"}),
    )
    .await["password"]
        .as_str()
        .unwrap()
        .to_owned();

    let clock = Arc::new(herald_adapters::SystemClock);
    let connector = BlueskyConnector::new(
        Guard::new(true),
        Arc::new(MemoryBlobs::with("k/img", PNG_1X1.to_vec(), "image/png")),
        clock,
    );
    let acct = account(json!({"service": pds, "identifier": handle, "app_password": app_password}));
    let text = format!("Herald ✓ test {unique}: https://example.com/herald #herald");
    let mut req = request("mk_real", &text);
    req.media = vec![image("k/img", PNG_1X1.len() as u64, Some("one pixel"))];
    req.thread = vec!["and a reply in the thread".into()];
    let since = Utc::now() - chrono::Duration::seconds(5);
    let steps = Steps::default();
    let published = connector.publish(&acct, &req, &steps).await.unwrap();
    assert_eq!(steps.recorded().len(), 2);

    let rkey = published.remote_id.rsplit('/').next().unwrap().to_owned();
    let (status, got) = xrpc_get(
        &pds,
        "com.atproto.repo.getRecord",
        &[
            ("repo", &did),
            ("collection", "app.bsky.feed.post"),
            ("rkey", &rkey),
        ],
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let record = &got["value"];
    assert_eq!(record["text"], text);
    let link = text.find("https://").unwrap();
    let tag = text.find("#herald").unwrap();
    assert_eq!(
        record["facets"],
        json!([
            {"index": {"byteStart": link, "byteEnd": link + "https://example.com/herald".len()},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/herald"}]},
            {"index": {"byteStart": tag, "byteEnd": tag + 7},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "herald"}]},
        ])
    );
    let image = &record["embed"]["images"][0];
    assert_eq!(image["alt"], "one pixel");
    assert_eq!(image["image"]["mimeType"], "image/png");
    assert_eq!(image["image"]["size"], PNG_1X1.len());
    let cid = image["image"]["ref"]["$link"].as_str().unwrap().to_owned();
    let blob = reqwest::Client::new()
        .get(format!("{pds}/xrpc/com.atproto.sync.getBlob"))
        .query(&[("did", did.as_str()), ("cid", cid.as_str())])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(blob.as_ref(), PNG_1X1.as_slice(), "the PDS holds the image");

    let (_, list) = xrpc_get(
        &pds,
        "com.atproto.repo.listRecords",
        &[("repo", &did), ("collection", "app.bsky.feed.post")],
    )
    .await;
    let records = list["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let reply = records
        .iter()
        .find(|r| r["value"]["text"] == "and a reply in the thread")
        .expect("the thread reply is in the repo");
    assert_eq!(reply["value"]["reply"]["root"]["uri"], published.remote_id);

    let found = connector
        .find_published(&acct, &req, since)
        .await
        .unwrap()
        .expect("find_published finds the post");
    assert_eq!(found.remote_id, published.remote_id);

    connector.delete(&acct, &published.remote_id).await.unwrap();
    let (status, _) = xrpc_get(
        &pds,
        "com.atproto.repo.getRecord",
        &[
            ("repo", &did),
            ("collection", "app.bsky.feed.post"),
            ("rkey", &rkey),
        ],
    )
    .await;
    assert_eq!(status, 400, "the deleted record is gone");
    assert_eq!(
        connector.find_published(&acct, &req, since).await.unwrap(),
        None
    );
}

#[test]
fn facet_detection_agrees_with_the_offsets_the_real_test_expects() {
    // Guards the real-PDS test's expectations against a silent change in detection.
    let text = "Herald ✓ test 1: https://example.com/herald #herald";
    let found = detect_facets(text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].bytes.start, text.find("https://").unwrap());
}
