//! The `herald serve` harness shared by the end-to-end tests: the binary cargo built for the
//! test, on a free loopback port and a data directory of the test's, killed when its handle
//! drops and, through the parent-death signal, when the test thread ends however it ends; and a
//! minimal HTTP/1.1 client, so the tests add no client library.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `herald serve`; killed (SIGKILL) and reaped on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Starts a server with `admin_key` as HERALD_ADMIN_KEY (none: the server makes one).
    pub fn start(data: &Path, logs: &Path, run: usize, admin_key: Option<&str>) -> Server {
        Server::start_with(data, logs, run, admin_key, &Options::default())
    }

    /// As `start`, with more environment and limits for the process.
    pub fn start_with(
        data: &Path,
        logs: &Path,
        run: usize,
        admin_key: Option<&str>,
        options: &Options,
    ) -> Server {
        let log = logs.join(format!("run-{run}.log"));
        // A free port can be taken between the probe and the server's bind: try a few. The log
        // is appended to, so what an attempt printed before failing to bind stays readable.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .expect("log file");
            let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
            command
                .arg("serve")
                .arg("--data")
                .arg(data)
                .arg("--addr")
                .arg(addr.to_string())
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log file"))
                .stderr(out);
            // Only what this test sets reaches the server.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("HERALD_") {
                    command.env_remove(name);
                }
            }
            if let Some(key) = admin_key {
                command.env("HERALD_ADMIN_KEY", key);
            }
            command
                .env("HERALD_LOG_FORMAT", "json")
                .env("RUST_LOG", "info")
                // These tests drive bursts through one key; the allowances have their own
                // test (functions/intake/tests/it/rate_limits.rs). A test may set them back.
                .env("HERALD_RATE_LIMIT_PER_SECOND", "0")
                .env("HERALD_RATE_LIMIT_PER_MINUTE", "0");
            for (name, value) in &options.env {
                command.env(name, value);
            }
            die_with_parent(&mut command);
            if let Some(limit) = options.descriptor_limit {
                limit_descriptors(&mut command, limit);
            }
            let child = command.spawn().expect("spawn herald serve");
            let mut server = Server {
                child,
                addr,
                log: log.clone(),
            };
            match server.wait_until_healthy() {
                Ok(()) => return server,
                Err(_) if server.log_text().contains("binding") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        panic!(
            "herald serve found no free port:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn wait_until_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(self.addr, "GET", "/healthz", None, None) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "herald serve exited at start ({status}):\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "herald serve did not answer /healthz:\n{}",
            self.log_text()
        ))
    }

    /// SIGTERM, as a service manager stops it, then waits for the exit.
    pub fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().expect("reap");
        assert!(
            status.success(),
            "herald serve stopped with {status}:\n{}",
            self.log_text()
        );
    }

    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Sends SIGTERM and answers the exit status, or None if the process is still running
    /// after `wait`.
    #[cfg(unix)]
    pub fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill only signals the child this handle owns.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn call(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        http(self.addr, method, path, Some(key), body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_text()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// What a test sets for the server beyond the usual.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    /// RLIMIT_NOFILE (soft and hard) for the server process.
    pub descriptor_limit: Option<u64>,
}

impl Options {
    pub fn env(mut self, name: &str, value: impl ToString) -> Self {
        self.env.push((name.to_owned(), value.to_string()));
        self
    }
}

#[cfg(unix)]
fn limit_descriptors(command: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_descriptors(_command: &mut Command, _limit: u64) {}

/// One HTTP/1.1 request on its own connection; answers the status and the JSON body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    http_raw(addr, method, path, &headers, body.as_bytes())
}

/// As `http`, with exactly these headers and body bytes.
pub fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Value)> {
    let (status, _, payload) = raw(addr, method, path, headers, body)?;
    let json = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    Ok((status, json))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// One HTTP/1.1 request with raw bytes: answers the status, the head (lower-cased) and the
/// body as bytes. `path` may be a whole `http://host/...` URL of this server.
pub fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let path = path.strip_prefix(&format!("http://{addr}")).unwrap_or(path);
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    // A server that refuses the body early may close before it is all sent.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut payload = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok((status, head, payload))
}
