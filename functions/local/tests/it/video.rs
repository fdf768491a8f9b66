//! Video through `herald serve`: an upload is probed and made into H.264/AAC MP4 renditions
//! (9:16, 1:1 and its own shape), a poster thumbnail, its metadata stripped, progress shown
//! while it works; a file that is no video fails with ffmpeg's reason; a scheduled post with
//! the video publishes to the sandbox with its rendition.

use crate::support::{Options, Server, raw};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ADMIN: &str = "video-admin";

/// A clip made by ffmpeg itself: a test pattern and a tone, with a GPS position in its
/// metadata as a phone writes one.
pub(crate) fn clip(dir: &Path, seconds: u32, size: &str) -> Vec<u8> {
    let out = dir.join(format!("clip-{seconds}-{size}.mp4"));
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate=30"),
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t",
            &seconds.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .args(["-c:a", "aac", "-shortest"])
        .args(["-metadata", "location=+48.8584+002.2945/"])
        .args(["-metadata", "title=Secret launch"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (infra/apt.sh installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn workspace(server: &Server) -> String {
    let (status, ws) = server.call("POST", "/v1/workspaces", ADMIN, Some(&json!({"name": "v"})));
    assert_eq!(status, 201, "{ws}");
    ws["api_key"].as_str().unwrap().to_owned()
}

fn upload(server: &Server, key: &str, bytes: &[u8]) -> String {
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        key,
        Some(&json!({"filename": "launch.mp4", "content_type": "video/mp4", "size": bytes.len()})),
    );
    assert_eq!(status, 201, "{up}");
    let url = up["upload_url"].as_str().unwrap();
    let (put, _, _) = raw(
        server.addr,
        "PUT",
        url,
        &[("Content-Type", "video/mp4")],
        bytes,
    )
    .expect("PUT the upload");
    assert_eq!(put, 200);
    up["id"].as_str().unwrap().to_owned()
}

/// Reads the item until it settles; answers it and every progress figure seen on the way.
fn settled(server: &Server, key: &str, id: &str) -> (Value, Vec<u64>) {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let (_, media) = server.call("GET", &format!("/v1/media/{id}"), key, None);
        if let Some(p) = media["progress"].as_u64() {
            seen.push(p);
        }
        if media["status"] != "processing" {
            return (media, seen);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "still processing: {media}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn probe(bytes: &[u8], dir: &Path) -> Value {
    let path = dir.join(format!("probe-{}.mp4", bytes.len()));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(&path)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_video_becomes_h264_renditions_in_three_shapes_with_a_poster_and_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &Options::default(),
    );
    let key = workspace(&server);
    let bytes = clip(dir.path(), 8, "1280x720");
    let id = upload(&server, &key, &bytes);
    let (media, progress) = settled(&server, &key, &id);
    assert_eq!(media["status"], "ready", "{media}");
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let length = media["duration_seconds"].as_f64().unwrap();
    assert!((7.5..8.5).contains(&length), "{media}");
    assert!(
        progress.iter().any(|p| (1..100).contains(p)),
        "progress was shown while it worked: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    let renditions = media["renditions"].as_array().unwrap();
    let shape = |profile: &str| {
        let r = renditions
            .iter()
            .find(|r| r["profile"] == profile)
            .unwrap_or_else(|| panic!("{profile}: {media}"));
        (
            r["width"].as_u64().unwrap(),
            r["height"].as_u64().unwrap(),
            r["content_type"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        shape("tiktok"),
        (404, 720, "video/mp4".into()),
        "9:16 from the centre"
    );
    assert_eq!(shape("linkedin"), (720, 720, "video/mp4".into()));
    assert_eq!(shape("x"), (1280, 720, "video/mp4".into()));
    assert_eq!(shape("thumbnail").2, "image/jpeg");
    // Three encodes for nine networks: those that agree share a file.
    let files: std::collections::BTreeSet<&str> = renditions
        .iter()
        .map(|r| r["url"].as_str().unwrap().split('?').next().unwrap())
        .collect();
    assert_eq!(files.len(), 4, "three videos and the poster: {files:?}");
    let vertical = renditions
        .iter()
        .find(|r| r["profile"] == "tiktok")
        .unwrap();
    let (status, _, mp4) = raw(
        server.addr,
        "GET",
        vertical["url"].as_str().unwrap(),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(mp4.len() as u64, vertical["bytes"].as_u64().unwrap());
    let p = probe(&mp4, dir.path());
    let codecs: Vec<&str> = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["h264", "aac"], "{p}");
    assert!(
        p["format"]["tags"]["location"].is_null() && p["format"]["tags"]["title"].is_null(),
        "metadata stripped: {p}"
    );
    assert!(
        !mp4.windows(7).any(|w| w == b"48.8584"),
        "no GPS position anywhere in the file"
    );
    // faststart: the index (moov) before the frames (mdat).
    let at = |tag: &[u8]| mp4.windows(4).position(|w| w == tag).unwrap();
    assert!(at(b"moov") < at(b"mdat"), "moov first");

    // A post with the video, due in two seconds, reaches the sandbox with its rendition.
    let (_, acct) = server.call(
        "POST",
        "/v1/accounts",
        &key,
        Some(&json!({"platform": "sandbox", "handle": "v"})),
    );
    let acct = acct["id"].as_str().unwrap().to_owned();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, post) = server.call(
        "POST",
        "/v1/posts",
        &key,
        Some(
            &json!({"text": "Launch video", "accounts": [acct], "media": [id], "scheduled_at": at}),
        ),
    );
    assert_eq!(status, 201, "{post}");
    let start = Instant::now();
    loop {
        let (_, outbox) = server.call("GET", &format!("/v1/sandbox/{acct}/outbox"), &key, None);
        if let Some(item) = outbox["items"].as_array().and_then(|i| i.first()) {
            assert_eq!(item["media"], json!([id]), "{item}");
            // The file it got is a rendition (the largest: the sandbox has no profile of its
            // own), an H.264 MP4 of the clip's length, not the upload.
            let file = &item["files"][0];
            let expected = renditions
                .iter()
                .filter(|r| r["profile"] != "thumbnail")
                .max_by_key(|r| r["bytes"].as_u64())
                .unwrap();
            assert_eq!(file["content_type"], "video/mp4", "{item}");
            assert_eq!(
                (&file["bytes"], &file["width"], &file["height"]),
                (&expected["bytes"], &expected["width"], &expected["height"]),
                "{item}\n{media}"
            );
            assert_ne!(
                file["bytes"],
                json!(bytes.len()),
                "the upload itself was sent"
            );
            let seconds = file["duration_seconds"].as_f64().unwrap();
            assert!((7.5..8.5).contains(&seconds), "{item}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not published\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_file_that_only_looks_like_a_video_fails_with_the_reason_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let key = workspace(&server);
    // An MP4's first box, then noise: sniffed as a video, unreadable to ffmpeg.
    let mut fake = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    fake.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let id = upload(&server, &key, &fake);
    let (media, _) = settled(&server, &key, &id);
    assert_eq!(media["status"], "failed", "{media}");
    let error = media["error"].as_str().unwrap();
    assert!(error.contains("video"), "{error}");
    // A real clip cut short: also refused, not hung.
    let whole = clip(dir.path(), 3, "640x360");
    let id = upload(&server, &key, &whole[..whole.len() / 4]);
    let (media, _) = settled(&server, &key, &id);
    assert_ne!(media["status"], "processing", "{media}");
    let (status, _) = server.call("GET", "/healthz", &key, None);
    assert_eq!(status, 200);
}
