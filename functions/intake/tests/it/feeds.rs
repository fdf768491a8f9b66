//! Calendar feeds: a secret ICS URL read with no key, parsed back by a real calendar library
//! (PyPI `icalendar`, as calendar apps parse); revoked, forged or foreign URLs 404.

use crate::support::App;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

async fn new_feed(app: &App, key: &str) -> (String, String) {
    let a = app
        .call(Method::POST, "/v1/calendar/feeds", Some(key), None)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    (
        a.body["id"].as_str().expect("id").to_owned(),
        a.body["url"].as_str().expect("url").to_owned(),
    )
}

/// GET of a feed URL with no key at all.
async fn read(app: &App, url: &str) -> (StatusCode, Option<String>, String) {
    let path = url.find("/ics/").map(|i| &url[i..]).expect("feed path");
    let a = app
        .send(
            Request::builder()
                .method(Method::GET)
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    (
        a.status,
        a.header("content-type").map(str::to_owned),
        String::from_utf8(a.raw).expect("utf-8"),
    )
}

/// The events as PyPI icalendar reads them: uid, summary, description, start, status, url.
fn parse_with_icalendar(ics: &str) -> Vec<Value> {
    let script = r#"
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
assert cal.get('VERSION') == '2.0', cal.get('VERSION')
assert cal.get('PRODID'), 'no PRODID'
out = []
for e in cal.walk('VEVENT'):
    for required in ('UID', 'DTSTAMP', 'DTSTART'):
        assert e.get(required) is not None, required
    out.append({k: str(e.get(k)) if e.get(k) is not None else None
                for k in ('UID', 'SUMMARY', 'DESCRIPTION', 'STATUS', 'URL')}
               | {'DTSTART': e.decoded('DTSTART').isoformat()})
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ics.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'icalendar'"),
        "the ICS checker is missing: python3 -m pip install icalendar (infra/test.sh does)"
    );
    assert!(
        out.status.success(),
        "icalendar refused the feed: {stderr}\n{ics}"
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test]
async fn a_feed_parses_with_a_calendar_library_and_gives_back_every_text_exactly() {
    let app = App::new().await;
    let ws = app.workspace("feeds").await;
    let a1 = app.sandbox(&ws, "one").await;
    let a2 = app.sandbox(&ws, "two").await;
    let long = "x".repeat(200);
    let text = format!("Launch, today; at 9\\10 🎉🚀\nsecond line\n\n{long}\nünïcödé — fin");
    let at = app.at(Duration::days(3));
    let post = app
        .create_post(
            &ws,
            json!({ "text": text, "accounts": [a1, a2], "scheduled_at": at }),
        )
        .await;
    let (_, url) = new_feed(&app, &ws.key).await;
    let (status, content_type, ics) = read(&app, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type.as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    // Lenient parsers read a bare comma too; the wire form is checked as RFC 5545 writes it.
    let unfolded = ics.replace("\r\n ", "");
    assert!(
        unfolded.contains("SUMMARY:[sandbox] Launch\\, today\\; at 9\\\\10"),
        "{unfolded}"
    );
    assert!(unfolded.contains("second line\\n\\nxxx"), "{unfolded}");
    let events = parse_with_icalendar(&ics);
    assert_eq!(
        events.len(),
        2,
        "one event per post and account: {events:?}"
    );
    let mut uids: Vec<_> = events.iter().map(|e| e["UID"].as_str().unwrap()).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 2);
    for e in &events {
        assert!(e["UID"].as_str().unwrap().starts_with(&post), "{e}");
        let description = e["DESCRIPTION"].as_str().unwrap();
        assert_eq!(description, format!("Status: scheduled\n\n{text}"));
        assert!(
            e["SUMMARY"]
                .as_str()
                .unwrap()
                .starts_with("[sandbox] Launch, today; at 9\\10 🎉🚀 second line"),
            "{e}"
        );
        assert_eq!(e["STATUS"], "CONFIRMED");
        let start = chrono::DateTime::parse_from_rfc3339(e["DTSTART"].as_str().unwrap()).unwrap();
        assert_eq!(
            start.to_rfc3339(),
            chrono::DateTime::parse_from_rfc3339(&at)
                .unwrap()
                .to_rfc3339()
        );
    }
    // Stable: a second read names the same events.
    let again = parse_with_icalendar(&read(&app, &url).await.2);
    assert_eq!(
        again.iter().map(|e| e["UID"].clone()).collect::<Vec<_>>(),
        events.iter().map(|e| e["UID"].clone()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_feed_holds_every_post_of_its_window_past_one_page_and_marks_cancelled_ones() {
    let app = App::new().await;
    let ws = app.workspace("many").await;
    let acct = app.sandbox(&ws, "a").await;
    let mut ids = Vec::new();
    for i in 0..520 {
        ids.push(
            app.create_post(
                &ws,
                json!({ "text": format!("post {i}"), "accounts": [acct],
                        "scheduled_at": app.at(Duration::hours(1 + i)) }),
            )
            .await,
        );
    }
    let beyond = app
        .create_post(
            &ws,
            json!({ "text": "too far", "accounts": [acct],
                    "scheduled_at": app.at(Duration::days(400)) }),
        )
        .await;
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/posts/{}", ids[0]),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    let (_, url) = new_feed(&app, &ws.key).await;
    let events = parse_with_icalendar(&read(&app, &url).await.2);
    assert_eq!(events.len(), 520, "past the 500 of one page, nothing cut");
    assert!(
        events
            .iter()
            .all(|e| !e["UID"].as_str().unwrap().starts_with(&beyond))
    );
    let first = events
        .iter()
        .find(|e| e["UID"].as_str().unwrap().starts_with(&ids[0]))
        .expect("the cancelled post is in the feed");
    assert_eq!(first["STATUS"], "CANCELLED");
    assert!(
        first["DESCRIPTION"]
            .as_str()
            .unwrap()
            .starts_with("Status: cancelled")
    );
}

#[tokio::test]
async fn a_revoked_feed_404s_at_once_and_others_of_the_workspace_keep_working() {
    let app = App::new().await;
    let ws = app.workspace("revoke").await;
    let (id1, url1) = new_feed(&app, &ws.key).await;
    let (_, url2) = new_feed(&app, &ws.key).await;
    assert_ne!(url1, url2);
    assert_eq!(read(&app, &url1).await.0, StatusCode::OK);
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/calendar/feeds/{id1}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    assert_eq!(read(&app, &url1).await.0, StatusCode::NOT_FOUND);
    assert_eq!(read(&app, &url2).await.0, StatusCode::OK);
    // The list shows the live feed only, and no secret.
    let list = app.get("/v1/calendar/feeds", &ws.key).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list:?}");
    assert_ne!(items[0]["id"], id1.as_str());
    let secret2 = url2.rsplit('/').next().unwrap().trim_end_matches(".ics");
    assert!(!list.body.to_string().contains(secret2));
    // Revoking again, or from another workspace, is 404.
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/calendar/feeds/{id1}"),
            Some(&ws.key),
            None,
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    let other = app.workspace("other").await;
    let (id3, url3) = new_feed(&app, &other.key).await;
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/calendar/feeds/{id3}"),
            Some(&ws.key),
            None,
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    assert_eq!(read(&app, &url3).await.0, StatusCode::OK);
}

#[tokio::test]
async fn forged_tampered_or_foreign_feed_urls_404_and_need_no_key_to_fail() {
    let app = App::new().await;
    let ws = app.workspace("mine").await;
    let other = app.workspace("theirs").await;
    let (_, url) = new_feed(&app, &ws.key).await;
    let path = &url[url.find("/ics/").unwrap()..];
    let parts: Vec<&str> = path.trim_start_matches("/ics/").split('/').collect();
    let (w, feed, secret) = (parts[0], parts[1], parts[2]);
    assert_eq!(w, ws.id);
    let mut flipped = secret.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    for forged in [
        format!("/ics/{}/{feed}/{secret}", other.id),
        format!("/ics/{w}/{feed}/{flipped}"),
        format!("/ics/{w}/{feed}/{}", secret.trim_end_matches(".ics")),
        format!("/ics/{w}/feed_{}/{secret}", "0".repeat(32)),
        format!("/ics/{w}/{feed}/.ics"),
        format!("/ics/not-a-workspace/{feed}/{secret}"),
    ] {
        let (status, _, _) = read(&app, &forged).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{forged}");
    }
    assert_eq!(read(&app, path).await.0, StatusCode::OK);
    // A workspace key cannot list another's posts through a feed either: creating needs a key.
    let a = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/calendar/feeds")
                .header(header::HOST, "herald.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    a.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_feed_url_is_absolute_on_the_host_it_was_asked_from() {
    let app = App::new().await;
    let ws = app.workspace("host").await;
    let a = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/calendar/feeds")
                .header(header::HOST, "herald.example")
                .header(header::AUTHORIZATION, format!("Bearer {}", ws.key))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let url = a.body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://herald.example/ics/{}/feed_", ws.id)),
        "{url}"
    );
    assert!(url.ends_with(".ics"), "{url}");
    // The secret is not what the table holds.
    let secret = url.rsplit('/').next().unwrap().trim_end_matches(".ics");
    assert_eq!(secret.len(), 64);
}

#[tokio::test]
async fn a_post_in_review_is_tentative_and_once_approved_the_feed_holds_it_confirmed() {
    let app = App::new().await;
    let ws = app.workspace("approvals").await;
    let account = app.sandbox(&ws, "brand").await;
    let (_, editor) = app.member(&ws, "editor").await;
    app.approvals(&ws, true).await;
    let (_, url) = new_feed(&app, &ws.key).await;
    let a = app
        .post(
            "/v1/posts",
            &editor,
            json!({"text": "Needs a yes", "accounts": [account], "scheduled_at": app.at(Duration::hours(3))}),
        )
        .await;
    let post = a.body["id"].as_str().unwrap().to_owned();
    let events = parse_with_icalendar(&read(&app, &url).await.2);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["STATUS"], "TENTATIVE");
    let a = app
        .post(&format!("/v1/posts/{post}/approve"), &ws.key, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let events = parse_with_icalendar(&read(&app, &url).await.2);
    assert_eq!(events[0]["STATUS"], "CONFIRMED");
    assert!(events[0]["UID"].as_str().unwrap().starts_with(&post));
    assert!(
        events[0]["DESCRIPTION"]
            .as_str()
            .unwrap()
            .contains("Needs a yes")
    );
}
