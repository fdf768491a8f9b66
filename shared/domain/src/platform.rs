use serde::{Deserialize, Serialize};
use std::fmt;

/// A social network Herald publishes to. `Sandbox` is Herald's own test network.
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
pub enum Platform {
    Sandbox,
    X,
    Linkedin,
    Facebook,
    Instagram,
    Pinterest,
    Tiktok,
    Threads,
    Mastodon,
    Bluesky,
}

impl Platform {
    pub const ALL: [Platform; 10] = [
        Platform::Sandbox,
        Platform::X,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Instagram,
        Platform::Pinterest,
        Platform::Tiktok,
        Platform::Threads,
        Platform::Mastodon,
        Platform::Bluesky,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Sandbox => "sandbox",
            Platform::X => "x",
            Platform::Linkedin => "linkedin",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Pinterest => "pinterest",
            Platform::Tiktok => "tiktok",
            Platform::Threads => "threads",
            Platform::Mastodon => "mastodon",
            Platform::Bluesky => "bluesky",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Networks connected through an OAuth 2 consent page rather than pasted credentials.
    pub fn uses_oauth(self) -> bool {
        !matches!(
            self,
            Platform::Sandbox | Platform::Mastodon | Platform::Bluesky
        )
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
