//! The retry policy: a pure value. Randomness and the server's `Retry-After` are passed in, so
//! tests pin every edge.
//!
//! Default schedule (seed 003: "3 retries over about 30 minutes"): 1 min, 5 min, 25 min after
//! the first, second and third failure. Each delay gets ±20 % jitter so that an endpoint that
//! was down for everyone is not hit by every retry in the same second when it comes back.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Delay before retry n (index 0 = after the first failed attempt).
    pub schedule: Vec<Duration>,
    /// Fraction of each delay by which it may be moved either way (0.2 = ±20 %).
    pub jitter: f64,
    /// `Retry-After` is honoured up to this long; beyond it the schedule wins.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            schedule: vec![
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(1500),
            ],
            jitter: 0.2,
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    pub fn with_schedule(&self, schedule: Vec<Duration>) -> Self {
        Self {
            schedule,
            ..self.clone()
        }
    }

    /// How long to wait after `failed_attempts` automatic attempts have failed, or `None` when
    /// the retries are used up. `unit_random` is uniform in `[0, 1)`; `retry_after` is what the
    /// endpoint asked for. A Retry-After longer than the jittered delay wins, up to the cap.
    pub fn next_delay(
        &self,
        failed_attempts: u32,
        retry_after: Option<Duration>,
        unit_random: f64,
    ) -> Option<Duration> {
        let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
        let base = *self.schedule.get(index)?;
        let factor = 1.0 + self.jitter * (2.0 * unit_random.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor.max(0.0));
        let asked = retry_after
            .map(|d| d.min(self.retry_after_cap))
            .unwrap_or_default();
        Some(jittered.max(asked))
    }

    /// Total attempts a delivery gets: the first plus one per scheduled retry.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.schedule.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }
}

/// Parses a schedule such as `60,300,1500` or `1m,5m,25m` (seconds unless suffixed s/m/h).
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| parse_duration(part.trim()))
        .collect()
}

fn parse_duration(part: &str) -> Result<Duration, String> {
    let (number, unit) = match part.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => part.split_at(at),
        None => (part, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("\"{part}\" is not a duration like 90, 90s, 5m or 2h"))?;
    let seconds = match unit {
        "s" | "" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => return Err(format!("\"{part}\": use s, m or h")),
    };
    if seconds == 0 || seconds > 7 * 24 * 3600 {
        return Err(format!("\"{part}\" must be between 1 second and 7 days"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Parses `Retry-After`: delay-seconds only (HTTP dates are rare for webhooks and need a clock).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_seconds_minutes_and_hours_up_to_a_week() {
        let secs = |text: &str| parse_duration(text).map(|d| d.as_secs());
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("5m"), Ok(300));
        assert_eq!(secs("2h"), Ok(7200));
        assert_eq!(secs("168h"), Ok(604_800));
        assert_eq!(secs("604800"), Ok(604_800));
        assert!(secs("604801").is_err());
        assert!(secs("0").is_err());
        assert!(secs("3d").is_err());
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn an_endpoint_schedule_replaces_the_servers() {
        let policy = RetryPolicy::default().with_schedule(vec![MIN * 2]);
        assert_eq!(policy.max_attempts(), 2);
        assert_eq!(policy.next_delay(1, None, 0.5), Some(MIN * 2));
        assert_eq!(policy.next_delay(2, None, 0.5), None);
    }

    #[test]
    fn default_schedule_is_three_retries_over_half_an_hour() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts(), 4);
        let mid = |n| policy.next_delay(n, None, 0.5).unwrap();
        assert_eq!(mid(1), MIN);
        assert_eq!(mid(2), 5 * MIN);
        assert_eq!(mid(3), 25 * MIN);
        assert_eq!(
            policy.next_delay(4, None, 0.5),
            None,
            "exhausted after the third retry"
        );
        assert_eq!(
            policy.next_delay(0, None, 0.5),
            None,
            "no failure, no retry"
        );
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.next_delay(1, None, 0.0).unwrap(),
            Duration::from_secs(48)
        );
        let top = policy.next_delay(1, None, 0.999_999).unwrap();
        assert!(top <= Duration::from_secs(72) && top > Duration::from_secs(71));
        assert_eq!(
            policy.next_delay(1, None, 7.0).unwrap(),
            Duration::from_secs(72),
            "out-of-range randomness is clamped"
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(1, Some(10 * MIN), 0.5).unwrap(), 10 * MIN);
        assert_eq!(
            policy
                .next_delay(1, Some(Duration::from_secs(5)), 0.5)
                .unwrap(),
            MIN,
            "shorter asks do not shorten"
        );
        assert_eq!(
            policy
                .next_delay(1, Some(Duration::from_secs(86_400)), 0.5)
                .unwrap(),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn schedules_parse_from_config_text() {
        assert_eq!(
            parse_schedule("1m, 5m,25m").unwrap(),
            vec![MIN, 5 * MIN, 25 * MIN]
        );
        assert_eq!(
            parse_schedule("2,3").unwrap(),
            vec![Duration::from_secs(2), Duration::from_secs(3)]
        );
        assert_eq!(parse_schedule("").unwrap(), Vec::<Duration>::new());
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("0").is_err());
        assert_eq!(parse_retry_after(" 120 "), Some(2 * MIN));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
