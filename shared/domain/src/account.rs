use crate::ids::{AccountId, WorkspaceId};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether Herald can post for an account right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// The network revoked or expired the token: a person must connect it again.
    NeedsReconnect,
}

/// A social account (a profile, page or channel) connected to a workspace.
/// Credentials live beside it, encrypted, never in this struct.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub handle: String,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub const MAX_HANDLE: usize = 200;

    pub fn validate_handle(handle: &str) -> Result<String, crate::DomainError> {
        let handle = handle.trim();
        if handle.is_empty() {
            return Err(crate::DomainError::field("handle", "must not be empty"));
        }
        if handle.chars().count() > Self::MAX_HANDLE
            || crate::post::unprintable(handle, false).is_some()
        {
            return Err(crate::DomainError::field(
                "handle",
                format!("must be at most {} printable characters", Self::MAX_HANDLE),
            ));
        }
        Ok(handle.to_owned())
    }
}
