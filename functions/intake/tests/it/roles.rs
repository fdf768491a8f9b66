//! Every route of the router against the role table: each role's key gets 403 exactly where
//! its role may not go (API.md: viewer reads; editor writes posts; manager also manages
//! accounts, queues and webhooks; owner also members and settings). The ids in paths name
//! nothing, so an allowed request answers 404 or 422 and writes nothing; a forbidden one is
//! refused before its path or body is read.

use crate::support::{ADMIN, App, Ws};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use std::collections::BTreeSet;

/// Who a route lets in.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// No key needed (the key, if any, is not what decides).
    Public,
    /// The admin key only.
    Admin,
    /// No key: a Standard Webhooks signature decides (any key is no signature: 401).
    Signed,
    /// These member roles.
    Roles(&'static [&'static str]),
}

const ALL: Who = Who::Roles(&["viewer", "editor", "manager", "owner"]);
const EDITOR_UP: Who = Who::Roles(&["editor", "manager", "owner"]);
const MANAGER_UP: Who = Who::Roles(&["manager", "owner"]);
const OWNER: Who = Who::Roles(&["owner"]);

/// Every route the router serves. A route added without a line here fails
/// `every_route_of_the_router_is_in_the_role_table`.
const ROUTES: &[(&str, &str, Who)] = &[
    ("GET", "/", Who::Public),
    ("GET", "/assets/{file}", Who::Public),
    ("GET", "/healthz", Who::Public),
    ("GET", "/openapi.json", Who::Public),
    ("POST", "/v1/workspaces", Who::Admin),
    ("POST", "/v1/accounts", MANAGER_UP),
    ("GET", "/v1/accounts", ALL),
    ("GET", "/v1/accounts/{id}/queue", ALL),
    ("PUT", "/v1/accounts/{id}/queue", MANAGER_UP),
    ("POST", "/v1/posts", EDITOR_UP),
    ("GET", "/v1/posts", ALL),
    ("POST", "/v1/posts/measure", ALL),
    ("GET", "/v1/posts/{id}", ALL),
    ("DELETE", "/v1/posts/{id}", EDITOR_UP),
    ("PATCH", "/v1/posts/{id}", EDITOR_UP),
    ("POST", "/v1/posts/{id}/schedule", EDITOR_UP),
    ("POST", "/v1/posts/{id}/publish", EDITOR_UP),
    ("POST", "/v1/posts/{id}/approve", MANAGER_UP),
    ("POST", "/v1/posts/{id}/request-changes", MANAGER_UP),
    ("GET", "/v1/sandbox/{account}/outbox", ALL),
    ("POST", "/v1/sandbox/{account}/events", EDITOR_UP),
    ("GET", "/v1/inbox", ALL),
    ("GET", "/v1/inbox/auto-replies", ALL),
    ("PUT", "/v1/inbox/auto-replies", MANAGER_UP),
    ("GET", "/v1/inbox/{id}", ALL),
    ("POST", "/v1/inbox/{id}/reply", EDITOR_UP),
    ("POST", "/v1/inbox/{id}/assign", EDITOR_UP),
    ("POST", "/v1/inbox/{id}/dismiss", EDITOR_UP),
    (
        "GET",
        "/hooks/v1/networks/{platform}/{workspace}/{account}",
        Who::Public,
    ),
    (
        "POST",
        "/hooks/v1/networks/{platform}/{workspace}/{account}",
        Who::Public,
    ),
    ("GET", "/hooks/v1/networks/meta", Who::Public),
    ("POST", "/hooks/v1/networks/meta", Who::Public),
    ("GET", "/v1/accounts/{id}/webhook", MANAGER_UP),
    ("GET", "/v1/metrics/summary", ALL),
    ("GET", "/v1/metrics/best-times", ALL),
    ("GET", "/v1/metrics/top-tags", ALL),
    ("GET", "/v1/metrics/content-mix", ALL),
    ("GET", "/v1/metrics/networks", ALL),
    ("GET", "/v1/oauth/{platform}/start", MANAGER_UP),
    ("GET", "/v1/oauth/{platform}/callback", Who::Public),
    ("POST", "/v1/members", OWNER),
    ("GET", "/v1/members", ALL),
    ("DELETE", "/v1/members/{id}", OWNER),
    ("GET", "/v1/workspace", ALL),
    ("PATCH", "/v1/workspace", OWNER),
    ("GET", "/v1/audit", ALL),
    ("POST", "/v1/review-links", MANAGER_UP),
    ("DELETE", "/v1/review-links/{id}", MANAGER_UP),
    ("GET", "/review/{token}", Who::Public),
    ("POST", "/review/{token}/posts/{id}/approve", Who::Public),
    ("POST", "/review/{token}/posts/{id}/comments", Who::Public),
    ("POST", "/v1/calendar/feeds", EDITOR_UP),
    ("GET", "/v1/calendar/feeds", ALL),
    ("DELETE", "/v1/calendar/feeds/{id}", EDITOR_UP),
    ("GET", "/ics/{workspace}/{feed}/{secret}", Who::Public),
    ("POST", "/v1/posts/import", EDITOR_UP),
    ("POST", "/v1/webhooks/inbound-secret", MANAGER_UP),
    ("POST", "/v1/webhooks/endpoints", MANAGER_UP),
    ("GET", "/v1/webhooks/endpoints", MANAGER_UP),
    ("DELETE", "/v1/webhooks/endpoints/{id}", MANAGER_UP),
    ("POST", "/v1/webhooks/endpoints/{id}/secret", MANAGER_UP),
    ("POST", "/v1/webhooks/endpoints/{id}/enable", MANAGER_UP),
    ("GET", "/v1/webhooks/endpoints/{id}/deliveries", MANAGER_UP),
    ("POST", "/v1/webhooks/deliveries/{id}/redeliver", MANAGER_UP),
    ("POST", "/hooks/v1/{workspace}/posts", Who::Signed),
    ("POST", "/v1/media/uploads", EDITOR_UP),
    ("POST", "/v1/media/imports", EDITOR_UP),
    ("GET", "/v1/media/{id}", ALL),
];

