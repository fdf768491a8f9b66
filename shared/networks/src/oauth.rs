//! The OAuth 2 authorization-code flow, as data per network plus four functions: a PKCE pair,
//! the consent URL, the code exchange and the refresh. The HTTP endpoints that drive it
//! (`/v1/oauth/{platform}/start` and `/callback`) live in the intake function.
//!
//! Endpoints and parameters follow each network's own documentation:
//! - X: docs.x.com "OAuth 2.0 Authorization Code Flow with PKCE" (PKCE required; confidential
//!   clients authenticate with HTTP Basic; access tokens live 2 h; `offline.access` gives a
//!   refresh token, and each refresh returns a new one).
//! - LinkedIn: learn.microsoft.com "Authorization Code Flow (3-legged OAuth)" and
//!   "Programmatic Refresh Tokens" (client id and secret in the form body; 60-day access tokens).
//! - Facebook Pages: developers.facebook.com "Manually Build a Login Flow" (Graph API dialog;
//!   no refresh grant: a long-lived Page token does not expire).
//! - Instagram: the "Instagram API with Instagram Login" (business login, no Facebook Page
//!   needed), developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login;
//!   tokens are refreshed with `grant_type=ig_refresh_token` on graph.instagram.com.
//! - Threads: developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
//!   (refresh with `grant_type=th_refresh_token`).
//! - Pinterest: developers.pinterest.com/docs/getting-started/authentication-and-scopes (HTTP
//!   Basic client auth; 30-day access tokens, refresh tokens that rotate).
//! - TikTok: developers.tiktok.com "Login Kit for Web" and "Manage User Access Tokens"
//!   (`client_key`, not `client_id`; comma-separated scopes; the web flow takes no PKCE —
//!   only Login Kit for Desktop requires a code challenge; refresh tokens rotate on refresh).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use herald_domain::Platform;
use herald_ports::{Clock, NetworkError, NetworkErrorKind};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use url::Url;

use crate::http::{error, kind_for_status, retry_after, send};

/// How the app proves itself at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` and `client_secret` as form fields.
    Body,
}

/// How a network renews an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshStyle {
    /// RFC 6749 §6: POST `grant_type=refresh_token` to the token URL.
    RefreshToken,
    /// Meta's long-lived token refresh: GET the refresh URL with `grant_type=<this>` and the
    /// current access token (Instagram Login: `ig_refresh_token`, Threads: `th_refresh_token`).
    MetaLongLived(&'static str),
    /// No refresh: the token does not expire (Facebook Page tokens) or a person must reconnect.
    None,
}

/// One network's OAuth 2 flow as data. The URLs are public fields so tests (and any
/// deployment behind a proxy) can point them elsewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuthProvider {
    pub platform: Platform,
    pub authorize_url: Url,
    pub token_url: Url,
    /// Where a [`RefreshStyle::MetaLongLived`] refresh goes; the token URL otherwise.
    pub refresh_url: Url,
    pub scopes: &'static [&'static str],
    /// Whether the flow carries an S256 code challenge.
    pub pkce: bool,
    pub scope_separator: &'static str,
    pub client_auth: ClientAuth,
    /// The name of the app id parameter: `client_id`, or TikTok's `client_key`.
    pub client_id_param: &'static str,
    pub extra_authorize_params: &'static [(&'static str, &'static str)],
    pub refresh: RefreshStyle,
    /// Whether a refresh answers with a new refresh token that replaces the old one.
    pub rotates_refresh_token: bool,
}

/// Herald's registration with a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: herald_domain::Secret,
    pub redirect_uri: String,
}

/// What a token endpoint answered.
#[derive(Clone, PartialEq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    /// Everything else the network sent (TikTok's `open_id`, Instagram's `user_id`,
    /// LinkedIn's `refresh_token_expires_in`, ...).
    pub extra: Value,
}

/// Tokens are credentials: their debug form names which are there, never what they are.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// The credentials JSON a connector reads: `access_token`, `refresh_token`, `expires_at`
    /// (RFC 3339) merged over `base` (which keeps network-specific ids such as `user_id`).
    pub fn into_credentials(self, base: &Value) -> Value {
        let mut out = match base {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        out.insert("access_token".into(), Value::String(self.access_token));
        if let Some(r) = self.refresh_token {
            out.insert("refresh_token".into(), Value::String(r));
        }
        match self.expires_at {
            Some(t) => {
                out.insert("expires_at".into(), Value::String(t.to_rfc3339()));
            }
            None => {
                out.remove("expires_at");
            }
        }
        if let Some(s) = self.scope {
            out.insert("scope".into(), Value::String(s));
        }
        Value::Object(out)
    }
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("provider URLs are valid constants")
}

