//! The event bus on EventBridge. Each event becomes one entry: `Source` is the configured source
//! (`herald`), `DetailType` the event's kind, `Detail` the whole event as JSON, so a rule can
//! match on kind and a consumer gets back exactly the [`BusEvent`] that was published.

use async_trait::async_trait;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};
use herald_ports::{BusError, BusEvent, EventBus};

/// EventBridge takes at most this many entries per PutEvents call.
pub const MAX_BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
    source: String,
}

impl EventBridgeBus {
    pub fn new(
        client: aws_sdk_eventbridge::Client,
        bus_name: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        EventBridgeBus {
            client,
            bus_name: bus_name.into(),
            source: source.into(),
        }
    }

    fn entry(&self, event: &BusEvent) -> Result<PutEventsRequestEntry, BusError> {
        let detail = serde_json::to_string(event).map_err(|e| BusError::Rejected {
            failed: vec![event.id.clone()],
            reason: format!("not serializable: {e}"),
        })?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(&self.source)
            .detail_type(&event.kind)
            .detail(detail)
            .time(DateTime::from_millis(event.time.timestamp_millis()))
            .build())
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    /// Sends in batches of [`MAX_BATCH`]. Entries EventBridge refuses are reported together as
    /// `Rejected` once every batch has been tried; a call that fails outright is `Unavailable`
    /// (its batch may or may not have gone out: consumers drop repeats by id).
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError> {
        let mut failed = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for batch in events.chunks(MAX_BATCH) {
            let entries = batch
                .iter()
                .map(|e| self.entry(e))
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| BusError::Unavailable(DisplayErrorContext(e).to_string()))?;
            if out.failed_entry_count() > 0 {
                for (id, reason) in refused(batch, out.entries()) {
                    failed.push(id);
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(BusError::Rejected {
                failed,
                reason: reasons.join("; "),
            })
        }
    }
}

/// The ids of the events EventBridge refused, with why. Result entries answer request entries in
/// order; a missing answer counts as refused, since nothing says it was taken.
fn refused(batch: &[BusEvent], results: &[PutEventsResultEntry]) -> Vec<(String, String)> {
    batch
        .iter()
        .enumerate()
        .filter_map(|(i, event)| {
            let reason = match results.get(i) {
                None => "no answer for this entry".to_owned(),
                Some(r) if r.error_code().is_none() && r.event_id().is_some() => return None,
                Some(r) => format!(
                    "{}: {}",
                    r.error_code().unwrap_or("UnknownError"),
                    r.error_message().unwrap_or("")
                ),
            };
            Some((event.id.clone(), reason))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> BusEvent {
        BusEvent {
            id: id.into(),
            kind: "post.published".into(),
            workspace: "ws_1".into(),
            time: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            data: serde_json::json!({}),
        }
    }

    #[test]
    fn entries_with_an_error_code_are_refused_by_event_id() {
        let batch = [event("evt_a"), event("evt_b"), event("evt_c")];
        let results = [
            PutEventsResultEntry::builder().event_id("1").build(),
            PutEventsResultEntry::builder()
                .error_code("ThrottlingException")
                .error_message("slow down")
                .build(),
            PutEventsResultEntry::builder().event_id("3").build(),
        ];
        assert_eq!(
            refused(&batch, &results),
            vec![(
                "evt_b".to_owned(),
                "ThrottlingException: slow down".to_owned()
            )]
        );
    }

    #[test]
    fn entries_without_an_answer_count_as_refused() {
        let batch = [event("evt_a"), event("evt_b")];
        let results = [PutEventsResultEntry::builder().event_id("1").build()];
        let ids: Vec<_> = refused(&batch, &results).into_iter().map(|r| r.0).collect();
        assert_eq!(ids, vec!["evt_b".to_owned()]);
    }
}
