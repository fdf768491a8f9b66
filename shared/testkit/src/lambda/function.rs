//! A function's binary as a Lambda sandbox runs it: its own Runtime API, Lambda's environment
//! and nothing else, its output kept as its log.

use super::runtime_api::{INVOCATION_TIMEOUT, Outcome, RuntimeApi};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

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
        Self::start_program(name, binary, &[], env).await
    }

    /// As `start`, for a program that takes arguments (an interpreter and its script: the
    /// cold-start benchmark's Node.js reference).
    pub async fn start_program(
        name: &str,
        binary: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Function {
        let api = RuntimeApi::start(name).await;
        let mut command = tokio::process::Command::new(binary);
        command
            .args(args)
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

    /// The process's peak resident memory so far (Linux `VmHWM`), in KiB.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
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
