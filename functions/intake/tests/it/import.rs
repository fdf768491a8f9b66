//! CSV import: row by row with the rules of `POST /v1/posts`; refused rows named by number and
//! field; a dry run writes nothing; a retried import creates nothing new.

use crate::support::{App, Ws};
use axum::http::StatusCode;
use chrono::Duration;
use herald_domain::WorkspaceId;
use herald_ports::Query;
use herald_storage::keys;

/// The workspace's media items, as the table holds them.
async fn media_items(app: &App, ws: &Ws) -> Vec<herald_ports::Item> {
    let id = WorkspaceId::parse(&ws.id).unwrap();
    let pk = keys::media(&id, &herald_domain::MediaId::generate(0, 0)).pk;
    let items = app.deps.table.query_all(Query::table(pk)).await.unwrap();
    items
        .into_iter()
        .filter(|i| i["sk"].as_s().is_some_and(|sk| sk.starts_with("MEDIA#")))
        .collect()
}

async fn import_with_key(app: &App, ws: &Ws, key: &str, csv: &str) -> crate::support::Answer {
    let r = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/posts/import")
        .header("authorization", format!("Bearer {}", ws.key))
        .header("content-type", "text/csv")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(csv.to_owned()))
        .unwrap();
    app.send(r).await
}

#[tokio::test]
async fn a_media_url_imports_the_file_for_its_post_once_however_often_the_import_is_retried() {
    let app = App::new().await;
    let ws = app.workspace("media-url").await;
    let acct = app.sandbox(&ws, "a").await;
    let at = app.at(Duration::days(1));
    let csv = format!(
        "text,accounts,scheduled_at,media_url\n\
         with a picture,{acct},{at},https://images.example.com/spring/sale.jpg\n\
         no picture,{acct},{at},\n"
    );
    let dry = app
        .post_raw(
            "/v1/posts/import?dry_run=true",
            &ws.key,
            "text/csv",
            csv.clone(),
        )
        .await;
    assert_eq!(dry.body["valid_rows"], serde_json::json!([2, 3]), "{dry:?}");
    assert!(
        media_items(&app, &ws).await.is_empty(),
        "a dry run imports nothing"
    );

    let a = import_with_key(&app, &ws, "spring", &csv).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let b = import_with_key(&app, &ws, "spring", &csv).await;
    assert_eq!(a.body["created"], b.body["created"], "{b:?}");
    let post = app
        .post_view(&ws, a.body["created"][0].as_str().unwrap())
        .await;
    let media = post["media"].as_array().unwrap();
    assert_eq!(media.len(), 1, "{post}");
    assert_eq!(
        media_items(&app, &ws).await.len(),
        1,
        "one import for two tries"
    );
    let m = app
        .get(
            &format!("/v1/media/{}", media[0].as_str().unwrap()),
            &ws.key,
        )
        .await;
    assert_eq!(m.body["status"], "processing", "{m:?}");
    let plain = app
        .post_view(&ws, a.body["created"][1].as_str().unwrap())
        .await;
    assert_eq!(plain["media"], serde_json::json!([]));
}

#[tokio::test]
async fn a_row_refused_after_its_import_was_recorded_takes_the_import_back() {
    let app = App::new().await;
    let ws = app.workspace("media-refused").await;
    let acct = app.sandbox(&ws, "a").await;
    let past = app.at(-Duration::days(1));
    let csv = format!(
        "text,accounts,scheduled_at,media_url\nlate,{acct},{past},https://example.com/a.png\n"
    );
    for key in [None, Some("late")] {
        let a = match key {
            Some(k) => import_with_key(&app, &ws, k, &csv).await,
            None => {
                app.post_raw("/v1/posts/import", &ws.key, "text/csv", csv.clone())
                    .await
            }
        };
        assert_eq!(a.body["refused"][0]["field"], "scheduled_at", "{a:?}");
        assert!(
            media_items(&app, &ws).await.is_empty(),
            "{key:?}: the import stayed"
        );
    }
}

