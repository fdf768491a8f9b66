//! A video upload: copied to a work directory (a video need not fit in memory), probed, then
//! one H.264/AAC MP4 per distinct profile geometry (9:16, 1:1, the source's own shape) and a
//! poster frame made into the thumbnail. The item shows how far it is while it works.

use super::image::render;
use super::transcode::{Made, Refused};
use crate::records::attr;
use crate::{AppError, Deps};
use herald_domain::profiles::{IMAGE_PROFILES, ImageProfile, THUMBNAIL, VIDEO_PROFILES};
use herald_domain::{MediaId, Rendition, WorkspaceId};
use herald_ports::video::{Encode, VideoError, VideoProbe};
use herald_ports::{Condition, Update, Value};
use herald_storage::keys;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The longest video Herald makes renditions of: a network's own limit is checked per target
/// against the rendition's length.
pub const MAX_SECONDS: f64 = 20.0 * 60.0;
/// The frame sizes an encode takes (8K).
const MAX_SIDE: u32 = 8192;
/// Progress is written in steps of this many percent (each is a table write).
const PROGRESS_STEP: u8 = 5;

/// A work directory, removed with whatever is in it when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(id: &MediaId, nonce: u128) -> std::io::Result<WorkDir> {
        let dir = std::env::temp_dir().join(format!("herald-video-{id}-{nonce:x}"));
        std::fs::create_dir_all(&dir)?;
        Ok(WorkDir(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io(e: std::io::Error) -> AppError {
    AppError::Corrupt(format!("the video work directory: {e}"))
}

/// What the video tool answers, as an outcome: a file it cannot read fails the item with
/// the reason; a tool that cannot run fails it saying so (retrying would not bring it).
fn refused(e: VideoError) -> Refused {
    match e {
        VideoError::Refused(reason) => Refused(reason),
        VideoError::Unavailable(why) => Refused(format!(
            "video renditions cannot be made on this server ({why})"
        )),
    }
}

pub(super) async fn make(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &MediaId,
    blob_key: &str,
    content_type: &'static str,
) -> Result<Result<Made, Refused>, AppError> {
    let dir = WorkDir::new(id, deps.random_u128()).map_err(io)?;
    let source = dir.path("source");
    {
        let mut reader = deps.blobs.open(blob_key).await?;
        let mut file = tokio::fs::File::create(&source).await.map_err(io)?;
        tokio::io::copy(&mut reader, &mut file).await.map_err(io)?;
    }
    let probe = match deps.video.probe(&source).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(refused(e))),
    };
    if let Some(why) = out_of_bounds(&probe) {
        return Ok(Err(Refused(why)));
    }
    let (width, height) = probe.upright();
    let duration = probe.duration_seconds;
    // One file per geometry and rate: the networks that agree share it.
    let mut files: Vec<(Encode, Vec<&'static herald_domain::profiles::VideoProfile>)> = Vec::new();
    for p in &VIDEO_PROFILES {
        let g = p.geometry(width, height);
        let job = Encode {
            crop: g.crop,
            width: g.width,
            height: g.height,
            max_kbps: p.max_kbps,
            within: encode_within(duration, g.width, g.height),
        };
        match files.iter_mut().find(|(j, _)| *j == job) {
            Some((_, profiles)) => profiles.push(p),
            None => files.push((job, vec![p])),
        }
    }
    let progress = Progress::start(deps, ws, id, files.len());
    let mut renditions = Vec::new();
    for (i, (job, profiles)) in files.iter().enumerate() {
        let name = format!("{}.mp4", profiles[0].name);
        let out = dir.path(&name);
        let report = progress.for_file(i);
        if let Err(e) = deps
            .video
            .encode(&source, &out, job, duration, report)
            .await
        {
            progress.stop().await;
            return Ok(Err(refused(e)));
        }
        let bytes = tokio::fs::read(&out).await.map_err(io)?;
        let size = bytes.len() as u64;
        let key = keys::rendition_blob(ws, id, &name);
        deps.blobs.put(&key, bytes, "video/mp4").await?;
        let _ = tokio::fs::remove_file(&out).await;
        for p in profiles {
            renditions.push(Rendition {
                profile: p.name.into(),
                platform: Some(p.platform),
                width: Some(job.width),
                height: Some(job.height),
                content_type: "video/mp4".into(),
                bytes: size,
                blob_key: key.clone(),
                duration_seconds: Some(duration),
            });
        }
    }
    progress.stop().await;
    renditions.sort_by_key(|r| VIDEO_PROFILES.iter().position(|p| p.name == r.profile));
    match thumbnail(deps, ws, id, &dir, &source, duration).await? {
        Ok(r) => renditions.push(r),
        Err(e) => return Ok(Err(e)),
    }
    Ok(Ok(Made {
        content_type,
        width: Some(width),
        height: Some(height),
        duration_seconds: Some(duration),
        renditions,
    }))
}

/// Why a probed video is refused whole, if it is.
fn out_of_bounds(p: &VideoProbe) -> Option<String> {
    if p.duration_seconds > MAX_SECONDS {
        return Some(format!(
            "the video is {:.0} s long; Herald makes renditions of videos up to {:.0} s",
            p.duration_seconds, MAX_SECONDS
        ));
    }
    if p.width > MAX_SIDE || p.height > MAX_SIDE {
        return Some(format!(
            "the video's frames are {}×{}; at most {MAX_SIDE} pixels a side",
            p.width, p.height
        ));
    }
    None
}

/// An encode's deadline: generous for the machine's speed (veryfast runs near real time for
/// 1080p on 2 cores), bounded for a file that would never finish.
fn encode_within(duration: f64, width: u32, height: u32) -> Duration {
    let megapixels = f64::from(width) * f64::from(height) / 1e6;
    let seconds = 60.0 + duration * 4.0 * megapixels.max(0.5);
    Duration::from_secs_f64(seconds.min(14.0 * 60.0))
}

/// The thumbnail: a frame a little way in (past a fade from black), through the image
/// pipeline's thumbnail profile, so it is sized and stripped as an image's is.
async fn thumbnail(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &MediaId,
    dir: &WorkDir,
    source: &Path,
    duration: f64,
) -> Result<Result<Rendition, Refused>, AppError> {
    static ONLY_THUMBNAIL: [ImageProfile; 1] = [IMAGE_PROFILES[IMAGE_PROFILES.len() - 1]];
    debug_assert_eq!(ONLY_THUMBNAIL[0].name, THUMBNAIL);
    let frame = dir.path("poster.jpg");
    if let Err(e) = deps
        .video
        .poster(source, &frame, (duration / 3.0).min(1.0))
        .await
    {
        return Ok(Err(refused(e)));
    }
    let bytes = tokio::fs::read(&frame).await.map_err(io)?;
    let rendered = tokio::task::spawn_blocking(move || render(&bytes, &ONLY_THUMBNAIL))
        .await
        .map_err(|e| AppError::Corrupt(format!("the poster task failed: {e}")))?;
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => return Ok(Err(Refused(format!("the poster frame: {e}")))),
    };
    let Some(file) = rendered.files.into_iter().next() else {
        return Ok(Err(Refused("no poster frame was made".into())));
    };
    let key = keys::rendition_blob(ws, id, "poster.jpg");
    let size = file.bytes.len() as u64;
    deps.blobs.put(&key, file.bytes, file.content_type).await?;
    Ok(Ok(Rendition {
        profile: THUMBNAIL.into(),
        platform: None,
        width: Some(file.width),
        height: Some(file.height),
        content_type: file.content_type.into(),
        bytes: size,
        blob_key: key,
        duration_seconds: None,
    }))
}

