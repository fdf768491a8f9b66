//! What template.yaml must keep for a deployment, checked without moto: every function built
//! for arm64 on provided.al2023, the table recoverable, every asynchronous trigger with a place
//! for what fails, an alarm on each function's errors and each dead-letter queue's depth, the
//! dashboard showing the functions' EMF metrics, secrets only as parameter names, and least
//! privilege (named actions on named resources, no SAM policy templates, no managed policies
//! from outside the template).

use crate::template::Template;
use serde_yaml_ng::Value;

/// The EMF metrics the functions write (namespace `Herald`); the dashboard shows every one.
const METRICS: [&str; 7] = herald_app::observe::ALL;

/// Event source types Lambda is invoked by asynchronously: a failure must land somewhere.
const ASYNC_SOURCES: [&str; 6] = [
    "S3",
    "EventBridgeRule",
    "ScheduleV2",
    "Schedule",
    "CloudWatchEvent",
    "SNS",
];
/// Event source types Lambda polls: a batch that keeps failing needs an on-failure place.
const POLLED_SOURCES: [&str; 3] = ["DynamoDB", "Kinesis", "SQS"];

fn tag<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == name => Some(&t.value),
        _ => None,
    }
}

/// The logical id a `!Ref X` / `!GetAtt X.Attr` names.
fn referenced(v: &Value) -> Option<String> {
    if let Some(Value::String(s)) = tag(v, "Ref") {
        return Some(s.clone());
    }
    if let Some(Value::String(s)) = tag(v, "GetAtt") {
        return s.split('.').next().map(str::to_owned);
    }
    None
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => vec![],
        Value::Sequence(items) => items.iter().collect(),
        one => vec![one],
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => format!("!{} {}", t.tag, text(&t.value)),
        other => format!("{other:?}"),
    }
}

/// Every statement of an IAM policy document's `Statement`: named actions (no `*` anywhere in
/// one), on resources that are not `*`.
fn check_statements(owner: &str, statements: &Value) {
    let statements = as_list(statements);
    assert!(
        !statements.is_empty(),
        "{owner}: a policy with no statement"
    );
    for s in statements {
        assert!(s["NotAction"].is_null(), "{owner}: NotAction in {s:?}");
        assert!(s["NotResource"].is_null(), "{owner}: NotResource in {s:?}");
        let actions = as_list(&s["Action"]);
        assert!(!actions.is_empty(), "{owner}: a statement with no action");
        for a in actions {
            let a = a
                .as_str()
                .unwrap_or_else(|| panic!("{owner}: action {a:?}"));
            let (service, name) = a
                .split_once(':')
                .unwrap_or_else(|| panic!("{owner}: action {a} names no service"));
            assert!(
                !service.is_empty() && !name.is_empty() && !a.contains('*'),
                "{owner}: {a} is not one named action"
            );
        }
        let resources = as_list(&s["Resource"]);
        assert!(
            !resources.is_empty(),
            "{owner}: a statement with no resource"
        );
        for r in resources {
            // A literal must be an ARN; a !Sub or !GetAtt is one of this template's.
            if let Value::String(arn) = r {
                assert!(arn.starts_with("arn:"), "{owner}: resource {arn}");
            }
        }
    }
}

