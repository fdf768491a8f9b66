//! What Meta's Graph APIs share (Facebook Pages, Instagram, Threads): versioned hosts, the
//! error body, the usage headers that say when a throttled app may call again, and a small
//! client that sends the access token as the documented `access_token` parameter.
//!
//! References:
//! - Errors: developers.facebook.com/docs/graph-api/guides/error-handling
//!   (`{"error":{"message","type","code","error_subcode","is_transient","fbtrace_id"}}`).
//! - Rate limits: developers.facebook.com/docs/graph-api/overview/rate-limiting (codes 4, 17,
//!   32, 613 and 80001–80014; `X-App-Usage`, `X-Business-Use-Case-Usage` with
//!   `estimated_time_to_regain_access` in minutes).
//! - Long-lived tokens: developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
//!   (`GET /oauth/access_token?grant_type=fb_exchange_token`).

use crate::http::{error, kind_for_status, retry_after, send};
use crate::oauth::{self, OAuthApp, OAuthProvider};
use chrono::{DateTime, Utc};
use herald_domain::Platform;
use herald_ports::{AccountContext, Clock, NetworkError, NetworkErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The Graph API version Herald speaks (Meta keeps each version two years).
pub const GRAPH_VERSION: &str = "v24.0";
pub const FACEBOOK_GRAPH: &str = "https://graph.facebook.com/v24.0/";
/// Instagram API with Instagram Login (the flow `crate::oauth` uses): same endpoints as
/// graph.facebook.com for an IG user, no Facebook Page needed.
pub const INSTAGRAM_GRAPH: &str = "https://graph.instagram.com/v24.0/";
pub const THREADS_GRAPH: &str = "https://graph.threads.net/v1.0/";

/// How often and how long a container's processing is polled before the attempt gives up
/// (the container id is checkpointed, so the next attempt resumes the wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Polling {
    pub interval: Duration,
    pub attempts: u32,
}

impl Default for Polling {
    /// Meta suggests checking a container about once a minute for at most five minutes;
    /// images are usually ready at once, so Herald looks sooner and more often.
    fn default() -> Self {
        Polling {
            interval: Duration::from_secs(5),
            attempts: 60,
        }
    }
}

