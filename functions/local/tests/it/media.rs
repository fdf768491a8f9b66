//! Media through `herald serve` as a client sees it: ask for an upload URL, PUT the bytes
//! there, read the item until it is ready or failed, fetch each rendition by its URL.

use crate::support::{Options, Server, raw};
use herald_app::media::image::synthetic_photo;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ADMIN: &str = "media-admin";

fn workspace(server: &Server) -> String {
    let (status, ws) = server.call(
        "POST",
        "/v1/workspaces",
        ADMIN,
        Some(&json!({"name": "media"})),
    );
    assert_eq!(status, 201, "{ws}");
    ws["api_key"].as_str().expect("api_key").to_owned()
}

/// Asks for an upload of `announced` bytes and PUTs `bytes`; answers the id and the PUT's
/// status.
fn upload(
    server: &Server,
    key: &str,
    name: &str,
    ct: &str,
    announced: usize,
    bytes: &[u8],
) -> (String, u16) {
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        key,
        Some(&json!({"filename": name, "content_type": ct, "size": announced})),
    );
    assert_eq!(status, 201, "{up}");
    let url = up["upload_url"].as_str().expect("upload_url");
    let (put, _, body) =
        raw(server.addr, "PUT", url, &[("Content-Type", ct)], bytes).expect("PUT the upload");
    assert!(
        put == 200 || put >= 400,
        "{}",
        String::from_utf8_lossy(&body)
    );
    (up["id"].as_str().unwrap().to_owned(), put)
}

pub(crate) fn settled(server: &Server, key: &str, id: &str, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let (status, media) = server.call("GET", &format!("/v1/media/{id}"), key, None);
        assert_eq!(status, 200, "{media}");
        if media["status"] != "processing" {
            return media;
        }
        assert!(
            start.elapsed() < within,
            "still processing after {within:?}: {media}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// An EXIF segment stating orientation 6 (the phone was held upright: turn 90° clockwise),
/// followed by text standing for the GPS position a phone writes there.
pub(crate) fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"GPSLatitude 48.858370 N GPSLongitude 2.294481 E");
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub(crate) fn mean(
    img: &image::RgbImage,
    channel: usize,
    xs: std::ops::Range<u32>,
    ys: std::ops::Range<u32>,
) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for y in ys {
        for x in xs.clone() {
            sum += f64::from(img.get_pixel(x, y)[channel]);
            n += 1.0;
        }
    }
    sum / n
}

#[test]
fn a_12_mp_phone_photo_becomes_upright_metadata_free_renditions_for_every_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let key = workspace(&server);
    let photo = with_exif(&synthetic_photo(4000, 3000, 3, 90));
    assert!(photo.windows(11).any(|w| w == b"GPSLatitude"));
    let sent = Instant::now();
    let (id, put) = upload(
        &server,
        &key,
        "IMG_0001.HEIC.jpg",
        "image/jpeg",
        photo.len(),
        &photo,
    );
    assert_eq!(put, 200);
    let media = settled(&server, &key, &id, Duration::from_secs(30));
    let took = sent.elapsed();
    assert_eq!(media["status"], "ready", "{media}");
    // Upright: the phone's 4000×3000 sensor image, turned, is 3000×4000.
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(3000), Some(4000))
    );
    let renditions = media["renditions"].as_array().expect("renditions");
    let profiles: Vec<&str> = renditions
        .iter()
        .filter_map(|r| r["profile"].as_str())
        .collect();
    assert_eq!(
        profiles,
        [
            "instagram-feed",
            "x",
            "linkedin",
            "facebook",
            "pinterest",
            "threads",
            "bluesky",
            "mastodon",
            "tiktok",
            "thumbnail"
        ]
    );
    for r in renditions {
        let (status, head, bytes) =
            raw(server.addr, "GET", r["url"].as_str().unwrap(), &[], &[]).expect("GET rendition");
        assert_eq!(status, 200, "{r}");
        assert!(head.contains("content-type: image/jpeg"), "{head}");
        assert_eq!(bytes.len() as u64, r["bytes"].as_u64().unwrap(), "{r}");
        for secret in [&b"Exif"[..], b"GPSLatitude", b"48.858370"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{}: metadata kept",
                r["profile"]
            );
        }
        let img = image::load_from_memory(&bytes).expect("a JPEG").to_rgb8();
        assert_eq!(
            (u64::from(img.width()), u64::from(img.height())),
            (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap())
        );
        // The test image's red rises along the sensor's x, its green along the sensor's y:
        // turned clockwise, red rises top to bottom and green right to left.
        let (w, h) = img.dimensions();
        let band = (h / 10).max(1);
        assert!(
            mean(&img, 0, 0..w, 0..band) + 20.0 < mean(&img, 0, 0..w, h - band..h),
            "{}: not upright",
            r["profile"]
        );
        let band = (w / 10).max(1);
        assert!(
            mean(&img, 1, w - band..w, 0..h) + 20.0 < mean(&img, 1, 0..band, 0..h),
            "{}: mirrored",
            r["profile"]
        );
        let max = match r["profile"].as_str().unwrap() {
            "bluesky" => 999_999,
            "thumbnail" => 200 * 1024,
            _ => 4 * 1024 * 1024,
        };
        assert!(
            bytes.len() <= max,
            "{} is {} bytes",
            r["profile"],
            bytes.len()
        );
    }
    let by = |name: &str| renditions.iter().find(|r| r["profile"] == name).unwrap();
    assert_eq!(
        (
            by("instagram-feed")["width"].as_u64(),
            by("instagram-feed")["height"].as_u64()
        ),
        (Some(1440), Some(1800))
    );
    assert_eq!(
        (
            by("pinterest")["width"].as_u64(),
            by("pinterest")["height"].as_u64()
        ),
        (Some(1000), Some(1500))
    );
    eprintln!("12 MP upload to ready (debug build, with the PUT): {took:?}");
}

