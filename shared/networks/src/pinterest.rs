//! Pinterest through API v5.
//!
//! Credentials (`AccountContext.credentials`), from the OAuth flow in [`crate::oauth`]:
//! `{"access_token", "refresh_token", "expires_at": RFC 3339, "board_id": "<board to pin to>"}`.
//!
//! Docs (developers.pinterest.com/docs/api/v5):
//! - `pins/create`: `POST /v5/pins` with `board_id`, `title` (100), `description` (500),
//!   `link`, `alt_text` (500) and `media_source`: `image_url` (Pinterest fetches the presigned
//!   GET), `multiple_image_urls` (2–5 `items`, a carousel) or `video_id` (+ `cover_image_url`).
//! - `media/create`, `media/get` and the content-apps guide "Creating video Pins": register
//!   with `POST /v5/media`, POST the file as multipart to `upload_url` with every field of
//!   `upload_parameters`, poll `GET /v5/media/{media_id}` until `status` is `succeeded`.
//! - `boards/list_pins` for reconciliation, `pins/delete`, `pins/analytics`.
//! - errors are `{"code": <int>, "message"}`; 429s carry `x-ratelimit-reset`
//!   (docs/reference/rate-limits).
//!
//! Pinterest's API has no endpoint to reply to comments, so `reply` is refused.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::RateScope;
use herald_domain::{NetworkLimits, Platform, RateLimit, TextCounting};
use herald_ports::{
    AccountContext, BlobStore, Checkpoint, Clock, Connector, MediaRef, NetworkError, PostMetrics,
    PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use crate::http::{deleted, error, kind_for_status, retry_after, send};
use crate::oauth::{self, OAuthApi, OAuthApp, OAuthCredentials};

pub const API_BASE: &str = "https://api.pinterest.com/";
/// Pinterest access tokens live 30 days: refresh a day ahead.
const REFRESH_MARGIN_HOURS: i64 = 24;
/// How many media status polls before the publish is given back as transient.
const MAX_STATUS_POLLS: u32 = 60;

/// Pins: title 100 and description 500 characters, alt text 500 (pins/create); a pin needs an
/// image or a video; carousels of 2–5 images (`multiple_image_urls`); images BMP, JPEG, PNG,
/// TIFF, GIF, WEBP up to 20 MB; videos MP4, MOV, M4V up to 2 GB, 4 s to 15 min (help
/// "Review Pin specs"). Publishing rate: Pinterest sets per-app, per-category quotas
/// (docs/reference/rate-limits); the 100 writes a minute per user here is the Standard
/// access "pins" write allowance Herald plans with.
pub fn limits() -> NetworkLimits {
    NetworkLimits {
        platform: Platform::Pinterest,
        max_text: 500,
        counting: TextCounting::Chars,
        requires_media: true,
        max_images: 5,
        max_videos: 1,
        mixed_media: false,
        image_types: &[
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "image/bmp",
            "image/tiff",
        ],
        video_types: &["video/mp4", "video/quicktime", "video/x-m4v"],
        max_image_bytes: Some(20 * 1024 * 1024),
        max_video_bytes: Some(2 * 1024 * 1024 * 1024),
        max_video_seconds: Some(15 * 60),
        image_aspect: None,
        video_aspect: None,
        max_title: Some(100),
        publish_limits: &[RateLimit {
            scope: RateScope::Account,
            max: 100,
            window_seconds: 60,
        }],
    }
}

pub struct PinterestConnector {
    api: OAuthApi,
    blobs: Arc<dyn BlobStore>,
    poll_pause: Duration,
}

impl PinterestConnector {
    pub fn new(
        http: reqwest::Client,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        app: OAuthApp,
    ) -> Self {
        PinterestConnector {
            api: OAuthApi::new(Platform::Pinterest, API_BASE, http, clock, app),
            blobs,
            poll_pause: Duration::from_secs(5),
        }
    }

    /// Points the API and the token endpoint (`/v5/oauth/token`) at `base`.
    pub fn with_base(mut self, base: Url) -> Self {
        self.api
            .set_token_url(base.join("v5/oauth/token").expect("relative path"));
        self.api.base = base;
        self
    }

    /// The pause between video status polls (tests set zero).
    pub fn with_poll_pause(mut self, pause: Duration) -> Self {
        self.poll_pause = pause;
        self
    }

    fn url(&self, path: &str) -> Url {
        self.api.url(path)
    }

    async fn call(&self, req: reqwest::RequestBuilder, token: &str) -> Result<Value, NetworkError> {
        let resp = send(req.bearer_auth(token)).await?;
        read(resp, self.api.clock.now()).await
    }

    /// Registers, uploads and waits for a video; its media id.
    async fn upload_video(&self, token: &str, media: &MediaRef) -> Result<String, NetworkError> {
        let bytes = self.blobs.get(&media.blob_key).await.map_err(|e| {
            NetworkError::transient(format!("pinterest: could not read media {}: {e}", media.id))
        })?;
        let reg = self
            .call(
                self.api
                    .http
                    .post(self.url("v5/media"))
                    .json(&json!({ "media_type": "video" })),
                token,
            )
            .await?;
        let media_id = reg
            .get("media_id")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::transient("pinterest: media register gave no media_id"))?
            .to_owned();
        let upload_url = reg
            .get("upload_url")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                NetworkError::transient("pinterest: media register gave no upload_url")
            })?;
        let mut form = reqwest::multipart::Form::new();
        if let Some(Value::Object(params)) = reg.get("upload_parameters") {
            for (k, v) in params {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                form = form.text(k.clone(), v);
            }
        }
        // The file part goes last: S3-style form uploads ignore fields after it.
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("video")
                .mime_str(&media.content_type)
                .map_err(|e| NetworkError::permanent(format!("pinterest: {e}")))?,
        );
        // The upload URL is a storage bucket, not the API: no bearer token.
        let resp = send(self.api.http.post(upload_url).multipart(form)).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            return Err(error(
                kind_for_status(status, None),
                status,
                None,
                format!(
                    "pinterest: video upload refused: {}",
                    text.chars().take(300).collect::<String>()
                ),
            ));
        }
        for _ in 0..MAX_STATUS_POLLS {
            let v = self
                .call(
                    self.api.http.get(self.url(&format!("v5/media/{media_id}"))),
                    token,
                )
                .await?;
            match v.get("status").and_then(Value::as_str) {
                Some("succeeded") => return Ok(media_id),
                Some("failed") => {
                    return Err(NetworkError::permanent(format!(
                        "pinterest: video processing failed for media {media_id}"
                    )));
                }
                _ => {
                    if !self.poll_pause.is_zero() {
                        tokio::time::sleep(self.poll_pause).await;
                    }
                }
            }
        }
        Err(NetworkError::transient(
            "pinterest: video still processing; try again later",
        ))
    }
}

