//! Contract tests for the OAuth 2 flow: consent URLs, code exchange and refresh, against a local
//! double of each network's token endpoint (shapes from the docs cited in src/oauth.rs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use herald_domain::Platform;
use herald_networks::oauth::{
    self, ClientAuth, OAuthApp, OAuthProvider, authorize_url, exchange_code, pkce_pair, provider,
};
use herald_ports::NetworkErrorKind;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn app() -> OAuthApp {
    OAuthApp {
        client_id: "client-1".into(),
        client_secret: "secret-1".into(),
        redirect_uri: "https://herald.example/v1/oauth/cb".into(),
    }
}

fn pointed_at(platform: Platform, server: &MockServer, token_path: &str) -> OAuthProvider {
    let mut p = provider(platform).unwrap();
    p.token_url = url::Url::parse(&format!("{}{token_path}", server.uri())).unwrap();
    p.refresh_url = p.token_url.clone();
    p
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn query(u: &url::Url) -> HashMap<String, String> {
    u.query_pairs().into_owned().collect()
}

#[test]
fn the_pkce_challenge_is_base64url_of_the_sha256_of_the_verifier() {
    let (verifier, challenge) = pkce_pair([7; 32]);
    assert_eq!(verifier.len(), 43);
    assert!(
        verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        challenge,
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    );
    // RFC 7636 appendix B's example.
    assert_eq!(
        oauth::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let (other, _) = pkce_pair([8; 32]);
    assert_ne!(verifier, other);
}

#[test]
fn the_x_consent_url_carries_an_s256_challenge_and_space_separated_scopes() {
    let p = provider(Platform::X).unwrap();
    let u = authorize_url(&p, &app(), "state-1", Some("chal"));
    assert_eq!(u.host_str(), Some("x.com"));
    assert_eq!(u.path(), "/i/oauth2/authorize");
    let q = query(&u);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "client-1");
    assert_eq!(q["redirect_uri"], "https://herald.example/v1/oauth/cb");
    assert_eq!(q["state"], "state-1");
    assert_eq!(q["code_challenge"], "chal");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "offline.access"));
    assert!(q["scope"].split(' ').any(|s| s == "tweet.write"));
}

#[test]
fn the_tiktok_consent_url_names_the_app_client_key_with_comma_separated_scopes() {
    let p = provider(Platform::Tiktok).unwrap();
    let u = authorize_url(&p, &app(), "s", None);
    assert_eq!(u.path(), "/v2/auth/authorize/");
    let q = query(&u);
    assert_eq!(q["client_key"], "client-1");
    assert!(!q.contains_key("client_id"));
    assert!(q["scope"].split(',').any(|s| s == "video.publish"));
    assert!(!q.contains_key("code_challenge"));
}

#[test]
fn the_linkedin_consent_url_has_no_pkce_and_every_oauth_network_has_a_provider() {
    let u = authorize_url(
        &provider(Platform::Linkedin).unwrap(),
        &app(),
        "s",
        Some("ignored"),
    );
    let q = query(&u);
    assert!(!q.contains_key("code_challenge"));
    assert!(q["scope"].split(' ').any(|s| s == "w_member_social"));
    for p in Platform::ALL {
        assert_eq!(provider(p).is_some(), p.uses_oauth(), "{p}");
    }
}

#[tokio::test]
async fn x_exchanges_a_code_with_the_verifier_and_basic_client_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", "Basic Y2xpZW50LTE6c2VjcmV0LTE="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": "acc-1",
            "scope": "tweet.read tweet.write users.read offline.access",
            "refresh_token": "ref-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = pointed_at(Platform::X, &server, "/2/oauth2/token");
    assert_eq!(p.client_auth, ClientAuth::Basic);
    let t = exchange_code(
        &reqwest::Client::new(),
        &p,
        &app(),
        "code-1",
        Some("verifier-1"),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(t.access_token, "acc-1");
    assert_eq!(t.refresh_token.as_deref(), Some("ref-1"));
    assert_eq!(t.expires_at, Some(now() + chrono::Duration::seconds(7200)));
    let sent = &server.received_requests().await.unwrap()[0];
    let f = form(&sent.body);
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "code-1");
    assert_eq!(f["code_verifier"], "verifier-1");
    assert_eq!(f["redirect_uri"], "https://herald.example/v1/oauth/cb");
    assert!(
        !f.contains_key("client_secret"),
        "the secret travels only in the header"
    );
}