/// A base URL with a trailing slash, so `join("123/feed")` keeps the version segment.
pub fn base_url(s: &str) -> Url {
    let mut u = Url::parse(s).expect("a valid base URL");
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

/// A Graph API client for one network.
#[derive(Clone)]
pub struct Graph {
    pub http: reqwest::Client,
    pub base: Url,
    pub platform: Platform,
    pub clock: Arc<dyn Clock>,
}

impl Graph {
    pub fn new(
        http: reqwest::Client,
        base: Url,
        platform: Platform,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let base = base_url(base.as_str());
        Graph {
            http,
            base,
            platform,
            clock,
        }
    }

    /// The network's OAuth provider, refreshing long-lived tokens at `/refresh_access_token`
    /// on this client's host (Instagram, Threads), so a test double serves refreshes too.
    pub fn refreshing_provider(&self) -> OAuthProvider {
        let mut provider = oauth::provider(self.platform).expect("a Graph network uses OAuth");
        if let Ok(u) = self.base.join("/refresh_access_token") {
            provider.refresh_url = u;
        }
        provider
    }

    pub fn endpoint(&self, path: &str) -> Result<Url, NetworkError> {
        self.base.join(path).map_err(|e| {
            NetworkError::permanent(format!("{}: bad endpoint {path}: {e}", self.platform))
        })
    }

    pub async fn get(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, String)],
    ) -> Result<Value, NetworkError> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("access_token", token.to_owned()));
        let resp = send(self.http.get(self.endpoint(path)?).query(&q)).await?;
        self.read(resp).await
    }

    /// A form POST: Meta's documented way to send parameters to a Graph edge.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        form: &[(&str, String)],
    ) -> Result<Value, NetworkError> {
        let mut f: Vec<(&str, String)> = form.to_vec();
        f.push(("access_token", token.to_owned()));
        let resp = send(self.http.post(self.endpoint(path)?).form(&f)).await?;
        self.read(resp).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Result<Value, NetworkError> {
        let resp = send(
            self.http
                .delete(self.endpoint(path)?)
                .query(&[("access_token", token)]),
        )
        .await?;
        self.read(resp).await
    }

    /// `DELETE /{id}`; an answer of `"success": false` means the post is still there.
    pub async fn delete_post(&self, remote_id: &str, token: &str) -> Result<(), NetworkError> {
        let v = self.delete(remote_id, token).await?;
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            return Err(NetworkError::permanent(format!(
                "{}: the post {remote_id} was not deleted",
                self.platform
            )));
        }
        Ok(())
    }

    /// Pages through an account's recent posts since `since` (50 an answer, 5 answers at
    /// most) for the one whose text, normalised, is `want`: reconciliation after an attempt
    /// whose outcome is unknown. Returns its id and its link field as the network wrote it.
    pub async fn find_recent(
        &self,
        token: &str,
        lookup: &RecentPosts<'_>,
        want: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(String, Option<String>)>, NetworkError> {
        let mut after: Option<String> = None;
        for _ in 0..5 {
            let mut q = vec![
                ("fields", lookup.fields.to_owned()),
                ("since", since.timestamp().to_string()),
                ("limit", "50".to_owned()),
            ];
            if let Some(a) = &after {
                q.push(("after", a.clone()));
            }
            let v = self.get(lookup.edge, token, &q).await?;
            let mut older = false;
            for post in v
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(field) = lookup.time
                    && graph_time(post, field).is_some_and(|t| t < since)
                {
                    older = true;
                    continue;
                }
                let text = post.get(lookup.text).and_then(Value::as_str).unwrap_or("");
                if normalise(text) == want {
                    let link = post.get(lookup.link).and_then(Value::as_str);
                    return Ok(Some((id_of(self.platform, post)?, link.map(str::to_owned))));
                }
            }
            after = v
                .pointer("/paging/cursors/after")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if older || after.is_none() || v.pointer("/paging/next").is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn read(&self, resp: reqwest::Response) -> Result<Value, NetworkError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(|e| {
            NetworkError::uncertain(format!("{}: answer cut off: {e}", self.platform))
        })?;
        if !(200..300).contains(&status) {
            return Err(map_error(
                self.platform,
                status,
                &headers,
                &body,
                self.clock.now(),
            ));
        }
        serde_json::from_str(&body).map_err(|e| {
            NetworkError::uncertain(format!("{}: unreadable answer: {e}", self.platform))
        })
    }

    /// Waits until a publishing container (Instagram, Threads) is ready. `FINISHED` returns;
    /// `ERROR` and `EXPIRED` are permanent; `PUBLISHED` means an earlier attempt already
    /// published it, so the outcome must be looked up rather than published again.
    pub async fn wait_for_container(
        &self,
        container: &str,
        token: &str,
        fields: &str,
        status_field: &str,
        polling: Polling,
    ) -> Result<(), NetworkError> {
        for attempt in 0..polling.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(polling.interval).await;
            }
            let v = self
                .get(container, token, &[("fields", fields.to_owned())])
                .await?;
            let status = v.get(status_field).and_then(Value::as_str).unwrap_or("");
            let detail = ["status", "error_message"]
                .iter()
                .filter(|f| **f != status_field)
                .find_map(|f| v.get(*f).and_then(Value::as_str))
                .unwrap_or("")
                .to_owned();
            match status {
                "FINISHED" => return Ok(()),
                "ERROR" | "EXPIRED" => {
                    let mut e = NetworkError::permanent(format!(
                        "{}: media container {container} is {status}{}",
                        self.platform,
                        if detail.is_empty() {
                            String::new()
                        } else {
                            format!(": {detail}")
                        }
                    ));
                    e.code = Some(status.to_owned());
                    return Err(e);
                }
                "PUBLISHED" => {
                    return Err(NetworkError::uncertain(format!(
                        "{}: media container {container} was already published by an earlier attempt",
                        self.platform
                    )));
                }
                _ => {}
            }
        }
        Err(NetworkError::transient(format!(
            "{}: media container {container} is still processing; the next attempt resumes it",
            self.platform
        )))
    }
}

