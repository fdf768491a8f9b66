//! Least privilege, proven by use: each function binary reaches moto through its own
//! recording proxy, which notes every AWS call as the IAM action it needs and the resource it
//! names; the test then checks each call against the statements template.yaml gives that
//! function. A call its role would be refused on AWS fails the test, so the template cannot
//! lag behind the code.

use super::{ACCOUNT, REGION};
use crate::template::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// One AWS call as IAM sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub action: String,
    pub resource: String,
}

/// What this test's resources are called, to read ARNs out of requests and the template.
#[derive(Clone)]
pub struct Names {
    pub table: String,
    pub bucket: String,
    pub bus: String,
    pub encryption_parameter: String,
    pub admin_parameter: String,
    pub send_delays: String,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    calls: Arc<Mutex<BTreeSet<Call>>>,
}

/// A recording proxy in front of moto, for one function; stops when dropped.
pub struct Recorder {
    pub url: String,
    calls: Arc<Mutex<BTreeSet<Call>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Recorder {
    pub async fn start(upstream: &str) -> Recorder {
        let calls = Arc::new(Mutex::new(BTreeSet::new()));
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            calls: calls.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the recorder");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder { url, calls, server }
    }

    pub fn calls(&self) -> BTreeSet<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let noted = calls_of(&method, &uri, &headers, &body);
    proxy.calls.lock().unwrap().extend(noted);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = proxy
        .http
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = HeaderMap::new();
            for (name, value) in answer.headers() {
                // Content-Length kept: a HEAD's is the object's size, not its empty body's.
                if name != "transfer-encoding" {
                    out.insert(name, value.clone());
                }
            }
            let body = answer.bytes().await.unwrap_or_default();
            (status, out, body).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

fn table_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        arn("dynamodb", &format!("table/{name}"))
    }
}

/// The IAM actions and resources one request needs (a transaction needs each item's action).
fn calls_of(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<Call> {
    let call = |action: String, resource: String| Call { action, resource };
    let json: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, op) = target.split_once('.').unwrap_or((target, ""));
        return match prefix {
            "DynamoDB_20120810" => match op {
                "TransactWriteItems" => json["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item.as_object()?.iter().next())
                    .map(|(kind, op)| {
                        let action = match kind.as_str() {
                            "ConditionCheck" => "ConditionCheckItem".to_owned(),
                            other => format!("{other}Item"),
                        };
                        call(
                            format!("dynamodb:{action}"),
                            table_arn(&text(&op["TableName"])),
                        )
                    })
                    .collect(),
                "BatchGetItem" => json["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(table, _)| call("dynamodb:BatchGetItem".into(), table_arn(table)))
                    .collect(),
                _ => {
                    let mut resource = table_arn(&text(&json["TableName"]));
                    if let Some(index) = json["IndexName"].as_str() {
                        resource = format!("{resource}/index/{index}");
                    }
                    vec![call(format!("dynamodb:{op}"), resource)]
                }
            },
            "AWSEvents" => json["Entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let bus = e["EventBusName"].as_str().unwrap_or("default");
                    let resource = if bus.starts_with("arn:") {
                        bus.to_owned()
                    } else {
                        arn("events", &format!("event-bus/{bus}"))
                    };
                    call(format!("events:{op}"), resource)
                })
                .collect(),
            "AmazonSSM" => vec![call(
                format!("ssm:{op}"),
                arn("ssm", &format!("parameter{}", text(&json["Name"]))),
            )],
            "AWSStepFunctions" => {
                vec![call(format!("states:{op}"), text(&json["stateMachineArn"]))]
            }
            other => vec![call(format!("unknown:{other}.{op}"), String::new())],
        };
    }
    // REST services: the signing scope names the service.
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let service = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default();
    let path = uri.path().trim_start_matches('/');
    match service {
        "s3" => {
            let action = match *method {
                Method::GET | Method::HEAD => "s3:GetObject",
                Method::PUT => "s3:PutObject",
                Method::DELETE => "s3:DeleteObject",
                _ => "s3:Unknown",
            };
            let decoded = path.replace("%2F", "/");
            vec![call(action.into(), format!("arn:aws:s3:::{decoded}"))]
        }
        "scheduler" => {
            let name = path.strip_prefix("schedules/").unwrap_or(path);
            let group = uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("groupName=")))
                .or(json["GroupName"].as_str())
                .unwrap_or("default");
            let action = match *method {
                Method::POST => "scheduler:CreateSchedule",
                Method::PUT => "scheduler:UpdateSchedule",
                Method::DELETE => "scheduler:DeleteSchedule",
                Method::GET => "scheduler:GetSchedule",
                _ => "scheduler:Unknown",
            };
            let mut calls = vec![call(
                action.into(),
                arn("scheduler", &format!("schedule/{group}/{name}")),
            )];
            if let Some(role) = json["Target"]["RoleArn"].as_str() {
                calls.push(call("iam:PassRole".into(), role.to_owned()));
            }
            calls
        }
        other => vec![call(
            format!("unknown:{other} {method} /{path}"),
            String::new(),
        )],
    }
}

