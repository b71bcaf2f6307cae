//! Instants as the admin reads them: the server writes UTC (all it knows), the browser
//! rewrites each `<time>` in the admin's own zone and keeps UTC on hover (see
//! [`crate::ui::localize_times`]). Without the wasm the page stays in UTC, and says so.

use crate::domain::time::{exact, iso, relative};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    view! { <time datetime=iso(at) title=exact(at)>{exact(at)}</time> }
}

/// "5 min ago", with the exact time (local, then UTC) on hover.
#[component]
pub fn RelativeTime(at: DateTime<Utc>, now: DateTime<Utc>) -> impl IntoView {
    view! { <time datetime=iso(at) title=exact(at) data-relative="">{relative(at, now)}</time> }
}
