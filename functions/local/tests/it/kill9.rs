//! `herald serve` killed with SIGKILL while it publishes, restarted on the same data directory,
//! several times: in the end every target is published and every sandbox account received each
//! post exactly once. No loss, no duplicate, whatever moment the process died at.
//!
//! The test drives the real binary over HTTP; the harness is in `support`.

use crate::support;

use herald_adapters::SystemClock;
use herald_ports::Clock;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::Server;

const ADMIN: &str = "kill9-admin-key";
const POSTS: usize = 300;
const ACCOUNTS: usize = 3;
/// When the first post is due, counted from the start of creating them.
const FIRST_DUE: Duration = Duration::from_millis(2_500);
/// Posts are spread over this much time.
const SPREAD: Duration = Duration::from_millis(1_500);
/// How long after the first post is due each server dies, counted from its own start for the
/// restarted ones: early, middle and late in the publishing window.
const KILLS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(350),
    Duration::from_millis(450),
];
const SETTLE: Duration = Duration::from_secs(60);

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// From a run's log: how many targets recovery took up at start (those claimed by the killed
/// run and those due within a lease), and how many reconciliation found already on the network
/// (sent before a kill, recorded only after the restart).
fn recovery_counts(log: &str) -> (u64, u64) {
    let mut resolved = 0;
    let mut confirmed = 0;
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match entry["fields"]["message"].as_str() {
            Some("resolving work an earlier run left in flight") => {
                resolved += entry["fields"]["targets"].as_u64().unwrap_or(0)
            }
            Some("earlier attempt found on the network") => confirmed += 1,
            _ => {}
        }
    }
    (resolved, confirmed)
}

