//! Webhooks through `herald serve`, checked by the Standard Webhooks reference library (PyPI
//! `standardwebhooks`, run by infra/webhook_peer.py): a published post reaches a loopback
//! receiver that verifies it, the first attempt refused and the retry carrying the same id; an
//! inbound webhook signed by the library creates a post once, and a forged one nothing.

use crate::support::{self, Options, Server};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "webhooks-admin-key";

fn peer_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/webhook_peer.py")
}

/// The reference receiver, stopping by itself after a minute; killed on drop.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_published_post_reaches_a_receiver_that_the_reference_library_verifies_and_a_retry_keeps_its_id()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &dir.path().join("data"),
        dir.path(),
        1,
        Some(ADMIN),
        &Options::default().env("HERALD_ALLOW_LOOPBACK", "1"),
    );
    let (_, ws) = server.call(
        "POST",
        "/v1/workspaces",
        ADMIN,
        Some(&json!({"name": "Hooks"})),
    );
    let key = ws["api_key"].as_str().expect("api_key").to_owned();
    let (_, acct) = server.call(
        "POST",
        "/v1/accounts",
        &key,
        Some(&json!({"platform": "sandbox", "handle": "hooks"})),
    );
    let acct = acct["id"].as_str().expect("id").to_owned();

    let port = free_port();
    let secret_file = dir.path().join("secret");
    let out = dir.path().join("received.jsonl");
    let url = format!("http://127.0.0.1:{port}/hook");
    let (status, endpoint) = server.call(
        "POST",
        "/v1/webhooks/endpoints",
        &key,
        Some(&json!({"url": url, "events": ["post.published"]})),
    );
    assert_eq!(status, 201, "{endpoint}");
    std::fs::write(&secret_file, endpoint["secret"].as_str().unwrap()).unwrap();
    let mut child = Command::new("python3")
        .arg(peer_script())
        .args(["receive", &port.to_string()])
        .arg(&secret_file)
        .arg(&out)
        .args(["1", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 with standardwebhooks (infra/test.sh installs it)");
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first.trim(), "listening", "the receiver did not start");
    }
    let _receiver = Receiver(child);

    let (status, post) = server.call(
        "POST",
        "/v1/posts",
        &key,
        Some(&json!({"text": "Hello, receivers", "accounts": [acct]})),
    );
    assert_eq!(status, 201, "{post}");
    let post_id = post["id"].as_str().unwrap().to_owned();
    let (status, _) = server.call("POST", &format!("/v1/posts/{post_id}/publish"), &key, None);
    assert_eq!(status, 202);
    // Refused once (500), then retried 5 s later (±20%) with the same id.
    wait_for("the retry", Duration::from_secs(30), || {
        lines(&out).len() >= 2
    });
    let got = lines(&out);
    for g in &got {
        assert_eq!(g["verified"], true, "the reference library refused: {g}");
        assert_eq!(g["kind"], "post.published");
        assert_eq!(g["data"]["post"], post_id.as_str());
    }
    assert_eq!(got[0]["id"], got[1]["id"], "a retry keeps its id");
    let gap = got[1]["timestamp"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap()
        - got[0]["timestamp"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap();
    assert!((3..=7).contains(&gap), "retried after {gap} s");
    assert_eq!(
        (got[0]["status"].clone(), got[1]["status"].clone()),
        (json!(500), json!(200))
    );

    let ep = endpoint["id"].as_str().unwrap();
    let deliveries = || {
        server.call(
            "GET",
            &format!("/v1/webhooks/endpoints/{ep}/deliveries"),
            &key,
            None,
        )
    };
    // The receiver answers before Herald records its answer: wait for the record.
    wait_for(
        "the second attempt's record",
        Duration::from_secs(10),
        || {
            deliveries().1["items"]
                .as_array()
                .is_some_and(|i| i.len() >= 2)
        },
    );
    let (status, log) = deliveries();
    assert_eq!(status, 200, "{log}");
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[0]["response_code"], 500);
    assert_eq!(items[1]["status"], "delivered");
    assert_eq!(items[1]["attempt"], 2);
    assert_eq!(items[0]["id"], got[0]["id"]);
    // Nothing more arrives: delivered is done.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(&out).len(), 2);
}

fn sign_with_reference(secret: &str, id: &str, body_file: &Path) -> Value {
    let output = Command::new("python3")
        .arg(peer_script())
        .args(["sign", secret, id])
        .arg(body_file)
        .output()
        .expect("python3 with standardwebhooks (infra/test.sh installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("headers as JSON")
}

#[test]
fn an_inbound_webhook_signed_by_the_reference_library_creates_a_post_once_and_a_forged_one_nothing()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), dir.path(), 1, Some(ADMIN));
    let (_, ws) = server.call(
        "POST",
        "/v1/workspaces",
        ADMIN,
        Some(&json!({"name": "Shop"})),
    );
    let key = ws["api_key"].as_str().unwrap().to_owned();
    let ws_id = ws["id"].as_str().unwrap().to_owned();
    let (_, acct) = server.call(
        "POST",
        "/v1/accounts",
        &key,
        Some(&json!({"platform": "sandbox", "handle": "shop"})),
    );
    let (status, secret) = server.call("POST", "/v1/webhooks/inbound-secret", &key, None);
    assert_eq!(status, 201, "{secret}");
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let at = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let body =
        json!({"text": "From the shop", "accounts": [acct["id"]], "scheduled_at": at}).to_string();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    let path = format!("/hooks/v1/{ws_id}/posts");
    let send = |headers: &Value, body: &[u8]| {
        let mut h = vec![("Content-Type", "application/json")];
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            if let Some(v) = headers[name].as_str() {
                h.push((name, v));
            }
        }
        support::http_raw(server.addr, "POST", &path, &h, body).expect("request")
    };
    let headers = sign_with_reference(&secret, "msg_from_the_shop", &body_file);
    let (status, first) = send(&headers, body.as_bytes());
    assert_eq!(status, 202, "{first}");
    // The sender's retry: signed again by the library, same id.
    let again = sign_with_reference(&secret, "msg_from_the_shop", &body_file);
    let (status, second) = send(&again, body.as_bytes());
    assert_eq!(status, 202, "{second}");
    assert_eq!(first["id"], second["id"]);
    // Forged forms: another secret, a changed body, an empty `v1,`.
    let other = sign_with_reference(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_forged",
        &body_file,
    );
    assert_eq!(send(&other, body.as_bytes()).0, 401);
    let changed = body.replace("shop", "sh0p");
    assert_eq!(send(&headers, changed.as_bytes()).0, 401);
    let mut empty = headers.clone();
    empty["webhook-signature"] = json!("v1,");
    assert_eq!(send(&empty, body.as_bytes()).0, 401);
    assert_eq!(send(&json!({}), body.as_bytes()).0, 401);

    let from = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (chrono::Utc::now() + chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, calendar) =
        server.call("GET", &format!("/v1/posts?from={from}&to={to}"), &key, None);
    assert_eq!(status, 200, "{calendar}");
    let items = calendar["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one post: {calendar}");
    assert_eq!(items[0]["id"], first["id"]);
}
