//! One test's AWS on moto, made as template.yaml makes it: the table (from its Table resource),
//! the bucket with its upload notification (to a queue standing in for the transcoder's
//! trigger), the bus with the aggregator's rule (to a queue standing in for the aggregator),
//! the admin key parameter, the schedule group, and the send state machine (SendDelays) from
//! the template's own definition, which moto's Step Functions interpreter runs. Names carry
//! the test's own suffix: tests share one moto.

use crate::template::{Setting, Template, to_json};

// Beside this file (the cold-start bench includes this one by path).
#[path = "iam.rs"]
pub(crate) mod iam;
use herald_testkit::lambda::{Function, release_binary};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// Extra settings that start a function without the wake-up path (no state machine): a
/// publisher run sends inline what is due within its minute, as `herald serve` does.
pub const INLINE: &[(&str, &str)] = &[
    ("HERALD_SEND_STATE_MACHINE_ARN", ""),
    ("HERALD_SCHEDULE_GROUP", ""),
    ("HERALD_PUBLISHER_ARN", ""),
    ("HERALD_SCHEDULER_ROLE_ARN", ""),
    ("HERALD_WEBHOOKS_STATE_MACHINE_ARN", ""),
    ("HERALD_WEBHOOKS_ARN", ""),
    ("HERALD_AGGREGATOR_ARN", ""),
];

