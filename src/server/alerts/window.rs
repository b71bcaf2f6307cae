//! The attempts of the last day per endpoint, counted per minute in memory: what the
//! success-rate and latency rules read. It is fed by this process's dispatcher as results are
//! recorded, so it covers this process's attempts and starts empty after a restart (a rule
//! then waits for enough attempts before it can hold again).

use super::super::dispatcher::record::AttemptRow;
use crate::domain::alert::{WINDOW_MINUTES, WindowStats};
use crate::domain::health::bucket_of;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Default)]
pub struct AttemptWindow {
    endpoints: Mutex<HashMap<Uuid, VecDeque<Minute>>>,
}

/// One endpoint's attempts that started in one minute.
struct Minute {
    /// Minutes since the Unix epoch.
    at: i64,
    stats: WindowStats,
}

fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

impl AttemptWindow {
    pub fn observe(&self, attempts: &[AttemptRow]) {
        let Ok(mut endpoints) = self.endpoints.lock() else {
            return;
        };
        let oldest = minute_of(Utc::now()) - i64::from(*WINDOW_MINUTES.end());
        for attempt in attempts {
            let minutes = endpoints.entry(attempt.endpoint_id).or_default();
            let at = minute_of(attempt.started_at);
            if minutes.back().is_none_or(|m| m.at < at) {
                minutes.push_back(Minute {
                    at,
                    stats: WindowStats::default(),
                });
            }
            // Results arrive in about the order they started; a late one joins its minute.
            let Some(cell) = minutes.iter_mut().rev().find(|m| m.at <= at) else {
                continue;
            };
            if attempt.error_class.is_none() {
                cell.stats.succeeded += 1;
            } else {
                cell.stats.failed += 1;
            }
            let ms = u32::try_from(attempt.duration_ms).unwrap_or(0);
            cell.stats.latency[bucket_of(ms)] += 1;
        }
        for minutes in endpoints.values_mut() {
            while minutes.front().is_some_and(|m| m.at < oldest) {
                minutes.pop_front();
            }
        }
        endpoints.retain(|_, minutes| !minutes.is_empty());
    }

    /// The endpoint's attempts over the last `minutes` minutes before `now`.
    pub fn stats(&self, endpoint: Uuid, minutes: u32, now: DateTime<Utc>) -> WindowStats {
        let mut total = WindowStats::default();
        let Ok(endpoints) = self.endpoints.lock() else {
            return total;
        };
        let since = minute_of(now) - i64::from(minutes);
        for minute in endpoints.get(&endpoint).into_iter().flatten() {
            if minute.at > since {
                total.succeeded += minute.stats.succeeded;
                total.failed += minute.stats.failed;
                for (sum, n) in total.latency.iter_mut().zip(minute.stats.latency) {
                    *sum += n;
                }
            }
        }
        total
    }
}
