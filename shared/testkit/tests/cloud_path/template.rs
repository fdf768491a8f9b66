//! What the cloud-path test takes from template.yaml, so that the template and the code cannot
//! drift apart: the table (keys, indexes, stream), each function's binary and environment, the
//! bus rule's pattern, the upload notification's filter and the stream trigger's filters.
//! Anything in those places the test does not know how to reproduce fails the test.

use serde_json::{Value as Json, json};
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

pub struct Template {
    doc: Value,
}

/// A string, or what a CloudFormation tag (`!Ref`, `!Sub`, `!GetAtt`) stands for in the test.
pub enum Setting {
    Literal(String),
    /// `!Ref X` / `!Sub "…"` / `!GetAtt …`: tag and its argument, for the test to substitute.
    Tagged(String, String),
}

impl Template {
    pub fn load() -> Template {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        let doc = serde_yaml_ng::from_str(&text).expect("template.yaml parses, tags and all");
        Template { doc }
    }

    /// The whole template, for the deployment checks (deploy_checks.rs).
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The send state machine's definition (SendDelays, with its `${Sender}` unsubstituted)
    /// and its type.
    pub fn send_delays(&self) -> (Json, String) {
        let p = &self.resource("SendDelays")["Properties"];
        let kind = p["StateMachineType"].as_str().expect("a type").to_owned();
        (to_json(&p["Definition"]), kind)
    }

    /// Every resource of CloudFormation type `kind`, by logical id.
    pub fn resources_of(&self, kind: &str) -> Vec<(String, &Value)> {
        mapping(&self.doc["Resources"])
            .into_iter()
            .filter(|(_, r)| r["Type"].as_str() == Some(kind))
            .collect()
    }

    fn resource(&self, name: &str) -> &Value {
        let r = &self.doc["Resources"][name];
        assert!(!r.is_null(), "template.yaml has no resource {name}");
        r
    }

    /// The table's CreateTable input as the DynamoDB JSON API spells it, under `name`, and
    /// its TTL attribute. Properties the emulator need not reproduce (backups, encryption at
    /// rest) are named and skipped; any other property fails the test.
    pub fn table(&self, name: &str) -> (Json, Option<String>) {
        let props = mapping(&self.resource("Table")["Properties"]);
        let mut input = json!({ "TableName": name });
        let mut ttl = None;
        for (key, value) in props {
            match key.as_str() {
                "AttributeDefinitions"
                | "KeySchema"
                | "GlobalSecondaryIndexes"
                | "BillingMode"
                | "StreamSpecification" => {
                    input[key.as_str()] = to_json(value);
                }
                "TimeToLiveSpecification" => {
                    assert_eq!(
                        value["Enabled"].as_bool(),
                        Some(true),
                        "TTL spec: {value:?}"
                    );
                    ttl = value["AttributeName"].as_str().map(str::to_owned);
                }
                "PointInTimeRecoverySpecification" | "SSESpecification" => {}
                other => panic!(
                    "template.yaml's Table has {other}, which the cloud-path test does not \
                     create: teach shared/testkit/tests/cloud_path/template.rs"
                ),
            }
        }
        (input, ttl)
    }

