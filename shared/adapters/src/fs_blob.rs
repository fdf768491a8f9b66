//! The blob store on the local filesystem, for `herald serve` and tests.
//!
//! Layout under the root directory:
//! - `objects/{key}`: the bytes, exactly as put (a watcher or a person can read them directly);
//! - `types/{key}`: the content type the bytes were put with;
//! - `tmp/`: files being written, renamed into place once complete, so a reader never sees half
//!   a blob.
//!
//! Presigned URLs point at the local server (`{public_base_url}/blobs/{key}?...`), which checks
//! them with [`verify_presigned`] before it serves or stores anything.

use crate::blob_key::validate_key;
use async_trait::async_trait;
use herald_ports::{BlobError, BlobReader, BlobStore, Clock};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::io::{ErrorKind, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The content type reported for blobs whose type was never recorded.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

type HmacSha256 = Hmac<Sha256>;

pub struct FsBlobStore {
    root: PathBuf,
    public_base_url: url::Url,
    signing_key: Vec<u8>,
    clock: Arc<dyn Clock>,
    /// Told the key of every blob written, as S3 tells a bucket's `ObjectCreated`
    /// notification: `herald serve` hands uploads to the transcoder this way.
    created: Mutex<Vec<UnboundedSender<String>>>,
}

impl std::fmt::Debug for FsBlobStore {
    // The signing key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBlobStore")
            .field("root", &self.root)
            .field("public_base_url", &self.public_base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl FsBlobStore {
    /// `public_base_url` is where the local server answers (`http://127.0.0.1:8080`); it must be
    /// an absolute http(s) URL. Nothing is created on disk until the first put.
    pub fn new(
        root_dir: impl Into<PathBuf>,
        public_base_url: &str,
        signing_key: Vec<u8>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BlobError> {
        let public_base_url = url::Url::parse(public_base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| {
                BlobError::Unavailable(format!("not an http(s) base URL: {public_base_url}"))
            })?;
        Ok(FsBlobStore {
            root: root_dir.into(),
            public_base_url,
            signing_key,
            clock,
            created: Mutex::default(),
        })
    }

    /// The key of every blob written from now on, once it is whole on disk (S3's
    /// `ObjectCreated`). Dropping the receiver unsubscribes.
    pub fn subscribe_created(&self) -> UnboundedReceiver<String> {
        let (tx, rx) = unbounded_channel();
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    fn announce_created(&self, key: &str) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|tx| tx.send(key.to_owned()).is_ok());
    }

    async fn open_file(&self, key: &str) -> Result<tokio::fs::File, BlobError> {
        let path = self.object_path(key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| io_error(key, e))?;
        let meta = file.metadata().await.map_err(|e| io_error(key, e))?;
        if !meta.is_file() {
            return Err(BlobError::NotFound(key.to_owned()));
        }
        Ok(file)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the bytes of `key` live on disk (whether or not they exist yet).
    pub fn object_path(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join("objects").join(key))
    }

    /// Checks a presigned URL this store made, with its own key and clock: `method` and (for
    /// a PUT) `content_type` as the request has them.
    pub fn check_presigned(
        &self,
        method: &str,
        key: &str,
        q: &PresignedQuery,
        content_type: &str,
    ) -> Result<(), PresignError> {
        verify_presigned(
            &self.signing_key,
            method,
            key,
            q.expires,
            content_type,
            q.length,
            &q.signature,
            self.clock.now().timestamp(),
        )
    }

    /// The content type a blob was put with.
    pub async fn content_type(&self, key: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        let path = self.root.join("types").join(key);
        let key = key.to_owned();
        blocking(move || match std::fs::read_to_string(&path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(DEFAULT_CONTENT_TYPE.to_owned()),
            Err(e) => Err(io_error(&key, e)),
        })
        .await
    }

    /// Every blob key ending in `suffix` (the local host's start-up sweep for uploads that
    /// landed while nothing transcoded them).
    pub async fn keys_ending_with(&self, suffix: &str) -> Result<Vec<String>, BlobError> {
        let objects = self.root.join("objects");
        let suffix = suffix.to_owned();
        blocking(move || {
            let mut found = Vec::new();
            let mut dirs = vec![objects.clone()];
            while let Some(dir) = dirs.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(BlobError::Unavailable(e.to_string())),
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else if let Ok(rel) = path.strip_prefix(&objects)
                        && let Some(key) = rel.to_str()
                        && key.ends_with(&suffix)
                    {
                        found.push(key.to_owned());
                    }
                }
            }
            found.sort();
            Ok(found)
        })
        .await
    }

    /// The bytes and content type of a blob: what the local server answers a presigned GET with.
    pub async fn get_with_type(&self, key: &str) -> Result<(Vec<u8>, String), BlobError> {
        validate_key(key)?;
        let objects = self.root.join("objects").join(key);
        let types = self.root.join("types").join(key);
        let key = key.to_owned();
        blocking(move || {
            let bytes = read_object(&objects, &key)?;
            let content_type = match std::fs::read_to_string(&types) {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => DEFAULT_CONTENT_TYPE.to_owned(),
                Err(e) => return Err(io_error(&key, e)),
            };
            Ok((bytes, content_type))
        })
        .await
    }

    fn presign(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        length: Option<u64>,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        validate_key(key)?;
        let valid_for = i64::try_from(valid_for.as_secs()).unwrap_or(i64::MAX);
        let expires = self.clock.now().timestamp().saturating_add(valid_for);
        let signature = sign(
            &self.signing_key,
            method,
            key,
            expires,
            content_type,
            length,
        );
        let mut url = self.public_base_url.clone();
        url.path_segments_mut()
            .map_err(|_| BlobError::Unavailable("base URL cannot take a path".into()))?
            .pop_if_empty()
            .push("blobs")
            .extend(key.split('/'));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("method", method)
                .append_pair("expires", &expires.to_string());
            if !content_type.is_empty() {
                q.append_pair("content_type", content_type);
            }
            if let Some(length) = length {
                q.append_pair("length", &length.to_string());
            }
            q.append_pair("signature", &signature);
        }
        Ok(url.to_string())
    }
}

