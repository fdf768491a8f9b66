use crate::ids::{MediaId, WorkspaceId};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    Processing,
    Ready,
    Failed,
}

/// One derived file of a media item, shaped for a network (or the original, profile `original`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub profile: String,
    pub platform: Option<Platform>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub content_type: String,
    pub bytes: u64,
    /// Where the bytes are kept in the blob store.
    pub blob_key: String,
}

/// An uploaded or imported image or video.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }
}
