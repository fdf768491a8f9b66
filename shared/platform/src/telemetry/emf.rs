//! CloudWatch embedded metric format: metric values gathered over one invocation, written as
//! JSON log lines CloudWatch Logs turns into metrics (`_aws.CloudWatchMetrics` directives
//! naming the members that hold the values). Counts are summed; timings are kept as value
//! lists, at most 100 a line as the format allows. Dimensions: the function, and the network
//! where a value has one (each such value also counts under the function alone).

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "Herald";
/// The most values one metric may have in one line.
const MAX_VALUES: usize = 100;

#[derive(Debug, Default)]
struct Metric {
    unit: String,
    values: Vec<f64>,
}

/// Metric values waiting to be written, by network (none: the function alone).
#[derive(Debug, Default)]
pub struct Emf {
    groups: BTreeMap<Option<String>, BTreeMap<String, Metric>>,
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

impl Emf {
    pub fn add(&mut self, metric: &str, value: f64, unit: &str, network: Option<&str>) {
        let group = self.groups.entry(network.map(str::to_owned)).or_default();
        let m = group.entry(metric.to_owned()).or_insert_with(|| Metric {
            unit: unit.to_owned(),
            values: Vec::new(),
        });
        match (unit, m.values.first_mut()) {
            ("Count", Some(sum)) => *sum += value,
            _ => m.values.push(value),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The lines for everything added, which is then forgotten. `properties` go into every
    /// line as plain members (the request id: searchable, no dimension).
    pub fn take_lines(
        &mut self,
        function: &str,
        timestamp_ms: i64,
        properties: &[(&str, &str)],
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for (network, metrics) in std::mem::take(&mut self.groups) {
            let dimensions = match network {
                Some(_) => json!([["function"], ["function", "network"]]),
                None => json!([["function"]]),
            };
            let chunks = metrics
                .values()
                .map(|m| m.values.len().div_ceil(MAX_VALUES))
                .max()
                .unwrap_or(0);
            for chunk in 0..chunks {
                let mut root = Map::new();
                let mut names = Vec::new();
                for (name, m) in &metrics {
                    let part: Vec<f64> = m
                        .values
                        .iter()
                        .skip(chunk * MAX_VALUES)
                        .take(MAX_VALUES)
                        .copied()
                        .collect();
                    let value = match part.as_slice() {
                        [] => continue,
                        [one] => number(*one),
                        many => Value::Array(many.iter().copied().map(number).collect()),
                    };
                    names.push(json!({"Name": name, "Unit": m.unit}));
                    root.insert(name.clone(), value);
                }
                root.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": NAMESPACE,
                            "Dimensions": dimensions,
                            "Metrics": names,
                        }],
                    }),
                );
                root.insert("function".into(), json!(function));
                if let Some(n) = &network {
                    root.insert("network".into(), json!(n));
                }
                for (k, v) in properties {
                    root.insert((*k).into(), json!(v));
                }
                lines.push(Value::Object(root).to_string());
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[String]) -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    #[test]
    fn counts_are_summed_and_timings_listed_per_network_with_both_dimension_sets() {
        let mut emf = Emf::default();
        emf.add("PostsPublished", 1.0, "Count", Some("x"));
        emf.add("PostsPublished", 1.0, "Count", Some("x"));
        emf.add("PublishLateness", 120.0, "Milliseconds", Some("x"));
        emf.add("PublishLateness", 80.0, "Milliseconds", Some("x"));
        emf.add("PostsFailed", 1.0, "Count", Some("bluesky"));
        emf.add("WebhookDeliveriesFailed", 1.0, "Count", None);
        let lines = parse(&emf.take_lines("fn-1", 1_700_000_000_000, &[("requestId", "r-1")]));
        assert!(emf.is_empty());
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let x = lines.iter().find(|l| l["network"] == "x").expect("x line");
        assert_eq!(x["PostsPublished"], 2);
        assert_eq!(x["PublishLateness"], json!([120, 80]));
        assert_eq!(x["function"], "fn-1");
        assert_eq!(x["requestId"], "r-1");
        let directive = &x["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(x["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], "Herald");
        assert_eq!(
            directive["Dimensions"],
            json!([["function"], ["function", "network"]])
        );
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["PostsPublished", "PublishLateness"]);
        assert_eq!(directive["Metrics"][1]["Unit"], "Milliseconds");
        let plain = lines.iter().find(|l| l.get("network").is_none()).unwrap();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function"]])
        );
        assert_eq!(plain["WebhookDeliveriesFailed"], 1);
    }

    #[test]
    fn every_member_a_directive_names_is_in_its_line_and_no_list_exceeds_100_values() {
        let mut emf = Emf::default();
        for i in 0..250 {
            emf.add("PublishLateness", f64::from(i), "Milliseconds", Some("x"));
        }
        emf.add("PostsPublished", 250.0, "Count", Some("x"));
        let lines = parse(&emf.take_lines("f", 0, &[]));
        assert_eq!(lines.len(), 3);
        let mut seen = Vec::new();
        for line in &lines {
            for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
            {
                let name = m["Name"].as_str().unwrap();
                assert!(!line[name].is_null(), "{name} named but missing: {line}");
            }
            match &line["PublishLateness"] {
                Value::Array(values) => {
                    assert!(values.len() <= 100);
                    seen.extend(values.iter().map(|v| v.as_i64().unwrap()));
                }
                one => seen.push(one.as_i64().unwrap()),
            }
        }
        assert_eq!(seen, (0..250).collect::<Vec<_>>());
        // The count is written once, not once a chunk.
        let counted: i64 = lines
            .iter()
            .filter_map(|l| l["PostsPublished"].as_i64())
            .sum();
        assert_eq!(counted, 250);
    }

    #[test]
    fn nothing_added_writes_nothing() {
        assert!(Emf::default().take_lines("f", 0, &[]).is_empty());
    }
}
