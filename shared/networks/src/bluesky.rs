//! Bluesky, through the AT Protocol's XRPC API on the account's own PDS.
//!
//! Credentials (API.md): `{"service":"https://bsky.social","identifier":"alice.bsky.social",
//! "app_password":"xxxx-xxxx-xxxx-xxxx"}`. [`Connector::refresh_credentials`] may add
//! `"session":{"access_jwt","refresh_jwt","did"}` so a cold start reuses the session instead of
//! spending one of createSession's 30 calls per 5 minutes.
//!
//! Flow (https://docs.bsky.app/docs/advanced-guides/posts): `com.atproto.server.createSession`
//! → `com.atproto.repo.uploadBlob` per image → `com.atproto.repo.createRecord` of an
//! `app.bsky.feed.post` with facets (links, mentions, hashtags; UTF-8 byte offsets, per
//! https://docs.bsky.app/docs/advanced-guides/post-richtext) and an images or external embed.
//! Threads are replies whose `reply.root` is the first post and `reply.parent` the one before.
//! The service URL is user-supplied, so every call goes through the SSRF [`Guard`].

use crate::guard::Guard;
use crate::http::{credential, epoch_header, error, kind_for_status, retry_after, send};
use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use herald_domain::limits::RateScope;
use herald_domain::{NetworkLimits, Platform, RateLimit, TextCounting};
use herald_ports::{
    AccountContext, BlobError, BlobStore, Checkpoint, Clock, Connector, MediaRef, NetworkError,
    NetworkErrorKind, Notification, NotificationPage, PostMetrics, PublishRequest, Published,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use url::Url;

const POST: &str = "app.bsky.feed.post";
/// app.bsky.embed.images: `"maxSize": 1000000` on the image blob.
pub const MAX_IMAGE_BYTES: u64 = 1_000_000;
/// A session is refreshed when its access token has less than this left.
const SESSION_MARGIN_SECONDS: i64 = 120;
/// Pages of listRecords read when looking for a post (100 records each).
const LOOKUP_PAGES: usize = 10;
/// Notifications read per page (the lexicon's maximum is 100) and pages read in one poll.
const NOTIFICATION_PAGE: &str = "50";
const NOTIFICATION_PAGES: usize = 10;
/// A poll's whole exchange with the PDS: a hanging one costs this, not the poll.
const POLL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// The public AppView, which serves `app.bsky.*` reads (a PDS alone has none).
pub const PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";

/// Bluesky's limits.
/// - 300 graphemes: app.bsky.feed.post lexicon, `text` `maxGraphemes: 300`.
/// - 4 images of at most 1,000,000 bytes: app.bsky.embed.images lexicon (`maxLength: 4`,
///   image blob `maxSize: 1000000`, `accept: image/*`).
/// - Video (app.bsky.embed.video) needs the video service's upload flow, which this connector
///   does not implement yet, so no video is accepted here.
/// - Writes: 5,000 points an hour and 35,000 a day per account, a create costing 3 points,
///   so 1,666 posts an hour and 11,666 a day
///   (https://docs.bsky.app/docs/advanced-guides/rate-limits).
pub fn limits() -> NetworkLimits {
    NetworkLimits {
        platform: Platform::Bluesky,
        max_text: 300,
        counting: TextCounting::Graphemes,
        requires_media: false,
        max_images: 4,
        max_videos: 0,
        mixed_media: false,
        image_types: &["image/jpeg", "image/png", "image/webp", "image/gif"],
        video_types: &[],
        max_image_bytes: Some(MAX_IMAGE_BYTES),
        max_video_bytes: None,
        max_video_seconds: None,
        image_aspect: None,
        video_aspect: None,
        max_title: None,
        publish_limits: &[
            RateLimit {
                scope: RateScope::Account,
                max: 1_666,
                window_seconds: 3_600,
            },
            RateLimit {
                scope: RateScope::Account,
                max: 11_666,
                window_seconds: 86_400,
            },
        ],
    }
}

/// A PDS session: what createSession and refreshSession answer.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub did: String,
    /// The access token's `exp` claim; None when it cannot be read (then it is used until the
    /// PDS answers ExpiredToken).
    pub access_expires: Option<DateTime<Utc>>,
}

