//! The web app: static files from `web/`, embedded in the binary, served at `/` and
//! `/assets/{file}` by the same router on Lambda and under `herald serve`. It talks to the
//! API like any other client, with a key the user types in. The files have no fingerprinted
//! names (there is no build step), so every answer says `no-cache` and carries an ETag: a
//! browser revalidates each file and gets a bodiless 304 when it has not changed.

use crate::extract::Path;
use crate::problem::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_app::AppError;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Files;

/// Only the app's own files and same-origin API calls; images and uploads may go to the
/// media URLs the API hands out (a presigned bucket URL on AWS, this server locally).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob: http: https:; \
media-src 'self' blob: http: https:; connect-src 'self' http: https:; \
style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(name: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let file = Files::get(name).ok_or(ApiError::App(AppError::NotFound("file")))?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Body::from(file.data.into_owned()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a header value"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if name.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    Ok(response)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "web",
    summary = "The web app",
    security(()),
    responses(
        (status = 200, description = "the app's page", body = String, content_type = "text/html"),
        (status = 304, description = "not modified since the ETag sent"),
    ),
)]
pub async fn index(headers: HeaderMap) -> Result<Response, ApiError> {
    serve("index.html", &headers)
}

/// `GET /assets/{file}`: the app's scripts, styles and images.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "web",
    summary = "A file of the web app",
    security(()),
    params(("file" = String, Path)),
    responses(
        (status = 200, description = "the file", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "image/svg+xml"),
            (String = "text/plain"),
        )),
        (status = 304, description = "not modified since the ETag sent"),
    ),
)]
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    // The page itself is served at `/` only, so that it has one address.
    if file == "index.html" {
        return Err(ApiError::App(AppError::NotFound("file")));
    }
    serve(&file, &headers)
}
