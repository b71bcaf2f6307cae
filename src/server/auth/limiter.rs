//! Sign-in throttling: after 10 failed sign-ins within 15 minutes for one account, or from one
//! address, further attempts are refused until the window moves on. In memory, per process.

use crate::error::AppError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_FAILURES: usize = 10;

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Refuses when any of the keys (account, address) has too many recent failures.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), AppError> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= MAX_FAILURES {
                    return Err(AppError::RateLimited);
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        for key in keys {
            map.entry(key.clone()).or_default().push(now);
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_the_account_for_the_window() {
        let limiter = LoginLimiter::default();
        let keys = vec![
            "account:ada@example.com".to_string(),
            "ip:10.0.0.1".to_string(),
        ];
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(&keys, start).is_ok());
            limiter.record_failure(&keys, start);
        }
        assert_eq!(limiter.check(&keys, start), Err(AppError::RateLimited));
        assert_eq!(
            limiter.check(&["ip:10.0.0.1".to_string()], start),
            Err(AppError::RateLimited),
            "the address too"
        );
        assert!(
            limiter.check(&keys, start + WINDOW).is_ok(),
            "the window moves on"
        );
        limiter.clear("account:ada@example.com");
        assert!(
            limiter
                .check(&["account:ada@example.com".to_string()], start)
                .is_ok()
        );
    }
}