/// The tokens are credentials: debug output names the account, never the tokens.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("did", &self.did)
            .field("access_expires", &self.access_expires)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn from_answer(v: &Value) -> Result<Session, NetworkError> {
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| NetworkError::permanent(format!("session answer lacks {name}")))
        };
        let access_jwt = field("accessJwt")?;
        Ok(Session {
            access_expires: jwt_expiry(&access_jwt),
            refresh_jwt: field("refreshJwt")?,
            did: field("did")?,
            access_jwt,
        })
    }

    fn from_credentials(v: &Value) -> Option<Session> {
        let s = v.get("session")?;
        let access_jwt = s.get("access_jwt")?.as_str()?.to_owned();
        Some(Session {
            access_expires: jwt_expiry(&access_jwt),
            refresh_jwt: s.get("refresh_jwt")?.as_str()?.to_owned(),
            did: s.get("did")?.as_str()?.to_owned(),
            access_jwt,
        })
    }

    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.access_expires
            .is_none_or(|exp| exp > now + Duration::seconds(SESSION_MARGIN_SECONDS))
    }
}

/// The `exp` claim of a JWT, read without verifying it (the PDS verifies; we only schedule).
pub fn jwt_expiry(jwt: &str) -> Option<DateTime<Utc>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

struct Credentials {
    service: Url,
    identifier: String,
    app_password: String,
    stored_session: Option<Session>,
}

impl Credentials {
    fn cache_key(&self) -> String {
        format!("{}|{}", self.service, self.identifier)
    }
}

pub struct BlueskyConnector {
    http: reqwest::Client,
    /// Polls' client, bounded more tightly: a poll has many accounts to get through.
    poll_http: reqwest::Client,
    guard: Guard,
    appview: Url,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    /// Sessions by service and identifier, so a warm process logs in once.
    sessions: Mutex<HashMap<String, Session>>,
}

