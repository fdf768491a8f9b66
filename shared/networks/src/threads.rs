//! Threads through the Threads API (graph.threads.net).
//!
//! Credentials: `{"access_token", "user_id", "expires_at"?: RFC 3339}` (`user_id` may be
//! absent: `me` then stands for the token's user). Long-lived tokens last 60 days and are
//! renewed with `GET /refresh_access_token?grant_type=th_refresh_token`.
//!
//! Publishing (developers.facebook.com/docs/threads/posts):
//! 1. `GET /{user}/threads_publishing_limit?fields=quota_usage,config`: a post and its thread
//!    must fit in the rolling 24-hour quota;
//! 2. `POST /{user}/threads` with `media_type` TEXT (`text`, `link_attachment`), IMAGE
//!    (`image_url`), VIDEO (`video_url`) or CAROUSEL (`children`, each item created with
//!    `is_carousel_item=true`, checkpoint `child:{i}`); checkpoint `container`;
//! 3. `GET /{container}?fields=status,error_message` until `FINISHED`;
//! 4. `POST /{user}/threads_publish` with `creation_id`; checkpoint `post`;
//! 5. each follow-up of the thread: a TEXT container with `reply_to_id` = the post before
//!    (checkpoints `reply_container:{i}`, `reply:{i}`).

use crate::http::{self, credential};
use crate::meta::{
    self, Graph, Polling, RecentPosts, THREADS_GRAPH, check_limits, container_publish_error, id_of,
    insight, normalise,
};
use crate::oauth::{OAuthApp, OAuthProvider};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::{AspectRange, RateLimit, RateScope, TextCounting};
use herald_domain::{NetworkLimits, Platform};
use herald_ports::{
    AccountContext, Checkpoint, Clock, Connector, MediaRef, NetworkError, NetworkErrorKind,
    PostMetrics, PublishRequest, Published,
};
use serde_json::Value;
use std::sync::Arc;
use url::Url;

/// Threads limits (developers.facebook.com/docs/threads/overview#limitations and
/// .../posts#media-specifications):
/// - text 500 characters; carousels 2–20 items, images and videos mixed;
/// - images JPEG or PNG up to 8 MB, aspect ratio at most 10:1 either way; videos MOV or MP4 up
///   to 1 GB and 5 minutes, aspect ratio 0.01:1 to 10:1;
/// - 250 API-published posts per profile per rolling 24 hours (replies count separately,
///   1,000 per 24 hours); `threads_publishing_limit` gives the live figure.
pub const LIMITS: NetworkLimits = NetworkLimits {
    platform: Platform::Threads,
    max_text: 500,
    counting: TextCounting::Chars,
    requires_media: false,
    max_images: 20,
    max_videos: 20,
    mixed_media: true,
    image_types: &["image/jpeg", "image/png"],
    video_types: &["video/mp4", "video/quicktime"],
    max_image_bytes: Some(8 * 1024 * 1024),
    max_video_bytes: Some(1024 * 1024 * 1024),
    max_video_seconds: Some(300),
    image_aspect: Some(AspectRange {
        min: 0.1,
        max: 10.0,
        label: "1:10 to 10:1",
    }),
    video_aspect: Some(AspectRange {
        min: 0.01,
        max: 10.0,
        label: "0.01:1 to 10:1",
    }),
    max_title: None,
    publish_limits: &[RateLimit {
        scope: RateScope::Account,
        max: 250,
        window_seconds: 86_400,
    }],
};
pub const MAX_CAROUSEL: usize = 20;

/// Long-lived tokens (60 days) are renewed when they have less than this left.
const REFRESH_MARGIN_DAYS: i64 = 7;

pub struct ThreadsConnector {
    graph: Graph,
    polling: Polling,
    provider: OAuthProvider,
    app: Option<OAuthApp>,
}

impl ThreadsConnector {
    /// `base`: the versioned host (`meta::THREADS_GRAPH`); token refresh goes to
    /// `/refresh_access_token` on the same host. `app` is needed only to refresh tokens.
    pub fn new(
        http: reqwest::Client,
        base: Url,
        clock: Arc<dyn Clock>,
        app: Option<OAuthApp>,
    ) -> Self {
        let graph = Graph::new(http, base, Platform::Threads, clock);
        let provider = graph.refreshing_provider();
        ThreadsConnector {
            graph,
            polling: Polling::default(),
            provider,
            app,
        }
    }

