//! What Herald tells the world happened: one kind per event, each with its own payload. Outbound
//! webhooks publish these as a contract, so a field once named keeps its name.
//!
//! On the wire an event is `{id, kind, workspace, time, data}`: `kind` is the dotted name
//! (`post.published`) and `data` the payload of that kind.

use crate::ids::{AccountId, EventId, MediaId, PostId, WorkspaceId};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One event, with its envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Unique per event: consumers drop repeats by it.
    pub id: EventId,
    pub workspace: WorkspaceId,
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, and its payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "data")]
pub enum EventKind {
    #[serde(rename = "post.scheduled")]
    PostScheduled(PostScheduled),
    #[serde(rename = "post.published")]
    PostPublished(PostPublished),
    #[serde(rename = "post.partially_published")]
    PostPartiallyPublished(PostPartiallyPublished),
    #[serde(rename = "post.failed")]
    PostFailed(PostFailed),
    #[serde(rename = "post.cancelled")]
    PostCancelled(PostCancelled),
    #[serde(rename = "media.ready")]
    MediaReady(MediaReady),
    #[serde(rename = "media.failed")]
    MediaFailed(MediaFailed),
    #[serde(rename = "inbox.received")]
    InboxReceived(InboxReceived),
    #[serde(rename = "account.needs_reconnect")]
    AccountNeedsReconnect(AccountNeedsReconnect),
    #[serde(rename = "endpoint.disabled")]
    EndpointDisabled(EndpointDisabled),
    #[serde(rename = "engagement.recorded")]
    EngagementRecorded(EngagementRecorded),
    #[serde(rename = "metrics.updated")]
    MetricsUpdated(MetricsUpdated),
}

impl EventKind {
    /// Every kind's wire name, as webhook endpoints subscribe to them.
    pub const NAMES: [&'static str; 12] = [
        "post.scheduled",
        "post.published",
        "post.partially_published",
        "post.failed",
        "post.cancelled",
        "media.ready",
        "media.failed",
        "inbox.received",
        "account.needs_reconnect",
        "endpoint.disabled",
        "engagement.recorded",
        "metrics.updated",
    ];

    /// The dotted name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::PostScheduled(_) => "post.scheduled",
            EventKind::PostPublished(_) => "post.published",
            EventKind::PostPartiallyPublished(_) => "post.partially_published",
            EventKind::PostFailed(_) => "post.failed",
            EventKind::PostCancelled(_) => "post.cancelled",
            EventKind::MediaReady(_) => "media.ready",
            EventKind::MediaFailed(_) => "media.failed",
            EventKind::InboxReceived(_) => "inbox.received",
            EventKind::AccountNeedsReconnect(_) => "account.needs_reconnect",
            EventKind::EndpointDisabled(_) => "endpoint.disabled",
            EventKind::EngagementRecorded(_) => "engagement.recorded",
            EventKind::MetricsUpdated(_) => "metrics.updated",
        }
    }
}

/// An event kind's wire name in the OpenAPI document: one of [`EventKind::NAMES`] (webhook
/// endpoints subscribe by these; a delivery names its event by one).
pub struct EventName;

impl utoipa::PartialSchema for EventName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventKind::NAMES))
            .into()
    }
}

impl utoipa::ToSchema for EventName {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostScheduled {
    pub post: PostId,
    pub scheduled_at: DateTime<Utc>,
    pub accounts: Vec<AccountId>,
}

/// One target of a post is out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostPublished {
    pub post: PostId,
    pub account: AccountId,
    pub platform: Platform,
    pub remote_id: String,
    pub url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A post whose targets all ended, some published and some not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostPartiallyPublished {
    pub post: PostId,
    pub published: Vec<AccountId>,
    pub failed: Vec<AccountId>,
}

/// One target of a post failed for good.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostFailed {
    pub post: PostId,
    pub account: AccountId,
    pub platform: Platform,
    pub error: String,
}

/// A post was cancelled: nothing more of it goes out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostCancelled {
    pub post: PostId,
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaReady {
    pub media: MediaId,
    pub content_type: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaFailed {
    pub media: MediaId,
    pub error: String,
}

/// A comment, mention or message arrived from a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxReceived {
    pub item: String,
    pub account: AccountId,
    pub platform: Platform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<PostId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The compound sentiment score, from -1 (most negative) to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
}

/// What an engagement event counts.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Engagement {
    Like,
    Share,
    Impression,
    Comment,
    Mention,
}

impl Engagement {
    pub const ALL: [Engagement; 5] = [
        Engagement::Like,
        Engagement::Share,
        Engagement::Impression,
        Engagement::Comment,
        Engagement::Mention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Engagement::Like => "like",
            Engagement::Share => "share",
            Engagement::Impression => "impression",
            Engagement::Comment => "comment",
            Engagement::Mention => "mention",
        }
    }

    pub fn parse(s: &str) -> Option<Engagement> {
        Engagement::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A network reported engagement on one of the account's posts (a like, a share, views).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EngagementRecorded {
    pub account: AccountId,
    pub platform: Platform,
    /// The network's id of the post engaged with.
    pub remote_id: String,
    /// Herald's post, when the remote id is one Herald published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<PostId>,
    pub engagement: Engagement,
    pub count: u64,
}

