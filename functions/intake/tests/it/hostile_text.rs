//! Hostile content refused at compose time with 422 naming the field, changing nothing:
//! control characters in any text, a series without a near end, threads past a network's cap.

use crate::support::{App, Ws};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

struct Fixture {
    app: App,
    ws: Ws,
    acct: String,
}

impl Fixture {
    async fn new() -> Fixture {
        let app = App::new().await;
        let ws = app.workspace("Acme").await;
        let acct = app.sandbox(&ws, "acme").await;
        Fixture { app, ws, acct }
    }

    fn valid(&self) -> Value {
        json!({"text": "hello", "accounts": [self.acct], "scheduled_at": self.app.at(Duration::hours(2))})
    }

    /// Posts `body`, expects a 422 naming `field`, and that nothing was created.
    async fn refused(&self, body: Value, field: &str) -> String {
        let before = self.app.calendar(&self.ws).await.len();
        let a = self.app.post("/v1/posts", &self.ws.key, body.clone()).await;
        let message = a.invalid_field(field);
        assert_eq!(
            self.app.calendar(&self.ws).await.len(),
            before,
            "a refused post was written: {body}"
        );
        message
    }
}

const CONTROLS: [&str; 7] = [
    "\u{0}",
    "\u{1b}[31m",
    "\u{7}",
    "\u{7f}",
    "\u{85}",
    "\r",
    "\u{202e}",
];

#[tokio::test]
async fn control_characters_in_any_text_of_a_post_are_422_naming_the_field() {
    let f = Fixture::new().await;
    for bad in CONTROLS {
        let text = format!("hello {bad} world");
        let mut body = f.valid();
        body["text"] = json!(text);
        let message = f.refused(body, "text").await;
        assert!(message.contains("U+"), "{message}");

        let mut body = f.valid();
        body["tags"] = json!(["fine", "also fine", text]);
        f.refused(body, "tags[2]").await;

        for (name, value) in [
            ("text", json!(text)),
            ("title", json!(text)),
            ("first_comment", json!(text)),
            ("link", json!(format!("https://example.com/{bad}"))),
        ] {
            let mut body = f.valid();
            body["variants"] = json!({"sandbox": {name: value}});
            f.refused(body, &format!("variants.sandbox.{name}")).await;
        }
        let mut body = f.valid();
        body["variants"] = json!({"sandbox": {"thread": ["one", text]}});
        f.refused(body, "variants.sandbox.thread[1]").await;
    }
}

#[tokio::test]
async fn newlines_tabs_emoji_and_right_to_left_text_are_kept() {
    let f = Fixture::new().await;
    let text = "line one\n\tline two 👨‍👩‍👧 \u{2067}שלום\u{2069} \u{200f}مرحبا";
    let mut body = f.valid();
    body["text"] = json!(text);
    body["variants"] = json!({"sandbox": {"thread": ["a\nb"], "first_comment": "x\ty"}});
    let a = f.app.post("/v1/posts", &f.ws.key, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["text"], text);
}

#[tokio::test]
async fn control_characters_in_a_workspace_name_or_handle_are_422_naming_it() {
    let f = Fixture::new().await;
    for bad in CONTROLS.iter().chain(&["\n", "\t"]) {
        let a = f
            .app
            .post(
                "/v1/workspaces",
                crate::support::ADMIN,
                json!({"name": format!("Acme{bad}Corp")}),
            )
            .await;
        a.invalid_field("name");
        let a = f
            .app
            .post(
                "/v1/accounts",
                &f.ws.key,
                json!({"platform": "sandbox", "handle": format!("ac{bad}me")}),
            )
            .await;
        a.invalid_field("handle");
    }
    let accounts = f.app.get("/v1/accounts", &f.ws.key).await;
    assert_eq!(accounts.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_series_past_the_two_year_horizon_is_422_naming_until_or_count() {
    let f = Fixture::new().await;
    let start = f.app.now() + Duration::hours(2);
    for until in [
        "9999-12-31T00:00:00Z".to_owned(),
        "+10000-01-01T00:00:00Z".to_owned(),
        crate::support::rfc3339(start + Duration::days(732)),
    ] {
        let mut body = f.valid();
        body["recurrence"] = json!({"freq": "daily", "until": until});
        f.refused(body, "recurrence.until").await;
    }
    for (freq, interval, count) in [("weekly", 52, 1000), ("daily", 1, 1000), ("weekly", 1, 106)] {
        let mut body = f.valid();
        body["recurrence"] = json!({"freq": freq, "interval": interval, "count": count});
        f.refused(body, "recurrence.count").await;
    }
    // At the horizon itself it is fine.
    let mut body = f.valid();
    body["recurrence"] = json!({"freq": "weekly", "count": 105});
    let a = f.app.post("/v1/posts", &f.ws.key, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let mut body = f.valid();
    body["recurrence"] =
        json!({"freq": "daily", "until": crate::support::rfc3339(start + Duration::days(731))});
    let a = f.app.post("/v1/posts", &f.ws.key, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}

#[tokio::test]
async fn a_thread_past_the_networks_cap_is_422_naming_the_thread() {
    let f = Fixture::new().await;
    for n in [26, 5_000] {
        let thread: Vec<String> = (0..n).map(|i| format!("reply {i}")).collect();
        let mut body = f.valid();
        body["variants"] = json!({"sandbox": {"thread": thread}});
        let message = f.refused(body, "variants.sandbox.thread").await;
        assert!(message.contains("25"), "{message}");
    }
    let thread: Vec<String> = (0..25).map(|i| format!("reply {i}")).collect();
    let mut body = f.valid();
    body["variants"] = json!({"sandbox": {"thread": thread}});
    let a = f.app.post("/v1/posts", &f.ws.key, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}
