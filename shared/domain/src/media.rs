use crate::ids::{MediaId, WorkspaceId};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    Processing,
    Ready,
    Failed,
}

/// One derived file of a media item, shaped for a network (or the original, profile `original`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rendition {
    pub profile: String,
    pub platform: Option<Platform>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub content_type: String,
    pub bytes: u64,
    /// Where the bytes are kept in the blob store.
    pub blob_key: String,
    /// A video rendition's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
}

/// An uploaded or imported image or video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaItem {
    pub id: MediaId,
    pub workspace: WorkspaceId,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub status: MediaStatus,
    pub renditions: Vec<Rendition>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The original's size, upright, once read.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    /// A video's length, once probed.
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    /// How far a video's renditions are, 0 to 100, while they are made.
    #[serde(default)]
    pub progress: Option<u8>,
    /// The description a screen reader reads, sent with every rendition to networks that
    /// take one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

impl MediaItem {
    /// The largest upload accepted (a long 4K video); networks' own caps are checked per target.
    pub const MAX_SIZE: u64 = 4 * 1024 * 1024 * 1024;
    pub const CONTENT_TYPES: [&'static str; 7] = [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    ];

    /// The longest alt text taken (X's limit, the smallest of the networks that take one).
    pub const MAX_ALT_TEXT: usize = 1000;

    /// The largest image Herald decodes (a 100 MP photo is well under it).
    pub const MAX_IMAGE_SIZE: u64 = 64 * 1024 * 1024;

    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }

    /// The rendition a network gets: its own, else (the sandbox, a video's original) the
    /// original, else the largest there is.
    pub fn rendition_for(&self, platform: Platform) -> Option<&Rendition> {
        self.renditions
            .iter()
            .find(|r| r.platform == Some(platform))
            .or_else(|| self.renditions.iter().find(|r| r.profile == "original"))
            .or_else(|| {
                self.renditions
                    .iter()
                    .filter(|r| r.profile != crate::profiles::THUMBNAIL)
                    .max_by_key(|r| r.bytes)
            })
    }
}
