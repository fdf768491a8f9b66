//! When a failed delivery is tried again, as Svix does: at once, then after 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h and 10 h, each delay with ±20% jitter so endpoints that failed
//! together are not all retried together. A 429, 502 or 504 that says `Retry-After` is not
//! retried before then.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The delay before attempt `n + 2`, after attempt `n + 1` failed.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Attempts in all: the first and one per step of the schedule.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;
/// An answer later than this is a failure, whatever it says.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);
/// A `Retry-After` further out than this is held to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Jitter: each delay is scaled by a factor in [1 - JITTER, 1 + JITTER).
const JITTER: f64 = 0.2;

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx within the timeout.
    Delivered,
    /// 410 Gone: the endpoint asks to receive nothing more; it is disabled.
    Gone,
    /// Anything else: a 3xx (redirects are not followed), a 4xx or 5xx, no answer in time, no
    /// connection, or a target the SSRF guard refused. `retry_after` is set only for a 429,
    /// 502 or 504 that said when.
    Failed { retry_after: Option<Duration> },
}

impl Outcome {
    /// The outcome of an HTTP answer `status`, with its `Retry-After` header if any.
    pub fn of_status(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered,
            410 => Outcome::Gone,
            429 | 502 | 504 => Outcome::Failed {
                retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
            _ => Outcome::Failed { retry_after: None },
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110); None for anything else.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    let secs = (at - now).num_seconds().max(0) as u64;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// How long after failed attempt number `attempt` (1 for the first) the next one is made, or
/// None when no attempt is left (or none is wanted: delivered, gone). `unit` is a random value
/// in [0, 1) for the jitter.
pub fn next_attempt(attempt: u32, outcome: &Outcome, unit: f64) -> Option<Duration> {
    let retry_after = match outcome {
        Outcome::Delivered | Outcome::Gone => return None,
        Outcome::Failed { retry_after } => *retry_after,
    };
    let base = *SCHEDULE.get(usize::try_from(attempt.checked_sub(1)?).ok()?)?;
    let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
    let jittered = base.mul_f64(factor);
    Some(match retry_after {
        Some(wait) => jittered.max(wait),
        None => jittered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Outcome {
        Outcome::Failed { retry_after: None }
    }

    #[test]
    fn the_schedule_is_svix_s_with_jitter_within_a_fifth() {
        let without: Vec<_> = (1..MAX_ATTEMPTS)
            .map(|n| next_attempt(n, &failed(), 0.5).unwrap())
            .collect();
        assert_eq!(without, SCHEDULE);
        for (n, base) in (1..).zip(SCHEDULE) {
            let low = next_attempt(n, &failed(), 0.0).unwrap();
            let high = next_attempt(n, &failed(), 0.999_999).unwrap();
            assert_eq!(low, base.mul_f64(0.8));
            assert!(
                high < base.mul_f64(1.2) && high > base.mul_f64(1.199),
                "{high:?}"
            );
        }
        assert_eq!(next_attempt(MAX_ATTEMPTS, &failed(), 0.5), None);
        assert_eq!(next_attempt(0, &failed(), 0.5), None);
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn delivered_and_gone_are_not_retried() {
        assert_eq!(next_attempt(1, &Outcome::Delivered, 0.5), None);
        assert_eq!(next_attempt(1, &Outcome::Gone, 0.5), None);
    }

    #[test]
    fn answers_are_classified_as_the_spec_says() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for ok in [200, 201, 204, 299] {
            assert_eq!(Outcome::of_status(ok, None, now), Outcome::Delivered);
        }
        for bad in [300, 301, 302, 307, 308, 400, 404, 500, 503] {
            assert_eq!(Outcome::of_status(bad, Some("60"), now), failed(), "{bad}");
        }
        assert_eq!(Outcome::of_status(410, None, now), Outcome::Gone);
        for limited in [429, 502, 504] {
            assert_eq!(
                Outcome::of_status(limited, Some("60"), now),
                Outcome::Failed {
                    retry_after: Some(Duration::from_secs(60))
                }
            );
            assert_eq!(Outcome::of_status(limited, Some("soon"), now), failed());
        }
    }

    #[test]
    fn retry_after_is_honoured_but_never_shortens_the_schedule() {
        let wait = |s| Outcome::Failed {
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(
            next_attempt(1, &wait(120), 0.5),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            next_attempt(2, &wait(1), 0.5),
            Some(Duration::from_secs(300))
        );
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let date = (now + chrono::Duration::seconds(90)).to_rfc2822();
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(90)));
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