async fn read(resp: reqwest::Response, now: DateTime<Utc>) -> Result<Value, NetworkError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .text()
        .await
        .map_err(|e| NetworkError::uncertain(format!("pinterest: the answer was cut off: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(map_error(status, &headers, &body, now));
    }
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&body)
        .map_err(|e| NetworkError::uncertain(format!("pinterest: unreadable answer: {e}")))
}

/// Reads a Pinterest error: `{"code", "message"}`. 401 is an invalid or revoked token; 429
/// waits for `x-ratelimit-reset` (seconds until the window resets; an epoch value is also
/// accepted) or `Retry-After`.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let s: String = body.chars().take(300).collect();
            if s.is_empty() {
                format!("Pinterest answered {status}")
            } else {
                s
            }
        });
    let code = json
        .get("code")
        .map(|c| c.to_string().trim_matches('"').to_owned());
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|n| {
            if n > 1_000_000_000 {
                DateTime::from_timestamp(n, 0).unwrap_or(now)
            } else {
                now + chrono::Duration::seconds(n)
            }
        })
        .or_else(|| retry_after(headers, now));
    let kind = kind_for_status(status, reset);
    error(kind, status, code, format!("pinterest: {message}"))
}

fn pin_url(id: &str) -> String {
    format!("https://www.pinterest.com/pin/{id}/")
}