#[test]
fn every_function_is_arm64_on_al2023_built_by_cargo_lambda() {
    let t = Template::load();
    let globals = &t.doc()["Globals"]["Function"];
    let functions = t.resources_of("AWS::Serverless::Function");
    assert!(functions.len() >= 6, "{functions:?}");
    for (name, r) in &functions {
        let props = &r["Properties"];
        let runtime = props["Runtime"].as_str().or(globals["Runtime"].as_str());
        assert_eq!(runtime, Some("provided.al2023"), "{name}");
        let arch = if props["Architectures"].is_null() {
            &globals["Architectures"]
        } else {
            &props["Architectures"]
        };
        let arch: Vec<_> = as_list(arch).iter().map(|a| text(a)).collect();
        assert_eq!(arch, ["arm64"], "{name}");
        assert_eq!(
            r["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        assert!(
            r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .is_some(),
            "{name} names no binary"
        );
    }
}

#[test]
fn the_table_has_its_indexes_ttl_point_in_time_recovery_and_encryption() {
    let t = Template::load();
    let table = &t.doc()["Resources"]["Table"]["Properties"];
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        table["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
    let indexes: Vec<_> = as_list(&table["GlobalSecondaryIndexes"])
        .iter()
        .map(|i| text(&i["IndexName"]))
        .collect();
    assert_eq!(indexes, ["gsi1", "gsi2"]);
}

#[test]
fn every_function_policy_names_its_actions_and_resources_without_policy_templates() {
    let t = Template::load();
    for (name, r) in t.resources_of("AWS::Serverless::Function") {
        let policies = as_list(&r["Properties"]["Policies"]);
        assert!(!policies.is_empty(), "{name} has no policy of its own");
        for p in policies {
            if let Some(target) = referenced(p) {
                let kind = t.doc()["Resources"][target.as_str()]["Type"].as_str();
                assert_eq!(
                    kind,
                    Some("AWS::IAM::ManagedPolicy"),
                    "{name}: !Ref {target} is no managed policy of this template"
                );
                continue;
            }
            let Some(map) = p.as_mapping() else {
                panic!("{name}: policy {p:?} (a managed policy by name, or a template?)");
            };
            let keys: Vec<_> = map.keys().filter_map(Value::as_str).collect();
            // Only inline statements: SAM's policy templates (DynamoDBCrudPolicy, S3CrudPolicy,
            // ...) grant every action of their kind.
            assert_eq!(keys, ["Statement"], "{name}: {keys:?}");
            check_statements(&name, &p["Statement"]);
        }
        assert!(
            r["Properties"]["Role"].is_null(),
            "{name} brings a role from elsewhere"
        );
    }
    for (name, r) in t.resources_of("AWS::IAM::ManagedPolicy") {
        check_statements(&name, &r["Properties"]["PolicyDocument"]["Statement"]);
    }
    // A role of the template's own (the one EventBridge Scheduler invokes the publisher
    // with) is assumed by a service only, and its inline policies pass the same check.
    for (name, r) in t.resources_of("AWS::IAM::Role") {
        for s in as_list(&r["Properties"]["AssumeRolePolicyDocument"]["Statement"]) {
            assert!(
                s["Principal"]["Service"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(".amazonaws.com")),
                "{name} is assumed by {:?}, not one service",
                s["Principal"]
            );
        }
        assert!(
            r["Properties"]["ManagedPolicyArns"].is_null(),
            "{name}: managed policies"
        );
        let policies = as_list(&r["Properties"]["Policies"]);
        assert!(!policies.is_empty(), "{name} has no policy");
        for p in policies {
            check_statements(&name, &p["PolicyDocument"]["Statement"]);
        }
    }
    // No policy resource escapes the checks above.
    assert!(t.resources_of("AWS::IAM::Policy").is_empty());
}

#[test]
fn the_checker_refuses_wildcards_and_policy_templates() {
    let wildcard: Value =
        serde_yaml_ng::from_str("- { Effect: Allow, Action: 'dynamodb:*', Resource: 'arn:x' }")
            .unwrap();
    assert!(std::panic::catch_unwind(|| check_statements("t", &wildcard)).is_err());
    let partial: Value = serde_yaml_ng::from_str(
        "- { Effect: Allow, Action: ['s3:GetObject', 's3:Put*'], Resource: 'arn:x' }",
    )
    .unwrap();
    assert!(std::panic::catch_unwind(|| check_statements("t", &partial)).is_err());
    let everything: Value =
        serde_yaml_ng::from_str("- { Effect: Allow, Action: 's3:GetObject', Resource: '*' }")
            .unwrap();
    assert!(std::panic::catch_unwind(|| check_statements("t", &everything)).is_err());
    let fine: Value = serde_yaml_ng::from_str(
        "- { Effect: Allow, Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::b/*' }",
    )
    .unwrap();
    check_statements("t", &fine);
}

/// The logical id of the queue (or topic) a function's failures of `source` land in.
fn failure_destination(function: &Value, event: &Value) -> Option<String> {
    let props = &function["Properties"];
    let kind = event["Type"].as_str().unwrap_or_default();
    if ASYNC_SOURCES.contains(&kind) {
        // Lambda's own retries of an asynchronous invocation, then its DLQ or destination.
        referenced(&props["DeadLetterQueue"]["TargetArn"]).or_else(|| {
            referenced(&props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])
        })
    } else {
        referenced(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
    }
}

#[test]
fn every_asynchronous_trigger_keeps_what_fails_and_every_dead_letter_queue_has_an_alarm() {
    let t = Template::load();
    let mut dead_letter_queues = std::collections::BTreeSet::new();
    for (name, r) in t.resources_of("AWS::Serverless::Function") {
        let events = &r["Properties"]["Events"];
        let Some(events) = events.as_mapping() else {
            continue;
        };
        for (event_name, event) in events {
            let event_name = text(event_name);
            let kind = event["Type"].as_str().unwrap_or_default();
            if kind == "HttpApi" || kind == "Api" {
                continue; // synchronous: the caller sees the failure
            }
            assert!(
                ASYNC_SOURCES.contains(&kind) || POLLED_SOURCES.contains(&kind),
                "{name}.{event_name}: a trigger of type {kind} the check does not know"
            );
            if kind == "SQS" {
                // The queue's own redrive policy keeps what keeps failing.
                let queue = referenced(&event["Properties"]["Queue"])
                    .unwrap_or_else(|| panic!("{name}.{event_name}: queue of this template"));
                let redrive = &t.doc()["Resources"][queue.as_str()]["Properties"]["RedrivePolicy"];
                let dlq = referenced(&redrive["deadLetterTargetArn"])
                    .unwrap_or_else(|| panic!("{queue} has no redrive policy"));
                dead_letter_queues.insert(dlq);
                continue;
            }
            let dlq = failure_destination(r, event)
                .unwrap_or_else(|| panic!("{name}.{event_name} ({kind}): failures go nowhere"));
            dead_letter_queues.insert(dlq);
            if kind == "EventBridgeRule" || kind == "ScheduleV2" {
                // What the rule or schedule could not hand the function at all.
                let dlq = referenced(&event["Properties"]["DeadLetterConfig"]["Arn"])
                    .unwrap_or_else(|| panic!("{name}.{event_name}: no DeadLetterConfig"));
                dead_letter_queues.insert(dlq);
            }
        }
    }
    assert!(dead_letter_queues.len() >= 4, "{dead_letter_queues:?}");
    let alarms = t.resources_of("AWS::CloudWatch::Alarm");
    for queue in &dead_letter_queues {
        assert_eq!(
            t.doc()["Resources"][queue.as_str()]["Type"].as_str(),
            Some("AWS::SQS::Queue"),
            "{queue}"
        );
        let watched = alarms.iter().any(|(_, a)| {
            let p = &a["Properties"];
            p["Namespace"].as_str() == Some("AWS/SQS")
                && p["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && as_list(&p["Dimensions"])
                    .iter()
                    .any(|d| referenced(&d["Value"]).as_deref() == Some(queue.as_str()))
        });
        assert!(watched, "no depth alarm on {queue}");
    }
}

#[test]
fn every_function_has_an_errors_alarm_and_lateness_is_alarmed_and_on_the_dashboard() {
    let t = Template::load();
    let alarms = t.resources_of("AWS::CloudWatch::Alarm");
    for (name, _) in t.resources_of("AWS::Serverless::Function") {
        let watched = alarms.iter().any(|(_, a)| {
            let p = &a["Properties"];
            p["Namespace"].as_str() == Some("AWS/Lambda")
                && p["MetricName"].as_str() == Some("Errors")
                && as_list(&p["Dimensions"])
                    .iter()
                    .any(|d| referenced(&d["Value"]).as_deref() == Some(name.as_str()))
        });
        assert!(watched, "no Errors alarm on {name}");
    }
    // Alarms and the dashboard may be left out ("Monitoring: off", an idle month's only
    // charges beyond storage), but are deployed unless said so.
    assert_eq!(
        t.doc()["Parameters"]["Monitoring"]["Default"].as_str(),
        Some("on")
    );
    for (name, a) in alarms
        .iter()
        .chain(t.resources_of("AWS::CloudWatch::Dashboard").iter())
    {
        assert!(
            matches!(a["Condition"].as_str(), None | Some("MonitoringOn")),
            "{name} depends on {:?}",
            a["Condition"]
        );
    }
    let lateness = alarms.iter().find(|(_, a)| {
        a["Properties"]["Namespace"].as_str() == Some("Herald")
            && a["Properties"]["MetricName"].as_str() == Some("PublishLateness")
    });
    let (_, lateness) = lateness.expect("an alarm on the publishing lateness metric");
    assert!(lateness["Properties"]["ExtendedStatistic"].as_str() == Some("p99"));
    let dashboards = t.resources_of("AWS::CloudWatch::Dashboard");
    let [(_, dashboard)] = dashboards.as_slice() else {
        panic!("one dashboard, found {}", dashboards.len());
    };
    let body = tag(&dashboard["Properties"]["DashboardBody"], "Sub")
        .and_then(Value::as_str)
        .expect("the dashboard body is a !Sub string");
    let body: serde_json::Value = serde_json::from_str(body).expect("the dashboard is JSON");
    let shown: Vec<String> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .flat_map(|w| {
            w["properties"]["metrics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|m| m[0] == "Herald")
        .map(|m| m[1].as_str().unwrap_or_default().to_owned())
        .collect();
    for metric in METRICS {
        assert!(
            shown.iter().any(|s| s == metric),
            "{metric} not on the dashboard"
        );
    }
}

#[test]
fn secrets_reach_functions_only_as_parameter_names() {
    let t = Template::load();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    for (name, _) in t.resources_of("AWS::Serverless::Function") {
        for var in t.environment(&name).keys() {
            assert!(
                var != "HERALD_ENCRYPTION_KEY" && var != "HERALD_ADMIN_KEY",
                "{name} gets the secret {var} itself"
            );
        }
    }
    assert!(
        !text.contains("resolve:ssm-secure"),
        "ssm-secure cannot reach Lambda"
    );
    for parameter in ["EncryptionKeyParameter", "AdminKeyParameter"] {
        let p = &t.doc()["Parameters"][parameter];
        assert_eq!(p["Type"].as_str(), Some("String"), "{parameter}: a name");
        assert!(
            p["NoEcho"].is_null(),
            "{parameter} holds a name, not the secret"
        );
    }
}

/// Nothing runs, and nothing is billed, while nothing is due: no function has a trigger that
/// polls a queue (Lambda's SQS trigger long-polls around the clock, paid per request; the
/// relay's DynamoDB stream is read free of charge), no schedule fires more often than hourly,
/// and the sends reach their seconds through an Express state machine, which costs nothing
/// while no execution runs. Its definition waits each batch's delay, at most what an Express
/// execution may last, and invokes the publisher with the batch's bodies, through a role that
/// may invoke that function only.
#[test]
fn nothing_polls_or_ticks_while_nothing_is_due() {
    let t = Template::load();
    for (name, r) in t.resources_of("AWS::Serverless::Function") {
        let events = r["Properties"]["Events"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for (event_name, event) in &events {
            let kind = event["Type"].as_str().unwrap_or_default();
            assert!(
                !matches!(kind, "SQS" | "Kinesis" | "MQ" | "MSK" | "SelfManagedKafka"),
                "{name}.{event_name:?}: a {kind} trigger polls while idle"
            );
            if matches!(kind, "ScheduleV2" | "Schedule") {
                let every = event["Properties"]["ScheduleExpression"]
                    .as_str()
                    .unwrap_or_default();
                assert_eq!(
                    every, "rate(1 hour)",
                    "{name}.{event_name:?} ticks: {every}"
                );
            }
        }
    }
    let machines = t.resources_of("AWS::StepFunctions::StateMachine");
    let [(name, machine)] = machines.as_slice() else {
        panic!("one state machine, found {}", machines.len());
    };
    assert_eq!(name, "SendDelays");
    let p = &machine["Properties"];
    assert_eq!(p["StateMachineType"].as_str(), Some("EXPRESS"));
    let sender = tag(&p["DefinitionSubstitutions"]["Sender"], "Sub")
        .and_then(Value::as_str)
        .expect("the sender is the stack's publisher");
    assert!(
        sender.ends_with(":function:${AWS::StackName}-publisher"),
        "{sender}"
    );
    let each = &p["Definition"]["States"]["EachSecond"];
    assert_eq!(each["Type"].as_str(), Some("Map"));
    assert_eq!(each["ItemsPath"].as_str(), Some("$.sends"));
    let states = &each["ItemProcessor"]["States"];
    let wait = &states["WaitForItsSecond"];
    assert_eq!(wait["SecondsPath"].as_str(), Some("$.delay"));
    let send = &states["Send"];
    assert_eq!(
        send["Resource"].as_str(),
        Some("arn:aws:states:::lambda:invoke")
    );
    assert_eq!(
        send["Parameters"]["FunctionName"].as_str(),
        Some("${Sender}")
    );
    assert_eq!(
        send["Parameters"]["Payload"]["sends.$"].as_str(),
        Some("$.bodies")
    );
    // The longest wait, its retried invocation and their timeouts fit in five minutes.
    let timeout = send["TimeoutSeconds"].as_u64().expect("a task timeout");
    let attempts = 1 + send["Retry"][0]["MaxAttempts"].as_u64().unwrap_or(0);
    let pause = send["Retry"][0]["IntervalSeconds"].as_u64().unwrap_or(1);
    let longest = u64::from(herald_ports::wake::MAX_SEND_DELAY) + attempts * timeout + pause;
    assert!(longest < 300, "{longest} s exceeds an Express execution");
    let role = referenced(&p["RoleArn"]).expect("the template's own role");
    let statements = &t.doc()["Resources"][role.as_str()]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"];
    let allowed: Vec<(String, String)> = as_list(statements)
        .into_iter()
        .flat_map(|s| {
            as_list(&s["Action"])
                .into_iter()
                .map(|a| (text(a), text(&s["Resource"])))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(allowed.len(), 1, "{allowed:?}");
    assert_eq!(allowed[0].0, "lambda:InvokeFunction");
    assert!(
        allowed[0]
            .1
            .ends_with(":function:${AWS::StackName}-publisher"),
        "{allowed:?}"
    );
}