/// The OAuth flow of a network, or None for networks connected otherwise.
pub fn provider(platform: Platform) -> Option<OAuthProvider> {
    let p = match platform {
        Platform::X => OAuthProvider {
            platform,
            authorize_url: url("https://x.com/i/oauth2/authorize"),
            token_url: url("https://api.x.com/2/oauth2/token"),
            refresh_url: url("https://api.x.com/2/oauth2/token"),
            // offline.access: without it X issues no refresh token.
            scopes: &[
                "tweet.read",
                "tweet.write",
                "users.read",
                "media.write",
                "offline.access",
            ],
            pkce: true,
            scope_separator: " ",
            client_auth: ClientAuth::Basic,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::RefreshToken,
            rotates_refresh_token: true,
        },
        Platform::Linkedin => OAuthProvider {
            platform,
            authorize_url: url("https://www.linkedin.com/oauth/v2/authorization"),
            token_url: url("https://www.linkedin.com/oauth/v2/accessToken"),
            refresh_url: url("https://www.linkedin.com/oauth/v2/accessToken"),
            // Member posting plus Page posting and statistics (Community Management API).
            scopes: &[
                "openid",
                "profile",
                "w_member_social",
                "w_organization_social",
                "r_organization_social",
                "rw_organization_admin",
            ],
            pkce: false,
            scope_separator: " ",
            client_auth: ClientAuth::Body,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::RefreshToken,
            rotates_refresh_token: false,
        },
        Platform::Facebook => OAuthProvider {
            platform,
            authorize_url: url("https://www.facebook.com/v23.0/dialog/oauth"),
            token_url: url("https://graph.facebook.com/v23.0/oauth/access_token"),
            refresh_url: url("https://graph.facebook.com/v23.0/oauth/access_token"),
            scopes: &[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "pages_manage_engagement",
                "read_insights",
            ],
            pkce: false,
            scope_separator: ",",
            client_auth: ClientAuth::Body,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::None,
            rotates_refresh_token: false,
        },
        Platform::Instagram => OAuthProvider {
            platform,
            authorize_url: url("https://www.instagram.com/oauth/authorize"),
            token_url: url("https://api.instagram.com/oauth/access_token"),
            refresh_url: url("https://graph.instagram.com/refresh_access_token"),
            scopes: &[
                "instagram_business_basic",
                "instagram_business_content_publish",
                "instagram_business_manage_comments",
                "instagram_business_manage_insights",
            ],
            pkce: false,
            scope_separator: ",",
            client_auth: ClientAuth::Body,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::MetaLongLived("ig_refresh_token"),
            rotates_refresh_token: false,
        },
        Platform::Threads => OAuthProvider {
            platform,
            authorize_url: url("https://threads.net/oauth/authorize"),
            token_url: url("https://graph.threads.net/oauth/access_token"),
            refresh_url: url("https://graph.threads.net/refresh_access_token"),
            scopes: &[
                "threads_basic",
                "threads_content_publish",
                "threads_manage_replies",
                "threads_manage_insights",
            ],
            pkce: false,
            scope_separator: ",",
            client_auth: ClientAuth::Body,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::MetaLongLived("th_refresh_token"),
            rotates_refresh_token: false,
        },
        Platform::Pinterest => OAuthProvider {
            platform,
            authorize_url: url("https://www.pinterest.com/oauth/"),
            token_url: url("https://api.pinterest.com/v5/oauth/token"),
            refresh_url: url("https://api.pinterest.com/v5/oauth/token"),
            scopes: &[
                "boards:read",
                "boards:write",
                "pins:read",
                "pins:write",
                "user_accounts:read",
            ],
            pkce: false,
            scope_separator: ",",
            client_auth: ClientAuth::Basic,
            client_id_param: "client_id",
            extra_authorize_params: &[],
            refresh: RefreshStyle::RefreshToken,
            rotates_refresh_token: true,
        },
        Platform::Tiktok => OAuthProvider {
            platform,
            authorize_url: url("https://www.tiktok.com/v2/auth/authorize/"),
            token_url: url("https://open.tiktokapis.com/v2/oauth/token/"),
            refresh_url: url("https://open.tiktokapis.com/v2/oauth/token/"),
            scopes: &[
                "user.info.basic",
                "video.publish",
                "video.upload",
                "video.list",
            ],
            pkce: false,
            scope_separator: ",",
            client_auth: ClientAuth::Body,
            client_id_param: "client_key",
            extra_authorize_params: &[],
            refresh: RefreshStyle::RefreshToken,
            rotates_refresh_token: true,
        },
        Platform::Sandbox | Platform::Mastodon | Platform::Bluesky => return None,
    };
    Some(p)
}

