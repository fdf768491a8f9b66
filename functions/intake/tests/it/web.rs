//! The web app's files (src/web.rs) and the composer's counter (`POST /v1/posts/measure`):
//! the page and its assets with their content types and cache headers, a 304 for a fresh
//! ETag, nothing else served as a file; the counts are validation's own, and a text one over
//! the limit is refused by `POST /v1/posts` exactly where the counter says it is over.

use crate::support::App;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

async fn fetch(app: &App, uri: &str, etag: Option<&str>) -> crate::support::Answer {
    let mut r = Request::builder().method(Method::GET).uri(uri);
    if let Some(e) = etag {
        r = r.header(header::IF_NONE_MATCH, e);
    }
    app.send(r.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_no_key_and_revalidated_by_etag() {
    let app = App::new().await;
    let a = fetch(&app, "/", None).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(a.header("cache-control"), Some("no-cache"));
    assert!(
        a.header("content-security-policy")
            .is_some_and(|c| c.contains("script-src 'self'")),
        "{a:?}"
    );
    let html = String::from_utf8(a.raw.clone()).unwrap();
    assert!(html.contains("API key"), "the sign-in label: {html}");
    assert!(html.contains("/assets/app.js"), "{html}");
    let etag = a.header("etag").expect("an etag").to_owned();
    let again = fetch(&app, "/", Some(&etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{again:?}");
    assert!(again.raw.is_empty());
    let stale = fetch(&app, "/", Some("\"something-else\"")).await;
    assert_eq!(stale.status, StatusCode::OK);
}

#[tokio::test]
async fn each_asset_has_its_content_type_and_unknown_files_are_404_problems() {
    let app = App::new().await;
    for (file, ty) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let a = fetch(&app, &format!("/assets/{file}"), None).await;
        assert_eq!(a.status, StatusCode::OK, "{file}: {a:?}");
        assert_eq!(a.header("content-type"), Some(ty), "{file}");
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        assert!(!a.raw.is_empty());
    }
    for path in [
        "/assets/nope.js",
        "/assets/index.html",
        "/assets/..%2FCargo.toml",
        "/assets/%2e%2e%2fsrc%2fweb.rs",
        "/index.html",
    ] {
        let a = fetch(&app, path, None).await;
        a.problem(StatusCode::NOT_FOUND);
    }
    // The API is still the API beside it.
    let a = fetch(&app, "/healthz", None).await;
    assert_eq!(a.body["status"], "ok");
    let a = fetch(&app, "/v1/posts", None).await;
    a.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn measure_counts_as_each_network_counts_and_validation_agrees() {
    let app = App::new().await;
    let ws = app.workspace("Counts").await;
    // A family emoji: one grapheme (Bluesky), seven scalar values (sandbox counts chars).
    let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
    let a = app
        .post(
            "/v1/posts/measure",
            &ws.key,
            json!({"text": family, "platforms": ["sandbox", "bluesky", "sandbox"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let items = a.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "a network named twice is measured once: {a:?}"
    );
    assert_eq!(items[0]["platform"], "sandbox");
    assert_eq!(items[0]["length"], 7);
    assert_eq!(items[0]["max"], 5000);
    assert_eq!(items[1]["platform"], "bluesky");
    assert_eq!(items[1]["length"], 1);
    assert_eq!(items[1]["counting"], "graphemes");
    assert_eq!(items[1]["remaining"], 299);

    // At the sandbox's limit and one over: where the counter says over, creating refuses.
    let acct = app.sandbox(&ws, "brand").await;
    for (n, ok) in [(5000, true), (5001, false)] {
        let text = "é".repeat(n);
        let a = app
            .post(
                "/v1/posts/measure",
                &ws.key,
                json!({"text": text, "platforms": ["sandbox"]}),
            )
            .await;
        assert_eq!(a.body["items"][0]["length"], n, "{a:?}");
        assert_eq!(a.body["items"][0]["remaining"], 5000 - n as i64);
        let created = app
            .post(
                "/v1/posts",
                &ws.key,
                json!({"text": text, "accounts": [acct]}),
            )
            .await;
        assert_eq!(created.status == StatusCode::CREATED, ok, "{created:?}");
    }
    // A variant's text is what its network is measured on.
    let a = app
        .post(
            "/v1/posts/measure",
            &ws.key,
            json!({"text": "short", "platforms": ["sandbox", "bluesky"], "variants": {"bluesky": {"text": family.repeat(301)}}}),
        )
        .await;
    assert_eq!(a.body["items"][0]["length"], 5, "{a:?}");
    assert_eq!(a.body["items"][1]["length"], 301);
    assert_eq!(a.body["items"][1]["remaining"], -1);
}

#[tokio::test]
async fn measure_refuses_what_it_cannot_count_and_writes_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Counts").await;
    let before = app.snapshot(&ws).await;
    for body in [
        json!({"text": "hi", "platforms": []}),
        json!({"text": "hi", "platforms": ["myspace"]}),
        json!({"text": "hi"}),
        json!({"platforms": ["sandbox"]}),
        json!({"text": "hi", "platforms": ["sandbox"], "variants": {"bluesky": {"text": "x"}}}),
        json!({"text": "hi", "platforms": ["sandbox"], "extra": 1}),
        // Configured networks only: the test server has no X connector.
        json!({"text": "hi", "platforms": ["x"]}),
    ] {
        let a = app.post("/v1/posts/measure", &ws.key, body.clone()).await;
        a.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let a = app
        .call(
            Method::POST,
            "/v1/posts/measure",
            None,
            Some(json!({"text": "hi", "platforms": ["sandbox"]})),
        )
        .await;
    a.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(app.snapshot(&ws).await, before);
}
