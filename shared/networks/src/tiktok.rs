//! TikTok through the Content Posting API v2 (open.tiktokapis.com), Direct Post.
//!
//! Credentials: `{"access_token", "refresh_token", "expires_at": RFC 3339, "open_id"?,
//! "refresh_expires_at"?}`. Access tokens live 24 hours; every refresh returns a new refresh
//! token that replaces the old one (developers.tiktok.com/doc/oauth-user-access-token-management).
//!
//! Publishing (developers.tiktok.com/doc/content-posting-api-reference-direct-post):
//! 1. `POST /v2/post/publish/creator_info/query/` first: the privacy levels this creator may
//!    use and the longest video they may post;
//! 2. video: `POST /v2/post/publish/video/init/` with `post_info` and `source_info`
//!    `FILE_UPLOAD` (`video_size`, `chunk_size`, `total_chunk_count` per the Media Transfer
//!    Guide), checkpoint `publish_id`; `PUT` each chunk to `upload_url` with `Content-Range`,
//!    checkpoint `uploaded`;
//!    photos: `POST /v2/post/publish/content/init/` with `media_type=PHOTO`, `PULL_FROM_URL`
//!    (the media URL prefix must be verified in TikTok's developer portal);
//! 3. `POST /v2/post/publish/status/fetch/` until `PUBLISH_COMPLETE` or `FAILED`.
//!
//! Unaudited apps: TikTok shows everything an unaudited app posts to the creator only, and
//! refuses posts to public accounts (`unaudited_client_can_only_post_to_private_accounts`).
//! Herald's choice: [`Visibility::PrivateOnly`] (the default, for an unaudited app) always
//! posts `SELF_ONLY` and says so through [`PRIVATE_ONLY_NOTICE`], which the API shows on TikTok
//! accounts; TikTok's refusal becomes a Permanent error whose message tells the user what to
//! do. Once the app passes TikTok's audit, [`Visibility::Widest`] posts with the widest level
//! the creator allows.

