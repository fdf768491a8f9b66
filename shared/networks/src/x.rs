//! X (Twitter) through the X API v2.
//!
//! Credentials (`AccountContext.credentials`), from the OAuth 2 PKCE flow in [`crate::oauth`]:
//! `{"access_token", "refresh_token", "expires_at": RFC 3339, "user_id": "<numeric X id>"}`.
//!
//! Endpoints (docs.x.com/x-api):
//! - posts: `POST /2/tweets` (`text`, `media.media_ids`, `reply.in_reply_to_tweet_id`);
//!   `DELETE /2/tweets/:id`; `GET /2/tweets/:id?tweet.fields=public_metrics,...`;
//!   `GET /2/users/:id/tweets?start_time=...` (the user's timeline, for reconciliation).
//! - media (docs.x.com/x-api/media/quickstart/media-upload-chunked and
//!   .../media/initialize-media-upload): `POST /2/media/upload/initialize` (JSON:
//!   `media_type`, `total_bytes`, `media_category`), `POST /2/media/upload/:id/append`
//!   (multipart: `segment_index`, `media`), `POST /2/media/upload/:id/finalize`, then while
//!   `processing_info.state` is pending or in progress `GET /2/media/upload?command=STATUS&
//!   media_id=:id`; alt text through `POST /2/media/metadata`.
//! - rate limits (docs.x.com/x-api/fundamentals/rate-limits): 429 carries `x-rate-limit-reset`
//!   (epoch seconds), and on `POST /2/tweets` the 24-hour user cap `x-user-limit-24hour-reset`;
//!   no `Retry-After`.
//!
//! Threads are replies to the previous post; X has no "first comment" practice, so
//! `first_comment` is ignored here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::{AspectRange, RateScope};
use herald_domain::{NetworkLimits, Platform, RateLimit, TextCounting};
use herald_ports::{
    AccountContext, BlobStore, Checkpoint, Clock, Connector, MediaRef, NetworkError,
    NetworkErrorKind, PostMetrics, PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use crate::http::{deleted, epoch_header, error, kind_for_status, send};
use crate::oauth::{self, OAuthApi, OAuthApp, OAuthCredentials};

pub const API_BASE: &str = "https://api.x.com/";

/// Chunks of 4 MiB: under the 5 MB per-APPEND cap of the media upload docs.
const CHUNK: usize = 4 * 1024 * 1024;
/// Refresh when less than this is left of X's 2-hour access tokens.
const REFRESH_MARGIN_MINUTES: i64 = 5;
/// How many STATUS polls a video may take before the publish is given back as transient.
const MAX_STATUS_POLLS: u32 = 60;

/// X's documented limits: 280 weighted characters for non-Premium accounts (Premium allows
/// longer posts, which Herald does not assume); 4 images or 1 video/GIF
/// (docs.x.com/x-api/media/quickstart/best-practices: images 5 MB, GIFs 15 MB, videos 512 MB
/// and 140 s for `tweet_video`, videos between 1:3 and 3:1); `POST /2/tweets` 100 requests per 15 min per user and
/// 10,000 per 24 h per app (docs.x.com/x-api/fundamentals/rate-limits); 2,400 posts a day per
/// account (help.x.com/en/rules-and-policies/x-limits).
pub fn limits() -> NetworkLimits {
    NetworkLimits {
        platform: Platform::X,
        max_text: 280,
        counting: TextCounting::XWeighted,
        requires_media: false,
        max_images: 4,
        max_videos: 1,
        mixed_media: false,
        image_types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
        video_types: &["video/mp4", "video/quicktime"],
        max_image_bytes: Some(5 * 1024 * 1024),
        max_video_bytes: Some(512 * 1024 * 1024),
        max_video_seconds: Some(140),
        image_aspect: None,
        video_aspect: Some(AspectRange {
            min: 1.0 / 3.0,
            max: 3.0,
            label: "1:3 to 3:1",
        }),
        max_title: None,
        publish_limits: &[
            RateLimit {
                scope: RateScope::Account,
                max: 100,
                window_seconds: 15 * 60,
            },
            RateLimit {
                scope: RateScope::Account,
                max: 2_400,
                window_seconds: 24 * 3600,
            },
            RateLimit {
                scope: RateScope::App,
                max: 10_000,
                window_seconds: 24 * 3600,
            },
        ],
    }
}

pub struct XConnector {
    api: OAuthApi,
    blobs: Arc<dyn BlobStore>,
    /// Pause between media STATUS polls when X gives no `check_after_secs` (tests set zero).
    poll_pause: Duration,
}

impl XConnector {
    pub fn new(
        http: reqwest::Client,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        app: OAuthApp,
    ) -> Self {
        XConnector {
            api: OAuthApi::new(Platform::X, API_BASE, http, clock, app),
            blobs,
            poll_pause: Duration::from_secs(5),
        }
    }

    /// Points the API and the token endpoint at `base` (a local double in tests).
    pub fn with_base(mut self, base: Url) -> Self {
        self.api
            .set_token_url(base.join("2/oauth2/token").expect("relative path"));
        self.api.base = base;
        self
    }

    /// Overrides the pause between media status polls (X's `check_after_secs` wins when given
    /// and this is not zero).
    pub fn with_poll_pause(mut self, pause: Duration) -> Self {
        self.poll_pause = pause;
        self
    }

    fn url(&self, path: &str) -> Url {
        self.api.url(path)
    }

    fn token(&self, account: &AccountContext) -> Result<String, NetworkError> {
        Ok(OAuthCredentials::from_json(Platform::X, &account.credentials)?.access_token)
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        token: &str,
    ) -> Result<Value, NetworkError> {
        let resp = send(request.bearer_auth(token)).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .text()
            .await
            .map_err(|e| NetworkError::uncertain(format!("x: the answer was cut off: {e}")))?;
        if !(200..300).contains(&status) {
            return Err(map_error(status, &headers, &body, self.api.clock.now()));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body)
            .map_err(|e| NetworkError::uncertain(format!("x: unreadable answer: {e}")))
    }

    async fn create_post(
        &self,
        token: &str,
        text: &str,
        media_ids: &[String],
        reply_to: Option<&str>,
    ) -> Result<String, NetworkError> {
        let mut body = json!({ "text": text });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        if let Some(parent) = reply_to {
            body["reply"] = json!({ "in_reply_to_tweet_id": parent });
        }
        let v = self
            .call(self.api.http.post(self.url("2/tweets")).json(&body), token)
            .await?;
        v.pointer("/data/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            // The post may exist even though the answer lacks its id: ask before retrying.
            .ok_or_else(|| NetworkError::uncertain("x: the post answer carried no id"))
    }

    /// Uploads one media item through the chunked v2 flow and returns its media id once X
    /// has finished processing it.
    async fn upload(&self, token: &str, media: &MediaRef) -> Result<String, NetworkError> {
        let read_error =
            |e| NetworkError::transient(format!("x: could not read media {}: {e}", media.id));
        // The size from the store, not the record: the chunks must add up to what is there.
        let total = self.blobs.size(&media.blob_key).await.map_err(read_error)?;
        let category = media_category(&media.content_type);
        let init = self
            .call(
                self.api
                    .http
                    .post(self.url("2/media/upload/initialize"))
                    .json(&json!({
                        "media_type": media.content_type,
                        "total_bytes": total,
                        "media_category": category,
                    })),
                token,
            )
            .await?;
        let id = init
            .pointer("/data/id")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::transient("x: media initialize answered no id"))?
            .to_owned();
        // One chunk in memory at a time: a 512 MB video never has to fit whole.
        for (index, start) in (0..total).step_by(CHUNK).enumerate() {
            let end = (start + CHUNK as u64).min(total);
            let chunk = self
                .blobs
                .get_range(&media.blob_key, start..end)
                .await
                .map_err(read_error)?;
            let form = reqwest::multipart::Form::new()
                .text("segment_index", index.to_string())
                .part(
                    "media",
                    reqwest::multipart::Part::bytes(chunk)
                        .file_name("chunk")
                        .mime_str("application/octet-stream")
                        .expect("constant mime type"),
                );
            self.call(
                self.api
                    .http
                    .post(self.url(&format!("2/media/upload/{id}/append")))
                    .multipart(form),
                token,
            )
            .await?;
        }
        let mut state = self
            .call(
                self.api
                    .http
                    .post(self.url(&format!("2/media/upload/{id}/finalize"))),
                token,
            )
            .await?;
        let mut polls = 0;
        loop {
            let info = state.pointer("/data/processing_info");
            let phase = info
                .and_then(|i| i.get("state"))
                .and_then(Value::as_str)
                .unwrap_or("succeeded");
            match phase {
                "succeeded" => break,
                "failed" => {
                    let msg = info
                        .and_then(|i| i.pointer("/error/message"))
                        .and_then(Value::as_str)
                        .unwrap_or("media processing failed");
                    return Err(NetworkError::permanent(format!("x: {msg}")));
                }
                _ => {}
            }
            polls += 1;
            if polls > MAX_STATUS_POLLS {
                return Err(NetworkError::transient(
                    "x: media still processing; try again later",
                ));
            }
            let after = info
                .and_then(|i| i.get("check_after_secs"))
                .and_then(Value::as_u64)
                .map(Duration::from_secs)
                .unwrap_or(self.poll_pause);
            if !self.poll_pause.is_zero() {
                tokio::time::sleep(after).await;
            }
            let mut status_url = self.url("2/media/upload");
            status_url
                .query_pairs_mut()
                .append_pair("command", "STATUS")
                .append_pair("media_id", &id);
            state = self.call(self.api.http.get(status_url), token).await?;
        }
        if let Some(alt) = media.alt_text.as_deref().filter(|a| !a.is_empty()) {
            // Alt text is 1,000 characters at most (media metadata docs).
            let alt: String = alt.chars().take(1000).collect();
            self.call(
                self.api
                    .http
                    .post(self.url("2/media/metadata"))
                    .json(&json!({ "id": id, "metadata": { "alt_text": { "text": alt } } })),
                token,
            )
            .await?;
        }
        Ok(id)
    }
}

fn media_category(content_type: &str) -> &'static str {
    match content_type {
        "image/gif" => "tweet_gif",
        t if t.starts_with("video/") => "tweet_video",
        _ => "tweet_image",
    }
}

