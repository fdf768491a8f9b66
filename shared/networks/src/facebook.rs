//! Facebook Pages through the Graph API.
//!
//! Credentials: `{"access_token": "<Page access token>", "page_id": "...",
//! "expires_at"?: RFC 3339}`. A Page token taken from a long-lived user token does not expire
//! (developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived), so
//! `expires_at` is usually absent and nothing is refreshed.
//!
//! Flows (developers.facebook.com/docs/pages-api/posts):
//! - text and link: `POST /{page-id}/feed` with `message`, `link`;
//! - images: each `POST /{page-id}/photos` with `url` (a presigned GET) and `published=false`,
//!   then `POST /{page-id}/feed` with `attached_media[i]={"media_fbid":...}` — one flow for one
//!   or many photos; each photo id is checkpointed (`photo:{i}`), then the post (`post`);
//! - video: `POST /{page-id}/videos` with `file_url` and `description` (checkpoint `video`);
//! - first comment: `POST /{post-id}/comments` (checkpoint `first_comment`).

use crate::http::{self, credential};
use crate::meta::{
    self, FACEBOOK_GRAPH, Graph, MetaApp, RecentPosts, absolute_permalink, after_side_effect,
    check_limits, id_of, insight, normalise,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::{RateLimit, TextCounting};
use herald_domain::{NetworkLimits, Platform};
use herald_ports::{
    AccountContext, Checkpoint, Clock, Connector, NetworkError, NetworkErrorKind, PostMetrics,
    PublishRequest, Published,
};
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

/// Facebook Pages limits.
/// - Text: 63,206 characters per post (Meta Business Help Center, "Facebook post character
///   limit").
/// - Photos: JPEG, PNG, GIF, BMP, TIFF up to 4 MB (developers.facebook.com/docs/graph-api/
///   reference/page/photos). The API documents no count for `attached_media`; Herald caps at 10,
///   the number the Page composer shows in a grid.
/// - Video by `file_url` (non-resumable): up to 1 GB and 20 minutes
///   (developers.facebook.com/docs/video-api/guides/publishing).
/// - Publishing rate: no per-Page post count is documented; calls count against the Pages
///   Business Use Case limit, read from `X-Business-Use-Case-Usage` when throttled.
pub const LIMITS: NetworkLimits = NetworkLimits {
    platform: Platform::Facebook,
    max_text: 63_206,
    counting: TextCounting::Chars,
    requires_media: false,
    max_images: 10,
    max_videos: 1,
    mixed_media: false,
    image_types: &[
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/tiff",
    ],
    video_types: &["video/mp4", "video/quicktime", "video/webm"],
    max_image_bytes: Some(4 * 1024 * 1024),
    max_video_bytes: Some(1024 * 1024 * 1024),
    max_video_seconds: Some(20 * 60),
    image_aspect: None,
    video_aspect: None,
    max_title: None,
    publish_limits: &[] as &[RateLimit],
};

/// Within this long of `expires_at`, a token that does expire is exchanged for a new one.
const REFRESH_MARGIN_DAYS: i64 = 7;

pub struct FacebookConnector {
    graph: Graph,
    app: Option<MetaApp>,
}

impl FacebookConnector {
    /// `base` is the versioned Graph host (`meta::FACEBOOK_GRAPH` in production); `app` is
    /// needed only to exchange tokens that expire.
    pub fn new(
        http: reqwest::Client,
        base: Url,
        clock: Arc<dyn Clock>,
        app: Option<MetaApp>,
    ) -> Self {
        FacebookConnector {
            graph: Graph::new(http, base, Platform::Facebook, clock),
            app,
        }
    }

    /// The production connector: Meta's Graph host and Herald's HTTP client.
    pub fn production(clock: Arc<dyn Clock>, app: Option<MetaApp>) -> Self {
        Self::new(http::client(), meta::base_url(FACEBOOK_GRAPH), clock, app)
    }

    fn ids(&self, account: &AccountContext) -> Result<(String, String), NetworkError> {
        let p = Platform::Facebook;
        Ok((
            credential(p, &account.credentials, &["access_token"])?,
            credential(p, &account.credentials, &["page_id"])?,
        ))
    }

    async fn permalink(&self, id: &str, token: &str) -> Option<String> {
        let v = self
            .graph
            .get(id, token, &[("fields", "permalink_url".to_owned())])
            .await
            .ok()?;
        v.get("permalink_url")
            .and_then(Value::as_str)
            .map(absolute_permalink)
    }
}

/// The message a post carries: with photos attached the link cannot be a link preview, so it
/// goes into the text (unless the text already has it).
pub fn message(request: &PublishRequest) -> String {
    let has_images = request
        .media
        .iter()
        .any(|m| m.content_type.starts_with("image/"));
    match &request.link {
        Some(link) if has_images && !request.text.contains(link.as_str()) => {
            format!("{}\n\n{link}", request.text.trim_end())
        }
        _ => request.text.clone(),
    }
}

#[async_trait]
impl Connector for FacebookConnector {
    fn platform(&self) -> Platform {
        Platform::Facebook
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
        let (token, page) = self.ids(account)?;
        if !request.thread.is_empty() {
            return Err(NetworkError::permanent(
                "facebook: Pages have no threads; publish the follow-ups as separate posts",
            ));
        }
        check_limits(
            &LIMITS,
            &request.text,
            request.title.as_deref(),
            &request.media,
        )?;
        let progress = &request.progress;
        let message = message(request);

        let post_id = if let Some(id) = progress.get("post").or_else(|| progress.get("video")) {
            id.clone()
        } else if let Some(video) = request
            .media
            .iter()
            .find(|m| m.content_type.starts_with("video/"))
        {
            let mut form = vec![
                ("file_url", video.url.clone()),
                ("description", message.clone()),
            ];
            if let Some(t) = &request.title {
                form.push(("title", t.clone()));
            }
            let v = self
                .graph
                .post(&format!("{page}/videos"), &token, &form)
                .await
                .map_err(after_side_effect)?;
            let id = id_of(Platform::Facebook, &v)?;
            checkpoint.record("video", &id).await?;
            id
        } else {
            let mut form: Vec<(String, String)> = vec![("message".into(), message.clone())];
            for (i, image) in request.media.iter().enumerate() {
                let step = format!("photo:{i}");
                let photo = match progress.get(&step) {
                    Some(id) => id.clone(),
                    None => {
                        // Unpublished photos only become visible through the feed post below,
                        // so an error here cannot have published anything.
                        let v = self
                            .graph
                            .post(
                                &format!("{page}/photos"),
                                &token,
                                &[
                                    ("url", image.url.clone()),
                                    ("published", "false".to_owned()),
                                ],
                            )
                            .await?;
                        let id = id_of(Platform::Facebook, &v)?;
                        checkpoint.record(&step, &id).await?;
                        id
                    }
                };
                form.push((
                    format!("attached_media[{i}]"),
                    json!({ "media_fbid": photo }).to_string(),
                ));
            }
            if request.media.is_empty()
                && let Some(link) = &request.link
            {
                form.push(("link".into(), link.clone()));
            }
            let form: Vec<(&str, String)> =
                form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let v = self
                .graph
                .post(&format!("{page}/feed"), &token, &form)
                .await
                .map_err(after_side_effect)?;
            let id = id_of(Platform::Facebook, &v)?;
            checkpoint.record("post", &id).await?;
            id
        };

        if let Some(comment) = &request.first_comment
            && !progress.contains_key("first_comment")
        {
            match self
                .graph
                .post(
                    &format!("{post_id}/comments"),
                    &token,
                    &[("message", comment.clone())],
                )
                .await
            {
                Ok(v) => {
                    if let Ok(id) = id_of(Platform::Facebook, &v) {
                        checkpoint.record("first_comment", &id).await?;
                    }
                }
                // The post is live; a missing first comment must not make it fail (and be
                // posted again).
                Err(e) => {
                    tracing::warn!(post = %post_id, error = %e, "facebook first comment failed")
                }
            }
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
        let (token, page) = self.ids(account)?;
        // The page feed answers only posts since `since`, so no post's time is checked here.
        let lookup = RecentPosts {
            edge: &format!("{page}/posts"),
            fields: "id,message,created_time,permalink_url",
            text: "message",
            link: "permalink_url",
            time: None,
        };
        let want = normalise(&message(request));
        let found = self
            .graph
            .find_recent(&token, &lookup, &want, since)
            .await?;
        Ok(found.map(|(remote_id, link)| Published {
            remote_id,
            url: link.as_deref().map(absolute_permalink),
        }))
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        let (token, _) = self.ids(account)?;
        self.graph.delete_post(remote_id, &token).await
    }

    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let (token, _) = self.ids(account)?;
        let v = self
            .graph
            .post(
                &format!("{remote_id}/comments"),
                &token,
                &[("message", text.to_owned())],
            )
            .await
            .map_err(after_side_effect)?;
        Ok(Published {
            remote_id: id_of(Platform::Facebook, &v)?,
            url: None,
        })
    }

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        let (token, _) = self.ids(account)?;
        let counts = self
            .graph
            .get(
                remote_id,
                &token,
                &[(
                    "fields",
                    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
                        .to_owned(),
                )],
            )
            .await?;
        // "Views" replaced impressions in November 2025 (post_impressions* deprecated;
        // developers.facebook.com/docs/platforminsights/page/deprecated-metrics). Insights need
        // a Page with 100 likes; without them the counts above still stand.
        let insights = match self
            .graph
            .get(
                &format!("{remote_id}/insights"),
                &token,
                &[(
                    "metric",
                    "post_media_view,post_total_media_view_unique".to_owned(),
                )],
            )
            .await
        {
            Ok(v) => v,
            Err(e) if e.kind == NetworkErrorKind::Permanent => Value::Null,
            Err(e) => return Err(e),
        };
        let total = |path: &str| counts.pointer(path).and_then(Value::as_u64);
        Ok(PostMetrics {
            impressions: insight(&insights, "post_media_view"),
            reach: insight(&insights, "post_total_media_view_unique"),
            likes: total("/reactions/summary/total_count"),
            comments: total("/comments/summary/total_count"),
            // Graph leaves `shares` out when nobody shared.
            shares: Some(total("/shares/count").unwrap_or(0)),
            saves: None,
            video_views: None,
        })
    }

    async fn refresh_credentials(
        &self,
        account: &AccountContext,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, NetworkError> {
        let Some(expires) = meta::expires_at(&account.credentials) else {
            return Ok(None);
        };
        if expires - now > chrono::Duration::days(REFRESH_MARGIN_DAYS) {
            return Ok(None);
        }
        let Some(app) = &self.app else {
            return Err(NetworkError::permanent(
                "facebook: the token expires soon and no Meta app is configured to renew it",
            ));
        };
        let (token, _) = self.ids(account)?;
        meta::exchange_long_lived(&self.graph, app, &account.credentials, &token)
            .await
            .map(Some)
    }
}
