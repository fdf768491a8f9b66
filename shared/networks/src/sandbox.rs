//! The sandbox network: Herald's own test network, like a payment provider's test mode. It
//! keeps what it receives in the table (the outbox API shows it) and behaves like a strict
//! real network: it takes no idempotency keys, so every publish call makes a new post, and the
//! publishing engine must never send a target twice. Faults can be injected for tests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_domain::limits::{RateLimit, RateScope};
use herald_domain::{AccountId, NetworkLimits, Platform, TextCounting, WorkspaceId};
use herald_ports::{
    AccountContext, Checkpoint, Clock, Connector, Item, NetworkError, NetworkErrorKind,
    PostMetrics, PublishRequest, Published, Query, SortCondition, Table, Value,
};
use herald_storage::keys;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const LIMITS: NetworkLimits = NetworkLimits {
    platform: Platform::Sandbox,
    max_text: 5_000,
    counting: TextCounting::Chars,
    requires_media: false,
    max_images: 10,
    max_videos: 1,
    mixed_media: true,
    image_types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
    video_types: &["video/mp4", "video/quicktime", "video/webm"],
    max_image_bytes: None,
    max_video_bytes: None,
    max_video_seconds: None,
    image_aspect: None,
    video_aspect: None,
    max_title: Some(300),
    publish_limits: &[RateLimit {
        scope: RateScope::Account,
        max: 100_000,
        window_seconds: 86_400,
    }],
};

/// A misbehaviour the sandbox shows on its next publish calls, in order (tests only).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Keeps the post, then answers as if the connection dropped: the classic duplicate trap.
    AcceptThenTimeout,
    /// Refuses with a 503 before keeping anything.
    Unavailable,
    /// Refuses with a 429 and a retry time.
    RateLimited { retry_after_seconds: i64 },
    /// Refuses the content for good.
    Reject(String),
    /// Keeps the post and then never answers (the caller is cut off: a crash mid-call).
    AcceptThenHang,
    /// The lookup of recent posts fails once.
    LookupUnavailable,
    /// The connection drops before the network kept anything: the caller cannot tell whether
    /// the post went out (it did not).
    DropBeforeAccepting,
    /// Renewing the account's credentials fails once (a network that cannot be reached).
    RefreshUnavailable,
    /// Keeps a reply, then answers as if the connection dropped.
    ReplyAcceptThenTimeout,
    /// Drops a reply's connection before keeping it.
    ReplyDropBeforeAccepting,
}

impl Fault {
    /// Which call a fault is for.
    fn call(&self) -> Call {
        match self {
            Fault::LookupUnavailable => Call::Lookup,
            Fault::RefreshUnavailable => Call::Refresh,
            Fault::ReplyAcceptThenTimeout | Fault::ReplyDropBeforeAccepting => Call::Reply,
            _ => Call::Publish,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Publish,
    Reply,
    Lookup,
    Refresh,
}

/// The test knob naming the round trip every sandbox call takes, in milliseconds.
pub const LATENCY_ENV: &str = "HERALD_SANDBOX_LATENCY_MS";

/// The test knobs making the sandbox a network with a short video limit, in seconds and in
/// bytes (unset: none), to see how Herald treats a video too long or too big for a network.
pub const MAX_VIDEO_SECONDS_ENV: &str = "HERALD_SANDBOX_MAX_VIDEO_SECONDS";
pub const MAX_VIDEO_BYTES_ENV: &str = "HERALD_SANDBOX_MAX_VIDEO_BYTES";

/// The video limits the sandbox plays (none by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VideoLimits {
    pub max_seconds: Option<u32>,
    pub max_bytes: Option<u64>,
}

impl VideoLimits {
    /// From the knobs; a value that is not a whole number is refused, naming its knob.
    pub fn from_env() -> Result<VideoLimits, (&'static str, String)> {
        fn read<T: std::str::FromStr>(
            name: &'static str,
        ) -> Result<Option<T>, (&'static str, String)> {
            match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| (name, format!("{name} must be a whole number, not {v:?}"))),
            }
        }
        Ok(VideoLimits {
            max_seconds: read(MAX_VIDEO_SECONDS_ENV)?,
            max_bytes: read(MAX_VIDEO_BYTES_ENV)?,
        })
    }
}

