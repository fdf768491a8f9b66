//! Webhook retries woken on demand, on the manual clock with a recording stand-in for the AWS
//! wake-ups: a failed attempt hands over a message delayed to its retry's second when that is
//! within the hand-off's 3 minutes, or ensures the retry's minute's wake; the minute's run
//! queues what is due in it; the queue's message attempts the delivery at its second, once;
//! a redelivery by hand is queued at once; a wake not made loses nothing (the sweep routes
//! the delivery again). The function's handler is these same calls (functions/webhooks).

use crate::deliveries::{Receiver, attempts, deliver_event, endpoint, event, status};
use crate::support::App;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use herald_app::webhooks::{deliver, wake};
use herald_ports::wake::minute_of;
use herald_ports::{DelayedSend, WakeError, WakeJob, WakeUps, WebhookAnswer, WebhookSender};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Wakes the webhook job on demand (the publisher's runs stay inline), remembering each ask.
#[derive(Default)]
struct Wakes {
    minutes: Mutex<Vec<(WakeJob, DateTime<Utc>)>>,
    sends: Mutex<Vec<(WakeJob, DelayedSend)>>,
    down: AtomicBool,
}

impl Wakes {
    fn take_sends(&self) -> Vec<DelayedSend> {
        let sends = std::mem::take(&mut *self.sends.lock().unwrap());
        assert!(sends.iter().all(|(j, _)| *j == WakeJob::Webhooks));
        sends.into_iter().map(|(_, s)| s).collect()
    }

    fn take_minutes(&self) -> Vec<DateTime<Utc>> {
        let minutes = std::mem::take(&mut *self.minutes.lock().unwrap());
        assert!(minutes.iter().all(|(j, _)| *j == WakeJob::Webhooks));
        minutes.into_iter().map(|(_, m)| m).collect()
    }
}

#[async_trait::async_trait]
impl WakeUps for Wakes {
    fn wakes(&self, job: WakeJob) -> bool {
        job == WakeJob::Webhooks
    }

    async fn ensure_minute(&self, job: WakeJob, minute: DateTime<Utc>) -> Result<(), WakeError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(WakeError::Service("the scheduler is down".into()));
        }
        self.minutes.lock().unwrap().push((job, minute));
        Ok(())
    }

    async fn queue_sends(&self, job: WakeJob, sends: &[DelayedSend]) -> Result<(), WakeError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(WakeError::Service("the queue is down".into()));
        }
        let mut kept = self.sends.lock().unwrap();
        kept.extend(sends.iter().map(|s| (job, s.clone())));
        Ok(())
    }
}

async fn app() -> (App, Arc<Wakes>) {
    let wakes = Arc::new(Wakes::default());
    (App::with_wakeups(wakes.clone()).await, wakes)
}

/// The queue handing its messages over: each delivery attempted, as the function does with
/// an SQS batch. Answers how many were attempted.
async fn hand_over(app: &App, receiver: &Arc<Receiver>, sends: &[DelayedSend]) -> usize {
    let sender: Arc<dyn WebhookSender> = receiver.clone();
    let due = sends
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (ws, id) = wake::Ticket::parse(&s.body).expect("a ticket");
            (i, ws, id)
        })
        .collect();
    let mut attempted = 0;
    for (_, r) in deliver::attempt_each(&app.deps, &sender, due).await {
        if r.expect("recorded").is_some() {
            attempted += 1;
        }
    }
    attempted
}

