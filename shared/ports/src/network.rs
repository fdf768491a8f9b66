//! The network connector port: one implementation per social network, all the same shape.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, MediaId, NetworkLimits, Platform, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The account a call acts for, with its credentials decrypted for the call's duration only.
#[derive(Clone, Debug)]
pub struct AccountContext {
    pub workspace: WorkspaceId,
    pub account: AccountId,
    pub handle: String,
    /// Opened for the call only; never printed.
    pub credentials: herald_domain::Secret<serde_json::Value>,
}

/// A media item as a network gets it: a URL it may fetch (a presigned GET) and the blob key,
/// for connectors that upload the bytes themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    pub id: MediaId,
    pub content_type: String,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_seconds: Option<f64>,
    pub url: String,
    pub blob_key: String,
    pub alt_text: Option<String>,
}

/// Everything a network needs to publish one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// Unique per target and stable across attempts: the idempotency key where a network takes
    /// one, and the marker a lookup matches on.
    pub marker: String,
    pub text: String,
    pub title: Option<String>,
    pub link: Option<String>,
    pub media: Vec<MediaRef>,
    pub first_comment: Option<String>,
    /// Follow-up posts, each a reply to the one before.
    pub thread: Vec<String>,
    /// Remote ids that earlier attempts recorded through the [`Checkpoint`], by step name:
    /// a resumed publish continues from them instead of starting over.
    pub progress: BTreeMap<String, String>,
}

/// What a network answered for a published post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub remote_id: String,
    pub url: Option<String>,
}

/// Lets a multi-step publish record each remote id the moment the network returns it.
#[async_trait]
pub trait Checkpoint: Send + Sync {
    async fn record(&self, step: &str, remote_id: &str) -> Result<(), NetworkError>;
}

/// A checkpoint that keeps nothing, for calls outside the publishing engine.
pub struct NoCheckpoint;

#[async_trait]
impl Checkpoint for NoCheckpoint {
    async fn record(&self, _step: &str, _remote_id: &str) -> Result<(), NetworkError> {
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NetworkErrorKind {
    /// Worth retrying later; the request did not take effect.
    Transient,
    /// Too many requests; `retry_at` is when the network said to come back.
    RateLimited { retry_at: Option<DateTime<Utc>> },
    /// The network refused the content or request; retrying cannot help.
    Permanent,
    /// The token is revoked or expired beyond refresh: the account must be reconnected.
    Unauthorized,
    /// The request may have taken effect (a timeout or broken connection after sending):
    /// ask the network before trying again.
    Uncertain,
}

/// A network's refusal or failure, with the network's own words kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct NetworkError {
    pub kind: NetworkErrorKind,
    pub message: String,
    /// The network's error code, when it gives one (`DUPLICATE_POST`, `2207051`, ...).
    pub code: Option<String>,
    pub status: Option<u16>,
}

impl NetworkError {
    pub fn new(kind: NetworkErrorKind, message: impl Into<String>) -> Self {
        NetworkError {
            kind,
            message: message.into(),
            code: None,
            status: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(NetworkErrorKind::Permanent, message)
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(NetworkErrorKind::Transient, message)
    }
    pub fn uncertain(message: impl Into<String>) -> Self {
        Self::new(NetworkErrorKind::Uncertain, message)
    }
}

/// Engagement on one published post, as far as the network reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMetrics {
    pub impressions: Option<u64>,
    pub reach: Option<u64>,
    pub likes: Option<u64>,
    pub comments: Option<u64>,
    pub shares: Option<u64>,
    pub saves: Option<u64>,
    pub video_views: Option<u64>,
}

/// One reply or mention a network reports through its notifications (networks without
/// webhooks: Mastodon, Bluesky), as the poller hands it to the inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The network's own id of the reply or mention (a status id, an at:// URI): what
    /// deduplicates it and what a reply answers.
    pub id: String,
    /// A reply to a post (the post it answers in `post_remote_id`) or a mention.
    pub reply: bool,
    /// The network's id of the post it answers; the mention's own id when it answers none.
    pub post_remote_id: String,
    pub author: Option<String>,
    pub text: Option<String>,
}

/// A poll's answer: what is new since the cursor, oldest first, and the cursor to pass next
/// time (opaque to Herald; None when the network answered nothing to move it on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub cursor: Option<String>,
}

#[async_trait]
pub trait Connector: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// The network's documented limits (text, media, publishing rate).
    fn limits(&self) -> NetworkLimits;

    /// Publishes one target. Multi-step flows record each remote id through `checkpoint` as
    /// soon as the network returns it and resume from `request.progress`.
    async fn publish(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Published, NetworkError>;

    /// Looks among the account's posts since `since` for the one this request made, matching
    /// on its marker or content; never guesses from "the newest post".
    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError>;

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError>;

    /// Replies to a post or comment on the network.
    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError>;

    async fn metrics(
        &self,
        account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError>;

    /// Whether sending the same reply again cannot post it twice (the network deduplicates it,
    /// as Mastodon does by `Idempotency-Key`): a reply whose outcome is unknown is then sent
    /// again instead of looked for.
    fn reply_retry_is_safe(&self) -> bool {
        false
    }

    /// Looks for the reply `text` to `remote_id` among the account's posts since `since`, for a
    /// reply whose outcome is unknown. A network that cannot say answers an error, and the
    /// reply stays unconfirmed rather than being sent twice.
    async fn find_reply(
        &self,
        _account: &AccountContext,
        _remote_id: &str,
        _text: &str,
        _since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        Err(NetworkError::permanent(
            "this network cannot be asked whether a reply went out",
        ))
    }

    /// Whether this network is polled for replies and mentions (it sends no webhooks).
    fn polls_notifications(&self) -> bool {
        false
    }

    /// Replies and mentions since `cursor` (none: the newest page only, so connecting an
    /// account imports recent ones, not its whole history).
    async fn notifications(
        &self,
        _account: &AccountContext,
        _cursor: Option<&str>,
    ) -> Result<NotificationPage, NetworkError> {
        Ok(NotificationPage::default())
    }

    /// The secret the network signs its webhook deliveries with (Herald's app secret with
    /// it), when Herald is registered with a network that sends webhooks.
    fn webhook_secret(&self) -> Option<&str> {
        None
    }

    /// New credentials when the current ones expire before `now` plus a margin; None when
    /// they are still good (or never expire).
    async fn refresh_credentials(
        &self,
        _account: &AccountContext,
        _now: DateTime<Utc>,
    ) -> Result<Option<serde_json::Value>, NetworkError> {
        Ok(None)
    }
}

/// Connectors by platform, built once at start.
pub type Connectors = BTreeMap<Platform, std::sync::Arc<dyn Connector>>;