/// One post the sandbox received.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub remote_id: String,
    pub text: String,
    pub media: Vec<String>,
    /// The file it got for each media item, as a real network would see it: which rendition
    /// reached it, not just which item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ReceivedFile>,
    pub received_at: DateTime<Utc>,
    /// The reply chain, when the post was a thread.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    #[serde(skip)]
    pub marker: String,
}

/// One file a sandbox post carried.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReceivedFile {
    pub media: String,
    pub content_type: String,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

impl ReceivedFile {
    fn from_ref(m: &herald_ports::MediaRef) -> ReceivedFile {
        ReceivedFile {
            media: m.id.to_string(),
            content_type: m.content_type.clone(),
            bytes: m.bytes,
            width: m.width,
            height: m.height,
            duration_seconds: m.duration_seconds,
            alt_text: m.alt_text.clone(),
        }
    }

    fn to_value(&self) -> Value {
        let mut m = std::collections::BTreeMap::new();
        m.insert("media".into(), Value::S(self.media.clone()));
        m.insert("content_type".into(), Value::S(self.content_type.clone()));
        m.insert("bytes".into(), Value::N(self.bytes as i64));
        if let Some(w) = self.width {
            m.insert("width".into(), Value::N(i64::from(w)));
        }
        if let Some(h) = self.height {
            m.insert("height".into(), Value::N(i64::from(h)));
        }
        if let Some(d) = self.duration_seconds {
            // Milliseconds: the table keeps whole numbers.
            m.insert("duration_ms".into(), Value::N((d * 1000.0).round() as i64));
        }
        if let Some(a) = &self.alt_text {
            m.insert("alt_text".into(), Value::S(a.clone()));
        }
        Value::M(m)
    }

    fn from_value(v: &Value) -> Option<ReceivedFile> {
        let Value::M(m) = v else { return None };
        let n = |k: &str| m.get(k).and_then(Value::as_n);
        Some(ReceivedFile {
            media: m.get("media")?.as_s()?.to_owned(),
            content_type: m.get("content_type")?.as_s()?.to_owned(),
            bytes: u64::try_from(n("bytes")?).ok()?,
            width: n("width").and_then(|w| u32::try_from(w).ok()),
            height: n("height").and_then(|h| u32::try_from(h).ok()),
            duration_seconds: n("duration_ms").map(|d| d as f64 / 1000.0),
            alt_text: m.get("alt_text").and_then(Value::as_s).map(str::to_owned),
        })
    }
}

pub struct SandboxConnector {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    faults: Mutex<VecDeque<Fault>>,
    limits: NetworkLimits,
    /// How long every call takes, as a real network's round trip does (load tests).
    latency: std::time::Duration,
    /// Publish calls made (counted as each begins, whatever it answers).
    sends: std::sync::atomic::AtomicU64,
    /// What `metrics` answers per remote id (tests set the network's totals).
    metrics: Mutex<std::collections::HashMap<String, PostMetrics>>,
    /// Replies made: (remote id answered, text).
    replies: Mutex<Vec<(String, String)>>,
}