/// A blob being written piece by piece (an upload streamed from a request): nothing shows under
/// its key until [`FsBlobStore::commit`], and one dropped before that leaves nothing behind.
pub struct PendingBlob {
    key: String,
    tmp: PathBuf,
    file: Option<tokio::fs::File>,
    written: u64,
}

impl PendingBlob {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        use tokio::io::AsyncWriteExt;
        let file = self
            .file
            .as_mut()
            .expect("a pending blob has its file until commit");
        file.write_all(chunk)
            .await
            .map_err(|e| io_error(&self.key, e))?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl FsBlobStore {
    pub async fn begin_put(&self, key: &str) -> Result<PendingBlob, BlobError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        validate_key(key)?;
        let tmp_dir = self.root.join("tmp");
        let tmp = tmp_dir.join(format!(
            "{}-stream-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let opened = tmp.clone();
        let file = blocking(move || {
            private_dirs(&tmp_dir).map_err(|e| BlobError::Unavailable(e.to_string()))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options
                .open(&opened)
                .map_err(|e| BlobError::Unavailable(e.to_string()))
        })
        .await?;
        Ok(PendingBlob {
            key: key.to_owned(),
            tmp,
            file: Some(tokio::fs::File::from_std(file)),
            written: 0,
        })
    }

    /// Makes a pending blob whole under its key (synced, then renamed into place, as `put`
    /// does) and announces it; answers its size.
    pub async fn commit(
        &self,
        mut pending: PendingBlob,
        content_type: &str,
    ) -> Result<u64, BlobError> {
        let file = pending.file.take().expect("committed once");
        let key = pending.key.clone();
        file.sync_all().await.map_err(|e| io_error(&key, e))?;
        drop(file);
        let root = self.root.clone();
        let tmp = pending.tmp.clone();
        let content_type = content_type.to_owned();
        let k = key.clone();
        let result = blocking(move || {
            write_atomically(&root, &root.join("types").join(&k), content_type.as_bytes())
                .map_err(|e| io_error(&k, e))?;
            let dest = root.join("objects").join(&k);
            let parent = dest.parent().expect("a blob path has a parent");
            private_dirs(parent).map_err(|e| io_error(&k, e))?;
            std::fs::rename(&tmp, &dest).map_err(|e| io_error(&k, e))?;
            std::fs::File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(&k, e))
        })
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&pending.tmp);
        }
        result?;
        self.announce_created(&key);
        Ok(pending.written)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let root = self.root.clone();
        let key = key.to_owned();
        let content_type = content_type.to_owned();
        let written = key.clone();
        blocking(move || {
            // The type goes first: a reader that finds the bytes also finds their type.
            write_atomically(
                &root,
                &root.join("types").join(&key),
                content_type.as_bytes(),
            )
            .map_err(|e| io_error(&key, e))?;
            write_atomically(&root, &root.join("objects").join(&key), &bytes)
                .map_err(|e| io_error(&key, e))
        })
        .await?;
        self.announce_created(&written);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.object_path(key)?;
        let key = key.to_owned();
        blocking(move || read_object(&path, &key)).await
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, BlobError> {
        let mut file = self.open_file(key).await?;
        let size = file.metadata().await.map_err(|e| io_error(key, e))?.len();
        let (start, end) = (range.start.min(size), range.end.min(size));
        if start >= end {
            return Ok(Vec::new());
        }
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| io_error(key, e))?;
        let mut bytes = vec![0; (end - start) as usize];
        file.read_exact(&mut bytes)
            .await
            .map_err(|e| io_error(key, e))?;
        Ok(bytes)
    }

    /// Blobs are replaced by rename, so an open file is one whole version to its end.
    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        Ok(Box::pin(self.open_file(key).await?))
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let path = self.object_path(key)?;
        let key = key.to_owned();
        blocking(move || match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(m.len()),
            // A directory is only a prefix of other keys, as on S3.
            Ok(_) => Err(BlobError::NotFound(key)),
            Err(e) => Err(io_error(&key, e)),
        })
        .await
    }

    /// Deleting a missing blob succeeds, as on S3.
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let objects = self.root.join("objects").join(key);
        let types = self.root.join("types").join(key);
        let key = key.to_owned();
        blocking(move || {
            for path in [objects, types] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&key, e)),
                }
            }
            Ok(())
        })
        .await
    }

    async fn presign_get(&self, key: &str, valid_for: Duration) -> Result<String, BlobError> {
        self.presign("GET", key, "", None, valid_for)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        bytes: u64,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        self.presign("PUT", key, content_type, Some(bytes), valid_for)
    }
}

