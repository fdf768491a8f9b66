//! What a function binary wrote to stdout as CloudWatch would take it: JSON log lines with the
//! invocation's request id, and embedded metric format lines, each checked against the
//! format's rules before its values are read.

use herald_testkit::lambda::Function;
use serde_json::Value;
use std::time::Duration;

/// Every EMF line the function printed, each checked well-formed.
pub fn lines(f: &Function) -> Vec<Value> {
    f.log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .inspect(|v| well_formed(&f.name, v))
        .collect()
}

/// The EMF rules a line must keep for CloudWatch to take it: a timestamp, directives in
/// namespace Herald naming dimension sets and metrics, every dimension a string member, every
/// metric a number or a list of at most 100 numbers, units CloudWatch knows.
fn well_formed(function: &str, line: &Value) {
    let aws = &line["_aws"];
    assert!(aws["Timestamp"].is_u64(), "{line}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert!(!directives.is_empty(), "{line}");
    for d in directives {
        assert_eq!(d["Namespace"], "Herald", "{line}");
        for set in d["Dimensions"].as_array().expect("dimension sets") {
            let set = set.as_array().expect("a dimension set");
            assert!(!set.is_empty() && set.len() <= 30, "{line}");
            for name in set {
                let name = name.as_str().expect("a dimension name");
                assert!(line[name].is_string(), "dimension {name} missing: {line}");
            }
        }
        // Low cardinality: the function and the network, nothing per post or workspace.
        assert_eq!(line["function"], function, "{line}");
        if let Some(n) = line.get("network") {
            let n = n.as_str().expect("network");
            assert!(herald_domain::Platform::parse(n).is_some(), "{line}");
        }
        let metrics = d["Metrics"].as_array().expect("metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{line}");
        for m in metrics {
            let name = m["Name"].as_str().expect("a metric name");
            assert!(
                ["Count", "Milliseconds"].contains(&m["Unit"].as_str().unwrap_or_default()),
                "{line}"
            );
            match &line[name] {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= 100, "{line}");
                    assert!(values.iter().all(Value::is_number), "{line}");
                }
                other => panic!("{name} is {other} in {line}"),
            }
        }
    }
}

/// Every value of `metric` the function wrote, waiting up to 2 s for at least `at_least`
/// (the lines of an invocation are written as it ends, just after its answer).
pub async fn values(f: &Function, metric: &str, at_least: usize) -> Vec<(f64, Value)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let found: Vec<(f64, Value)> = lines(f)
            .into_iter()
            .flat_map(|line| {
                let values = match &line[metric] {
                    Value::Number(n) => vec![n.as_f64().unwrap_or_default()],
                    Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                    _ => vec![],
                };
                values.into_iter().map(move |v| (v, line.clone()))
            })
            .collect();
        if found.len() >= at_least || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sum of `metric`'s values the function wrote.
pub async fn total(f: &Function, metric: &str, at_least: usize) -> f64 {
    values(f, metric, at_least)
        .await
        .iter()
        .map(|(v, _)| v)
        .sum()
}

/// The function's JSON log lines that are not metrics.
pub fn log_lines(f: &Function) -> Vec<Value> {
    f.log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_none())
        .collect()
}