    /// A function's binary name (`Metadata.BuildProperties.Binary`, what `sam build` takes).
    pub fn binary(&self, function: &str) -> String {
        let r = self.resource(function);
        assert_eq!(
            r["Type"].as_str(),
            Some("AWS::Serverless::Function"),
            "{function}"
        );
        assert_eq!(
            r["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{function}"
        );
        r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{function} names no binary"))
            .to_owned()
    }

    /// The environment the template gives a function: the globals, then its own.
    pub fn environment(&self, function: &str) -> BTreeMap<String, Setting> {
        let mut env = BTreeMap::new();
        let globals = &self.doc["Globals"]["Function"]["Environment"]["Variables"];
        let own = &self.resource(function)["Properties"]["Environment"]["Variables"];
        for vars in [globals, own] {
            if vars.is_null() {
                continue;
            }
            for (name, value) in mapping(vars) {
                env.insert(name, setting(value));
            }
        }
        env
    }

    /// The `Properties` of a function's event source `event`, checking its type.
    pub fn event(&self, function: &str, event: &str, kind: &str) -> &Value {
        let e = &self.resource(function)["Properties"]["Events"][event];
        assert_eq!(e["Type"].as_str(), Some(kind), "{function}.{event}: {e:?}");
        &e["Properties"]
    }

    /// The EventBridge pattern of a function's rule.
    pub fn rule_pattern(&self, function: &str, event: &str) -> Json {
        to_json(&self.event(function, event, "EventBridgeRule")["Pattern"])
    }

    /// The filter patterns of a function's stream or queue trigger, parsed.
    pub fn filter_patterns(&self, function: &str, event: &str, kind: &str) -> Vec<Json> {
        let filters = &self.event(function, event, kind)["FilterCriteria"]["Filters"];
        let filters = filters
            .as_sequence()
            .unwrap_or_else(|| panic!("{function}.{event} has no FilterCriteria.Filters"));
        filters
            .iter()
            .map(|f| {
                let p = f["Pattern"]
                    .as_str()
                    .expect("a filter's Pattern is a JSON string");
                serde_json::from_str(p).expect("a filter's Pattern is JSON")
            })
            .collect()
    }
}

fn mapping(v: &Value) -> Vec<(String, &Value)> {
    v.as_mapping()
        .unwrap_or_else(|| panic!("expected a mapping, got {v:?}"))
        .iter()
        .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), v))
        .collect()
}

fn setting(v: &Value) -> Setting {
    match v {
        Value::String(s) => Setting::Literal(s.clone()),
        Value::Number(n) => Setting::Literal(n.to_string()),
        Value::Bool(b) => Setting::Literal(b.to_string()),
        Value::Tagged(t) => Setting::Tagged(
            t.tag.to_string().trim_start_matches('!').to_owned(),
            match &t.value {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            },
        ),
        other => panic!("an environment value the test cannot read: {other:?}"),
    }
}

/// Plain YAML as JSON; a CloudFormation tag where a plain value must be fails.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => serde_json::from_str(&n.to_string()).expect("a number"),
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), to_json(v)))
                .collect(),
        ),
        Value::Tagged(t) => panic!("a CloudFormation tag where the test needs a value: {t:?}"),
    }
}

/// Whether `record` matches an event filter pattern (Lambda's filter and EventBridge's rule
/// syntax): every named field matches, a list is alternatives, `{"prefix"}` and `{"exists"}`
/// are understood; any other operator fails the test rather than match by accident.
pub fn matches(pattern: &Json, record: &Json) -> bool {
    let Json::Object(fields) = pattern else {
        panic!("a pattern is an object: {pattern}");
    };
    fields.iter().all(|(name, want)| {
        let have = record.get(name);
        match want {
            Json::Object(_) => have.is_some_and(|h| matches(want, h)),
            Json::Array(alternatives) => alternatives.iter().any(|alt| match alt {
                Json::Object(op) => match op.iter().next() {
                    Some((k, Json::String(prefix))) if k == "prefix" => have
                        .and_then(Json::as_str)
                        .is_some_and(|s| s.starts_with(prefix.as_str())),
                    Some((k, Json::Bool(exists))) if k == "exists" => have.is_some() == *exists,
                    _ => panic!("a filter operator the test does not know: {alt}"),
                },
                literal => have == Some(literal),
            }),
            other => panic!("a pattern field is a list or an object, got {other}"),
        }
    })
}

#[test]
fn the_pattern_matcher_matches_as_lambda_filters_do() {
    let p = json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}});
    let event = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "event"}}}});
    assert!(matches(&p, &event));
    let post = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "post"}}}});
    assert!(!matches(&p, &post));
    let modify = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"kind": {"S": "event"}}}});
    assert!(!matches(&p, &modify));
    assert!(!matches(&p, &json!({"eventName": "INSERT"})));
    let prefix = json!({"sk": [{"prefix": "EVT"}], "gone": [{"exists": false}]});
    assert!(matches(&prefix, &json!({"sk": "EVT#1"})));
    assert!(!matches(&prefix, &json!({"sk": "EVT#1", "gone": 1})));
    assert!(!matches(&prefix, &json!({"sk": "POST"})));
}
