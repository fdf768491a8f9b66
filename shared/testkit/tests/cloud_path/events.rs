//! The events Lambda's triggers hand the functions, built as AWS builds them.

use crate::cloud::{ACCOUNT, REGION};
use serde_json::{Value, json};

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
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    json!({
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
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
