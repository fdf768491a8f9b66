//! The video port on ffmpeg and ffprobe, run as processes (Debian's package locally and in CI;
//! on AWS the binaries of the function's layer, under /opt/bin). Each run has a deadline and
//! is killed at it; progress comes from ffmpeg's own `-progress` output.

use async_trait::async_trait;
use herald_ports::video::{Encode, Progress, VideoError, VideoProbe, VideoTool};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A probe reads the container's header: a file it cannot read in this long is refused
/// (generous: a loaded machine starts ffmpeg's libraries slowly).
const PROBE_WITHIN: Duration = Duration::from_secs(60);
const POSTER_WITHIN: Duration = Duration::from_secs(60);

/// The encoder's settings, stated for the benchmark: libx264 `veryfast` (a phone clip's
/// renditions in about its own length on 2 cores), CRF 23 under each profile's rate cap,
/// AAC 128 kb/s stereo, at most 60 frames a second, every core ffmpeg finds.
pub const PRESET: &str = "veryfast";

pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

impl Ffmpeg {
    /// The binaries in `dir`, or on the PATH without one.
    pub fn new(dir: Option<&Path>) -> Ffmpeg {
        let bin = |name: &str| dir.map_or_else(|| PathBuf::from(name), |d| d.join(name));
        Ffmpeg {
            ffmpeg: bin("ffmpeg"),
            ffprobe: bin("ffprobe"),
        }
    }
}

#[async_trait]
impl VideoTool for Ffmpeg {
    async fn probe(&self, input: &Path) -> Result<VideoProbe, VideoError> {
        let mut command = Command::new(&self.ffprobe);
        command
            .args([
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
            ])
            .arg(input);
        let out = blocking(move || run(command, PROBE_WITHIN, None)).await?;
        parse_probe(&out)
    }

    async fn encode(
        &self,
        input: &Path,
        output: &Path,
        job: &Encode,
        duration_seconds: f64,
        progress: Progress,
    ) -> Result<(), VideoError> {
        let (x, y, w, h) = job.crop;
        let filter = format!(
            "crop={w}:{h}:{x}:{y},scale={}:{}:flags=lanczos,fps=fps='min(source_fps,60)',format=yuv420p",
            job.width, job.height
        );
        let rate = job.max_kbps;
        let mut command = Command::new(&self.ffmpeg);
        command
            .args(["-hide_banner", "-nostdin", "-nostats", "-y", "-i"])
            .arg(input)
            .args(["-map", "0:v:0", "-map", "0:a:0?", "-vf", &filter])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                PRESET,
                "-crf",
                "23",
                "-profile:v",
                "high",
            ])
            .args([
                "-maxrate",
                &format!("{rate}k"),
                "-bufsize",
                &format!("{}k", rate * 2),
            ])
            .args(["-c:a", "aac", "-b:a", "128k", "-ac", "2"])
            .args(["-map_metadata", "-1", "-map_chapters", "-1"])
            .args(["-movflags", "+faststart", "-progress", "pipe:1"])
            .arg(output);
        let total_us = (duration_seconds * 1e6).max(1.0);
        let within = job.within;
        blocking(move || {
            let on_line = move |line: &str| {
                if let Some(us) = line
                    .strip_prefix("out_time_us=")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                {
                    progress((us / total_us).clamp(0.0, 1.0));
                }
            };
            run(command, within, Some(&on_line))
        })
        .await?;
        Ok(())
    }

    async fn poster(&self, input: &Path, output: &Path, at_seconds: f64) -> Result<(), VideoError> {
        let mut command = Command::new(&self.ffmpeg);
        command
            .args([
                "-hide_banner",
                "-nostdin",
                "-nostats",
                "-y",
                "-ss",
                &format!("{at_seconds:.3}"),
                "-i",
            ])
            .arg(input)
            .args([
                "-frames:v",
                "1",
                "-q:v",
                "2",
                "-map_metadata",
                "-1",
                "-f",
                "image2",
            ])
            .arg(output);
        blocking(move || run(command, POSTER_WITHIN, None)).await?;
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, VideoError> + Send + 'static,
) -> Result<T, VideoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| VideoError::Unavailable(format!("the video task failed: {e}")))?
}