/// The query string of a presigned URL, as the local server receives it
/// (`axum::extract::Query<PresignedQuery>`). `content_type` is empty for GET.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PresignedQuery {
    pub method: String,
    pub expires: i64,
    #[serde(default)]
    pub content_type: String,
    /// The most bytes a PUT may carry (absent for GET).
    #[serde(default)]
    pub length: Option<u64>,
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature does not match")]
    BadSignature,
    #[error("invalid blob key")]
    InvalidKey,
}

/// Checks a presigned URL. `method` is the request's actual method and, for a PUT,
/// `content_type` is the request's `Content-Type` header, so a URL signed for one method or type
/// cannot be used for another. The signature is compared in constant time; it covers method,
/// key, expiry, content type and length, so changing any of them fails.
#[allow(clippy::too_many_arguments)]
pub fn verify_presigned(
    signing_key: &[u8],
    method: &str,
    key: &str,
    expires: i64,
    content_type: &str,
    length: Option<u64>,
    signature: &str,
    now_epoch: i64,
) -> Result<(), PresignError> {
    validate_key(key).map_err(|_| PresignError::InvalidKey)?;
    let given = hex::decode(signature).map_err(|_| PresignError::BadSignature)?;
    mac(signing_key, method, key, expires, content_type, length)
        .verify_slice(&given)
        .map_err(|_| PresignError::BadSignature)?;
    // Checked after the signature, so the answer says nothing about forged expiry times.
    if now_epoch > expires {
        return Err(PresignError::Expired);
    }
    Ok(())
}

fn sign(
    signing_key: &[u8],
    method: &str,
    key: &str,
    expires: i64,
    content_type: &str,
    length: Option<u64>,
) -> String {
    hex::encode(
        mac(signing_key, method, key, expires, content_type, length)
            .finalize()
            .into_bytes(),
    )
}

fn mac(
    signing_key: &[u8],
    method: &str,
    key: &str,
    expires: i64,
    content_type: &str,
    length: Option<u64>,
) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(signing_key).expect("HMAC takes keys of any length");
    // Each field is length-prefixed, so no two different field lists sign the same bytes.
    let expires = expires.to_string();
    let length = length.map_or(String::new(), |n| n.to_string());
    for field in [method, key, expires.as_str(), content_type, length.as_str()] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac
}

