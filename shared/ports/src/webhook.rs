//! Sending one outbound webhook: an HTTPS POST to a user's endpoint, through the SSRF guard
//! (every address its name resolves to), with no redirect followed and a bounded wait.

use async_trait::async_trait;

/// What an endpoint answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
}

#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// POSTs `body` with `headers`; an error says why no answer came (refused by the guard, no
    /// connection, no answer within the timeout), for the attempt log.
    async fn send(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookAnswer, String>;
}