impl BlueskyConnector {
    /// A connector whose HTTP goes through `guard` (loopback allowed only in local tests).
    pub fn new(guard: Guard, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self {
        BlueskyConnector {
            http: guard.client(),
            poll_http: guard.client_within(POLL_TIMEOUT),
            guard,
            appview: Url::parse(PUBLIC_APPVIEW).expect("a valid URL"),
            blobs,
            clock,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `app.bsky.*` (metrics) from another AppView, e.g. a test double.
    pub fn with_appview(mut self, appview: Url) -> Self {
        self.appview = appview;
        self
    }

    /// How long a notification poll may wait on the PDS.
    pub fn with_poll_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.poll_http = self.guard.client_within(timeout);
        self
    }

    fn credentials(&self, account: &AccountContext) -> Result<Credentials, NetworkError> {
        let c = &account.credentials;
        let text = |name: &str| credential(Platform::Bluesky, c, &[name]);
        let service = self
            .guard
            .check_url(&text("service")?)
            .map_err(|e| NetworkError::permanent(format!("bluesky service: {e}")))?;
        Ok(Credentials {
            service,
            identifier: text("identifier")?,
            app_password: text("app_password")?,
            stored_session: Session::from_credentials(c),
        })
    }

    fn xrpc(base: &Url, nsid: &str) -> Url {
        let mut url = base.clone();
        url.set_path(&format!("/xrpc/{nsid}"));
        url.set_query(None);
        url
    }

    /// Sends and reads a JSON answer, mapping a failure with [`map_error`].
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, NetworkError> {
        let response = send(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| NetworkError::uncertain(format!("bluesky answer cut short: {e}")))?;
        if (200..300).contains(&status) {
            if body.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&body)
                .map_err(|e| NetworkError::uncertain(format!("bluesky answer is not JSON: {e}")));
        }
        Err(map_error(status, &headers, &body, self.clock.now()))
    }

    async fn create_session(&self, creds: &Credentials) -> Result<Session, NetworkError> {
        let answer = self
            .call(
                self.http
                    .post(Self::xrpc(
                        &creds.service,
                        "com.atproto.server.createSession",
                    ))
                    .json(&json!({
                        "identifier": creds.identifier,
                        "password": creds.app_password,
                    })),
            )
            .await?;
        let session = Session::from_answer(&answer)?;
        self.remember(creds, &session);
        Ok(session)
    }

    /// Refreshes with the refresh token; when that is expired or revoked too, logs in again.
    async fn refresh_session(
        &self,
        creds: &Credentials,
        old: &Session,
    ) -> Result<Session, NetworkError> {
        let answer = self
            .call(
                self.http
                    .post(Self::xrpc(
                        &creds.service,
                        "com.atproto.server.refreshSession",
                    ))
                    .bearer_auth(&old.refresh_jwt),
            )
            .await;
        match answer {
            Ok(v) => {
                let session = Session::from_answer(&v)?;
                self.remember(creds, &session);
                Ok(session)
            }
            Err(e) if e.kind == NetworkErrorKind::Unauthorized => self.create_session(creds).await,
            Err(e) => Err(e),
        }
    }

    fn remember(&self, creds: &Credentials, session: &Session) {
        self.sessions
            .lock()
            .expect("session cache lock")
            .insert(creds.cache_key(), session.clone());
    }

    async fn session(&self, creds: &Credentials) -> Result<Session, NetworkError> {
        let cached = self
            .sessions
            .lock()
            .expect("session cache lock")
            .get(&creds.cache_key())
            .cloned()
            .or_else(|| creds.stored_session.clone());
        match cached {
            Some(s) if s.fresh_at(self.clock.now()) => Ok(s),
            Some(s) => self.refresh_session(creds, &s).await,
            None => self.create_session(creds).await,
        }
    }

    /// An authenticated call; an `ExpiredToken` answer refreshes the session and retries once.
    async fn authed<F>(&self, creds: &Credentials, build: F) -> Result<Value, NetworkError>
    where
        F: Fn(&Session) -> reqwest::RequestBuilder,
    {
        let session = self.session(creds).await?;
        match self
            .call(build(&session).bearer_auth(&session.access_jwt))
            .await
        {
            Err(e) if e.code.as_deref() == Some("ExpiredToken") => {
                let session = self.refresh_session(creds, &session).await?;
                self.call(build(&session).bearer_auth(&session.access_jwt))
                    .await
            }
            other => other,
        }
    }

    async fn create_post(
        &self,
        creds: &Credentials,
        record: Value,
    ) -> Result<StrongRef, NetworkError> {
        let url = Self::xrpc(&creds.service, "com.atproto.repo.createRecord");
        let answer = self
            .authed(creds, |s| {
                self.http.post(url.clone()).json(&json!({
                    "repo": s.did,
                    "collection": POST,
                    "record": record,
                }))
            })
            .await?;
        StrongRef::from_value(&answer)
            .ok_or_else(|| NetworkError::uncertain("createRecord answered no uri and cid"))
    }

    async fn get_post(&self, creds: &Credentials, uri: &str) -> Result<Value, NetworkError> {
        let at = AtUri::parse(uri)?;
        let url = Self::xrpc(&creds.service, "com.atproto.repo.getRecord");
        self.authed(creds, |_| {
            self.http.get(url.clone()).query(&[
                ("repo", at.repo.as_str()),
                ("collection", at.collection.as_str()),
                ("rkey", at.rkey.as_str()),
            ])
        })
        .await
    }

    async fn strong_ref(&self, creds: &Credentials, uri: &str) -> Result<StrongRef, NetworkError> {
        let record = self.get_post(creds, uri).await?;
        StrongRef::from_value(&record)
            .ok_or_else(|| NetworkError::permanent(format!("no record at {uri}")))
    }

    async fn resolve_handle(&self, creds: &Credentials, handle: &str) -> Option<String> {
        let url = Self::xrpc(&creds.service, "com.atproto.identity.resolveHandle");
        let answer = self
            .call(self.http.get(url).query(&[("handle", handle)]))
            .await
            .ok()?;
        answer.get("did")?.as_str().map(str::to_owned)
    }

    /// The facets of a text; a mention whose handle does not resolve stays plain text, as in
    /// Bluesky's own app.
    async fn facets(&self, creds: &Credentials, text: &str) -> Vec<Value> {
        let mut facets = Vec::new();
        for span in detect_facets(text) {
            let feature = match &span.kind {
                FacetKind::Link(uri) => {
                    json!({"$type": "app.bsky.richtext.facet#link", "uri": uri})
                }
                FacetKind::Tag(tag) => json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
                FacetKind::Mention(handle) => match self.resolve_handle(creds, handle).await {
                    Some(did) => json!({"$type": "app.bsky.richtext.facet#mention", "did": did}),
                    None => continue,
                },
            };
            facets.push(json!({
                "index": {"byteStart": span.bytes.start, "byteEnd": span.bytes.end},
                "features": [feature],
            }));
        }
        facets
    }

    async fn upload_image(
        &self,
        creds: &Credentials,
        media: &MediaRef,
    ) -> Result<Value, NetworkError> {
        if !media.content_type.starts_with("image/") {
            return Err(NetworkError::permanent(format!(
                "bluesky: {} is not supported by this connector (images only)",
                media.content_type
            )));
        }
        let bytes = self.blobs.get(&media.blob_key).await.map_err(blob_error)?;
        if bytes.len() as u64 > MAX_IMAGE_BYTES {
            return Err(NetworkError::permanent(format!(
                "bluesky: an image is {} bytes, the limit is {MAX_IMAGE_BYTES}",
                bytes.len()
            )));
        }
        let url = Self::xrpc(&creds.service, "com.atproto.repo.uploadBlob");
        let answer = self
            .authed(creds, |_| {
                self.http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, media.content_type.as_str())
                    .body(bytes.clone())
            })
            .await?;
        answer
            .get("blob")
            .cloned()
            .ok_or_else(|| NetworkError::transient("uploadBlob answered no blob"))
    }

