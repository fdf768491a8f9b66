//! Mastodon, through the REST API of the account's own instance.
//!
//! Credentials (API.md): `{"instance":"https://mastodon.social","access_token":"..."}`. Tokens
//! do not expire, so there is nothing to refresh; a revoked one answers 401.
//!
//! Flow (https://docs.joinmastodon.org/methods/statuses/#create): media through
//! `POST /api/v2/media` (202 while processing: poll `GET /api/v1/media/:id` until it has a
//! `url`, https://docs.joinmastodon.org/methods/media/#v2), then `POST /api/v1/statuses` with
//! `media_ids[]` and an `Idempotency-Key` (Herald's marker: the instance answers a retry within
//! an hour with the first status instead of posting twice). Threads chain `in_reply_to_id`.
//! Limits differ per instance: `GET /api/v2/instance` `configuration`, cached per instance.
//! The instance URL is user-supplied, so every call goes through the SSRF [`Guard`].

use crate::guard::Guard;
use crate::http::{credential, deleted, error, kind_for_status, retry_after, send};
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use herald_domain::limits::RateScope;
use herald_domain::{NetworkLimits, Platform, RateLimit, TextCounting};
use herald_ports::{
    AccountContext, BlobError, BlobStore, Checkpoint, Clock, Connector, MediaRef, NetworkError,
    NetworkErrorKind, Notification, NotificationPage, PostMetrics, PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Instance configuration is read again after this long.
const INSTANCE_TTL_MINUTES: i64 = 60;
/// Statuses read per page (the API's maximum) and pages read when looking for a post.
const PAGE: &str = "40";
const LOOKUP_PAGES: usize = 5;
/// Notification pages read in one poll; the rest wait for the next poll.
const NOTIFICATION_PAGES: usize = 10;
/// A poll's whole exchange with an instance: a hanging instance costs this, not the poll.
const POLL_TIMEOUT: Duration = Duration::from_secs(15);

/// What one instance allows, from `configuration` in `GET /api/v2/instance`
/// (https://docs.joinmastodon.org/entities/Instance/#configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    pub max_characters: usize,
    pub max_media_attachments: usize,
    pub characters_reserved_per_url: usize,
    pub image_size_limit: u64,
    pub video_size_limit: u64,
}

impl Default for InstanceConfig {
    /// Mastodon's defaults: 500 characters, 4 attachments, URLs count 23
    /// (https://docs.joinmastodon.org/user/posting/); 16 MiB images and 99 MiB videos
    /// (the example `configuration.media_attachments` of the Instance entity page).
    fn default() -> Self {
        InstanceConfig {
            max_characters: 500,
            max_media_attachments: 4,
            characters_reserved_per_url: 23,
            image_size_limit: 16_777_216,
            video_size_limit: 103_809_024,
        }
    }
}

impl InstanceConfig {
    fn from_instance(v: &Value) -> InstanceConfig {
        let d = InstanceConfig::default();
        let c = &v["configuration"];
        let num = |p: &str| c.pointer(p).and_then(Value::as_u64);
        InstanceConfig {
            max_characters: num("/statuses/max_characters")
                .map_or(d.max_characters, |n| n as usize),
            max_media_attachments: num("/statuses/max_media_attachments")
                .map_or(d.max_media_attachments, |n| n as usize),
            characters_reserved_per_url: num("/statuses/characters_reserved_per_url")
                .map_or(d.characters_reserved_per_url, |n| n as usize),
            image_size_limit: num("/media_attachments/image_size_limit")
                .unwrap_or(d.image_size_limit),
            video_size_limit: num("/media_attachments/video_size_limit")
                .unwrap_or(d.video_size_limit),
        }
    }

    /// The limits as data, for compose-time validation against this instance.
    pub fn limits(&self) -> NetworkLimits {
        NetworkLimits {
            max_text: self.max_characters,
            counting: TextCounting::Mastodon {
                per_url: self.characters_reserved_per_url,
            },
            max_images: self.max_media_attachments,
            max_image_bytes: Some(self.image_size_limit),
            max_video_bytes: Some(self.video_size_limit),
            ..limits()
        }
    }
}

