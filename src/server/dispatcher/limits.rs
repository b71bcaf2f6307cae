//! Per-endpoint rate limit (token bucket) and concurrency cap, per process. A delivery that
//! would break either is not sent now but pushed back a little (never spun on).

use super::claim::EndpointConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

pub enum Admission {
    /// Send now; hold the permit (if any) until the attempt ends.
    Go(Option<OwnedSemaphorePermit>),
    /// Try again after this long.
    Wait(Duration),
}

#[derive(Clone, Default)]
pub struct Limits {
    endpoints: Arc<Mutex<HashMap<Uuid, EndpointLimiter>>>,
}

struct EndpointLimiter {
    max_in_flight: u32,
    slots: Arc<Semaphore>,
    bucket: Option<TokenBucket>,
}

struct TokenBucket {
    per_sec: f64,
    tokens: f64,
    refreshed: Instant,
}

impl TokenBucket {
    fn new(per_sec: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            tokens: f64::from(per_sec),
            refreshed: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.duration_since(self.refreshed).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.per_sec);
        self.refreshed = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }
}

impl Limits {
    pub fn admit(&self, endpoint: &EndpointConfig) -> Admission {
        if endpoint.rate_limit_per_sec.is_none() && endpoint.max_in_flight.is_none() {
            return Admission::Go(None);
        }
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let max = endpoint.max_in_flight.unwrap_or(u32::MAX >> 4);
        let limiter = map.entry(endpoint.id).or_insert_with(|| EndpointLimiter {
            max_in_flight: max,
            slots: Arc::new(Semaphore::new(max as usize)),
            bucket: None,
        });
        if limiter.max_in_flight != max {
            // The admin changed the cap: start a fresh semaphore (old permits drain on their own).
            limiter.max_in_flight = max;
            limiter.slots = Arc::new(Semaphore::new(max as usize));
        }
        match (endpoint.rate_limit_per_sec, &mut limiter.bucket) {
            (Some(rate), Some(bucket)) if bucket.per_sec as u32 == rate => {}
            (Some(rate), bucket) => *bucket = Some(TokenBucket::new(rate)),
            (None, bucket) => *bucket = None,
        }
        let Ok(permit) = limiter.slots.clone().try_acquire_owned() else {
            return Admission::Wait(Duration::from_millis(500));
        };
        if let Some(bucket) = &mut limiter.bucket
            && let Err(wait) = bucket.take(Instant::now())
        {
            return Admission::Wait(wait.max(Duration::from_millis(20)));
        }
        Admission::Go(Some(permit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2);
        bucket.refreshed = start;
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        let wait = bucket.take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(bucket.take(start + Duration::from_millis(500)).is_ok());
    }
}
