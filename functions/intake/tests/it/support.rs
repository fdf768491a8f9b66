//! One in-process Herald per test: the embedded table in memory, blobs in a temp dir, the
//! in-process bus, a manual clock and the sandbox network, behind the intake router. Requests
//! go through `oneshot`; no socket is opened.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use herald_adapters::{FsBlobStore, InProcessBus, ManualClock};
use herald_app::Deps;
use herald_app::publish::{Dispatcher, PublishOptions, RunReport};
use herald_domain::Platform;
use herald_networks::bluesky::BlueskyConnector;
use herald_networks::crypto::Sealer;
use herald_networks::guard::Guard;
use herald_networks::sandbox::SandboxConnector;
use herald_ports::{BlobStore, Clock, Connector, Connectors, EventBus, Table};
use herald_storage::embedded::EmbeddedTable;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin";

pub struct App {
    pub deps: Deps,
    pub clock: Arc<ManualClock>,
    router: Router,
    _blobs: tempfile::TempDir,
}

/// An answer, its body parsed as JSON (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status, and answers it.
    #[track_caller]
    pub fn problem(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "answer: {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "answer: {self:?}"
        );
        let b = &self.body;
        assert!(b["type"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
        assert!(b["title"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
        assert_eq!(b["status"], status.as_u16(), "{b}");
        assert!(b["detail"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
        b
    }

    /// Asserts a 422 whose field errors name `field`, and answers the message given for it.
    #[track_caller]
    pub fn invalid_field(&self, field: &str) -> String {
        let b = self.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let errors = b["errors"].as_array().cloned().unwrap_or_default();
        let hit = errors.iter().find(|e| e["field"] == field);
        let Some(hit) = hit else {
            panic!("no error names {field:?}: {b}");
        };
        hit["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// A workspace and its owner key.
#[derive(Clone, Debug)]
pub struct Ws {
    pub id: String,
    pub key: String,
}

/// What "nothing was written" is checked against: the calendar and the account list.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    calendar: Value,
    accounts: Value,
}

impl App {
    pub async fn new() -> App {
        App::with_connectors(Connectors::new()).await
    }

    /// An app whose server is registered with more networks (`extra` added to the sandbox's).
    pub async fn with_connectors(extra: Connectors) -> App {
        App::build(extra, Arc::new(herald_adapters::InlineWakeUps)).await
    }

    /// An app whose wake-ups are `wakeups` (a recording fake of the AWS ones).
    pub async fn with_wakeups(wakeups: Arc<dyn herald_ports::WakeUps>) -> App {
        App::build(Connectors::new(), wakeups).await
    }

    async fn build(extra: Connectors, wakeups: Arc<dyn herald_ports::WakeUps>) -> App {
        let blobs_dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(start()));
        let clock_dyn: Arc<dyn Clock> = clock.clone();
        let table: Arc<dyn Table> = Arc::new(EmbeddedTable::in_memory().expect("in-memory table"));
        let blobs: Arc<dyn BlobStore> = Arc::new(
            FsBlobStore::new(
                blobs_dir.path(),
                "http://127.0.0.1:9",
                b"blob url signing key".to_vec(),
                clock_dyn.clone(),
            )
            .expect("blob store"),
        );
        let mut connectors = Connectors::new();
        connectors.insert(
            Platform::Sandbox,
            Arc::new(SandboxConnector::new(table.clone(), clock_dyn.clone())) as Arc<dyn Connector>,
        );
        // A pasted-credential network, so account creation reaches its credential checks.
        // Nothing here calls it: creating an account makes no network call.
        connectors.insert(
            Platform::Bluesky,
            Arc::new(BlueskyConnector::new(
                Guard::new(false),
                blobs.clone(),
                clock_dyn.clone(),
            )),
        );
        connectors.extend(extra);
        let deps = Deps {
            table,
            blobs,
            bus: Arc::new(InProcessBus::new()) as Arc<dyn EventBus>,
            clock: clock_dyn,
            random: Arc::new(herald_adapters::SeededRandom::new(9)),
            connectors: Arc::new(connectors),
            sealer: Arc::new(Sealer::new([7; 32])),
            guard: Arc::new(herald_networks::guard::Guard::new(false)),
            oauth: Default::default(),
            wakeups,
            video: Arc::new(herald_adapters::Ffmpeg::new(None)),
        };
        herald_app::auth::ensure_admin_key(&deps, Some(ADMIN))
            .await
            .expect("admin key");
        // Tests drive many requests on a stopped clock: allowances are tested on their own.
        let router = herald_intake::router_with_limits(
            Arc::new(deps.clone()),
            herald_app::api_rate::ApiLimits::unlimited(),
        );
        App {
            deps,
            clock,
            router,
            _blobs: blobs_dir,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A time `by` from the clock's now, as RFC 3339.
    pub fn at(&self, by: Duration) -> String {
        rfc3339(self.now() + by)
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
    }

    pub async fn get(&self, uri: &str, key: &str) -> Answer {
        self.call(Method::GET, uri, Some(key), None).await
    }

    pub async fn post(&self, uri: &str, key: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(key), Some(body)).await
    }

    /// A raw body with a chosen content type.
    pub async fn post_raw(
        &self,
        uri: &str,
        key: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("request");
        self.send(request).await
    }

    pub async fn workspace(&self, name: &str) -> Ws {
        let a = self
            .post("/v1/workspaces", ADMIN, json!({ "name": name }))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        Ws {
            id: a.body["id"].as_str().expect("id").to_owned(),
            key: a.body["api_key"].as_str().expect("api_key").to_owned(),
        }
    }

    /// A new member of `ws` with `role`: their id and key.
    pub async fn member(&self, ws: &Ws, role: &str) -> (String, String) {
        let a = self
            .post(
                "/v1/members",
                &ws.key,
                json!({ "name": role, "role": role }),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        (
            a.body["id"].as_str().expect("id").to_owned(),
            a.body["api_key"].as_str().expect("api_key").to_owned(),
        )
    }

    /// Turns approvals on (or off) as the workspace's owner.
    pub async fn approvals(&self, ws: &Ws, on: bool) {
        let a = self
            .call(
                Method::PATCH,
                "/v1/workspace",
                Some(&ws.key),
                Some(json!({ "approvals": on })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }

    pub async fn sandbox(&self, ws: &Ws, handle: &str) -> String {
        let a = self
            .post(
                "/v1/accounts",
                &ws.key,
                json!({ "platform": "sandbox", "handle": handle }),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        a.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a post and answers its id; panics unless 201.
    pub async fn create_post(&self, ws: &Ws, body: Value) -> String {
        let a = self.post("/v1/posts", &ws.key, body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        a.body["id"].as_str().expect("id").to_owned()
    }

    pub async fn post_view(&self, ws: &Ws, id: &str) -> Value {
        let a = self.get(&format!("/v1/posts/{id}"), &ws.key).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        a.body
    }

    /// The calendar over a wide window around now.
    pub async fn calendar(&self, ws: &Ws) -> Vec<Value> {
        let from = rfc3339(self.now() - Duration::days(30));
        let to = rfc3339(self.now() + Duration::days(300));
        let a = self
            .get(&format!("/v1/posts?from={from}&to={to}"), &ws.key)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        a.body["items"].as_array().expect("items").clone()
    }

    pub async fn outbox(&self, ws: &Ws, account: &str) -> Vec<Value> {
        let a = self
            .get(&format!("/v1/sandbox/{account}/outbox"), &ws.key)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        a.body["items"].as_array().expect("items").clone()
    }

    pub async fn snapshot(&self, ws: &Ws) -> Snapshot {
        let accounts = self.get("/v1/accounts", &ws.key).await;
        assert_eq!(accounts.status, StatusCode::OK, "{accounts:?}");
        Snapshot {
            calendar: Value::Array(self.calendar(ws).await),
            accounts: accounts.body,
        }
    }

    /// One publisher run over what is due now, as the scheduled function does it.
    pub async fn run_publisher(&self) -> RunReport {
        Dispatcher::new(
            self.deps.clone(),
            PublishOptions {
                lookahead: Duration::zero(),
                ..PublishOptions::default()
            },
        )
        .run_once()
        .await
        .expect("publisher run")
    }
}

/// A fixed start, so every run of the suite sees the same times.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 3, 9, 0, 0)
        .single()
        .expect("a valid time")
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
