//! Every list pages (API.md, "Lists"): `{"items","next"?}`, `?cursor=` to go on, `?limit=`
//! from 1 to 500 (default 100). Nothing is cut, nothing comes twice, and a cursor works only
//! on the list it came from.

use crate::support::{App, Ws, rfc3339};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every page of `path` (which already holds its `?`), following `next`; answers the items
/// and how many pages it took.
async fn all_pages(app: &App, ws: &Ws, path: &str, limit: Option<usize>) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut uri = path.to_owned();
        if let Some(limit) = limit {
            uri.push_str(&format!("&limit={limit}"));
        }
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let a = app.get(&uri, &ws.key).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert_eq!(a.header("content-type"), Some("application/json"));
        let page = a.body["items"].as_array().expect("items").clone();
        assert!(page.len() <= limit.unwrap_or(100), "a page over its limit");
        pages += 1;
        items.extend(page);
        match a.body.get("next") {
            None => return (items, pages),
            Some(next) => cursor = Some(next.as_str().expect("next is a string").to_owned()),
        }
        assert!(pages < 10_000, "paging does not end");
    }
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("/v1/posts?from={}&to={}", rfc3339(from), rfc3339(to))
}

/// 1,203 posts over one window, three at each minute so equal times must be ordered too;
/// answers their ids in calendar order and the window.
async fn many_posts(app: &App, ws: &Ws) -> (Vec<String>, String) {
    let acct = app.sandbox(ws, "acme").await;
    let first = app.now() + Duration::hours(1);
    let mut posts = Vec::new();
    for i in 0..1203 {
        let at = first + Duration::minutes(i / 3);
        let id = app
            .create_post(
                ws,
                json!({"text": format!("post {i}"), "accounts": [acct], "scheduled_at": rfc3339(at)}),
            )
            .await;
        posts.push((at, id));
    }
    // Calendar order: by time, then by id.
    posts.sort();
    let ids = posts.into_iter().map(|(_, id)| id).collect();
    (ids, window(first, first + Duration::days(2)))
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_calendar_of_1203_posts_comes_back_whole_once_and_in_order_over_pages() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let (expected, path) = many_posts(&app, &ws).await;

    let (items, pages) = all_pages(&app, &ws, &path, Some(500)).await;
    assert_eq!(pages, 3, "500 + 500 + 203");
    let got = ids(&items);
    assert_eq!(got.len(), 1203);
    assert_eq!(
        got.iter().collect::<BTreeSet<_>>().len(),
        1203,
        "a post came twice"
    );
    assert_eq!(got, expected, "calendar order over pages");

    let (items, pages) = all_pages(&app, &ws, &path, None).await;
    assert_eq!(pages, 13, "the default page is 100");
    assert_eq!(ids(&items), expected);
}

#[tokio::test]
async fn a_list_that_fits_one_page_has_no_next() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    app.sandbox(&ws, "a").await;
    let a = app.get("/v1/accounts", &ws.key).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["items"].as_array().map(Vec::len), Some(1));
    assert!(a.body.get("next").is_none(), "{}", a.body);
    // Exactly a page: still no next, since nothing follows.
    let a = app.get("/v1/accounts?limit=1", &ws.key).await;
    assert!(a.body.get("next").is_none(), "{}", a.body);
}

#[tokio::test]
async fn accounts_page_by_limit_and_cursor() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let mut made = BTreeSet::new();
    for i in 0..7 {
        made.insert(app.sandbox(&ws, &format!("acct-{i}")).await);
    }
    let (items, pages) = all_pages(&app, &ws, "/v1/accounts?", Some(3)).await;
    assert_eq!(pages, 3);
    let got: Vec<String> = ids(&items);
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), made);
    assert_eq!(got.len(), 7);
}

#[tokio::test]
async fn the_sandbox_outbox_pages_by_limit_and_cursor() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    for i in 0..5 {
        app.create_post(
            &ws,
            json!({"text": format!("out {i}"), "accounts": [acct], "scheduled_at": app.at(Duration::minutes(1))}),
        )
        .await;
    }
    app.clock.advance(Duration::minutes(2));
    let report = app.run_publisher().await;
    assert_eq!(report.published, 5, "{report:?}");
    let path = format!("/v1/sandbox/{acct}/outbox?");
    let (items, pages) = all_pages(&app, &ws, &path, Some(2)).await;
    assert_eq!(pages, 3);
    let texts: BTreeSet<_> = items.iter().map(|i| i["text"].to_string()).collect();
    assert_eq!(texts.len(), 5, "{items:?}");
}

async fn calendar_cursor(app: &App, ws: &Ws, path: &str) -> String {
    let a = app.get(&format!("{path}&limit=1"), &ws.key).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["next"].as_str().expect("a next page").to_owned()
}

#[tokio::test]
async fn a_tampered_or_foreign_cursor_is_422_naming_cursor() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    app.sandbox(&ws, "second").await;
    let first = app.now() + Duration::hours(1);
    for i in 0..3 {
        app.create_post(
            &ws,
            json!({"text": format!("p{i}"), "accounts": [acct], "scheduled_at": rfc3339(first + Duration::minutes(i))}),
        )
        .await;
    }
    let path = window(first, first + Duration::days(1));
    let good = calendar_cursor(&app, &ws, &path).await;
    // The good cursor works.
    let a = app.get(&format!("{path}&cursor={good}"), &ws.key).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");

    let mut tampered = Vec::new();
    for i in [0, good.len() / 2, good.len() - 1] {
        let mut bytes = good.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        tampered.push(String::from_utf8(bytes).unwrap());
    }
    tampered.push(good[..good.len() - 4].to_owned());
    tampered.push("not-a-cursor".into());
    tampered.push("AAAA".into());
    for bad in &tampered {
        let a = app.get(&format!("{path}&cursor={bad}"), &ws.key).await;
        a.invalid_field("cursor");
    }

    // A cursor of another list, another window or another workspace is not misread.
    let accounts = app.get("/v1/accounts?limit=1", &ws.key).await;
    let accounts_cursor = accounts.body["next"].as_str().expect("next").to_owned();
    let a = app
        .get(&format!("{path}&cursor={accounts_cursor}"), &ws.key)
        .await;
    a.invalid_field("cursor");
    let a = app
        .get(&format!("/v1/accounts?cursor={good}"), &ws.key)
        .await;
    a.invalid_field("cursor");
    let other_window = window(first, first + Duration::days(2));
    let a = app
        .get(&format!("{other_window}&cursor={good}"), &ws.key)
        .await;
    a.invalid_field("cursor");
    let other = app.workspace("Globex").await;
    let a = app.get(&format!("{path}&cursor={good}"), &other.key).await;
    a.invalid_field("cursor");
}

#[tokio::test]
async fn a_limit_outside_one_to_five_hundred_is_422_naming_limit() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let from = app.now();
    let path = window(from, from + Duration::days(1));
    for bad in ["0", "501", "-1", "ten", "1e2"] {
        app.get(&format!("{path}&limit={bad}"), &ws.key)
            .await
            .invalid_field("limit");
        app.get(&format!("/v1/accounts?limit={bad}"), &ws.key)
            .await
            .invalid_field("limit");
        app.get(&format!("/v1/sandbox/{acct}/outbox?limit={bad}"), &ws.key)
            .await
            .invalid_field("limit");
    }
    for good in ["1", "500"] {
        let a = app.get(&format!("{path}&limit={good}"), &ws.key).await;
        assert_eq!(a.status, StatusCode::OK, "{good}: {a:?}");
    }
}
