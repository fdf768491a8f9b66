//! Behaviour both backends must share. Each `async fn` below runs twice, as
//! `conformance::embedded::<name>` and `conformance::dynamo::<name>`.

use crate::support::{item, s, sks};
use futures::future::join_all;
use herald_ports::{Condition, Key, Query, SortCondition, Table, TableError, TxOp, Update, Value};
use std::collections::BTreeMap;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (table, _dir) = crate::support::embedded();
                    super::$name(&table).await;
                }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let table = crate::support::dynamo(stringify!($name)).await;
                    super::$name(&table).await;
                }
            )*
        }
    };
}

conformance!(
    every_value_type_round_trips_through_put_and_get,
    a_missing_item_reads_as_none,
    a_put_replaces_the_whole_item,
    a_create_guarded_by_absence_succeeds_once,
    a_write_guarded_by_presence_fails_on_a_missing_item,
    conditions_combine_with_and_or_not_and_comparisons,
    comparisons_with_missing_attributes_or_other_types_are_false,
    a_failed_condition_returns_the_current_item_and_changes_nothing,
    an_update_of_an_absent_item_creates_it_with_its_key,
    an_update_sets_removes_and_adds_and_returns_the_new_item,
    fifty_concurrent_adds_add_up_to_fifty,
    a_delete_returns_the_old_item_and_a_guarded_delete_can_refuse,
    queries_honour_every_sort_condition,
    queries_run_backward_and_page_through_everything_once,
    indexes_hold_only_items_with_both_index_attributes,
    an_item_leaves_an_index_when_its_attribute_is_removed_or_changed,
    index_queries_page_and_run_backward,
    a_transaction_with_a_failing_condition_writes_nothing_and_names_the_positions,
    a_transaction_applies_puts_updates_deletes_and_checks_together,
    exactly_one_of_many_concurrent_claims_wins,
    get_many_returns_the_items_that_exist,
    a_query_on_an_unknown_index_is_invalid,
);

async fn every_value_type_round_trips_through_put_and_get(table: &dyn Table) {
    let mut map = BTreeMap::new();
    map.insert("inner".to_owned(), Value::L(vec![Value::N(-7), s("x")]));
    map.insert("flag".to_owned(), Value::Bool(false));
    let stored = item(
        "P",
        "S",
        &[
            ("s", s("héllo wörld")),
            ("n", Value::N(1_700_000_000_123)),
            ("neg", Value::N(-42)),
            ("big", Value::N(i64::MAX)),
            ("b", Value::B(vec![0, 1, 2, 254, 255])),
            ("t", Value::Bool(true)),
            ("f", Value::Bool(false)),
            ("null", Value::Null),
            ("l", Value::L(vec![s("a"), Value::N(1), Value::Null])),
            ("m", Value::M(map)),
        ],
    );
    table.put(stored.clone(), None).await.unwrap();
    let read = table.get(&Key::new("P", "S")).await.unwrap();
    assert_eq!(read, Some(stored));
}

async fn a_missing_item_reads_as_none(table: &dyn Table) {
    table.put(item("P", "here", &[]), None).await.unwrap();
    assert_eq!(table.get(&Key::new("P", "absent")).await.unwrap(), None);
    assert_eq!(table.get(&Key::new("Q", "here")).await.unwrap(), None);
}

async fn a_put_replaces_the_whole_item(table: &dyn Table) {
    table
        .put(
            item("P", "S", &[("a", Value::N(1)), ("b", Value::N(2))]),
            None,
        )
        .await
        .unwrap();
    table
        .put(item("P", "S", &[("c", Value::N(3))]), None)
        .await
        .unwrap();
    let read = table.get(&Key::new("P", "S")).await.unwrap().unwrap();
    assert_eq!(read, item("P", "S", &[("c", Value::N(3))]));
}

async fn a_create_guarded_by_absence_succeeds_once(table: &dyn Table) {
    let first = item("P", "S", &[("v", s("first"))]);
    table
        .put(first.clone(), Some(Condition::item_absent()))
        .await
        .unwrap();
    let err = table
        .put(
            item("P", "S", &[("v", s("second"))]),
            Some(Condition::item_absent()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TableError::ConditionFailed {
            current: Some(Box::new(first.clone()))
        }
    );
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), Some(first));
}

