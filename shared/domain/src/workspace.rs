use crate::hours::BusinessHours;
use crate::ids::{ApiKeyId, MemberId, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A tenant: one brand or one agency client. Nothing crosses between workspaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Records from before settings existed read with the defaults.
    #[serde(default)]
    pub settings: Settings,
}

/// How a workspace works: its local time, its hours, whether posts need approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// An IANA time zone name (checked against the time zone database by the app).
    pub timezone: String,
    /// Empty until set: the default is no business hours, not a guessed 9 to 5.
    pub business_hours: BusinessHours,
    /// Off by default, so the core API works unchanged.
    pub approvals: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: "UTC".into(),
            business_hours: BusinessHours::default(),
            approvals: false,
        }
    }
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
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Manager,
    Owner,
}

/// A person (or a client script) working in a workspace, with one API key of their role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub role: Role,
    /// Which stored key is theirs, so removing them removes it.
    pub key_hash: String,
    pub added_at: DateTime<Utc>,
}

impl Member {
    /// Member names follow the rules of workspace names.
    pub fn validate_name(name: &str) -> Result<String, crate::DomainError> {
        Workspace::validate_name(name)
    }
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
    /// The member the key belongs to (admin keys, and workspace keys from before members
    /// existed, belong to none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberId>,
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
            member: None,
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
            member: None,
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
    fn a_workspace_stored_before_settings_reads_with_the_defaults() {
        let old = r#"{"id":"ws_01h00000000000000000000000","name":"Acme","created_at":"2030-01-01T00:00:00Z"}"#;
        let ws: Workspace = serde_json::from_str(old).unwrap();
        assert_eq!(ws.settings, Settings::default());
        assert_eq!(ws.settings.timezone, "UTC");
        assert!(!ws.settings.approvals && ws.settings.business_hours.is_empty());
    }
}
