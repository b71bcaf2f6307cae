//! The role guard. Server functions call [`require`] first and stop with `?`; the failure also
//! sets the HTTP status (401/403) of the server function's response.

use super::session;
use crate::domain::role::Role;
use crate::domain::user::CurrentUser;
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;
use http::HeaderMap;
use http::StatusCode;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use sqlx::PgPool;

/// The user signed in on this request, from the session cookie.
pub async fn current_user() -> Result<CurrentUser, AppError> {
    signed_in(&AppState::from_context()?).await
}

async fn signed_in(state: &AppState) -> Result<CurrentUser, AppError> {
    let headers: HeaderMap = leptos_axum::extract()
        .await
        .map_err(|_| AppError::Internal)?;
    user_from_headers(&state.pool, &headers).await
}

pub async fn user_from_headers(
    pool: &PgPool,
    headers: &HeaderMap,
) -> Result<CurrentUser, AppError> {
    let token = session::token_from_headers(headers).ok_or(AppError::Unauthorized)?;
    db::sessions::user(pool, &session::token_hash(&token))
        .await?
        .ok_or(AppError::Unauthorized)
}

/// The signed-in user if their role is at least `required`; otherwise 401 or 403.
pub async fn require(required: Role) -> Result<CurrentUser, AppError> {
    authorize(required).await.map(|(_, user)| user)
}

/// The application state and the signed-in user, if their role is at least `required`: the
/// first line of every guarded server function.
///
/// The state is taken from the context before the first `.await`: server rendering renders a
/// `Suspense`'s children twice, and a resource of the discarded first pass may still be
/// running after its owner, and so its context, is gone.
pub async fn authorize(required: Role) -> Result<(AppState, CurrentUser), AppError> {
    let state = AppState::from_context()?;
    let outcome = signed_in(&state)
        .await
        .and_then(|user| check_role(user, required));
    if let Err(err) = &outcome {
        set_status(err);
    }
    Ok((state, outcome?))
}

/// A server function's result, with the HTTP status of its error set (see [`set_status`]).
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        set_status(err);
    }
    result
}

pub fn check_role(user: CurrentUser, required: Role) -> Result<CurrentUser, AppError> {
    if user.role.allows(required) {
        Ok(user)
    } else {
        Err(AppError::forbidden_role(required))
    }
}

/// Sets the response status for an error when a server function is called as an API (by the
/// hydrated page, or directly). Page loads and plain HTML form posts keep their own status:
/// there the page shows the error, or Leptos redirects back to the form.
pub fn set_status(err: &AppError) {
    let wants_html = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if wants_html {
        return;
    }
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
}