async fn a_write_guarded_by_presence_fails_on_a_missing_item(table: &dyn Table) {
    let err = table
        .put(item("P", "S", &[]), Some(Condition::item_present()))
        .await
        .unwrap_err();
    assert_eq!(err, TableError::ConditionFailed { current: None });
    let err = table
        .update(
            &Key::new("P", "S"),
            Update::new().set("a", 1),
            Some(Condition::item_present()),
        )
        .await
        .unwrap_err();
    assert_eq!(err, TableError::ConditionFailed { current: None });
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
}

async fn conditions_combine_with_and_or_not_and_comparisons(table: &dyn Table) {
    let key = Key::new("P", "S");
    table
        .put(
            item(
                "P",
                "S",
                &[
                    ("status", s("scheduled")),
                    ("lease", Value::N(100)),
                    ("name", s("bob")),
                ],
            ),
            None,
        )
        .await
        .unwrap();
    let holds = [
        Condition::eq("status", "scheduled").and(Condition::Lt("lease".into(), Value::N(101))),
        Condition::eq("status", "published").or(Condition::Le("lease".into(), Value::N(100))),
        Condition::Not(Box::new(Condition::eq("status", "published"))),
        Condition::Gt("lease".into(), Value::N(99))
            .and(Condition::Ge("lease".into(), Value::N(100))),
        Condition::Ne("status".into(), s("failed")),
        // Not-equal holds for a missing attribute: nothing is not equal to anything.
        Condition::Ne("missing".into(), Value::N(1)),
        Condition::Exists("name".into()).and(Condition::NotExists("owner".into())),
        Condition::Gt("name".into(), s("alice")).and(Condition::Lt("name".into(), s("carol"))),
        Condition::Or(vec![
            Condition::eq("status", "x"),
            Condition::And(vec![
                Condition::eq("name", "bob"),
                Condition::Not(Box::new(Condition::Exists("owner".into()))),
            ]),
        ]),
    ];
    for (i, c) in holds.into_iter().enumerate() {
        let out = table
            .update(&key, Update::new().add("passed", 1), Some(c.clone()))
            .await
            .unwrap_or_else(|e| panic!("condition {i} ({c:?}) should hold: {e}"));
        assert_eq!(out.get("passed"), Some(&Value::N(i as i64 + 1)));
    }
    let fails = [
        Condition::eq("status", "scheduled").and(Condition::Lt("lease".into(), Value::N(100))),
        Condition::eq("status", "published").or(Condition::Gt("lease".into(), Value::N(100))),
        Condition::Not(Box::new(Condition::eq("status", "scheduled"))),
        Condition::Ne("lease".into(), Value::N(100)),
        Condition::Exists("owner".into()),
        Condition::NotExists("name".into()),
    ];
    for c in fails {
        let err = table
            .update(&key, Update::new().add("passed", 100), Some(c.clone()))
            .await
            .unwrap_err();
        assert!(err.is_condition_failed(), "{c:?} should fail, got {err:?}");
    }
    let read = table.get(&key).await.unwrap().unwrap();
    assert_eq!(read.get("passed"), Some(&Value::N(9)));
}

async fn comparisons_with_missing_attributes_or_other_types_are_false(table: &dyn Table) {
    let key = Key::new("P", "S");
    table
        .put(item("P", "S", &[("n", Value::N(5))]), None)
        .await
        .unwrap();
    // (A number compared with a string is false too, but moto answers that with an HTTP 500:
    // the embedded-only suite checks it.)
    for c in [
        Condition::Gt("missing".into(), Value::N(0)),
        Condition::Le("missing".into(), Value::N(0)),
        Condition::eq("n", "5"),
    ] {
        let err = table
            .update(&key, Update::new().set("touched", true), Some(c.clone()))
            .await
            .unwrap_err();
        assert!(err.is_condition_failed(), "{c:?} should fail, got {err:?}");
    }
    assert_eq!(table.get(&key).await.unwrap().unwrap().get("touched"), None);
}