    async fn embed(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
    ) -> Result<Option<Value>, NetworkError> {
        if !request.media.is_empty() {
            if request.media.len() > 4 {
                return Err(NetworkError::permanent(
                    "bluesky: at most 4 images per post",
                ));
            }
            let mut images = Vec::new();
            for media in &request.media {
                let blob = self.upload_image(creds, media).await?;
                let mut image = json!({
                    "alt": media.alt_text.clone().unwrap_or_default(),
                    "image": blob,
                });
                if let (Some(w), Some(h)) = (media.width, media.height) {
                    image["aspectRatio"] = json!({"width": w, "height": h});
                }
                images.push(image);
            }
            return Ok(Some(
                json!({"$type": "app.bsky.embed.images", "images": images}),
            ));
        }
        let link = request.link.clone().or_else(|| {
            detect_facets(&request.text)
                .into_iter()
                .find_map(|f| match f.kind {
                    FacetKind::Link(uri) => Some(uri),
                    _ => None,
                })
        });
        Ok(link.map(|uri| {
            json!({
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": uri,
                    "title": request.title.clone().unwrap_or_default(),
                    "description": "",
                },
            })
        }))
    }

    async fn post_record(
        &self,
        creds: &Credentials,
        text: &str,
        embed: Option<Value>,
        reply: Option<(&StrongRef, &StrongRef)>,
    ) -> Value {
        let mut record = json!({
            "$type": POST,
            "text": text,
            "createdAt": self.clock.now().to_rfc3339_opts(SecondsFormat::Millis, true),
        });
        let facets = self.facets(creds, text).await;
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if let Some(embed) = embed {
            record["embed"] = embed;
        }
        if let Some((root, parent)) = reply {
            record["reply"] = json!({"root": root.to_value(), "parent": parent.to_value()});
        }
        record
    }

    /// Publishes one step of a thread (or finds the id an earlier attempt recorded).
    async fn step(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        checkpoint: &dyn Checkpoint,
        step: &str,
        text: &str,
        reply: Option<(&StrongRef, &StrongRef)>,
    ) -> Result<StrongRef, NetworkError> {
        if let Some(uri) = request.progress.get(step) {
            return self.strong_ref(creds, uri).await;
        }
        let embed = if reply.is_none() {
            self.embed(creds, request).await?
        } else {
            None
        };
        let record = self.post_record(creds, text, embed, reply).await;
        let created = self.create_post(creds, record).await?;
        checkpoint.record(step, &created.uri).await?;
        Ok(created)
    }
}