/// A network's totals for one published post, polled after publishing; they replace what was
/// known before for that post.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricsUpdated {
    pub post: PostId,
    pub account: AccountId,
    pub platform: Platform,
    pub remote_id: String,
    pub impressions: Option<u64>,
    pub reach: Option<u64>,
    pub likes: Option<u64>,
    pub comments: Option<u64>,
    pub shares: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountNeedsReconnect {
    pub account: AccountId,
    pub platform: Platform,
}

/// An outbound webhook endpoint stopped receiving events after failing too long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointDisabled {
    pub endpoint: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn an_event_has_the_wire_shape_and_keeps_its_field_names() {
        let post = PostId::generate(1, 2);
        let account = AccountId::generate(1, 3);
        let event = Event {
            id: EventId::generate(1, 4),
            workspace: WorkspaceId::generate(1, 1),
            time: at("2026-11-23T09:00:01Z"),
            kind: EventKind::PostPublished(PostPublished {
                post: post.clone(),
                account: account.clone(),
                platform: Platform::Sandbox,
                remote_id: "sbx_1".into(),
                url: None,
                published_at: at("2026-11-23T09:00:01Z"),
                scheduled_at: Some(at("2026-11-23T09:00:00Z")),
            }),
        };
        let wire = serde_json::to_value(&event).unwrap();
        let mut fields: Vec<_> = wire.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["data", "id", "kind", "time", "workspace"]);
        assert_eq!(wire["kind"], "post.published");
        assert_eq!(
            wire["data"],
            json!({
                "post": post, "account": account, "platform": "sandbox", "remote_id": "sbx_1",
                "url": null, "published_at": "2026-11-23T09:00:01Z",
                "scheduled_at": "2026-11-23T09:00:00Z",
            })
        );
        let back: Event = serde_json::from_value(wire).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn an_unknown_kind_or_a_payload_of_another_shape_does_not_read() {
        let wire = json!({
            "id": EventId::generate(1, 4), "workspace": WorkspaceId::generate(1, 1),
            "time": "2026-11-23T09:00:01Z", "kind": "post.exploded", "data": {},
        });
        assert!(serde_json::from_value::<Event>(wire.clone()).is_err());
        let mut missing = wire;
        missing["kind"] = "post.failed".into();
        missing["data"] = json!({"post": PostId::generate(1, 2)});
        assert!(serde_json::from_value::<Event>(missing).is_err());
    }

    #[test]
    fn every_kind_is_named_as_the_api_lists_it() {
        let post = PostId::generate(1, 2);
        let account = AccountId::generate(1, 3);
        let t = at("2026-11-23T09:00:00Z");
        let kinds = [
            EventKind::PostScheduled(PostScheduled {
                post: post.clone(),
                scheduled_at: t,
                accounts: vec![],
            }),
            EventKind::PostPublished(PostPublished {
                post: post.clone(),
                account: account.clone(),
                platform: Platform::Sandbox,
                remote_id: "r".into(),
                url: None,
                published_at: t,
                scheduled_at: None,
            }),
            EventKind::PostPartiallyPublished(PostPartiallyPublished {
                post: post.clone(),
                published: vec![],
                failed: vec![],
            }),
            EventKind::PostFailed(PostFailed {
                post: post.clone(),
                account: account.clone(),
                platform: Platform::Sandbox,
                error: "e".into(),
            }),
            EventKind::PostCancelled(PostCancelled {
                post: post.clone(),
                cancelled_at: t,
            }),
            EventKind::MediaReady(MediaReady {
                media: MediaId::generate(1, 5),
                content_type: "image/png".into(),
            }),
            EventKind::MediaFailed(MediaFailed {
                media: MediaId::generate(1, 5),
                error: "e".into(),
            }),
            EventKind::InboxReceived(InboxReceived {
                item: "i".into(),
                account: account.clone(),
                platform: Platform::Sandbox,
                post: None,
                author: None,
                sentiment: None,
            }),
            EventKind::AccountNeedsReconnect(AccountNeedsReconnect {
                account: account.clone(),
                platform: Platform::Sandbox,
            }),
            EventKind::EndpointDisabled(EndpointDisabled {
                endpoint: "e".into(),
                reason: "r".into(),
            }),
            EventKind::EngagementRecorded(EngagementRecorded {
                account: account.clone(),
                platform: Platform::Sandbox,
                remote_id: "r".into(),
                post: Some(post.clone()),
                engagement: Engagement::Like,
                count: 1,
            }),
            EventKind::MetricsUpdated(MetricsUpdated {
                post: post.clone(),
                account,
                platform: Platform::Sandbox,
                remote_id: "r".into(),
                impressions: Some(1),
                reach: None,
                likes: None,
                comments: None,
                shares: None,
            }),
        ];
        assert_eq!(kinds.len(), EventKind::NAMES.len());
        for (kind, name) in kinds.iter().zip(EventKind::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(serde_json::to_value(kind).unwrap()["kind"], name);
        }
    }
}
