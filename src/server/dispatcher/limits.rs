//! Per-endpoint rate limit (token bucket) and concurrency cap, per process. A delivery that
//! would break either is not sent now but pushed back a little (never spun on).

use super::claim::EndpointConfig;
use crate::domain::rate::TokenBucket;
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
    max_in_flight: usize,
    slots: Arc<Semaphore>,
    bucket: Option<TokenBucket>,
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
        // No cap set (only a rate limit): as many as a semaphore holds.
        let max = endpoint
            .max_in_flight
            .map_or(Semaphore::MAX_PERMITS, |cap| cap as usize);
        let limiter = map.entry(endpoint.id).or_insert_with(|| EndpointLimiter {
            max_in_flight: max,
            slots: Arc::new(Semaphore::new(max)),
            bucket: None,
        });
        if limiter.max_in_flight != max {
            // The admin changed the cap: start a fresh semaphore (old permits drain on their own).
            limiter.max_in_flight = max;
            limiter.slots = Arc::new(Semaphore::new(max));
        }
        match (endpoint.rate_limit_per_sec, &mut limiter.bucket) {
            (Some(rate), Some(bucket)) if bucket.per_sec() == rate => {}
            (Some(rate), bucket) => *bucket = Some(TokenBucket::new(rate, Instant::now())),
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
