//! The check every user-supplied URL passes before Herald reaches out to it (a Mastodon
//! instance, a Bluesky PDS, webhook targets and media imports): no private, loopback,
//! link-local or metadata address, however the name resolves.

use async_trait::async_trait;
use std::time::Duration;

/// What a guarded fetch brought back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The type the server said the bytes are, if it said one (the bytes have the last word).
    pub content_type: Option<String>,
}

#[async_trait]
pub trait UrlGuard: Send + Sync + 'static {
    /// Ok when `raw` is an http(s) URL Herald may call; the reason otherwise, for the user.
    fn check_url(&self, raw: &str) -> Result<(), String>;

    /// GETs `raw` with every DNS answer and redirect checked, taking at most `max_bytes` and
    /// `within` in all; the reason otherwise, for the user.
    async fn fetch(&self, raw: &str, max_bytes: u64, within: Duration) -> Result<Fetched, String>;
}