/// What the description of a pin is: the request's text, cut to Pinterest's 500 characters.
fn description(request: &PublishRequest) -> String {
    request.text.chars().take(500).collect()
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[async_trait]
impl Connector for PinterestConnector {
    fn platform(&self) -> Platform {
        Platform::Pinterest
    }

    fn limits(&self) -> NetworkLimits {
        limits()
    }

    async fn publish(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Published, NetworkError> {
        if let Some(id) = request.progress.get("pin") {
            return Ok(Published {
                url: Some(pin_url(id)),
                remote_id: id.clone(),
            });
        }
        let token =
            OAuthCredentials::from_json(Platform::Pinterest, &account.credentials)?.access_token;
        let board = oauth::credential_str(Platform::Pinterest, &account.credentials, "board_id")?;
        let images: Vec<&MediaRef> = request
            .media
            .iter()
            .filter(|m| m.content_type.starts_with("image/"))
            .collect();
        let video = request
            .media
            .iter()
            .find(|m| m.content_type.starts_with("video/"));
        let media_source = match (video, images.as_slice()) {
            (Some(video), _) => {
                let media_id = match request.progress.get("media") {
                    Some(id) => id.clone(),
                    None => {
                        let id = self.upload_video(&token, video).await?;
                        checkpoint.record("media", &id).await?;
                        id
                    }
                };
                // The cover: an image attached beside the video, else Pinterest picks a frame.
                let mut src = json!({ "source_type": "video_id", "media_id": media_id });
                if let Some(cover) = images.first() {
                    src["cover_image_url"] = json!(cover.url);
                }
                src
            }
            (None, []) => {
                return Err(NetworkError::permanent(
                    "pinterest: a pin needs an image or a video",
                ));
            }
            (None, [one]) => json!({ "source_type": "image_url", "url": one.url }),
            (None, many) => json!({
                "source_type": "multiple_image_urls",
                "items": many.iter().map(|m| {
                    let mut item = json!({ "url": m.url });
                    if let Some(alt) = &m.alt_text { item["description"] = json!(alt); }
                    item
                }).collect::<Vec<_>>(),
            }),
        };
        let mut body = json!({
            "board_id": board,
            "description": description(request),
            "media_source": media_source,
        });
        if let Some(t) = &request.title {
            body["title"] = json!(t.chars().take(100).collect::<String>());
        }
        if let Some(l) = &request.link {
            body["link"] = json!(l);
        }
        if let Some(alt) = request.media.first().and_then(|m| m.alt_text.as_ref()) {
            body["alt_text"] = json!(alt.chars().take(500).collect::<String>());
        }
        let pin = self
            .call(self.api.http.post(self.url("v5/pins")).json(&body), &token)
            .await?;
        let id = pin
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::uncertain("pinterest: the pin answer carried no id"))?
            .to_owned();
        checkpoint.record("pin", &id).await?;
        Ok(Published {
            url: Some(pin_url(&id)),
            remote_id: id,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        if let Some(id) = request.progress.get("pin") {
            return Ok(Some(Published {
                url: Some(pin_url(id)),
                remote_id: id.clone(),
            }));
        }
        let token =
            OAuthCredentials::from_json(Platform::Pinterest, &account.credentials)?.access_token;
        let board = oauth::credential_str(Platform::Pinterest, &account.credentials, "board_id")?;
        let wanted = normalise(&description(request));
        let wanted_title = request
            .title
            .as_deref()
            .map(|t| normalise(&t.chars().take(100).collect::<String>()));
        let mut bookmark: Option<String> = None;
        for _ in 0..10 {
            let mut u = self.url(&format!("v5/boards/{board}/pins"));
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("page_size", "100");
                if let Some(b) = &bookmark {
                    q.append_pair("bookmark", b);
                }
            }
            let page = self.call(self.api.http.get(u), &token).await?;
            let items = page
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut older_than_since = false;
            for pin in &items {
                let created = pin.get("created_at").and_then(Value::as_str).and_then(|s| {
                    // Pinterest writes `2025-03-01T10:00:01` without an offset: UTC.
                    DateTime::parse_from_rfc3339(s)
                        .map(|t| t.with_timezone(&Utc))
                        .or_else(|_| {
                            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                                .map(|n| n.and_utc())
                        })
                        .ok()
                });
                if created.is_some_and(|t| t < since) {
                    older_than_since = true;
                    continue;
                }
                let desc = pin.get("description").and_then(Value::as_str).unwrap_or("");
                let title = pin.get("title").and_then(Value::as_str).map(normalise);
                let title_ok = wanted_title
                    .as_ref()
                    .is_none_or(|w| title.as_ref() == Some(w));
                if normalise(desc) == wanted
                    && title_ok
                    && let Some(id) = pin.get("id").and_then(Value::as_str)
                {
                    return Ok(Some(Published {
                        url: Some(pin_url(id)),
                        remote_id: id.to_owned(),
                    }));
                }
            }
            bookmark = page
                .get("bookmark")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if bookmark.is_none() || older_than_since {
                break;
            }
        }
        Ok(None)
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let token =
            OAuthCredentials::from_json(Platform::Pinterest, &account.credentials)?.access_token;
        deleted(
            self.call(
                self.api
                    .http
                    .delete(self.url(&format!("v5/pins/{remote_id}"))),
                &token,
            )
            .await,
        )
    }

    async fn reply(
        &self,
        _account: &AccountContext,
        _remote_id: &str,
        _text: &str,
    ) -> Result<Published, NetworkError> {
        Err(NetworkError::permanent(
            "pinterest: the Pinterest API offers no way to reply to comments",
        ))
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let token =
            OAuthCredentials::from_json(Platform::Pinterest, &account.credentials)?.access_token;
        let today = self.api.clock.now().date_naive();
        // Pin analytics reach back 90 days at most.
        let start = today - chrono::Duration::days(89);
        let mut u = self.url(&format!("v5/pins/{remote_id}/analytics"));
        u.query_pairs_mut()
            .append_pair("start_date", &start.to_string())
            .append_pair("end_date", &today.to_string())
            .append_pair(
                "metric_types",
                "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,VIDEO_MRC_VIEW,TOTAL_COMMENTS,TOTAL_REACTIONS",
            );
        let v = self.call(self.api.http.get(u), &token).await?;
        let summary = v.pointer("/all/summary_metrics");
        let n = |k: &str| {
            summary
                .and_then(|s| s.get(k))
                .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f as u64)))
        };
        Ok(PostMetrics {
            impressions: n("IMPRESSION"),
            reach: None,
            likes: n("TOTAL_REACTIONS"),
            comments: n("TOTAL_COMMENTS"),
            shares: None,
            saves: n("SAVE"),
            video_views: n("VIDEO_MRC_VIEW"),
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let margin = chrono::Duration::hours(REFRESH_MARGIN_HOURS);
        self.api
            .refresh_if_due(&account.credentials, now, margin)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_ports::NetworkErrorKind;

    #[test]
    fn a_reset_header_in_seconds_counts_from_now() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", "30".parse().unwrap());
        let e = map_error(
            429,
            &h,
            r#"{"code":8,"message":"Rate limit exceeded"}"#,
            now,
        );
        assert_eq!(
            e.kind,
            NetworkErrorKind::RateLimited {
                retry_at: Some(now + chrono::Duration::seconds(30))
            }
        );
        assert_eq!(e.code.as_deref(), Some("8"));
    }
}