use crate::http::{self, credential, error, kind_for_status, retry_after, send};
use crate::meta::{Polling, check_limits, expires_at, normalise};
use crate::oauth::{self, OAuthApp, OAuthProvider};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::{RateLimit, RateScope, TextCounting};
use herald_domain::{NetworkLimits, Platform};
use herald_ports::{
    AccountContext, BlobStore, Checkpoint, Clock, Connector, NetworkError, NetworkErrorKind,
    PostMetrics, PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

pub const API_BASE: &str = "https://open.tiktokapis.com/";

/// TikTok limits:
/// - caption (video `title`, photo `description`) 2,200 UTF-16 code units; photo title 90
///   (content-posting-api-reference-direct-post, content-posting-api-reference-photo-post);
/// - video MP4, WebM or MOV up to 4 GB and 10 minutes (the creator's own maximum from
///   creator_info may be lower); photos JPEG or WebP up to 20 MB, at most 35
///   (content-posting-api-media-transfer-guide);
/// - 6 init requests per minute per user access token (same pages, "Restriction"); a daily
///   per-creator cap answers `spam_risk_too_many_posts`.
pub const LIMITS: NetworkLimits = NetworkLimits {
    platform: Platform::Tiktok,
    max_text: 2_200,
    counting: TextCounting::Chars,
    requires_media: true,
    max_images: 35,
    max_videos: 1,
    mixed_media: false,
    image_types: &["image/jpeg", "image/webp"],
    video_types: &["video/mp4", "video/webm", "video/quicktime"],
    max_image_bytes: Some(20 * 1024 * 1024),
    max_video_bytes: Some(4 * 1024 * 1024 * 1024),
    max_video_seconds: Some(600),
    image_aspect: None,
    video_aspect: None,
    max_title: Some(90),
    publish_limits: &[RateLimit {
        scope: RateScope::Account,
        max: 6,
        window_seconds: 60,
    }],
};

/// What to tell users of TikTok accounts while the app is unaudited.
pub const PRIVATE_ONLY_NOTICE: &str = "TikTok: this Herald app has not passed TikTok's audit yet, so TikTok \
shows its posts to the account owner only (private). The TikTok account itself must be set to \
private for TikTok to accept them.";

/// Chunk rules of the Media Transfer Guide: a file up to 64 MB goes whole (under 5 MB it must);
/// larger files go in chunks of 5–64 MB, the last one taking the trailing bytes (up to 128 MB),
/// `total_chunk_count = floor(size / chunk_size)`, at most 1,000 chunks.
pub const SINGLE_CHUNK_MAX: u64 = 64_000_000;
pub const CHUNK_SIZE: u64 = 10_000_000;
pub const MAX_CHUNKS: u64 = 1_000;

/// Access tokens (24 h) are refreshed when they have less than this left.
const REFRESH_MARGIN_MINUTES: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// An unaudited app: always `SELF_ONLY`.
    PrivateOnly,
    /// An audited app: the widest privacy level the creator allows.
    Widest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

/// How a video of `size` bytes is cut, per the Media Transfer Guide.
pub fn chunk_plan(size: u64) -> ChunkPlan {
    if size <= SINGLE_CHUNK_MAX {
        return ChunkPlan {
            chunk_size: size,
            total_chunk_count: 1,
        };
    }
    // Chunks grow past 10 MB only for files over 10 GB, beyond TikTok's 4 GB cap anyway.
    let chunk_size = CHUNK_SIZE.max(size.div_ceil(MAX_CHUNKS));
    ChunkPlan {
        chunk_size,
        total_chunk_count: size / chunk_size,
    }
}

/// Inclusive byte ranges of each chunk: the last one takes the trailing bytes.
pub fn chunk_ranges(size: u64, plan: ChunkPlan) -> Vec<(u64, u64)> {
    (0..plan.total_chunk_count)
        .map(|i| {
            let start = i * plan.chunk_size;
            let end = if i + 1 == plan.total_chunk_count {
                size - 1
            } else {
                start + plan.chunk_size - 1
            };
            (start, end)
        })
        .collect()
}

/// The privacy level a post uses, from the creator's options.
pub fn choose_privacy(visibility: Visibility, options: &[String]) -> Result<String, NetworkError> {
    let wanted: &[&str] = match visibility {
        Visibility::PrivateOnly => &["SELF_ONLY"],
        Visibility::Widest => &[
            "PUBLIC_TO_EVERYONE",
            "MUTUAL_FOLLOW_FRIENDS",
            "FOLLOWER_OF_CREATOR",
            "SELF_ONLY",
        ],
    };
    wanted
        .iter()
        .find(|w| options.iter().any(|o| o == *w))
        .map(|w| (*w).to_owned())
        .ok_or_else(|| {
            NetworkError::permanent(format!(
                "tiktok: the creator allows only {} and Herald may post {}",
                options.join(", "),
                wanted.join(" or ")
            ))
        })
}

/// Reads TikTok's error body `{"error":{"code","message","log_id"}}` and classifies it.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = json
        .pointer("/error/code")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message = json
        .pointer("/error/message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text: String = body.chars().take(300).collect();
            format!("HTTP {status} {text}").trim_end().to_owned()
        });
    let log_id = json.pointer("/error/log_id").and_then(Value::as_str);
    let in_an_hour = now + chrono::Duration::hours(1);
    let (kind, message) = match code.as_deref() {
        Some("access_token_invalid")
        | Some("scope_not_authorized")
        | Some("scope_permission_missed") => (NetworkErrorKind::Unauthorized, message),
        Some("rate_limit_exceeded") => (
            NetworkErrorKind::RateLimited {
                // The init limit is per minute: without a header, the next minute.
                retry_at: retry_after(headers, now).or(Some(now + chrono::Duration::minutes(1))),
            },
            message,
        ),
        // Daily caps (per creator, per app): TikTok does not say when they lift.
        Some("spam_risk_too_many_posts")
        | Some("spam_risk_too_many_pending_share")
        | Some("reached_active_user_cap") => (
            NetworkErrorKind::RateLimited {
                retry_at: Some(in_an_hour),
            },
            message,
        ),
        Some("unaudited_client_can_only_post_to_private_accounts") => (
            NetworkErrorKind::Permanent,
            format!(
                "{message}. Herald's TikTok app is not audited yet: set the TikTok account to private, or wait for the app's audit"
            ),
        ),
        Some("url_ownership_unverified") => (
            NetworkErrorKind::Permanent,
            format!(
                "{message}. The media URL's domain must be verified in TikTok's developer portal"
            ),
        ),
        Some("internal_error") => (NetworkErrorKind::Transient, message),
        _ => (kind_for_status(status, retry_after(headers, now)), message),
    };
    let mut text = format!("tiktok: {message}");
    if let Some(c) = &code {
        text.push_str(&format!(" ({c}"));
        if let Some(l) = log_id {
            text.push_str(&format!(", log_id {l}"));
        }
        text.push(')');
    }
    error(kind, status, code, text)
}

