//! An OAuth 2 network's consent flow as this server is registered with it: the page where a
//! user gives consent, and the trade of the code it returns for the account's credentials.

use crate::network::NetworkError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::Secret;

#[async_trait]
pub trait OAuthFlow: Send + Sync + 'static {
    /// Whether the flow carries a PKCE (S256) code challenge.
    fn uses_pkce(&self) -> bool;

    /// The network's consent page. `verifier` is the PKCE verifier the challenge is made
    /// from, when the flow uses one.
    fn consent_url(&self, state: &str, verifier: Option<&str>) -> url::Url;

    /// Trades the consent's code for credentials: the tokens, merged over `ids` (network ids
    /// the caller supplied, such as a Page id), with what the network answered beside them.
    async fn exchange(
        &self,
        code: &str,
        verifier: Option<&str>,
        ids: &serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<Secret<serde_json::Value>, NetworkError>;
}