/// Reads a Graph error answer: Meta's own code and message, classified.
pub fn map_error(
    platform: Platform,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> NetworkError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let Some(e) = json.get("error").filter(|e| e.is_object()) else {
        let retry_at = retry_after(headers, now).or_else(|| usage_reset(headers, now));
        let text: String = body.chars().take(300).collect();
        return error(
            kind_for_status(status, retry_at),
            status,
            None,
            format!("{platform}: HTTP {status} {text}")
                .trim_end()
                .to_owned(),
        );
    };
    let code = e.get("code").and_then(Value::as_i64);
    let subcode = e.get("error_subcode").and_then(Value::as_i64);
    let transient = e.get("is_transient").and_then(Value::as_bool) == Some(true);
    let message = e
        .get("error_user_msg")
        .and_then(Value::as_str)
        .or_else(|| e.get("message").and_then(Value::as_str))
        .unwrap_or("request refused");
    let trace = e.get("fbtrace_id").and_then(Value::as_str);
    let mut text = format!("{platform}: {message}");
    if let Some(c) = code {
        text.push_str(&format!(" (code {c}"));
        if let Some(s) = subcode {
            text.push_str(&format!(", subcode {s}"));
        }
        if let Some(t) = trace {
            text.push_str(&format!(", fbtrace_id {t}"));
        }
        text.push(')');
    }
    let kind = classify(status, code, subcode, transient, headers, now);
    // The subcode is the more specific of the two (2207051, 2207042, ...).
    let code_str = subcode.or(code).map(|c| c.to_string());
    error(kind, status, code_str, text)
}

/// Meta's error codes in Herald's words.
pub fn classify(
    status: u16,
    code: Option<i64>,
    subcode: Option<i64>,
    is_transient: bool,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> NetworkErrorKind {
    let retry_at = || usage_reset(headers, now).or_else(|| retry_after(headers, now));
    match (code, subcode) {
        // 190: the token is invalid, expired or revoked (subcodes 458–467 say why);
        // 102: the session behind it ended.
        (Some(190) | Some(102), _) => NetworkErrorKind::Unauthorized,
        // Instagram's "publishing limit reached" for this account.
        (_, Some(2207042)) => NetworkErrorKind::RateLimited {
            retry_at: retry_at(),
        },
        (Some(4) | Some(17) | Some(32) | Some(613), _) => NetworkErrorKind::RateLimited {
            retry_at: retry_at(),
        },
        (Some(c), _) if (80001..=80014).contains(&c) => NetworkErrorKind::RateLimited {
            retry_at: retry_at(),
        },
        _ if is_transient => NetworkErrorKind::Transient,
        (Some(1) | Some(2), _) => NetworkErrorKind::Transient,
        // Instagram: media not ready yet, or a server-side failure worth another try.
        (_, Some(2207027) | Some(2207001) | Some(2207003) | Some(2207032)) => {
            NetworkErrorKind::Transient
        }
        _ if status == 429 => NetworkErrorKind::RateLimited {
            retry_at: retry_at(),
        },
        _ if status >= 500 => NetworkErrorKind::Transient,
        _ => NetworkErrorKind::Permanent,
    }
}

/// When a throttled app or account may call again, from `X-Business-Use-Case-Usage`
/// (`{"<id>":[{"type","call_count","total_cputime","total_time",
/// "estimated_time_to_regain_access"}]}`, minutes). `X-App-Usage` and `X-Page-Usage` give
/// percentages of a rolling hour and no time, so they set none.
pub fn usage_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let raw = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let v: Value = serde_json::from_str(raw).ok()?;
    let minutes = v
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_i64())
        .max()?;
    (minutes > 0).then(|| now + chrono::Duration::minutes(minutes))
}