async fn a_failed_condition_returns_the_current_item_and_changes_nothing(table: &dyn Table) {
    let key = Key::new("P", "S");
    let stored = item("P", "S", &[("version", Value::N(3)), ("body", s("v3"))]);
    table.put(stored.clone(), None).await.unwrap();

    let err = table
        .update(
            &key,
            Update::new().set("body", "v4").add("version", 1),
            Some(Condition::eq("version", 2)),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TableError::ConditionFailed {
            current: Some(Box::new(stored.clone()))
        }
    );
    let err = table
        .delete(&key, Some(Condition::eq("version", 2)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TableError::ConditionFailed {
            current: Some(Box::new(stored.clone()))
        }
    );
    let err = table
        .put(
            item("P", "S", &[("body", s("other"))]),
            Some(Condition::eq("version", 2)),
        )
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
    assert_eq!(table.get(&key).await.unwrap(), Some(stored));
}

async fn an_update_of_an_absent_item_creates_it_with_its_key(table: &dyn Table) {
    let key = Key::new("P", "new");
    let out = table
        .update(&key, Update::new().set("a", "x").add("n", 2), None)
        .await
        .unwrap();
    let expected = item("P", "new", &[("a", s("x")), ("n", Value::N(2))]);
    assert_eq!(out, expected);
    assert_eq!(table.get(&key).await.unwrap(), Some(expected));
}

async fn an_update_sets_removes_and_adds_and_returns_the_new_item(table: &dyn Table) {
    let key = Key::new("P", "S");
    table
        .put(
            item(
                "P",
                "S",
                &[("keep", s("k")), ("drop", s("d")), ("count", Value::N(10))],
            ),
            None,
        )
        .await
        .unwrap();
    let out = table
        .update(
            &key,
            Update::new()
                .set("new", Value::L(vec![Value::N(1)]))
                .set("keep", "k2")
                .remove("drop")
                .add("count", -3)
                .add("fresh", 5),
            None,
        )
        .await
        .unwrap();
    let expected = item(
        "P",
        "S",
        &[
            ("keep", s("k2")),
            ("new", Value::L(vec![Value::N(1)])),
            ("count", Value::N(7)),
            ("fresh", Value::N(5)),
        ],
    );
    assert_eq!(out, expected);
    assert_eq!(table.get(&key).await.unwrap(), Some(expected));
}

async fn fifty_concurrent_adds_add_up_to_fifty(table: &dyn Table) {
    let key = Key::new("P", "counter");
    let adds = (0..50).map(|_| table.update(&key, Update::new().add("n", 1), None));
    let results = join_all(adds).await;
    let mut seen: Vec<i64> = results
        .into_iter()
        .map(|r| r.unwrap().get("n").and_then(Value::as_n).unwrap())
        .collect();
    seen.sort_unstable();
    // Each add saw a distinct count: none was lost or applied twice.
    assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    let read = table.get(&key).await.unwrap().unwrap();
    assert_eq!(read.get("n"), Some(&Value::N(50)));
}

async fn a_delete_returns_the_old_item_and_a_guarded_delete_can_refuse(table: &dyn Table) {
    let stored = item("P", "S", &[("v", Value::N(1))]);
    table.put(stored.clone(), None).await.unwrap();
    let err = table
        .delete(&Key::new("P", "S"), Some(Condition::eq("v", 2)))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
    let old = table
        .delete(&Key::new("P", "S"), Some(Condition::eq("v", 1)))
        .await
        .unwrap();
    assert_eq!(old, Some(stored));
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), None);
    let again = table.delete(&Key::new("P", "S"), None).await.unwrap();
    assert_eq!(again, None);
}

async fn put_sks(table: &dyn Table, pk: &str, sks: &[&str]) {
    for sk in sks {
        table.put(item(pk, sk, &[]), None).await.unwrap();
    }
}

