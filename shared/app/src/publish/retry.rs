//! When a failed attempt is tried again.

use chrono::Duration;

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
}