/// Mastodon's documented defaults; an instance may allow more (see
/// [`MastodonConnector::instance_limits`]).
/// - 500 characters, 4 attachments, one video which cannot share a status with images
///   (https://docs.joinmastodon.org/user/posting/, https://docs.joinmastodon.org/methods/statuses/).
/// - Counting: Mastodon counts each URL as 23 characters and a remote mention by its user part;
///   compose-time validation counts so too, and the connector counts again with the instance's
///   own URL weight before posting.
/// - 300 API calls per 5 minutes per account (https://docs.joinmastodon.org/api/rate-limits/).
pub fn limits() -> NetworkLimits {
    let d = InstanceConfig::default();
    NetworkLimits {
        platform: Platform::Mastodon,
        max_text: d.max_characters,
        counting: TextCounting::Mastodon {
            per_url: d.characters_reserved_per_url,
        },
        requires_media: false,
        max_images: d.max_media_attachments,
        max_videos: 1,
        mixed_media: false,
        image_types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
        video_types: &["video/mp4", "video/webm", "video/quicktime"],
        max_image_bytes: Some(d.image_size_limit),
        max_video_bytes: Some(d.video_size_limit),
        max_video_seconds: None,
        image_aspect: None,
        video_aspect: None,
        max_title: None,
        publish_limits: &[RateLimit {
            scope: RateScope::Account,
            max: 300,
            window_seconds: 300,
        }],
    }
}

/// A status's length as Mastodon counts it (the domain's count, with the instance's URL weight).
pub fn text_length(text: &str, per_url: usize) -> usize {
    TextCounting::Mastodon { per_url }.count(text)
}

/// A status's HTML content as plain text: tags dropped, paragraphs and line breaks as spaces,
/// entities decoded, whitespace collapsed. Mastodon keeps the hidden parts of shortened links
/// in `invisible` spans, so a link comes back whole.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        if tag.starts_with("br") || tag.starts_with("/p") || tag.starts_with('p') {
            out.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    normalise(&decode_entities(&out))
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&i| i <= 10).and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads Mastodon's error body (`{"error": "...", "error_description"?}`,
/// https://docs.joinmastodon.org/entities/Error/) and classifies it:
/// - 401: the token is invalid or revoked (unauthorized);
/// - 403 about the token, a login or a disabled or suspended account: unauthorized; other 403
///   and 404, 413, 422 (validation, e.g. "Text character limit of 500 exceeded"): permanent;
/// - 429: rate limited until `X-RateLimit-Reset` (an ISO 8601 time,
///   https://docs.joinmastodon.org/api/rate-limits/), else `Retry-After`;
/// - 5xx: transient.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = parsed
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("mastodon answered {status}"));
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| retry_after(headers, now));
    let lower = message.to_ascii_lowercase();
    let kind = match status {
        403 if ["token", "authenticated", "login", "disabled", "suspended"]
            .iter()
            .any(|w| lower.contains(w)) =>
        {
            NetworkErrorKind::Unauthorized
        }
        500..=599 => NetworkErrorKind::Transient,
        _ => kind_for_status(status, reset),
    };
    let code = parsed
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    error(kind, status, code, message)
}

struct Credentials {
    instance: Url,
    token: String,
}

pub struct MastodonConnector {
    http: reqwest::Client,
    /// Polls' client, bounded more tightly: a poll has many accounts to get through.
    poll_http: reqwest::Client,
    guard: Guard,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    poll_interval: Duration,
    poll_attempts: u32,
    instances: Mutex<HashMap<String, (DateTime<Utc>, InstanceConfig)>>,
}

impl MastodonConnector {
    /// A connector whose HTTP goes through `guard` (loopback allowed only in local tests).
    pub fn new(guard: Guard, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self {
        MastodonConnector {
            http: guard.client(),
            poll_http: guard.client_within(POLL_TIMEOUT),
            guard,
            blobs,
            clock,
            poll_interval: Duration::from_secs(1),
            poll_attempts: 60,
            instances: Mutex::new(HashMap::new()),
        }
    }

    /// How often and how many times to ask whether an uploaded media item is processed.
    pub fn with_media_polling(mut self, interval: Duration, attempts: u32) -> Self {
        self.poll_interval = interval;
        self.poll_attempts = attempts;
        self
    }

    /// How long a notification poll may wait on the instance.
    pub fn with_poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_http = self.guard.client_within(timeout);
        self
    }

