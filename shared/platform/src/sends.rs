//! What the send state machine (the template's `SendDelays`) hands its sender at a second:
//! `{"sends": ["<body>", ...]}`, up to ten bodies, read as both consumers (the publisher's
//! sends, webhook retries) need them: each with its place in the batch (for the log) and its
//! body.

use herald_app::AppError;
use serde_json::Value;

/// The batch's messages as (place, body); None when the payload is no hand-off. A body that
/// is not a string refuses the whole batch.
pub fn messages(payload: &Value) -> Option<Result<Vec<(String, String)>, AppError>> {
    let sends = payload.get("sends").and_then(Value::as_array)?;
    let mut messages = Vec::with_capacity(sends.len());
    for (i, body) in sends.iter().enumerate() {
        let Some(body) = body.as_str() else {
            return Some(Err(AppError::invalid(
                "sends",
                "every send is a message body, a string",
            )));
        };
        messages.push((i.to_string(), body.to_owned()));
    }
    Some(Ok(messages))
}

/// A hand-off whose sends did not all go through answers as a failed invocation: the state
/// machine invokes again with the same batch (what went through is skipped, claims make a
/// repeat harmless), and what is still left after that, the hourly sweep finds.
pub fn unfinished(failed: &[String], total: usize) -> AppError {
    AppError::Conflict(format!(
        "{} of {total} sends not carried (batch places {}); handed over again",
        failed.len(),
        failed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hand_off_is_its_bodies_in_order_and_anything_else_is_none() {
        let got = messages(&json!({"sends": ["{\"a\":1}", "b"]}))
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            [("0".into(), "{\"a\":1}".into()), ("1".into(), "b".into())]
        );
        assert!(messages(&json!({"sends": [1]})).unwrap().is_err());
        assert!(messages(&json!({"wake": "2026-12-01T15:07:00Z"})).is_none());
        assert!(messages(&json!({"Records": []})).is_none());
        let e = unfinished(&["1".into()], 2).to_string();
        assert!(e.contains("1 of 2"), "{e}");
    }
}