/// A PKCE verifier (43 characters of base64url from 32 random bytes, RFC 7636 §4.1) and its
/// S256 challenge, `base64url(sha256(verifier))`.
pub fn pkce_pair(bytes: [u8; 32]) -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = pkce_challenge(&verifier);
    (verifier, challenge)
}

pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The network's consent page for this app. `challenge` is sent only when the provider uses
/// PKCE.
pub fn authorize_url(
    provider: &OAuthProvider,
    app: &OAuthApp,
    state: &str,
    challenge: Option<&str>,
) -> Url {
    let mut u = provider.authorize_url.clone();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair(provider.client_id_param, &app.client_id);
        q.append_pair("redirect_uri", &app.redirect_uri);
        q.append_pair("scope", &provider.scopes.join(provider.scope_separator));
        q.append_pair("state", state);
        if provider.pkce
            && let Some(c) = challenge
        {
            q.append_pair("code_challenge", c);
            q.append_pair("code_challenge_method", "S256");
        }
        for (k, v) in provider.extra_authorize_params {
            q.append_pair(k, v);
        }
    }
    u
}

/// Trades the code from the callback for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    provider: &OAuthProvider,
    app: &OAuthApp,
    code: &str,
    verifier: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Tokens, NetworkError> {
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", app.redirect_uri.clone()),
    ];
    if provider.pkce {
        let v = verifier.ok_or_else(|| {
            NetworkError::permanent(format!(
                "{}: the code exchange needs the PKCE verifier",
                provider.platform
            ))
        })?;
        form.push(("code_verifier", v.to_owned()));
    }
    token_request(http, provider, &provider.token_url, app, form, now).await
}

/// A network's consent flow for this server's app: the `OAuthFlow` port the use cases see.
pub struct OAuthClient {
    http: reqwest::Client,
    provider: OAuthProvider,
    app: OAuthApp,
}

impl OAuthClient {
    pub fn new(http: reqwest::Client, provider: OAuthProvider, app: OAuthApp) -> Self {
        OAuthClient {
            http,
            provider,
            app,
        }
    }
}

#[async_trait::async_trait]
impl herald_ports::OAuthFlow for OAuthClient {
    fn uses_pkce(&self) -> bool {
        self.provider.pkce
    }

    fn consent_url(&self, state: &str, verifier: Option<&str>) -> Url {
        let challenge = verifier.map(pkce_challenge);
        authorize_url(&self.provider, &self.app, state, challenge.as_deref())
    }

    async fn exchange(
        &self,
        code: &str,
        verifier: Option<&str>,
        ids: &serde_json::Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<herald_domain::Secret<Value>, NetworkError> {
        let tokens =
            exchange_code(&self.http, &self.provider, &self.app, code, verifier, now).await?;
        let mut base = ids.clone();
        // Ids the network answered beside the tokens (TikTok's open_id, Instagram's user_id)
        // are kept; the caller's own win.
        if let Value::Object(extra) = &tokens.extra {
            for (k, v) in extra {
                if v.is_string() || v.is_number() {
                    base.entry(k.clone()).or_insert(v.clone());
                }
            }
        }
        Ok(tokens.into_credentials(&Value::Object(base)).into())
    }
}

/// New tokens from a refresh token (or, on Meta's long-lived tokens, from the current access
/// token, which is what `refresh_token` must then hold).
pub async fn refresh(
    http: &reqwest::Client,
    provider: &OAuthProvider,
    app: &OAuthApp,
    refresh_token: &str,
    now: DateTime<Utc>,
) -> Result<Tokens, NetworkError> {
    match provider.refresh {
        RefreshStyle::RefreshToken => {
            let form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh_token.to_owned()),
            ];
            let mut tokens =
                token_request(http, provider, &provider.refresh_url, app, form, now).await?;
            // Networks that do not rotate leave the old refresh token valid: keep it.
            if tokens.refresh_token.is_none() {
                tokens.refresh_token = Some(refresh_token.to_owned());
            }
            Ok(tokens)
        }
        RefreshStyle::MetaLongLived(grant) => {
            let mut u = provider.refresh_url.clone();
            u.query_pairs_mut()
                .append_pair("grant_type", grant)
                .append_pair("access_token", refresh_token);
            let resp = send(http.get(u)).await?;
            read_tokens(provider, resp, now).await
        }
        RefreshStyle::None => Err(NetworkError::permanent(format!(
            "{}: tokens cannot be refreshed; connect the account again",
            provider.platform
        ))),
    }
}

