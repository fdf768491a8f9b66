//! The hardened edge of `herald serve`: slow and idle clients are cut off on their clocks
//! (header, idle, body), and under a low descriptor limit idle sockets cannot keep `/healthz`
//! from answering. The timeouts are set short through the environment.

use crate::support::{Options, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const ADMIN: &str = "edge-admin-key";

fn start(options: Options) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let server = Server::start_with(&dir.path().join("data"), &logs, 1, Some(ADMIN), &options);
    (dir, server)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Whether the server has closed `stream`, looking for up to `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// One keep-alive GET on `stream`; answers the status once the whole answer is read.
fn get_keep_alive(stream: &mut TcpStream, path: &str) -> u16 {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: herald\r\n\r\n").expect("write request");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("an answer");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("a length"))
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                return head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status");
            }
        }
    }
}

#[test]
fn a_slowloris_client_sending_a_header_byte_at_a_time_is_cut_off_within_the_header_timeout() {
    let (_dir, server) = start(
        Options::default()
            .env("HERALD_HEADER_TIMEOUT_MS", 600)
            .env("HERALD_IDLE_TIMEOUT_MS", 30_000),
    );
    let mut stream = connect(server.addr);
    let bytes = b"GET /healthz HTTP/1.1\r\nHost: herald\r\n"
        .iter()
        .chain(b"X-Slow: a\r\n".iter().cycle());
    let started = Instant::now();
    let mut cut_off = None;
    for byte in bytes {
        if stream.write_all(&[*byte]).is_err()
            || closed_within(&mut stream, Duration::from_millis(50))
        {
            cut_off = Some(started.elapsed());
            break;
        }
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let cut_off = cut_off.expect("a client still sending its head after 5 s was not cut off");
    // The head's clock ran from its first byte: no byte bought more time.
    assert!(
        cut_off >= Duration::from_millis(500) && cut_off < Duration::from_millis(2_000),
        "cut off after {cut_off:?}, header timeout 600 ms"
    );
    // Meanwhile everyone else is served.
    assert_eq!(get_keep_alive(&mut connect(server.addr), "/healthz"), 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (_dir, server) = start(
        Options::default()
            .env("HERALD_IDLE_TIMEOUT_MS", 800)
            .env("HERALD_HEADER_TIMEOUT_MS", 30_000),
    );
    let mut stream = connect(server.addr);
    assert_eq!(get_keep_alive(&mut stream, "/healthz"), 200);
    // Within the idle timeout the connection is kept, and a request restarts its clock.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(get_keep_alive(&mut stream, "/healthz"), 200);
    let idle_since = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)),
        "an idle keep-alive connection was still open after 5 s"
    );
    let idle = idle_since.elapsed();
    assert!(
        idle >= Duration::from_millis(600) && idle < Duration::from_millis(2_500),
        "closed after {idle:?} idle, idle timeout 800 ms"
    );

    // A socket that never sends a byte is idle too.
    let mut silent = connect(server.addr);
    let opened = Instant::now();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)),
        "a silent socket was kept"
    );
    assert!(
        opened.elapsed() >= Duration::from_millis(600),
        "{:?}",
        opened.elapsed()
    );
}

#[test]
fn a_body_that_stalls_is_answered_408_within_the_body_timeout() {
    let (_dir, server) = start(Options::default().env("HERALD_BODY_TIMEOUT_MS", 600));
    let mut stream = connect(server.addr);
    write!(
        stream,
        "POST /v1/workspaces HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
    )
    .expect("write");
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{text}"
    );
    assert!(
        took < Duration::from_millis(2_500),
        "answered after {took:?}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_lets_a_request_in_flight_finish_and_closes_idle_connections() {
    let (_dir, mut server) = start(Options::default().env("HERALD_IDLE_TIMEOUT_MS", 60_000));
    let mut idle = connect(server.addr);
    assert_eq!(get_keep_alive(&mut idle, "/healthz"), 200);
    // A request whose body is half sent when the signal comes.
    let body = r#"{"name":"drained"}"#;
    let mut busy = connect(server.addr);
    write!(
        busy,
        "POST /v1/workspaces HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let terminated = std::thread::scope(|s| {
        let waiter = s.spawn(|| server.terminate(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(300));
        busy.write_all(&body.as_bytes()[5..])
            .expect("the rest of the body");
        let mut answer = Vec::new();
        busy.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = busy.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        (waiter.join().expect("waiter"), text)
    });
    let (status, answer) = terminated;
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight was cut: {answer}"
    );
    assert!(answer.contains("drained"), "{answer}");
    let status = status.expect("herald serve did not exit after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        closed_within(&mut idle, Duration::from_millis(500)),
        "an idle connection outlived the server"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn idle_sockets_under_a_descriptor_limit_of_256_do_not_keep_healthz_from_answering() {
    // Long clocks: what is tested is the bound on connections, not the timeouts.
    let (_dir, server) = start(
        Options {
            descriptor_limit: Some(256),
            ..Options::default()
        }
        .env("HERALD_IDLE_TIMEOUT_MS", 120_000)
        .env("HERALD_HEADER_TIMEOUT_MS", 120_000),
    );
    let idle: Vec<TcpStream> = (0..250).map(|_| connect(server.addr)).collect();
    // Some of them half-way through a head, as a slowloris client leaves them.
    for stream in idle.iter().step_by(2) {
        let _ = (&*stream).write_all(b"GET /healthz HTTP/1.1\r\n");
    }
    std::thread::sleep(Duration::from_millis(300));
    for attempt in 0..3 {
        let started = Instant::now();
        let mut stream = connect(server.addr);
        let status = get_keep_alive(&mut stream, "/healthz");
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(2),
            "attempt {attempt}: /healthz took {took:?} behind 250 idle sockets"
        );
    }
    assert!(
        !server.log_text().contains("panicked"),
        "{}",
        server.log_text()
    );
    drop(idle);
}

#[test]
fn a_timeout_that_is_not_a_number_stops_the_start_naming_its_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HERALD_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .env("HERALD_ADMIN_KEY", ADMIN)
        .env("HERALD_IDLE_TIMEOUT_MS", "soon")
        .spawn()
        .expect("spawn herald serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("herald serve started with HERALD_IDLE_TIMEOUT_MS=soon");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("output");
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(!status.success());
    assert!(said.contains("HERALD_IDLE_TIMEOUT_MS"), "{said}");
}
