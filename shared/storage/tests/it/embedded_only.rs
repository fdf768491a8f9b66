//! What only the embedded store has to prove: durability across reopen and crash, TTL purge,
//! and refusal of keys it cannot order.

use crate::support::{TempDir, item, s, sks};
use herald_ports::{Condition, Key, Query, Table, TableError, Update, Value};
use herald_storage::EmbeddedTable;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = TempDir::new();
    let path = dir.path("t.redb");
    {
        let table = EmbeddedTable::open(&path).unwrap();
        table
            .put(
                item("P", "a", &[("gsi1pk", s("G")), ("gsi1sk", s("1"))]),
                None,
            )
            .await
            .unwrap();
        table
            .update(&Key::new("P", "b"), Update::new().add("n", 3), None)
            .await
            .unwrap();
    }
    let table = EmbeddedTable::open(&path).unwrap();
    assert_eq!(
        table.get(&Key::new("P", "b")).await.unwrap(),
        Some(item("P", "b", &[("n", Value::N(3))]))
    );
    let indexed = table.query_all(Query::index("gsi1", "G")).await.unwrap();
    assert_eq!(sks(&indexed), ["a"]);
}

#[tokio::test]
async fn purge_expired_deletes_only_items_past_their_ttl() {
    let table = EmbeddedTable::in_memory().unwrap();
    let ttl = |t: i64| ("ttl", Value::N(t));
    table
        .put(item("P", "old", &[ttl(100)]), None)
        .await
        .unwrap();
    table
        .put(
            item(
                "P",
                "old-indexed",
                &[ttl(-5), ("gsi1pk", s("G")), ("gsi1sk", s("x"))],
            ),
            None,
        )
        .await
        .unwrap();
    table
        .put(item("P", "edge", &[ttl(1000)]), None)
        .await
        .unwrap();
    table
        .put(item("P", "later", &[ttl(5000)]), None)
        .await
        .unwrap();
    table.put(item("P", "forever", &[]), None).await.unwrap();
    // A ttl moved into the future must not be purged by its old value.
    table
        .put(item("P", "renewed", &[ttl(10)]), None)
        .await
        .unwrap();
    table
        .update(
            &Key::new("P", "renewed"),
            Update::new().set("ttl", 9000),
            None,
        )
        .await
        .unwrap();
    // A ttl that is not a number is no expiry at all, as in DynamoDB.
    table
        .put(item("P", "text-ttl", &[("ttl", s("10"))]), None)
        .await
        .unwrap();

    assert_eq!(table.purge_expired(1000).await.unwrap(), 2);
    let left = table.query_all(Query::table("P")).await.unwrap();
    assert_eq!(
        sks(&left),
        ["edge", "forever", "later", "renewed", "text-ttl"]
    );
    assert!(
        table
            .query_all(Query::index("gsi1", "G"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(table.purge_expired(1000).await.unwrap(), 0);
    assert_eq!(table.purge_expired(6000).await.unwrap(), 2);
    let left = table.query_all(Query::table("P")).await.unwrap();
    assert_eq!(sks(&left), ["forever", "renewed", "text-ttl"]);
}

#[tokio::test]
async fn keys_with_nul_bytes_or_empty_keys_are_refused() {
    let table = EmbeddedTable::in_memory().unwrap();
    for bad in [
        item("a\0b", "s", &[]),
        item("p", "s\0", &[]),
        item("", "s", &[]),
    ] {
        let err = table.put(bad, None).await.unwrap_err();
        assert!(matches!(err, TableError::Invalid(_)), "{err:?}");
    }
    let err = table
        .put(
            item("p", "s", &[("gsi1pk", s("x\0y")), ("gsi1sk", s("z"))]),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Invalid(_)), "{err:?}");
    let err = table
        .put(item("p", "s", &[("gsi1pk", Value::N(1))]), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Invalid(_)), "{err:?}");
    assert!(table.query_all(Query::table("p")).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_update_in_a_batch_leaves_the_other_writes_in_it_alone() {
    let table = EmbeddedTable::in_memory().unwrap();
    table
        .put(item("P", "text", &[("n", s("not a number"))]), None)
        .await
        .unwrap();
    // Sent together, these land in one group commit; only the bad one may fail.
    let (text, ctr) = (Key::new("P", "text"), Key::new("P", "ctr"));
    let (bad, good, guarded) = tokio::join!(
        table.update(&text, Update::new().add("n", 1), None),
        table.put(item("P", "fine", &[]), Some(Condition::item_absent())),
        table.update(&ctr, Update::new().add("n", 1), None),
    );
    assert!(matches!(bad, Err(TableError::Invalid(_))), "{bad:?}");
    good.unwrap();
    assert_eq!(guarded.unwrap().get("n"), Some(&Value::N(1)));
    assert_eq!(
        table.get(&Key::new("P", "text")).await.unwrap(),
        Some(item("P", "text", &[("n", s("not a number"))]))
    );
}

#[tokio::test]
async fn comparing_a_number_with_a_string_is_false() {
    let table = EmbeddedTable::in_memory().unwrap();
    table
        .put(item("P", "S", &[("n", Value::N(5))]), None)
        .await
        .unwrap();
    for c in [
        Condition::Lt("n".into(), s("9")),
        Condition::Ge("n".into(), s("0")),
    ] {
        let err = table
            .update(
                &Key::new("P", "S"),
                Update::new().set("x", 1),
                Some(c.clone()),
            )
            .await
            .unwrap_err();
        assert!(err.is_condition_failed(), "{c:?}: {err:?}");
    }
}

/// The environment variable that turns `crash_writer` into the child of the crash test.
const CRASH_DB: &str = "HERALD_TEST_CRASH_DB";

/// Not a test on its own: the child process of the crash test, which writes until killed and
/// reports each acknowledged write on stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_write_acknowledged_before_a_kill_survives_it"]
async fn crash_writer() {
    let path = std::env::var(CRASH_DB).expect("only run as the crash test's child");
    let table = EmbeddedTable::open(path).unwrap();
    let table = std::sync::Arc::new(table);
    let writers = (0..8).map(|w| {
        let table = table.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let sk = format!("w{w}-{i:06}");
                table
                    .put(item("CRASH", &sk, &[("v", Value::N(i))]), None)
                    .await
                    .unwrap();
                let mut out = std::io::stdout().lock();
                writeln!(out, "acked {sk}").unwrap();
                out.flush().unwrap();
            }
        })
    });
    futures::future::join_all(writers).await;
}

#[tokio::test]
async fn a_write_acknowledged_before_a_kill_survives_it() {
    let dir = TempDir::new();
    let path = dir.path("crash.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "embedded_only::crash_writer",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CRASH_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let acked = tokio::task::spawn_blocking(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(sk) = line.strip_prefix("acked ") {
                acked.push(sk.to_owned());
                if acked.len() == 300 {
                    break;
                }
            }
        }
        acked
    })
    .await
    .unwrap();
    // SIGKILL: no destructor, no flush, no clean close of the database.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(acked.len(), 300, "the child stopped before writing enough");

    let table = EmbeddedTable::open(&path).unwrap();
    let stored = table.query_all(Query::table("CRASH")).await.unwrap();
    let stored = sks(&stored);
    for sk in &acked {
        assert!(
            stored.binary_search(sk).is_ok(),
            "acknowledged write {sk} lost"
        );
    }
}