async fn token_request(
    http: &reqwest::Client,
    provider: &OAuthProvider,
    endpoint: &Url,
    app: &OAuthApp,
    mut form: Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<Tokens, NetworkError> {
    let mut req = http
        .post(endpoint.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    match provider.client_auth {
        ClientAuth::Basic => {
            let basic =
                STANDARD.encode(format!("{}:{}", app.client_id, app.client_secret.expose()));
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
            // X wants client_id in the body too for its PKCE flow; others ignore it.
            form.push(("client_id", app.client_id.clone()));
        }
        ClientAuth::Body => {
            form.push((provider.client_id_param, app.client_id.clone()));
            form.push(("client_secret", app.client_secret.expose().to_owned()));
        }
    }
    let resp = send(req.form(&form)).await?;
    read_tokens(provider, resp, now).await
}

async fn read_tokens(
    provider: &OAuthProvider,
    resp: reqwest::Response,
    now: DateTime<Utc>,
) -> Result<Tokens, NetworkError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.map_err(|e| {
        NetworkError::uncertain(format!("{}: token answer cut off: {e}", provider.platform))
    })?;
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    // TikTok answers some failures with 200 and an `error` field, so the body decides too.
    let has_token = json.get("access_token").and_then(Value::as_str).is_some();
    if !(200..300).contains(&status) || !has_token {
        return Err(map_token_error(
            provider.platform,
            status,
            &headers,
            &json,
            &body,
            now,
        ));
    }
    parse_tokens(json, now)
}

fn parse_tokens(json: Value, now: DateTime<Utc>) -> Result<Tokens, NetworkError> {
    let Value::Object(mut m) = json else {
        return Err(NetworkError::permanent("token answer is not an object"));
    };
    let access_token = m
        .remove("access_token")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let refresh_token = m
        .remove("refresh_token")
        .and_then(|v| v.as_str().map(str::to_owned));
    let expires_at = m
        .remove("expires_in")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .map(|secs| now + chrono::Duration::seconds(secs));
    let scope = m.remove("scope").and_then(|v| match v {
        Value::String(s) => Some(s),
        // Pinterest and Instagram may list scopes as an array.
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    });
    m.remove("token_type");
    Ok(Tokens {
        access_token,
        refresh_token,
        expires_at,
        scope,
        extra: Value::Object(m),
    })
}

/// A token endpoint's refusal. RFC 6749 §5.2 bodies (`error`, `error_description`), Meta's
/// `{"error":{"message","code","type"}}` and Pinterest's `{"code","message"}` are all read.
pub fn map_token_error(
    platform: Platform,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    json: &Value,
    raw: &str,
    now: DateTime<Utc>,
) -> NetworkError {
    let (code, message) = match json.get("error") {
        Some(Value::String(code)) => (
            Some(code.clone()),
            json.get("error_description")
                .and_then(Value::as_str)
                .unwrap_or(code)
                .to_owned(),
        ),
        Some(Value::Object(e)) => (
            e.get("code")
                .map(|c| c.to_string().trim_matches('"').to_owned()),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("token request refused")
                .to_owned(),
        ),
        _ => (
            json.get("code")
                .map(|c| c.to_string().trim_matches('"').to_owned()),
            json.get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let s: String = raw.chars().take(300).collect();
                    if s.is_empty() {
                        format!("token request answered {status}")
                    } else {
                        s
                    }
                }),
        ),
    };
    let retry_at = retry_after(headers, now);
    let kind = match code.as_deref() {
        // The grant (code or refresh token) is expired or revoked: a person must reconnect.
        Some("invalid_grant") | Some("access_denied") => NetworkErrorKind::Unauthorized,
        // Meta's code 190 is an invalid or expired OAuth token.
        Some("190") => NetworkErrorKind::Unauthorized,
        // X answers a revoked or used-up refresh token with invalid_request and this text.
        Some("invalid_request") if message.contains("token was invalid") => {
            NetworkErrorKind::Unauthorized
        }
        Some("temporarily_unavailable") | Some("server_error") => NetworkErrorKind::Transient,
        // invalid_client, unauthorized_client, invalid_request, invalid_scope: Herald's app
        // registration or request is wrong; retrying will not help.
        Some(_) if (200..300).contains(&status) || status == 400 || status == 401 => {
            NetworkErrorKind::Permanent
        }
        _ if (200..300).contains(&status) => NetworkErrorKind::Permanent,
        _ => kind_for_status(status, retry_at),
    };
    error(kind, status, code, format!("{platform}: {message}"))
}

