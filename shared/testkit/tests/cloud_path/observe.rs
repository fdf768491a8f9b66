//! What the test reads back from moto: the queues standing in for the aggregator's and the
//! transcoder's triggers, the table's stream, and the items the functions wrote.

use crate::cloud::{Cloud, REGION};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use std::time::Duration;

impl Cloud {
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

    /// A counter of the workspace's day rollup (`likes`, `engagements`, ...), 0 when unset.
    pub async fn day_counter(&self, ws: &str, day: &str, counter: &str) -> i64 {
        let ws = herald_domain::WorkspaceId::parse(ws).expect("a workspace id");
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a date");
        let Some(item) = self.get(herald_storage::keys::metrics_day(&ws, day)).await else {
            return 0;
        };
        match item.get(counter) {
            Some(AttributeValue::N(n)) => n.parse().expect("a number"),
            None => 0,
            other => panic!("{counter} counter: {other:?}"),
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
            width: None,
            height: None,
            duration_seconds: None,
            progress: None,
            alt_text: None,
        };
        let item = herald_app::media::media_record(&media);
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
            .content_type("image/jpeg")
            .body(bytes.into())
            .send()
            .await
            .expect("upload");
    }

    /// The renditions' objects of a media item in the bucket: key and size.
    pub async fn rendition_objects(&self, ws: &str, media: &str) -> Vec<(String, i64)> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{ws}/media/{media}/r/"))
            .send()
            .await
            .expect("list renditions");
        out.contents()
            .iter()
            .map(|o| (o.key().unwrap_or("").to_owned(), o.size().unwrap_or(0)))
            .collect()
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

/// Randomness for an id the test makes: uniqueness within one moto is all it needs.
fn rand_u128() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}