/// A statement's resource as a glob over this test's ARNs: the template's references to the
/// table, the bus, the bucket and the two parameters resolved, any other `${…}` a wildcard.
fn resource_pattern(v: &Value, names: &Names) -> String {
    let table = table_arn(&names.table);
    let known = |reference: &str| -> Option<String> {
        Some(match reference {
            "Table.Arn" | "Table" => table.clone(),
            "EventBus.Arn" => arn("events", &format!("event-bus/{}", names.bus)),
            "EventBus" => names.bus.clone(),
            "EncryptionKeyParameter" => names.encryption_parameter.clone(),
            "AdminKeyParameter" => names.admin_parameter.clone(),
            "SendDelays" => names.send_delays.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            _ => return None,
        })
    };
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) if t.tag == "GetAtt" || t.tag == "Ref" => {
            let reference = t.value.as_str().unwrap_or_default();
            // One of the template's own resources the test does not make: any ARN.
            known(reference).unwrap_or_else(|| "*".into())
        }
        Value::Tagged(t) if t.tag == "Sub" => {
            let mut s = t.value.as_str().unwrap_or_default().to_owned();
            // The bucket is named, not referenced (template.yaml says why).
            s = s.replace("${AWS::StackName}-media-${AWS::AccountId}", &names.bucket);
            let mut out = String::new();
            while let Some(start) = s.find("${") {
                out.push_str(&s[..start]);
                let end = s[start..]
                    .find('}')
                    .map(|e| start + e)
                    .unwrap_or(s.len() - 1);
                let reference = &s[start + 2..end];
                out.push_str(&known(reference).unwrap_or_else(|| "*".into()));
                s = s[end + 1..].to_owned();
            }
            out + &s
        }
        other => panic!("a resource the check cannot read: {other:?}"),
    }
}

/// `*` matches any run of characters, `?` any one, as IAM's resource globs do.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => vec![],
        Value::Sequence(items) => items.iter().collect(),
        one => vec![one],
    }
}

/// The (action, resource pattern) pairs `function`'s role allows: its inline statements and
/// the template's managed policies it references.
fn allowed(template: &Template, function: &str, names: &Names) -> Vec<(String, String)> {
    let doc = template.doc();
    let mut statements = Vec::new();
    for p in list(&doc["Resources"][function]["Properties"]["Policies"]) {
        match p {
            Value::Tagged(t) if t.tag == "Ref" => {
                let policy = t.value.as_str().unwrap_or_default();
                let document = &doc["Resources"][policy]["Properties"]["PolicyDocument"];
                statements.extend(list(&document["Statement"]));
            }
            other => statements.extend(list(&other["Statement"])),
        }
    }
    let mut pairs = Vec::new();
    for s in statements {
        if s["Effect"].as_str() != Some("Allow") {
            continue;
        }
        for action in list(&s["Action"]) {
            for resource in list(&s["Resource"]) {
                pairs.push((
                    action.as_str().unwrap_or_default().to_owned(),
                    resource_pattern(resource, names),
                ));
            }
        }
    }
    pairs
}

/// The calls `function` made that its template role would be refused.
pub fn refused(
    template: &Template,
    function: &str,
    names: &Names,
    calls: &BTreeSet<Call>,
) -> Vec<Call> {
    let allowed = allowed(template, function, names);
    calls
        .iter()
        .filter(|c| {
            !allowed.iter().any(|(action, resource)| {
                action.eq_ignore_ascii_case(&c.action) && glob(resource, &c.resource)
            })
        })
        .cloned()
        .collect()
}