async fn queries_honour_every_sort_condition(table: &dyn Table) {
    put_sks(table, "P", &["a", "a#1", "a#2", "ab", "b", "b#1", "c"]).await;
    // A neighbouring partition whose name extends this one must never leak in.
    put_sks(table, "PX", &["a", "b"]).await;
    put_sks(table, "O", &["z"]).await;
    let q = |c: SortCondition| Query::table("P").sk(c);
    let cases: Vec<(SortCondition, Vec<&str>)> = vec![
        (SortCondition::Eq("b".into()), vec!["b"]),
        (SortCondition::BeginsWith("a#".into()), vec!["a#1", "a#2"]),
        (
            SortCondition::BeginsWith("a".into()),
            vec!["a", "a#1", "a#2", "ab"],
        ),
        (
            SortCondition::Between("a#2".into(), "b".into()),
            vec!["a#2", "ab", "b"],
        ),
        (SortCondition::Lt("ab".into()), vec!["a", "a#1", "a#2"]),
        (
            SortCondition::Le("ab".into()),
            vec!["a", "a#1", "a#2", "ab"],
        ),
        (SortCondition::Gt("b".into()), vec!["b#1", "c"]),
        (SortCondition::Ge("b".into()), vec!["b", "b#1", "c"]),
        (SortCondition::Eq("nope".into()), vec![]),
    ];
    for (c, expected) in cases {
        let got = table.query_all(q(c.clone())).await.unwrap();
        assert_eq!(sks(&got), expected, "{c:?}");
    }
    let all = table.query_all(Query::table("P")).await.unwrap();
    assert_eq!(sks(&all), ["a", "a#1", "a#2", "ab", "b", "b#1", "c"]);
}

async fn queries_run_backward_and_page_through_everything_once(table: &dyn Table) {
    let sks_in: Vec<String> = (0..23).map(|i| format!("item#{i:03}")).collect();
    for sk in &sks_in {
        table.put(item("P", sk, &[]), None).await.unwrap();
    }
    let backward = table.query_all(Query::table("P").backward()).await.unwrap();
    let mut reversed = sks_in.clone();
    reversed.reverse();
    assert_eq!(sks(&backward), reversed);

    for forward in [true, false] {
        let mut query = Query::table("P").limit(5);
        query.forward = forward;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = table.query(query.clone()).await.unwrap();
            assert!(page.items.len() <= 5);
            pages += 1;
            seen.extend(sks(&page.items));
            match page.next {
                Some(next) => query.start_after = Some(next),
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }
        let expected = if forward {
            sks_in.clone()
        } else {
            reversed.clone()
        };
        assert_eq!(seen, expected, "forward: {forward}");
        assert!(pages >= 5, "23 items in pages of 5 take at least 5 pages");
    }

    let first = table
        .query(
            Query::table("P")
                .sk(SortCondition::Ge("item#010".into()))
                .limit(3),
        )
        .await
        .unwrap();
    assert_eq!(sks(&first.items), ["item#010", "item#011", "item#012"]);
    assert!(first.next.is_some());
}

fn indexed(pk: &str, sk: &str, gpk: Option<&str>, gsk: Option<&str>) -> herald_ports::Item {
    let mut attrs = vec![];
    if let Some(g) = gpk {
        attrs.push(("gsi1pk", s(g)));
    }
    if let Some(g) = gsk {
        attrs.push(("gsi1sk", s(g)));
    }
    item(pk, sk, &attrs)
}

async fn indexes_hold_only_items_with_both_index_attributes(table: &dyn Table) {
    table
        .put(indexed("A", "1", Some("DUE"), Some("t2")), None)
        .await
        .unwrap();
    table
        .put(indexed("B", "1", Some("DUE"), Some("t1")), None)
        .await
        .unwrap();
    table
        .put(indexed("C", "1", Some("DUE"), None), None)
        .await
        .unwrap();
    table
        .put(indexed("D", "1", None, Some("t0")), None)
        .await
        .unwrap();
    table
        .put(indexed("E", "1", None, None), None)
        .await
        .unwrap();
    table
        .put(indexed("F", "1", Some("OTHER"), Some("t0")), None)
        .await
        .unwrap();
    let mut cal = item("G", "1", &[]);
    cal.insert("gsi2pk".into(), s("DUE"));
    cal.insert("gsi2sk".into(), s("t0"));
    table.put(cal.clone(), None).await.unwrap();

    let due = table.query_all(Query::index("gsi1", "DUE")).await.unwrap();
    let pks: Vec<_> = due
        .iter()
        .map(|i| i.get("pk").and_then(Value::as_s).unwrap().to_owned())
        .collect();
    assert_eq!(pks, ["B", "A"], "sorted by gsi1sk, only complete entries");
    // Index queries return whole items.
    assert_eq!(due[1], indexed("A", "1", Some("DUE"), Some("t2")));
    let gsi2 = table.query_all(Query::index("gsi2", "DUE")).await.unwrap();
    assert_eq!(gsi2, vec![cal]);
    let ranged = table
        .query_all(Query::index("gsi1", "DUE").sk(SortCondition::Le("t1".into())))
        .await
        .unwrap();
    assert_eq!(ranged.len(), 1);
    assert_eq!(ranged[0].get("pk"), Some(&s("B")));
}

