//! One test's AWS on moto, made as template.yaml makes it: the table (from its Table resource),
//! the bucket with its upload notification (to a queue standing in for the transcoder's
//! trigger), the bus with the aggregator's rule (to a queue standing in for the aggregator),
//! the admin key parameter. Names carry the test's own suffix: tests share one moto.

use crate::template::{Setting, Template, to_json};
use aws_sdk_dynamodb::types::AttributeValue;
use herald_testkit::lambda::{Function, release_binary};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The account moto answers as.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// A fixed sealing key (base64 of 32 bytes) standing in for the template's SSM parameter.
const ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Cloud {
    pub template: Template,
    pub endpoint: String,
    pub table: String,
    pub bucket: String,
    pub bus: String,
    pub parameter: String,
    bus_queue: String,
    upload_queue: String,
    http: reqwest::Client,
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    ssm: aws_sdk_ssm::Client,
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
            bus_queue: String::new(),
            upload_queue: String::new(),
            http: reqwest::Client::new(),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            endpoint,
            template,
        };
        cloud.create_table().await;
        cloud.bus_queue = cloud.create_bus_and_rule(&sdk).await;
        cloud.upload_queue = cloud.create_bucket_and_notification().await;
        cloud
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
        let upload = self.template.event("TranscoderFunction", "Upload", "S3");
        let events = match to_json(&upload["Events"]) {
            Value::Array(list) => list,
            one => vec![one],
        };
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, NotificationConfiguration,
            NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
        };
        let mut key_filter = S3KeyFilter::builder();
        for rule in to_json(&upload["Filter"]["S3Key"]["Rules"])
            .as_array()
            .expect("the upload trigger filters keys")
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
        let mut queue = QueueConfiguration::builder().queue_arn(arn).filter(
            NotificationConfigurationFilter::builder()
                .key(key_filter.build())
                .build(),
        );
        for e in events {
            queue = queue.events(Event::from(e.as_str().expect("an S3 event name")));
        }
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&self.bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(queue.build().expect("queue configuration"))
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
        let mut env: Vec<(String, String)> = Vec::new();
        for (name, setting) in self.template.environment(function) {
            let value = match (name.as_str(), setting) {
                (_, Setting::Literal(v)) => v,
                ("HERALD_TABLE", Setting::Tagged(_, r)) if r == "Table" => self.table.clone(),
                ("HERALD_EVENT_BUS", Setting::Tagged(_, r)) if r == "EventBus" => self.bus.clone(),
                ("HERALD_BUCKET", Setting::Tagged(t, _)) if t == "Sub" => self.bucket.clone(),
                ("HERALD_ENCRYPTION_KEY", Setting::Tagged(t, v)) if v.contains("resolve:ssm:") => {
                    assert_eq!(t, "Sub");
                    ENCRYPTION_KEY.to_owned()
                }
                ("HERALD_ADMIN_KEY_PARAMETER", Setting::Tagged(_, r))
                    if r == "AdminKeyParameter" =>
                {
                    self.parameter.clone()
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
            ("HERALD_AWS_ENDPOINT", self.endpoint.as_str()),
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
        Function::start(&format!("{function}-{}", self.table), &binary, &env).await
    }

    /// The next message on the bus's queue of `detail-type` `kind`: EventBridge's envelope.
    pub async fn next_bus_event(&self, kind: &str) -> Value {
        let envelope = self
            .next_message(&self.bus_queue, |m| m["detail-type"] == kind)
            .await;
        envelope.unwrap_or_else(|| panic!("no {kind} event reached the bus within 20 s"))
    }

    /// Whether the bus's queue stays empty for a second.
    pub async fn bus_is_quiet(&self) -> bool {
        self.receive(&self.bus_queue, 1).await.is_empty()
    }

    /// The next S3 event notification of the upload queue (S3's test event skipped).
    pub async fn next_upload_notification(&self) -> Value {
        self.next_message(&self.upload_queue, |m| m["Records"].is_array())
            .await
            .expect("no upload notification within 20 s")
    }

    async fn next_message(&self, queue: &str, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < deadline {
            for body in self.receive(queue, 2).await {
                if wanted(&body) {
                    return Some(body);
                }
            }
        }
        None
    }

    async fn receive(&self, queue: &str, wait_s: i32) -> Vec<Value> {
        let answer = self
            .sqs
            .receive_message()
            .queue_url(queue)
            .wait_time_seconds(wait_s)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let mut bodies = Vec::new();
        for m in answer.messages.unwrap_or_default() {
            if let Some(handle) = &m.receipt_handle {
                self.sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
            let body = m.body.unwrap_or_default();
            bodies.push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
        }
        bodies
    }

    /// Every record of the table's stream so far, as Lambda hands them to a function.
    pub async fn stream_records(&self) -> Vec<Value> {
        let table = self
            .dynamodb(
                "DynamoDB_20120810.DescribeTable",
                &json!({"TableName": self.table}),
            )
            .await;
        let arn = table["Table"]["LatestStreamArn"]
            .as_str()
            .expect("the template's table has a stream")
            .to_owned();
        let stream = self
            .dynamodb(
                "DynamoDBStreams_20120810.DescribeStream",
                &json!({"StreamArn": arn}),
            )
            .await;
        let mut records = Vec::new();
        for shard in stream["StreamDescription"]["Shards"]
            .as_array()
            .expect("shards")
        {
            let iterator = self
                .dynamodb(
                    "DynamoDBStreams_20120810.GetShardIterator",
                    &json!({"StreamArn": arn, "ShardId": shard["ShardId"],
                            "ShardIteratorType": "TRIM_HORIZON"}),
                )
                .await;
            let mut next = iterator["ShardIterator"].clone();
            while let Some(it) = next.as_str().map(str::to_owned) {
                let page = self
                    .dynamodb(
                        "DynamoDBStreams_20120810.GetRecords",
                        &json!({"ShardIterator": it}),
                    )
                    .await;
                let got = page["Records"].as_array().cloned().unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                for mut r in got {
                    r["eventSourceARN"] = json!(arn);
                    r["awsRegion"] = json!(REGION);
                    records.push(r);
                }
                next = page["NextShardIterator"].clone();
            }
        }
        records
    }

    /// The day's `published` counter of a workspace, as the aggregator keeps it.
    pub async fn published_count(&self, ws: &str, day: &str) -> Option<i64> {
        let ws = herald_domain::WorkspaceId::parse(ws).expect("a workspace id");
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a date");
        let item = self
            .get(herald_storage::keys::metrics_day(&ws, day))
            .await?;
        match item.get("published") {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            other => panic!("published counter: {other:?}"),
        }
    }

    /// A media item waiting for its upload, as intake's upload route writes one.
    pub async fn create_processing_media(&self, ws: &str, content_type: &str, size: u64) -> String {
        let ws = herald_domain::WorkspaceId::parse(ws).expect("a workspace id");
        let now = chrono::Utc::now();
        let id = herald_domain::MediaId::generate(now.timestamp_millis() as u64, rand_u128());
        let media = herald_domain::MediaItem {
            id: id.clone(),
            workspace: ws.clone(),
            filename: "cloud.png".into(),
            content_type: content_type.into(),
            size,
            status: herald_domain::MediaStatus::Processing,
            renditions: vec![],
            error: None,
            created_at: now,
        };
        let key = herald_storage::keys::media(&ws, &id);
        let item = herald_app::records::json_item(&key, "media", &media);
        let mut put = self.ddb.put_item().table_name(&self.table);
        for (name, value) in item {
            put = put.item(name, attribute(value));
        }
        put.send().await.expect("media item");
        id.to_string()
    }

    /// The original of a media item, put where uploads land (`ws_…/media/med_…/original`).
    pub async fn upload_original(&self, ws: &str, media: &str, bytes: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{ws}/media/{media}/original"))
            .content_type("image/png")
            .body(bytes.into())
            .send()
            .await
            .expect("upload");
    }

    pub async fn media_status(&self, ws: &str, media: &str) -> String {
        let ws = herald_domain::WorkspaceId::parse(ws).expect("a workspace id");
        let id = herald_domain::MediaId::parse(media).expect("a media id");
        let item = self
            .get(herald_storage::keys::media(&ws, &id))
            .await
            .expect("the media item");
        let Some(AttributeValue::S(data)) = item.get(herald_app::records::DATA) else {
            panic!("media item without data: {item:?}");
        };
        let media: Value = serde_json::from_str(data).expect("media JSON");
        media["status"].as_str().expect("status").to_owned()
    }

    async fn get(
        &self,
        key: herald_ports::Key,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key(herald_ports::table::PK, AttributeValue::S(key.pk))
            .key(herald_ports::table::SK, AttributeValue::S(key.sk))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }

    /// A DynamoDB (or DynamoDB Streams) JSON API call, for what the template spells in the
    /// API's own names. moto does not check signatures; the scope names the service.
    async fn dynamodb(&self, target: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", auth_header("dynamodb"))
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

fn auth_header(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

fn attribute(v: herald_ports::Value) -> AttributeValue {
    use herald_ports::Value as V;
    match v {
        V::S(s) => AttributeValue::S(s),
        V::N(n) => AttributeValue::N(n.to_string()),
        V::Bool(b) => AttributeValue::Bool(b),
        V::Null => AttributeValue::Null(true),
        other => panic!("the test writes no {other:?}"),
    }
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    let a = RandomState::new().hash_one(1u8) as u128;
    let b = RandomState::new().hash_one(2u8) as u128;
    (a << 64) | b
}

/// An HTTP API (payload format 2.0) event for the template's `ANY /{proxy+}` route.
pub fn api_event(method: &str, path: &str, key: &str, body: &Value) -> Value {
    let mut headers = json!({
        "authorization": format!("Bearer {key}"),
        "host": "api.example.test",
        "user-agent": "cloud-path-test",
    });
    let body = if body.is_null() {
        Value::Null
    } else {
        headers["content-type"] = json!("application/json");
        json!(body.to_string())
    };
    json!({
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "cloudpath",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "cloud-path-test"},
            "requestId": "cloud-path",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": "01/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1_796_115_600_000u64,
        },
        "body": body,
        "isBase64Encoded": false,
    })
}

/// What EventBridge Scheduler hands the publisher every minute.
pub fn schedule_event() -> Value {
    json!({"version": "0", "id": "cloud-path", "detail-type": "Scheduled Event",
           "source": "aws.scheduler", "account": ACCOUNT, "region": REGION,
           "time": chrono::Utc::now().to_rfc3339(), "resources": [], "detail": {}})
}

/// A batch of stream records as the event source mapping hands it to the relay.
pub fn stream_event(records: &[&Value]) -> Value {
    json!({ "Records": records })
}