#[test]
fn globs_match_as_iam_resources_do() {
    assert!(glob(
        "arn:aws:s3:::b/*/media/*",
        "arn:aws:s3:::b/ws_1/media/med_2/original"
    ));
    assert!(!glob(
        "arn:aws:s3:::b/*/media/*/original",
        "arn:aws:s3:::b/ws_1/media/m/x"
    ));
    assert!(glob(
        "arn:aws:dynamodb:r:a:table/t",
        "arn:aws:dynamodb:r:a:table/t"
    ));
    assert!(!glob(
        "arn:aws:dynamodb:r:a:table/t",
        "arn:aws:dynamodb:r:a:table/t/index/gsi1"
    ));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
}

#[test]
fn a_transaction_needs_each_of_its_items_actions() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-target",
        "DynamoDB_20120810.TransactWriteItems".parse().unwrap(),
    );
    let body = serde_json::json!({"TransactItems": [
        {"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}},
        {"Update": {"TableName": "t"}}]});
    let calls = calls_of(
        &Method::POST,
        &"/".parse().unwrap(),
        &headers,
        body.to_string().as_bytes(),
    );
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "dynamodb:PutItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:UpdateItem"
        ]
    );
    headers.insert("x-amz-target", "DynamoDB_20120810.Query".parse().unwrap());
    let body = serde_json::json!({"TableName": "t", "IndexName": "gsi1"});
    let calls = calls_of(
        &Method::POST,
        &"/".parse().unwrap(),
        &headers,
        body.to_string().as_bytes(),
    );
    assert!(
        calls[0].resource.ends_with("table/t/index/gsi1"),
        "{calls:?}"
    );
}

#[test]
fn the_template_roles_refuse_what_a_function_was_not_given() {
    let t = Template::load();
    let names = Names {
        table: "t".into(),
        bucket: "b".into(),
        bus: "bus".into(),
        encryption_parameter: "/h/enc".into(),
        admin_parameter: "/h/admin".into(),
        send_delays: arn("states", "stateMachine:t-send-delays"),
    };
    let call = |action: &str, resource: &str| Call {
        action: action.into(),
        resource: resource.into(),
    };
    let table = table_arn("t");
    let asked: BTreeSet<Call> = [
        call("dynamodb:UpdateItem", &table),
        call("dynamodb:Query", &format!("{table}/index/gsi2")),
        call("events:PutEvents", &arn("events", "event-bus/bus")),
        call("ssm:GetParameter", &arn("ssm", "parameter/h/enc")),
        // Not the relay's: writing items, the other index, another bus, the admin key.
        call("dynamodb:PutItem", &table),
        call("dynamodb:Query", &format!("{table}/index/gsi1")),
        call("events:PutEvents", &arn("events", "event-bus/other")),
        call("ssm:GetParameter", &arn("ssm", "parameter/h/admin")),
    ]
    .into();
    let no = refused(&t, "RelayFunction", &names, &asked);
    assert_eq!(no.len(), 4, "{no:#?}");
    assert!(no.iter().all(|c| !c.resource.ends_with("gsi2")));
    let media: BTreeSet<Call> = [
        // The transcoder reads uploads and import orders, writes renditions and an import's
        // fetched original.
        call("s3:GetObject", "arn:aws:s3:::b/ws_1/media/med_1/original"),
        call("s3:GetObject", "arn:aws:s3:::b/ws_1/media/med_1/import"),
        call("s3:PutObject", "arn:aws:s3:::b/ws_1/media/med_1/r/x.jpg"),
        call("s3:PutObject", "arn:aws:s3:::b/ws_1/media/med_1/original"),
        call("s3:ListBucket", "arn:aws:s3:::b"),
        // A video's progress on its item.
        call("dynamodb:UpdateItem", &table),
        // Not the transcoder's: reading renditions, writing orders, keys outside media.
        call("s3:GetObject", "arn:aws:s3:::b/ws_1/media/med_1/r/x.jpg"),
        call("s3:PutObject", "arn:aws:s3:::b/ws_1/media/med_1/import"),
        call("s3:PutObject", "arn:aws:s3:::b/ws_1/other/original"),
    ]
    .into();
    let no = refused(&t, "TranscoderFunction", &names, &media);
    assert_eq!(no.len(), 3, "{no:#?}");
    assert!(
        no.iter()
            .all(|c| c.resource.ends_with("/r/x.jpg") || c.action == "s3:PutObject"),
        "{no:#?}"
    );
}
