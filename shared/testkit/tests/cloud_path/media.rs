//! A media import through the intake and transcoder binaries on moto: the order intake writes
//! to S3, S3's notification of it (to a queue here, with the template's key filters) reaching
//! the transcoder, which fetches the URL into the item's original, whose own notification
//! makes the renditions; a fetch that fails leaves the item failed with the reason. Then a
//! video upload made into its renditions by the transcoder binary with ffmpeg.

use crate::cloud::Cloud;
use crate::{READY_WITHIN, call, workspace};
use serde_json::{Value, json};

/// A peer on loopback answering every request with `status` and `body`; stops with the test.
fn peer(status: u16, body: Vec<u8>) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    addr
}

/// Where this machine's ffmpeg is (infra/apt.sh installs Debian's).
fn ffmpeg_dir() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v ffmpeg"])
        .output()
        .expect("sh");
    let path = String::from_utf8(out.stdout).expect("a path");
    let path = std::path::Path::new(path.trim());
    path.parent()
        .expect("ffmpeg on the PATH")
        .display()
        .to_string()
}

/// A 3 s 640×360 clip with sound, made by ffmpeg.
fn clip() -> Vec<u8> {
    let out = std::env::temp_dir().join(format!("herald-cloud-clip-{}.mp4", std::process::id()));
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=330", "-t", "3"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

/// The object key an S3 notification names (URL-encoded by S3, moto even the slashes).
fn key_of(notification: &Value) -> String {
    notification["Records"][0]["s3"]["object"]["key"]
        .as_str()
        .expect("an object key")
        .replace("%2F", "/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_fetched_by_the_transcoder_binary_and_becomes_renditions() {
    let cloud = Cloud::create("media").await;
    let admin = "hk_admin_cloud-path-media-0001";
    cloud.put_admin_key_parameter(admin).await;
    // The peer is on this machine: both functions are told loopback is allowed, as API.md's
    // test knob says; nothing else differs from the template.
    let loopback = [("HERALD_ALLOW_LOOPBACK", "1")];
    let mut intake = cloud.start("IntakeFunction", &loopback).await;
    // The layer's /opt/bin is Debian's ffmpeg here.
    let ffmpeg_dir = ffmpeg_dir();
    let transcoder_env = [loopback[0], ("HERALD_FFMPEG_DIR", ffmpeg_dir.as_str())];
    let mut transcoder = cloud.start("TranscoderFunction", &transcoder_env).await;
    for f in [&mut intake, &mut transcoder] {
        f.ready(READY_WITHIN)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (ws_id, key) = workspace(&intake, admin, "M").await;

    let photo = herald_app::media::image::synthetic_photo(1400, 1000, 11, 88);
    let good = peer(200, photo);
    let url = format!("http://{good}/launch/hero.jpg");
    let import = call(
        &intake,
        "POST",
        "/v1/media/imports",
        &key,
        json!({ "url": url }),
    )
    .await;
    assert_eq!(import.0, 202, "{import:?}");
    let id = import.1["id"].as_str().unwrap().to_owned();
    assert_eq!(cloud.media_status(&ws_id, &id).await, "processing");

    let order = cloud.next_upload_notification().await;
    assert_eq!(key_of(&order), format!("{ws_id}/media/{id}/import"));
    transcoder.invoke(&order).await.expect("the order");
    // Fetched: the original is written, and its own notification follows.
    assert_eq!(cloud.media_status(&ws_id, &id).await, "processing");
    let original = cloud.next_upload_notification().await;
    assert_eq!(key_of(&original), format!("{ws_id}/media/{id}/original"));
    transcoder.invoke(&original).await.expect("the original");
    assert_eq!(cloud.media_status(&ws_id, &id).await, "ready");
    let view = call(
        &intake,
        "GET",
        &format!("/v1/media/{id}"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(view.1["filename"], "hero.jpg", "{view:?}");
    assert!(
        view.1["renditions"]
            .as_array()
            .is_some_and(|r| r.len() >= 9),
        "{view:?}"
    );
    assert!(!cloud.rendition_objects(&ws_id, &id).await.is_empty());

    // Refused by intake, nothing written: a metadata address.
    let refused = call(
        &intake,
        "POST",
        "/v1/media/imports",
        &key,
        json!({"url": "http://169.254.169.254/latest/meta-data/"}),
    )
    .await;
    assert_eq!(refused.0, 422, "{refused:?}");
    assert_eq!(refused.1["errors"][0]["field"], "url", "{refused:?}");

    // Accepted, then failed by the transcoder with the peer's answer as the reason.
    let missing = peer(404, Vec::new());
    let url = format!("http://{missing}/gone.jpg");
    let import = call(
        &intake,
        "POST",
        "/v1/media/imports",
        &key,
        json!({ "url": url }),
    )
    .await;
    assert_eq!(import.0, 202, "{import:?}");
    let failed_id = import.1["id"].as_str().unwrap().to_owned();
    let order = cloud.next_upload_notification().await;
    assert_eq!(key_of(&order), format!("{ws_id}/media/{failed_id}/import"));
    transcoder.invoke(&order).await.expect("the order");
    assert_eq!(cloud.media_status(&ws_id, &failed_id).await, "failed");
    let view = call(
        &intake,
        "GET",
        &format!("/v1/media/{failed_id}"),
        &key,
        Value::Null,
    )
    .await;
    assert!(
        view.1["error"].as_str().is_some_and(|e| e.contains("404")),
        "{view:?}"
    );

    // A video through the transcoder binary: the clip lands as an upload's original, S3's
    // notice starts the transcoder, ffmpeg makes the renditions, progress is written on the
    // item on the way (UpdateItem, which the role must allow).
    let clip = clip();
    let video = cloud
        .create_processing_media(&ws_id, "video/mp4", clip.len() as u64)
        .await;
    cloud.upload_original(&ws_id, &video, clip).await;
    let notice = cloud.next_upload_notification().await;
    assert_eq!(key_of(&notice), format!("{ws_id}/media/{video}/original"));
    transcoder.invoke(&notice).await.expect("the video");
    assert_eq!(cloud.media_status(&ws_id, &video).await, "ready");
    let files: Vec<String> = cloud
        .rendition_objects(&ws_id, &video)
        .await
        .into_iter()
        .map(|(key, _)| key.rsplit('/').next().unwrap().to_owned())
        .collect();
    for file in ["tiktok.mp4", "linkedin.mp4", "x.mp4", "poster.jpg"] {
        assert!(files.iter().any(|f| f == file), "no {file} in {files:?}");
    }

    cloud.assert_least_privilege();
    for f in [&intake, &transcoder] {
        assert!(!f.log().contains("panicked"), "{}:\n{}", f.name, f.log());
    }
}