/// A reply, mention or quote notification as the inbox takes it, with the time it was
/// indexed (https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications).
pub fn notification(n: &Value) -> Option<(DateTime<Utc>, Notification)> {
    let reason = n.get("reason").and_then(Value::as_str)?;
    if !matches!(reason, "reply" | "mention" | "quote") {
        return None;
    }
    let uri = n.get("uri").and_then(Value::as_str)?.to_owned();
    let at = n
        .get("indexedAt")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let parent = match reason {
        "reply" => n
            .pointer("/record/reply/parent/uri")
            .or_else(|| n.get("reasonSubject"))
            .and_then(Value::as_str),
        "quote" => n.get("reasonSubject").and_then(Value::as_str),
        _ => None,
    }
    .map(str::to_owned);
    Some((
        at,
        Notification {
            reply: parent.is_some(),
            post_remote_id: parent.unwrap_or_else(|| uri.clone()),
            id: uri,
            author: n
                .pointer("/author/handle")
                .and_then(Value::as_str)
                .map(str::to_owned),
            text: n
                .pointer("/record/text")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    ))
}

fn blob_error(e: BlobError) -> NetworkError {
    match e {
        BlobError::NotFound(_) | BlobError::InvalidKey(_) => NetworkError::permanent(e.to_string()),
        BlobError::Unavailable(_) => NetworkError::transient(e.to_string()),
    }
}

/// A record's `{uri, cid}`, as reply references need it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StrongRef {
    uri: String,
    cid: String,
}

impl StrongRef {
    fn from_value(v: &Value) -> Option<StrongRef> {
        Some(StrongRef {
            uri: v.get("uri")?.as_str()?.to_owned(),
            cid: v.get("cid")?.as_str()?.to_owned(),
        })
    }
    fn to_value(&self) -> Value {
        json!({"uri": self.uri, "cid": self.cid})
    }
}

/// `at://{repo}/{collection}/{rkey}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtUri {
    pub repo: String,
    pub collection: String,
    pub rkey: String,
}

impl AtUri {
    pub fn parse(uri: &str) -> Result<AtUri, NetworkError> {
        let rest = uri
            .strip_prefix("at://")
            .ok_or_else(|| NetworkError::permanent(format!("not an at:// URI: {uri}")))?;
        let mut parts = rest.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(repo), Some(collection), Some(rkey))
                if !repo.is_empty() && !collection.is_empty() && !rkey.is_empty() =>
            {
                Ok(AtUri {
                    repo: repo.to_owned(),
                    collection: collection.to_owned(),
                    rkey: rkey.to_owned(),
                })
            }
            _ => Err(NetworkError::permanent(format!("not a record URI: {uri}"))),
        }
    }

    /// The post's page on bsky.app.
    pub fn web_url(&self) -> String {
        format!("https://bsky.app/profile/{}/post/{}", self.repo, self.rkey)
    }
}

/// What a facet marks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FacetKind {
    Link(String),
    /// A handle, without the `@`.
    Mention(String),
    /// A tag, without the `#`.
    Tag(String),
}

/// A facet's span in UTF-8 bytes of the text, as the richtext lexicon counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetSpan {
    pub bytes: Range<usize>,
    pub kind: FacetKind,
}

