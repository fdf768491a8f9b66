//! The publisher function: on AWS an EventBridge schedule invokes it every minute; each run
//! publishes everything due before the next one, each target at its second, and waits for
//! what it started. `herald serve` calls the same handler on a fast tick, where each call only
//! starts what is due and the process's dispatcher carries it on between ticks.

use herald_app::publish::{Dispatcher, PublishOptions, RunReport};
use herald_app::{AppError, Deps};
use std::time::Duration;

/// What an invocation asks of the publisher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// A scheduled Lambda run: everything due within its lookahead, waited for, then the
    /// events relayed. The event's content does not matter (a schedule tick, a retry of one,
    /// or a duplicate delivery): claims make every run safe to repeat.
    Run,
    /// A tick of a long-lived host: starts what is due and answers at once.
    Tick,
}

/// The publisher of one process: its dispatcher remembers what is in flight, so overlapping
/// invocations (a warm Lambda, a local tick) never start a target twice.
pub struct Publisher {
    dispatcher: Dispatcher,
}

impl Publisher {
    /// As deployed: each run covers the minute until the next one.
    pub fn scheduled(deps: Deps) -> Self {
        Self::with_options(
            deps,
            PublishOptions {
                lookahead: chrono::Duration::seconds(60),
                ..PublishOptions::default()
            },
        )
    }

    /// As `herald serve` runs it: the only publisher of its store (claims an earlier process
    /// left are dead), ticking every `tick`. It looks a second ahead (at least two ticks), so
    /// a burst is claimed and prepared before its second and only the sends remain then; a
    /// post due within that second can no longer be moved, only cancelled.
    pub fn local(deps: Deps, tick: Duration) -> Self {
        let ahead = (tick.as_millis() as i64 * 2).max(1_000);
        Self::with_options(
            deps,
            PublishOptions {
                lookahead: chrono::Duration::milliseconds(ahead),
                exclusive: true,
                ..PublishOptions::default()
            },
        )
    }

    pub fn with_options(deps: Deps, options: PublishOptions) -> Self {
        Publisher {
            dispatcher: Dispatcher::new(deps, options),
        }
    }

    /// The handler both hosts call.
    pub async fn handle(&self, invocation: Invocation) -> Result<RunReport, AppError> {
        match invocation {
            Invocation::Run => {
                let report = self.dispatcher.run_once().await?;
                tracing::info!(?report, "publisher run");
                Ok(report)
            }
            Invocation::Tick => {
                let tick = self.dispatcher.tick().await?;
                Ok(RunReport {
                    due: tick.due,
                    ..RunReport::default()
                })
            }
        }
    }

    /// At the start of a local host: resolves what an earlier process left in flight.
    pub async fn recover(&self) -> Result<usize, AppError> {
        Ok(self.dispatcher.recover().await?.started)
    }

    /// Waits for everything started to finish (a host shutting down).
    pub async fn drain(&self) {
        self.dispatcher.drain().await;
    }
}