    pub fn production(clock: Arc<dyn Clock>, app: Option<OAuthApp>) -> Self {
        Self::new(http::client(), meta::base_url(THREADS_GRAPH), clock, app)
    }

    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    fn ids(&self, account: &AccountContext) -> Result<(String, String), NetworkError> {
        let token = credential(Platform::Threads, &account.credentials, &["access_token"])?;
        let user = credential(Platform::Threads, &account.credentials, &["user_id"])
            .unwrap_or_else(|_| "me".to_owned());
        Ok((token, user))
    }

    async fn check_quota(&self, user: &str, token: &str, needed: u64) -> Result<(), NetworkError> {
        let v = self
            .graph
            .get(
                &format!("{user}/threads_publishing_limit"),
                token,
                &[("fields", "quota_usage,config".to_owned())],
            )
            .await?;
        let Some(entry) = v.pointer("/data/0") else {
            return Ok(());
        };
        let used = entry
            .get("quota_usage")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let total = entry
            .pointer("/config/quota_total")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(LIMITS.publish_limits[0].max));
        if used + needed > total {
            // The rolling window's next free slot is not reported: look again in an hour.
            let retry_at = self.graph.clock.now() + chrono::Duration::hours(1);
            return Err(NetworkError {
                kind: NetworkErrorKind::RateLimited {
                    retry_at: Some(retry_at),
                },
                message: format!(
                    "threads: {used} of {total} API posts used in the last 24 hours; this needs {needed}"
                ),
                code: Some("threads_publishing_limit".into()),
                status: None,
            });
        }
        Ok(())
    }

    async fn create(
        &self,
        user: &str,
        token: &str,
        form: &[(&str, String)],
    ) -> Result<String, NetworkError> {
        let v = self
            .graph
            .post(&format!("{user}/threads"), token, form)
            .await?;
        id_of(Platform::Threads, &v)
    }

    /// The main post's container, created or taken from an earlier attempt.
    async fn container(
        &self,
        user: &str,
        token: &str,
        request: &PublishRequest,
        checkpoint: &dyn Checkpoint,
    ) -> Result<String, NetworkError> {
        if let Some(id) = request.progress.get("container") {
            return Ok(id.clone());
        }
        let text = request.text.clone();
        let form: Vec<(&str, String)> = match request.media.as_slice() {
            [] => {
                let mut f = vec![("media_type", "TEXT".to_owned()), ("text", text)];
                if let Some(link) = &request.link {
                    f.push(("link_attachment", link.clone()));
                }
                f
            }
            [single] => {
                let mut f = item_form(single);
                f.push(("text", text));
                f
            }
            many => {
                let mut children = Vec::new();
                for (i, m) in many.iter().enumerate() {
                    let step = format!("child:{i}");
                    let child = match request.progress.get(&step) {
                        Some(id) => id.clone(),
                        None => {
                            let mut f = item_form(m);
                            f.push(("is_carousel_item", "true".to_owned()));
                            let id = self.create(user, token, &f).await?;
                            checkpoint.record(&step, &id).await?;
                            id
                        }
                    };
                    if m.content_type.starts_with("video/") {
                        self.graph
                            .wait_for_container(
                                &child,
                                token,
                                "status,error_message",
                                "status",
                                self.polling,
                            )
                            .await?;
                    }
                    children.push(child);
                }
                vec![
                    ("media_type", "CAROUSEL".to_owned()),
                    ("children", children.join(",")),
                    ("text", text),
                ]
            }
        };
        let id = self.create(user, token, &form).await?;
        checkpoint.record("container", &id).await?;
        Ok(id)
    }

    /// Waits for a container and publishes it.
    async fn publish_container(
        &self,
        user: &str,
        token: &str,
        container: &str,
    ) -> Result<String, NetworkError> {
        self.graph
            .wait_for_container(
                container,
                token,
                "status,error_message",
                "status",
                self.polling,
            )
            .await?;
        let v = self
            .graph
            .post(
                &format!("{user}/threads_publish"),
                token,
                &[("creation_id", container.to_owned())],
            )
            .await
            .map_err(container_publish_error)?;
        id_of(Platform::Threads, &v).map_err(container_publish_error)
    }

    async fn permalink(&self, id: &str, token: &str) -> Option<String> {
        let v = self
            .graph
            .get(id, token, &[("fields", "permalink".to_owned())])
            .await
            .ok()?;
        v.get("permalink")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

fn item_form(m: &MediaRef) -> Vec<(&'static str, String)> {
    let mut f = Vec::new();
    if m.content_type.starts_with("video/") {
        f.push(("media_type", "VIDEO".to_owned()));
        f.push(("video_url", m.url.clone()));
    } else {
        f.push(("media_type", "IMAGE".to_owned()));
        f.push(("image_url", m.url.clone()));
    }
    if let Some(alt) = &m.alt_text {
        f.push(("alt_text", alt.clone()));
    }
    f
}

/// Rules beyond [`LIMITS`]: each follow-up's length and the carousel size.
pub fn validate(request: &PublishRequest) -> Result<(), NetworkError> {
    check_limits(&LIMITS, &request.text, None, &request.media)?;
    let mut problems = Vec::new();
    if request.media.len() > MAX_CAROUSEL {
        problems.push(format!(
            "threads: at most {MAX_CAROUSEL} items per carousel"
        ));
    }
    for (i, t) in request.thread.iter().enumerate() {
        let n = LIMITS.counting.count(t);
        if n > LIMITS.max_text {
            problems.push(format!(
                "threads: follow-up {} is {n} characters, the limit is {}",
                i + 1,
                LIMITS.max_text
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(NetworkError::permanent(problems.join("; ")))
    }
}

#[async_trait]
impl Connector for ThreadsConnector {
    fn platform(&self) -> Platform {
        Platform::Threads
    }

    fn webhook_secret(&self) -> Option<&str> {
        // The app's secret signs the network's webhook deliveries.
        self.app.as_ref().map(|a| a.client_secret.expose())
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
        let (token, user) = self.ids(account)?;
        let progress = &request.progress;
        let post_id = match progress.get("post") {
            Some(id) => id.clone(),
            None => {
                validate(request)?;
                self.check_quota(&user, &token, 1).await?;
                let container = self.container(&user, &token, request, checkpoint).await?;
                let id = self.publish_container(&user, &token, &container).await?;
                checkpoint.record("post", &id).await?;
                id
            }
        };
        let mut parent = post_id.clone();
        for (i, text) in request.thread.iter().enumerate() {
            let done = format!("reply:{i}");
            if let Some(id) = progress.get(&done) {
                parent = id.clone();
                continue;
            }
            let step = format!("reply_container:{i}");
            let container = match progress.get(&step) {
                Some(id) => id.clone(),
                None => {
                    let id = self
                        .create(
                            &user,
                            &token,
                            &[
                                ("media_type", "TEXT".to_owned()),
                                ("text", text.clone()),
                                ("reply_to_id", parent.clone()),
                            ],
                        )
                        .await?;
                    checkpoint.record(&step, &id).await?;
                    id
                }
            };
            let id = self.publish_container(&user, &token, &container).await?;
            checkpoint.record(&done, &id).await?;
            parent = id;
        }
        let url = self.permalink(&post_id, &token).await;
        Ok(Published {
            remote_id: post_id,
            url,
        })
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        let (token, user) = self.ids(account)?;
        let lookup = RecentPosts {
            edge: &format!("{user}/threads"),
            fields: "id,text,timestamp,permalink",
            text: "text",
            link: "permalink",
            time: Some("timestamp"),
        };
        let want = normalise(&request.text);
        let found = self
            .graph
            .find_recent(&token, &lookup, &want, since)
            .await?;
        Ok(found.map(|(remote_id, url)| Published { remote_id, url }))
    }

    /// `DELETE /{threads-media-id}` (100 deletes per profile a day).
    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let (token, _) = self.ids(account)?;
        self.graph.delete_post(remote_id, &token).await
    }

    /// A reply is a TEXT container with `reply_to_id`, then published.
    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let (token, user) = self.ids(account)?;
        let container = self
            .create(
                &user,
                &token,
                &[
                    ("media_type", "TEXT".to_owned()),
                    ("text", text.to_owned()),
                    ("reply_to_id", remote_id.to_owned()),
                ],
            )
            .await?;
        let id = self.publish_container(&user, &token, &container).await?;
        let url = self.permalink(&id, &token).await;
        Ok(Published { remote_id: id, url })
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let (token, _) = self.ids(account)?;
        let v = self
            .graph
            .get(
                &format!("{remote_id}/insights"),
                &token,
                &[(
                    "metric",
                    "views,likes,replies,reposts,quotes,shares".to_owned(),
                )],
            )
            .await?;
        // Reposts, quotes and shares are each a way the post was passed on.
        let passed_on = ["reposts", "quotes", "shares"]
            .iter()
            .filter_map(|m| insight(&v, m))
            .reduce(|a, b| a + b);
        Ok(PostMetrics {
            impressions: insight(&v, "views"),
            reach: None,
            likes: insight(&v, "likes"),
            comments: insight(&v, "replies"),
            shares: passed_on,
            saves: None,
            video_views: None,
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let margin = chrono::Duration::days(REFRESH_MARGIN_DAYS);
        let app = self.app.as_ref();
        meta::refresh_long_lived(
            &self.graph,
            &self.provider,
            app,
            account,
            margin,
            now,
            || self.ids(account).map(|(token, _)| token),
        )
        .await
    }
}