#[test]
fn posts_survive_repeated_kill_9_while_publishing_with_no_loss_and_no_duplicate() {
    let clock = SystemClock;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");

    let mut server = Server::start(&data, &logs, 1, Some(ADMIN));
    let (status, ws) = server.call(
        "POST",
        "/v1/workspaces",
        ADMIN,
        Some(&json!({"name": "kill9"})),
    );
    assert_eq!(status, 201, "{ws}");
    let key = ws["api_key"].as_str().expect("api_key").to_owned();
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| {
            let (status, a) = server.call(
                "POST",
                "/v1/accounts",
                &key,
                Some(&json!({"platform": "sandbox", "handle": format!("kill9-{i}")})),
            );
            assert_eq!(status, 201, "{a}");
            a["id"].as_str().expect("id").to_owned()
        })
        .collect();

    let created_at = Instant::now();
    let first_due = clock.now() + chrono::Duration::from_std(FIRST_DUE).unwrap();
    let step = SPREAD / POSTS as u32;
    let mut posts = Vec::with_capacity(POSTS);
    for i in 0..POSTS {
        let text = format!("kill9 post {i:03}");
        let planned = first_due + chrono::Duration::from_std(step * i as u32).unwrap();
        // On a loaded machine creating may outrun the plan: never ask for a time gone by.
        let at = planned.max(clock.now() + chrono::Duration::milliseconds(100));
        let (status, post) = server.call(
            "POST",
            "/v1/posts",
            &key,
            Some(&json!({"text": text, "accounts": accounts, "scheduled_at": rfc3339(at)})),
        );
        assert_eq!(status, 201, "{post}");
        posts.push((post["id"].as_str().expect("id").to_owned(), text));
    }
    let creating = created_at.elapsed();
    println!(
        "created {POSTS} posts x {ACCOUNTS} accounts in {} ms",
        creating.as_millis()
    );

    // The first kill lands a little after the first post fell due; each restarted server is
    // killed again a little after it came up, while the rest is still going out.
    let first_kill = (created_at + FIRST_DUE + KILLS[0]).saturating_duration_since(Instant::now());
    std::thread::sleep(first_kill);
    let mut runs = 1;
    for (n, delay) in KILLS.iter().enumerate() {
        if n > 0 {
            std::thread::sleep(*delay);
        }
        server.kill();
        println!(
            "kill {} at {} ms after the first post was due",
            n + 1,
            (Instant::now() - created_at).as_millis() as i64 - FIRST_DUE.as_millis() as i64
        );
        runs += 1;
        server = Server::start(&data, &logs, runs, Some(ADMIN));
    }

    // Wait until every post has gone out, through the last server.
    let deadline = Instant::now() + SETTLE;
    let mut views: BTreeMap<String, Value> = BTreeMap::new();
    loop {
        for (id, _) in &posts {
            if views.get(id).is_some_and(|v| v["status"] == "published") {
                continue;
            }
            let (status, view) = server.call("GET", &format!("/v1/posts/{id}"), &key, None);
            assert_eq!(status, 200, "{view}");
            views.insert(id.clone(), view);
        }
        let pending = views
            .values()
            .filter(|v| v["status"] != "published")
            .count();
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} posts not published after {} s: {:?}",
            SETTLE.as_secs(),
            views.values().find(|v| v["status"] != "published")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "all published {} ms after the first post was due",
        (Instant::now() - created_at).as_millis() as i64 - FIRST_DUE.as_millis() as i64
    );

    // Every target published, and bound to what its network really holds.
    let mut remote_ids: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut attempts_over_one = 0;
    for (id, text) in &posts {
        let view = &views[id];
        let targets = view["targets"].as_array().expect("targets");
        assert_eq!(targets.len(), ACCOUNTS, "{view}");
        for t in targets {
            assert_eq!(t["status"], "published", "{view}");
            let remote_id = t["remote_id"].as_str().expect("remote_id");
            remote_ids.insert(
                (t["account"].as_str().unwrap().to_owned(), text.clone()),
                remote_id.to_owned(),
            );
            if t["attempts"].as_u64().unwrap_or(0) > 1 {
                attempts_over_one += 1;
            }
        }
    }

    // Each account received each post exactly once.
    for account in &accounts {
        // The outbox pages (API.md, "Lists"): read every page.
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/v1/sandbox/{account}/outbox?limit=500"),
                Some(c) => format!("/v1/sandbox/{account}/outbox?limit=500&cursor={c}"),
            };
            let (status, page) = server.call("GET", &path, &key, None);
            assert_eq!(status, 200, "{page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut received: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for item in &items {
            received
                .entry(item["text"].as_str().expect("text"))
                .or_default()
                .push(item["remote_id"].as_str().expect("remote_id"));
        }
        let duplicated: Vec<_> = received.iter().filter(|(_, ids)| ids.len() > 1).collect();
        assert!(
            duplicated.is_empty(),
            "{account} received some posts more than once: {duplicated:?}"
        );
        for (_, text) in &posts {
            let Some(ids) = received.get(text.as_str()) else {
                panic!("{account} never received {text:?}");
            };
            assert_eq!(
                Some(&ids[0].to_owned()),
                remote_ids.get(&(account.clone(), text.clone())),
                "the target records the post the network holds ({account}, {text})"
            );
        }
        assert_eq!(items.len(), POSTS, "{account}: nothing else arrived");
    }

    let mut resolved = 0;
    let mut confirmed = 0;
    for run in 2..=runs {
        let (r, c) = recovery_counts(
            &std::fs::read_to_string(logs.join(format!("run-{run}.log"))).unwrap_or_default(),
        );
        println!(
            "run {run}: recovery took up {r} targets (claimed or due within the lease), \
             {c} found already sent"
        );
        resolved += r;
        confirmed += c;
    }
    println!(
        "{} targets published exactly once across {} kills; {resolved} taken up by recovery at restarts, \
         {confirmed} found already sent and confirmed by reconciliation, {attempts_over_one} needed more than one attempt",
        POSTS * ACCOUNTS,
        KILLS.len()
    );
}
