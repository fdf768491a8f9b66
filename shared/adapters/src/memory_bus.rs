//! The event bus inside one process, for `herald serve` and tests: every subscriber gets every
//! event published after it subscribed, in publish order.

use async_trait::async_trait;
use herald_ports::{BusError, BusEvent, EventBus};
use std::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

type Filter = Box<dyn Fn(&BusEvent) -> bool + Send + Sync>;

#[derive(Default)]
pub struct InProcessBus {
    subscribers: Mutex<Vec<(Filter, UnboundedSender<BusEvent>)>>,
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
        let mut subs = self.lock();
        for event in events {
            subs.retain(|(filter, tx)| !filter(event) || tx.send(event.clone()).is_ok());
        }
        Ok(())
    }
}
