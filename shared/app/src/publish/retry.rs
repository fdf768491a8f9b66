//! What follows a failed attempt, as a pure function of the failure and the target's state: so
//! every path (credential renewal, lookup, send) goes through the same bounded rules.

use chrono::{DateTime, Duration, Utc};
use herald_ports::NetworkErrorKind;

/// The delay before retry `attempt` (1-based): exponential from 2 s, capped at 10 minutes,
/// with jitter in [50%, 100%] so a burst of failures does not return as a burst; a network's
/// `retry_at` wins when later.
pub fn next_delay(attempt: u32, retry_at: Option<Duration>, jitter: f64) -> Duration {
    let exp = 2_i64.saturating_pow(attempt.saturating_sub(1).min(20));
    let base_ms = (2_000_i64.saturating_mul(exp)).min(600_000);
    let jittered = (base_ms as f64 * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64;
    let delay = Duration::milliseconds(jittered);
    match retry_at {
        Some(r) if r > delay => r,
        _ => delay,
    }
}

/// A failed attempt, as the decision sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure<'a> {
    pub kind: &'a NetworkErrorKind,
    /// Attempts made, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// The failure came while checking whether an earlier attempt went out (the target is
    /// unconfirmed): a send may be on the network.
    pub checking: bool,
    /// The post was cancelled: nothing more may be sent.
    pub cancelled: bool,
    pub now: DateTime<Utc>,
    /// In [0, 1], from the random input.
    pub jitter: f64,
}

/// What to do with the target.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Fail for good; `gave_up` when the attempts ran out rather than the network refusing.
    Fail { gave_up: bool },
    /// The network no longer accepts the account's credentials: fail, and ask for a reconnect.
    Reconnect,
    /// The post was cancelled and nothing of this target can be out: end it cancelled.
    Cancel,
    /// Ask the network at `at` whether the post went out, before anything is sent again.
    Check { at: DateTime<Utc> },
    /// Send again at `at`.
    Retry { at: DateTime<Utc> },
}

