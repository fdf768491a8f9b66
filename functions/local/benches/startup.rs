//! Time from `herald serve` exec to its first answered request (GET /healthz), on a fresh data
//! directory (keys and store created) and on an existing one.
//!
//!   cargo bench -p herald-local --bench startup

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn start_once(data: &std::path::Path) -> Duration {
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("HERALD_ADMIN_KEY", "bench-admin")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !healthy(port) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "herald did not start"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let took = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    took
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {name:<22} median {:>6.1} ms   p90 {:>6.1} ms   min {:>6.1} ms   ({} runs)",
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
        ms(samples[0]),
        samples.len()
    );
}

fn main() {
    let root = std::env::temp_dir().join(format!("herald-startup-{}", std::process::id()));
    let runs = 20;
    let fresh: Vec<_> = (0..runs)
        .map(|i| start_once(&root.join(format!("fresh-{i}"))))
        .collect();
    let existing: Vec<_> = (0..runs)
        .map(|_| start_once(&root.join("fresh-0")))
        .collect();
    println!("herald serve: exec to first answered request");
    report("fresh data directory", fresh);
    report("existing data directory", existing);
    let _ = std::fs::remove_dir_all(&root);
}
