//! The token bucket behind an endpoint's rate limit: `per_sec` tokens a second, at most one
//! second's worth saved up, so a quiet endpoint gets a burst of at most its rate.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    per_sec: u32,
    tokens: f64,
    refreshed: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_sec: u32, now: Instant) -> Self {
        Self {
            per_sec,
            tokens: f64::from(per_sec),
            refreshed: now,
        }
    }

    pub fn per_sec(&self) -> u32 {
        self.per_sec
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_sec);
        let elapsed = now.saturating_duration_since(self.refreshed).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.refreshed = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2, start);
        assert_eq!(bucket.per_sec(), 2);
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(Duration::from_millis(500)));
        assert_eq!(
            bucket.take(start + Duration::from_millis(250)),
            Err(Duration::from_millis(250))
        );
        assert!(bucket.take(start + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn a_quiet_bucket_saves_up_one_second_at_most() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, start);
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(bucket.take(later).is_ok());
        }
        assert_eq!(bucket.take(later), Err(Duration::from_secs_f64(1.0 / 3.0)));
    }
}
