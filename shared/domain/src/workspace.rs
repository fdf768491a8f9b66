use crate::ids::{ApiKeyId, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A tenant: one brand or one agency client. Nothing crosses between workspaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Workspace {
    pub const MAX_NAME: usize = 200;

    pub fn validate_name(name: &str) -> Result<String, crate::DomainError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(crate::DomainError::field("name", "must not be empty"));
        }
        if name.chars().count() > Self::MAX_NAME {
            return Err(crate::DomainError::field(
                "name",
                format!("must be at most {} characters", Self::MAX_NAME),
            ));
        }
        if let Some(c) = crate::post::unprintable(name, false) {
            return Err(crate::DomainError::field(
                "name",
                crate::post::refusal(c, false),
            ));
        }
        Ok(name.to_owned())
    }
}

/// What a member (or a key acting for one) may do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Manager,
    Owner,
}

impl Role {
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }
    pub fn can_approve(self) -> bool {
        self >= Role::Manager
    }
    pub fn can_administer(self) -> bool {
        self == Role::Owner
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub workspace: WorkspaceId,
    pub email: String,
    pub role: Role,
    pub added_at: DateTime<Utc>,
}

/// An API key as stored: only the SHA-256 of its secret part, never the secret itself.
///
/// A key reads `hk_<workspace id>_<secret>` (admin keys: `hk_admin_<secret>`), so a request's
/// key leads straight to its workspace's partition without a global lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub workspace: Option<WorkspaceId>,
    pub role: Role,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Which workspace a presented key claims to belong to, and the hash of its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedKey {
    pub workspace: Option<WorkspaceId>,
    pub secret_hash: String,
}

impl ApiKey {
    const ADMIN: &'static str = "admin";

    /// A new key for `workspace` (None: admin). Returns the stored form and the one-time secret.
    pub fn issue(
        id: ApiKeyId,
        workspace: Option<WorkspaceId>,
        role: Role,
        secret_bytes: [u8; 32],
        now: DateTime<Utc>,
    ) -> (ApiKey, String) {
        let secret = hex::encode(secret_bytes);
        let scope = workspace
            .as_ref()
            .map(|w| w.as_str().to_owned())
            .unwrap_or_else(|| Self::ADMIN.to_owned());
        let token = format!("hk_{scope}_{secret}");
        let key = ApiKey {
            id,
            workspace,
            role,
            secret_hash: hash_secret(&secret),
            created_at: now,
        };
        (key, token)
    }

    /// The stored form of an operator-chosen admin key (`HERALD_ADMIN_KEY`); any string works.
    pub fn admin_from_token(id: ApiKeyId, token: &str, now: DateTime<Utc>) -> ApiKey {
        ApiKey {
            id,
            workspace: None,
            role: Role::Owner,
            secret_hash: Self::presented(token).secret_hash,
            created_at: now,
        }
    }

    /// Splits a bearer token into its scope and the hash to compare. Unknown shapes hash whole,
    /// as admin candidates, so an operator's own admin key works whatever it looks like.
    pub fn presented(token: &str) -> PresentedKey {
        if let Some(rest) = token.strip_prefix("hk_")
            && let Some((scope, secret)) = rest.rsplit_once('_')
        {
            if let Some(ws) = WorkspaceId::parse(scope) {
                return PresentedKey {
                    workspace: Some(ws),
                    secret_hash: hash_secret(secret),
                };
            }
            if scope == Self::ADMIN {
                return PresentedKey {
                    workspace: None,
                    secret_hash: hash_secret(secret),
                };
            }
        }
        PresentedKey {
            workspace: None,
            secret_hash: hash_secret(token),
        }
    }
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_is_recognised_by_its_token_and_stores_no_secret() {
        let ws = WorkspaceId::generate(1, 1);
        let (key, token) = ApiKey::issue(
            ApiKeyId::generate(1, 2),
            Some(ws.clone()),
            Role::Owner,
            [9; 32],
            Utc::now(),
        );
        let presented = ApiKey::presented(&token);
        assert_eq!(presented.workspace, Some(ws));
        assert_eq!(presented.secret_hash, key.secret_hash);
        assert!(!token.contains(&key.secret_hash));
        assert!(!key.secret_hash.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn a_tampered_token_hashes_differently() {
        let (key, token) = ApiKey::issue(
            ApiKeyId::generate(1, 2),
            None,
            Role::Owner,
            [3; 32],
            Utc::now(),
        );
        let mut bad = token.clone();
        bad.pop();
        bad.push('x');
        assert_ne!(ApiKey::presented(&bad).secret_hash, key.secret_hash);
        assert_eq!(ApiKey::presented(&token).workspace, None);
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Owner.can_administer());
        assert!(Role::Manager.can_approve() && !Role::Editor.can_approve());
        assert!(Role::Editor.can_write() && !Role::Viewer.can_write());
    }
}
