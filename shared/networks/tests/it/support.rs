//! Helpers shared by the network contract tests: in-memory doubles of the ports the connectors
//! use, builders of their inputs, fixture loading and readers of what a wiremock double received.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use herald_domain::{AccountId, MediaId, WorkspaceId};
use herald_networks::meta::Polling;
use herald_networks::oauth::OAuthApp;
use herald_ports::{
    AccountContext, BlobError, BlobStore, Checkpoint, MediaRef, NetworkError, PublishRequest,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::{MockServer, Request};

/// A blob store in memory: the connectors only read media bytes from it. It remembers how
/// they read, so a test can tell a chunked upload from one that loaded the whole file.
#[derive(Default)]
pub struct MemoryBlobs {
    objects: Mutex<HashMap<String, (Vec<u8>, String)>>,
    /// Keys read whole with `get`.
    pub whole_reads: Mutex<Vec<String>>,
    /// Byte ranges read with `get_range`, as (start, end).
    pub range_reads: Mutex<Vec<(usize, usize)>>,
}

impl MemoryBlobs {
    pub fn with(key: &str, bytes: Vec<u8>, content_type: &str) -> Self {
        let blobs = MemoryBlobs::default();
        blobs.insert(key, bytes, content_type);
        blobs
    }

    /// Stores without the `async` of [`BlobStore::put`], for setting a double up.
    pub fn insert(&self, key: &str, bytes: Vec<u8>, content_type: &str) {
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_owned(), (bytes, content_type.to_owned()));
    }

    fn bytes(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        self.objects
            .lock()
            .unwrap()
            .get(key)
            .map(|(b, _)| b.clone())
            .ok_or_else(|| BlobError::NotFound(key.to_owned()))
    }
}

#[async_trait]
impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.insert(key, bytes, content_type);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        self.whole_reads.lock().unwrap().push(key.to_owned());
        self.bytes(key)
    }
    async fn get_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, BlobError> {
        let bytes = self.bytes(key)?;
        let end = (range.end as usize).min(bytes.len());
        let start = (range.start as usize).min(end);
        self.range_reads.lock().unwrap().push((start, end));
        Ok(bytes[start..end].to_vec())
    }
    async fn open(&self, key: &str) -> Result<herald_ports::BlobReader, BlobError> {
        Ok(Box::pin(std::io::Cursor::new(self.bytes(key)?)))
    }
    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        Ok(self.bytes(key)?.len() as u64)
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }
    async fn presign_get(&self, key: &str, _valid_for: Duration) -> Result<String, BlobError> {
        Ok(format!("memory://{key}"))
    }
    async fn presign_put(
        &self,
        key: &str,
        _content_type: &str,
        _bytes: u64,
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

/// The instant the OAuth networks' tests start at (their fixtures' expiries are set around it).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap()
}

pub fn account(credentials: Value) -> AccountContext {
    account_named("tester", credentials)
}

pub fn account_named(handle: &str, credentials: Value) -> AccountContext {
    AccountContext {
        workspace: WorkspaceId::generate(1, 1),
        account: AccountId::generate(1, 2),
        handle: handle.into(),
        credentials: credentials.into(),
    }
}

/// `base` with every field of `extra` set over it: a test's credentials that differ from the
/// usual ones.
pub fn merged(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        base[k] = v;
    }
    base
}

pub fn image(key: &str, bytes: u64, alt: Option<&str>) -> MediaRef {
    MediaRef {
        width: Some(1),
        height: Some(1),
        alt_text: alt.map(str::to_owned),
        ..media(key, "image/png", bytes, format!("memory://{key}"))
    }
}

/// A media item with no dimensions, duration or alt text; tests set those they need.
pub fn media(key: &str, content_type: &str, bytes: u64, url: String) -> MediaRef {
    MediaRef {
        id: MediaId::generate(1, 3),
        content_type: content_type.into(),
        bytes,
        width: None,
        height: None,
        duration_seconds: None,
        url,
        blob_key: key.into(),
        alt_text: None,
    }
}

/// A media item behind a presigned URL, as the Meta and TikTok doubles see one: 100 kB at
/// 1080×1080; tests set the rest.
pub fn presigned(content_type: &str, n: u32) -> MediaRef {
    MediaRef {
        width: Some(1080),
        height: Some(1080),
        ..media(
            &format!("ws/media/{n}"),
            content_type,
            100_000,
            format!("https://media.example/presigned/{n}"),
        )
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

fn fixture_text(network: &str, file: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/{network}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture file's JSON, with its `_doc` citation removed.
pub fn fixture(network: &str, file: &str) -> Value {
    let mut v = raw_fixture(network, file);
    if let Some(o) = v.as_object_mut() {
        o.remove("_doc");
    }
    v
}

/// A fixture file's JSON as written, `_doc` citation included.
pub fn raw_fixture(network: &str, file: &str) -> Value {
    serde_json::from_str(&fixture_text(network, file)).expect("fixture is JSON")
}

/// A fixture file's JSON as written, with `{SERVER}` standing for the double's address.
pub fn fixture_for(network: &str, file: &str, server: &MockServer) -> Value {
    let text = fixture_text(network, file).replace("{SERVER}", &server.uri());
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The OAuth app of a network's tests, its callback under the usual Herald address.
pub fn oauth_app(client_id: &str, client_secret: &str, network: &str) -> OAuthApp {
    OAuthApp {
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        redirect_uri: format!("https://herald.example/v1/oauth/{network}/callback"),
    }
}

/// Polling that does not wait between its three attempts.
pub fn no_wait_polling() -> Polling {
    Polling {
        interval: Duration::ZERO,
        attempts: 3,
    }
}

/// The double's address with `prefix` (e.g. `v24.0/`, or empty) as the API base.
pub fn base_url(server: &MockServer, prefix: &str) -> url::Url {
    url::Url::parse(&format!("{}/{prefix}", server.uri())).unwrap()
}

/// A connector under test, the local double of its network and the blobs it reads media from.
pub struct Double<C> {
    pub server: MockServer,
    pub blobs: Arc<MemoryBlobs>,
    pub connector: C,
}

/// Starts a double and builds the connector against it with `build`.
pub async fn double<C>(build: impl FnOnce(&MockServer, Arc<MemoryBlobs>) -> C) -> Double<C> {
    let server = MockServer::start().await;
    let blobs = Arc::new(MemoryBlobs::default());
    let connector = build(&server, blobs.clone());
    Double {
        server,
        blobs,
        connector,
    }
}

/// A form-encoded request body as a map.
pub fn form(r: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

/// The requests the double received with this method and path, in order.
pub async fn received(server: &MockServer, verb: &str, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == p)
        .collect()
}

/// The forms POSTed to this path, in order.
pub async fn posted_forms(server: &MockServer, p: &str) -> Vec<BTreeMap<String, String>> {
    received(server, "POST", p).await.iter().map(form).collect()
}