pub struct TiktokConnector {
    http: reqwest::Client,
    base: Url,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    provider: OAuthProvider,
    app: Option<OAuthApp>,
    polling: Polling,
    visibility: Visibility,
}

impl TiktokConnector {
    /// `base`: the API host (`API_BASE`); the token refresh goes to `/v2/oauth/token/` on it.
    /// `app` (client key and secret) is needed to refresh tokens.
    pub fn new(
        http: reqwest::Client,
        base: Url,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        app: Option<OAuthApp>,
        visibility: Visibility,
    ) -> Self {
        let base = crate::meta::base_url(base.as_str());
        let mut provider = oauth::provider(Platform::Tiktok).expect("TikTok uses OAuth");
        if let Ok(u) = base.join("v2/oauth/token/") {
            provider.refresh_url = u;
        }
        TiktokConnector {
            http,
            base,
            blobs,
            clock,
            provider,
            app,
            polling: Polling {
                interval: std::time::Duration::from_secs(5),
                attempts: 60,
            },
            visibility,
        }
    }

    pub fn production(
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        app: Option<OAuthApp>,
        visibility: Visibility,
    ) -> Self {
        Self::new(
            http::client(),
            Url::parse(API_BASE).expect("a valid URL"),
            blobs,
            clock,
            app,
            visibility,
        )
    }

    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    /// Whether posts go out private only (an unaudited app): show [`PRIVATE_ONLY_NOTICE`].
    pub fn is_private_only(&self) -> bool {
        self.visibility == Visibility::PrivateOnly
    }

