//! A Lambda Runtime API on loopback, to host a function's real binary as Lambda does: the
//! binary polls `GET /2018-06-01/runtime/invocation/next`, gets one event with its request id,
//! deadline and function ARN, and posts the answer to `…/{id}/response` or `…/{id}/error`.
//! One emulator serves one function (as one Lambda sandbox does); `Function::start` runs the
//! binary against it with only the environment Lambda would give it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long an invocation may run, as the deadline header tells the function.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(120);

/// What a function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// `…/error`: the function reported a failure (its body is Lambda's error JSON).
    Error(Bytes),
}

struct Invocation {
    id: String,
    payload: Bytes,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    queued: Notify,
    /// When the function first asked for an invocation: its init is over.
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
    init_error: Mutex<Option<Bytes>>,
    next_id: Mutex<u64>,
    function_arn: String,
}

/// The Runtime API of one function, on a free loopback port until dropped.
pub struct RuntimeApi {
    address: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> RuntimeApi {
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            ..Shared::default()
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the Runtime API");
        let address = listener.local_addr().expect("bound address").to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            address,
            shared,
            server,
        }
    }

    /// `host:port`, as Lambda sets `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// When the function first polled for an invocation, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    /// Waits for the function's first poll (the end of its init), at most `timeout`.
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let polled = self.shared.polled.notified();
            if let Some(at) = self.first_poll() {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, polled).await.is_err() {
                return self.first_poll();
            }
        }
    }

    /// What the function posted to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<Bytes> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Queues one invocation and waits for the function's answer, at most `timeout`.
    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Outcome, String> {
        let (answer, answered) = oneshot::channel();
        let id = {
            let mut n = self.shared.next_id.lock().unwrap();
            *n += 1;
            format!("req-{:08}", *n)
        };
        self.shared.queue.lock().unwrap().push_back(Invocation {
            id: id.clone(),
            payload: Bytes::from(payload.to_string()),
            answer,
        });
        self.shared.queued.notify_waiters();
        self.shared.queued.notify_one();
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(format!("invocation {id} was dropped unanswered")),
            Err(_) => Err(format!("invocation {id} got no answer within {timeout:?}")),
        }
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    shared.polled.notify_waiters();
    let invocation = loop {
        let queued = shared.queued.notified();
        if let Some(invocation) = shared.queue.lock().unwrap().pop_front() {
            break invocation;
        }
        queued.await;
    };
    let deadline = SystemTime::now() + INVOCATION_TIMEOUT;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    };
    set("lambda-runtime-aws-request-id", invocation.id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        format!("Root=1-00000000-{:024x};Sampled=0", deadline_ms),
    );
    set("content-type", "application/json".into());
    shared
        .in_flight
        .lock()
        .unwrap()
        .insert(invocation.id, invocation.answer);
    (StatusCode::OK, headers, invocation.payload).into_response()
}

fn settle(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.in_flight.lock().unwrap().remove(id) {
        Some(answer) => {
            let _ = answer.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda answers an unknown or already answered request id with 400 too.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &id, Outcome::Error(body))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(body);
    StatusCode::ACCEPTED
}

/// A function's binary running against its own Runtime API, killed when dropped.
pub struct Function {
    pub name: String,
    pub api: RuntimeApi,
    child: tokio::process::Child,
    started: Instant,
    log: Arc<Mutex<String>>,
}

impl Function {
    /// Starts `binary` with only `env` and what Lambda sets itself (function name, memory,
    /// version, the Runtime API address), as a fresh sandbox would.
    pub async fn start(name: &str, binary: &std::path::Path, env: &[(&str, &str)]) -> Function {
        let api = RuntimeApi::start(name).await;
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        crate::set_parent_death_signal(command.as_std_mut());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Function {
            name: name.to_owned(),
            api,
            child,
            started,
            log,
        }
    }

    /// What the function printed so far (its logs).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the function asks for its first invocation, and answers how long that took
    /// from exec; an error with its logs if it exits or takes longer than `timeout`.
    pub async fn ready(&mut self, timeout: Duration) -> Result<Duration, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(at) = self.api.first_poll() {
                return Ok(at - self.started);
            }
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                // Let the log readers catch up with what it printed before it ended.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "{} exited ({status}) before its first poll; init error: {:?}; log:\n{}",
                    self.name,
                    self.api.init_error(),
                    self.log()
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{} did not poll within {timeout:?}; log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            let _ = self.api.wait_first_poll(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the process to end (a failed init), at most `timeout`.
    pub async fn exited(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// One invocation with `payload`; the response parsed as JSON, or an error naming the
    /// function's error answer and its logs.
    pub async fn invoke(&self, payload: &serde_json::Value) -> Result<serde_json::Value, String> {
        match self.api.invoke(payload, INVOCATION_TIMEOUT).await? {
            Outcome::Response(body) => serde_json::from_slice(&body)
                .map_err(|e| format!("{} answered non-JSON ({e}): {body:?}", self.name)),
            Outcome::Error(body) => Err(format!(
                "{} reported an error: {}; log:\n{}",
                self.name,
                String::from_utf8_lossy(&body),
                self.log()
            )),
        }
    }
}

/// Where a function's release binary is: `HERALD_LAMBDA_BIN_DIR`, or else the release dir of
/// the target dir this test runs from. Panics, naming the build command, when it is missing or
/// older than the sources it is built from: a cloud-path test must never pass on an old build.
pub fn release_binary(name: &str) -> PathBuf {
    // A dir named explicitly (infra/test.sh, right after building) is taken as built from
    // these sources; the default one is checked against them.
    let (dir, vouched) = match std::env::var_os("HERALD_LAMBDA_BIN_DIR") {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), true),
        _ => {
            // target/<profile>/deps/<test binary> → target/release
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe
                .ancestors()
                .nth(3)
                .expect("the test runs inside a target dir")
                .join("release");
            (dir, false)
        }
    };
    let binary = dir.join(name);
    let build = "cargo build --release -p herald-intake -p herald-publisher -p herald-transcoder \
                 -p herald-aggregator -p herald-relay (infra/test.sh does this first)";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("no release binary {} ({e}): run {build}", binary.display()));
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !vouched
        && let Some((source, changed)) = newest_source(&workspace)
        && changed > built
    {
        panic!(
            "{} is older than {}: run {build}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// The most recently changed file the function binaries are built from: every crate's
/// manifest and `src/`, the lock file (the test tools themselves excluded).
fn newest_source(workspace: &std::path::Path) -> Option<(PathBuf, SystemTime)> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut consider = |path: PathBuf| {
        if let Ok(changed) = std::fs::metadata(&path).and_then(|m| m.modified())
            && newest.as_ref().is_none_or(|(_, t)| changed > *t)
        {
            newest = Some((path, changed));
        }
    };
    consider(workspace.join("Cargo.lock"));
    consider(workspace.join("Cargo.toml"));
    for group in ["functions", "shared"] {
        let Ok(crates) = std::fs::read_dir(workspace.join(group)) else {
            continue;
        };
        for krate in crates.flatten() {
            if krate.file_name() == "testkit" || krate.file_name() == "local" {
                continue;
            }
            consider(krate.path().join("Cargo.toml"));
            let mut dirs = vec![krate.path().join("src")];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else {
                        consider(path);
                    }
                }
            }
        }
    }
    newest
}
