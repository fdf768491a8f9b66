//! A scheduled post with media, through `herald serve`, reaches each network with that
//! network's own rendition: a 12 MP phone photo on the real Bluesky PDS (read back from the
//! PDS's own repo and blob store) and on the sandbox, which records the file it got.

use crate::media::{mean, settled, with_exif};
use crate::support::{Options, Server, http, raw};
use herald_app::media::image::synthetic_photo;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ADMIN: &str = "publish-media-admin";
const ALT: &str = "The tower at dusk, seen from the river";

/// The real PDS the test run started, or a failure saying how to start it: a run without it
/// must not pass by skipping the one test that talks to a real network.
fn pds() -> (String, SocketAddr) {
    let Ok(url) = std::env::var("HERALD_PDS_URL") else {
        panic!(
            "HERALD_PDS_URL is not set: run the tests with the README's test command, which \
             starts the local PDS (`infra/services.sh start`)"
        );
    };
    let url = url.trim_end_matches('/').to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("HERALD_PDS_URL {url:?} is not http://127.0.0.1:PORT"));
    (url, addr)
}

fn xrpc_post(pds: SocketAddr, nsid: &str, token: Option<&str>, body: &Value) -> Value {
    let (status, answer) = http(pds, "POST", &format!("/xrpc/{nsid}"), token, Some(body))
        .unwrap_or_else(|e| panic!("{nsid}: the PDS did not answer: {e}"));
    assert_eq!(status, 200, "{nsid}: {answer}");
    answer
}

/// A fresh PDS account and an app password for Herald.
fn pds_account(pds: SocketAddr) -> (String, String, String) {
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let handle = format!("m{}.test", &unique[unique.len() - 10..]);
    let created = xrpc_post(
        pds,
        "com.atproto.server.createAccount",
        None,
        &json!({"handle": handle, "email": format!("{handle}@example.com"), "password": "correct-horse"}),
    );
    let did = created["did"].as_str().unwrap().to_owned();
    let password = xrpc_post(
        pds,
        "com.atproto.server.createAppPassword",
        created["accessJwt"].as_str(),
        &json!({"name": "herald"}),
    )["password"]
        .as_str()
        .unwrap()
        .to_owned();
    (handle, did, password)
}

pub(crate) fn workspace(server: &Server, admin: &str) -> String {
    let (status, ws) = server.call("POST", "/v1/workspaces", admin, Some(&json!({"name": "m"})));
    assert_eq!(status, 201, "{ws}");
    ws["api_key"].as_str().unwrap().to_owned()
}

/// Announces and PUTs an upload with its alt text; answers the item's id.
pub(crate) fn upload(
    server: &Server,
    key: &str,
    name: &str,
    ct: &str,
    bytes: &[u8],
    alt: Option<&str>,
) -> String {
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        key,
        Some(&json!({"filename": name, "content_type": ct, "size": bytes.len(), "alt_text": alt})),
    );
    assert_eq!(status, 201, "{up}");
    let (put, _, body) = raw(
        server.addr,
        "PUT",
        up["upload_url"].as_str().unwrap(),
        &[("Content-Type", ct)],
        bytes,
    )
    .expect("PUT the upload");
    assert_eq!(put, 200, "{}", String::from_utf8_lossy(&body));
    up["id"].as_str().unwrap().to_owned()
}

pub(crate) fn account(server: &Server, key: &str, body: Value) -> String {
    let (status, acct) = server.call("POST", "/v1/accounts", key, Some(&body));
    assert_eq!(status, 201, "{acct}");
    acct["id"].as_str().unwrap().to_owned()
}