    fn credentials(&self, account: &AccountContext) -> Result<Credentials, NetworkError> {
        let text = |name: &str| credential(Platform::Mastodon, &account.credentials, &[name]);
        let instance = self
            .guard
            .check_url(&text("instance")?)
            .map_err(|e| NetworkError::permanent(format!("mastodon instance: {e}")))?;
        Ok(Credentials {
            instance,
            token: text("access_token")?,
        })
    }

    fn url(instance: &Url, path: &str) -> Url {
        let mut url = instance.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// Sends and reads the answer's status and JSON, mapping failures with [`map_error`].
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), NetworkError> {
        let response = send(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| NetworkError::uncertain(format!("mastodon answer cut short: {e}")))?;
        if (200..300).contains(&status) {
            if body.trim().is_empty() {
                return Ok((status, Value::Null));
            }
            let v = serde_json::from_str(&body).map_err(|e| {
                NetworkError::uncertain(format!("mastodon answer is not JSON: {e}"))
            })?;
            return Ok((status, v));
        }
        Err(map_error(status, &headers, &body, self.clock.now()))
    }

    async fn instance_config(&self, creds: &Credentials) -> Result<InstanceConfig, NetworkError> {
        let key = creds.instance.as_str().to_owned();
        let now = self.clock.now();
        if let Some((at, config)) = self.instances.lock().expect("instance cache").get(&key)
            && now - *at < ChronoDuration::minutes(INSTANCE_TTL_MINUTES)
        {
            return Ok(*config);
        }
        let answer = self
            .call(
                self.http
                    .get(Self::url(&creds.instance, "/api/v2/instance")),
            )
            .await;
        let config = match answer {
            Ok((_, v)) => InstanceConfig::from_instance(&v),
            // Servers older than Mastodon 4.0 have no v2 instance: use the defaults.
            Err(e) if e.status == Some(404) => InstanceConfig::default(),
            Err(e) => return Err(e),
        };
        self.instances
            .lock()
            .expect("instance cache")
            .insert(key, (now, config));
        Ok(config)
    }

    /// The limits of the account's instance (compose-time validation can use these instead of
    /// the defaults of [`limits`]).
    pub async fn instance_limits(
        &self,
        account: &AccountContext,
    ) -> Result<NetworkLimits, NetworkError> {
        let creds = self.credentials(account)?;
        Ok(self.instance_config(&creds).await?.limits())
    }

    async fn upload(
        &self,
        creds: &Credentials,
        config: &InstanceConfig,
        media: &MediaRef,
    ) -> Result<String, NetworkError> {
        let bytes = self.blobs.get(&media.blob_key).await.map_err(blob_error)?;
        let cap = if media.content_type.starts_with("video/") {
            config.video_size_limit
        } else {
            config.image_size_limit
        };
        if bytes.len() as u64 > cap {
            return Err(NetworkError::permanent(format!(
                "mastodon: a file is {} bytes, the instance allows {cap}",
                bytes.len()
            )));
        }
        let extension = media.content_type.rsplit('/').next().unwrap_or("bin");
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(format!("{}.{extension}", media.id))
            .mime_str(&media.content_type)
            .map_err(|e| NetworkError::permanent(format!("bad content type: {e}")))?;
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(alt) = &media.alt_text {
            form = form.text("description", alt.clone());
        }
        let (status, answer) = self
            .call(
                self.http
                    .post(Self::url(&creds.instance, "/api/v2/media"))
                    .bearer_auth(&creds.token)
                    .multipart(form),
            )
            .await?;
        let id = answer
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::uncertain("media upload answered no id"))?
            .to_owned();
        if status == 202 || answer.get("url").is_none_or(Value::is_null) {
            self.wait_until_processed(creds, &id).await?;
        }
        Ok(id)
    }

    /// Polls `GET /api/v1/media/:id`: 206 while processing, 200 with a `url` when done.
    async fn wait_until_processed(
        &self,
        creds: &Credentials,
        id: &str,
    ) -> Result<(), NetworkError> {
        for _ in 0..self.poll_attempts {
            tokio::time::sleep(self.poll_interval).await;
            let (status, answer) = self
                .call(
                    self.http
                        .get(Self::url(&creds.instance, &format!("/api/v1/media/{id}")))
                        .bearer_auth(&creds.token),
                )
                .await?;
            if status == 200 && answer.get("url").is_some_and(|u| !u.is_null()) {
                return Ok(());
            }
        }
        Err(NetworkError::transient(format!(
            "mastodon is still processing media {id}"
        )))
    }

    async fn post_status(
        &self,
        creds: &Credentials,
        text: &str,
        media_ids: &[String],
        in_reply_to: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Value, NetworkError> {
        let mut body = json!({"status": text});
        if !media_ids.is_empty() {
            body["media_ids"] = json!(media_ids);
        }
        if let Some(parent) = in_reply_to {
            body["in_reply_to_id"] = json!(parent);
        }
        let (_, status) = self
            .call(
                self.http
                    .post(Self::url(&creds.instance, "/api/v1/statuses"))
                    .bearer_auth(&creds.token)
                    .header("Idempotency-Key", idempotency_key)
                    .json(&body),
            )
            .await?;
        Ok(status)
    }

    async fn get_status(&self, creds: &Credentials, id: &str) -> Result<Value, NetworkError> {
        let (_, v) = self
            .call(
                self.http
                    .get(Self::url(
                        &creds.instance,
                        &format!("/api/v1/statuses/{id}"),
                    ))
                    .bearer_auth(&creds.token),
            )
            .await?;
        Ok(v)
    }

    async fn own_account_id(&self, creds: &Credentials) -> Result<String, NetworkError> {
        let (_, me) = self
            .call(
                self.http
                    .get(Self::url(
                        &creds.instance,
                        "/api/v1/accounts/verify_credentials",
                    ))
                    .bearer_auth(&creds.token),
            )
            .await?;
        id_of(&me)
    }
}