/// The item's progress attribute, written from the encoder's reports in steps, by one task
/// that takes the latest figure (a slow table never holds up the encoder).
struct Progress {
    files: usize,
    latest: Arc<std::sync::Mutex<Option<u8>>>,
    wake: Arc<tokio::sync::Notify>,
    writer: tokio::task::JoinHandle<()>,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn start(deps: &Deps, ws: &WorkspaceId, id: &MediaId, files: usize) -> Progress {
        let latest = Arc::new(std::sync::Mutex::new(None::<u8>));
        let wake = Arc::new(tokio::sync::Notify::new());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (table, key) = (deps.table.clone(), keys::media(ws, id));
        let (l, w, d) = (latest.clone(), wake.clone(), done.clone());
        let writer = tokio::spawn(async move {
            let mut written: Option<u8> = None;
            loop {
                w.notified().await;
                let now = *l.lock().expect("progress lock");
                if let Some(p) = now
                    && written.is_none_or(|old| p >= old.saturating_add(PROGRESS_STEP))
                {
                    // Only while processing: a settled item keeps no progress.
                    let update = Update::new().set(attr::PROGRESS, Value::N(i64::from(p)));
                    let still = Condition::eq(attr::STATUS, "processing");
                    if table.update(&key, update, Some(still)).await.is_ok() {
                        written = Some(p);
                    }
                }
                if d.load(std::sync::atomic::Ordering::Acquire) {
                    return;
                }
            }
        });
        Progress {
            files,
            latest,
            wake,
            writer,
            done,
        }
    }

    /// The encoder's report for file `i` of the item's files, as the item's whole percent.
    fn for_file(&self, i: usize) -> herald_ports::video::Progress {
        let (files, latest, wake) = (self.files as f64, self.latest.clone(), self.wake.clone());
        Arc::new(move |fraction: f64| {
            let percent = ((i as f64 + fraction) / files * 100.0)
                .floor()
                .clamp(0.0, 99.0) as u8;
            let mut l = latest.lock().expect("progress lock");
            if *l != Some(percent) {
                *l = Some(percent);
                wake.notify_one();
            }
        })
    }

    async fn stop(&self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
        self.writer.abort();
    }
}

/// The item's progress as last written, if it is processing a video.
pub(super) fn progress_of(record: &herald_ports::Item) -> Option<u8> {
    record
        .get(attr::PROGRESS)
        .and_then(Value::as_n)
        .and_then(|n| u8::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(duration: f64, w: u32, h: u32) -> VideoProbe {
        VideoProbe {
            duration_seconds: duration,
            width: w,
            height: h,
            rotation: 0,
            video_codec: "h264".into(),
            audio_codec: None,
        }
    }

    #[test]
    fn an_hour_long_or_16k_video_is_refused_whole_and_a_phone_clip_is_not() {
        assert!(
            out_of_bounds(&probe(3600.0, 1920, 1080))
                .unwrap()
                .contains("3600 s")
        );
        assert!(
            out_of_bounds(&probe(10.0, 15360, 8640))
                .unwrap()
                .contains("8192")
        );
        assert_eq!(out_of_bounds(&probe(30.0, 1080, 1920)), None);
    }

    #[test]
    fn an_encode_deadline_grows_with_the_work_and_is_capped_inside_lambdas_limit() {
        let short = encode_within(10.0, 608, 1080);
        let long = encode_within(600.0, 1920, 1080);
        assert!(
            short >= Duration::from_secs(60) && short < long,
            "{short:?} {long:?}"
        );
        assert!(encode_within(1200.0, 1920, 1080) <= Duration::from_secs(14 * 60));
    }
}