#[tokio::test]
async fn one_bad_row_is_reported_by_number_and_field_and_the_good_rows_are_created() {
    let app = App::new().await;
    let ws = app.workspace("import").await;
    let acct = app.sandbox(&ws, "a").await;
    let at = app.at(Duration::days(2));
    let past = app.at(-Duration::days(2));
    let csv = format!(
        "\u{feff}text,accounts,scheduled_at,tags,kind,media_url\r\n\
         \"first, with comma\r\nand a second line\",{acct},{at},a|b,social,\r\n\
         =cmd|' /C calc'!A0,{acct},{at},,,\r\n\
         late,{acct},{past},,,\r\n\
         pic,{acct},{at},,,http://169.254.169.254/latest/x.png\r\n\
         draft,{acct},,,promotional,\r\n"
    );
    let dry = app
        .post_raw(
            "/v1/posts/import?dry_run=true",
            &ws.key,
            "text/csv",
            csv.clone(),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    assert_eq!(dry.body["created"].as_array().unwrap().len(), 0);
    assert!(
        app.calendar(&ws).await.is_empty(),
        "a dry run creates nothing"
    );
    let a = app
        .post_raw("/v1/posts/import", &ws.key, "text/csv", csv)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["refused"], dry.body["refused"]);
    let refused: Vec<(u64, String)> = a.body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (3, "text".into()),
            (4, "scheduled_at".into()),
            (5, "media_url".into())
        ]
    );
    assert!(
        a.body["refused"][2]["message"]
            .as_str()
            .unwrap()
            .contains("169.254.169.254"),
        "the guard's reason: {a:?}"
    );
    assert!(
        media_items(&app, &ws).await.is_empty(),
        "no import for a refused URL"
    );
    let created = a.body["created"].as_array().unwrap();
    assert_eq!(created.len(), 2);
    let first = app.post_view(&ws, created[0].as_str().unwrap()).await;
    assert_eq!(first["text"], "first, with comma\nand a second line");
    assert_eq!(first["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(app.calendar(&ws).await.len(), 1, "the draft has no time");
}

#[tokio::test]
async fn a_retried_import_with_its_key_creates_nothing_new() {
    let app = App::new().await;
    let ws = app.workspace("retry").await;
    let acct = app.sandbox(&ws, "a").await;
    let csv = format!(
        "text,accounts,scheduled_at\nhello,{acct},{}\n",
        app.at(Duration::days(1))
    );
    let send = || async {
        let r = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/posts/import")
            .header("authorization", format!("Bearer {}", ws.key))
            .header("content-type", "text/csv")
            .header("idempotency-key", "import-1")
            .body(axum::body::Body::from(csv.clone()))
            .unwrap();
        app.send(r).await
    };
    let a = send().await;
    let b = send().await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["created"], b.body["created"]);
    assert_eq!(app.calendar(&ws).await.len(), 1);
}

#[tokio::test]
async fn bad_files_are_refused_whole_and_write_nothing() {
    let app = App::new().await;
    let ws = app.workspace("bad").await;
    let acct = app.sandbox(&ws, "a").await;
    let before = app.snapshot(&ws).await;
    let a = app
        .post_raw(
            "/v1/posts/import",
            &ws.key,
            "text/csv",
            format!("text,scheduled_at\nhi,{acct}\n"),
        )
        .await;
    a.invalid_field("accounts");
    let a = app
        .post_raw(
            "/v1/posts/import",
            &ws.key,
            "text/csv",
            format!("text,accounts,colour\nhi,{acct},red\n"),
        )
        .await;
    a.invalid_field("colour");
    let a = app
        .post_raw(
            "/v1/posts/import",
            &ws.key,
            "text/csv",
            b"text,accounts\nh\xffi,x\n".to_vec(),
        )
        .await;
    a.invalid_field("body");
    let big = format!("text,accounts\n{},{acct}\n", "x".repeat(10 * 1024 * 1024));
    let a = app
        .post_raw("/v1/posts/import", &ws.key, "text/csv", big)
        .await;
    a.problem(StatusCode::PAYLOAD_TOO_LARGE);
    let a = app
        .post_raw("/v1/posts/import", &ws.key, "application/json", "{}")
        .await;
    a.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.snapshot(&ws).await, before);
}

#[tokio::test]
async fn ten_thousand_rows_fit_in_one_import() {
    let app = App::new().await;
    let ws = app.workspace("big").await;
    let acct = app.sandbox(&ws, "a").await;
    let mut csv = String::from("text,accounts,tags\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "Post number {i} of the big import with some words,{acct},bulk\n"
        ));
    }
    let started = std::time::Instant::now();
    let a = app
        .post_raw("/v1/posts/import", &ws.key, "text/csv", csv)
        .await;
    eprintln!("10000-row import: {:?}", started.elapsed());
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.status);
    assert_eq!(a.body["created"].as_array().unwrap().len(), 10_000);
    assert!(a.body["refused"].as_array().unwrap().is_empty());
}
