//! Herald's image pipeline beside sharp (libvips), in one run: the same eight 12 MP JPEGs
//! (made here, deterministically: photo-like gradients, texture and edges) into the same
//! rendition sizes, each side free to use every core, each in a child process of its own so
//! that its peak memory (its own high-water RSS) is its alone. Prints a table.
//!
//!   infra/media-bench.sh            (installs sharp into infra/media-bench/, then runs this)
//!   cargo bench -p herald-app --bench media -- [ROUNDS]     (default 3; sharp must be there)

use herald_app::media::image::{QUALITY, render, synthetic_photo};
use herald_domain::profiles::IMAGE_PROFILES;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PHOTOS: u32 = 8;
const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--herald-child") {
        let dir = PathBuf::from(&args[1]);
        let rounds: usize = args[2].parse().expect("rounds");
        return herald_child(&dir, rounds);
    }
    let rounds: usize = args.first().map_or(3, |r| r.parse().expect("ROUNDS"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/media-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let made = Instant::now();
    (1..=PHOTOS).into_par_iter().for_each(|seed| {
        let path = dir.join(format!("photo-{seed}.jpg"));
        if !path.exists() {
            std::fs::write(&path, synthetic_photo(WIDTH, HEIGHT, seed, 92)).expect("photo");
        }
    });
    let total: u64 = (1..=PHOTOS)
        .map(|s| {
            std::fs::metadata(dir.join(format!("photo-{s}.jpg")))
                .unwrap()
                .len()
        })
        .sum();
    eprintln!(
        "{PHOTOS} photos of {WIDTH}×{HEIGHT}, {:.1} MB each on average ({:.1} s to make or find)",
        total as f64 / f64::from(PHOTOS) / 1e6,
        made.elapsed().as_secs_f64()
    );
    // The distinct sizes Herald's profiles make of such a photo: sharp makes the same.
    let mut sizes: Vec<(u32, u32)> = Vec::new();
    for p in &IMAGE_PROFILES {
        let g = p.geometry(WIDTH, HEIGHT);
        if !sizes.contains(&(g.width, g.height)) {
            sizes.push((g.width, g.height));
        }
    }
    let sizes_json = serde_json::to_string(&sizes).unwrap();
    eprintln!("renditions per photo: {sizes_json} at q{QUALITY}");

    let me = std::env::current_exe().expect("own path");
    let herald =
        run(Command::new(me).args(["--herald-child", dir.to_str().unwrap(), &rounds.to_string()]));
    let sharp_dir = root.join("infra/media-bench");
    let sharp = run(Command::new("node")
        .arg(sharp_dir.join("sharp.mjs"))
        .args([dir.to_str().unwrap(), &sizes_json, &rounds.to_string()])
        .current_dir(&sharp_dir));

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!(
        "media: {PHOTOS} JPEGs of {WIDTH}x{HEIGHT} x {rounds} rounds -> {} sizes each, {cores} cores",
        sizes.len()
    );
    println!(
        "| pipeline | photos/s | ms/photo | peak RSS MiB | output MB |\n| --- | --- | --- | --- | --- |"
    );
    for (name, r) in [
        (
            "herald (turbojpeg DCT-scaled decode, fast_image_resize, rayon)",
            &herald,
        ),
        (
            &*format!(
                "sharp {} (libvips {})",
                sharp["version"].as_str().unwrap_or("?"),
                sharp["vips"].as_str().unwrap_or("?")
            ),
            &sharp,
        ),
    ] {
        let photos = r["photos"].as_f64().unwrap();
        let seconds = r["seconds"].as_f64().unwrap();
        println!(
            "| {name} | {:.2} | {:.0} | {:.0} | {:.1} |",
            photos / seconds,
            seconds * 1000.0 / photos,
            r["peak_rss_kib"].as_f64().unwrap() / 1024.0,
            r["bytes"].as_f64().unwrap() / 1e6
        );
    }
    let speedup = (herald["photos"].as_f64().unwrap() / herald["seconds"].as_f64().unwrap())
        / (sharp["photos"].as_f64().unwrap() / sharp["seconds"].as_f64().unwrap());
    let memory = herald["peak_rss_kib"].as_f64().unwrap() / sharp["peak_rss_kib"].as_f64().unwrap();
    println!("herald/sharp: throughput {speedup:.2}x, peak memory {memory:.2}x");
}

fn run(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n(is sharp installed? infra/media-bench.sh installs it)",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON line")
}

/// Herald's side: every photo at once (rayon over photos, and over each photo's renditions),
/// exactly the transcoder's pipeline.
fn herald_child(dir: &Path, rounds: usize) {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    photos.sort();
    let photos: Vec<Vec<u8>> = photos.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let once = || -> u64 {
        photos
            .par_iter()
            .map(|b| {
                let r = render(b, &IMAGE_PROFILES).expect("rendered");
                r.files.iter().map(|f| f.bytes.len() as u64).sum::<u64>()
            })
            .sum()
    };
    once();
    let start = Instant::now();
    let bytes: u64 = (0..rounds).map(|_| once()).sum();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "photos": photos.len() * rounds,
            "seconds": seconds,
            "bytes": bytes,
            "peak_rss_kib": peak_rss_kib(),
        })
    );
}

/// This process's high-water resident set, as the kernel counts it (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