async fn an_item_leaves_an_index_when_its_attribute_is_removed_or_changed(table: &dyn Table) {
    for p in ["A", "B", "C"] {
        table
            .put(indexed(p, "1", Some("DUE"), Some(&format!("t-{p}"))), None)
            .await
            .unwrap();
    }
    let pks = |items: Vec<herald_ports::Item>| -> Vec<String> {
        items
            .iter()
            .map(|i| i.get("pk").and_then(Value::as_s).unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        pks(table.query_all(Query::index("gsi1", "DUE")).await.unwrap()),
        ["A", "B", "C"]
    );
    table
        .update(&Key::new("A", "1"), Update::new().remove("gsi1pk"), None)
        .await
        .unwrap();
    table
        .update(
            &Key::new("B", "1"),
            Update::new().set("gsi1pk", "DONE"),
            None,
        )
        .await
        .unwrap();
    table
        .update(
            &Key::new("C", "1"),
            Update::new().set("gsi1sk", "t-0"),
            None,
        )
        .await
        .unwrap();
    table.delete(&Key::new("C", "1"), None).await.unwrap();
    table
        .put(indexed("D", "1", Some("DUE"), Some("t-D")), None)
        .await
        .unwrap();
    assert_eq!(
        pks(table.query_all(Query::index("gsi1", "DUE")).await.unwrap()),
        ["D"]
    );
    assert_eq!(
        pks(table.query_all(Query::index("gsi1", "DONE")).await.unwrap()),
        ["B"]
    );
    // The table itself still holds A, without its index entry.
    assert!(table.get(&Key::new("A", "1")).await.unwrap().is_some());
}

async fn index_queries_page_and_run_backward(table: &dyn Table) {
    // Several items share one index sort key: pages must not lose or repeat any of them.
    let mut expected = Vec::new();
    for i in 0..12 {
        let pk = format!("POST#{i:02}");
        let gsk = format!("t{}", i / 3);
        table
            .put(indexed(&pk, "T", Some("DUE"), Some(&gsk)), None)
            .await
            .unwrap();
        expected.push(pk);
    }
    for forward in [true, false] {
        let mut query = Query::index("gsi1", "DUE").limit(4);
        query.forward = forward;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let page = table.query(query.clone()).await.unwrap();
            seen.extend(
                page.items
                    .iter()
                    .map(|i| i.get("pk").and_then(Value::as_s).unwrap().to_owned()),
            );
            match page.next {
                Some(next) => query.start_after = Some(next),
                None => break,
            }
        }
        let mut sorted_seen = seen.clone();
        sorted_seen.sort();
        assert_eq!(
            sorted_seen, expected,
            "every item exactly once (forward: {forward})"
        );
        // Order follows the index sort key.
        let gsks: Vec<usize> = seen
            .iter()
            .map(|pk| pk[5..].parse::<usize>().unwrap() / 3)
            .collect();
        let mut ordered = gsks.clone();
        ordered.sort();
        if !forward {
            ordered.reverse();
        }
        assert_eq!(gsks, ordered);
    }
}

