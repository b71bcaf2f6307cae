//! Sign-in, sign-out and "who am I".

use crate::domain::user::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;

/// Signs in and redirects to the portal (or to `next` when it is a local path).
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::auth::{guard, session};
    use crate::server::state::AppState;
    use http::header::{HeaderValue, SET_COOKIE};

    let state = AppState::from_context()?;
    let limiter = &state.settings.login_limiter;
    let address = client_address(limiter).await;
    let attempt = guard::respond(limiter.begin(&email, address, std::time::Instant::now()))?;
    let ttl = state.settings.session_ttl;
    let signed_in = crate::server::auth::sign_in(&state.pool, ttl, &email, &password).await;
    match &signed_in {
        Ok(_) => attempt.succeeded(),
        Err(AppError::InvalidCredentials) => attempt.failed(),
        Err(_) => drop(attempt),
    }
    let (token, _user) = guard::respond(signed_in)?;
    let cookie = session::set_cookie(
        &token,
        state.settings.session_ttl.as_secs(),
        state.settings.secure_cookies,
    );
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// The address sign-in tries are counted against (see the limiter for trusted proxies).
#[cfg(feature = "ssr")]
async fn client_address(limiter: &crate::server::auth::limiter::LoginLimiter) -> std::net::IpAddr {
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|c| c.0.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let headers: http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    limiter.client_address(peer, forwarded)
}

/// Ends the session and returns to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::auth::session;
    use crate::server::state::AppState;
    use http::header::{HeaderValue, SET_COOKIE};

    let state = AppState::from_context()?;
    let headers: http::HeaderMap = leptos_axum::extract()
        .await
        .map_err(|_| AppError::Internal)?;
    crate::server::auth::sign_out(&state.pool, &headers).await?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        SET_COOKIE,
        HeaderValue::from_str(&session::clear_cookie()).map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// Signs out every other session of the signed-in user (any role); returns how many ended.
#[server(endpoint = "sign_out_others")]
pub async fn sign_out_others() -> Result<u64, AppError> {
    use crate::domain::role::Role;
    use crate::server::auth::guard;

    let (state, user) = guard::authorize(Role::Member).await?;
    let headers: http::HeaderMap = leptos_axum::extract()
        .await
        .map_err(|_| AppError::Internal)?;
    let ended =
        guard::respond(crate::server::auth::sign_out_others(&state.pool, &user, &headers).await)?;
    leptos_axum::redirect("/admin/webhook-deliveries");
    Ok(ended)
}

/// The signed-in user (any role); `Unauthorized` without a session.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<CurrentUser, AppError> {
    use crate::server::auth::guard;
    guard::respond(guard::current_user().await)
}

/// Only portal paths are followed after sign-in, so a link cannot send the user elsewhere; and
/// only as visible ASCII (what a `Location` header may carry), so no byte of it can break the
/// response.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with("/admin")
                && path.len() <= 2000
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_string()
        }
        _ => "/admin/webhook-deliveries".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/admin/webhooks")), "/admin/webhooks");
        assert_eq!(
            safe_next(Some("https://evil.example")),
            "/admin/webhook-deliveries"
        );
        assert_eq!(
            safe_next(Some("//evil.example")),
            "/admin/webhook-deliveries"
        );
        assert_eq!(safe_next(None), "/admin/webhook-deliveries");
        assert_eq!(safe_next(Some("/admin\x7f")), "/admin/webhook-deliveries");
        assert_eq!(
            safe_next(Some("/admin\r\nSet-Cookie: x=1")),
            "/admin/webhook-deliveries"
        );
        assert_eq!(safe_next(Some("/admin/ü")), "/admin/webhook-deliveries");
        assert_eq!(safe_next(Some("/admin?q=a%20b")), "/admin?q=a%20b");
    }
}
