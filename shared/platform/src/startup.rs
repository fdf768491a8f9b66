//! Work a function must finish before it serves an event, but not before it asks for one: the
//! SSM reads of its secrets (and intake's admin key install). Waiting for them at init cost
//! 5–30 ms of every cold start; instead they start at init, concurrently with the rest of it,
//! and each invocation awaits them first (at once after the first success). An attempt that
//! failed is tried again by the next invocation, as Lambda retries a failed init.

use crate::config::ConfigError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::OnceCell;

type Work = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), ConfigError>> + Send>> + Send + Sync;

struct Task {
    what: &'static str,
    done: OnceCell<()>,
    work: Box<Work>,
}

impl Task {
    async fn attempt(&self) -> Result<(), ConfigError> {
        self.done
            .get_or_try_init(|| (self.work)())
            .await
            .map(|_| ())
    }
}

/// What is still to be done before the first event; cheap to clone.
#[derive(Clone, Default)]
pub struct Pending {
    tasks: Vec<Arc<Task>>,
}

impl Pending {
    /// Nothing pending (every secret was at hand at init).
    pub fn none() -> Self {
        Self::default()
    }

    /// Starts `work` now, on the runtime, and keeps it for `ready`. Must run inside Tokio.
    pub fn start<F, Fut>(what: &'static str, work: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConfigError>> + Send + 'static,
    {
        let task = Arc::new(Task {
            what,
            done: OnceCell::new(),
            work: Box::new(move || Box::pin(work())),
        });
        let early = task.clone();
        // On a thread of the blocking pool, not a worker: the first request of a process builds
        // its TLS connector, loading the system's root certificates (milliseconds of CPU, and
        // a second read waits for the first), and a worker held by that cannot drive the I/O
        // of the Runtime API's first poll.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            runtime.block_on(async move {
                match early.attempt().await {
                    Ok(()) => crate::telemetry::init_step(early.what),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "{} failed while starting; the first invocation tries again",
                        early.what
                    ),
                }
            })
        });
        Pending { tasks: vec![task] }
    }

    /// This and `other`.
    pub fn and(mut self, other: Pending) -> Self {
        self.tasks.extend(other.tasks);
        self
    }

    /// Waits for what is pending (trying again what failed); an error is logged here, once
    /// per invocation that meets it, and the caller answers it.
    pub async fn ready(&self) -> Result<(), ConfigError> {
        for task in &self.tasks {
            if let Err(e) = task.attempt().await {
                tracing::error!(error = %e, "cannot serve: {} failed", task.what);
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn work_starts_at_once_runs_once_and_every_caller_waits_for_it() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let pending = Pending::start("slow work", move || {
            let runs = counted.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        // Started without anyone waiting.
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let twin = pending.clone();
        let (a, b) = tokio::join!(pending.ready(), twin.ready());
        a.unwrap();
        b.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "done work ran again");
    }

    #[tokio::test]
    async fn a_caller_arriving_mid_work_waits_for_that_attempt_not_a_second_one() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let pending = Pending::start("slow work", move || {
            let runs = counted.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(())
            }
        });
        tokio::task::yield_now().await;
        pending.ready().await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_is_answered_and_the_next_caller_tries_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let pending = Pending::start("flaky read", move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(ConfigError::Invalid {
                        name: "HERALD_SOMETHING",
                        message: format!("attempt {n} failed"),
                    })
                } else {
                    Ok(())
                }
            }
        });
        // The start's attempt (0) fails; the first caller's (1) fails and is answered.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let e = pending.ready().await.unwrap_err();
        assert!(e.to_string().contains("HERALD_SOMETHING"), "{e}");
        pending.ready().await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        pending.ready().await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "a success is kept");
    }

    #[tokio::test]
    async fn every_task_must_succeed_and_none_means_ready() {
        Pending::none().ready().await.unwrap();
        let fine = Pending::start("fine", || async { Ok(()) });
        let broken = Pending::start("broken", || async {
            Err(ConfigError::Missing {
                name: "HERALD_X",
                backend: "aws",
            })
        });
        let e = fine.and(broken).ready().await.unwrap_err();
        assert!(e.to_string().contains("HERALD_X"), "{e}");
    }
}
