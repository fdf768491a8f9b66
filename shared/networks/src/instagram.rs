//! Instagram professional accounts through the Instagram Graph API (Instagram API with
//! Instagram Login, the flow `crate::oauth` runs; graph.facebook.com with Facebook Login takes
//! the same calls: point `base` there).
//!
//! Credentials: `{"access_token", "user_id" (or "ig_user_id"), "expires_at"?: RFC 3339}`.
//! Long-lived tokens last 60 days and are renewed with `grant_type=ig_refresh_token`.
//!
//! Publishing (developers.facebook.com/docs/instagram-platform/content-publishing):
//! 1. `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`: over quota is
//!    RateLimited before anything is created;
//! 2. `POST /{ig-user-id}/media`: `image_url`, or `media_type=REELS` + `video_url`; for a
//!    carousel each item with `is_carousel_item=true` (checkpoint `child:{i}`), then
//!    `media_type=CAROUSEL` + `children` (checkpoint `container`);
//! 3. `GET /{container-id}?fields=status_code,status` until `FINISHED`;
//! 4. `POST /{ig-user-id}/media_publish` with `creation_id` (checkpoint `media`);
//! 5. first comment: `POST /{ig-media-id}/comments` (checkpoint `first_comment`).
//!
//! A resumed attempt reuses every recorded container instead of creating new ones. An error
//! from `media_publish` may come after the post went live (subcode 2207051 among others), so
//! it is Uncertain unless it surely published nothing (Postiz PR #1681 posted twice).

