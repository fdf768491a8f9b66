//! A video too long or too big for one network, through `herald serve`: the sandbox plays a
//! network with short limits (its test knobs) beside Mastodon (mastodon-mock, a Mastodon API
//! written by others, which takes the video). Composed with the video ready, the post is
//! refused naming the network, the limit and the video's own figure; composed while the
//! video is still processing, that network's target fails with the same reason at its time
//! and nothing is sent to it, while the other target publishes.

use crate::publish_media::{account, finished, in_seconds, target, upload, workspace};
use crate::support::{Options, Server, http, raw};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const ADMIN: &str = "video-limits-admin";
const MAX_SECONDS: u32 = 5;
const MAX_BYTES: u64 = 500_000;

/// The mastodon-mock the test run started, or a failure saying how to start it.
fn mastodon() -> (String, SocketAddr) {
    let Ok(url) = std::env::var("HERALD_MASTODON_URL") else {
        panic!(
            "HERALD_MASTODON_URL is not set: run the tests with the README's test command, \
             which starts mastodon-mock (`infra/services.sh start`)"
        );
    };
    let url = url.trim_end_matches('/').to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("HERALD_MASTODON_URL {url:?} is not http://127.0.0.1:PORT"));
    (url, addr)
}

/// A clip of `seconds` from an ffmpeg source: `color` (tiny, compresses to nothing) or
/// noise (every frame new: its renditions run at their full bitrate).
fn clip(dir: &Path, seconds: u32, noise: bool) -> Vec<u8> {
    let out = dir.join(format!("clip-{seconds}-{noise}.mp4"));
    let source = if noise {
        "nullsrc=s=640x360:r=30,geq=lum='random(1)*255':cb=128:cr=128".to_owned()
    } else {
        "color=c=teal:s=64x64:r=5".to_owned()
    };
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", &source, "-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (infra/apt.sh installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn ready(server: &Server, key: &str, id: &str) -> Value {
    let media = crate::media::settled(server, key, id, Duration::from_secs(120));
    assert_eq!(media["status"], "ready", "{media}");
    media
}

/// The rendition the sandbox gets: it has no profile of its own, so the largest there is.
fn sandbox_rendition(media: &Value) -> Value {
    media["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["profile"] != "thumbnail")
        .max_by_key(|r| r["bytes"].as_u64())
        .unwrap()
        .clone()
}

fn messages(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {problem}"))
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["field"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn outbox_len(server: &Server, key: &str, acct: &str) -> usize {
    let (_, outbox) = server.call("GET", &format!("/v1/sandbox/{acct}/outbox"), key, None);
    outbox["items"].as_array().unwrap().len()
}

#[test]
fn a_video_too_long_or_too_big_for_one_network_says_so_for_that_network_and_the_other_publishes() {
    let (masto_url, masto) = mastodon();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &Options::default()
            .env("HERALD_ALLOW_LOOPBACK", "1")
            .env("HERALD_SANDBOX_MAX_VIDEO_SECONDS", MAX_SECONDS)
            .env("HERALD_SANDBOX_MAX_VIDEO_BYTES", MAX_BYTES),
    );
    let key = workspace(&server, ADMIN);
    let sandbox = account(
        &server,
        &key,
        json!({"platform": "sandbox", "handle": "short"}),
    );
    let mastodon = account(
        &server,
        &key,
        json!({"platform": "mastodon", "handle": "demo",
               "credentials": {"instance": masto_url, "access_token": "any"}}),
    );

    // Too long, the video ready: refused at compose time, naming the sandbox alone.
    let long = clip(dir.path(), 12, false);
    let id = upload(&server, &key, "long.mp4", "video/mp4", &long, None);
    let media = ready(&server, &key, &id);
    let length = media["duration_seconds"].as_f64().unwrap();
    assert!((11.5..12.5).contains(&length), "{media}");
    let body = json!({"text": "Too long for one", "accounts": [sandbox, mastodon], "media": [id],
                      "scheduled_at": in_seconds(60)});
    let (status, problem) = server.call("POST", "/v1/posts", &key, Some(&body));
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        messages(&problem),
        [format!(
            "media: sandbox: a video is 12 s long, the limit is {MAX_SECONDS} s"
        )]
    );
    let window = format!(
        "/v1/posts?from={}&to={}",
        in_seconds(-3600),
        in_seconds(86_400)
    );
    let (_, posts) = server.call("GET", &window, &key, None);
    assert_eq!(posts["items"], json!([]), "nothing was kept: {posts}");
    // The same video to Mastodon alone is accepted and published, the video attached.
    let body = json!({"text": "Fine for Mastodon", "accounts": [mastodon], "media": [id],
                      "scheduled_at": in_seconds(2)});
    let (status, post) = server.call("POST", "/v1/posts", &key, Some(&body));
    assert_eq!(status, 201, "{post}");
    let view = finished(
        &server,
        &key,
        post["id"].as_str().unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(view["status"], "published", "{view}\n{}", server.log_text());
    let status_id = target(&view, &mastodon)["remote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, status) = http(
        masto,
        "GET",
        &format!("/api/v1/statuses/{status_id}"),
        Some("any"),
        None,
    )
    .unwrap();
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["media_attachments"][0]["type"], "video", "{status}");

    // Too long, composed while the video is still processing (the bytes not even sent yet):
    // taken on its type, then at its time the sandbox's target fails saying why and nothing
    // reaches the sandbox, while Mastodon's publishes.
    let (status, up) = server.call(
        "POST",
        "/v1/media/uploads",
        &key,
        Some(&json!({"filename": "later.mp4", "content_type": "video/mp4", "size": long.len()})),
    );
    assert_eq!(status, 201, "{up}");
    let later = up["id"].as_str().unwrap().to_owned();
    let body = json!({"text": "Both, while it processes", "accounts": [sandbox, mastodon],
                      "media": [later], "scheduled_at": in_seconds(3)});
    let (status, post) = server.call("POST", "/v1/posts", &key, Some(&body));
    assert_eq!(status, 201, "{post}");
    let (put, _, _) = raw(
        server.addr,
        "PUT",
        up["upload_url"].as_str().unwrap(),
        &[("Content-Type", "video/mp4")],
        &long,
    )
    .unwrap();
    assert_eq!(put, 200);
    let view = finished(
        &server,
        &key,
        post["id"].as_str().unwrap(),
        Duration::from_secs(90),
    );
    assert_eq!(
        view["status"],
        "partially_published",
        "{view}\n{}",
        server.log_text()
    );
    let failed = target(&view, &sandbox);
    assert_eq!(failed["status"], "failed", "{view}");
    assert_eq!(
        failed["error"],
        format!("sandbox: a video is 12 s long, the limit is {MAX_SECONDS} s"),
        "{view}"
    );
    assert_eq!(target(&view, &mastodon)["status"], "published", "{view}");
    assert_eq!(
        outbox_len(&server, &key, &sandbox),
        0,
        "nothing was sent to the sandbox"
    );

    // Too big in bytes (short enough): refused at compose time with both figures.
    let heavy = clip(dir.path(), 3, true);
    let id = upload(&server, &key, "heavy.mp4", "video/mp4", &heavy, None);
    let media = ready(&server, &key, &id);
    let rendition = sandbox_rendition(&media);
    let bytes = rendition["bytes"].as_u64().unwrap();
    assert!(
        bytes > MAX_BYTES,
        "the clip must outgrow the limit: {rendition}"
    );
    let body = json!({"text": "Too big for one", "accounts": [sandbox, mastodon], "media": [id],
                      "scheduled_at": in_seconds(60)});
    let (status, problem) = server.call("POST", "/v1/posts", &key, Some(&body));
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        messages(&problem),
        [format!(
            "media: sandbox: a file is {bytes} bytes, the limit is {MAX_BYTES}"
        )]
    );
    let body = json!({"text": "Heavy but fine", "accounts": [mastodon], "media": [id],
                      "scheduled_at": in_seconds(60)});
    let (status, post) = server.call("POST", "/v1/posts", &key, Some(&body));
    assert_eq!(status, 201, "Mastodon takes it: {post}");
}

#[test]
fn a_sandbox_video_limit_that_is_not_a_number_stops_the_server_at_start_naming_the_knob() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("HERALD_SANDBOX_MAX_VIDEO_SECONDS", "five")
        .env("HERALD_ADMIN_KEY", ADMIN)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with a bad knob");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("HERALD_SANDBOX_MAX_VIDEO_SECONDS"), "{said}");
}
