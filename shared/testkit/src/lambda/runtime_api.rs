//! The Runtime API itself: a queue of invocations, handed out one per poll, each answered once.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long an invocation may run, as the deadline header tells the function.
pub(super) const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

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