/// A path with its parameters filled by ids that name nothing.
fn concrete(path: &str) -> String {
    let id = if path.starts_with("/v1/posts") {
        "post_00000000000000000000000000"
    } else if path.starts_with("/v1/members") {
        "mem_00000000000000000000000000"
    } else if path.starts_with("/v1/inbox") {
        "inb_00000000000000000000000000"
    } else if path.starts_with("/v1/accounts") {
        "acct_00000000000000000000000000"
    } else if path.starts_with("/v1/media") {
        "med_00000000000000000000000000"
    } else {
        "x0000000000000000000000000"
    };
    path.replace("{id}", id)
        .replace("{account}", "acct_00000000000000000000000000")
        .replace("{platform}", "x")
        .replace("{workspace}", "ws_00000000000000000000000000")
        .replace("{feed}", id)
        .replace("{secret}", id)
        .replace("{token}", id)
}

async fn request(app: &App, method: &str, path: &str, key: Option<&str>) -> crate::support::Answer {
    let method: Method = method.parse().expect("a method");
    let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
    app.call(method, &concrete(path), key, body).await
}

/// The workspace's owner, and a key of each other role made by that owner.
pub async fn team(app: &App) -> (Ws, Vec<(&'static str, String)>) {
    let ws = app.workspace("Agency").await;
    let mut keys = vec![("owner", ws.key.clone())];
    for role in ["manager", "editor", "viewer"] {
        let a = app
            .post("/v1/members", &ws.key, json!({"name": role, "role": role}))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        assert_eq!(a.body["role"], role);
        keys.push((
            role,
            a.body["api_key"].as_str().expect("api_key").to_owned(),
        ));
    }
    (ws, keys)
}

#[tokio::test]
async fn each_role_gets_403_exactly_where_the_role_table_says() {
    let app = App::new().await;
    let (ws, keys) = team(&app).await;
    let before = app.snapshot(&ws).await;
    let mut wrong = Vec::new();
    for (method, path, who) in ROUTES {
        for (role, key) in &keys {
            let a = request(&app, method, path, Some(key)).await;
            let allowed = match who {
                Who::Public => true,
                Who::Admin | Who::Signed => false,
                Who::Roles(roles) => roles.contains(role),
            };
            let ok = if matches!(who, Who::Signed) {
                a.status == StatusCode::UNAUTHORIZED
            } else if allowed {
                a.status != StatusCode::FORBIDDEN && a.status != StatusCode::UNAUTHORIZED
            } else {
                a.status == StatusCode::FORBIDDEN
                    && a.header("content-type") == Some("application/problem+json")
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {role}: {} {}",
                    a.status, a.body
                ));
            }
        }
        // The admin key acts in no workspace: every workspace route refuses it.
        let a = request(&app, method, path, Some(ADMIN)).await;
        let admin_ok = match who {
            Who::Public | Who::Admin => a.status != StatusCode::FORBIDDEN,
            Who::Signed => a.status == StatusCode::UNAUTHORIZED,
            Who::Roles(_) => a.status == StatusCode::FORBIDDEN,
        };
        if !admin_ok {
            wrong.push(format!("{method} {path} as admin: {} {}", a.status, a.body));
        }
        // Without a key, only public routes answer anything but 401.
        let a = request(&app, method, path, None).await;
        if matches!(who, Who::Public) == (a.status == StatusCode::UNAUTHORIZED) {
            wrong.push(format!("{method} {path} without a key: {}", a.status));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Nothing any of it did wrote anything.
    assert_eq!(app.snapshot(&ws).await, before);
    let members = app.get("/v1/members", &ws.key).await;
    assert_eq!(
        members.body["items"].as_array().map(Vec::len),
        Some(4),
        "{members:?}"
    );
}

/// The methods a path answers, as its 405 lists them (HEAD comes with GET).
pub async fn methods_of(app: &App, path: &str) -> Vec<String> {
    let request = Request::builder()
        .method("TRACE")
        .uri(concrete(path))
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .expect("request");
    let a = app.send(request).await;
    assert_eq!(
        a.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "TRACE {path}: {a:?}"
    );
    a.header("allow")
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty() && m != "HEAD")
        .collect()
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_role_table() {
    let app = App::new().await;
    let mut served = BTreeSet::new();
    for path in herald_intake::paths() {
        for method in methods_of(&app, path).await {
            served.insert((method, path.to_owned()));
        }
    }
    let listed: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unlisted: Vec<_> = served.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&served).collect();
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "add each route to ROUTES in tests/it/roles.rs with the roles it allows;\n\
         served but not listed: {unlisted:?}\nlisted but not served: {gone:?}"
    );
    assert!(served.len() >= 20, "{served:?}");
}
