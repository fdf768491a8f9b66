//! The blob store conformance set: the same checks against the filesystem store (served over
//! HTTP by a small server that checks presigned URLs as the local server does) and against S3 on
//! moto.

use crate::support::{TempDir, files_under};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeZone;
use herald_adapters::{FsBlobStore, ManualClock, PresignError, PresignedQuery, verify_presigned};
use herald_ports::{BlobError, BlobStore, Clock};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "ws_01/media/med_01/original";

enum Backend {
    Fs {
        dir: TempDir,
        clock: Arc<ManualClock>,
        signing_key: Vec<u8>,
    },
    #[cfg(feature = "aws")]
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
}

struct Fixture {
    store: Arc<dyn BlobStore>,
    backend: Backend,
}

impl Fixture {
    /// A filesystem store in a fresh directory, with a server for its presigned URLs on a free
    /// loopback port; the server stops with the test's runtime.
    async fn fs() -> Self {
        let dir = TempDir::new();
        let clock = Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap(),
        ));
        let signing_key = b"conformance signing key".to_vec();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let store = Arc::new(
            FsBlobStore::new(dir.path(), &base, signing_key.clone(), clock.clone()).unwrap(),
        );
        let app = axum::Router::new()
            .route(
                "/blobs/{*key}",
                axum::routing::get(serve_blob).put(serve_blob),
            )
            .with_state(ServerState {
                store: store.clone(),
                clock: clock.clone(),
                signing_key: signing_key.clone(),
            });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Fixture {
            store,
            backend: Backend::Fs {
                dir,
                clock,
                signing_key,
            },
        }
    }

    /// An S3 store on moto, in a bucket of its own.
    #[cfg(feature = "aws")]
    async fn s3() -> Self {
        let config = crate::support::sdk_config().await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let bucket = crate::support::unique("blobs").to_lowercase();
        let store = herald_adapters::S3BlobStore::new(client.clone(), &bucket);
        store.create_bucket().await.expect("create bucket");
        // Creating it again is harmless (set-up scripts run more than once).
        store.create_bucket().await.expect("create bucket again");
        Fixture {
            store: Arc::new(store),
            backend: Backend::S3 { client, bucket },
        }
    }

    /// The directory, clock and signing key of a filesystem fixture.
    fn fs_parts(&self) -> (&TempDir, &ManualClock, &[u8]) {
        match &self.backend {
            Backend::Fs {
                dir,
                clock,
                signing_key,
            } => (dir, clock, signing_key),
            #[cfg(feature = "aws")]
            Backend::S3 { .. } => panic!("not a filesystem fixture"),
        }
    }

    /// How many blobs the backend holds, counted in the backend's own terms.
    async fn stored_count(&self) -> usize {
        match &self.backend {
            Backend::Fs { dir, .. } => files_under(dir.path()).len(),
            #[cfg(feature = "aws")]
            Backend::S3 { client, bucket } => client
                .list_objects_v2()
                .bucket(bucket)
                .send()
                .await
                .expect("list objects")
                .contents()
                .len(),
        }
    }
}

#[derive(Clone)]
struct ServerState {
    store: Arc<FsBlobStore>,
    clock: Arc<ManualClock>,
    signing_key: Vec<u8>,
}

