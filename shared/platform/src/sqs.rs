//! The SQS batch Lambda hands a queue's consumer (`{"Records": [...]}`), read as both
//! consumers (the sender, webhook retries) need it: each message's id, for partial batch
//! failures, and its body.

use herald_app::AppError;
use serde_json::Value;

/// The batch's messages as (id, body); None when the payload is no SQS batch. A record
/// without an id or a body refuses the whole batch.
pub fn messages(payload: &Value) -> Option<Result<Vec<(String, String)>, AppError>> {
    let records = payload.get("Records").and_then(Value::as_array)?;
    let mut messages = Vec::with_capacity(records.len());
    for r in records {
        let (Some(id), Some(body)) = (
            r.get("messageId").and_then(Value::as_str),
            r.get("body").and_then(Value::as_str),
        ) else {
            return Some(Err(AppError::invalid(
                "Records",
                "every record needs a messageId and a body",
            )));
        };
        messages.push((id.to_owned(), body.to_owned()));
    }
    Some(Ok(messages))
}