/// The highest percentage any usage header reports (`X-App-Usage`, `X-Page-Usage`,
/// `X-Business-Use-Case-Usage`), for callers that slow down before Meta throttles.
pub fn usage_percent(headers: &HeaderMap) -> Option<i64> {
    let mut best: Option<i64> = None;
    let mut take = |obj: &Value| {
        for k in ["call_count", "total_cputime", "total_time"] {
            if let Some(n) = obj.get(k).and_then(Value::as_i64) {
                best = Some(best.map_or(n, |b| b.max(n)));
            }
        }
    };
    for name in ["x-app-usage", "x-page-usage"] {
        if let Some(v) = headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        {
            take(&v);
        }
    }
    if let Some(v) = headers
        .get("x-business-use-case-usage")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        for u in v
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
            .filter_map(Value::as_array)
            .flatten()
        {
            take(u);
        }
    }
    best
}

/// An error from the call that makes a post visible. A server-side failure there may still
/// have published, so it is uncertain rather than retryable; a refusal stays what it was.
pub fn after_side_effect(e: NetworkError) -> NetworkError {
    match e.kind {
        NetworkErrorKind::Transient => NetworkError {
            kind: NetworkErrorKind::Uncertain,
            ..e
        },
        _ => e,
    }
}

/// Text as a lookup compares it: whitespace runs collapsed, ends trimmed (networks trim and
/// re-wrap what they are sent).
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `expires_at` of credentials, if any.
pub fn expires_at(credentials: &Value) -> Option<DateTime<Utc>> {
    credentials
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Where [`Graph::find_recent`] looks: the edge listing an account's posts, the fields to ask
/// for, and which of them hold the text, the link and (where the edge may answer with posts
/// older than `since`, which end the search) the time.
pub struct RecentPosts<'a> {
    pub edge: &'a str,
    pub fields: &'a str,
    pub text: &'a str,
    pub link: &'a str,
    pub time: Option<&'a str>,
}

/// Renews a long-lived token (Instagram, Threads) once it has less than `margin` left. Meta's
/// refresh takes the current access token, not a refresh token; `token` reads it from the
/// account, and is asked only once a refresh is due and an app is there to make it.
pub async fn refresh_long_lived(
    graph: &Graph,
    provider: &OAuthProvider,
    app: Option<&OAuthApp>,
    account: &AccountContext,
    margin: chrono::Duration,
    now: DateTime<Utc>,
    token: impl FnOnce() -> Result<String, NetworkError>,
) -> Result<Option<Value>, NetworkError> {
    let Some(expires) = expires_at(&account.credentials) else {
        return Ok(None);
    };
    if expires - now > margin {
        return Ok(None);
    }
    let Some(app) = app else {
        return Err(NetworkError::permanent(format!(
            "{}: the token expires soon and no app is configured to renew it",
            graph.platform
        )));
    };
    let tokens = oauth::refresh(&graph.http, provider, app, &token()?, now).await?;
    Ok(Some(tokens.into_credentials(&account.credentials)))
}

/// Herald's Meta app, for exchanging tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaApp {
    pub client_id: String,
    pub client_secret: herald_domain::Secret,
}

