//! The REST API under `/api/v1` (seed 002's shape). Every handler authenticates the API key
//! itself through the [`auth::ApiCaller`] extractor; errors are `{"error":{"code","message"}}`.

pub mod auth;
pub mod deliveries;
pub mod error;
pub mod events;
pub mod openapi;
pub mod webhooks;

use super::state::AppState;
use crate::error::AppError;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::routing::{MethodRouter, delete, get, patch, post};
use axum::{Json, Router};
use error::ApiError;
use uuid::Uuid;

/// Every route and method. The router is built from this list (see [`handler`]), and a test
/// holds the OpenAPI document to it, so the three cannot drift apart.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/events"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/deliveries/{id}"),
    ("post", "/api/v1/deliveries/{id}/retry"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}"),
    ("patch", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/test"),
    ("post", "/api/v1/webhooks/{id}/rotate-secret"),
    ("post", "/api/v1/webhooks/{id}/reveal"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("get", "/api/v1/openapi.json"),
];

/// The handler of one entry of [`ROUTES`].
fn handler(method: &str, path: &str) -> MethodRouter<AppState> {
    match (method, path) {
        ("post", "/api/v1/events") => post(events::publish),
        ("get", "/api/v1/events") => get(events::list),
        ("get", "/api/v1/deliveries/{id}") => get(deliveries::get),
        ("post", "/api/v1/deliveries/{id}/retry") => post(deliveries::retry),
        ("get", "/api/v1/webhooks") => get(webhooks::list),
        ("post", "/api/v1/webhooks") => post(webhooks::create),
        ("get", "/api/v1/webhooks/{id}") => get(webhooks::get),
        ("patch", "/api/v1/webhooks/{id}") => patch(webhooks::update),
        ("delete", "/api/v1/webhooks/{id}") => delete(webhooks::delete),
        ("post", "/api/v1/webhooks/{id}/test") => post(webhooks::send_test),
        ("post", "/api/v1/webhooks/{id}/rotate-secret") => post(webhooks::rotate_secret),
        ("post", "/api/v1/webhooks/{id}/reveal") => post(webhooks::reveal),
        ("get", "/api/v1/webhooks/{id}/deliveries") => get(webhooks::deliveries),
        ("get", "/api/v1/openapi.json") => get(openapi::document),
        // A programming error, caught by every test that builds the router.
        _ => panic!("no handler for {method} {path} in ROUTES"),
    }
}

pub fn router(max_payload: usize) -> Router<AppState> {
    // axum merges the methods of a path given to `route` more than once.
    ROUTES
        .iter()
        .fold(Router::new(), |app, (method, path)| {
            app.route(path, handler(method, path))
        })
        // The handlers check the exact limit and answer with a JSON error; this only stops
        // absurd bodies before they are read.
        .layer(DefaultBodyLimit::max(
            max_payload.saturating_mul(2).max(64 * 1024),
        ))
}

/// The id in a path; anything that is not a UUID is a 404 for `what` ("Webhook", "Delivery").
fn id_of(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError(AppError::NotFound(what.to_string())))
}

/// The body as JSON, or a 400 that says what is wrong with it (413 when it is too large).
fn json_body<T>(body: Result<Json<T>, JsonRejection>, limit: usize) -> Result<T, ApiError> {
    body.map(|Json(input)| input).map_err(|err| {
        ApiError(match err.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(limit),
            _ => AppError::BadRequest(err.body_text()),
        })
    })
}
