//! API-key authentication: `Authorization: Bearer hk_…`.

use super::error::ApiError;
use crate::domain::scope::{Scope, allows};
use crate::error::AppError;
use crate::server::db::api_keys::ApiKey;
use crate::server::db::audit::Actor;
use crate::server::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The authenticated caller of a REST handler. Extracting it is the handler's guard: a request
/// without a live key never reaches the handler's body.
pub struct ApiCaller(pub ApiKey);

impl ApiCaller {
    /// The handler's guard: the key must hold `needed` (403 otherwise, naming the scope).
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if allows(&self.0.scopes, needed) {
            return Ok(());
        }
        Err(ApiError(AppError::Forbidden(format!(
            "this API key lacks the {} scope",
            needed.as_str()
        ))))
    }

    /// How the key appears in the audit log: `api-key:<name>`, on behalf of its creator.
    pub fn actor(&self) -> Actor {
        Actor::api_key(&self.0.name, self.0.created_by)
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = crate::server::auth::bearer::presented(&parts.headers)
            .ok_or(ApiError(AppError::Unauthorized))?;
        match state.lookups.api_key(&state.pool, key).await? {
            Some(found) => Ok(ApiCaller(found)),
            None => Err(ApiError(AppError::Unauthorized)),
        }
    }
}