/// Finds links, @mentions and #hashtags, following the rules of Bluesky's own app
/// (@atproto/api `detectFacets`): each starts a word; trailing punctuation is not part of it.
pub fn detect_facets(text: &str) -> Vec<FacetSpan> {
    let mut spans = Vec::new();
    let mut start = 0;
    for word in text.split_inclusive(|c: char| c.is_whitespace()) {
        let trimmed = word.trim_end_matches(|c: char| c.is_whitespace());
        let at = start;
        start += word.len();
        // A word may open with a bracket or quote: "(see https://...)".
        let lead = trimmed.len() - trimmed.trim_start_matches(['(', '[', '"', '\'', '“']).len();
        let token = &trimmed[lead..];
        let at = at + lead;
        let lower = token.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            let mut uri = token.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'', '”']);
            if uri.ends_with(')') && !uri.contains('(') {
                uri = &uri[..uri.len() - 1];
            }
            if let Ok(parsed) = Url::parse(uri)
                && parsed.host_str().is_some_and(|h| h.contains('.'))
            {
                spans.push(FacetSpan {
                    bytes: at..at + uri.len(),
                    kind: FacetKind::Link(uri.to_owned()),
                });
            }
        } else if let Some(handle) = token.strip_prefix('@') {
            let handle = handle
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .next()
                .unwrap_or("")
                .trim_end_matches(['.', '-']);
            let labels: Vec<&str> = handle.split('.').collect();
            if labels.len() >= 2 && labels.iter().all(|l| !l.is_empty()) {
                spans.push(FacetSpan {
                    bytes: at..at + 1 + handle.len(),
                    kind: FacetKind::Mention(handle.to_owned()),
                });
            }
        } else if let Some(tag) = token.strip_prefix(['#', '＃']) {
            let opener = token.len() - tag.len();
            let tag = tag
                .split(|c: char| {
                    c.is_whitespace() || "!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~".contains(c)
                })
                .next()
                .unwrap_or("");
            let graphemes = unicode_segmentation::UnicodeSegmentation::graphemes(tag, true).count();
            if !tag.is_empty() && !tag.chars().all(|c| c.is_ascii_digit()) && graphemes <= 64 {
                spans.push(FacetSpan {
                    bytes: at..at + opener + tag.len(),
                    kind: FacetKind::Tag(tag.to_owned()),
                });
            }
        }
    }
    spans
}

/// Whitespace-insensitive text, for matching a post against the text Herald sent.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads an XRPC error (`{"error","message"}`) and classifies it.
/// - 429 / `RateLimitExceeded`: rate limited until `ratelimit-reset` (epoch seconds, the
///   IETF draft RateLimit headers the PDS sends), else `Retry-After`.
/// - `ExpiredToken`, `InvalidToken`, `AuthenticationRequired`, `AccountTakedown`,
///   `AccountDeactivated`, or 401: the session or app password no longer works.
/// - 5xx, `UpstreamFailure`, `UpstreamTimeout`: transient.
/// - other 4xx (`InvalidRequest`, `BlobTooLarge`, ...): permanent.
pub fn map_error(status: u16, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> NetworkError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = parsed
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message = parsed
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| code.clone())
        .unwrap_or_else(|| format!("bluesky answered {status}"));
    let reset = epoch_header(headers, "ratelimit-reset").or_else(|| retry_after(headers, now));
    let kind = match code.as_deref() {
        _ if status == 429 => NetworkErrorKind::RateLimited { retry_at: reset },
        Some("RateLimitExceeded") => NetworkErrorKind::RateLimited { retry_at: reset },
        Some(
            "ExpiredToken"
            | "InvalidToken"
            | "AuthenticationRequired"
            | "AccountTakedown"
            | "AccountDeactivated",
        ) => NetworkErrorKind::Unauthorized,
        Some("UpstreamFailure" | "UpstreamTimeout") => NetworkErrorKind::Transient,
        _ if status >= 500 => NetworkErrorKind::Transient,
        _ => kind_for_status(status, reset),
    };
    error(kind, status, code, message)
}

