//! Polling a server function until something settles: a bulk job, a test delivery, an attempt.

use leptos::prelude::*;
use std::future::Future;
use std::time::Duration;

/// Runs `check` every `every` until it answers `true`, or for at most `max_ticks` ticks.
pub fn poll_until<F, Fut>(every: Duration, max_ticks: u32, check: F)
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = bool> + 'static,
{
    let ticks = StoredValue::new(0u32);
    let handle = StoredValue::new(None::<IntervalHandle>);
    let stop = move || {
        if let Some(Some(h)) = handle.try_get_value() {
            h.clear();
        }
    };
    let tick = move || {
        ticks.update_value(|n| *n += 1);
        if ticks.get_value() > max_ticks {
            stop();
            return;
        }
        let check = check.clone();
        leptos::task::spawn_local(async move {
            if check().await {
                stop();
            }
        });
    };
    handle.set_value(set_interval_with_handle(tick, every).ok());
}
