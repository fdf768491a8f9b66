//! Test helpers shared by every crate's integration tests: one moto server (the local AWS
//! emulator) per test process, SDK configuration pointing at it, a reset between tests, and a
//! Lambda Runtime API to host the functions' real binaries (`lambda`).
//!
//! `HERALD_MOTO_ENDPOINT` set in the environment (e.g. `http://127.0.0.1:5000`) makes the tests
//! use that server instead of starting one; CI installs moto with `pip install 'moto[server]'`.

pub mod lambda;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// The environment variable naming an already running moto server.
pub const MOTO_ENDPOINT_ENV: &str = "HERALD_MOTO_ENDPOINT";

static MOTO: OnceLock<Result<String, String>> = OnceLock::new();

/// The endpoint (`http://127.0.0.1:PORT`) of the moto server for this test process: the one
/// named by `HERALD_MOTO_ENDPOINT`, or else one started on first use on a free loopback port,
/// which dies with the test process.
///
/// Panics when no server can be started: a test that needs moto cannot run without it.
pub async fn moto_endpoint() -> String {
    if let Ok(endpoint) = std::env::var(MOTO_ENDPOINT_ENV)
        && !endpoint.is_empty()
    {
        return endpoint.trim_end_matches('/').to_owned();
    }
    // Starting blocks for about half a second, once: keep it off the async threads.
    let started = tokio::task::spawn_blocking(|| MOTO.get_or_init(start_moto).clone())
        .await
        .expect("moto start-up task");
    match started {
        Ok(endpoint) => endpoint,
        Err(e) => panic!("cannot start moto_server (pip install 'moto[server]'): {e}"),
    }
}

/// SDK configuration for the emulator: static test credentials, region us-east-1, the endpoint
/// overridden. S3 clients built from it still need `force_path_style(true)`.
pub async fn aws_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "herald-testkit",
        ))
        .load()
        .await
}

/// Clears all of the emulator's state (tables, buckets, buses). Tests that share one server and
/// run in parallel should rather use names of their own than reset it under each other.
pub async fn moto_reset(endpoint: &str) {
    let addr = socket_addr(endpoint);
    tokio::task::spawn_blocking(move || {
        let answer = http_post(addr, "/moto-api/reset").expect("moto reset request");
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "moto reset answered: {answer}"
        );
    })
    .await
    .expect("moto reset task");
}

fn socket_addr(endpoint: &str) -> SocketAddr {
    let host_port = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    host_port
        .parse()
        .unwrap_or_else(|_| panic!("moto endpoint must be http://IP:PORT, got {endpoint}"))
}

fn start_moto() -> Result<String, String> {
    let mut last_error = String::new();
    // A free port can be taken between our probe and moto's bind: try a few.
    for _ in 0..3 {
        match try_start_moto() {
            Ok(endpoint) => return Ok(endpoint),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn try_start_moto() -> Result<String, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let parent = std::process::id();
    // infra/moto_server.py is moto_server without moto's leak of DynamoDB objects (see there);
    // plain moto_server when moto lives outside python3's packages.
    let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/moto_server.py");
    // The watchdog shell kills moto as soon as this process is gone, however it ends (even
    // kill -9, which no destructor would see). PR_SET_PDEATHSIG on the shell covers the usual
    // case instantly; the polling loop covers the rest.
    let script = format!(
        "if python3 -c 'import moto.server' 2>/dev/null; then set -- python3 '{launcher}'; \
         else set -- moto_server; fi; \
         \"$@\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & child=$!; \
         trap 'kill $child 2>/dev/null; exit 0' TERM INT HUP; \
         while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; \
         kill $child 2>/dev/null"
    );
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    set_parent_death_signal(&mut command);
    // The parent-death signal fires when the spawning *thread* ends, so spawn from a thread
    // that lives as long as the process does.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("moto-keeper".into())
        .spawn(move || {
            let _ = tx.send(command.spawn());
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| format!("cannot start keeper thread: {e}"))?;
    let mut child = rx
        .recv()
        .map_err(|e| format!("keeper thread: {e}"))?
        .map_err(|e| format!("cannot spawn sh: {e}"))?;

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(answer) = http_get(addr, "/moto-api/data.json")
            && answer.starts_with("HTTP/1")
        {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("moto_server exited at start ({status})"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    Err(format!(
        "moto_server did not answer on port {port} within 20 s"
    ))
}

#[cfg(target_os = "linux")]
pub(crate) fn set_parent_death_signal(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn set_parent_death_signal(_command: &mut Command) {}

fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

fn http_post(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    http_request(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn http_request(addr: SocketAddr, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_moto_endpoint_answers_and_resets() {
        let endpoint = moto_endpoint().await;
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        // The same server is handed out again, not a second one.
        assert_eq!(moto_endpoint().await, endpoint);
        moto_reset(&endpoint).await;
        let answer = http_get(socket_addr(&endpoint), "/moto-api/data.json").unwrap();
        assert!(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"));
    }

    #[tokio::test]
    async fn the_sdk_config_carries_region_and_endpoint() {
        let config = aws_sdk_config("http://127.0.0.1:1").await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}
