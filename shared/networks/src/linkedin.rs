//! LinkedIn through the versioned REST API (Posts, Images, Social Actions).
//!
//! Credentials (`AccountContext.credentials`), from the OAuth flow in [`crate::oauth`]:
//! `{"access_token", "refresh_token"?, "expires_at"?: RFC 3339, "author_urn":
//! "urn:li:person:…" | "urn:li:organization:…"}` (`person_urn` or `organization_urn` are read
//! when `author_urn` is absent).
//!
//! Docs (learn.microsoft.com/linkedin/marketing/community-management/shares/…):
//! - `posts-api`: `POST /rest/posts` answers 201 with the post URN in `x-restli-id`;
//!   `GET /rest/posts/{urn}`, `GET /rest/posts?author={urn}&q=author`, `DELETE /rest/posts/{urn}`.
//!   Every call carries `LinkedIn-Version: YYYYMM` and `X-Restli-Protocol-Version: 2.0.0`.
//! - `little-text-format`: in `commentary`, `| { } @ [ ] ( ) < > # \ * _ ~` are reserved and
//!   must be escaped with a backslash, or the text is cut at the first one.
//! - `images-api`: `POST /rest/images?action=initializeUpload`, then PUT the bytes to
//!   `uploadUrl`; the post references the returned `urn:li:image:…`. `multiimage-post-api`
//!   for 2–20 images.
//! - `comments-api`: `POST /rest/socialActions/{urn}/comments` (first comment, replies).
//! - `organizationalEntityShareStatistics` (community-management/organizations/share-statistics)
//!   for Page posts; `GET /rest/socialActions/{urn}` for likes and comments otherwise.
//! - shared/api-guide/concepts/rate-limits: limits are per day and reset at midnight UTC; a 429
//!   carries no reset header.
//!
//! A false success has been seen on Page posts (a 201 for a post that never appeared, Postiz
//! #989), so every create is confirmed with a GET before it counts as published.

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use herald_domain::limits::RateScope;
use herald_domain::{NetworkLimits, Platform, RateLimit, TextCounting};
use herald_ports::{
    AccountContext, BlobStore, Checkpoint, Clock, Connector, MediaRef, NetworkError,
    NetworkErrorKind, PostMetrics, PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

use crate::http::{credential, deleted, error, kind_for_status, retry_after, send};
use crate::oauth::{OAuthApi, OAuthApp, OAuthCredentials};

pub const API_BASE: &str = "https://api.linkedin.com/";
/// The API version Herald speaks (Marketing January 2026; versions live at least a year).
pub const VERSION: &str = "202601";
/// LinkedIn tokens live 60 days: refresh a day ahead.
const REFRESH_MARGIN_HOURS: i64 = 24;

/// Posts: commentary up to 3,000 characters (posts-api); up to 20 images in a multi-image
/// post (multiimage-post-api); images JPG, PNG, GIF (images-api) under 36,152,320 pixels — the
/// byte cap here is a practical bound, LinkedIn documents pixels, not bytes. Video is not
/// published by this connector yet, so none is accepted. Member posting is limited to 150
/// requests a day per member (posts-api rate limits), app-wide 100,000 a day.
pub fn limits() -> NetworkLimits {
    NetworkLimits {
        platform: Platform::Linkedin,
        max_text: 3000,
        counting: TextCounting::Chars,
        requires_media: false,
        max_images: 20,
        max_videos: 0,
        mixed_media: false,
        image_types: &["image/jpeg", "image/png", "image/gif"],
        video_types: &[],
        max_image_bytes: Some(36 * 1024 * 1024),
        max_video_bytes: None,
        max_video_seconds: None,
        image_aspect: None,
        video_aspect: None,
        max_title: Some(400),
        publish_limits: &[
            RateLimit {
                scope: RateScope::Account,
                max: 150,
                window_seconds: 24 * 3600,
            },
            RateLimit {
                scope: RateScope::App,
                max: 100_000,
                window_seconds: 24 * 3600,
            },
        ],
    }
}

pub struct LinkedinConnector {
    api: OAuthApi,
    version: String,
    blobs: Arc<dyn BlobStore>,
}

impl LinkedinConnector {
    pub fn new(
        http: reqwest::Client,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        app: OAuthApp,
    ) -> Self {
        LinkedinConnector {
            api: OAuthApi::new(Platform::Linkedin, API_BASE, http, clock, app),
            version: VERSION.to_owned(),
            blobs,
        }
    }

    /// Points the API at `base` (a local double in tests).
    pub fn with_base(mut self, base: Url) -> Self {
        self.api.base = base;
        self
    }

    /// Points the token endpoint elsewhere (LinkedIn's lives on another host than the API).
    pub fn with_token_url(mut self, token_url: Url) -> Self {
        self.api.set_token_url(token_url);
        self
    }

    pub fn with_version(mut self, version: &str) -> Self {
        self.version = version.to_owned();
        self
    }

    fn url(&self, path: &str) -> Url {
        self.api.url(path)
    }

    fn versioned(&self, req: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
        req.bearer_auth(token)
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// Sends a versioned call; the answer's headers and JSON body (Null when empty).
    async fn call(
        &self,
        req: reqwest::RequestBuilder,
        token: &str,
    ) -> Result<(HeaderMap, Value), NetworkError> {
        let resp = send(self.versioned(req, token)).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(|e| {
            NetworkError::uncertain(format!("linkedin: the answer was cut off: {e}"))
        })?;
        if !(200..300).contains(&status) {
            return Err(map_error(status, &headers, &body, self.api.clock.now()));
        }
        let json = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body)
                .map_err(|e| NetworkError::uncertain(format!("linkedin: unreadable answer: {e}")))?
        };
        Ok((headers, json))
    }

    async fn upload_image(
        &self,
        token: &str,
        author: &str,
        media: &MediaRef,
    ) -> Result<String, NetworkError> {
        let bytes = self.blobs.get(&media.blob_key).await.map_err(|e| {
            NetworkError::transient(format!("linkedin: could not read media {}: {e}", media.id))
        })?;
        let mut u = self.url("rest/images");
        u.query_pairs_mut()
            .append_pair("action", "initializeUpload");
        let (_, init) = self
            .call(
                self.api
                    .http
                    .post(u)
                    .json(&json!({ "initializeUploadRequest": { "owner": author } })),
                token,
            )
            .await?;
        let upload_url = init
            .pointer("/value/uploadUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::transient("linkedin: image upload gave no uploadUrl"))?;
        let image = init
            .pointer("/value/image")
            .and_then(Value::as_str)
            .ok_or_else(|| NetworkError::transient("linkedin: image upload gave no image URN"))?
            .to_owned();
        let resp = send(
            self.api
                .http
                .put(upload_url)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, &media.content_type)
                .body(bytes),
        )
        .await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = resp.headers().clone();
            let body = resp.text().await.unwrap_or_default();
            return Err(map_error(status, &headers, &body, self.api.clock.now()));
        }
        Ok(image)
    }

    async fn comment(
        &self,
        token: &str,
        actor: &str,
        object: &str,
        text: &str,
    ) -> Result<String, NetworkError> {
        let (headers, body) = self
            .call(
                self.api
                    .http
                    .post(self.url(&format!("rest/socialActions/{}/comments", encode(object))))
                    .json(&json!({
                        "actor": actor,
                        "object": object,
                        "message": { "text": escape(text) },
                    })),
                token,
            )
            .await?;
        restli_id(&headers)
            .or_else(|| body.get("$URN").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| body.get("id").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| NetworkError::uncertain("linkedin: the comment answer carried no id"))
    }

    /// Whether a post LinkedIn said it created can be read back.
    async fn confirm(&self, token: &str, urn: &str) -> Result<(), NetworkError> {
        match self
            .call(
                self.api
                    .http
                    .get(self.url(&format!("rest/posts/{}", encode(urn)))),
                token,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind, NetworkErrorKind::Unauthorized) => Err(e),
            Err(e) => Err(NetworkError {
                kind: NetworkErrorKind::Uncertain,
                message: format!(
                    "linkedin: created {urn} but could not read it back ({}); check before retrying",
                    e.message
                ),
                code: e.code,
                status: e.status,
            }),
        }
    }
}