pub(crate) fn in_seconds(s: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(s))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads the post until it leaves `scheduled`/`publishing`; answers it.
pub(crate) fn finished(server: &Server, key: &str, post: &str, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let (status, view) = server.call("GET", &format!("/v1/posts/{post}"), key, None);
        assert_eq!(status, 200, "{view}");
        let s = view["status"].as_str().unwrap_or_default();
        if !matches!(s, "scheduled" | "publishing") {
            return view;
        }
        assert!(
            start.elapsed() < within,
            "still {s} after {within:?}: {view}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn target<'a>(view: &'a Value, account: &str) -> &'a Value {
    view["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["account"] == account)
        .unwrap_or_else(|| panic!("no target for {account}: {view}"))
}

/// The one post the sandbox account received.
pub(crate) fn received(server: &Server, key: &str, acct: &str) -> Value {
    let (status, outbox) = server.call("GET", &format!("/v1/sandbox/{acct}/outbox"), key, None);
    assert_eq!(status, 200, "{outbox}");
    let items = outbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{outbox}");
    items[0].clone()
}

#[test]
fn a_scheduled_phone_photo_reaches_the_real_pds_as_the_bluesky_rendition_and_the_sandbox_as_its_own()
 {
    let (pds_url, pds) = pds();
    let (handle, did, app_password) = pds_account(pds);
    let dir = tempfile::tempdir().unwrap();
    // The PDS is on loopback: allowed for this server only.
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &Options::default().env("HERALD_ALLOW_LOOPBACK", "1"),
    );
    let key = workspace(&server, ADMIN);

    // A 12 MP phone photo: sensor 4000×3000, EXIF orientation 6, a GPS position.
    let photo = with_exif(&synthetic_photo(4000, 3000, 3, 90));
    assert!(
        photo.len() > 1_000_000,
        "the original alone would not fit a blob"
    );
    let id = upload(
        &server,
        &key,
        "IMG_0042.jpg",
        "image/jpeg",
        &photo,
        Some(ALT),
    );
    let media = settled(&server, &key, &id, Duration::from_secs(30));
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(media["alt_text"], ALT, "{media}");
    let renditions = media["renditions"].as_array().unwrap().clone();
    let bluesky = renditions
        .iter()
        .find(|r| r["profile"] == "bluesky")
        .expect("a bluesky rendition");

    let bsky = account(
        &server,
        &key,
        json!({"platform": "bluesky", "handle": handle,
               "credentials": {"service": pds_url, "identifier": handle, "app_password": app_password}}),
    );
    let sandbox = account(
        &server,
        &key,
        json!({"platform": "sandbox", "handle": "studio"}),
    );
    let text = format!("Dusk at the tower {}", &id[id.len() - 6..]);
    let at = in_seconds(3);
    let (status, post) = server.call(
        "POST",
        "/v1/posts",
        &key,
        Some(
            &json!({"text": text, "accounts": [bsky, sandbox], "media": [id], "scheduled_at": at}),
        ),
    );
    assert_eq!(status, 201, "{post}");
    let post_id = post["id"].as_str().unwrap();
    let (_, early) = server.call("GET", &format!("/v1/posts/{post_id}"), &key, None);
    assert_eq!(
        early["status"], "scheduled",
        "nothing goes out before its time: {early}"
    );

    let view = finished(&server, &key, post_id, Duration::from_secs(60));
    assert_eq!(view["status"], "published", "{view}\n{}", server.log_text());
    let published_at = chrono::DateTime::parse_from_rfc3339(
        target(&view, &bsky)["published_at"].as_str().unwrap(),
    )
    .unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
    assert!(
        published_at >= due,
        "published at {published_at}, due {due}"
    );

    // Read back from the PDS itself: the record, then its blob.
    let uri = target(&view, &bsky)["remote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        uri.starts_with(&format!("at://{did}/app.bsky.feed.post/")),
        "{uri}"
    );
    let rkey = uri.rsplit('/').next().unwrap();
    let (status, got) = http(
        pds,
        "GET",
        &format!(
            "/xrpc/com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}"
        ),
        None,
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{got}");
    let record = &got["value"];
    assert_eq!(record["text"], text);
    let images = record["embed"]["images"]
        .as_array()
        .expect("an image embed");
    assert_eq!(images.len(), 1, "{record}");
    let image = &images[0];
    assert_eq!(image["alt"], ALT, "the alt text reached the network");
    assert_eq!(image["image"]["mimeType"], "image/jpeg");
    assert_eq!(image["image"]["size"], bluesky["bytes"], "{record}");
    assert_eq!(
        image["aspectRatio"],
        json!({"width": bluesky["width"], "height": bluesky["height"]})
    );
    let cid = image["image"]["ref"]["$link"].as_str().unwrap();
    let (status, head, blob) = raw(
        pds,
        "GET",
        &format!("/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(blob.len() < 1_000_000, "the blob is {} bytes", blob.len());
    assert_eq!(blob.len() as u64, bluesky["bytes"].as_u64().unwrap());
    for secret in [&b"Exif"[..], b"GPSLatitude", b"48.858370"] {
        assert!(
            !blob.windows(secret.len()).any(|w| w == secret),
            "the PDS holds the photo's metadata ({})",
            String::from_utf8_lossy(secret)
        );
    }
    let img = image::load_from_memory(&blob).expect("a JPEG").to_rgb8();
    // Upright: 3000×4000 into Bluesky's 2000 box.
    assert_eq!(img.dimensions(), (1500, 2000));
    let (w, h) = img.dimensions();
    assert!(
        mean(&img, 0, 0..w, 0..h / 10) + 20.0 < mean(&img, 0, 0..w, h - h / 10..h),
        "not upright"
    );
    assert!(
        mean(&img, 1, w - w / 10..w, 0..h) + 20.0 < mean(&img, 1, 0..w / 10, 0..h),
        "mirrored"
    );

    // The sandbox got the rendition Herald picks for it (it has no profile of its own: the
    // largest network rendition), never the original.
    let got = received(&server, &key, &sandbox);
    assert_eq!(got["text"], text);
    assert_eq!(got["media"], json!([id]));
    let file = &got["files"][0];
    let expected = renditions
        .iter()
        .filter(|r| r["profile"] != "thumbnail")
        .max_by_key(|r| r["bytes"].as_u64())
        .unwrap();
    assert_eq!(
        (
            &file["content_type"],
            &file["bytes"],
            &file["width"],
            &file["height"]
        ),
        (
            &expected["content_type"],
            &expected["bytes"],
            &expected["width"],
            &expected["height"]
        ),
        "{got}\n{media}"
    );
    assert_ne!(file["bytes"], json!(photo.len()), "the original was sent");
    assert!(file["height"].as_u64().unwrap() <= 2048, "{file}");
    assert_eq!(file["alt_text"], ALT);
}

#[test]
fn an_alt_text_that_is_too_long_or_carries_control_characters_is_refused_at_the_announcement() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let key = workspace(&server, ADMIN);
    for alt in ["x".repeat(1001), "bell\u{7}".to_owned()] {
        let (status, problem) = server.call(
            "POST",
            "/v1/media/uploads",
            &key,
            Some(&json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "alt_text": alt})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "alt_text", "{problem}");
    }
    // At the limit, with a line break, it is kept as written.
    let alt = format!("{}\n{}", "a".repeat(500), "b".repeat(499));
    let photo = synthetic_photo(320, 240, 1, 90);
    let id = upload(&server, &key, "a.jpg", "image/jpeg", &photo, Some(&alt));
    let media = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(media["alt_text"], alt.as_str());
}