#[tokio::test]
async fn x_refuses_to_exchange_without_the_pkce_verifier() {
    let server = MockServer::start().await;
    let p = pointed_at(Platform::X, &server, "/2/oauth2/token");
    let e = exchange_code(&reqwest::Client::new(), &p, &app(), "c", None, now())
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn linkedin_exchanges_and_refreshes_with_the_secret_in_the_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "li-acc",
            "expires_in": 5184000,
            "refresh_token": "li-ref",
            "refresh_token_expires_in": 31536000,
            "scope": "openid,profile,w_member_social"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=refresh_token"))
        // LinkedIn's refresh answer may carry no new refresh token: the old one stays valid.
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "li-acc-2",
            "expires_in": 5184000
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = pointed_at(Platform::Linkedin, &server, "/oauth/v2/accessToken");
    let http = reqwest::Client::new();
    let t = exchange_code(&http, &p, &app(), "code-2", None, now())
        .await
        .unwrap();
    assert_eq!(t.access_token, "li-acc");
    assert_eq!(t.extra["refresh_token_expires_in"], 31536000);
    let r = oauth::refresh(&http, &p, &app(), "li-ref", now())
        .await
        .unwrap();
    assert_eq!(r.access_token, "li-acc-2");
    assert_eq!(r.refresh_token.as_deref(), Some("li-ref"));
    let sent = server.received_requests().await.unwrap();
    for req in &sent {
        let f = form(&req.body);
        assert_eq!(f["client_id"], "client-1");
        assert_eq!(f["client_secret"], "secret-1");
        assert!(req.headers.get("authorization").is_none());
    }
    assert_eq!(form(&sent[1].body)["refresh_token"], "li-ref");
}

#[tokio::test]
async fn tiktok_exchanges_with_client_key_and_a_refresh_rotates_the_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains("client_key=client-1"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act.1",
            "expires_in": 86400,
            "open_id": "open-123",
            "refresh_expires_in": 31536000,
            "refresh_token": "rft.1",
            "scope": "user.info.basic,video.publish",
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rft.1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act.2",
            "expires_in": 86400,
            "open_id": "open-123",
            "refresh_expires_in": 31536000,
            "refresh_token": "rft.2",
            "scope": "user.info.basic,video.publish",
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = pointed_at(Platform::Tiktok, &server, "/v2/oauth/token/");
    let http = reqwest::Client::new();
    let t = exchange_code(&http, &p, &app(), "code-3", None, now())
        .await
        .unwrap();
    assert_eq!(t.extra["open_id"], "open-123");
    assert!(!form(&server.received_requests().await.unwrap()[0].body).contains_key("client_id"));

    // Stored credentials refreshed a little before expiry: the rotated token replaces the old
    // one and the network's ids stay.
    let stored = t.into_credentials(&json!({"open_id": "open-123"}));
    let later = now() + chrono::Duration::hours(23) + chrono::Duration::minutes(59);
    let fresh = oauth::refresh_if_due(
        &http,
        &p,
        &app(),
        &stored,
        later,
        chrono::Duration::minutes(10),
    )
    .await
    .unwrap()
    .expect("due");
    assert_eq!(fresh["access_token"], "act.2");
    assert_eq!(fresh["refresh_token"], "rft.2");
    assert_eq!(fresh["open_id"], "open-123");
}

#[tokio::test]
async fn tiktok_errors_in_a_200_body_are_errors_and_invalid_grant_means_reconnect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Refresh token is invalid or expired.",
            "log_id": "20230321190212B7B2B5E2A3E0D8F7"
        })))
        .mount(&server)
        .await;
    let p = pointed_at(Platform::Tiktok, &server, "/v2/oauth/token/");
    let e = oauth::refresh(&reqwest::Client::new(), &p, &app(), "rft.old", now())
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Unauthorized);
    assert_eq!(e.code.as_deref(), Some("invalid_grant"));
    assert!(e.message.contains("Refresh token is invalid or expired."));
}

#[tokio::test]
async fn a_token_endpoint_outage_is_transient_and_a_bad_client_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("code=outage"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("code=badclient"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed"
        })))
        .mount(&server)
        .await;
    let p = pointed_at(Platform::Linkedin, &server, "/oauth/v2/accessToken");
    let http = reqwest::Client::new();
    let e = exchange_code(&http, &p, &app(), "outage", None, now())
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Transient);
    let e = exchange_code(&http, &p, &app(), "badclient", None, now())
        .await
        .unwrap_err();
    assert_eq!(e.kind, NetworkErrorKind::Permanent);
    assert!(e.message.contains("Client authentication failed"));
}

#[tokio::test]
async fn meta_long_lived_tokens_refresh_with_a_get_carrying_the_current_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(wiremock::matchers::query_param(
            "grant_type",
            "th_refresh_token",
        ))
        .and(wiremock::matchers::query_param("access_token", "th-long"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "th-long-2",
            "token_type": "bearer",
            "expires_in": 5183944
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut p = provider(Platform::Threads).unwrap();
    p.refresh_url = url::Url::parse(&format!("{}/refresh_access_token", server.uri())).unwrap();
    let t = oauth::refresh(&reqwest::Client::new(), &p, &app(), "th-long", now())
        .await
        .unwrap();
    assert_eq!(t.access_token, "th-long-2");
}

#[test]
fn credentials_and_tokens_never_print_their_secrets() {
    let creds = oauth::OAuthCredentials::from_json(
        Platform::X,
        &json!({"access_token": "AT-very-secret", "refresh_token": "RT-very-secret"}),
    )
    .unwrap();
    let printed = format!("{creds:?}");
    assert!(!printed.contains("very-secret"), "{printed}");
    let app = OAuthApp {
        client_id: "client".into(),
        client_secret: "CS-very-secret".into(),
        redirect_uri: "https://herald.example/cb".into(),
    };
    let printed = format!("{app:?}");
    assert!(!printed.contains("very-secret"), "{printed}");
    assert!(printed.contains("client"), "{printed}");
}
