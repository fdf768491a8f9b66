//! The event bus inside one process, for `herald serve` and tests: every subscriber gets every
//! event published after it subscribed, in publish order.
//!
//! Consumers (the aggregator, webhook delivery) are rules with a handler, as on EventBridge:
//! `publish` runs each matching handler before it answers, so the table outbox marks an event
//! relayed only once its consumers had it, and a crash before that relays it again.

use async_trait::async_trait;
use herald_ports::{BusError, BusEvent, EventBus};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

type Filter = Box<dyn Fn(&BusEvent) -> bool + Send + Sync>;

/// What a consumer does with one event; an error is retried, then given up on.
pub type Handler =
    Arc<dyn Fn(BusEvent) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A consumer: a name for the logs, the events it takes, and what it does with them.
#[derive(Clone)]
struct Rule {
    name: &'static str,
    filter: Arc<dyn Fn(&BusEvent) -> bool + Send + Sync>,
    handler: Handler,
}

/// Tries of a failing handler before the event is given up for it (EventBridge retries and
/// then sends to a dead-letter queue; here the log is the dead-letter queue).
const HANDLER_TRIES: u32 = 3;

#[derive(Default)]
pub struct InProcessBus {
    subscribers: Mutex<Vec<(Filter, UnboundedSender<BusEvent>)>>,
    rules: Mutex<Vec<Rule>>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field(
                "subscribers",
                &self.subscribers.lock().map(|s| s.len()).ok(),
            )
            .finish()
    }
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event published from now on. Unbounded, so a slow consumer never loses events
    /// (it holds them in memory instead); dropping the receiver unsubscribes.
    pub fn subscribe(&self) -> UnboundedReceiver<BusEvent> {
        self.subscribe_where(|_| true)
    }

    /// The events `filter` accepts, like an EventBridge rule (by kind, by workspace, ...).
    pub fn subscribe_where(
        &self,
        filter: impl Fn(&BusEvent) -> bool + Send + Sync + 'static,
    ) -> UnboundedReceiver<BusEvent> {
        let (tx, rx) = unbounded_channel();
        self.lock().push((Box::new(filter), tx));
        rx
    }

    /// Runs `handler` for every event `filter` accepts, inside `publish`: the event counts as
    /// delivered once every rule's handler had it.
    pub fn add_rule(
        &self,
        name: &'static str,
        filter: impl Fn(&BusEvent) -> bool + Send + Sync + 'static,
        handler: Handler,
    ) {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Rule {
                name,
                filter: Arc::new(filter),
                handler,
            });
    }

    pub fn subscriber_count(&self) -> usize {
        let mut subs = self.lock();
        subs.retain(|(_, tx)| !tx.is_closed());
        subs.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Filter, UnboundedSender<BusEvent>)>> {
        // A panic in a filter poisons the lock; the list itself is still whole.
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError> {
        // Sending under the lock gives every subscriber the same order, even when several
        // tasks publish at once.
        {
            let mut subs = self.lock();
            for event in events {
                subs.retain(|(filter, tx)| !filter(event) || tx.send(event.clone()).is_ok());
            }
        }
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for event in events {
            for rule in rules.iter().filter(|r| (r.filter)(event)) {
                run_rule(rule, event).await;
            }
        }
        Ok(())
    }
}

async fn run_rule(rule: &Rule, event: &BusEvent) {
    for attempt in 1..=HANDLER_TRIES {
        match (rule.handler)(event.clone()).await {
            Ok(()) => return,
            Err(error) if attempt < HANDLER_TRIES => {
                tracing::warn!(consumer = rule.name, event = %event.id, kind = %event.kind, attempt, %error, "event handler failed; trying again");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            Err(error) => {
                tracing::error!(consumer = rule.name, event = %event.id, kind = %event.kind, %error, "event handler failed for good; the event is dropped for this consumer");
            }
        }
    }
}