pub fn decide(f: &Failure) -> Decision {
    let spent = f.attempts >= f.max_attempts;
    let at = || {
        let retry_in = match f.kind {
            NetworkErrorKind::RateLimited { retry_at: Some(at) } => Some(*at - f.now),
            _ => None,
        };
        f.now + next_delay(f.attempts.max(1), retry_in, f.jitter)
    };
    // Nothing can be out: a refused request, or a failure before any send.
    let end = |gave_up| {
        if f.cancelled {
            Decision::Cancel
        } else {
            Decision::Fail { gave_up }
        }
    };
    match f.kind {
        // The request may have gone out: someone must ask the network before anything else,
        // once more even after the last attempt (that check is bounded in its turn).
        NetworkErrorKind::Uncertain if !f.checking => Decision::Check { at: at() },
        NetworkErrorKind::Unauthorized if f.checking && spent => Decision::Fail { gave_up: true },
        NetworkErrorKind::Unauthorized if f.checking => Decision::Check { at: at() },
        NetworkErrorKind::Unauthorized => Decision::Reconnect,
        NetworkErrorKind::Permanent if !f.checking => end(false),
        // A lookup that failed leaves the earlier attempt unknown: look again, bounded.
        _ if f.checking && spent => Decision::Fail { gave_up: true },
        _ if f.checking => Decision::Check { at: at() },
        _ if f.cancelled => Decision::Cancel,
        _ if spent => Decision::Fail { gave_up: true },
        _ => Decision::Retry { at: at() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_are_capped_and_respect_the_network() {
        let d1 = next_delay(1, None, 1.0);
        let d3 = next_delay(3, None, 1.0);
        assert_eq!(d1, Duration::seconds(2));
        assert_eq!(d3, Duration::seconds(8));
        assert_eq!(next_delay(30, None, 1.0), Duration::minutes(10));
        assert_eq!(next_delay(1, None, 0.0), Duration::seconds(1));
        assert_eq!(
            next_delay(1, Some(Duration::seconds(90)), 0.5),
            Duration::seconds(90)
        );
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn failure(kind: &NetworkErrorKind, attempts: u32) -> Failure<'_> {
        Failure {
            kind,
            attempts,
            max_attempts: 6,
            checking: false,
            cancelled: false,
            now: now(),
            jitter: 1.0,
        }
    }

    const TRANSIENT: NetworkErrorKind = NetworkErrorKind::Transient;

    #[test]
    fn a_transient_failure_retries_with_backoff_until_the_attempts_run_out() {
        assert_eq!(
            decide(&failure(&TRANSIENT, 1)),
            Decision::Retry {
                at: now() + Duration::seconds(2)
            }
        );
        assert_eq!(
            decide(&failure(&TRANSIENT, 5)),
            Decision::Retry {
                at: now() + Duration::seconds(32)
            }
        );
        assert_eq!(
            decide(&failure(&TRANSIENT, 6)),
            Decision::Fail { gave_up: true }
        );
        assert_eq!(
            decide(&failure(&TRANSIENT, 60)),
            Decision::Fail { gave_up: true }
        );
    }

    #[test]
    fn a_rate_limit_waits_for_the_networks_reset_time() {
        let kind = NetworkErrorKind::RateLimited {
            retry_at: Some(now() + Duration::minutes(15)),
        };
        assert_eq!(
            decide(&failure(&kind, 1)),
            Decision::Retry {
                at: now() + Duration::minutes(15)
            }
        );
        assert_eq!(decide(&failure(&kind, 6)), Decision::Fail { gave_up: true });
    }

    #[test]
    fn a_refusal_fails_at_once_and_a_lost_authorization_asks_for_a_reconnect() {
        let permanent = NetworkErrorKind::Permanent;
        assert_eq!(
            decide(&failure(&permanent, 1)),
            Decision::Fail { gave_up: false }
        );
        assert_eq!(
            decide(&failure(&NetworkErrorKind::Unauthorized, 1)),
            Decision::Reconnect
        );
    }

    #[test]
    fn an_uncertain_send_is_checked_even_after_the_last_attempt() {
        let uncertain = NetworkErrorKind::Uncertain;
        for attempts in [1, 6, 7] {
            assert!(
                matches!(
                    decide(&failure(&uncertain, attempts)),
                    Decision::Check { .. }
                ),
                "{attempts}"
            );
        }
        let cancelled = Failure {
            cancelled: true,
            ..failure(&uncertain, 2)
        };
        assert!(
            matches!(decide(&cancelled), Decision::Check { .. }),
            "a cancelled post's unsure send is still looked up"
        );
    }

    #[test]
    fn a_failing_lookup_is_bounded_like_any_attempt() {
        for kind in [
            NetworkErrorKind::Transient,
            NetworkErrorKind::Permanent,
            NetworkErrorKind::Uncertain,
            NetworkErrorKind::Unauthorized,
            NetworkErrorKind::RateLimited { retry_at: None },
        ] {
            let checking = |attempts| Failure {
                checking: true,
                ..failure(&kind, attempts)
            };
            assert!(
                matches!(decide(&checking(2)), Decision::Check { .. }),
                "{kind:?}"
            );
            assert_eq!(
                decide(&checking(6)),
                Decision::Fail { gave_up: true },
                "{kind:?}"
            );
            let cancelled = Failure {
                cancelled: true,
                ..checking(3)
            };
            assert!(
                matches!(decide(&cancelled), Decision::Check { .. }),
                "{kind:?}: unknown is not cancelled"
            );
        }
    }

    #[test]
    fn a_cancelled_target_stops_retrying() {
        for kind in [
            NetworkErrorKind::Transient,
            NetworkErrorKind::Permanent,
            NetworkErrorKind::RateLimited { retry_at: None },
        ] {
            for attempts in [1, 6] {
                let f = Failure {
                    cancelled: true,
                    ..failure(&kind, attempts)
                };
                assert_eq!(decide(&f), Decision::Cancel, "{kind:?} {attempts}");
            }
        }
    }
}
