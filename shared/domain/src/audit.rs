//! The audit log's words: who did what to which thing, and when (API.md, "Teams, approvals,
//! audit"). Entries are written by Herald, never through the API.

use crate::ids::{AuditId, MemberId, ReviewLinkId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who did something in a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Actor {
    /// The operator's admin key (it creates workspaces).
    Admin,
    /// A member, by their key.
    Member(MemberId),
    /// A workspace key from before members existed.
    WorkspaceKey,
    /// A client with no key, through a review link.
    Client(ReviewLinkId),
    /// A sender with no key, by a request signed with the workspace's inbound webhook secret.
    InboundWebhook,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Admin => f.write_str("admin"),
            Actor::Member(id) => write!(f, "{id}"),
            Actor::WorkspaceKey => f.write_str("workspace_key"),
            Actor::Client(link) => write!(f, "client:{link}"),
            Actor::InboundWebhook => f.write_str("inbound_webhook"),
        }
    }
}

// On the wire an actor is its string form (`into = "String"`), so the document says so.
impl utoipa::PartialSchema for Actor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                "^(admin|workspace_key|inbound_webhook|mem_[0-9a-z]{26}|client:rvl_[0-9a-z]{26})$",
            ))
            .description(Some(
                "`admin`, `workspace_key`, `inbound_webhook`, a member id, or `client:` and a review link id",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Actor {}

impl From<Actor> for String {
    fn from(actor: Actor) -> String {
        actor.to_string()
    }
}

impl TryFrom<String> for Actor {
    type Error = String;

    fn try_from(s: String) -> Result<Actor, String> {
        match s.as_str() {
            "admin" => Ok(Actor::Admin),
            "workspace_key" => Ok(Actor::WorkspaceKey),
            "inbound_webhook" => Ok(Actor::InboundWebhook),
            _ => {
                if let Some(link) = s.strip_prefix("client:").and_then(ReviewLinkId::parse) {
                    Ok(Actor::Client(link))
                } else if let Some(member) = MemberId::parse(&s) {
                    Ok(Actor::Member(member))
                } else {
                    Err(format!("not an actor: {s}"))
                }
            }
        }
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// What was done, as the API names it: `POST /v1/posts/{id}/approve`.
    pub action: String,
    /// The id of what it was done to (a post, a member, the workspace).
    pub target: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_as_written_and_nothing_else_reads_as_one() {
        for actor in [
            Actor::Admin,
            Actor::WorkspaceKey,
            Actor::InboundWebhook,
            Actor::Member(MemberId::generate(1, 2)),
            Actor::Client(ReviewLinkId::generate(3, 4)),
        ] {
            let text = String::from(actor.clone());
            assert_eq!(Actor::try_from(text).unwrap(), actor);
        }
        for bad in ["", "client:", "client:mem_x", "mem_", "Admin", "post_01"] {
            assert!(Actor::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