/// The common part of an OAuth network's credentials JSON:
/// `{"access_token", "refresh_token"?, "expires_at"? (RFC 3339), ...network-specific ids}`.
#[derive(Clone, PartialEq)]
pub struct OAuthCredentials {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthCredentials")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl OAuthCredentials {
    /// Reads the credentials; an account without an access token must be connected again.
    pub fn from_json(platform: Platform, value: &Value) -> Result<Self, NetworkError> {
        let access_token = value
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                NetworkError::new(
                    NetworkErrorKind::Unauthorized,
                    format!("{platform}: the account has no access token; connect it again"),
                )
            })?
            .to_owned();
        let refresh_token = value
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let expires_at = value
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(OAuthCredentials {
            access_token,
            refresh_token,
            expires_at,
        })
    }

    /// Whether the access token expires before `now + margin` (never, when no expiry is known).
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at.is_some_and(|t| t <= now + margin)
    }
}

/// A network-specific string id from the credentials JSON (`user_id`, `person_urn`, ...).
/// Without it the request cannot be made at all: a permanent failure.
pub fn credential_str(
    platform: Platform,
    value: &Value,
    field: &str,
) -> Result<String, NetworkError> {
    crate::http::credential(platform, value, &[field])
        .map_err(|e| NetworkError::permanent(e.message))
}

/// `Connector::refresh_credentials` for OAuth networks: new credentials JSON when the token
/// expires within `margin`, keeping the network-specific ids; None while it is still good.
/// A refused refresh token comes back as `Unauthorized` (the account needs reconnecting).
pub async fn refresh_if_due(
    http: &reqwest::Client,
    provider: &OAuthProvider,
    app: &OAuthApp,
    credentials: &Value,
    now: DateTime<Utc>,
    margin: chrono::Duration,
) -> Result<Option<Value>, NetworkError> {
    let creds = OAuthCredentials::from_json(provider.platform, credentials)?;
    if !creds.expires_within(now, margin) {
        return Ok(None);
    }
    let grant = match provider.refresh {
        RefreshStyle::MetaLongLived(_) => creds.access_token.clone(),
        RefreshStyle::RefreshToken => creds.refresh_token.clone().ok_or_else(|| {
            NetworkError::new(
                NetworkErrorKind::Unauthorized,
                format!(
                    "{}: the token expires and there is no refresh token; connect the account again",
                    provider.platform
                ),
            )
        })?,
        RefreshStyle::None => return Ok(None),
    };
    let tokens = refresh(http, provider, app, &grant, now).await?;
    Ok(Some(tokens.into_credentials(credentials)))
}

/// What the connectors of the OAuth 2 networks with their own REST API (X, LinkedIn,
/// Pinterest) hold alike: the HTTP client, the API base, the clock, Herald's app and the
/// network's token endpoints.
pub struct OAuthApi {
    pub http: reqwest::Client,
    pub base: Url,
    pub clock: Arc<dyn Clock>,
    pub app: OAuthApp,
    pub provider: OAuthProvider,
}

impl OAuthApi {
    /// `api_base`: the network's production API base, a constant.
    pub fn new(
        platform: Platform,
        api_base: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        app: OAuthApp,
    ) -> Self {
        OAuthApi {
            http,
            base: Url::parse(api_base).expect("constant URL"),
            clock,
            app,
            provider: provider(platform).unwrap_or_else(|| panic!("{platform} uses OAuth")),
        }
    }

    /// Sends code exchanges and refreshes to `token_url` (a local double in tests).
    pub fn set_token_url(&mut self, token_url: Url) {
        self.provider.refresh_url = token_url.clone();
        self.provider.token_url = token_url;
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("relative API path")
    }

    /// Refreshes the account's tokens when they expire within `margin`.
    pub async fn refresh_if_due(
        &self,
        credentials: &Value,
        now: DateTime<Utc>,
        margin: chrono::Duration,
    ) -> Result<Option<Value>, NetworkError> {
        refresh_if_due(
            &self.http,
            &self.provider,
            &self.app,
            credentials,
            now,
            margin,
        )
        .await
    }
}
