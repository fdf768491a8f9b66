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
    UnsupportedMediaType,
    TooLarge,
    NotFound,
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
            ApiError::UnsupportedMediaType => problem(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json".into(),
                vec![],
            ),
            ApiError::TooLarge => problem(
                S::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
                "the body exceeds the size limit".into(),
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
