//! Where media bytes live: S3 on AWS, a directory locally. Keys are paths like
//! `ws_.../media/med_.../original`; the workspace id leads, as in the table.

use async_trait::async_trait;
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

/// A blob's bytes as a stream: video and large uploads never have to fit in memory.
pub type BlobReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("no blob under {0}")]
    NotFound(String),
    #[error("invalid blob key {0}")]
    InvalidKey(String),
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;
    /// The whole blob in memory: for small media (images, thumbnails) only.
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError>;
    /// Bytes `range` of a blob, cut at its end (a range starting at or past the end answers
    /// no bytes): chunked uploads read one chunk at a time.
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, BlobError>;
    /// The blob as a stream, read as it is consumed.
    async fn open(&self, key: &str) -> Result<BlobReader, BlobError>;
    /// Size in bytes, or NotFound.
    async fn size(&self, key: &str) -> Result<u64, BlobError>;
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// A URL anyone may GET for `valid_for` (networks such as Instagram fetch media this way).
    async fn presign_get(&self, key: &str, valid_for: Duration) -> Result<String, BlobError>;
    /// A URL a client may PUT exactly `bytes` bytes to for `valid_for`, with this content
    /// type: the length is signed too, so a body larger than announced is refused.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        bytes: u64,
        valid_for: Duration,
    ) -> Result<String, BlobError>;
}
