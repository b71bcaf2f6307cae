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
    let address = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip());
    let account_key = format!("account:{}", email.trim().to_lowercase());
    let mut keys = vec![account_key.clone()];
    keys.extend(address.map(|ip| format!("ip:{ip}")));
    let limiter = &state.settings.login_limiter;
    let now = std::time::Instant::now();
    let outcome = match limiter.check(&keys, now) {
        Ok(()) => {
            crate::server::auth::sign_in(&state.pool, state.settings.session_ttl, &email, &password)
                .await
        }
        Err(err) => Err(err),
    };
    let token = match outcome {
        Ok((token, _user)) => {
            limiter.clear(&account_key);
            token
        }
        Err(err) => {
            if err == AppError::InvalidCredentials {
                limiter.record_failure(&keys, now);
            }
            guard::set_status(&err);
            return Err(err);
        }
    };
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

/// The signed-in user (any role); `Unauthorized` without a session.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<CurrentUser, AppError> {
    crate::server::auth::guard::current_user().await
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