/// The text X gets: the request's text, with the link appended when the text lacks it.
fn post_text(request: &PublishRequest) -> String {
    match request.link.as_deref() {
        Some(link) if !request.text.contains(link) => {
            if request.text.is_empty() {
                link.to_owned()
            } else {
                format!("{}\n\n{link}", request.text)
            }
        }
        _ => request.text.clone(),
    }
}

/// Text as X shows it back, reduced to what survives the round trip: X rewrites every URL
/// to a t.co link and escapes `& < >` as HTML entities, so URLs are dropped and entities
/// decoded before comparing, and whitespace is collapsed.
pub fn normalise(text: &str) -> String {
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    decoded
        .split_whitespace()
        .filter(|w| {
            let l = w.to_ascii_lowercase();
            !(l.starts_with("http://") || l.starts_with("https://"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads an X error answer. Bodies are RFC 7807 problems (`title`, `detail`, `type`) or
/// `{"errors":[{"message"}]}`; 429s come with `x-rate-limit-reset` (and for the daily user
/// cap `x-user-limit-24hour-reset`), in epoch seconds.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let title = json.get("title").and_then(Value::as_str);
    let detail = json
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| json.pointer("/errors/0/message").and_then(Value::as_str))
        .or_else(|| json.get("error_description").and_then(Value::as_str))
        .or(title);
    let mut message = detail.map(str::to_owned).unwrap_or_else(|| {
        let s: String = body.chars().take(300).collect();
        if s.is_empty() {
            format!("X answered {status}")
        } else {
            s
        }
    });
    let mut code = title
        .map(str::to_owned)
        .or_else(|| json.pointer("/errors/0/code").map(|c| c.to_string()));
    let kind = match status {
        429 => {
            // The daily user cap outlasts the 15-minute window: when it is spent, its reset
            // is the one that matters.
            let daily_spent = headers
                .get("x-user-limit-24hour-remaining")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == "0");
            let reset = if daily_spent {
                epoch_header(headers, "x-user-limit-24hour-reset")
            } else {
                None
            }
            .or_else(|| epoch_header(headers, "x-rate-limit-reset"))
            .or_else(|| crate::http::retry_after(headers, now));
            NetworkErrorKind::RateLimited { retry_at: reset }
        }
        402 => {
            message = format!("X API credits are exhausted (402 Payment Required): {message}");
            code.get_or_insert_with(|| "payment_required".to_owned());
            NetworkErrorKind::Permanent
        }
        403 if message.to_ascii_lowercase().contains("duplicate content") => {
            // The same text was already posted: possibly by an earlier attempt of this very
            // target, which reconciliation can find with `find_published`.
            code = Some("duplicate_content".to_owned());
            NetworkErrorKind::Permanent
        }
        _ => kind_for_status(status, None),
    };
    error(kind, status, code, format!("x: {message}"))
}

#[async_trait]
impl Connector for XConnector {
    fn platform(&self) -> Platform {
        Platform::X
    }

    fn webhook_secret(&self) -> Option<&str> {
        // The app's secret signs the network's webhook deliveries.
        Some(self.api.app.client_secret.expose())
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
        let token = self.token(account)?;
        let mut media_ids = Vec::with_capacity(request.media.len());
        for (i, media) in request.media.iter().enumerate() {
            let step = format!("media:{i}");
            let id = match request.progress.get(&step) {
                Some(id) => id.clone(),
                None => {
                    let id = self.upload(&token, media).await?;
                    checkpoint.record(&step, &id).await?;
                    id
                }
            };
            media_ids.push(id);
        }
        let first = match request.progress.get("post:0") {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .create_post(&token, &post_text(request), &media_ids, None)
                    .await?;
                checkpoint.record("post:0", &id).await?;
                id
            }
        };
        let mut parent = first.clone();
        for (i, text) in request.thread.iter().enumerate() {
            let step = format!("post:{}", i + 1);
            parent = match request.progress.get(&step) {
                Some(id) => id.clone(),
                None => {
                    let id = self.create_post(&token, text, &[], Some(&parent)).await?;
                    checkpoint.record(&step, &id).await?;
                    id
                }
            };
        }
        Ok(Published {
            url: Some(post_url(&account.handle, &first)),
            remote_id: first,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        if let Some(id) = request.progress.get("post:0") {
            return Ok(Some(Published {
                url: Some(post_url(&account.handle, id)),
                remote_id: id.clone(),
            }));
        }
        let token = self.token(account)?;
        let user_id = oauth::credential_str(Platform::X, &account.credentials, "user_id")?;
        let wanted = normalise(&post_text(request));
        let mut next: Option<String> = None;
        // Five pages of 100 cover far more than one publishing window.
        for _ in 0..5 {
            let mut u = self.url(&format!("2/users/{user_id}/tweets"));
            {
                let mut q = u.query_pairs_mut();
                q.append_pair(
                    "start_time",
                    &since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
                q.append_pair("max_results", "100");
                q.append_pair("exclude", "retweets,replies");
                q.append_pair("tweet.fields", "created_at,text");
                if let Some(t) = &next {
                    q.append_pair("pagination_token", t);
                }
            }
            let page = self.call(self.api.http.get(u), &token).await?;
            let found = page
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|t| {
                    t.get("text")
                        .and_then(Value::as_str)
                        .is_some_and(|text| normalise(text) == wanted)
                })
                .and_then(|t| t.get("id").and_then(Value::as_str));
            if let Some(id) = found {
                return Ok(Some(Published {
                    url: Some(post_url(&account.handle, id)),
                    remote_id: id.to_owned(),
                }));
            }
            next = page
                .pointer("/meta/next_token")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let token = self.token(account)?;
        deleted(
            self.call(
                self.api
                    .http
                    .delete(self.url(&format!("2/tweets/{remote_id}"))),
                &token,
            )
            .await,
        )
    }

    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let token = self.token(account)?;
        let id = self.create_post(&token, text, &[], Some(remote_id)).await?;
        Ok(Published {
            url: Some(post_url(&account.handle, &id)),
            remote_id: id,
        })
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let token = self.token(account)?;
        let lookup = |fields: &str| {
            let mut u = self.url(&format!("2/tweets/{remote_id}"));
            u.query_pairs_mut().append_pair("tweet.fields", fields);
            u
        };
        // Private metrics need the author's token and a post younger than 30 days; fall back
        // to the public ones when X refuses them.
        let v = match self
            .call(
                self.api
                    .http
                    .get(lookup("public_metrics,non_public_metrics,organic_metrics")),
                &token,
            )
            .await
        {
            Ok(v) if v.get("data").is_some() => v,
            Ok(_)
            | Err(NetworkError {
                status: Some(400 | 403),
                ..
            }) => {
                self.call(self.api.http.get(lookup("public_metrics")), &token)
                    .await?
            }
            Err(e) => return Err(e),
        };
        let data = v.get("data").ok_or_else(|| {
            let msg = v
                .pointer("/errors/0/detail")
                .and_then(Value::as_str)
                .unwrap_or("post not found");
            NetworkError::permanent(format!("x: {msg}"))
        })?;
        let n = |path: &str| data.pointer(path).and_then(Value::as_u64);
        let shares = match (
            n("/public_metrics/retweet_count"),
            n("/public_metrics/quote_count"),
        ) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        Ok(PostMetrics {
            impressions: n("/non_public_metrics/impression_count")
                .or_else(|| n("/public_metrics/impression_count")),
            reach: None,
            likes: n("/public_metrics/like_count"),
            comments: n("/public_metrics/reply_count"),
            shares,
            saves: n("/public_metrics/bookmark_count"),
            video_views: n("/organic_metrics/view_count"),
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let margin = chrono::Duration::minutes(REFRESH_MARGIN_MINUTES);
        self.api
            .refresh_if_due(&account.credentials, now, margin)
            .await
    }
}

fn post_url(handle: &str, id: &str) -> String {
    let handle = handle.trim_start_matches('@');
    if handle.is_empty() {
        format!("https://x.com/i/web/status/{id}")
    } else {
        format!("https://x.com/{handle}/status/{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_drops_urls_and_decodes_entities_so_a_t_co_rewrite_still_matches() {
        assert_eq!(
            normalise("Fish &amp; chips  https://t.co/abc123\n"),
            normalise("Fish & chips https://example.com/menu")
        );
        assert_ne!(normalise("Fish & chips"), normalise("Fish and chips"));
    }

    #[test]
    fn a_link_missing_from_the_text_is_appended() {
        let mut r = PublishRequest {
            marker: "m".into(),
            text: "Hello".into(),
            title: None,
            link: Some("https://example.com".into()),
            media: vec![],
            first_comment: None,
            thread: vec![],
            progress: Default::default(),
        };
        assert_eq!(post_text(&r), "Hello\n\nhttps://example.com");
        r.text = "See https://example.com".into();
        assert_eq!(post_text(&r), "See https://example.com");
    }
}