fn read_object(path: &Path, key: &str) -> Result<Vec<u8>, BlobError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == ErrorKind::IsADirectory => Err(BlobError::NotFound(key.to_owned())),
        Err(e) => Err(io_error(key, e)),
    }
}

fn io_error(key: &str, e: std::io::Error) -> BlobError {
    match e.kind() {
        ErrorKind::NotFound => BlobError::NotFound(key.to_owned()),
        // On disk a key cannot be both a blob and a prefix of other blobs (`a/b` and `a/b/c`).
        ErrorKind::NotADirectory | ErrorKind::IsADirectory | ErrorKind::DirectoryNotEmpty => {
            BlobError::InvalidKey(format!("{key} collides with another blob's path"))
        }
        _ => BlobError::Unavailable(format!("{key}: {e}")),
    }
}

/// Writes `bytes` to a temporary file, syncs it, then renames it over `dest`: readers see the
/// old blob or the new one, never a part, and a crash leaves at worst a stray temp file.
fn write_atomically(root: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp_dir = root.join("tmp");
    private_dirs(&tmp_dir)?;
    let parent = dest.parent().expect("a blob path has a parent");
    private_dirs(parent).map_err(|e| match e.kind() {
        // A blob already sits where a directory of this key must go.
        ErrorKind::AlreadyExists => std::io::Error::new(ErrorKind::NotADirectory, e),
        _ => e,
    })?;
    let tmp = tmp_dir.join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, dest)?;
        // The rename itself is durable only once the directory is synced.
        std::fs::File::open(parent)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Media may be private until published: directories for the owner only (0700).
fn private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Unavailable(format!("blob task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test signing key";

    #[test]
    fn a_signature_verifies_until_its_expiry_and_not_after() {
        let sig = sign(
            KEY,
            "PUT",
            "ws_1/media/m/original",
            1_000,
            "image/png",
            Some(10),
        );
        let check = |now| {
            verify_presigned(
                KEY,
                "PUT",
                "ws_1/media/m/original",
                1_000,
                "image/png",
                Some(10),
                &sig,
                now,
            )
        };
        assert_eq!(check(1_000), Ok(()));
        assert_eq!(check(1_001), Err(PresignError::Expired));
    }

    #[test]
    fn every_signed_field_changes_the_signature() {
        let sig = sign(KEY, "PUT", "a/b", 1_000, "image/png", Some(10));
        let bad = Err(PresignError::BadSignature);
        assert_eq!(
            verify_presigned(KEY, "GET", "a/b", 1_000, "image/png", Some(10), &sig, 0),
            bad
        );
        assert_eq!(
            verify_presigned(KEY, "PUT", "a/c", 1_000, "image/png", Some(10), &sig, 0),
            bad
        );
        assert_eq!(
            verify_presigned(KEY, "PUT", "a/b", 1_001, "image/png", Some(10), &sig, 0),
            bad
        );
        assert_eq!(
            verify_presigned(KEY, "PUT", "a/b", 1_000, "image/gif", Some(10), &sig, 0),
            bad
        );
        assert_eq!(
            verify_presigned(
                b"other",
                "PUT",
                "a/b",
                1_000,
                "image/png",
                Some(10),
                &sig,
                0
            ),
            bad
        );
        assert_eq!(
            verify_presigned(KEY, "PUT", "a/b", 1_000, "image/png", Some(10), "zz", 0),
            bad
        );
    }

    #[test]
    fn the_signed_length_cannot_be_raised_or_dropped() {
        let sig = sign(KEY, "PUT", "a/b", 1_000, "image/png", Some(10));
        for length in [Some(11), Some(u64::MAX), None] {
            assert_eq!(
                verify_presigned(KEY, "PUT", "a/b", 1_000, "image/png", length, &sig, 0),
                Err(PresignError::BadSignature),
                "{length:?}"
            );
        }
    }

    #[test]
    fn shifting_text_between_fields_does_not_keep_a_signature_valid() {
        // Plain concatenation would sign "PUTa/b" the same either way.
        let sig = sign(KEY, "PUT", "a/b", 1_000, "", None);
        assert_eq!(
            verify_presigned(KEY, "PU", "Ta/b", 1_000, "", None, &sig, 0),
            Err(PresignError::BadSignature)
        );
    }
}