/// Mastodon's ids are decimal strings that grow over time (snowflakes): longer is newer,
/// then byte order.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// A mention notification as the inbox takes it (none for one whose status is gone).
/// https://docs.joinmastodon.org/entities/Notification/
pub fn notification(n: &Value) -> Option<Notification> {
    if n.get("type").and_then(Value::as_str) != Some("mention") {
        return None;
    }
    let status = n.get("status").filter(|s| s.is_object())?;
    let id = status.get("id").and_then(Value::as_str)?.to_owned();
    let parent = status
        .get("in_reply_to_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let author = status
        .pointer("/account/acct")
        .or_else(|| n.pointer("/account/acct"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let content = status.get("content").and_then(Value::as_str).unwrap_or("");
    Some(Notification {
        reply: parent.is_some(),
        post_remote_id: parent.unwrap_or_else(|| id.clone()),
        id,
        author,
        text: Some(html_to_text(content)),
    })
}

fn id_of(v: &Value) -> Result<String, NetworkError> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| NetworkError::uncertain("mastodon answered no id"))
}

fn published(status: &Value) -> Result<Published, NetworkError> {
    Ok(Published {
        remote_id: id_of(status)?,
        url: status.get("url").and_then(Value::as_str).map(str::to_owned),
    })
}

fn blob_error(e: BlobError) -> NetworkError {
    match e {
        BlobError::NotFound(_) | BlobError::InvalidKey(_) => NetworkError::permanent(e.to_string()),
        BlobError::Unavailable(_) => NetworkError::transient(e.to_string()),
    }
}

#[async_trait]
impl Connector for MastodonConnector {
    fn platform(&self) -> Platform {
        Platform::Mastodon
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
        let creds = self.credentials(account)?;
        let config = self.instance_config(&creds).await?;
        let length = text_length(&request.text, config.characters_reserved_per_url);
        if length > config.max_characters {
            return Err(NetworkError::permanent(format!(
                "mastodon: text is {length} characters, the instance allows {}",
                config.max_characters
            )));
        }
        if request.media.len() > config.max_media_attachments {
            return Err(NetworkError::permanent(format!(
                "mastodon: at most {} attachments per status on this instance",
                config.max_media_attachments
            )));
        }

        let root = match request.progress.get("status") {
            Some(id) => published(&self.get_status(&creds, id).await?)?,
            None => {
                let mut media_ids = Vec::new();
                for (i, media) in request.media.iter().enumerate() {
                    let step = format!("media.{i}");
                    let id = match request.progress.get(&step) {
                        Some(id) => id.clone(),
                        None => {
                            let id = self.upload(&creds, &config, media).await?;
                            checkpoint.record(&step, &id).await?;
                            id
                        }
                    };
                    media_ids.push(id);
                }
                let status = self
                    .post_status(&creds, &request.text, &media_ids, None, &request.marker)
                    .await?;
                let root = published(&status)?;
                checkpoint.record("status", &root.remote_id).await?;
                root
            }
        };

        let mut parent = root.remote_id.clone();
        let follow_ups = request
            .thread
            .iter()
            .enumerate()
            .map(|(i, text)| (format!("thread.{}", i + 1), text))
            .chain(
                request
                    .first_comment
                    .iter()
                    .map(|t| ("first_comment".to_owned(), t)),
            );
        for (step, text) in follow_ups {
            parent = match request.progress.get(&step) {
                Some(id) => id.clone(),
                None => {
                    // Each step has its own key, derived from the marker, so a retry of the
                    // whole publish is deduplicated step by step.
                    let key = format!("{}:{step}", request.marker);
                    let status = self
                        .post_status(&creds, text, &[], Some(&parent), &key)
                        .await?;
                    let id = id_of(&status)?;
                    checkpoint.record(&step, &id).await?;
                    id
                }
            };
        }
        Ok(root)
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        let creds = self.credentials(account)?;
        let me = self.own_account_id(&creds).await?;
        let wanted = normalise(&request.text);
        let url = Self::url(&creds.instance, &format!("/api/v1/accounts/{me}/statuses"));
        let mut max_id: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            let mut query = vec![
                ("limit", PAGE.to_owned()),
                ("exclude_reblogs", "true".into()),
            ];
            if let Some(m) = &max_id {
                query.push(("max_id", m.clone()));
            }
            let (_, page) = self
                .call(
                    self.http
                        .get(url.clone())
                        .bearer_auth(&creds.token)
                        .query(&query),
                )
                .await?;
            let statuses = page.as_array().cloned().unwrap_or_default();
            let mut past_since = false;
            for s in &statuses {
                let created = s
                    .get("created_at")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if created.is_some_and(|t| t < since) {
                    past_since = true;
                    continue;
                }
                let content = s.get("content").and_then(Value::as_str).unwrap_or("");
                let is_reply = s.get("in_reply_to_id").is_some_and(|v| !v.is_null());
                if !is_reply && html_to_text(content) == wanted {
                    return published(s).map(Some);
                }
            }
            max_id = statuses.last().and_then(|s| id_of(s).ok());
            // Statuses come newest first: once past `since`, older pages cannot match.
            if past_since || statuses.is_empty() || max_id.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let creds = self.credentials(account)?;
        let answer = self
            .call(
                self.http
                    .delete(Self::url(
                        &creds.instance,
                        &format!("/api/v1/statuses/{remote_id}"),
                    ))
                    .bearer_auth(&creds.token),
            )
            .await;
        deleted(answer)
    }

    /// Replies to a status, mentioning its author (Mastodon notifies only mentioned accounts)
    /// unless it is the account's own. The key is derived from the target and text, so a
    /// retried reply is not posted twice.
    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let creds = self.credentials(account)?;
        let parent = self.get_status(&creds, remote_id).await?;
        let me = self.own_account_id(&creds).await?;
        let author_id = parent.pointer("/account/id").and_then(Value::as_str);
        let acct = parent.pointer("/account/acct").and_then(Value::as_str);
        let body = match (author_id, acct) {
            (Some(author), Some(acct)) if author != me && !text.contains(&format!("@{acct}")) => {
                format!("@{acct} {text}")
            }
            _ => text.to_owned(),
        };
        let key = hex::encode(Sha256::digest(format!("reply\n{remote_id}\n{text}")));
        let status = self
            .post_status(&creds, &body, &[], Some(remote_id), &key)
            .await?;
        published(&status)
    }

    fn polls_notifications(&self) -> bool {
        true
    }

    /// The reply's `Idempotency-Key` comes from its target and text: the instance answers a
    /// repeat with the first status.
    fn reply_retry_is_safe(&self) -> bool {
        true
    }

    /// Mentions (replies mention the account too) through `GET /api/v1/notifications`
    /// (https://docs.joinmastodon.org/methods/notifications/#get): with a cursor, `min_id` pages
    /// forward from it, page by page, each the notifications immediately newer; the newest id
    /// seen is the next cursor. Without one, the newest page only.
    async fn notifications(
        &self,
        account: &AccountContext,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, NetworkError> {
        let creds = self.credentials(account)?;
        let url = Self::url(&creds.instance, "/api/v1/notifications");
        let mut newest = cursor.map(str::to_owned);
        let mut items = Vec::new();
        for _ in 0..NOTIFICATION_PAGES {
            let mut query = vec![
                ("types[]", "mention".to_owned()),
                ("limit", PAGE.to_owned()),
            ];
            if let Some(c) = &newest {
                query.push(("min_id", c.clone()));
            }
            let (_, page) = self
                .call(
                    self.poll_http
                        .get(url.clone())
                        .bearer_auth(&creds.token)
                        .query(&query),
                )
                .await?;
            let page = page.as_array().cloned().unwrap_or_default();
            let before = newest.clone();
            for n in &page {
                let Some(id) = n.get("id").and_then(Value::as_str) else {
                    continue;
                };
                if newest.as_deref().is_none_or(|c| newer(id, c)) {
                    newest = Some(id.to_owned());
                }
            }
            // Oldest first, as the inbox receives them.
            let mut found: Vec<(String, Notification)> = page
                .iter()
                .filter_map(|n| Some((n.get("id")?.as_str()?.to_owned(), notification(n)?)))
                .filter(|(id, _)| before.as_deref().is_none_or(|c| newer(id, c)))
                .collect();
            found.sort_by(|(a, _), (b, _)| (a.len(), a).cmp(&(b.len(), b)));
            items.extend(found.into_iter().map(|(_, n)| n));
            let full = page.len() >= PAGE.parse::<usize>().unwrap_or(40);
            if cursor.is_none() || !full || newest == before {
                break;
            }
        }
        Ok(NotificationPage {
            items,
            cursor: newest,
        })
    }

    /// Counts from the status itself; Mastodon reports no impressions or reach.
    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let creds = self.credentials(account)?;
        let status = self.get_status(&creds, remote_id).await?;
        let count = |name: &str| status.get(name).and_then(Value::as_u64);
        Ok(PostMetrics {
            likes: count("favourites_count"),
            comments: count("replies_count"),
            shares: count("reblogs_count").map(|r| r + count("quotes_count").unwrap_or(0)),
            ..PostMetrics::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_count_23_and_remote_mentions_count_their_user_part() {
        let url = "https://example.com/a/very/long/path/that/goes/on/and/on";
        assert_eq!(text_length(url, 23), 23);
        assert_eq!(text_length(&format!("see {url} now"), 23), 4 + 23 + 4);
        assert_eq!(text_length("hi @alice@mastodon.social", 23), 3 + 6);
        assert_eq!(text_length("héllo", 23), 5);
    }

    #[test]
    fn compose_validation_counts_a_long_link_as_23() {
        let url = format!("https://example.com/{}", "a".repeat(200));
        let fits = format!("{} {url}", "x".repeat(476));
        assert!(limits().check("text", &fits, None, &[]).is_empty());
        let over = format!("{} {url}", "x".repeat(477));
        let errors = limits().check("text", &over, None, &[]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("501"), "{}", errors[0].message);
    }

    #[test]
    fn status_html_becomes_the_text_that_was_sent() {
        let html = "<p>Launch day &amp; more:<br />see <a href=\"https://example.com/launch\" rel=\"nofollow\"><span class=\"invisible\">https://</span><span class=\"\">example.com/launch</span><span class=\"invisible\"></span></a></p><p><a href=\"https://m.test/tags/herald\" class=\"mention hashtag\" rel=\"tag\">#<span>herald</span></a> &#39;ok&#x27;</p>";
        assert_eq!(
            html_to_text(html),
            "Launch day & more: see https://example.com/launch #herald 'ok'"
        );
    }

    #[test]
    fn instance_configuration_overrides_the_defaults() {
        let v = json!({"configuration": {
            "statuses": {"max_characters": 5000, "max_media_attachments": 6, "characters_reserved_per_url": 23},
            "media_attachments": {"image_size_limit": 10485760, "video_size_limit": 41943040}
        }});
        let c = InstanceConfig::from_instance(&v);
        assert_eq!(c.max_characters, 5000);
        assert_eq!(c.max_media_attachments, 6);
        assert_eq!(c.limits().max_image_bytes, Some(10_485_760));
        assert_eq!(
            InstanceConfig::from_instance(&json!({})),
            InstanceConfig::default()
        );
    }
}