    /// A JSON POST to the API; answers the `data` object, or the error the body carries
    /// (TikTok may answer 200 with an error code).
    async fn call(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, NetworkError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| NetworkError::permanent(format!("tiktok: bad endpoint {path}: {e}")))?;
        let resp = send(
            self.http
                .post(url)
                .query(query)
                .bearer_auth(token)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=UTF-8",
                )
                .body(body.to_string()),
        )
        .await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .map_err(|e| NetworkError::uncertain(format!("tiktok: answer cut off: {e}")))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = json.pointer("/error/code").and_then(Value::as_str);
        if !(200..300).contains(&status) || code.is_some_and(|c| c != "ok") {
            return Err(map_error(status, &headers, &text, self.clock.now()));
        }
        Ok(json.get("data").cloned().unwrap_or(Value::Null))
    }

    async fn status(&self, token: &str, publish_id: &str) -> Result<Value, NetworkError> {
        self.call(
            "v2/post/publish/status/fetch/",
            token,
            &[],
            &json!({ "publish_id": publish_id }),
        )
        .await
    }

    /// Polls until TikTok finishes: the public post id when there is one (a private post has
    /// none, so the publish id stands for it).
    async fn wait_published(&self, token: &str, publish_id: &str) -> Result<String, NetworkError> {
        for attempt in 0..self.polling.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.polling.interval).await;
            }
            let data = self.status(token, publish_id).await?;
            match data.get("status").and_then(Value::as_str).unwrap_or("") {
                "PUBLISH_COMPLETE" => {
                    let id = data
                        .get("publicaly_available_post_id")
                        .and_then(Value::as_array)
                        .and_then(|a| a.first())
                        .and_then(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .or_else(|| v.as_u64().map(|n| n.to_string()))
                        });
                    return Ok(id.unwrap_or_else(|| publish_id.to_owned()));
                }
                "FAILED" => {
                    let reason = data
                        .get("fail_reason")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned();
                    let mut e =
                        NetworkError::permanent(format!("tiktok: the post failed: {reason}"));
                    e.code = Some(reason);
                    return Err(e);
                }
                _ => {}
            }
        }
        Err(NetworkError::transient(format!(
            "tiktok: post {publish_id} is still processing; the next attempt resumes it"
        )))
    }

    async fn upload_video(
        &self,
        token: &str,
        request: &PublishRequest,
        privacy: &str,
        checkpoint: &dyn Checkpoint,
    ) -> Result<String, NetworkError> {
        let video = &request.media[0];
        let read_error = |e| NetworkError::transient(format!("tiktok: cannot read the video: {e}"));
        let size = self.blobs.size(&video.blob_key).await.map_err(read_error)?;
        let plan = chunk_plan(size);
        let body = json!({
            "post_info": {
                "title": request.text,
                "privacy_level": privacy,
                "disable_comment": false,
                "disable_duet": false,
                "disable_stitch": false,
            },
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.total_chunk_count,
            }
        });
        // A FILE_UPLOAD init publishes nothing until the bytes arrive, so its errors keep
        // their kind.
        let data = self
            .call("v2/post/publish/video/init/", token, &[], &body)
            .await?;
        let publish_id = field(&data, "publish_id")?;
        checkpoint.record("publish_id", &publish_id).await?;
        let upload_url = field(&data, "upload_url")?;
        for (start, end) in chunk_ranges(size, plan) {
            // One chunk in memory at a time (TikTok's chunks are 5 to 64 MB).
            let chunk = self
                .blobs
                .get_range(&video.blob_key, start..end + 1)
                .await
                .map_err(read_error)?;
            let resp = send(
                self.http
                    .put(&upload_url)
                    .header(reqwest::header::CONTENT_TYPE, video.content_type.as_str())
                    .header(
                        reqwest::header::CONTENT_RANGE,
                        format!("bytes {start}-{end}/{size}"),
                    )
                    .body(chunk),
            )
            .await?;
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) {
                let headers = resp.headers().clone();
                let text = resp.text().await.unwrap_or_default();
                return Err(map_error(status, &headers, &text, self.clock.now()));
            }
        }
        checkpoint.record("uploaded", &publish_id).await?;
        Ok(publish_id)
    }

    async fn init_photos(
        &self,
        token: &str,
        request: &PublishRequest,
        privacy: &str,
        checkpoint: &dyn Checkpoint,
    ) -> Result<String, NetworkError> {
        let urls: Vec<&str> = request.media.iter().map(|m| m.url.as_str()).collect();
        let mut post_info = json!({
            "description": request.text,
            "privacy_level": privacy,
            "disable_comment": false,
            "auto_add_music": true,
        });
        if let Some(t) = &request.title {
            post_info["title"] = json!(t);
        }
        let body = json!({
            "post_info": post_info,
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_cover_index": 0,
                "photo_images": urls,
            },
            "post_mode": "DIRECT_POST",
            "media_type": "PHOTO",
        });
        // TikTok fetches the photos itself: a server error here may still have started the
        // post, so the outcome must be looked up.
        let data = self
            .call("v2/post/publish/content/init/", token, &[], &body)
            .await
            .map_err(crate::meta::after_side_effect)?;
        let publish_id = field(&data, "publish_id")?;
        checkpoint.record("publish_id", &publish_id).await?;
        checkpoint.record("uploaded", &publish_id).await?;
        Ok(publish_id)
    }

    fn post_url(&self, account: &AccountContext, id: &str, photo: bool) -> Option<String> {
        // A private post has no public id: the publish id (`v_pub_...`, `p_pub_...`) has no page.
        if id.contains("pub") {
            return None;
        }
        let handle = account.handle.trim_start_matches('@');
        let kind = if photo { "photo" } else { "video" };
        Some(format!("https://www.tiktok.com/@{handle}/{kind}/{id}"))
    }
}

