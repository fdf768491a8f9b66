//! Video: probing a file and encoding it into a rendition. ffmpeg does both (Debian's package
//! locally, a Lambda layer on AWS); the media use case decides what to make, this port only
//! runs it, on files, since a video need not fit in memory.

use async_trait::async_trait;
use std::path::Path;
use std::time::Duration;

/// What a probe finds in a video file.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoProbe {
    pub duration_seconds: f64,
    /// As stored; `rotation` says how it is shown.
    pub width: u32,
    pub height: u32,
    /// Degrees clockwise the player turns the frames (a phone held upright: 90 or 270).
    pub rotation: i32,
    pub video_codec: String,
    pub audio_codec: Option<String>,
}

impl VideoProbe {
    /// The frame as it is shown: turned a quarter, its sides swap.
    pub fn upright(&self) -> (u32, u32) {
        if self.rotation.rem_euclid(180) == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// One rendition to make: the upright frame's crop, scaled to `width`×`height`.
#[derive(Clone, Debug, PartialEq)]
pub struct Encode {
    pub crop: (u32, u32, u32, u32),
    pub width: u32,
    pub height: u32,
    pub max_kbps: u32,
    /// The longest the encoder may take before it is stopped.
    pub within: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file is not a video ffmpeg can read, or the encode failed on it: for the user.
    #[error("{0}")]
    Refused(String),
    /// ffmpeg is missing or could not run: for the operator.
    #[error("the video tool is unavailable: {0}")]
    Unavailable(String),
}

/// Told how far an encode is, 0.0 to 1.0 (from the encoder's thread).
pub type Progress = std::sync::Arc<dyn Fn(f64) + Send + Sync>;

#[async_trait]
pub trait VideoTool: Send + Sync + 'static {
    async fn probe(&self, input: &Path) -> Result<VideoProbe, VideoError>;

    /// H.264/AAC MP4 with its index first (faststart), all metadata stripped.
    async fn encode(
        &self,
        input: &Path,
        output: &Path,
        job: &Encode,
        duration_seconds: f64,
        progress: Progress,
    ) -> Result<(), VideoError>;

    /// One frame at `at_seconds` as a JPEG at the frame's own size, upright.
    async fn poster(&self, input: &Path, output: &Path, at_seconds: f64) -> Result<(), VideoError>;
}
