//! Per-key request allowances: past them a key gets 429 with `Retry-After` until its window
//! renews, other keys are untouched, and the counters are in the table, so two routers (two
//! Lambda instances) over the same table share them.

use crate::support::{ADMIN, App};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use herald_app::api_rate::ApiLimits;
use std::sync::Arc;
use tower::ServiceExt;

async fn get(router: &axum::Router, key: &str) -> (StatusCode, Option<String>) {
    let request = Request::builder()
        .uri("/v1/accounts")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let answer = router.clone().oneshot(request).await.unwrap();
    let retry = answer
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status(), retry)
}

#[tokio::test]
async fn a_key_past_its_allowance_gets_429_with_retry_after_and_every_instance_shares_the_count() {
    let app = App::new().await;
    let ws = app.workspace("Busy").await;
    let other = app.workspace("Quiet").await;
    let limits = ApiLimits {
        per_second: 3,
        per_minute: 5,
    };
    let deps = Arc::new(app.deps.clone());
    let one = herald_intake::router_with_limits(deps.clone(), limits);
    let two = herald_intake::router_with_limits(deps, limits);
    // The clock stands at a whole second: three requests, over two instances, then 429.
    assert_eq!(get(&one, &ws.key).await.0, StatusCode::OK);
    assert_eq!(get(&two, &ws.key).await.0, StatusCode::OK);
    assert_eq!(get(&one, &ws.key).await.0, StatusCode::OK);
    let (status, retry) = get(&two, &ws.key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("1"));
    // Another key is not held back by this one.
    assert_eq!(get(&one, &other.key).await.0, StatusCode::OK);
    // The next second renews the per-second window; the minute's fifth is the last.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(get(&one, &ws.key).await.0, StatusCode::OK);
    assert_eq!(get(&one, &ws.key).await.0, StatusCode::OK);
    let (status, retry) = get(&one, &ws.key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = retry.unwrap().parse().unwrap();
    assert_eq!(wait, 59, "until the minute renews (the clock is at :01)");
    app.clock.advance(Duration::seconds(wait));
    assert_eq!(get(&one, &ws.key).await.0, StatusCode::OK);
    // A refused request took nothing; the admin key has an allowance of its own.
    let admin = get(&one, ADMIN).await.0;
    assert_ne!(admin, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_default_allowance_is_what_the_readme_states() {
    assert_eq!(
        ApiLimits::default(),
        ApiLimits {
            per_second: 50,
            per_minute: 1200
        }
    );
}