/// Exchanges a Facebook user or Page token for a fresh long-lived one
/// (`GET /oauth/access_token?grant_type=fb_exchange_token`), keeping the other fields.
pub async fn exchange_long_lived(
    graph: &Graph,
    app: &MetaApp,
    credentials: &Value,
    token: &str,
) -> Result<Value, NetworkError> {
    let now = graph.clock.now();
    let v = graph
        .get(
            "oauth/access_token",
            token,
            &[
                ("grant_type", "fb_exchange_token".to_owned()),
                ("client_id", app.client_id.clone()),
                ("client_secret", app.client_secret.expose().to_owned()),
                ("fb_exchange_token", token.to_owned()),
            ],
        )
        .await?;
    let new_token = v
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            NetworkError::permanent(format!("{}: token exchange gave no token", graph.platform))
        })?;
    let mut out = credentials.as_object().cloned().unwrap_or_default();
    out.insert("access_token".into(), Value::String(new_token.to_owned()));
    match v.get("expires_in").and_then(Value::as_i64) {
        Some(secs) => {
            out.insert(
                "expires_at".into(),
                Value::String((now + chrono::Duration::seconds(secs)).to_rfc3339()),
            );
        }
        None => {
            out.remove("expires_at");
        }
    }
    Ok(Value::Object(out))
}

/// The value of a metric in an insights answer (`{"data":[{"name","values":[{"value"}]}]}`
/// or, for newer metrics, `"total_value":{"value"}`).
pub fn insight(v: &Value, name: &str) -> Option<u64> {
    let m = v
        .get("data")?
        .as_array()?
        .iter()
        .find(|m| m.get("name").and_then(Value::as_str) == Some(name))?;
    let value = m
        .get("total_value")
        .and_then(|t| t.get("value"))
        .or_else(|| m.get("values")?.as_array()?.last()?.get("value"))?;
    value.as_u64().or_else(|| value.as_f64().map(|f| f as u64))
}

/// Refuses, before any call, a request the network's documented limits already rule out.
pub fn check_limits(
    limits: &herald_domain::NetworkLimits,
    text: &str,
    title: Option<&str>,
    media: &[herald_ports::MediaRef],
) -> Result<(), NetworkError> {
    let facts: Vec<herald_domain::limits::MediaFacts> = media
        .iter()
        .map(|m| herald_domain::limits::MediaFacts {
            content_type: m.content_type.clone(),
            bytes: m.bytes,
            duration_seconds: m.duration_seconds,
            width: m.width,
            height: m.height,
        })
        .collect();
    let errors = limits.check("request", text, title, &facts);
    if errors.is_empty() {
        return Ok(());
    }
    let joined = errors
        .into_iter()
        .map(|e| e.message)
        .collect::<Vec<_>>()
        .join("; ");
    Err(NetworkError::permanent(joined))
}

/// The permalink of a Graph object, made absolute (video permalinks come back as paths).
pub fn absolute_permalink(link: &str) -> String {
    if link.starts_with('/') {
        format!("https://www.facebook.com{link}")
    } else {
        link.to_owned()
    }
}

/// The `id` of a Graph answer (a string, or a number in some older answers). Missing after a
/// create call means the outcome is unknown.
pub fn id_of(platform: Platform, v: &Value) -> Result<String, NetworkError> {
    v.get("id")
        .and_then(|i| {
            i.as_str()
                .map(str::to_owned)
                .or_else(|| i.as_u64().map(|n| n.to_string()))
        })
        .ok_or_else(|| NetworkError::uncertain(format!("{platform}: the answer has no id")))
}

/// A Graph timestamp field (`2025-01-31T12:00:00+0000`, or RFC 3339).
pub fn graph_time(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    let s = v.get(field)?.as_str()?;
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An error from the call that publishes a container (Instagram `media_publish`, Threads
/// `threads_publish`). Only answers that surely published nothing keep their kind: an invalid
/// token, a rate limit, or "media not ready" (Instagram subcode 2207027). Anything else —
/// Instagram's 2207051 included — may have gone live, so reconciliation must look before any
/// retry (Postiz PR #1681 posted twice by retrying here).
pub fn container_publish_error(e: NetworkError) -> NetworkError {
    let nothing_published = matches!(
        e.kind,
        NetworkErrorKind::Unauthorized | NetworkErrorKind::RateLimited { .. }
    ) || e.code.as_deref() == Some("2207027");
    if nothing_published {
        e
    } else {
        NetworkError {
            kind: NetworkErrorKind::Uncertain,
            ..e
        }
    }
}