fn next_attempt(log: &[Value]) -> DateTime<Utc> {
    log.last().unwrap()["next_attempt_at"]
        .as_str()
        .expect("a retry is due")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_retry_wakes_the_function_at_its_second_through_the_queue_or_its_minutes_wake() {
    let (app, wakes) = app().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(&app, vec![status(500), status(500), status(500)]);
    assert_eq!(
        deliver_event(&app, &receiver, &event(&app, &ws, 1)).await,
        1
    );
    let mut lateness = vec![];
    // The 5 s retry: a message, delayed to the retry's second.
    {
        let (attempt, base) = (1, 5);
        let log = attempts(&app, &ws, &ep).await;
        assert_eq!(log.len(), attempt);
        let due = next_attempt(&log);
        let sends = wakes.take_sends();
        assert_eq!(sends.len(), 1, "one message for the retry");
        assert!(
            wakes.take_minutes().is_empty(),
            "no schedule for a retry this close"
        );
        let delay = sends[0].delay_seconds;
        assert_eq!(
            i64::from(delay),
            (due - app.now() + Duration::milliseconds(999)).num_seconds()
        );
        assert!(
            f64::from(delay) >= base as f64 * 0.8 && f64::from(delay) <= base as f64 * 1.2 + 1.0,
            "retry {attempt}: {delay} s for {base} s"
        );
        // The state machine hands it over after its delay, never before; whole seconds, so
        // at most a second after the retry's time.
        app.clock.advance(Duration::seconds(i64::from(delay)));
        assert!(app.now() >= due && app.now() - due < Duration::seconds(1));
        assert_eq!(hand_over(&app, &receiver, &sends).await, 1);
        lateness.push((receiver.got().last().unwrap().at - due).num_milliseconds());
        // Handed over twice (at least once): the second finds nothing due.
        assert_eq!(hand_over(&app, &receiver, &sends).await, 0);
        assert_eq!(receiver.got().len(), attempt + 1);
    }
    // The 5 min and 30 min retries: beyond the hand-off's 3 minutes, their minute's wake.
    for (attempt, base) in [(2, 300), (3, 1800)] {
        let log = attempts(&app, &ws, &ep).await;
        assert_eq!(log.len(), attempt);
        let due = next_attempt(&log);
        let wait = (due - app.now()).num_seconds();
        assert!(
            wait as f64 >= base as f64 * 0.8 && wait as f64 <= base as f64 * 1.2 + 1.0,
            "retry {attempt}: {wait} s for {base} s"
        );
        assert!(wakes.take_sends().is_empty());
        assert_eq!(wakes.take_minutes(), [minute_of(due)]);
        // The minute's schedule fires its lead before the minute; that run hands the retry
        // over delayed to its second, attempting nothing before it.
        let minute = minute_of(due);
        app.clock.set(minute - Duration::minutes(2));
        let sender: Arc<dyn WebhookSender> = receiver.clone();
        let run = deliver::sweep(
            &app.deps,
            &sender,
            minute + Duration::milliseconds(59_999),
            200,
        )
        .await
        .unwrap();
        assert_eq!(
            (run.attempted, run.routed.queued, run.routed.minutes),
            (0, 1, 0)
        );
        let sends = wakes.take_sends();
        let delay = sends[0].delay_seconds;
        assert!((120..=180).contains(&delay), "{delay}");
        app.clock.advance(Duration::seconds(i64::from(delay)));
        assert_eq!(hand_over(&app, &receiver, &sends).await, 1);
        lateness.push((receiver.got().last().unwrap().at - due).num_milliseconds());
    }
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log.last().unwrap()["status"], "delivered");
    // Delivered: no wake is asked for.
    assert!(wakes.take_sends().is_empty() && wakes.take_minutes().is_empty());
    println!(
        "webhook retries as woken on the manual clock, ms after each retry's time: {lateness:?}"
    );
    assert!(
        lateness.iter().all(|ms| (0..1000).contains(ms)),
        "{lateness:?}"
    );
}

#[tokio::test]
async fn a_redelivery_by_hand_is_queued_at_once_and_a_lost_wake_is_routed_again_by_the_sweep() {
    let (app, wakes) = app().await;
    let ws = app.workspace("Shop").await;
    let (ep, _) = endpoint(&app, &ws, &["post.published"]).await;
    let receiver = Receiver::new(
        &app,
        vec![Ok(WebhookAnswer {
            status: 429,
            retry_after: Some("7200".into()),
        })],
    );
    // The queue and the scheduler are down when the attempt fails: the attempt stands, the
    // wake is not made.
    wakes.down.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver_event(&app, &receiver, &event(&app, &ws, 1)).await,
        1
    );
    let log = attempts(&app, &ws, &ep).await;
    assert_eq!(log.len(), 1);
    let due = next_attempt(&log);
    assert!(
        due - app.now() >= Duration::hours(2),
        "Retry-After honoured: {due}"
    );
    assert!(wakes.take_sends().is_empty() && wakes.take_minutes().is_empty());
    wakes.down.store(false, Ordering::SeqCst);
    // The hourly sweep an hour later: the retry is within its horizon, its minute's wake is
    // ensured; nothing is attempted before its time.
    app.clock.advance(Duration::minutes(70));
    let sender: Arc<dyn WebhookSender> = receiver.clone();
    let swept = deliver::sweep(&app.deps, &sender, app.now() + Duration::minutes(65), 200)
        .await
        .unwrap();
    assert_eq!((swept.attempted, swept.routed.minutes), (0, 1), "{swept:?}");
    assert_eq!(wakes.take_minutes(), [minute_of(due)]);
    assert_eq!(receiver.got().len(), 1);

    // Sent again by hand: one message, no delay.
    let id = log[0]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            &ws.key,
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let sends = wakes.take_sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].delay_seconds, 0);
    assert_eq!(hand_over(&app, &receiver, &sends).await, 1);
    assert_eq!(attempts(&app, &ws, &ep).await[1]["status"], "delivered");
    // A message that names no delivery, or one already delivered, does nothing.
    assert_eq!(wake::Ticket::parse("not a ticket"), None);
    assert_eq!(hand_over(&app, &receiver, &sends).await, 0);
    assert_eq!(receiver.got().len(), 2);
}