impl SandboxConnector {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        SandboxConnector {
            table,
            clock,
            faults: Mutex::new(VecDeque::new()),
            limits: LIMITS,
            latency: std::time::Duration::ZERO,
            sends: Default::default(),
            metrics: Default::default(),
            replies: Default::default(),
        }
    }

    /// The totals the network reports for one post from now on (tests).
    pub fn set_metrics(&self, remote_id: &str, metrics: PostMetrics) {
        self.metrics
            .lock()
            .expect("metrics lock")
            .insert(remote_id.to_owned(), metrics);
    }

    /// Every reply made so far: (remote id answered, text).
    pub fn replies(&self) -> Vec<(String, String)> {
        self.replies.lock().expect("replies lock").clone()
    }

    /// Every call takes `latency` before it is served.
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The latency `HERALD_SANDBOX_LATENCY_MS` asks for (none when unset); a value that is not
    /// a whole number of milliseconds is refused, naming the knob.
    pub fn latency_from_env() -> Result<std::time::Duration, String> {
        parse_latency(std::env::var(LATENCY_ENV).ok().as_deref())
    }

    /// How many publish calls were made.
    pub fn sends(&self) -> u64 {
        self.sends.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn round_trip(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// The sandbox playing a network with these video limits (tests).
    pub fn with_video_limits(mut self, limits: VideoLimits) -> Self {
        self.limits.max_video_seconds = limits.max_seconds;
        self.limits.max_video_bytes = limits.max_bytes;
        self
    }

    /// The sandbox with other publishing allowances, to try how bursts are spread.
    pub fn with_publish_limits(mut self, limits: &'static [RateLimit]) -> Self {
        self.limits.publish_limits = limits;
        self
    }

    /// Queues faults for the next calls (tests).
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().expect("faults lock").extend(faults);
    }

    fn next_fault(&self, call: Call) -> Option<Fault> {
        let mut faults = self.faults.lock().expect("faults lock");
        let position = faults.iter().position(|f| f.call() == call)?;
        faults.remove(position)
    }

    async fn keep(
        &self,
        ws: &WorkspaceId,
        acct: &AccountId,
        request: &PublishRequest,
    ) -> Result<String, NetworkError> {
        let now = self.clock.now();
        let remote_id = format!(
            "sbx_{:013x}{:016x}",
            now.timestamp_millis(),
            rand::random::<u64>()
        );
        let mut item = keys::sandbox_entry(ws, acct, now, &remote_id).item();
        item.insert("remote_id".into(), Value::S(remote_id.clone()));
        item.insert("text".into(), Value::S(request.text.clone()));
        item.insert(
            "media".into(),
            Value::L(
                request
                    .media
                    .iter()
                    .map(|m| Value::S(m.id.to_string()))
                    .collect(),
            ),
        );
        item.insert(
            "files".into(),
            Value::L(
                request
                    .media
                    .iter()
                    .map(|m| ReceivedFile::from_ref(m).to_value())
                    .collect(),
            ),
        );
        item.insert(
            "thread".into(),
            Value::L(request.thread.iter().map(|t| Value::S(t.clone())).collect()),
        );
        item.insert("received_at".into(), Value::N(now.timestamp_millis()));
        item.insert("marker".into(), Value::S(request.marker.clone()));
        self.table
            .put(item, None)
            .await
            .map_err(|e| NetworkError::uncertain(format!("sandbox storage: {e}")))?;
        Ok(remote_id)
    }
}

/// A latency knob's value: unset is none.
fn parse_latency(value: Option<&str>) -> Result<std::time::Duration, String> {
    match value {
        None => Ok(std::time::Duration::ZERO),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(std::time::Duration::from_millis)
            .map_err(|_| {
                format!("{LATENCY_ENV} must be a whole number of milliseconds, not {v:?}")
            }),
    }
}

