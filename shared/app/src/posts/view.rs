//! A post as clients send it and as the API shows it.

use chrono::{DateTime, Utc};
use herald_domain::{
    AccountId, Approval, MediaId, Platform, Post, PostId, PostKind, PostStatus, Recurrence,
    ReviewComment, Target, TargetStatus, Variant,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of `POST /v1/posts`. Ids and platforms are typed, so a malformed one is refused
/// while parsing, with its field named.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    #[serde(default)]
    pub text: String,
    pub accounts: Vec<AccountId>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub variants: BTreeMap<Platform, Variant>,
    #[serde(default)]
    pub media: Vec<MediaId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub kind: PostKind,
    /// Repeat the post (needs a first time: `scheduled_at` or `queue`).
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// Take the next queue slot free in every account's queue instead of a given time.
    #[serde(default)]
    pub queue: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetView {
    pub account: AccountId,
    pub platform: Platform,
    pub status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    pub attempts: u32,
}

/// A post as the API shows it (`GET /v1/posts/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: PostId,
    pub status: PostStatus,
    pub text: String,
    pub accounts: Vec<AccountId>,
    pub variants: BTreeMap<Platform, Variant>,
    pub media: Vec<MediaId>,
    pub tags: Vec<String>,
    pub kind: PostKind,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<PostId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_slot: Option<DateTime<Utc>>,
    /// Who approved it (approvals on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Reviewers' comments, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<ReviewComment>,
    pub targets: Vec<TargetView>,
}

impl PostView {
    pub fn of(post: &Post, targets: &[Target]) -> PostView {
        let statuses: Vec<_> = targets.iter().map(|t| t.status).collect();
        PostView {
            id: post.id.clone(),
            status: PostStatus::derive(post.lifecycle, &statuses),
            text: post.text.clone(),
            accounts: post.accounts.clone(),
            variants: post.variants.clone(),
            media: post.media.clone(),
            tags: post.tags.clone(),
            kind: post.kind,
            scheduled_at: post.scheduled_at,
            created_at: post.created_at,
            updated_at: post.updated_at,
            recurrence: post.recurrence.clone(),
            series: post.series.clone(),
            occurrence: post.occurrence,
            queue_slot: post.queue_slot,
            approval: post.approval.clone(),
            comments: post.comments.clone(),
            targets: targets
                .iter()
                .map(|t| TargetView {
                    account: t.account.clone(),
                    platform: t.platform,
                    status: t.status,
                    remote_id: t.remote_id.clone(),
                    url: t.url.clone(),
                    error: t.error.clone(),
                    published_at: t.published_at,
                    attempts: t.attempts,
                })
                .collect(),
        }
    }
}

/// The answer to a create: the post, and whether it is the replay of an earlier request.
#[derive(Debug)]
pub struct Created {
    pub post: PostView,
    pub replayed: bool,
}
