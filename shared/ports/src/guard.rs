//! The check every user-supplied URL passes before Herald reaches out to it (a Mastodon
//! instance, a Bluesky PDS, later webhook targets and media imports): no private, loopback,
//! link-local or metadata address, however the name resolves.

pub trait UrlGuard: Send + Sync + 'static {
    /// Ok when `raw` is an http(s) URL Herald may call; the reason otherwise, for the user.
    fn check_url(&self, raw: &str) -> Result<(), String>;
}
