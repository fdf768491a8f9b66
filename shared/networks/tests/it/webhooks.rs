//! The webhook parsers under arbitrary bytes and arbitrary JSON of the deliveries' shapes
//! (proptest): they answer reports or an error, never panic, never report more than their
//! bound, and every report names ids a key can hold once the intake checks them.

use herald_networks::webhooks::{
    self, MAX_REPORTS, parse_linkedin, parse_meta, parse_x, verify_linkedin, verify_meta, verify_x,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON values of any shape, strings with control characters and odd Unicode included.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[\\x00-\\x1f\\u{202e}\\u{fffd}]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("entry".to_owned()),
                    Just("changes".to_owned()),
                    Just("value".to_owned()),
                    Just("field".to_owned()),
                    Just("item".to_owned()),
                    Just("verb".to_owned()),
                    Just("id".to_owned()),
                    Just("comment_id".to_owned()),
                    Just("post_id".to_owned()),
                    Just("message".to_owned()),
                    Just("from".to_owned()),
                    Just("media".to_owned()),
                    Just("for_user_id".to_owned()),
                    Just("tweet_create_events".to_owned()),
                    Just("id_str".to_owned()),
                    Just("user".to_owned()),
                    Just("favorite_events".to_owned()),
                    Just("notifications".to_owned()),
                    Just("action".to_owned()),
                    Just("notificationId".to_owned()),
                    Just("organizationalEntity".to_owned()),
                    Just("sourcePost".to_owned()),
                    ".{0,10}".prop_map(|s| s),
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(reports: Result<Vec<webhooks::Inbound>, String>) {
    if let Ok(reports) = reports {
        // One delivery's entries times changes: bounded by the per-list bound squared.
        assert!(reports.len() <= MAX_REPORTS * MAX_REPORTS);
        for r in reports {
            assert!(!r.id.is_empty() && !r.post.is_empty() && !r.network_account.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_crash_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(parse_meta(&bytes));
        check(parse_x(&bytes));
        check(parse_linkedin(&bytes));
        // Nor a signature check, whatever the header says.
        let header = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
        prop_assert!(!verify_meta(b"secret", &bytes, Some(&header)));
        prop_assert!(!verify_x(b"secret", &bytes, Some(&header)));
        prop_assert!(!verify_linkedin(b"secret", &bytes, Some(&header)));
    }

    #[test]
    fn arbitrary_json_of_the_deliveries_shapes_never_crashes_a_parser(v in any_json()) {
        let body = v.to_string();
        check(parse_meta(body.as_bytes()));
        check(parse_x(body.as_bytes()));
        check(parse_linkedin(body.as_bytes()));
        let wrapped = json!({"object": "page", "entry": [v.clone()], "for_user_id": "1",
            "tweet_create_events": [v.clone()], "notifications": [v]}).to_string();
        check(parse_meta(wrapped.as_bytes()));
        check(parse_x(wrapped.as_bytes()));
        check(parse_linkedin(wrapped.as_bytes()));
    }
}

#[test]
fn a_delivery_over_the_size_bound_is_refused_unread() {
    let big = format!("{{\"entry\":[\"{}\"]}}", "x".repeat(webhooks::MAX_BODY));
    assert!(parse_meta(big.as_bytes()).is_err());
}
