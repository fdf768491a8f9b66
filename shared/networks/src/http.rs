//! What every connector shares: sending a request and classifying what came back.

use chrono::{DateTime, Utc};
use herald_domain::Platform;
use herald_ports::{NetworkError, NetworkErrorKind};
use serde_json::Value;
use std::time::Duration;

/// The HTTP client connectors use: bounded timeouts, no redirects to follow blindly.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(crate::tls::client_config())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

/// Sends a request. A failure before the request left (connect, DNS) is transient; a timeout or
/// broken connection after it may have been processed, so it is uncertain.
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, NetworkError> {
    request.send().await.map_err(|e| {
        if e.is_connect() || e.is_builder() {
            NetworkError::transient(format!("could not reach the network: {e}"))
        } else {
            NetworkError::uncertain(format!("no answer from the network: {e}"))
        }
    })
}

/// When a `Retry-After` header (seconds or an HTTP date) says to come back.
pub fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(now + chrono::Duration::seconds(secs));
    }
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An epoch-seconds reset header (X's `x-rate-limit-reset`, ...) as a time.
pub fn epoch_header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<DateTime<Utc>> {
    let secs = headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// The default reading of an HTTP status, for networks that use statuses conventionally.
/// Connectors refine it with their error bodies.
pub fn kind_for_status(status: u16, retry_at: Option<DateTime<Utc>>) -> NetworkErrorKind {
    match status {
        401 => NetworkErrorKind::Unauthorized,
        408 | 425 | 500 | 502 | 503 | 504 => NetworkErrorKind::Transient,
        429 => NetworkErrorKind::RateLimited { retry_at },
        _ => NetworkErrorKind::Permanent,
    }
}

/// A network error from a status and the network's own message.
pub fn error(
    kind: NetworkErrorKind,
    status: u16,
    code: Option<String>,
    message: String,
) -> NetworkError {
    NetworkError {
        kind,
        message,
        code,
        status: Some(status),
    }
}

/// A required string from the credentials JSON, trying several names.
pub fn credential(
    platform: Platform,
    credentials: &Value,
    names: &[&str],
) -> Result<String, NetworkError> {
    names
        .iter()
        .find_map(|n| match credentials.get(*n) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .ok_or_else(|| {
            NetworkError::new(
                NetworkErrorKind::Unauthorized,
                format!(
                    "{platform}: the account's credentials have no {}; connect it again",
                    names[0]
                ),
            )
        })
}

/// The answer to a delete: a post already gone (404) is what a delete wants.
pub fn deleted<T>(answer: Result<T, NetworkError>) -> Result<(), NetworkError> {
    match answer {
        Err(e) if e.status == Some(404) => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}