/// The author URN from the credentials.
fn author(account: &AccountContext) -> Result<String, NetworkError> {
    credential(
        Platform::Linkedin,
        &account.credentials,
        &["author_urn", "organization_urn", "person_urn"],
    )
    .map_err(|e| NetworkError::permanent(e.message))
}

/// A URN as one path segment (`urn%3Ali%3Ashare%3A123`), as Rest.li protocol 2.0 wants.
pub fn encode(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

fn restli_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-restli-id")
        .or_else(|| headers.get("x-linkedin-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// Text in LinkedIn's "little text format": every reserved character escaped with a
/// backslash, except that a `#word` becomes a hashtag template `{hashtag|\#|word}` so it stays
/// a live hashtag.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '#' && starts_word {
            let tag: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            if !tag.is_empty() {
                out.push_str("{hashtag|\\#|");
                push_escaped(&mut out, &tag);
                out.push('}');
                i += 1 + tag.chars().count();
                continue;
            }
        }
        push_escaped(&mut out, &c.to_string());
        i += 1;
    }
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Commentary reduced to what a comparison needs: templates (`{hashtag|\#|x}`) back to their
/// text, escapes removed, whitespace collapsed.
pub fn normalise(commentary: &str) -> String {
    let mut plain = String::with_capacity(commentary.len());
    let mut rest = commentary;
    while let Some(start) = rest.find("{hashtag|\\#|") {
        plain.push_str(&rest[..start]);
        let after = &rest[start + "{hashtag|\\#|".len()..];
        match after.find('}') {
            Some(end) => {
                plain.push('#');
                plain.push_str(&after[..end]);
                rest = &after[end + 1..];
            }
            None => {
                plain.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    plain.push_str(rest);
    let mut unescaped = String::with_capacity(plain.len());
    let mut chars = plain.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                unescaped.push(n);
            }
        } else {
            unescaped.push(c);
        }
    }
    unescaped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a LinkedIn error answer: `{"status", "serviceErrorCode"?, "code"?, "message"}`.
/// 422 `DUPLICATE_POST` is permanent (the same commentary was already posted, maybe by an
/// earlier attempt: reconciliation finds it); 401 is a revoked or expired token; 429 has no
/// reset header, and LinkedIn's daily limits reset at midnight UTC.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let s: String = body.chars().take(300).collect();
            if s.is_empty() {
                format!("LinkedIn answered {status}")
            } else {
                s
            }
        });
    let mut code = json
        .get("code")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| json.get("serviceErrorCode").map(|c| c.to_string()));
    if status == 422 && message.to_ascii_lowercase().contains("duplicate") {
        code = Some("DUPLICATE_POST".to_owned());
    }
    let kind = match status {
        429 => NetworkErrorKind::RateLimited {
            retry_at: retry_after(headers, now).or_else(|| Some(next_utc_midnight(now))),
        },
        // Expired, revoked, or a missing permission on the member's side.
        401 => NetworkErrorKind::Unauthorized,
        _ => kind_for_status(status, None),
    };
    error(kind, status, code, format!("linkedin: {message}"))
}

fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + ChronoDuration::days(1);
    Utc.from_utc_datetime(&tomorrow.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

fn post_url(urn: &str) -> String {
    format!("https://www.linkedin.com/feed/update/{urn}/")
}

#[async_trait]
impl Connector for LinkedinConnector {
    fn platform(&self) -> Platform {
        Platform::Linkedin
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
        let token =
            OAuthCredentials::from_json(Platform::Linkedin, &account.credentials)?.access_token;
        let author = author(account)?;
        if request
            .media
            .iter()
            .any(|m| !m.content_type.starts_with("image/"))
        {
            return Err(NetworkError::permanent(
                "linkedin: video posts are not supported by Herald's LinkedIn connector yet",
            ));
        }
        let urn = match request.progress.get("post") {
            Some(urn) => urn.clone(),
            None => {
                let mut images = Vec::with_capacity(request.media.len());
                for (i, media) in request.media.iter().enumerate() {
                    let step = format!("media:{i}");
                    let id = match request.progress.get(&step) {
                        Some(id) => id.clone(),
                        None => {
                            let id = self.upload_image(&token, &author, media).await?;
                            checkpoint.record(&step, &id).await?;
                            id
                        }
                    };
                    images.push((id, media.alt_text.clone()));
                }
                let mut body = json!({
                    "author": author,
                    "commentary": escape(&request.text),
                    "visibility": "PUBLIC",
                    "distribution": {
                        "feedDistribution": "MAIN_FEED",
                        "targetEntities": [],
                        "thirdPartyDistributionChannels": [],
                    },
                    "lifecycleState": "PUBLISHED",
                    "isReshareDisabledByAuthor": false,
                });
                let image = |(id, alt): &(String, Option<String>)| {
                    let mut v = json!({ "id": id });
                    if let Some(alt) = alt {
                        v["altText"] = json!(alt);
                    }
                    v
                };
                match images.len() {
                    0 => {
                        if let Some(link) = &request.link {
                            let mut article = json!({ "source": link });
                            if let Some(t) = &request.title {
                                article["title"] = json!(t);
                            }
                            body["content"] = json!({ "article": article });
                        }
                    }
                    1 => body["content"] = json!({ "media": image(&images[0]) }),
                    _ => {
                        body["content"] = json!({
                            "multiImage": { "images": images.iter().map(image).collect::<Vec<_>>() }
                        })
                    }
                }
                let (headers, _) = self
                    .call(
                        self.api.http.post(self.url("rest/posts")).json(&body),
                        &token,
                    )
                    .await?;
                let urn = restli_id(&headers).ok_or_else(|| {
                    NetworkError::uncertain("linkedin: the post answer carried no x-restli-id")
                })?;
                checkpoint.record("post", &urn).await?;
                urn
            }
        };
        self.confirm(&token, &urn).await?;
        if let Some(first) = request.first_comment.as_deref().filter(|c| !c.is_empty())
            && !request.progress.contains_key("comment")
        {
            let id = self.comment(&token, &author, &urn, first).await?;
            checkpoint.record("comment", &id).await?;
        }
        Ok(Published {
            url: Some(post_url(&urn)),
            remote_id: urn,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        let token =
            OAuthCredentials::from_json(Platform::Linkedin, &account.credentials)?.access_token;
        // A recorded URN counts only if it can be read back (the false-success trap).
        if let Some(urn) = request.progress.get("post")
            && self.confirm(&token, urn).await.is_ok()
        {
            return Ok(Some(Published {
                url: Some(post_url(urn)),
                remote_id: urn.clone(),
            }));
        }
        let author = author(account)?;
        let wanted = normalise(&escape(&request.text));
        let since_ms = since.timestamp_millis();
        let mut start = 0;
        // Newest first, 50 at a time, until the posts are older than `since`.
        for _ in 0..10 {
            let u = self.url(&format!(
                "rest/posts?author={}&q=author&count=50&start={start}&sortBy=CREATED",
                encode(&author)
            ));
            let (_, page) = self.call(self.api.http.get(u), &token).await?;
            let elements = page
                .get("elements")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for post in &elements {
                let commentary = post.get("commentary").and_then(Value::as_str).unwrap_or("");
                if normalise(commentary) == wanted
                    && let Some(urn) = post.get("id").and_then(Value::as_str)
                {
                    return Ok(Some(Published {
                        url: Some(post_url(urn)),
                        remote_id: urn.to_owned(),
                    }));
                }
            }
            let oldest = elements
                .iter()
                .filter_map(|p| p.get("createdAt").and_then(Value::as_i64))
                .min();
            if elements.len() < 50 || oldest.is_some_and(|t| t < since_ms) {
                break;
            }
            start += 50;
        }
        Ok(None)
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let token =
            OAuthCredentials::from_json(Platform::Linkedin, &account.credentials)?.access_token;
        deleted(
            self.call(
                self.api
                    .http
                    .delete(self.url(&format!("rest/posts/{}", encode(remote_id)))),
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
        let token =
            OAuthCredentials::from_json(Platform::Linkedin, &account.credentials)?.access_token;
        let author = author(account)?;
        let id = self.comment(&token, &author, remote_id, text).await?;
        Ok(Published {
            remote_id: id,
            url: Some(post_url(remote_id)),
        })
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let token =
            OAuthCredentials::from_json(Platform::Linkedin, &account.credentials)?.access_token;
        let author = author(account)?;
        if author.starts_with("urn:li:organization:") {
            // Page posts have impressions and reach in the share statistics.
            let list = if remote_id.starts_with("urn:li:ugcPost:") {
                "ugcPosts"
            } else {
                "shares"
            };
            let u = self.url(&format!(
                "rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&{list}=List({})",
                encode(&author),
                encode(remote_id)
            ));
            let (_, v) = self.call(self.api.http.get(u), &token).await?;
            let s = v.pointer("/elements/0/totalShareStatistics");
            let n = |k: &str| s.and_then(|s| s.get(k)).and_then(Value::as_u64);
            return Ok(PostMetrics {
                impressions: n("impressionCount"),
                reach: n("uniqueImpressionsCount"),
                likes: n("likeCount"),
                comments: n("commentCount"),
                shares: n("shareCount"),
                saves: None,
                video_views: None,
            });
        }
        let (_, v) = self
            .call(
                self.api
                    .http
                    .get(self.url(&format!("rest/socialActions/{}", encode(remote_id)))),
                &token,
            )
            .await?;
        Ok(PostMetrics {
            likes: v
                .pointer("/likesSummary/totalLikes")
                .and_then(Value::as_u64),
            comments: v
                .pointer("/commentsSummary/aggregatedTotalComments")
                .and_then(Value::as_u64),
            ..PostMetrics::default()
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        // Only partners with programmatic refresh tokens get one; without it the member must
        // reconnect when the 60 days run out, and the refresher reports that as Unauthorized.
        let margin = ChronoDuration::hours(REFRESH_MARGIN_HOURS);
        self.api
            .refresh_if_due(&account.credentials, now, margin)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_escaped_and_hashtags_become_templates() {
        assert_eq!(
            escape("Price (50% off) [today] @home *now* a_b ~x <y> {z} | \\"),
            "Price \\(50% off\\) \\[today\\] \\@home \\*now\\* a\\_b \\~x \\<y\\> \\{z\\} \\| \\\\"
        );
        assert_eq!(escape("Go #rust!"), "Go {hashtag|\\#|rust}!");
        assert_eq!(escape("issue#5 and # alone"), "issue\\#5 and \\# alone");
    }

    #[test]
    fn normalising_undoes_the_escaping() {
        let text = "Sale (today) #deals @team a_b";
        assert_eq!(normalise(&escape(text)), text);
    }
}
