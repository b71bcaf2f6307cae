//! The REST API under `/api/v1` (seed 002's shape). Every handler authenticates the API key
//! itself through the [`auth::ApiCaller`] extractor; errors are `{"error":{"code","message"}}`.

pub mod auth;
pub mod deliveries;
pub mod error;
pub mod events;

use super::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub fn router(max_payload: usize) -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", post(events::publish).get(events::list))
        .route("/api/v1/deliveries/{id}", get(deliveries::get))
        .route("/api/v1/deliveries/{id}/retry", post(deliveries::retry))
        .route("/api/v1/webhooks/{id}/test", post(deliveries::send_test))
        // The handlers check the exact limit and answer with a JSON error; this only stops
        // absurd bodies before they are read.
        .layer(DefaultBodyLimit::max(max_payload.saturating_mul(2).max(64 * 1024)))
}