use crate::http::{self, credential};
use crate::meta::{
    self, Graph, INSTAGRAM_GRAPH, Polling, RecentPosts, check_limits, container_publish_error,
    id_of, insight, normalise,
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

/// Instagram limits (developers.facebook.com/docs/instagram-platform/instagram-graph-api/
/// reference/ig-user/media):
/// - caption 2,200 characters, at most 30 hashtags and 20 @-mentions;
/// - images JPEG only, up to 8 MB; carousels up to 10 items, images and videos mixed;
/// - Reels MP4/MOV up to 300 MB and 15 minutes;
/// - aspect ratios: feed images 4:5 to 1.91:1, Reels 0.01:1 to 10:1 (the same page's image and
///   Reels specifications);
/// - 50 API publishes per account per rolling 24 hours (reference/ig-user/
///   content_publishing_limit; the live `config.quota_total` is what publishing checks).
pub const LIMITS: NetworkLimits = NetworkLimits {
    platform: Platform::Instagram,
    max_text: 2_200,
    counting: TextCounting::Chars,
    requires_media: true,
    max_images: 10,
    max_videos: 10,
    mixed_media: true,
    image_types: &["image/jpeg"],
    video_types: &["video/mp4", "video/quicktime"],
    max_image_bytes: Some(8 * 1024 * 1024),
    max_video_bytes: Some(300 * 1024 * 1024),
    max_video_seconds: Some(15 * 60),
    image_aspect: Some(AspectRange {
        min: 4.0 / 5.0,
        max: 1.91,
        label: "4:5 to 1.91:1",
    }),
    video_aspect: Some(AspectRange {
        min: 0.01,
        max: 10.0,
        label: "0.01:1 to 10:1",
    }),
    max_title: None,
    publish_limits: &[RateLimit {
        scope: RateScope::Account,
        max: 50,
        window_seconds: 86_400,
    }],
};
pub const MAX_HASHTAGS: usize = 30;
pub const MAX_MENTIONS: usize = 20;
pub const MAX_CAROUSEL: usize = 10;

/// Long-lived tokens (60 days) are renewed when they have less than this left.
const REFRESH_MARGIN_DAYS: i64 = 7;

pub struct InstagramConnector {
    graph: Graph,
    polling: Polling,
    provider: OAuthProvider,
    app: Option<OAuthApp>,
}

impl InstagramConnector {
    /// `base`: the versioned Graph host (`meta::INSTAGRAM_GRAPH`); the token refresh goes to
    /// `/refresh_access_token` on the same host. `app` is needed only to refresh tokens.
    pub fn new(
        http: reqwest::Client,
        base: Url,
        clock: Arc<dyn Clock>,
        app: Option<OAuthApp>,
    ) -> Self {
        let graph = Graph::new(http, base, Platform::Instagram, clock);
        let provider = graph.refreshing_provider();
        InstagramConnector {
            graph,
            polling: Polling::default(),
            provider,
            app,
        }
    }

    pub fn production(clock: Arc<dyn Clock>, app: Option<OAuthApp>) -> Self {
        Self::new(http::client(), meta::base_url(INSTAGRAM_GRAPH), clock, app)
    }

    /// How containers are polled (tests poll without waiting).
    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    fn ids(&self, account: &AccountContext) -> Result<(String, String), NetworkError> {
        let p = Platform::Instagram;
        Ok((
            credential(p, &account.credentials, &["access_token"])?,
            credential(p, &account.credentials, &["ig_user_id", "user_id"])?,
        ))
    }

    /// RateLimited when the account used its rolling 24-hour quota of API publishes.
    async fn check_quota(&self, user: &str, token: &str) -> Result<(), NetworkError> {
        let v = self
            .graph
            .get(
                &format!("{user}/content_publishing_limit"),
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
        if used >= total {
            // Meta does not say when the oldest publish leaves the rolling window; look again
            // in an hour rather than hammering the endpoint.
            let retry_at = self.graph.clock.now() + chrono::Duration::hours(1);
            return Err(NetworkError {
                kind: NetworkErrorKind::RateLimited {
                    retry_at: Some(retry_at),
                },
                message: format!(
                    "instagram: {used} of {total} API publishes used in the last 24 hours"
                ),
                code: Some("content_publishing_limit".into()),
                status: None,
            });
        }
        Ok(())
    }

    async fn create_container(
        &self,
        user: &str,
        token: &str,
        form: Vec<(&str, String)>,
    ) -> Result<String, NetworkError> {
        let v = self
            .graph
            .post(&format!("{user}/media"), token, &form)
            .await?;
        id_of(Platform::Instagram, &v)
    }

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
        let caption = caption(request);
        let id = if let [single] = request.media.as_slice() {
            let mut form = item_form(single, false);
            form.push(("caption", caption));
            self.create_container(user, token, form).await?
        } else {
            let mut children = Vec::new();
            for (i, m) in request.media.iter().enumerate() {
                let step = format!("child:{i}");
                let child = match request.progress.get(&step) {
                    Some(id) => id.clone(),
                    None => {
                        let id = self
                            .create_container(user, token, item_form(m, true))
                            .await?;
                        checkpoint.record(&step, &id).await?;
                        id
                    }
                };
                if m.content_type.starts_with("video/") {
                    self.graph
                        .wait_for_container(
                            &child,
                            token,
                            "status_code,status",
                            "status_code",
                            self.polling,
                        )
                        .await?;
                }
                children.push(child);
            }
            let form = vec![
                ("media_type", "CAROUSEL".to_owned()),
                ("children", children.join(",")),
                ("caption", caption),
            ];
            self.create_container(user, token, form).await?
        };
        checkpoint.record("container", &id).await?;
        Ok(id)
    }
}

/// The form of one item container.
fn item_form(m: &MediaRef, carousel_item: bool) -> Vec<(&'static str, String)> {
    let mut form = Vec::new();
    if m.content_type.starts_with("video/") {
        // VIDEO is retired for feed posts: single videos are Reels; carousel videos say VIDEO.
        let kind = if carousel_item { "VIDEO" } else { "REELS" };
        form.push(("media_type", kind.to_owned()));
        form.push(("video_url", m.url.clone()));
    } else {
        form.push(("image_url", m.url.clone()));
        if let Some(alt) = &m.alt_text {
            form.push(("alt_text", alt.clone()));
        }
    }
    if carousel_item {
        form.push(("is_carousel_item", "true".to_owned()));
    }
    form
}

/// The caption: the text, and the link on its own line when the text lacks it (Instagram
/// does not link it, but readers can copy it).
pub fn caption(request: &PublishRequest) -> String {
    match &request.link {
        Some(link) if !request.text.contains(link.as_str()) => {
            format!("{}\n\n{link}", request.text.trim_end())
        }
        _ => request.text.clone(),
    }
}

/// Rules beyond [`LIMITS`]: hashtag and mention counts, carousel size, media present.
pub fn validate(request: &PublishRequest) -> Result<(), NetworkError> {
    let caption = caption(request);
    check_limits(&LIMITS, &caption, None, &request.media)?;
    let count = |prefix: char| {
        caption
            .split_whitespace()
            .filter(|w| w.starts_with(prefix) && w.chars().count() > 1)
            .count()
    };
    let mut problems = Vec::new();
    if count('#') > MAX_HASHTAGS {
        problems.push(format!(
            "instagram: at most {MAX_HASHTAGS} hashtags per caption"
        ));
    }
    if count('@') > MAX_MENTIONS {
        problems.push(format!(
            "instagram: at most {MAX_MENTIONS} mentions per caption"
        ));
    }
    if request.media.len() > MAX_CAROUSEL {
        problems.push(format!(
            "instagram: at most {MAX_CAROUSEL} items per carousel"
        ));
    }
    if !request.thread.is_empty() {
        problems.push("instagram: posts have no threads".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(NetworkError::permanent(problems.join("; ")))
    }
}

#[async_trait]
impl Connector for InstagramConnector {
    fn platform(&self) -> Platform {
        Platform::Instagram
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
        let media_id = match request.progress.get("media") {
            Some(id) => id.clone(),
            None => {
                validate(request)?;
                self.check_quota(&user, &token).await?;
                let container = self.container(&user, &token, request, checkpoint).await?;
                self.graph
                    .wait_for_container(
                        &container,
                        &token,
                        "status_code,status",
                        "status_code",
                        self.polling,
                    )
                    .await?;
                let v = self
                    .graph
                    .post(
                        &format!("{user}/media_publish"),
                        &token,
                        &[("creation_id", container.clone())],
                    )
                    .await
                    .map_err(container_publish_error)?;
                let id = id_of(Platform::Instagram, &v).map_err(container_publish_error)?;
                checkpoint.record("media", &id).await?;
                id
            }
        };
        if let Some(comment) = &request.first_comment
            && !request.progress.contains_key("first_comment")
        {
            match self
                .graph
                .post(
                    &format!("{media_id}/comments"),
                    &token,
                    &[("message", comment.clone())],
                )
                .await
            {
                Ok(v) => {
                    if let Ok(id) = id_of(Platform::Instagram, &v) {
                        checkpoint.record("first_comment", &id).await?;
                    }
                }
                // The post is live: a failed first comment must not fail it.
                Err(e) => {
                    tracing::warn!(media = %media_id, error = %e, "instagram first comment failed")
                }
            }
        }
        let url = self
            .graph
            .get(&media_id, &token, &[("fields", "permalink".to_owned())])
            .await
            .ok()
            .and_then(|v| {
                v.get("permalink")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        Ok(Published {
            remote_id: media_id,
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
            edge: &format!("{user}/media"),
            fields: "id,caption,timestamp,permalink",
            text: "caption",
            link: "permalink",
            time: Some("timestamp"),
        };
        let want = normalise(&caption(request));
        let found = self
            .graph
            .find_recent(&token, &lookup, &want, since)
            .await?;
        Ok(found.map(|(remote_id, url)| Published { remote_id, url }))
    }

    async fn delete(&self, _account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        // The Instagram Graph API has no delete for published media.
        Err(NetworkError::permanent(format!(
            "instagram: the API cannot delete posts; delete {remote_id} in the Instagram app"
        )))
    }

    /// Replies to a comment (`POST /{ig-comment-id}/replies`); given a media id instead, comments
    /// on the media (`POST /{ig-media-id}/comments`).
    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let (token, _) = self.ids(account)?;
        let form = [("message", text.to_owned())];
        let v = match self
            .graph
            .post(&format!("{remote_id}/replies"), &token, &form)
            .await
        {
            Ok(v) => v,
            // Code 100: the object has no `replies` edge, so it is a media item.
            Err(e) if e.kind == NetworkErrorKind::Permanent && e.code.as_deref() == Some("100") => {
                self.graph
                    .post(&format!("{remote_id}/comments"), &token, &form)
                    .await?
            }
            Err(e) => return Err(e),
        };
        Ok(Published {
            remote_id: id_of(Platform::Instagram, &v)?,
            url: None,
        })
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let (token, _) = self.ids(account)?;
        // `views` replaced `impressions` and `plays` in 2025 (reference/ig-media/insights).
        let v = self
            .graph
            .get(
                &format!("{remote_id}/insights"),
                &token,
                &[(
                    "metric",
                    "reach,likes,comments,shares,saved,views".to_owned(),
                )],
            )
            .await?;
        Ok(PostMetrics {
            impressions: insight(&v, "views"),
            reach: insight(&v, "reach"),
            likes: insight(&v, "likes"),
            comments: insight(&v, "comments"),
            shares: insight(&v, "shares"),
            saves: insight(&v, "saved"),
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
