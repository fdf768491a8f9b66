//! `herald serve` hosts every function, through the handlers their Lambdas call: a post it
//! publishes reaches the aggregator over the in-process bus, and an upload reaches the
//! transcoder. Also: what it keeps on disk is the owner's alone.

use crate::support::Server;
use herald_adapters::memory_bus::Handler;
use herald_app::records::from_json;
use herald_domain::event::PostPublished;
use herald_domain::{
    AccountId, EventKind, MediaId, MediaItem, MediaStatus, Platform, PostId, WorkspaceId,
};
use herald_platform::{Backend, Config, build};
use herald_ports::{BusEvent, Table};
use herald_storage::embedded::EmbeddedTable;
use herald_storage::keys;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "hk_admin_hosts-test-admin-key";

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_post_published_by_herald_serve_is_counted_by_the_aggregator_it_hosts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data, dir.path(), 1, Some(ADMIN));
    let (status, ws) = server.call(
        "POST",
        "/v1/workspaces",
        ADMIN,
        Some(&json!({"name": "Hosts"})),
    );
    assert_eq!(status, 201, "{ws}");
    let key = ws["api_key"].as_str().unwrap().to_owned();
    let ws_id = WorkspaceId::parse(ws["id"].as_str().unwrap()).unwrap();
    let (_, account) = server.call(
        "POST",
        "/v1/accounts",
        &key,
        Some(&json!({"platform": "sandbox", "handle": "hosts"})),
    );
    let (status, post) = server.call(
        "POST",
        "/v1/posts",
        &key,
        Some(&json!({"text": "counted", "accounts": [account["id"]]})),
    );
    assert_eq!(status, 201, "{post}");
    let path = format!("/v1/posts/{}", post["id"].as_str().unwrap());
    let (status, _) = server.call("POST", &format!("{path}/publish"), &key, None);
    assert_eq!(status, 202);
    wait_for("the post to be published", || {
        let (_, p) = server.call("GET", &path, &key, None);
        (p["status"] == "published").then_some(())
    });
    // A graceful stop relays what is left; then the store can be opened and read.
    server.stop();

    let table = EmbeddedTable::open(data.join("herald.redb")).expect("store");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let today = chrono::Utc::now().date_naive();
    let counters = rt
        .block_on(table.get(&keys::metrics_day(&ws_id, today)))
        .unwrap()
        .expect("the aggregator wrote the day's counters");
    assert_eq!(
        counters.get("published").and_then(|v| v.as_n()),
        Some(1),
        "{counters:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // Made world-readable beforehand, as an older Herald left it.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(&data, dir.path(), 1, None);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("herald.redb")), 0o600);
    assert_eq!(mode(&data.join("encryption.key")), 0o600);
    server.kill();
}

async fn local_deps(dir: &std::path::Path) -> herald_platform::Built {
    let mut config = Config::from_env().expect("config");
    config.backend = Backend::Embedded {
        data_dir: dir.to_owned(),
    };
    build(&config).await.expect("embedded build")
}

#[tokio::test]
async fn an_upload_written_to_the_local_blob_store_reaches_the_transcoder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = local_deps(dir.path()).await;
    let deps = built.deps.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let transcoder = herald_local::hosts::transcoder(
        built.local_blobs.as_ref().unwrap(),
        deps.clone(),
        shutdown.clone(),
    );
    let ws = WorkspaceId::generate(1, 1);
    let photo = herald_app::media::image::synthetic_photo(800, 600, 1, 90);
    let media = MediaItem {
        id: MediaId::generate(1, 2),
        workspace: ws.clone(),
        filename: "team.jpg".into(),
        content_type: "image/jpeg".into(),
        size: photo.len() as u64,
        status: MediaStatus::Processing,
        renditions: vec![],
        error: None,
        created_at: chrono::Utc::now(),
        width: None,
        height: None,
        duration_seconds: None,
        progress: None,
        alt_text: None,
    };
    let key = keys::media(&ws, &media.id);
    deps.table
        .put(herald_app::media::media_record(&media), None)
        .await
        .unwrap();
    // Not an original: the notification filter passes it by.
    let other = format!("{ws}/media/{}/thumbnail", media.id);
    deps.blobs.put(&other, vec![1], "image/png").await.unwrap();
    let original = format!("{ws}/media/{}/original", media.id);
    deps.blobs
        .put(&original, photo.clone(), "image/jpeg")
        .await
        .unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let item = deps.table.get(&key).await.unwrap().unwrap();
            let m: MediaItem = from_json(&item).unwrap();
            if m.status != MediaStatus::Processing {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the transcoder handled the upload");
    assert_eq!(ready.status, MediaStatus::Ready, "{:?}", ready.error);
    assert_eq!((ready.width, ready.height), (Some(800), Some(600)));
    assert_eq!(ready.renditions.len(), 10, "{:?}", ready.renditions);
    for r in &ready.renditions {
        assert!(
            r.blob_key
                .starts_with(&format!("{ws}/media/{}/r/", media.id))
        );
        assert_eq!(deps.blobs.size(&r.blob_key).await.unwrap(), r.bytes);
    }
    shutdown.cancel();
    transcoder.await.unwrap();
}

#[tokio::test]
async fn an_event_leaves_the_outbox_only_once_the_aggregator_had_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = local_deps(dir.path()).await;
    let deps = built.deps.clone();
    let bus = built.local_bus.clone().unwrap();
    herald_local::hosts::aggregator(&bus, deps.clone());
    // A second consumer that records what it saw, standing in for webhook delivery.
    let seen = Arc::new(Mutex::new(Vec::<BusEvent>::new()));
    let record = seen.clone();
    let handler: Handler = Arc::new(move |e| {
        let record = record.clone();
        Box::pin(async move {
            record.lock().unwrap().push(e);
            Ok(())
        })
    });
    bus.add_rule("recorder", |_| true, handler);

    let ws = WorkspaceId::generate(1, 1);
    let now = chrono::Utc::now();
    let event = herald_app::events::record(
        &deps,
        &ws,
        EventKind::PostPublished(PostPublished {
            post: PostId::generate(1, 3),
            account: AccountId::generate(1, 4),
            platform: Platform::Sandbox,
            remote_id: "sbx_1".into(),
            url: None,
            published_at: now,
            scheduled_at: None,
        }),
        now,
    );
    deps.table.transact(vec![event]).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let relay = herald_local::hosts::relay(deps.clone(), stop.clone());
    let counters = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(item) = deps
                .table
                .get(&keys::metrics_day(&ws, now.date_naive()))
                .await
                .unwrap()
            {
                return item;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the relay on its own loop fed the aggregator");
    assert_eq!(counters.get("published").and_then(|v| v.as_n()), Some(1));
    stop.cancel();
    relay.await.unwrap();
    // Relayed once: the outbox is empty, and the consumer saw the event once.
    assert_eq!(herald_app::events::relay(&deps, 100).await.unwrap(), 0);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap()[0].kind, "post.published");
}