#[async_trait]
impl Connector for BlueskyConnector {
    fn platform(&self) -> Platform {
        Platform::Bluesky
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
        let root = self
            .step(&creds, request, checkpoint, "post", &request.text, None)
            .await?;
        let mut parent = root.clone();
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
            parent = self
                .step(
                    &creds,
                    request,
                    checkpoint,
                    &step,
                    text,
                    Some((&root, &parent)),
                )
                .await?;
        }
        Ok(Published {
            url: Some(AtUri::parse(&root.uri)?.web_url()),
            remote_id: root.uri,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        let creds = self.credentials(account)?;
        let wanted = normalise(&request.text);
        let url = Self::xrpc(&creds.service, "com.atproto.repo.listRecords");
        let mut cursor: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            let page = self
                .authed(&creds, |s| {
                    let mut q = vec![
                        ("repo", s.did.clone()),
                        ("collection", POST.to_owned()),
                        ("limit", "100".to_owned()),
                    ];
                    if let Some(c) = &cursor {
                        q.push(("cursor", c.clone()));
                    }
                    self.http.get(url.clone()).query(&q)
                })
                .await?;
            let records = page
                .get("records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut older_than_since = false;
            for r in &records {
                let value = r.get("value").cloned().unwrap_or(Value::Null);
                let created = value
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if created.is_some_and(|t| t < since) {
                    older_than_since = true;
                    continue;
                }
                let text = value.get("text").and_then(Value::as_str).unwrap_or("");
                // The root of a thread is the post this request made; replies are its steps.
                if value.get("reply").is_none()
                    && normalise(text) == wanted
                    && let Some(uri) = r.get("uri").and_then(Value::as_str)
                {
                    return Ok(Some(Published {
                        remote_id: uri.to_owned(),
                        url: Some(AtUri::parse(uri)?.web_url()),
                    }));
                }
            }
            cursor = page
                .get("cursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            // Records come newest first: once past `since`, older pages cannot match.
            if older_than_since || cursor.is_none() || records.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let creds = self.credentials(account)?;
        let at = AtUri::parse(remote_id)?;
        let url = Self::xrpc(&creds.service, "com.atproto.repo.deleteRecord");
        self.authed(&creds, |_| {
            self.http.post(url.clone()).json(&json!({
                "repo": at.repo,
                "collection": at.collection,
                "rkey": at.rkey,
            }))
        })
        .await?;
        Ok(())
    }

    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let creds = self.credentials(account)?;
        let parent_record = self.get_post(&creds, remote_id).await?;
        let parent = StrongRef::from_value(&parent_record)
            .ok_or_else(|| NetworkError::permanent(format!("no record at {remote_id}")))?;
        let root = parent_record
            .pointer("/value/reply/root")
            .and_then(StrongRef::from_value)
            .unwrap_or_else(|| parent.clone());
        let record = self
            .post_record(&creds, text, None, Some((&root, &parent)))
            .await;
        let created = self.create_post(&creds, record).await?;
        Ok(Published {
            url: Some(AtUri::parse(&created.uri)?.web_url()),
            remote_id: created.uri,
        })
    }

    fn polls_notifications(&self) -> bool {
        true
    }

    /// Replies, mentions and quotes through `app.bsky.notification.listNotifications` on the
    /// account's PDS (which answers it through its AppView). Its `cursor` pages backwards, newest
    /// first, so a poll reads from the newest back to what it saw before. Herald's cursor is the
    /// newest `indexedAt` it has seen; it never calls `updateSeen`, which would clear the
    /// person's own unread badge. Items at the cursor's instant come again and are dropped as
    /// repeats by their URI.
    async fn notifications(
        &self,
        account: &AccountContext,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, NetworkError> {
        let creds = self.credentials(account)?;
        // An unreadable cursor (none Herald wrote) starts over from the newest page.
        let since = cursor
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc));
        let url = Self::xrpc(&creds.service, "app.bsky.notification.listNotifications");
        let mut page_cursor: Option<String> = None;
        let mut newest = since;
        let mut found = Vec::new();
        for _ in 0..NOTIFICATION_PAGES {
            let answer = self
                .authed(&creds, |_| {
                    let mut query = vec![("limit", NOTIFICATION_PAGE.to_owned())];
                    for reason in ["reply", "mention", "quote"] {
                        query.push(("reasons", reason.to_owned()));
                    }
                    if let Some(c) = &page_cursor {
                        query.push(("cursor", c.clone()));
                    }
                    self.poll_http.get(url.clone()).query(&query)
                })
                .await?;
            let list = answer
                .get("notifications")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut reached_seen = false;
            for n in &list {
                let at = n
                    .get("indexedAt")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if let (Some(at), Some(since)) = (at, since)
                    && at < since
                {
                    reached_seen = true;
                    continue;
                }
                if let Some(at) = at
                    && newest.is_none_or(|n| at > n)
                {
                    newest = Some(at);
                }
                if let Some((at, item)) = notification(n) {
                    found.push((at, item));
                }
            }
            page_cursor = answer
                .get("cursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if since.is_none() || reached_seen || list.is_empty() || page_cursor.is_none() {
                break;
            }
        }
        // Oldest first, as the inbox receives them.
        found.sort_by_key(|(at, _)| *at);
        Ok(NotificationPage {
            items: found.into_iter().map(|(_, n)| n).collect(),
            cursor: newest.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        })
    }

    /// Counts from the AppView's `app.bsky.feed.getPosts` (a PDS alone serves no `app.bsky.*`
    /// reads). Bluesky reports no impressions or reach.
    async fn metrics(
        &self,
        _account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        AtUri::parse(remote_id)?;
        let answer = self
            .call(
                self.http
                    .get(Self::xrpc(&self.appview, "app.bsky.feed.getPosts"))
                    .query(&[("uris", remote_id)]),
            )
            .await?;
        let post = answer
            .get("posts")
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .ok_or_else(|| NetworkError::permanent(format!("bluesky has no post {remote_id}")))?;
        let count = |name: &str| post.get(name).and_then(Value::as_u64);
        Ok(PostMetrics {
            likes: count("likeCount"),
            comments: count("replyCount"),
            shares: match (count("repostCount"), count("quoteCount")) {
                (None, None) => None,
                (r, q) => Some(r.unwrap_or(0) + q.unwrap_or(0)),
            },
            ..PostMetrics::default()
        })
    }

    /// App passwords do not expire; the session does. Returns the credentials with a fresh
    /// `session` when the stored one is missing or about to expire, so it survives cold starts.
    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let creds = self.credentials(account)?;
        let session = match &creds.stored_session {
            Some(s) if s.fresh_at(now) => return Ok(None),
            Some(s) => self.refresh_session(&creds, s).await?,
            None => self.create_session(&creds).await?,
        };
        let mut updated = Value::clone(&account.credentials);
        updated["session"] = json!({
            "access_jwt": session.access_jwt,
            "refresh_jwt": session.refresh_jwt,
            "did": session.did,
        });
        Ok(Some(updated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(&str, FacetKind)> {
        detect_facets(text)
            .into_iter()
            .map(|s| (&text[s.bytes.clone()], s.kind))
            .collect()
    }

    #[test]
    fn links_mentions_and_tags_are_found_with_byte_offsets() {
        let text = "héllo @alice.test see https://example.com/a?b=1. #rust!";
        let found = detect_facets(text);
        // "héllo " is 7 bytes: é takes two.
        assert_eq!(found[0].bytes, 7..18);
        assert_eq!(found[0].kind, FacetKind::Mention("alice.test".into()));
        assert_eq!(
            spans(text),
            vec![
                ("@alice.test", FacetKind::Mention("alice.test".into())),
                (
                    "https://example.com/a?b=1",
                    FacetKind::Link("https://example.com/a?b=1".into())
                ),
                ("#rust", FacetKind::Tag("rust".into())),
            ]
        );
    }

    #[test]
    fn offsets_after_emoji_count_utf8_bytes_not_chars() {
        let text = "🦋🦋 #bluesky";
        let found = detect_facets(text);
        assert_eq!(found.len(), 1);
        // Each butterfly is 4 bytes, the space one: the tag starts at byte 9.
        assert_eq!(found[0].bytes, 9..17);
    }

    #[test]
    fn a_link_in_parentheses_does_not_take_the_closing_one() {
        assert_eq!(
            spans("(see https://example.com/x)"),
            vec![(
                "https://example.com/x",
                FacetKind::Link("https://example.com/x".into())
            )]
        );
    }

    #[test]
    fn numbers_and_mid_word_signs_are_not_facets() {
        assert!(detect_facets("issue #123 and mail@example.com and @bob").is_empty());
    }

    #[test]
    fn jwt_expiry_reads_the_exp_claim() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scope":"com.atproto.appPass","exp":1700000000}"#);
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
        assert_eq!(jwt_expiry(&jwt), DateTime::from_timestamp(1_700_000_000, 0));
        assert_eq!(jwt_expiry("not-a-jwt"), None);
    }

    #[test]
    fn at_uris_parse_into_repo_collection_and_key() {
        let at = AtUri::parse("at://did:plc:abc/app.bsky.feed.post/3kabc").unwrap();
        assert_eq!(at.repo, "did:plc:abc");
        assert_eq!(at.rkey, "3kabc");
        assert_eq!(
            at.web_url(),
            "https://bsky.app/profile/did:plc:abc/post/3kabc"
        );
        assert!(AtUri::parse("https://bsky.app/x").is_err());
    }
}
