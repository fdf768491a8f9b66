//! Helpers shared by the Bluesky and Mastodon contract tests.
#![allow(dead_code)]

use async_trait::async_trait;
use herald_domain::{AccountId, MediaId, WorkspaceId};
use herald_ports::{BlobError, BlobStore, Checkpoint, MediaRef, NetworkError, PublishRequest};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// A blob store in memory: the connectors only read media bytes from it.
#[derive(Default)]
pub struct MemoryBlobs(Mutex<HashMap<String, (Vec<u8>, String)>>);

impl MemoryBlobs {
    pub fn with(key: &str, bytes: Vec<u8>, content_type: &str) -> Self {
        let blobs = MemoryBlobs::default();
        blobs
            .0
            .lock()
            .unwrap()
            .insert(key.to_owned(), (bytes, content_type.to_owned()));
        blobs
    }
}

#[async_trait]
impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        self.0
            .lock()
            .unwrap()
            .get(key)
            .map(|(b, _)| b.clone())
            .ok_or_else(|| BlobError::NotFound(key.to_owned()))
    }
    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        Ok(self.get(key).await?.len() as u64)
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    async fn presign_get(&self, key: &str, _valid_for: Duration) -> Result<String, BlobError> {
        Ok(format!("memory://{key}"))
    }
    async fn presign_put(
        &self,
        key: &str,
        _content_type: &str,
        _valid_for: Duration,
    ) -> Result<String, BlobError> {
        Ok(format!("memory://{key}"))
    }
}

/// Records every checkpoint, in order.
#[derive(Default)]
pub struct Steps(pub Mutex<Vec<(String, String)>>);

impl Steps {
    pub fn recorded(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Checkpoint for Steps {
    async fn record(&self, step: &str, remote_id: &str) -> Result<(), NetworkError> {
        self.0
            .lock()
            .unwrap()
            .push((step.to_owned(), remote_id.to_owned()));
        Ok(())
    }
}

/// A 1×1 PNG (a valid image, so a real server's type sniffing accepts it).
pub const PNG_1X1: [u8; 67] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub fn account(credentials: serde_json::Value) -> herald_ports::AccountContext {
    herald_ports::AccountContext {
        workspace: WorkspaceId::generate(1, 1),
        account: AccountId::generate(1, 2),
        handle: "tester".into(),
        credentials,
    }
}

pub fn image(key: &str, bytes: u64, alt: Option<&str>) -> MediaRef {
    MediaRef {
        id: MediaId::generate(1, 3),
        content_type: "image/png".into(),
        bytes,
        width: Some(1),
        height: Some(1),
        duration_seconds: None,
        url: format!("memory://{key}"),
        blob_key: key.into(),
        alt_text: alt.map(str::to_owned),
    }
}

pub fn request(marker: &str, text: &str) -> PublishRequest {
    PublishRequest {
        marker: marker.into(),
        text: text.into(),
        title: None,
        link: None,
        media: vec![],
        first_comment: None,
        thread: vec![],
        progress: BTreeMap::new(),
    }
}

/// A fixture file's JSON, with its `_doc` citation removed.
pub fn fixture(network: &str, name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/{network}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("_doc");
    }
    v
}
