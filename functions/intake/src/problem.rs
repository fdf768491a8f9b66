//! Errors at the HTTP edge: every failure becomes one RFC 9457 problem+json answer. Internal
//! details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_app::AppError;
use herald_domain::FieldError;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

/// An answer the API gives instead of a result.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    Malformed(String),
    /// A query or path parameter that cannot be read at all (400, naming it).
    BadParameter {
        field: String,
        message: String,
    },
    /// The body is not of the type the route takes (named).
    UnsupportedMediaType(&'static str),
    TooLarge,
    /// The body did not arrive within the server's body deadline.
    BodyTimeout,
    NotFound,
    /// The start-up work every request waits for (a secret's read, the admin key's install)
    /// failed: names what failed (a setting), never why (that is logged).
    Unavailable(String),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::App(AppError::invalid(field, message))
    }
}

fn problem(
    status: StatusCode,
    slug: &str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
) -> Response {
    let body = Problem {
        kind: format!("/problems/{slug}"),
        title,
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        match self {
            ApiError::Malformed(detail) => problem(
                S::BAD_REQUEST,
                "malformed",
                "Malformed request",
                detail,
                vec![],
            ),
            ApiError::BadParameter { field, message } => problem(
                S::BAD_REQUEST,
                "malformed",
                "Malformed request",
                format!("{field}: {message}"),
                vec![FieldError::new(field, message)],
            ),
            ApiError::BodyTimeout => problem(
                S::REQUEST_TIMEOUT,
                "body-timeout",
                "Request body too slow",
                "the body did not arrive in time".into(),
                vec![],
            ),
            ApiError::UnsupportedMediaType(expected) => problem(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("send the body as {expected}"),
                vec![],
            ),
            ApiError::TooLarge => problem(
                S::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
                "the body exceeds the size limit".into(),
                vec![],
            ),
            ApiError::Unavailable(subject) => problem(
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "Not ready to serve",
                format!(
                    "the server's start-up failed ({subject}); its log says why, and each request tries again"
                ),
                vec![],
            ),
            ApiError::NotFound => problem(
                S::NOT_FOUND,
                "not-found",
                "Not found",
                "no such resource".into(),
                vec![],
            ),
            ApiError::App(e) => match e {
                AppError::Unauthorized => {
                    let mut r = problem(
                        S::UNAUTHORIZED,
                        "unauthorized",
                        "Unauthorized",
                        e.to_string(),
                        vec![],
                    );
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    r
                }
                AppError::RateLimited(seconds) => {
                    let mut r = problem(
                        S::TOO_MANY_REQUESTS,
                        "rate-limited",
                        "Too many requests",
                        format!("this key's request allowance is spent; try again in {seconds} s"),
                        vec![],
                    );
                    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                        r.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                    r
                }
                AppError::BadSignature(detail) => problem(
                    S::UNAUTHORIZED,
                    "bad-signature",
                    "Signature refused",
                    detail,
                    vec![],
                ),
                AppError::Forbidden => problem(
                    S::FORBIDDEN,
                    "forbidden",
                    "Forbidden",
                    e.to_string(),
                    vec![],
                ),
                AppError::NotFound(what) => problem(
                    S::NOT_FOUND,
                    "not-found",
                    "Not found",
                    format!("{what} not found"),
                    vec![],
                ),
                AppError::Invalid(errors) => {
                    let detail = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    problem(
                        S::UNPROCESSABLE_ENTITY,
                        "invalid",
                        "Invalid request",
                        detail,
                        errors,
                    )
                }
                AppError::Conflict(detail) => {
                    problem(S::CONFLICT, "conflict", "Conflict", detail, vec![])
                }
                AppError::NetworkNotConfigured(p) => problem(
                    S::UNPROCESSABLE_ENTITY,
                    "invalid",
                    "Invalid request",
                    format!("{p} is not enabled on this server"),
                    vec![FieldError::new("platform", "not enabled")],
                ),
                // The network refused or failed a call made for the request (a reply): its
                // own words, which name no secret.
                AppError::Network(n) => problem(
                    S::BAD_GATEWAY,
                    "network",
                    "The network refused or failed",
                    n.message.clone(),
                    vec![],
                ),
                AppError::Storage(herald_ports::TableError::Throttled) => {
                    let mut r = problem(
                        S::TOO_MANY_REQUESTS,
                        "throttled",
                        "Too many requests",
                        "try again shortly".into(),
                        vec![],
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    r
                }
                other => {
                    tracing::error!(error = %other, "request failed");
                    problem(
                        S::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Internal error",
                        "something went wrong on our side; it was logged".into(),
                        vec![],
                    )
                }
            },
        }
    }
}

/// The last word on every answer: an error that is not a problem yet (axum's own 405, a
/// rejection of a layer) becomes one with the same status, keeping its headers (`Allow`).
pub async fn ensure_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (slug, title, detail) = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        (
            "method-not-allowed",
            "Method not allowed",
            format!("this path answers {allow}"),
        )
    } else if status.is_server_error() {
        tracing::error!(%status, body = %text, "a layer failed the request");
        (
            "internal",
            "Internal error",
            "something went wrong on our side; it was logged".into(),
        )
    } else {
        let detail = if text.is_empty() {
            status.canonical_reason().unwrap_or("refused").to_owned()
        } else {
            text
        };
        (
            "refused",
            status.canonical_reason().unwrap_or("Refused"),
            detail,
        )
    };
    let mut answer = problem(status, slug, title, detail, vec![]);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
