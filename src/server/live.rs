//! `GET /admin/stream/deliveries`: the portal's live delivery log listens here (Server-Sent
//! Events) instead of polling. Each `change` event says only "deliveries changed"; the page
//! then asks for its rows as before, through the same guarded server functions. Admins only,
//! like the log itself.

use super::auth::guard;
use super::changes;
use super::state::AppState;
use crate::domain::role::Role;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// At most one `change` per this, however busy the dispatcher is.
const COALESCE: Duration = Duration::from_millis(250);
/// With no signal from this process (another process dispatching), a `change` this often.
const IDLE_CHANGE: Duration = Duration::from_secs(15);

pub async fn deliveries_changed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = guard::user_from_headers(&state.pool, &headers)
        .await
        .and_then(|user| guard::check_role(user, Role::Admin));
    if let Err(err) = user {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::FORBIDDEN);
        return (status, err.to_string()).into_response();
    }
    let changed = changes::watch_deliveries();
    let events = futures_util::stream::unfold(
        (changed, state.closing.clone()),
        |(mut changed, closing)| async move {
            tokio::select! {
                _ = changed.changed() => {}
                _ = tokio::time::sleep(IDLE_CHANGE) => {}
                _ = changes::closed(closing.clone()) => return None,
            }
            tokio::time::sleep(COALESCE).await;
            changed.mark_unchanged();
            let event = Event::default().event("change").data("deliveries");
            Some((Ok::<_, std::convert::Infallible>(event), (changed, closing)))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
