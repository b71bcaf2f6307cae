//! The one application state, given to axum routes and (as context) to server functions.

use super::crypto::SecretBox;
use crate::error::AppError;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    /// Turns true when the server begins to shut down: open streams end, so the graceful
    /// shutdown need not wait for them.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Single publishes from the REST API go through it: group commit.
    pub publisher: super::service::gather::Gatherer,
    /// API keys and event types' rules, kept in memory for the REST API.
    pub lookups: Arc<super::lookups::Lookups>,
}

#[derive(Debug)]
pub struct Settings {
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    pub secrets: SecretBox,
    pub max_payload_bytes: usize,
    /// Endpoint URLs may be plain http:// (dev and demo); otherwise HTTPS only.
    pub allow_http: bool,
    pub login_limiter: super::auth::limiter::LoginLimiter,
    /// The origin(s) the portal answers as (`--public-url`); see [`super::origin`].
    pub public: std::sync::Arc<super::origin::PublicOrigin>,
    /// Bearer token for `/metrics` on the main listener; `None`: not served there.
    pub metrics_token: Option<String>,
    /// An event stream whose client leaves its buffer full this long is cut off.
    pub stream_stall_limit: Duration,
    /// One permit per event stream this process may hold open (`--max-streams`).
    pub stream_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The state provided to a server function; missing only if the router was built wrongly.
    pub fn from_context() -> Result<Self, AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the server function context");
            AppError::Internal
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
