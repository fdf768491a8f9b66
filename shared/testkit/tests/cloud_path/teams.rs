//! Approvals, the audit log and a client review link through the intake binary on moto: the
//! audit layer's writes, the sealed link and the HTML page as Lambda serves them.

use crate::cloud::Cloud;
use crate::events::api_event;
use crate::{READY_WITHIN, call, workspace};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editors_post_is_approved_by_a_client_through_a_review_link_and_audited() {
    let cloud = Cloud::create("teams").await;
    let admin = "hk_admin_cloud-path-teams-0001";
    cloud.put_admin_key_parameter(admin).await;
    let mut intake = cloud.start("IntakeFunction", &[]).await;
    intake
        .ready(READY_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, owner) = workspace(&intake, admin, "Client A").await;
    let account = call(
        &intake,
        "POST",
        "/v1/accounts",
        &owner,
        json!({"platform": "sandbox", "handle": "brand"}),
    )
    .await;
    assert_eq!(account.0, 201, "{account:?}");
    let mut keys = Vec::new();
    for role in ["editor", "manager"] {
        let m = call(
            &intake,
            "POST",
            "/v1/members",
            &owner,
            json!({"name": role, "role": role}),
        )
        .await;
        assert_eq!(m.0, 201, "{m:?}");
        keys.push(m.1["api_key"].as_str().unwrap().to_owned());
    }
    let (editor, manager) = (&keys[0], &keys[1]);
    let on = call(
        &intake,
        "PATCH",
        "/v1/workspace",
        &owner,
        json!({"approvals": true}),
    )
    .await;
    assert_eq!(on.0, 200, "{on:?}");

    let now = chrono::Utc::now();
    let at = (now + chrono::Duration::hours(1)).to_rfc3339();
    let post = call(
        &intake,
        "POST",
        "/v1/posts",
        editor,
        json!({"text": "For the client", "accounts": [account.1["id"]], "scheduled_at": at}),
    )
    .await;
    assert_eq!(post.0, 201, "{post:?}");
    assert_eq!(post.1["status"], "in_review");
    let id = post.1["id"].as_str().unwrap().to_owned();

    let link = call(
        &intake,
        "POST",
        "/v1/review-links",
        manager,
        json!({"from": now.to_rfc3339(), "to": (now + chrono::Duration::days(2)).to_rfc3339()}),
    )
    .await;
    assert_eq!(link.0, 201, "{link:?}");
    let url = link.1["url"].as_str().unwrap();
    assert!(url.starts_with("https://api.example.test/review/"), "{url}");
    let path = &url["https://api.example.test".len()..];

    let page = intake
        .invoke(&api_event("GET", path, "", &serde_json::Value::Null))
        .await
        .unwrap();
    assert_eq!(page["statusCode"], 200, "{page}");
    let html = page["body"].as_str().unwrap();
    assert!(
        html.contains("For the client") && html.contains("Approve"),
        "{html}"
    );

    let approved = intake
        .invoke(&api_event(
            "POST",
            &format!("{path}/posts/{id}/approve"),
            "",
            &serde_json::Value::Null,
        ))
        .await
        .unwrap();
    assert_eq!(approved["statusCode"], 303, "{approved}");
    let view = call(
        &intake,
        "GET",
        &format!("/v1/posts/{id}"),
        &owner,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(view.1["status"], "scheduled", "{view:?}");
    assert_eq!(view.1["targets"][0]["status"], "scheduled");

    let window = format!(
        "/v1/audit?from={}&to={}",
        (now - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let audit = call(&intake, "GET", &window, &owner, serde_json::Value::Null).await;
    assert_eq!(audit.0, 200, "{audit:?}");
    let items = audit.1["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for wanted in [
        "POST /v1/workspaces",
        "POST /v1/members",
        "PATCH /v1/workspace",
        "POST /v1/posts",
        "POST /v1/review-links",
        "POST /review/{token}/posts/{id}/approve",
    ] {
        assert!(actions.contains(&wanted), "{wanted} not in {actions:?}");
    }
    let client = items
        .iter()
        .find(|e| e["action"] == "POST /review/{token}/posts/{id}/approve")
        .unwrap();
    assert!(client["actor"].as_str().unwrap().starts_with("client:rvl_"));
    assert_eq!(client["target"], id.as_str());
    cloud.assert_least_privilege();
}
