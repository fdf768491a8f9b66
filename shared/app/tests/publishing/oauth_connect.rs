//! Connecting an OAuth account end to end against a double of X's token endpoint.

use crate::support::World;
use herald_app::oauth::{callback, start};
use herald_app::{AppError, accounts};
use herald_domain::Platform;
use herald_networks::oauth::{OAuthApp, OAuthClient, pkce_challenge, provider};
use std::collections::BTreeMap;
use std::sync::Arc;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn world_with_x(token_server: &MockServer) -> World {
    let mut w = World::new().await;
    let mut x = provider(Platform::X).unwrap();
    x.token_url = url::Url::parse(&format!("{}/2/oauth2/token", token_server.uri())).unwrap();
    let flow = OAuthClient::new(
        herald_networks::http::client(),
        x,
        OAuthApp {
            client_id: "herald-client".into(),
            client_secret: "shh".into(),
            redirect_uri: "https://herald.example/v1/oauth/x/callback".into(),
        },
    );
    let flow: Arc<dyn herald_ports::OAuthFlow> = Arc::new(flow);
    w.deps.oauth = Arc::new(BTreeMap::from([(Platform::X, flow)]));
    w
}

#[tokio::test]
async fn an_x_account_connects_through_consent_and_its_tokens_are_sealed() {
    let server = MockServer::start().await;
    let w = world_with_x(&server).await;
    let ids = serde_json::Map::from_iter([("user_id".to_owned(), "2244994945".into())]);
    let starter = herald_domain::Actor::Member(herald_domain::MemberId::generate(1, 7));
    let consent = start(&w.deps, &w.ws, starter.clone(), Platform::X, "@acme", ids)
        .await
        .unwrap();
    let query: BTreeMap<_, _> = consent.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "herald-client");
    assert_eq!(query["code_challenge_method"], "S256");
    let state = query["state"].clone();
    assert!(state.starts_with(w.ws.as_str()));

    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "bearer", "access_token": "AT-secret-123", "refresh_token": "RT-456",
            "expires_in": 7200, "scope": "tweet.write offline.access"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let account = callback(&w.deps, Platform::X, &state, "the-code")
        .await
        .unwrap();
    assert_eq!(account.platform, Platform::X);
    assert_eq!(account.handle, "@acme");
    // The connection is in the audit log, by whoever started it, written with the account.
    let now = herald_ports::Clock::now(w.deps.clock.as_ref());
    let log = herald_app::audit::page(
        &w.deps,
        &w.ws,
        now - chrono::Duration::hours(1),
        now + chrono::Duration::hours(1),
        &herald_app::page::PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(log.items.len(), 1, "{log:?}");
    assert_eq!(log.items[0].actor, starter);
    assert_eq!(log.items[0].target, account.id.as_str());

    // The verifier sent matches the challenge shown to the network.
    let sent = &server.received_requests().await.unwrap()[0];
    let body = String::from_utf8_lossy(&sent.body).to_string();
    let verifier = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("code_verifier="))
        .unwrap();
    assert_eq!(pkce_challenge(verifier), query["code_challenge"]);

    // Stored sealed: the token is nowhere in the table's items, yet opens for the network.
    let stored = w
        .deps
        .table
        .get(&herald_storage::keys::credentials(&w.ws, &account.id))
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{stored:?}").contains("AT-secret-123"));
    let full = accounts::get(&w.deps, &w.ws, &account.id).await.unwrap();
    let context = accounts::context(&w.deps, &full).await.unwrap();
    assert_eq!(context.credentials["access_token"], "AT-secret-123");
    assert_eq!(context.credentials["refresh_token"], "RT-456");
    assert_eq!(context.credentials["user_id"], "2244994945");

    // A state works once.
    let again = callback(&w.deps, Platform::X, &state, "the-code").await;
    assert!(matches!(again, Err(AppError::Invalid(_))), "{again:?}");
}

#[tokio::test]
async fn a_forged_or_foreign_state_creates_nothing() {
    let server = MockServer::start().await;
    let w = world_with_x(&server).await;
    for state in ["", "nonsense", &format!("{}.{}", w.ws, "0".repeat(64))] {
        let r = callback(&w.deps, Platform::X, state, "code").await;
        assert!(matches!(r, Err(AppError::Invalid(_))), "{state}: {r:?}");
    }
    let consent = start(
        &w.deps,
        &w.ws,
        herald_domain::Actor::WorkspaceKey,
        Platform::X,
        "@acme",
        Default::default(),
    )
    .await
    .unwrap();
    let state = consent
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let wrong_network = callback(&w.deps, Platform::Linkedin, &state, "code").await;
    assert!(matches!(wrong_network, Err(AppError::Invalid(_))));
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(accounts::list(&w.deps, &w.ws).await.unwrap().len(), 0);
}
