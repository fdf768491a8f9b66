//! The local stand-in for S3's presigned URLs: `PUT /blobs/{key}?...` stores an upload and
//! `GET /blobs/{key}?...` serves a blob, each only with a valid, unexpired signature for that
//! method, key, content type and (PUT) length. A PUT streams to the blob store and stops at
//! the signed length: a body larger than announced stores nothing (413). On AWS S3 itself
//! answers these URLs; this router is not part of the Lambda's.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use herald_adapters::FsBlobStore;
use herald_adapters::fs_blob::PresignedQuery;
use herald_ports::{BlobError, BlobStore};
use std::sync::Arc;

#[derive(Clone)]
struct Blobs {
    store: Arc<FsBlobStore>,
}

pub fn router(store: Arc<FsBlobStore>) -> Router {
    Router::new()
        .route(
            "/blobs/{*key}",
            axum::routing::get(serve).put(serve).head(serve),
        )
        .with_state(Blobs { store })
}

fn answer(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "type": "/problems/blob",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/problem+json".parse().expect("static"),
    );
    r
}

async fn serve(
    State(s): State<Blobs>,
    method: Method,
    Path(key): Path<String>,
    query: Result<Query<PresignedQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Query(q)) = query else {
        return answer(StatusCode::FORBIDDEN, "not a signed blob URL");
    };
    let signed_method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let content_type = if method == Method::PUT {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    } else {
        q.content_type.clone()
    };
    if let Err(e) = s
        .store
        .check_presigned(signed_method, &key, &q, &content_type)
    {
        return answer(StatusCode::FORBIDDEN, e.to_string());
    }
    if method == Method::PUT {
        put(
            &s,
            &key,
            &content_type,
            q.length.unwrap_or(0),
            &headers,
            body,
        )
        .await
    } else {
        get(&s, &key, method == Method::HEAD).await
    }
}

async fn put(
    s: &Blobs,
    key: &str,
    content_type: &str,
    max: u64,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let too_large = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("this upload was announced as {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    let mut pending = match s.store.begin_put(key).await {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            // The body stopped arriving (the server's body deadline, or the client went away).
            Err(e) => return answer(StatusCode::REQUEST_TIMEOUT, e.to_string()),
        };
        if pending.written() + chunk.len() as u64 > max {
            // Dropping the pending blob removes what was written.
            return too_large();
        }
        if let Err(e) = pending.write(&chunk).await {
            return failed(e);
        }
    }
    match s.store.commit(pending, content_type).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => failed(e),
    }
}

async fn get(s: &Blobs, key: &str, head_only: bool) -> Response {
    let size = match s.store.size(key).await {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let content_type = s
        .store
        .content_type(key)
        .await
        .unwrap_or_else(|_| herald_adapters::fs_blob::DEFAULT_CONTENT_TYPE.to_owned());
    let body = if head_only {
        Body::empty()
    } else {
        match s.store.open(key).await {
            Ok(reader) => Body::from_stream(tokio_util::io::ReaderStream::new(reader)),
            Err(e) => return failed(e),
        }
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn failed(e: BlobError) -> Response {
    match e {
        BlobError::NotFound(_) => answer(StatusCode::NOT_FOUND, "no such blob"),
        BlobError::InvalidKey(_) => answer(StatusCode::BAD_REQUEST, "invalid blob key"),
        BlobError::Unavailable(m) => {
            tracing::warn!(error = %m, "blob store failure");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "the blob store failed")
        }
    }
}