#[test]
fn bad_uploads_fail_with_a_reason_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let key = workspace(&server);
    let photo = synthetic_photo(640, 480, 5, 90);

    // Not an image, whatever its name says.
    let text = b"<html><body>definitely not a photo</body></html>".to_vec();
    let (id, _) = upload(
        &server,
        &key,
        "holiday.jpg",
        "image/jpeg",
        text.len(),
        &text,
    );
    let m = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(m["status"], "failed", "{m}");
    assert!(
        m["error"].as_str().unwrap().contains("none of the types"),
        "{m}"
    );
    assert_eq!(m["renditions"], json!([]));

    // Cut short half-way.
    let cut = &photo[..photo.len() / 2];
    let (id, _) = upload(&server, &key, "cut.jpg", "image/jpeg", cut.len(), cut);
    let m = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(m["status"], "failed", "{m}");
    assert!(
        m["error"]
            .as_str()
            .unwrap()
            .contains("damaged or cut short"),
        "{m}"
    );

    // A decompression bomb: a small file whose header declares 60,000×60,000 pixels.
    let mut bomb = photo.clone();
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let started = Instant::now();
    let (id, _) = upload(&server, &key, "bomb.jpg", "image/jpeg", bomb.len(), &bomb);
    let m = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(m["status"], "failed", "{m}");
    assert!(m["error"].as_str().unwrap().contains("60000×60000"), "{m}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the bomb was decoded"
    );

    // More bytes than announced: refused at the PUT, nothing stored, the item waits.
    let (id, put) = upload(&server, &key, "big.jpg", "image/jpeg", 100, &photo);
    assert_eq!(put, 413);
    std::thread::sleep(Duration::from_millis(300));
    let (_, m) = server.call("GET", &format!("/v1/media/{id}"), &key, None);
    assert_eq!(m["status"], "processing", "{m}");
    assert!(
        !walk(&dir.path().join("data"))
            .iter()
            .any(|p| p.to_string_lossy().contains(&id))
    );

    // A forged URL stores nothing either.
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        &key,
        Some(&json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": photo.len()})),
    );
    assert_eq!(status, 201);
    let forged = up["upload_url"]
        .as_str()
        .unwrap()
        .replace("signature=", "signature=00");
    let (status, _, _) = raw(
        server.addr,
        "PUT",
        &forged,
        &[("Content-Type", "image/jpeg")],
        &photo,
    )
    .unwrap();
    assert_eq!(status, 403);
    let honest = up["upload_url"].as_str().unwrap();
    let (status, _, _) = raw(
        server.addr,
        "PUT",
        honest,
        &[("Content-Type", "text/html")],
        &photo,
    )
    .unwrap();
    assert_eq!(status, 403, "a URL signed for one type takes no other");

    // An announcement Herald cannot take is refused before any URL is made.
    for (body, field) in [
        (
            json!({"filename": "a.exe", "content_type": "application/x-msdownload", "size": 10}),
            "content_type",
        ),
        (
            json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}),
            "size",
        ),
        (
            json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 1u64 << 40}),
            "size",
        ),
        (
            json!({"filename": "../../etc/passwd", "content_type": "image/jpeg", "size": 10}),
            "filename",
        ),
    ] {
        let (status, problem) = server.call("POST", "/v1/media/uploads", &key, Some(&body));
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    // And a good photo still goes through afterwards.
    let (id, _) = upload(&server, &key, "fine.jpg", "image/jpeg", photo.len(), &photo);
    let m = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(m["status"], "ready", "{m}");
    let (status, health) = server.call("GET", "/healthz", &key, None);
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
}