/// What the local server does with a presigned URL: check it, then store or serve the blob.
async fn serve_blob(
    State(s): State<ServerState>,
    method: Method,
    Path(key): Path<String>,
    Query(q): Query<PresignedQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = if method == Method::PUT {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    } else {
        q.content_type.clone()
    };
    let verdict = verify_presigned(
        &s.signing_key,
        method.as_str(),
        &key,
        q.expires,
        &content_type,
        q.length,
        &q.signature,
        s.clock.now().timestamp(),
    );
    if let Err(e) = verdict {
        return (StatusCode::FORBIDDEN, e.to_string()).into_response();
    }
    if method == Method::PUT {
        if q.length.is_none_or(|n| body.len() as u64 > n) {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        match s.store.put(&key, body.to_vec(), &content_type).await {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    } else {
        match s.store.get_with_type(&key).await {
            Ok((bytes, ct)) => ([(header::CONTENT_TYPE, ct)], bytes).into_response(),
            Err(BlobError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

/// Every byte value, so nothing is mangled as text on the way.
fn sample_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(3000).collect()
}

async fn a_put_blob_reads_back_with_its_size_until_deleted(f: Fixture) {
    let bytes = sample_bytes();
    f.store.put(KEY, bytes.clone(), "image/jpeg").await.unwrap();
    assert_eq!(f.store.get(KEY).await.unwrap(), bytes);
    assert_eq!(f.store.size(KEY).await.unwrap(), bytes.len() as u64);
    f.store.delete(KEY).await.unwrap();
    assert!(matches!(
        f.store.get(KEY).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        f.store.size(KEY).await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(f.stored_count().await, 0, "delete left something behind");
}

async fn putting_again_replaces_the_blob(f: Fixture) {
    f.store.put(KEY, vec![1; 500], "image/jpeg").await.unwrap();
    f.store.put(KEY, vec![2; 7], "image/png").await.unwrap();
    assert_eq!(f.store.get(KEY).await.unwrap(), vec![2; 7]);
    assert_eq!(f.store.size(KEY).await.unwrap(), 7);
}

async fn an_empty_blob_is_a_blob_of_size_zero(f: Fixture) {
    f.store.put(KEY, Vec::new(), "text/plain").await.unwrap();
    assert_eq!(f.store.get(KEY).await.unwrap(), Vec::<u8>::new());
    assert_eq!(f.store.size(KEY).await.unwrap(), 0);
}

async fn a_missing_blob_is_not_found_and_deleting_it_succeeds(f: Fixture) {
    assert_eq!(
        f.store.get("ws_01/media/nothing").await,
        Err(BlobError::NotFound("ws_01/media/nothing".into()))
    );
    assert_eq!(
        f.store.size("ws_01/media/nothing").await,
        Err(BlobError::NotFound("ws_01/media/nothing".into()))
    );
    // A key that is only a prefix of a stored blob is not a blob either.
    f.store.put(KEY, vec![1], "image/jpeg").await.unwrap();
    assert!(matches!(
        f.store.size("ws_01/media/med_01").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        f.store.get("ws_01/media/med_01").await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(f.store.delete("ws_01/media/nothing").await, Ok(()));
}

async fn blobs_under_one_prefix_are_independent(f: Fixture) {
    let rendition = "ws_01/media/med_01/renditions/instagram-feed.jpg";
    f.store.put(KEY, vec![1; 10], "image/jpeg").await.unwrap();
    f.store
        .put(rendition, vec![2; 20], "image/jpeg")
        .await
        .unwrap();
    f.store.delete(KEY).await.unwrap();
    assert_eq!(f.store.get(rendition).await.unwrap(), vec![2; 20]);
    assert!(matches!(
        f.store.get(KEY).await,
        Err(BlobError::NotFound(_))
    ));
}

async fn invalid_keys_are_refused_and_nothing_is_written(f: Fixture) {
    let bad = [
        "",
        "/ws_01/media/x",
        "ws_01/../../etc/passwd",
        "../outside",
        "ws_01//x",
        "ws_01/x/",
        "ws_01/./x",
        "ws_01\\x",
        "ws_01/x\0y",
    ];
    for key in bad {
        let refused = |r: Result<_, BlobError>| matches!(r, Err(BlobError::InvalidKey(_)));
        assert!(
            refused(f.store.put(key, vec![1, 2, 3], "image/png").await),
            "put {key:?}"
        );
        assert!(refused(f.store.get(key).await.map(|_| ())), "get {key:?}");
        assert!(refused(f.store.size(key).await.map(|_| ())), "size {key:?}");
        assert!(refused(f.store.delete(key).await), "delete {key:?}");
        let hour = Duration::from_secs(3600);
        assert!(
            refused(f.store.presign_get(key, hour).await.map(|_| ())),
            "presign_get {key:?}"
        );
        assert!(
            refused(
                f.store
                    .presign_put(key, "image/png", 10, hour)
                    .await
                    .map(|_| ())
            ),
            "presign_put {key:?}"
        );
    }
    assert_eq!(f.stored_count().await, 0);
}

async fn a_presigned_put_then_a_presigned_get_carry_the_bytes_over_http(f: Fixture) {
    let http = reqwest::Client::new();
    let bytes = sample_bytes();
    let hour = Duration::from_secs(3600);
    let put_url = f
        .store
        .presign_put(KEY, "image/png", bytes.len() as u64, hour)
        .await
        .unwrap();
    let put = http
        .put(&put_url)
        .header("content-type", "image/png")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT answered {}", put.status());
    assert_eq!(f.store.get(KEY).await.unwrap(), bytes);
    assert_eq!(f.store.size(KEY).await.unwrap(), bytes.len() as u64);

    let get_url = f.store.presign_get(KEY, hour).await.unwrap();
    let got = http.get(&get_url).send().await.unwrap();
    assert_eq!(got.status(), reqwest::StatusCode::OK);
    assert_eq!(
        got.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
}

async fn ranges_read_exactly_their_bytes_and_stop_at_the_end(f: Fixture) {
    let bytes = sample_bytes();
    f.store.put(KEY, bytes.clone(), "video/mp4").await.unwrap();
    assert_eq!(f.store.get_range(KEY, 0..1).await.unwrap(), bytes[..1]);
    assert_eq!(
        f.store.get_range(KEY, 1000..2500).await.unwrap(),
        bytes[1000..2500]
    );
    // A range running past the end is cut there; one starting at or past it is empty.
    assert_eq!(
        f.store.get_range(KEY, 2900..9000).await.unwrap(),
        bytes[2900..]
    );
    assert!(f.store.get_range(KEY, 3000..4000).await.unwrap().is_empty());
    assert!(f.store.get_range(KEY, 10..10).await.unwrap().is_empty());
    assert!(matches!(
        f.store.get_range("ws_01/media/nothing", 0..10).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        f.store.get_range("../outside", 0..10).await,
        Err(BlobError::InvalidKey(_))
    ));
}

async fn an_opened_blob_streams_all_its_bytes(f: Fixture) {
    use tokio::io::AsyncReadExt;
    // Larger than any single read buffer, so the stream really comes in several reads.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024 + 17).collect();
    f.store.put(KEY, bytes.clone(), "video/mp4").await.unwrap();
    let mut reader = f.store.open(KEY).await.unwrap();
    let mut chunk = vec![0; 64 * 1024];
    let (mut read, mut reads) = (Vec::new(), 0);
    loop {
        let n = reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        reads += 1;
        read.extend_from_slice(&chunk[..n]);
    }
    assert!(reads > 1, "read in pieces");
    assert_eq!(read.len(), bytes.len());
    assert!(read == bytes, "the streamed bytes are the blob's");
    assert!(matches!(
        f.store.open("ws_01/media/nothing").await.map(|_| ()),
        Err(BlobError::NotFound(_))
    ));
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod fs {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Fixture::fs().await).await
                }
            )*
        }
        #[cfg(feature = "aws")]
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Fixture::s3().await).await
                }
            )*
        }
    };
}

conformance!(
    a_put_blob_reads_back_with_its_size_until_deleted,
    putting_again_replaces_the_blob,
    an_empty_blob_is_a_blob_of_size_zero,
    a_missing_blob_is_not_found_and_deleting_it_succeeds,
    blobs_under_one_prefix_are_independent,
    invalid_keys_are_refused_and_nothing_is_written,
    a_presigned_put_then_a_presigned_get_carry_the_bytes_over_http,
    ranges_read_exactly_their_bytes_and_stop_at_the_end,
    an_opened_blob_streams_all_its_bytes,
);

/// The parts of a filesystem presigned URL that `verify_presigned` takes.
fn presigned_parts(url: &str) -> (String, PresignedQuery) {
    let url = url::Url::parse(url).unwrap();
    let key = url
        .path()
        .strip_prefix("/blobs/")
        .expect("URL under /blobs/")
        .to_owned();
    let query: PresignedQuery = serde_json::from_value(serde_json::Value::Object(
        url.query_pairs()
            .map(|(k, v)| {
                let v = if k == "expires" || k == "length" {
                    serde_json::json!(v.parse::<i64>().unwrap())
                } else {
                    serde_json::json!(v)
                };
                (k.into_owned(), v)
            })
            .collect(),
    ))
    .unwrap();
    (key, query)
}

mod fs_only {
    use super::*;

    #[tokio::test]
    async fn a_presigned_url_verifies_with_its_own_query_and_fails_when_tampered_or_expired() {
        let f = Fixture::fs().await;
        let (_, clock, signing_key) = f.fs_parts();
        let url = f
            .store
            .presign_put(KEY, "video/mp4", 1000, Duration::from_secs(600))
            .await
            .unwrap();
        let (key, q) = presigned_parts(&url);
        assert_eq!(key, KEY);
        assert_eq!(q.method, "PUT");
        assert_eq!(q.content_type, "video/mp4");
        assert_eq!(q.expires, clock.now().timestamp() + 600);
        assert_eq!(q.length, Some(1000));
        let now = clock.now().timestamp();
        let verify = |method: &str, key: &str, expires: i64, ct: &str, sig: &str, now: i64| {
            verify_presigned(signing_key, method, key, expires, ct, Some(1000), sig, now)
        };

        assert_eq!(
            verify("PUT", &key, q.expires, &q.content_type, &q.signature, now),
            Ok(())
        );
        let bad = Err(PresignError::BadSignature);
        let other_key = "ws_02/media/med_01/original";
        assert_eq!(
            verify("PUT", other_key, q.expires, "video/mp4", &q.signature, now),
            bad
        );
        assert_eq!(
            verify("GET", &key, q.expires, "video/mp4", &q.signature, now),
            bad
        );
        assert_eq!(
            verify(
                "PUT",
                &key,
                q.expires + 3600,
                "video/mp4",
                &q.signature,
                now
            ),
            bad
        );
        assert_eq!(
            verify("PUT", &key, q.expires, "text/html", &q.signature, now),
            bad
        );
        let mut altered = q.signature.clone().into_bytes();
        altered[0] = if altered[0] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            verify("PUT", &key, q.expires, "video/mp4", &altered, now),
            bad
        );
        assert_eq!(
            verify(
                "PUT",
                &key,
                q.expires,
                "video/mp4",
                &q.signature,
                q.expires + 1
            ),
            Err(PresignError::Expired)
        );
    }

    #[tokio::test]
    async fn the_server_refuses_expired_tampered_and_misused_urls_and_stores_nothing() {
        let f = Fixture::fs().await;
        let (_, clock, _) = f.fs_parts();
        let http = reqwest::Client::new();
        let url = f
            .store
            .presign_put(KEY, "image/png", 10, Duration::from_secs(60))
            .await
            .unwrap();
        let put = |url: String, ct: &'static str| {
            http.put(url)
                .header("content-type", ct)
                .body(vec![7u8; 10])
                .send()
        };

        let tampered = url.replace("ws_01", "ws_02");
        assert_eq!(put(tampered, "image/png").await.unwrap().status(), 403);
        assert_eq!(put(url.clone(), "text/html").await.unwrap().status(), 403);
        let as_get = http.get(&url).send().await.unwrap();
        assert_eq!(as_get.status(), 403, "a PUT URL must not read");
        clock.advance(chrono::Duration::seconds(61));
        assert_eq!(put(url, "image/png").await.unwrap().status(), 403);
        assert_eq!(f.stored_count().await, 0);
    }

    #[tokio::test]
    async fn a_write_leaves_only_the_blob_and_its_type_on_disk() {
        let f = Fixture::fs().await;
        let (dir, _, _) = f.fs_parts();
        f.store.put(KEY, vec![5; 64], "image/gif").await.unwrap();
        let on_disk = std::fs::read(dir.path().join("objects").join(KEY)).unwrap();
        assert_eq!(on_disk, vec![5; 64]);
        let mut files = files_under(dir.path());
        files.sort();
        assert_eq!(
            files,
            vec![
                dir.path().join("objects").join(KEY),
                dir.path().join("types").join(KEY)
            ],
            "a temporary file was left behind"
        );
    }

    #[tokio::test]
    async fn a_key_that_runs_through_an_existing_blob_is_refused_on_disk() {
        // S3 allows `a/b` and `a/b/c` together; a directory tree cannot. Herald's keys never
        // do this, and the store says so instead of failing obscurely.
        let f = Fixture::fs().await;
        f.store.put(KEY, vec![1], "image/jpeg").await.unwrap();
        let nested = format!("{KEY}/more");
        assert!(matches!(
            f.store.put(&nested, vec![2], "image/jpeg").await,
            Err(BlobError::InvalidKey(_))
        ));
        assert_eq!(f.store.get(KEY).await.unwrap(), vec![1]);
        // And the other way round: a blob where other blobs' directory is.
        assert!(matches!(
            f.store.put("ws_01/media", vec![3], "image/jpeg").await,
            Err(BlobError::InvalidKey(_))
        ));
        assert_eq!(f.store.get(KEY).await.unwrap(), vec![1]);
    }

    #[tokio::test]
    async fn every_whole_write_is_announced_once_as_s3_announces_object_created() {
        let dir = TempDir::new();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store = FsBlobStore::new(dir.path(), "http://127.0.0.1:9", vec![1], clock).unwrap();
        let mut created = store.subscribe_created();
        store.put(KEY, vec![1; 10], "image/jpeg").await.unwrap();
        // A refused write announces nothing.
        assert!(store.put("../x", vec![1], "image/jpeg").await.is_err());
        store
            .put("ws_01/other", vec![2], "image/png")
            .await
            .unwrap();
        assert_eq!(created.recv().await.as_deref(), Some(KEY));
        // Announced only once the blob is readable.
        assert_eq!(store.size(KEY).await.unwrap(), 10);
        assert_eq!(created.recv().await.as_deref(), Some("ws_01/other"));
        assert!(created.try_recv().is_err());
        // A dropped subscriber is forgotten; writing still works.
        drop(created);
        store.put(KEY, vec![3], "image/jpeg").await.unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn blobs_on_disk_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store = FsBlobStore::new(dir.path(), "http://127.0.0.1:9", vec![1], clock).unwrap();
        store.put(KEY, vec![1; 10], "image/jpeg").await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let files = files_under(dir.path());
        assert!(!files.is_empty());
        for file in &files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
            let mut parent = file.parent();
            while let Some(p) = parent.filter(|p| *p != dir.path()) {
                assert_eq!(mode(p), 0o700, "{}", p.display());
                parent = p.parent();
            }
        }
    }

    #[tokio::test]
    async fn a_base_url_that_is_not_http_is_refused() {
        let dir = TempDir::new();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        for base in ["not a url", "file:///tmp", "ftp://127.0.0.1"] {
            assert!(
                FsBlobStore::new(dir.path(), base, vec![1], clock.clone()).is_err(),
                "{base}"
            );
        }
    }
}

#[cfg(feature = "aws")]
mod s3_only {
    use super::*;

    #[tokio::test]
    async fn presigning_for_more_than_a_week_is_refused() {
        let f = Fixture::s3().await;
        let eight_days = Duration::from_secs(8 * 24 * 3600);
        assert!(f.store.presign_get(KEY, eight_days).await.is_err());
    }
}
