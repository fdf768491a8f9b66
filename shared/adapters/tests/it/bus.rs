//! The event bus: the in-process bus directly, EventBridge on moto through a rule that delivers
//! to an SQS queue (what a consumer of Herald's events sees on AWS).

use chrono::TimeZone;
use herald_adapters::InProcessBus;
use herald_ports::{BusEvent, EventBus};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

fn event(n: usize, kind: &str) -> BusEvent {
    BusEvent {
        id: format!("evt_{n:04}"),
        kind: kind.into(),
        workspace: "ws_01".into(),
        time: chrono::Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap()
            + chrono::Duration::milliseconds(n as i64),
        data: serde_json::json!({ "n": n, "post": format!("post_{n}") }),
    }
}

fn events(range: std::ops::Range<usize>) -> Vec<BusEvent> {
    range.map(|n| event(n, "post.published")).collect()
}

/// Everything already delivered to `rx`, without waiting.
fn drain(rx: &mut UnboundedReceiver<BusEvent>) -> Vec<BusEvent> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[tokio::test]
async fn every_subscriber_of_the_in_process_bus_sees_every_event_in_order() {
    let bus = InProcessBus::new();
    let mut a = bus.subscribe();
    let mut b = bus.subscribe();
    let all = events(0..25);
    for batch in all.chunks(10) {
        bus.publish(batch).await.unwrap();
    }
    assert_eq!(drain(&mut a), all);
    assert_eq!(drain(&mut b), all);
}

#[tokio::test]
async fn a_late_subscriber_sees_only_what_is_published_after_it_subscribed() {
    let bus = InProcessBus::new();
    bus.publish(&events(0..3)).await.unwrap();
    let mut late = bus.subscribe();
    bus.publish(&events(3..5)).await.unwrap();
    assert_eq!(drain(&mut late), events(3..5));
}

#[tokio::test]
async fn a_filtered_subscriber_sees_only_the_events_it_asked_for() {
    let bus = InProcessBus::new();
    let mut failures = bus.subscribe_where(|e| e.kind == "post.failed");
    let mixed = vec![
        event(0, "post.published"),
        event(1, "post.failed"),
        event(2, "media.ready"),
        event(3, "post.failed"),
    ];
    bus.publish(&mixed).await.unwrap();
    assert_eq!(
        drain(&mut failures),
        vec![mixed[1].clone(), mixed[3].clone()]
    );
}