async fn a_transaction_with_a_failing_condition_writes_nothing_and_names_the_positions(
    table: &dyn Table,
) {
    table
        .put(item("P", "existing", &[("v", Value::N(1))]), None)
        .await
        .unwrap();
    table.put(item("P", "to-delete", &[]), None).await.unwrap();
    let ops = vec![
        TxOp::Put {
            item: item("P", "new", &[]),
            condition: Some(Condition::item_absent()),
        },
        TxOp::Put {
            item: item("P", "existing", &[("v", Value::N(2))]),
            condition: Some(Condition::item_absent()),
        },
        TxOp::Update {
            key: Key::new("P", "counter"),
            update: Update::new().add("n", 1),
            condition: None,
        },
        TxOp::Delete {
            key: Key::new("P", "to-delete"),
            condition: None,
        },
        TxOp::Check {
            key: Key::new("P", "missing"),
            condition: Condition::item_present(),
        },
    ];
    let err = table.transact(ops).await.unwrap_err();
    assert_eq!(err, TableError::TransactionCancelled { failed: vec![1, 4] });
    assert_eq!(table.get(&Key::new("P", "new")).await.unwrap(), None);
    assert_eq!(table.get(&Key::new("P", "counter")).await.unwrap(), None);
    assert!(
        table
            .get(&Key::new("P", "to-delete"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        table.get(&Key::new("P", "existing")).await.unwrap(),
        Some(item("P", "existing", &[("v", Value::N(1))]))
    );
}

async fn a_transaction_applies_puts_updates_deletes_and_checks_together(table: &dyn Table) {
    table
        .put(item("P", "lock", &[("owner", s("me"))]), None)
        .await
        .unwrap();
    table
        .put(indexed("P", "old", Some("DUE"), Some("t")), None)
        .await
        .unwrap();
    table
        .put(item("P", "counter", &[("n", Value::N(5))]), None)
        .await
        .unwrap();
    table
        .transact(vec![
            TxOp::Check {
                key: Key::new("P", "lock"),
                condition: Condition::eq("owner", "me"),
            },
            TxOp::Put {
                item: indexed("P", "new", Some("DUE"), Some("u")),
                condition: Some(Condition::item_absent()),
            },
            TxOp::Update {
                key: Key::new("P", "counter"),
                update: Update::new().add("n", 2).set("by", "tx"),
                condition: Some(Condition::eq("n", 5)),
            },
            TxOp::Delete {
                key: Key::new("P", "old"),
                condition: Some(Condition::item_present()),
            },
        ])
        .await
        .unwrap();
    assert!(table.get(&Key::new("P", "new")).await.unwrap().is_some());
    assert_eq!(table.get(&Key::new("P", "old")).await.unwrap(), None);
    assert_eq!(
        table.get(&Key::new("P", "counter")).await.unwrap(),
        Some(item("P", "counter", &[("n", Value::N(7)), ("by", s("tx"))]))
    );
    let due = table.query_all(Query::index("gsi1", "DUE")).await.unwrap();
    assert_eq!(sks(&due), ["new"], "index entries follow the transaction");
}

async fn exactly_one_of_many_concurrent_claims_wins(table: &dyn Table) {
    let key = Key::new("T#ws#POST#p", "TARGET#a");
    table
        .put(
            item("T#ws#POST#p", "TARGET#a", &[("status", s("scheduled"))]),
            None,
        )
        .await
        .unwrap();
    let claims = (0..20).map(|i| {
        let key = key.clone();
        async move {
            table
                .update(
                    &key,
                    Update::new()
                        .set("status", "publishing")
                        .set("owner", format!("worker-{i}")),
                    Some(Condition::eq("status", "scheduled")),
                )
                .await
        }
    });
    let results = join_all(claims).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    for r in &results {
        if let Err(e) = r {
            match e {
                TableError::ConditionFailed { current: Some(c) } => {
                    assert_eq!(c.get("status"), Some(&s("publishing")));
                }
                other => panic!("a losing claim must see the winner's item, got {other:?}"),
            }
        }
    }
    let stored = table.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.get("owner"), winners[0].get("owner"));
}

async fn get_many_returns_the_items_that_exist(table: &dyn Table) {
    for i in 0..5 {
        table
            .put(item("P", &format!("{i}"), &[("i", Value::N(i))]), None)
            .await
            .unwrap();
    }
    let keys: Vec<Key> = ["0", "2", "4", "9"]
        .iter()
        .map(|sk| Key::new("P", *sk))
        .collect();
    let mut got = table.get_many(&keys).await.unwrap();
    got.sort_by(|a, b| {
        a.get("sk")
            .and_then(Value::as_s)
            .cmp(&b.get("sk").and_then(Value::as_s))
    });
    assert_eq!(sks(&got), ["0", "2", "4"]);
    assert_eq!(got[1].get("i"), Some(&Value::N(2)));
}

async fn a_query_on_an_unknown_index_is_invalid(table: &dyn Table) {
    let err = table.query(Query::index("gsi9", "X")).await.unwrap_err();
    assert!(matches!(err, TableError::Invalid(_)), "{err:?}");
}