fn field(data: &Value, name: &str) -> Result<String, NetworkError> {
    data.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| NetworkError::uncertain(format!("tiktok: the answer has no {name}")))
}

/// Rules beyond [`LIMITS`]: the caption counted in UTF-16 as TikTok counts it, and no threads.
pub fn validate(request: &PublishRequest) -> Result<(), NetworkError> {
    check_limits(
        &LIMITS,
        &request.text,
        request.title.as_deref(),
        &request.media,
    )?;
    let units = request.text.encode_utf16().count();
    if units > LIMITS.max_text {
        return Err(NetworkError::permanent(format!(
            "tiktok: the caption is {units} UTF-16 units, the limit is {}",
            LIMITS.max_text
        )));
    }
    if !request.thread.is_empty() {
        return Err(NetworkError::permanent("tiktok: posts have no threads"));
    }
    Ok(())
}

#[async_trait]
impl Connector for TiktokConnector {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn limits(&self) -> NetworkLimits {
        LIMITS
    }

    async fn publish(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Published, NetworkError> {
        let token = credential(Platform::Tiktok, &account.credentials, &["access_token"])?;
        let photo = request
            .media
            .first()
            .is_some_and(|m| m.content_type.starts_with("image/"));
        let mut resume = None;
        if let Some(id) = request.progress.get("publish_id") {
            if request.progress.contains_key("uploaded") {
                resume = Some(id.clone());
            } else {
                // The upload may have finished before the crash: if TikTok has every byte (or
                // has moved on), wait for it; a partial upload cannot publish, so start over.
                let data = self.status(&token, id).await?;
                let status = data.get("status").and_then(Value::as_str).unwrap_or("");
                let uploaded = data
                    .get("uploaded_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let size = request.media.first().map_or(0, |m| m.bytes);
                if status != "PROCESSING_UPLOAD" || (size > 0 && uploaded >= size) {
                    resume = Some(id.clone());
                }
            }
        }
        let publish_id = match resume {
            Some(id) => id,
            None => {
                validate(request)?;
                let info = self
                    .call(
                        "v2/post/publish/creator_info/query/",
                        &token,
                        &[],
                        &json!({}),
                    )
                    .await?;
                let options: Vec<String> = info
                    .get("privacy_level_options")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o.as_str().map(str::to_owned))
                    .collect();
                let privacy = choose_privacy(self.visibility, &options)?;
                if let (Some(max), Some(d)) = (
                    info.get("max_video_post_duration_sec")
                        .and_then(Value::as_f64),
                    request.media.first().and_then(|m| m.duration_seconds),
                ) && !photo
                    && d > max
                {
                    return Err(NetworkError::permanent(format!(
                        "tiktok: the video is {d:.0} s long; this creator may post at most {max:.0} s"
                    )));
                }
                if photo {
                    self.init_photos(&token, request, &privacy, checkpoint)
                        .await?
                } else {
                    self.upload_video(&token, request, &privacy, checkpoint)
                        .await?
                }
            }
        };
        let id = self.wait_published(&token, &publish_id).await?;
        if self.is_private_only() {
            tracing::info!(post = %id, "tiktok post published private (unaudited app)");
        }
        Ok(Published {
            url: self.post_url(account, &id, photo),
            remote_id: id,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        let token = credential(Platform::Tiktok, &account.credentials, &["access_token"])?;
        let want = normalise(&request.text);
        let mut cursor: Option<i64> = None;
        for _ in 0..5 {
            let mut body = json!({ "max_count": 20 });
            if let Some(c) = cursor {
                body["cursor"] = json!(c);
            }
            let data = self
                .call(
                    "v2/video/list/",
                    &token,
                    &[("fields", "id,title,video_description,create_time,share_url")],
                    &body,
                )
                .await?;
            let mut older = false;
            for v in data
                .get("videos")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let created = v
                    .get("create_time")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX);
                if created < since.timestamp() {
                    older = true;
                    continue;
                }
                let matches = ["video_description", "title"].iter().any(|f| {
                    v.get(*f)
                        .and_then(Value::as_str)
                        .is_some_and(|t| !t.is_empty() && normalise(t) == want)
                });
                if matches {
                    let id = v
                        .get("id")
                        .and_then(|i| {
                            i.as_str()
                                .map(str::to_owned)
                                .or_else(|| i.as_u64().map(|n| n.to_string()))
                        })
                        .ok_or_else(|| {
                            NetworkError::transient("tiktok: a listed video has no id")
                        })?;
                    return Ok(Some(Published {
                        url: v
                            .get("share_url")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| self.post_url(account, &id, false)),
                        remote_id: id,
                    }));
                }
            }
            let more = data.get("has_more").and_then(Value::as_bool) == Some(true);
            cursor = data.get("cursor").and_then(Value::as_i64);
            if older || !more || cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn delete(&self, _account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        Err(NetworkError::permanent(format!(
            "tiktok: the API cannot delete posts; delete {remote_id} in the TikTok app"
        )))
    }

    async fn reply(
        &self,
        _account: &AccountContext,
        _remote_id: &str,
        _text: &str,
    ) -> Result<Published, NetworkError> {
        Err(NetworkError::permanent(
            "tiktok: the API offers no comment replies to this kind of app",
        ))
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let token = credential(Platform::Tiktok, &account.credentials, &["access_token"])?;
        let data = self
            .call(
                "v2/video/query/",
                &token,
                &[(
                    "fields",
                    "id,like_count,comment_count,share_count,view_count",
                )],
                &json!({ "filters": { "video_ids": [remote_id] } }),
            )
            .await?;
        let Some(v) = data.pointer("/videos/0") else {
            return Err(NetworkError::permanent(format!(
                "tiktok: no video {remote_id} on this account (private posts have no metrics)"
            )));
        };
        let n = |f: &str| v.get(f).and_then(Value::as_u64);
        Ok(PostMetrics {
            impressions: n("view_count"),
            reach: None,
            likes: n("like_count"),
            comments: n("comment_count"),
            shares: n("share_count"),
            saves: None,
            video_views: n("view_count"),
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let Some(expires) = expires_at(&account.credentials) else {
            return Ok(None);
        };
        if expires - now > chrono::Duration::minutes(REFRESH_MARGIN_MINUTES) {
            return Ok(None);
        }
        let Some(app) = &self.app else {
            return Err(NetworkError::permanent(
                "tiktok: the token expires soon and no TikTok app is configured to renew it",
            ));
        };
        let refresh = credential(Platform::Tiktok, &account.credentials, &["refresh_token"])?;
        let tokens = oauth::refresh(&self.http, &self.provider, app, &refresh, now).await?;
        let extra = tokens.extra.clone();
        let mut creds = tokens.into_credentials(&account.credentials);
        // The refresh token rotates (written by into_credentials) and has its own expiry.
        if let Some(secs) = extra.get("refresh_expires_in").and_then(Value::as_i64) {
            creds["refresh_expires_at"] =
                json!((now + chrono::Duration::seconds(secs)).to_rfc3339());
        }
        if let Some(open_id) = extra.get("open_id") {
            creds["open_id"] = open_id.clone();
        }
        Ok(Some(creds))
    }
}