/// Runs `command` to its end or its deadline (then kills it); answers its standard output,
/// each line also handed to `on_line` as it comes. A failed run is refused with the last
/// lines ffmpeg wrote to standard error.
fn run(
    mut command: Command,
    within: Duration,
    on_line: Option<&(dyn Fn(&str) + Sync)>,
) -> Result<String, VideoError> {
    let name = command.get_program().to_string_lossy().into_owned();
    let mut child: Child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| VideoError::Unavailable(format!("{name}: {e}")))?;
    let stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr)
            .take(1 << 20)
            .read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().expect("piped");
    let deadline = Instant::now() + within;
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut out = String::new();
    let status = loop {
        while let Ok(line) = lines_rx.try_recv() {
            if let Some(f) = on_line {
                f(&line);
            }
            if out.len() < 1 << 20 {
                out.push_str(&line);
                out.push('\n');
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(VideoError::Refused(format!(
                    "the video could not be processed within {} s ({name} was stopped)",
                    within.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(VideoError::Unavailable(format!("{name}: {e}"))),
        }
    };
    let _ = reader.join();
    for line in lines_rx.try_iter() {
        if let Some(f) = on_line {
            f(&line);
        }
        out.push_str(&line);
        out.push('\n');
    }
    let errors = errors.join().unwrap_or_default();
    if status.success() {
        return Ok(out);
    }
    let last: Vec<&str> = errors.lines().rev().take(3).collect();
    let said: Vec<&str> = last.into_iter().rev().collect();
    Err(VideoError::Refused(format!(
        "ffmpeg cannot read this video: {}",
        said.join(" / ").trim()
    )))
}

/// ffprobe's JSON: the first video stream's size, codec and rotation, the first audio
/// stream's codec, the container's duration.
fn parse_probe(json: &str) -> Result<VideoProbe, VideoError> {
    let refused = |why: &str| VideoError::Refused(format!("not a video Herald can read: {why}"));
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|_| refused("no probe answer"))?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| refused("it has no video stream"))?;
    let audio = streams.iter().find(|s| s["codec_type"] == "audio");
    let number = |x: &serde_json::Value| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    };
    let duration = number(&v["format"]["duration"])
        .or_else(|| number(&video["duration"]))
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| refused("its length is unknown"))?;
    let width = video["width"]
        .as_u64()
        .filter(|w| *w > 0)
        .ok_or_else(|| refused("no frame size"))?;
    let height = video["height"]
        .as_u64()
        .filter(|h| *h > 0)
        .ok_or_else(|| refused("no frame size"))?;
    // Newer ffmpeg puts a display matrix in side data (counter-clockwise degrees); older a
    // `rotate` tag (clockwise).
    let rotation = video["side_data_list"]
        .as_array()
        .and_then(|l| l.iter().find_map(|d| number(&d["rotation"])))
        .map(|r| -(r as i32))
        .or_else(|| number(&video["tags"]["rotate"]).map(|r| r as i32))
        .unwrap_or(0)
        .rem_euclid(360);
    Ok(VideoProbe {
        duration_seconds: duration,
        width: width as u32,
        height: height as u32,
        rotation,
        video_codec: video["codec_name"].as_str().unwrap_or("unknown").to_owned(),
        audio_codec: audio
            .and_then(|a| a["codec_name"].as_str())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_clip_held_upright_is_turned_and_its_cover_art_is_no_video() {
        let json = r#"{"streams":[
            {"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1}},
            {"codec_type":"video","codec_name":"hevc","width":1920,"height":1080,
             "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}],"disposition":{"attached_pic":0}},
            {"codec_type":"audio","codec_name":"aac"}],
            "format":{"duration":"12.500000"}}"#;
        let p = parse_probe(json).unwrap();
        assert_eq!((p.width, p.height, p.rotation), (1920, 1080, 90));
        assert_eq!(p.upright(), (1080, 1920));
        assert_eq!(p.video_codec, "hevc");
        assert_eq!(p.audio_codec.as_deref(), Some("aac"));
        assert_eq!(p.duration_seconds, 12.5);
    }

    #[test]
    fn a_file_without_a_video_stream_or_length_is_refused() {
        for json in [
            r#"{"streams":[{"codec_type":"audio","codec_name":"mp3"}],"format":{"duration":"3"}}"#,
            r#"{"streams":[{"codec_type":"video","width":2,"height":2}],"format":{}}"#,
            "not json",
        ] {
            assert!(
                matches!(parse_probe(json), Err(VideoError::Refused(_))),
                "{json}"
            );
        }
    }
}

#[cfg(test)]
mod runs {
    use super::*;

    /// An MP4's first box, then noise: the probe answers at once that it cannot read it.
    #[tokio::test]
    async fn a_file_that_only_looks_like_a_video_is_refused_by_the_probe_at_once() {
        let dir = std::env::temp_dir().join(format!("herald-ffmpeg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fake.mp4");
        let mut fake = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
        fake.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        std::fs::write(&path, fake).unwrap();
        let started = Instant::now();
        let answer = Ffmpeg::new(None).probe(&path).await;
        let _ = std::fs::remove_dir_all(&dir);
        let Err(VideoError::Refused(why)) = answer else {
            panic!("{answer:?}");
        };
        assert!(why.contains("video"), "{why}");
        assert!(started.elapsed() < PROBE_WITHIN, "{:?}", started.elapsed());
    }
}
