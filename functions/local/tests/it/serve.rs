//! `herald serve` as API.md describes the local server: the admin key made on first start and
//! printed once, data kept across restarts, and the networks a laptop can use enabled.

use crate::support;

use serde_json::json;
use support::Server;

const PRINTED: &str = "Admin key (shown once, keep it): ";

fn printed_keys(server: &Server) -> Vec<String> {
    server
        .log_text()
        .lines()
        .filter_map(|l| l.strip_prefix(PRINTED))
        .map(|k| k.trim().to_owned())
        .collect()
}

#[test]
fn the_first_start_prints_an_admin_key_once_and_it_still_works_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let logs = dir.path().to_owned();

    let first = Server::start(&data, &logs, 1, None);
    let keys = printed_keys(&first);
    assert_eq!(keys.len(), 1, "one key printed: {}", first.log_text());
    let admin = &keys[0];
    let (status, ws) = first.call(
        "POST",
        "/v1/workspaces",
        admin,
        Some(&json!({"name": "kept"})),
    );
    assert_eq!(status, 201, "{ws}");
    let ws_key = ws["api_key"].as_str().expect("api_key").to_owned();
    let (status, _) = first.call(
        "POST",
        "/v1/accounts",
        &ws_key,
        Some(&json!({"platform": "sandbox", "handle": "kept"})),
    );
    assert_eq!(status, 201);
    first.kill();

    let second = Server::start(&data, &logs, 2, None);
    assert!(
        printed_keys(&second).is_empty(),
        "the key is shown only on the first start: {}",
        second.log_text()
    );
    let (status, body) = second.call(
        "POST",
        "/v1/workspaces",
        admin,
        Some(&json!({"name": "again"})),
    );
    assert_eq!(status, 201, "the first key still works: {body}");
    let (status, accounts) = second.call("GET", "/v1/accounts", &ws_key, None);
    assert_eq!(status, 200, "{accounts}");
    assert_eq!(accounts["items"][0]["handle"], "kept", "{accounts}");
    let (status, _) = second.call("GET", "/v1/accounts", "not-a-key", None);
    assert_eq!(status, 401);
    // The key is stored hashed: its text appears nowhere in the data directory.
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(admin.len()).any(|w| w == admin.as_bytes()),
            "the admin key is stored in clear in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The networks connected by pasted credentials are enabled locally: without credentials the
/// answer names `credentials`, not "not enabled here" on `platform`.
#[test]
fn pasted_credential_networks_are_enabled_on_herald_serve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some("serve-admin"));
    let (status, ws) = server.call(
        "POST",
        "/v1/workspaces",
        "serve-admin",
        Some(&json!({"name": "nets"})),
    );
    assert_eq!(status, 201, "{ws}");
    let key = ws["api_key"].as_str().expect("api_key");
    for platform in ["bluesky", "mastodon"] {
        let (status, problem) = server.call(
            "POST",
            "/v1/accounts",
            key,
            Some(&json!({"platform": platform, "handle": "someone"})),
        );
        assert_eq!(status, 422, "{problem}");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, vec!["credentials"], "{platform}: {problem}");
    }
}
