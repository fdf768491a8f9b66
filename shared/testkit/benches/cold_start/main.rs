//! Cold start, as deployed: each function's release binary (`HERALD_BACKEND=aws`, its template
//! environment, every client built) started through a loopback Lambda Runtime API against
//! moto, side by side in the same run with a minimal Node.js AWS SDK v3 function (one DynamoDB
//! client, one GetItem; `node/`). Per function: init (exec to first poll of the Runtime API),
//! the first invocation's round trip, peak resident memory, binary size.
//!
//! Run: build the release binaries as deployed (`AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build
//! --release -p herald-intake -p herald-publisher
//! -p herald-transcoder -p herald-aggregator -p herald-relay
//! -p herald-webhooks`), then
//! `cargo bench -p herald-testkit --bench cold_start` (ROUNDS=n to change the 15 rounds).

#[allow(dead_code)]
#[path = "../../tests/cloud_path/cloud.rs"]
mod cloud;
#[allow(dead_code)]
#[path = "../../tests/cloud_path/events.rs"]
mod events;
#[allow(dead_code)]
#[path = "../../tests/cloud_path/template.rs"]
mod template;

use herald_testkit::lambda::{Function, release_binary};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "hk_admin_cold-start-bench-0001";

/// What each function is first invoked with: an event it handles and that touches nothing.
fn first_event(function: &str) -> Value {
    match function {
        "IntakeFunction" => events::api_event("GET", "/healthz", "", &Value::Null),
        "PublisherFunction" | "WebhooksFunction" => events::schedule_event(),
        "RelayFunction" => events::stream_event(&[]),
        "TranscoderFunction" => json!({ "Records": [] }),
        "AggregatorFunction" => json!({
            "version": "0", "id": "cold-start", "detail-type": "post.cancelled",
            "source": "herald", "account": cloud::ACCOUNT, "region": cloud::REGION,
            "time": "2026-12-01T09:00:00Z", "resources": [],
            "detail": {"id": "evt_00000000000000000000000000", "kind": "post.cancelled",
                       "workspace": "ws_00000000000000000000000000", "time": "2026-12-01T09:00:00Z",
                       "data": {"post": "post_00000000000000000000000000", "cancelled_at": "2026-12-01T09:00:00Z"}}
        }),
        _ => json!({}),
    }
}

struct Sample {
    init: Duration,
    first: Duration,
    peak_kib: u64,
}

async fn measure(mut f: Function, event: &Value) -> Sample {
    let init = f
        .ready(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let at = Instant::now();
    f.invoke(event).await.unwrap_or_else(|e| panic!("{e}"));
    let first = at.elapsed();
    let peak_kib = f.peak_memory_kib().unwrap_or(0);
    Sample {
        init,
        first,
        peak_kib,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Installs the reference's one npm dependency on first use.
fn node_reference() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/cold_start/node");
    if !dir.join("node_modules/@aws-sdk/client-dynamodb").exists() {
        eprintln!("installing the Node.js reference's AWS SDK (npm ci)…");
        let ok = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm")
            .success();
        assert!(ok, "npm ci failed in {}", dir.display());
    }
    dir.join("index.mjs")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let node = which("node");
    let script = node_reference();
    let cloud = cloud::Cloud::create("coldstart").await;
    cloud.put_admin_key_parameter(ADMIN_KEY).await;
    let functions = [
        "IntakeFunction",
        "PublisherFunction",
        "TranscoderFunction",
        "AggregatorFunction",
        "RelayFunction",
        "WebhooksFunction",
    ];
    let mut rows: Vec<(String, Vec<Sample>, Option<u64>)> = functions
        .iter()
        .map(|f| {
            let size = std::fs::metadata(release_binary(&cloud.template.binary(f)))
                .ok()
                .map(|m| m.len());
            (f.to_string(), Vec::new(), size)
        })
        .collect();
    rows.push(("Node.js 20 + SDK v3 (reference)".into(), Vec::new(), None));
    let node_env = [
        ("HERALD_TABLE", cloud.table.as_str()),
        ("HERALD_AWS_ENDPOINT", cloud.endpoint.as_str()),
        ("AWS_REGION", cloud::REGION),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("PATH", "/usr/bin:/bin"),
    ];
    for round in 0..rounds {
        eprint!("\rround {}/{rounds}", round + 1);
        // One at a time, alternating, so each start has the machine as the others had it.
        for (i, function) in functions.iter().enumerate() {
            let f = cloud.start(function, &[]).await;
            rows[i].1.push(measure(f, &first_event(function)).await);
        }
        let f = Function::start_program(
            &format!("node-reference-{}", cloud.table),
            &node,
            &[script.to_str().expect("a UTF-8 path")],
            &node_env,
        )
        .await;
        let last = rows.len() - 1;
        rows[last].1.push(measure(f, &json!({})).await);
    }
    eprintln!();
    let reference_init = median(rows.last().unwrap().1.iter().map(|s| s.init).collect());
    println!(
        "| function | init median (min) ms | first invoke median ms | peak RSS MiB | binary MiB | init vs Node |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, samples, size) in &rows {
        let init = median(samples.iter().map(|s| s.init).collect());
        let min = samples.iter().map(|s| s.init).min().unwrap();
        let first = median(samples.iter().map(|s| s.first).collect());
        let peak = samples.iter().map(|s| s.peak_kib).max().unwrap_or(0);
        println!(
            "| {name} | {} ({}) | {} | {:.1} | {} | {:.1}x |",
            ms(init),
            ms(min),
            ms(first),
            peak as f64 / 1024.0,
            size.map(|b| format!("{:.1}", b as f64 / 1_048_576.0))
                .unwrap_or_else(|| "-".into()),
            reference_init.as_secs_f64() / init.as_secs_f64(),
        );
    }
    println!("({rounds} cold starts each, one at a time, against moto on loopback)");
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{program} not found on PATH"))
}
