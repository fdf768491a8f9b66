//! The video benchmark: a 30 s 1080p clip with sound (made by ffmpeg) through Herald's whole
//! video pipeline on the embedded store (probe, one encode per distinct geometry, poster,
//! thumbnail), beside the plain ffmpeg CLI making one 720p rendition of it with the same
//! preset, in the same run. Prints wall seconds and what was made.
//!   cargo bench -p herald-app --bench video [-- SECONDS]

mod support;

use herald_adapters::SystemClock;
use herald_app::auth::Principal;
use herald_app::media::{self, NewUpload};
use herald_app::workspaces;
use herald_ports::Clock;
use herald_storage::embedded::EmbeddedTable;
use herald_storage::keys;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg runs (infra/apt.sh installs it)");
    assert!(status.success(), "ffmpeg {args:?}");
}

#[tokio::main]
async fn main() {
    let seconds: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let dir = std::env::temp_dir().join(format!("herald-video-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clip = dir.join("clip.mp4");
    let clip_s = clip.to_str().unwrap();
    eprintln!("making a {seconds} s 1080p30 clip with sound…");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1920x1080:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &seconds.to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "18",
        "-c:a",
        "aac",
        "-shortest",
        clip_s,
    ]);
    let bytes = std::fs::read(&clip).unwrap();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "video bench: a {seconds} s 1920×1080 30 fps clip ({:.1} MB), {cores} cores; ffmpeg {} preset, CRF 23, threads: ffmpeg's default (all cores)",
        bytes.len() as f64 / 1e6,
        herald_adapters::ffmpeg::PRESET
    );

    // The reference: one 720p rendition with the plain CLI and the same settings.
    let started = Instant::now();
    ffmpeg(&[
        "-i",
        clip_s,
        "-vf",
        "scale=1280:720",
        "-c:v",
        "libx264",
        "-preset",
        herald_adapters::ffmpeg::PRESET,
        "-crf",
        "23",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-movflags",
        "+faststart",
        dir.join("cli-720p.mp4").to_str().unwrap(),
    ]);
    let cli = started.elapsed().as_secs_f64();

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let deps = support::deps(
        Arc::new(EmbeddedTable::open(dir.join("herald.redb")).unwrap()),
        &dir,
        clock,
        Default::default(),
    );
    let ws = workspaces::create(&deps, &Principal::Admin, "Bench")
        .await
        .unwrap()
        .id;
    let upload = media::create_upload(
        &deps,
        &ws,
        NewUpload {
            filename: "clip.mp4".into(),
            content_type: "video/mp4".into(),
            size: bytes.len() as u64,
            alt_text: None,
        },
    )
    .await
    .unwrap();
    let key = keys::upload_blob(&ws, &upload.id);
    deps.blobs.put(&key, bytes, "video/mp4").await.unwrap();
    let started = Instant::now();
    let status = media::transcode(&deps, &key).await.unwrap();
    let herald = started.elapsed().as_secs_f64();
    let item = media::item(&deps, &ws, &upload.id).await.unwrap();
    assert_eq!(status, Some(herald_domain::MediaStatus::Ready), "{item:?}");
    let mut files: Vec<(String, u32, u32, u64)> = Vec::new();
    for r in &item.renditions {
        let name = r.blob_key.rsplit('/').next().unwrap().to_owned();
        if !files.iter().any(|f| f.0 == name) {
            files.push((name, r.width.unwrap_or(0), r.height.unwrap_or(0), r.bytes));
        }
    }
    println!("| | seconds | what |");
    println!("| --- | --- | --- |");
    println!("| ffmpeg CLI, one 1280×720 rendition | {cli:.1} | 1 file |");
    println!(
        "| Herald, every rendition | {herald:.1} | {} renditions in {} files: {} |",
        item.renditions.len(),
        files.len(),
        files
            .iter()
            .map(|(n, w, h, b)| format!("{n} {w}×{h} {:.1} MB", *b as f64 / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Herald: {:.2} s of work per second of video",
        herald / f64::from(seconds)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