#[test]
fn an_upload_that_landed_while_the_server_was_down_is_transcoded_at_the_next_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data, dir.path(), 1, Some(ADMIN));
    let key = workspace(&server);
    let photo = synthetic_photo(320, 240, 9, 90);
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        &key,
        Some(&json!({"filename": "late.jpg", "content_type": "image/jpeg", "size": photo.len()})),
    );
    assert_eq!(status, 201);
    let id = up["id"].as_str().unwrap().to_owned();
    server.kill();
    // The bytes land while nothing runs (as a PUT finishing just as the server was killed).
    let url = up["upload_url"].as_str().unwrap();
    let blob_key = url
        .split("/blobs/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let path = data.join("blobs/objects").join(blob_key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &photo).unwrap();
    let server = Server::start(&data, dir.path(), 2, Some(ADMIN));
    let m = settled(&server, &key, &id, Duration::from_secs(10));
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(m["renditions"].as_array().map(Vec::len), Some(10), "{m}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// A peer on loopback answering every GET with `status`, `headers` and `body`, or (with
/// `redirect`) a 302 there; stops with the test.
fn peer(status: u16, headers: &'static str, body: Vec<u8>) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            });
        }
    });
    addr
}

fn import(server: &Server, key: &str, url: &str) -> (u16, Value) {
    server.call(
        "POST",
        "/v1/media/imports",
        key,
        Some(&json!({ "url": url })),
    )
}

#[test]
fn an_imported_photo_becomes_renditions_and_bad_imports_fail_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options::default().env("HERALD_ALLOW_LOOPBACK", "1");
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &options,
    );
    let key = workspace(&server);

    let photo = with_exif(&synthetic_photo(1600, 1200, 3, 90));
    let good = peer(200, "Content-Type: image/jpeg\r\n", photo.clone());
    let (status, answer) = import(&server, &key, &format!("http://{good}/shots/IMG_7.jpg"));
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().expect("id").to_owned();
    let media = settled(&server, &key, &id, Duration::from_secs(30));
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(media["filename"], "IMG_7.jpg");
    assert_eq!(media["size"], photo.len() as u64);
    // Upright (orientation 6 turns 1600×1200 into 1200×1600) and metadata-free.
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(1200), Some(1600))
    );
    let renditions = media["renditions"].as_array().expect("renditions");
    assert!(renditions.len() >= 9, "{media}");
    let url = renditions[0]["url"].as_str().unwrap();
    let (status, _, bytes) = raw(server.addr, "GET", url, &[], b"").expect("GET a rendition");
    assert_eq!(status, 200);
    assert!(!bytes.windows(11).any(|w| w == b"GPSLatitude"));

    // Refused at once, nothing kept: a private address, a metadata address, no URL at all.
    for (url, says) in [
        ("https://10.1.2.3/a.jpg", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("ftp://example.com/a.jpg", "https"),
        ("", "url"),
    ] {
        let (status, problem) = import(&server, &key, url);
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "url", "{problem}");
        assert!(problem.to_string().contains(says), "{url}: {problem}");
    }

    // Accepted, then failed with the reason: a redirect to a private address, a page that is
    // not an image, a 404, a truncated JPEG.
    let to_private = peer(302, "Location: https://192.168.1.1/x.jpg\r\n", Vec::new());
    let html = peer(
        200,
        "Content-Type: image/jpeg\r\n",
        b"<html>not a photo</html>".to_vec(),
    );
    let missing = peer(404, "", Vec::new());
    let truncated = peer(200, "", photo[..photo.len() / 3].to_vec());
    for (addr, says) in [
        (to_private, "192.168.1.1 is a private address"),
        (html, "none of the types Herald takes"),
        (missing, "the server answered 404"),
        (truncated, ""),
    ] {
        let (status, answer) = import(&server, &key, &format!("http://{addr}/p.jpg"));
        assert_eq!(status, 202, "{answer}");
        let id = answer["id"].as_str().unwrap();
        let media = settled(&server, &key, id, Duration::from_secs(30));
        assert_eq!(media["status"], "failed", "{media}");
        assert!(
            media["error"].as_str().unwrap().contains(says),
            "{says}: {media}"
        );
        assert_eq!(media["renditions"], json!([]), "{media}");
    }
    let (status, _) = server.call("GET", "/healthz", &key, None);
    assert_eq!(status, 200, "the server stays healthy");
}