/// An outbox entry from its item (paged readers query the outbox partition themselves).
pub fn entry(item: &Item) -> Option<OutboxEntry> {
    let strings = |name: &str| match item.get(name) {
        Some(Value::L(l)) => l
            .iter()
            .filter_map(|v| v.as_s().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Some(OutboxEntry {
        remote_id: item.get("remote_id")?.as_s()?.to_owned(),
        text: item.get("text")?.as_s()?.to_owned(),
        media: strings("media"),
        files: match item.get("files") {
            Some(Value::L(l)) => l.iter().filter_map(ReceivedFile::from_value).collect(),
            _ => Vec::new(),
        },
        thread: strings("thread"),
        received_at: DateTime::from_timestamp_millis(item.get("received_at")?.as_n()?)?,
        marker: item
            .get("marker")
            .and_then(Value::as_s)
            .unwrap_or_default()
            .to_owned(),
    })
}

/// Everything a sandbox account received, oldest first.
pub async fn outbox(
    table: &dyn Table,
    ws: &WorkspaceId,
    acct: &AccountId,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<OutboxEntry>, herald_ports::TableError> {
    let mut query = Query::table(keys::sandbox_outbox(ws, acct));
    if let Some(since) = since {
        query = query.sk(SortCondition::Ge(keys::time_key(since)));
    }
    Ok(table
        .query_all(query)
        .await?
        .iter()
        .filter_map(entry)
        .collect())
}

/// A reply as the sandbox keeps it (in its outbox, marked by what it answers).
fn reply_request(remote_id: &str, text: &str) -> PublishRequest {
    PublishRequest {
        marker: format!("reply-to-{remote_id}"),
        text: text.to_owned(),
        title: None,
        link: None,
        media: Vec::new(),
        first_comment: None,
        thread: Vec::new(),
        progress: Default::default(),
    }
}

#[async_trait]
impl Connector for SandboxConnector {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }

    fn limits(&self) -> NetworkLimits {
        self.limits.clone()
    }

    async fn publish(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Published, NetworkError> {
        self.sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.round_trip().await;
        let fault = self.next_fault(Call::Publish);
        match fault {
            Some(Fault::Unavailable) => {
                return Err(NetworkError {
                    status: Some(503),
                    ..NetworkError::transient("sandbox: service unavailable")
                });
            }
            Some(Fault::RateLimited {
                retry_after_seconds,
            }) => {
                let retry_at = self.clock.now() + chrono::Duration::seconds(retry_after_seconds);
                return Err(NetworkError {
                    status: Some(429),
                    ..NetworkError::new(
                        NetworkErrorKind::RateLimited {
                            retry_at: Some(retry_at),
                        },
                        "sandbox: too many requests",
                    )
                });
            }
            Some(Fault::Reject(message)) => {
                return Err(NetworkError {
                    status: Some(422),
                    ..NetworkError::permanent(format!("sandbox: {message}"))
                });
            }
            Some(Fault::DropBeforeAccepting) => {
                return Err(NetworkError::uncertain(
                    "sandbox: connection reset while sending",
                ));
            }
            _ => {}
        }
        let remote_id = self
            .keep(&account.workspace, &account.account, request)
            .await?;
        match fault {
            Some(Fault::AcceptThenTimeout) => Err(NetworkError::uncertain(
                "sandbox: connection reset after the request was sent",
            )),
            Some(Fault::AcceptThenHang) => std::future::pending().await,
            _ => Ok(Published {
                url: Some(format!("sandbox://{}/{remote_id}", account.account)),
                remote_id,
            }),
        }
    }

    async fn find_published(
        &self,
        account: &AccountContext,
        request: &PublishRequest,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        self.round_trip().await;
        if self.next_fault(Call::Lookup).is_some() {
            return Err(NetworkError::transient("sandbox: lookup unavailable"));
        }
        let entries = outbox(
            self.table.as_ref(),
            &account.workspace,
            &account.account,
            Some(since),
        )
        .await
        .map_err(|e| NetworkError::transient(format!("sandbox storage: {e}")))?;
        Ok(entries
            .into_iter()
            .find(|e| e.marker == request.marker)
            .map(|e| Published {
                url: Some(format!("sandbox://{}/{}", account.account, e.remote_id)),
                remote_id: e.remote_id,
            }))
    }

    async fn delete(&self, account: &AccountContext, remote_id: &str) -> Result<(), NetworkError> {
        self.round_trip().await;
        let entries = outbox(
            self.table.as_ref(),
            &account.workspace,
            &account.account,
            None,
        )
        .await
        .map_err(|e| NetworkError::transient(format!("sandbox storage: {e}")))?;
        let found = entries
            .iter()
            .find(|e| e.remote_id == remote_id)
            .ok_or_else(|| NetworkError::permanent(format!("sandbox: no post {remote_id}")))?;
        self.table
            .delete(
                &keys::sandbox_entry(
                    &account.workspace,
                    &account.account,
                    found.received_at,
                    remote_id,
                ),
                None,
            )
            .await
            .map_err(|e| NetworkError::transient(format!("sandbox storage: {e}")))?;
        Ok(())
    }

    async fn reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
    ) -> Result<Published, NetworkError> {
        self.round_trip().await;
        let fault = self.next_fault(Call::Reply);
        if fault == Some(Fault::ReplyDropBeforeAccepting) {
            return Err(NetworkError::uncertain(
                "sandbox: connection reset while sending",
            ));
        }
        let request = reply_request(remote_id, text);
        let id = self
            .keep(&account.workspace, &account.account, &request)
            .await?;
        self.replies
            .lock()
            .expect("replies lock")
            .push((remote_id.to_owned(), text.to_owned()));
        if fault == Some(Fault::ReplyAcceptThenTimeout) {
            return Err(NetworkError::uncertain(
                "sandbox: no answer after sending the reply",
            ));
        }
        Ok(Published {
            remote_id: id,
            url: None,
        })
    }

    async fn find_reply(
        &self,
        account: &AccountContext,
        remote_id: &str,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Published>, NetworkError> {
        self.round_trip().await;
        let request = reply_request(remote_id, text);
        let entries = outbox(
            self.table.as_ref(),
            &account.workspace,
            &account.account,
            Some(since),
        )
        .await
        .map_err(|e| NetworkError::transient(format!("sandbox storage: {e}")))?;
        Ok(entries
            .into_iter()
            .find(|e| e.marker == request.marker && e.text == request.text)
            .map(|e| Published {
                url: None,
                remote_id: e.remote_id,
            }))
    }

    async fn metrics(
        &self,
        _account: &AccountContext,
        remote_id: &str,
    ) -> Result<PostMetrics, NetworkError> {
        // Engagement on sandbox posts arrives as events (POST /v1/sandbox/{account}/events);
        // totals are whatever a test set.
        self.round_trip().await;
        Ok(self
            .metrics
            .lock()
            .expect("metrics lock")
            .get(remote_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn refresh_credentials(
        &self,
        _account: &AccountContext,
        _now: DateTime<Utc>,
    ) -> Result<Option<serde_json::Value>, NetworkError> {
        // Sandbox credentials never expire: only an injected fault makes this a call at all.
        match self.next_fault(Call::Refresh) {
            Some(_) => {
                self.round_trip().await;
                Err(NetworkError::transient(
                    "sandbox: token endpoint unreachable",
                ))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_ports::NoCheckpoint;
    use std::time::Duration;

    fn request() -> PublishRequest {
        PublishRequest {
            marker: "hrld-test".into(),
            text: "hello".into(),
            title: None,
            link: None,
            media: Vec::new(),
            first_comment: None,
            thread: Vec::new(),
            progress: Default::default(),
        }
    }

    #[test]
    fn the_latency_knob_reads_whole_milliseconds_and_refuses_anything_else() {
        assert_eq!(parse_latency(None), Ok(Duration::ZERO));
        assert_eq!(parse_latency(Some("300")), Ok(Duration::from_millis(300)));
        assert_eq!(parse_latency(Some(" 0 ")), Ok(Duration::ZERO));
        for bad in ["", "-5", "0.3", "300ms", "1e3"] {
            let e = parse_latency(Some(bad)).unwrap_err();
            assert!(e.contains(LATENCY_ENV), "{bad:?}: {e}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_call_takes_the_latency_it_was_given() {
        let table = Arc::new(herald_storage::embedded::EmbeddedTable::in_memory().unwrap());
        let clock = Arc::new(herald_adapters::SystemClock);
        let sandbox = SandboxConnector::new(table, clock).with_latency(Duration::from_millis(300));
        let account = AccountContext {
            workspace: WorkspaceId::generate(1, 1),
            account: AccountId::generate(1, 2),
            handle: "brand".into(),
            credentials: serde_json::Value::Null.into(),
        };
        let started = tokio::time::Instant::now();
        sandbox
            .publish(&account, &request(), &NoCheckpoint)
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let started = tokio::time::Instant::now();
        let since = chrono::DateTime::<Utc>::MIN_UTC;
        assert!(
            sandbox
                .find_published(&account, &request(), since)
                .await
                .unwrap()
                .is_some()
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(sandbox.sends(), 1);
    }
}