#[tokio::test]
async fn a_dropped_subscriber_is_forgotten_and_the_others_still_receive() {
    let bus = InProcessBus::new();
    let gone = bus.subscribe();
    let mut kept = bus.subscribe();
    assert_eq!(bus.subscriber_count(), 2);
    drop(gone);
    bus.publish(&events(0..2)).await.unwrap();
    assert_eq!(bus.subscriber_count(), 1);
    assert_eq!(drain(&mut kept), events(0..2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_reach_every_subscriber_in_one_same_order() {
    let bus = Arc::new(InProcessBus::new());
    let mut a = bus.subscribe();
    let mut b = bus.subscribe();
    let publishers: Vec<_> = (0..4)
        .map(|p| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for n in 0..50 {
                    bus.publish(&[event(p * 1000 + n, "post.published")])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    let seen_a = drain(&mut a);
    let seen_b = drain(&mut b);
    assert_eq!(seen_a.len(), 200);
    assert_eq!(seen_a, seen_b);
    // Each publisher's own events keep their order.
    for p in 0..4 {
        let mine: Vec<_> = seen_a
            .iter()
            .filter(|e| e.data["n"].as_u64().unwrap() / 1000 == p)
            .map(|e| e.data["n"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (0..50).map(|n| p * 1000 + n).collect();
        assert_eq!(mine, expected);
    }
}

#[cfg(feature = "aws")]
mod eventbridge {
    use super::*;
    use crate::support::{sdk_config, unique};
    use herald_adapters::EventBridgeBus;
    use herald_ports::BusError;

    /// A bus of its own on moto with a rule sending source `herald` to a fresh SQS queue.
    struct Wired {
        events: aws_sdk_eventbridge::Client,
        sqs: aws_sdk_sqs::Client,
        bus_name: String,
        queue_url: String,
    }

    impl Wired {
        async fn new() -> Self {
            let config = sdk_config().await;
            let events = aws_sdk_eventbridge::Client::new(&config);
            let sqs = aws_sdk_sqs::Client::new(&config);
            let bus_name = unique("herald-bus");
            let queue_url = sqs
                .create_queue()
                .queue_name(unique("herald-q"))
                .send()
                .await
                .expect("create queue")
                .queue_url()
                .expect("queue url")
                .to_owned();
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&queue_url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes");
            let queue_arn = attrs
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
                .expect("queue arn")
                .clone();
            events
                .create_event_bus()
                .name(&bus_name)
                .send()
                .await
                .expect("create bus");
            events
                .put_rule()
                .name("to-queue")
                .event_bus_name(&bus_name)
                .event_pattern(r#"{"source":["herald"]}"#)
                .send()
                .await
                .expect("put rule");
            events
                .put_targets()
                .rule("to-queue")
                .event_bus_name(&bus_name)
                .targets(
                    aws_sdk_eventbridge::types::Target::builder()
                        .id("queue")
                        .arn(queue_arn)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("put targets");
            Wired {
                events,
                sqs,
                bus_name,
                queue_url,
            }
        }

        fn bus(&self, source: &str) -> EventBridgeBus {
            EventBridgeBus::new(self.events.clone(), &self.bus_name, source)
        }

        /// The EventBridge envelopes in the queue. Delivery on moto happens within PutEvents,
        /// so this stops at the first empty receive.
        async fn received(&self) -> Vec<serde_json::Value> {
            let mut out = Vec::new();
            loop {
                let got = self
                    .sqs
                    .receive_message()
                    .queue_url(&self.queue_url)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .expect("receive");
                let messages = got.messages();
                if messages.is_empty() {
                    return out;
                }
                for m in messages {
                    out.push(serde_json::from_str(m.body().expect("body")).expect("JSON body"));
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(m.receipt_handle().expect("receipt"))
                        .send()
                        .await
                        .expect("delete message");
                }
            }
        }
    }

    fn by_id(mut events: Vec<BusEvent>) -> Vec<BusEvent> {
        events.sort_by(|a, b| a.id.cmp(&b.id));
        events
    }

    fn details(envelopes: &[serde_json::Value]) -> Vec<BusEvent> {
        envelopes
            .iter()
            .map(|e| serde_json::from_value(e["detail"].clone()).expect("detail is a BusEvent"))
            .collect()
    }

    #[tokio::test]
    async fn published_events_reach_a_rule_target_with_kind_as_detail_type_and_the_event_as_detail()
    {
        let wired = Wired::new().await;
        let sent = vec![event(1, "post.published"), event(2, "media.ready")];
        wired.bus("herald").publish(&sent).await.unwrap();
        let envelopes = wired.received().await;
        assert_eq!(envelopes.len(), 2);
        for envelope in &envelopes {
            assert_eq!(envelope["source"], "herald");
            let detail: BusEvent = serde_json::from_value(envelope["detail"].clone()).unwrap();
            assert_eq!(envelope["detail-type"], detail.kind.as_str());
        }
        assert_eq!(by_id(details(&envelopes)), by_id(sent));
    }

    #[tokio::test]
    async fn more_than_ten_events_are_split_into_batches_and_all_arrive() {
        // EventBridge (and moto) refuse a PutEvents of more than 10 entries outright.
        let wired = Wired::new().await;
        let sent = events(0..23);
        wired.bus("herald").publish(&sent).await.unwrap();
        assert_eq!(by_id(details(&wired.received().await)), by_id(sent));
    }

    #[tokio::test]
    async fn entries_the_bus_refuses_are_reported_by_id_and_the_rest_are_delivered() {
        let wired = Wired::new().await;
        // An empty detail type is refused per entry, the way EventBridge reports partial failures.
        let sent = vec![
            event(1, "post.published"),
            event(2, ""),
            event(3, "post.failed"),
        ];
        let err = wired.bus("herald").publish(&sent).await.unwrap_err();
        match err {
            BusError::Rejected { failed, reason } => {
                assert_eq!(failed, vec!["evt_0002".to_owned()]);
                assert!(reason.contains("InvalidArgument"), "{reason}");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        let delivered = by_id(details(&wired.received().await));
        assert_eq!(delivered, vec![sent[0].clone(), sent[2].clone()]);
    }

    #[tokio::test]
    async fn events_from_another_source_do_not_match_the_herald_rule() {
        let wired = Wired::new().await;
        wired
            .bus("someone-else")
            .publish(&events(0..3))
            .await
            .unwrap();
        assert!(wired.received().await.is_empty());
    }

    #[tokio::test]
    async fn a_bus_that_cannot_be_reached_is_unavailable() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(sdk_config().await.credentials_provider().unwrap())
            .build();
        let client = aws_sdk_eventbridge::Client::new(&config);
        let bus = EventBridgeBus::new(client, "nowhere", "herald");
        assert!(matches!(
            bus.publish(&events(0..1)).await,
            Err(BusError::Unavailable(_))
        ));
    }
}

fn recording_rule(
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    fail_first: usize,
) -> herald_adapters::memory_bus::Handler {
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(fail_first));
    Arc::new(move |e: BusEvent| {
        let seen = seen.clone();
        let failures = failures.clone();
        Box::pin(async move {
            let left = failures.load(std::sync::atomic::Ordering::SeqCst);
            if left > 0 {
                failures.store(left - 1, std::sync::atomic::Ordering::SeqCst);
                return Err("not now".to_owned());
            }
            seen.lock().unwrap().push(e.id);
            Ok(())
        })
    })
}

#[tokio::test]
async fn a_rule_has_each_event_it_matches_before_publish_answers_and_a_failing_handler_is_retried()
{
    let bus = InProcessBus::new();
    let published = Arc::new(std::sync::Mutex::new(Vec::new()));
    let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
    bus.add_rule(
        "published",
        |e| e.kind == "post.published",
        recording_rule(published.clone(), 0),
    );
    // Fails twice, then succeeds: within the handler's tries.
    bus.add_rule(
        "failed",
        |e| e.kind == "post.failed",
        recording_rule(failed.clone(), 2),
    );
    bus.publish(&[
        event(0, "post.published"),
        event(1, "post.failed"),
        event(2, "post.published"),
    ])
    .await
    .unwrap();
    assert_eq!(*published.lock().unwrap(), vec!["evt_0000", "evt_0002"]);
    assert_eq!(*failed.lock().unwrap(), vec!["evt_0001"]);
}

#[tokio::test]
async fn a_handler_that_keeps_failing_is_given_up_on_without_holding_back_the_others() {
    let bus = InProcessBus::new();
    let broken = Arc::new(std::sync::Mutex::new(Vec::new()));
    let healthy = Arc::new(std::sync::Mutex::new(Vec::new()));
    bus.add_rule("broken", |_| true, recording_rule(broken.clone(), 1_000));
    bus.add_rule("healthy", |_| true, recording_rule(healthy.clone(), 0));
    bus.publish(&events(0..2)).await.unwrap();
    assert!(broken.lock().unwrap().is_empty());
    assert_eq!(*healthy.lock().unwrap(), vec!["evt_0000", "evt_0001"]);
}
