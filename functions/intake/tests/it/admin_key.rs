//! The admin key as an operator configures it (HERALD_ADMIN_KEY, or the SSM parameter on AWS):
//! one admin key at a time, matched exactly, stable across restarts and racing cold starts.

use crate::support::{ADMIN, App};
use axum::http::StatusCode;
use herald_app::Deps;
use herald_app::auth::{Principal, authenticate, check_admin_token, ensure_admin_key};
use herald_storage::embedded::EmbeddedTable;
use serde_json::json;
use std::sync::Arc;

const NEXT: &str = "hk_admin_second-admin-key-0123";

/// Whether `key` may create a workspace through the API.
async fn admits(app: &App, key: &str) -> bool {
    let a = app
        .post("/v1/workspaces", key, json!({"name": "Probe"}))
        .await;
    match a.status {
        StatusCode::CREATED => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected answer {other}: {a:?}"),
    }
}

/// The same services on a table of their own, with no admin key yet.
fn fresh(app: &App) -> Deps {
    Deps {
        table: Arc::new(EmbeddedTable::in_memory().expect("table")),
        ..app.deps.clone()
    }
}

async fn is_admin(deps: &Deps, key: &str) -> bool {
    match authenticate(deps, key).await {
        Ok(p) => p == Principal::Admin,
        Err(herald_app::AppError::Unauthorized) => false,
        Err(e) => panic!("authenticate failed: {e:?}"),
    }
}

#[tokio::test]
async fn a_new_admin_key_revokes_the_one_before() {
    let app = App::new().await;
    assert!(admits(&app, ADMIN).await);
    ensure_admin_key(&app.deps, Some(NEXT)).await.unwrap();
    assert!(!admits(&app, ADMIN).await, "the old admin key still works");
    assert!(admits(&app, NEXT).await);
    // Going back is a new configuration too: now the second one is revoked.
    ensure_admin_key(&app.deps, Some(ADMIN)).await.unwrap();
    assert!(admits(&app, ADMIN).await);
    assert!(!admits(&app, NEXT).await);
}

#[tokio::test]
async fn a_configured_key_is_matched_whole_never_by_its_bare_secret() {
    let app = App::new().await;
    ensure_admin_key(&app.deps, Some(NEXT)).await.unwrap();
    let bare = NEXT.strip_prefix("hk_admin_").unwrap();
    for wrong in [
        bare,
        &format!("hk_admin_{bare}x"),
        &NEXT[..NEXT.len() - 1],
        &NEXT.to_uppercase(),
    ] {
        assert!(!admits(&app, wrong).await, "{wrong} was taken for {NEXT}");
    }
    assert!(admits(&app, NEXT).await);
}

#[tokio::test]
async fn a_generated_admin_key_works_only_with_its_prefix_and_is_made_once() {
    let app = App::new().await;
    let deps = fresh(&app);
    let token = ensure_admin_key(&deps, None)
        .await
        .unwrap()
        .expect("a first start makes a key");
    let bare = token.strip_prefix("hk_admin_").expect("an hk_admin_ token");
    assert!(is_admin(&deps, &token).await);
    assert!(!is_admin(&deps, bare).await, "the bare secret was accepted");
    // A second start prints nothing and keeps the key.
    assert_eq!(ensure_admin_key(&deps, None).await.unwrap(), None);
    assert!(is_admin(&deps, &token).await);
    // Configuring one revokes the generated key.
    ensure_admin_key(&deps, Some(ADMIN)).await.unwrap();
    assert!(!is_admin(&deps, &token).await);
    assert!(is_admin(&deps, ADMIN).await);
}

#[tokio::test]
async fn restarting_with_the_same_key_keeps_it_valid() {
    let app = App::new().await;
    for _ in 0..3 {
        assert_eq!(
            ensure_admin_key(&app.deps, Some(ADMIN)).await.unwrap(),
            None
        );
        assert!(admits(&app, ADMIN).await);
    }
    // And with the key unset, the configured one stays and none is made up.
    assert_eq!(ensure_admin_key(&app.deps, None).await.unwrap(), None);
    assert!(admits(&app, ADMIN).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_starts_racing_with_the_same_key_all_succeed() {
    let app = App::new().await;
    let printed = cold_starts(&app.deps, &vec![Some(NEXT.to_owned()); 16]).await;
    assert!(printed.iter().all(Option::is_none), "{printed:?}");
    assert!(admits(&app, NEXT).await);
    assert!(!admits(&app, ADMIN).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_starts_racing_with_different_keys_leave_exactly_one() {
    let app = App::new().await;
    let keys: Vec<String> = (0..8).map(|i| format!("racing-admin-key-{i}")).collect();
    let configured: Vec<_> = keys.iter().cloned().map(Some).collect();
    cold_starts(&app.deps, &configured).await;
    let mut valid = 0;
    for key in keys.iter().map(String::as_str).chain([ADMIN]) {
        valid += usize::from(is_admin(&app.deps, key).await);
    }
    assert_eq!(valid, 1, "exactly one admin key is valid after the race");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_starts_racing_make_one_key_and_print_it_once() {
    let app = App::new().await;
    let deps = fresh(&app);
    let printed: Vec<String> = cold_starts(&deps, &vec![None; 8])
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(is_admin(&deps, &printed[0]).await);
}

#[tokio::test]
async fn an_unusable_admin_key_is_refused_at_start_and_changes_nothing() {
    let app = App::new().await;
    let ws_shaped = {
        let ws = app.workspace("Acme").await;
        format!("hk_{}_0123456789", ws.id)
    };
    for bad in [
        "short",
        "has a space in it",
        "tab\tinside-the-key",
        "nul\0inside-the-key",
        &"x".repeat(513),
        &ws_shaped,
    ] {
        assert!(check_admin_token(bad).is_err(), "{bad:?} was allowed");
        let e = ensure_admin_key(&app.deps, Some(bad)).await.unwrap_err();
        assert!(
            matches!(&e, herald_app::AppError::Invalid(f) if f[0].field == "HERALD_ADMIN_KEY"),
            "{e:?}"
        );
        assert!(!format!("{e:?}").contains(bad), "the error shows the key");
        assert!(
            admits(&app, ADMIN).await,
            "a refused key revoked the admin key"
        );
    }
    assert!(check_admin_token(&"x".repeat(512)).is_ok());
    assert!(check_admin_token("eight-ch").is_ok());
}

/// Cold starts at once, each on a runtime thread of its own: `keys[i]` configured (None: none).
async fn cold_starts(deps: &Deps, keys: &[Option<String>]) -> Vec<Option<String>> {
    let starts: Vec<_> = keys
        .iter()
        .cloned()
        .map(|key| {
            let deps = deps.clone();
            tokio::spawn(async move { ensure_admin_key(&deps, key.as_deref()).await })
        })
        .collect();
    let mut printed = Vec::new();
    for start in starts {
        printed.push(start.await.expect("no panic").expect("the start succeeds"));
    }
    printed
}