/// The account moto answers as.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// A fixed sealing key (base64 of 32 bytes), put in the template's SSM SecureString.
const ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Cloud {
    pub template: Template,
    pub endpoint: String,
    pub table: String,
    pub bucket: String,
    pub bus: String,
    pub parameter: String,
    /// The SecureString holding the sealing key, as the template's parameter names it.
    pub encryption_parameter: String,
    pub(crate) bus_queue: String,
    pub(crate) upload_queue: String,
    /// The send state machine's ARN (SendDelays), which the publisher's runs start.
    pub send_delays: String,
    /// The schedule group (PublishSchedules) the due minutes' wakes are made in.
    pub schedule_group: String,
    pub(crate) scheduler: aws_sdk_scheduler::Client,
    pub(crate) http: reqwest::Client,
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    /// Each started function's recording proxy in front of moto (iam.rs), by its template
    /// resource: what it called, to check against its role.
    recorders: std::sync::Mutex<Vec<(String, iam::Recorder, bool)>>,
    /// The send state machine's executions `handed_over` has read.
    read: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// One invocation the send state machine made: when, of which function, with what.
#[derive(Clone, Debug)]
pub struct Handed {
    pub at: chrono::DateTime<chrono::Utc>,
    pub function: String,
    pub payload: Value,
}

impl Cloud {
    pub async fn create(tag: &str) -> Cloud {
        static N: AtomicU32 = AtomicU32::new(0);
        let suffix = format!(
            "{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let endpoint = herald_testkit::moto_endpoint().await;
        let sdk = herald_testkit::aws_sdk_config(&endpoint).await;
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build();
        let template = Template::load();
        let mut cloud = Cloud {
            table: format!("herald-{suffix}"),
            bucket: format!("herald-media-{suffix}"),
            bus: format!("herald-events-{suffix}"),
            parameter: format!("/herald-{suffix}/admin-key"),
            encryption_parameter: format!("/herald-{suffix}/encryption-key"),
            bus_queue: String::new(),
            upload_queue: String::new(),
            send_delays: String::new(),
            schedule_group: format!("herald-{suffix}-due"),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            http: reqwest::Client::new(),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            recorders: Default::default(),
            read: Default::default(),
            endpoint,
            template,
        };
        cloud.create_table().await;
        cloud.put_encryption_key_parameter().await;
        cloud.bus_queue = cloud.create_bus_and_rule(&sdk).await;
        cloud.upload_queue = cloud.create_bucket_and_notification().await;
        cloud.send_delays = cloud.create_send_delays_and_schedule_group().await;
        cloud
    }

    /// The schedule group (PublishSchedules) and the send state machine (SendDelays): the
    /// template's definition with its sender substituted, run by moto's interpreter (its
    /// Waits really wait). Its Lambda task reaches moto's Lambda, which echoes the payload
    /// instead of running a function: `handed_over` reads what each invocation carried, and
    /// the test hands that to the binary.
    async fn create_send_delays_and_schedule_group(&self) -> String {
        self.scheduler
            .create_schedule_group()
            .name(&self.schedule_group)
            .send()
            .await
            .expect("schedule group");
        let config = json!({"stepfunctions": {"execute_state_machine": true},
                            "lambda": {"use_docker": false}});
        let answer = self
            .http
            .post(format!("{}/moto-api/config", self.endpoint))
            .json(&config)
            .send()
            .await
            .expect("moto config");
        assert!(
            answer.status().is_success(),
            "moto config: {}",
            answer.status()
        );
        let role = format!("{}-send-delays", self.table);
        let form = [
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", role.as_str()),
            ("AssumeRolePolicyDocument", "{}"),
        ];
        let answer = self
            .http
            .post(&self.endpoint)
            .header("authorization", auth_header("iam"))
            .form(&form)
            .send()
            .await
            .expect("iam");
        assert!(
            answer.status().is_success(),
            "CreateRole: {}",
            answer.status()
        );
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
        // The sender, as moto's Lambda: an empty archive, answered by echoing.
        let function = json!({
            "FunctionName": format!("{}-publisher", self.table),
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role_arn,
            "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}});
        let answer = self
            .http
            .post(format!("{}/2015-03-31/functions", self.endpoint))
            .header("authorization", auth_header("lambda"))
            .json(&function)
            .send()
            .await
            .expect("lambda");
        let status = answer.status();
        assert!(
            status.is_success(),
            "CreateFunction: {status} {}",
            answer.text().await.unwrap_or_default()
        );
        let (definition, machine_type) = self.template.send_delays();
        let definition = definition
            .to_string()
            .replace("${Sender}", &self.publisher_arn());
        let made = self
            .json_call(
                "states",
                "AWSStepFunctions.CreateStateMachine",
                &json!({"name": format!("{}-send-delays", self.table), "definition": definition,
                        "roleArn": role_arn, "type": machine_type}),
            )
            .await;
        made["stateMachineArn"]
            .as_str()
            .expect("a state machine")
            .to_owned()
    }

    /// What the send state machine's finished executions invoked, in order of time: each
    /// invocation's time, function and payload (from each execution's history, as moto's
    /// interpreter ran it), until `n` came or `within` passed. Each execution is read once.
    pub async fn handed_over(&self, n: usize, within: std::time::Duration) -> Vec<Handed> {
        let deadline = std::time::Instant::now() + within;
        let mut got = Vec::new();
        loop {
            let listed = self
                .json_call(
                    "states",
                    "AWSStepFunctions.ListExecutions",
                    &json!({"stateMachineArn": self.send_delays}),
                )
                .await;
            for e in listed["executions"].as_array().into_iter().flatten() {
                let arn = e["executionArn"].as_str().unwrap_or_default().to_owned();
                let status = e["status"].as_str().unwrap_or_default();
                if status == "RUNNING" || !self.read.lock().unwrap().insert(arn.clone()) {
                    continue;
                }
                assert_eq!(status, "SUCCEEDED", "{e}");
                let history = self
                    .json_call(
                        "states",
                        "AWSStepFunctions.GetExecutionHistory",
                        &json!({"executionArn": arn, "maxResults": 1000}),
                    )
                    .await;
                for event in history["events"].as_array().into_iter().flatten() {
                    if event["type"] != "TaskScheduled" {
                        continue;
                    }
                    let details = &event["taskScheduledEventDetails"];
                    assert_eq!(details["resource"], "invoke", "{event}");
                    let parameters: Value =
                        serde_json::from_str(details["parameters"].as_str().unwrap_or("{}"))
                            .expect("the task's parameters");
                    got.push(Handed {
                        at: timestamp(&event["timestamp"]),
                        function: parameters["FunctionName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        payload: parameters["Payload"].clone(),
                    });
                }
            }
            if got.len() >= n || std::time::Instant::now() >= deadline {
                got.sort_by_key(|h| h.at);
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The publisher's ARN as the template names it (its FunctionName).
    pub fn publisher_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}-publisher",
            self.table
        )
    }

    /// The webhook function's ARN as the template names it (its FunctionName).
    pub fn webhooks_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}-webhooks",
            self.table
        )
    }

    /// The aggregator's ARN as the template names it (its FunctionName).
    pub fn aggregator_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}-aggregator",
            self.table
        )
    }

    /// The names of the schedules in the stack's group that start with `prefix`, sorted.
    pub async fn schedule_names(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .scheduler
            .list_schedules()
            .group_name(&self.schedule_group)
            .send()
            .await
            .expect("list schedules");
        let mut names: Vec<String> = listed
            .schedules()
            .iter()
            .filter_map(|s| s.name())
            .filter(|n| n.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    /// The one-time wake `name` (a job's prefix, then its minute), checked as every job's
    /// wake is made: at its minute less the two-minute lead in UTC, no flexible window,
    /// deleted once it has run, invoking `function_arn` with the Scheduler's role and handing
    /// it `{"wake": <minute>}`. Answers that input, for the test to drive the run with.
    pub async fn wake_schedule(&self, name: &str, function_arn: &str) -> Value {
        let stamp = name.get(name.len().saturating_sub(16)..).unwrap_or(name);
        let minute = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H-%M")
            .unwrap_or_else(|e| panic!("{name} ends in no minute: {e}"))
            .and_utc();
        let schedule = self
            .scheduler
            .get_schedule()
            .group_name(&self.schedule_group)
            .name(name)
            .send()
            .await
            .expect("get schedule");
        let at = minute - chrono::Duration::minutes(2);
        assert_eq!(
            schedule.schedule_expression(),
            Some(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")).as_str())
        );
        assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
        assert_eq!(
            schedule.action_after_completion().map(|a| a.as_str()),
            Some("DELETE")
        );
        assert_eq!(
            schedule.flexible_time_window().map(|w| w.mode().as_str()),
            Some("OFF")
        );
        let target = schedule.target().expect("target");
        assert_eq!(target.arn(), function_arn);
        assert_eq!(target.role_arn(), self.scheduler_role_arn());
        let input: Value = serde_json::from_str(target.input().expect("input")).unwrap();
        assert_eq!(
            input["wake"],
            minute.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        input
    }

    pub fn scheduler_role_arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{}-scheduler", self.table)
    }

    /// The table exactly as the template's Table resource declares it (the DynamoDB API takes
    /// the same names), its stream and TTL included.
    async fn create_table(&self) {
        let (mut input, ttl) = self.template.table(&self.table);
        if input.get("StreamSpecification").is_some() {
            // CloudFormation implies it; the API wants it said.
            input["StreamSpecification"]["StreamEnabled"] = json!(true);
        }
        self.dynamodb("DynamoDB_20120810.CreateTable", &input).await;
        if let Some(attribute) = ttl {
            self.dynamodb(
                "DynamoDB_20120810.UpdateTimeToLive",
                &json!({"TableName": self.table,
                        "TimeToLiveSpecification": {"AttributeName": attribute, "Enabled": true}}),
            )
            .await;
        }
    }

    /// The bus, the aggregator's rule with the template's pattern, and a queue as its target.
    async fn create_bus_and_rule(&self, sdk: &aws_config::SdkConfig) -> String {
        let eb = aws_sdk_eventbridge::Client::new(sdk);
        eb.create_event_bus()
            .name(&self.bus)
            .send()
            .await
            .expect("bus");
        let (url, arn) = self.queue(&format!("{}-aggregator", self.table)).await;
        let pattern = self
            .template
            .rule_pattern("AggregatorFunction", "HeraldEvents");
        let rule = format!("{}-aggregator", self.table);
        eb.put_rule()
            .name(&rule)
            .event_bus_name(&self.bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("aggregator")
            .arn(arn)
            .build()
            .expect("target");
        eb.put_targets()
            .rule(&rule)
            .event_bus_name(&self.bus)
            .targets(target)
            .send()
            .await
            .expect("targets");
        url
    }

    /// The media bucket, notifying a queue of created objects with the template's key filter.
    async fn create_bucket_and_notification(&self) -> String {
        self.s3
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("bucket");
        let (url, arn) = self.queue(&format!("{}-uploads", self.table)).await;
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, NotificationConfiguration,
            NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
        };
        // Both of the transcoder's triggers (uploads and import orders), to the one queue.
        let mut queues = Vec::new();
        for trigger in ["Upload", "Import"] {
            let upload = self.template.event("TranscoderFunction", trigger, "S3");
            let events = match to_json(&upload["Events"]) {
                Value::Array(list) => list,
                one => vec![one],
            };
            let mut key_filter = S3KeyFilter::builder();
            for rule in to_json(&upload["Filter"]["S3Key"]["Rules"])
                .as_array()
                .expect("the transcoder's triggers filter keys")
            {
                key_filter = key_filter.filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::from(
                            rule["Name"].as_str().expect("rule name"),
                        ))
                        .value(rule["Value"].as_str().expect("rule value"))
                        .build(),
                );
            }
            let mut queue = QueueConfiguration::builder().queue_arn(&arn).filter(
                NotificationConfigurationFilter::builder()
                    .key(key_filter.build())
                    .build(),
            );
            for e in events {
                queue = queue.events(Event::from(e.as_str().expect("an S3 event name")));
            }
            queues.push(queue.build().expect("queue configuration"));
        }
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&self.bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(queues))
                    .build(),
            )
            .send()
            .await
            .expect("upload notification");
        url
    }

    async fn queue(&self, name: &str) -> (String, String) {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");
        (url, format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
    }

    async fn put_encryption_key_parameter(&self) {
        self.ssm
            .put_parameter()
            .name(&self.encryption_parameter)
            .value(ENCRYPTION_KEY)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("encryption key parameter");
    }

    pub async fn put_admin_key_parameter(&self, key: &str) {
        self.ssm
            .put_parameter()
            .name(&self.parameter)
            .value(key)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("admin key parameter");
    }

    /// Starts a function's release binary (the one its template resource builds) with the
    /// template's environment for it, its references resolved to this test's resources, and
    /// `extra` over it.
    pub async fn start(&self, function: &str, extra: &[(&str, &str)]) -> Function {
        let binary = release_binary(&self.template.binary(function));
        // Every call through a recorder in the tests; the cold-start bench (no test harness)
        // times the functions against moto itself.
        let recorder = iam::Recorder::start(&self.endpoint).await;
        let endpoint = if cfg!(test) {
            recorder.url.clone()
        } else {
            self.endpoint.clone()
        };
        let mut env: Vec<(String, String)> = Vec::new();
        let template_env = self.template.environment(function);
        // A function given other resources than the template's (a bus that does not exist)
        // runs with settings no role is written for: its calls are not checked.
        // (Where the layer's ffmpeg is, is no resource: this machine's stands in for it.)
        let as_deployed = !extra
            .iter()
            .any(|(k, _)| template_env.contains_key(*k) && *k != "HERALD_FFMPEG_DIR");
        for (name, setting) in template_env {
            let value = match (name.as_str(), setting) {
                (_, Setting::Literal(v)) => v,
                ("HERALD_TABLE", Setting::Tagged(_, r)) if r == "Table" => self.table.clone(),
                ("HERALD_EVENT_BUS", Setting::Tagged(_, r)) if r == "EventBus" => self.bus.clone(),
                ("HERALD_BUCKET", Setting::Tagged(t, _)) if t == "Sub" => self.bucket.clone(),
                ("HERALD_ENCRYPTION_KEY_PARAMETER", Setting::Tagged(_, r))
                    if r == "EncryptionKeyParameter" =>
                {
                    self.encryption_parameter.clone()
                }
                ("HERALD_ADMIN_KEY_PARAMETER", Setting::Tagged(_, r))
                    if r == "AdminKeyParameter" =>
                {
                    self.parameter.clone()
                }
                ("HERALD_SEND_STATE_MACHINE_ARN", Setting::Tagged(_, r)) if r == "SendDelays" => {
                    self.send_delays.clone()
                }
                ("HERALD_SCHEDULE_GROUP", Setting::Tagged(_, r)) if r == "PublishSchedules" => {
                    self.schedule_group.clone()
                }
                ("HERALD_PUBLISHER_ARN", Setting::Tagged(t, v))
                    if t == "Sub" && v.ends_with(":function:${AWS::StackName}-publisher") =>
                {
                    self.publisher_arn()
                }
                ("HERALD_SCHEDULER_ROLE_ARN", Setting::Tagged(_, r))
                    if r == "SchedulerInvokeRole.Arn" =>
                {
                    self.scheduler_role_arn()
                }
                // Every job's delayed hand-off.
                ("HERALD_WEBHOOKS_STATE_MACHINE_ARN", Setting::Tagged(_, r))
                    if r == "SendDelays" =>
                {
                    self.send_delays.clone()
                }
                ("HERALD_WEBHOOKS_ARN", Setting::Tagged(t, v))
                    if t == "Sub" && v.ends_with(":function:${AWS::StackName}-webhooks") =>
                {
                    self.webhooks_arn()
                }
                ("HERALD_AGGREGATOR_ARN", Setting::Tagged(t, v))
                    if t == "Sub" && v.ends_with(":function:${AWS::StackName}-aggregator") =>
                {
                    self.aggregator_arn()
                }
                (name, Setting::Tagged(tag, v)) => panic!(
                    "{function}'s {name} is !{tag} {v}: the cloud-path test does not know what \
                     to give it (shared/testkit/tests/cloud_path/aws.rs)"
                ),
            };
            env.push((name, value));
        }
        assert!(
            env.iter().any(|(k, v)| k == "HERALD_BACKEND" && v == "aws"),
            "the template runs {function} on AWS"
        );
        for (k, v) in [
            ("HERALD_AWS_ENDPOINT", endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        {
            env.retain(|(name, _)| name != k);
            env.push((k.to_owned(), v.to_owned()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Kept while the test runs: the function reaches moto through it.
        self.recorders
            .lock()
            .unwrap()
            .push((function.to_owned(), recorder, as_deployed));
        Function::start(&format!("{function}-{}", self.table), &binary, &env).await
    }

    /// Every AWS call each function made so far was one its template role allows; and each
    /// made some (a function that reached AWS some other way would not be checked).
    pub fn assert_least_privilege(&self) {
        let names = iam::Names {
            table: self.table.clone(),
            bucket: self.bucket.clone(),
            bus: self.bus.clone(),
            encryption_parameter: self.encryption_parameter.clone(),
            admin_parameter: self.parameter.clone(),
            send_delays: self.send_delays.clone(),
        };
        let recorders = self.recorders.lock().unwrap();
        let mut problems = Vec::new();
        for (function, recorder, _) in recorders.iter().filter(|(_, _, checked)| *checked) {
            let calls = recorder.calls();
            assert!(
                !calls.is_empty(),
                "{function} made no AWS call through its recorder"
            );
            let actions: std::collections::BTreeSet<&str> =
                calls.iter().map(|c| c.action.as_str()).collect();
            eprintln!("{function} called: {actions:?}");
            for call in iam::refused(&self.template, function, &names, &calls) {
                problems.push(format!("{function}: {} on {}", call.action, call.resource));
            }
        }
        assert!(
            problems.is_empty(),
            "calls template.yaml's roles would refuse:\n{}",
            problems.join("\n")
        );
    }

    /// A DynamoDB (or DynamoDB Streams) JSON API call, for what the template spells in the
    /// API's own names.
    pub(crate) async fn dynamodb(&self, target: &str, body: &Value) -> Value {
        self.json_call("dynamodb", target, body).await
    }

    /// A call of a JSON 1.0 API (DynamoDB, Step Functions). moto does not check signatures;
    /// the scope names the service.
    pub(crate) async fn json_call(&self, service: &str, target: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", auth_header(service))
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "{target} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// A JSON API's timestamp: seconds since the epoch (moto may also answer RFC 3339).
fn timestamp(v: &Value) -> chrono::DateTime<chrono::Utc> {
    match v {
        Value::Number(n) => {
            let ms = (n.as_f64().expect("seconds") * 1000.0).round() as i64;
            chrono::DateTime::from_timestamp_millis(ms).expect("a time")
        }
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .expect("an RFC 3339 time")
            .to_utc(),
        other => panic!("no timestamp: {other}"),
    }
}

pub(crate) fn auth_header(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}