#[test]
fn a_csv_rows_media_url_is_imported_and_published_with_its_post() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options::default().env("HERALD_ALLOW_LOOPBACK", "1");
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &options,
    );
    let key = workspace(&server);
    let (status, acct) = server.call(
        "POST",
        "/v1/accounts",
        &key,
        Some(&json!({"platform": "sandbox", "handle": "csv"})),
    );
    assert_eq!(status, 201, "{acct}");
    let acct = acct["id"].as_str().unwrap();
    let photo = synthetic_photo(1200, 900, 5, 85);
    let from = peer(200, "Content-Type: image/jpeg\r\n", photo);
    // Due in a few seconds: the post waits for its import if the fetch is slower than that.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let csv =
        format!("text,accounts,scheduled_at,media_url\nspring,{acct},{at},http://{from}/s.jpg\n");
    let auth = format!("Bearer {key}");
    let (status, report) = crate::support::http_raw(
        server.addr,
        "POST",
        "/v1/posts/import",
        &[("Authorization", &auth), ("Content-Type", "text/csv")],
        csv.as_bytes(),
    )
    .expect("import");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["refused"], json!([]), "{report}");
    let post = report["created"][0].as_str().expect("a post").to_owned();
    let (_, view) = server.call("GET", &format!("/v1/posts/{post}"), &key, None);
    let media_id = view["media"][0]
        .as_str()
        .expect("the import is attached")
        .to_owned();
    let start = Instant::now();
    let received = loop {
        let (_, outbox) = server.call("GET", &format!("/v1/sandbox/{acct}/outbox"), &key, None);
        if let Some(item) = outbox["items"].as_array().and_then(|i| i.first()) {
            break item.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not published: {view}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(received["text"], "spring");
    let media = settled(&server, &key, &media_id, Duration::from_secs(5));
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(media["filename"], "s.jpg");
    assert_eq!(
        received["media"].as_array().map(Vec::len),
        Some(1),
        "the sandbox got the imported photo: {received}"
    );
}

#[test]
fn without_loopback_allowed_an_import_from_this_machine_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let key = workspace(&server);
    let addr = peer(200, "", vec![0xFF, 0xD8, 0xFF]);
    // A literal loopback address is refused at once.
    let (status, problem) = import(&server, &key, &format!("http://{addr}/a.jpg"));
    assert_eq!(status, 422, "{problem}");
    assert!(problem.to_string().contains("loopback"), "{problem}");
    // `localhost` is a name: refused when it resolves, so its item fails saying why.
    let url = format!("https://localhost:{}/a.jpg", addr.port());
    let (status, answer) = import(&server, &key, &url);
    assert_eq!(status, 202, "{answer}");
    let media = settled(
        &server,
        &key,
        answer["id"].as_str().unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(media["status"], "failed", "{media}");
    assert!(
        media["error"].as_str().unwrap().contains("loopback"),
        "{media}"
    );
}
