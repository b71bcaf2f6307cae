//! The one error type the portal's server functions return. It is serialisable so the browser
//! gets a typed, safe message; causes are logged on the server, never sent.

use serde::{Deserialize, Serialize};
use server_fn_error::*;

mod server_fn_error {
    pub use leptos::server_fn::codec::JsonEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

pub use crate::domain::field::FieldError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue")]
    Unauthorized,
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{}", describe_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Too many attempts, try again in a minute")]
    RateLimited,
    /// A request body over the server's limit (in bytes).
    #[error("The request body is over the {0}-byte limit")]
    PayloadTooLarge(usize),
    #[error("Something went wrong on the server; the details are in its log")]
    Internal,
    /// Raised in the browser: the request did not reach the server or its answer was unreadable.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

fn describe_fields(fields: &[FieldError]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    parts.join("; ")
}

/// The conflict an owner meets when demoting or disabling the last active owner.
pub const LAST_OWNER: &str = "This is the last owner; make someone else owner first";

impl AppError {
    /// A fixed message for an error that arrived in a link (a form posted without the wasm
    /// comes back with its error in the address). Anyone can write such a link, so the text it
    /// carries is never shown: only the kind of error, as one of these sentences.
    pub fn message_from_link(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "Sign in to continue",
            AppError::InvalidCredentials => "Invalid email or password",
            AppError::Forbidden(_) => "Your role does not allow this",
            AppError::NotFound(_) => "It is not there any more",
            AppError::Validation(_) => "Some fields need attention; nothing was saved",
            AppError::Conflict(text) if text == LAST_OWNER => LAST_OWNER,
            AppError::Conflict(_) => {
                "The change conflicts with the current state; nothing was saved"
            }
            AppError::BadRequest(_) => "The request was not understood",
            AppError::RateLimited => "Too many attempts, try again in a minute",
            AppError::PayloadTooLarge(_) => "The request was too large",
            AppError::Internal | AppError::Transport(_) => {
                "Something went wrong on the server; the details are in its log"
            }
        }
    }

    pub fn forbidden_role(required: crate::domain::role::Role) -> Self {
        AppError::Forbidden(required.requirement())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The message for one form field, if this is a validation error that names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation(fields) => fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Validation(_) => 422,
            AppError::BadRequest(_) => 400,
            AppError::RateLimited => 429,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(detail)
            | ServerFnErrorErr::Response(detail)
            | ServerFnErrorErr::Deserialization(detail) => AppError::Transport(detail),
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                AppError::BadRequest(detail)
            }
            _ => AppError::Internal,
        }
    }
}

/// Database failures are logged with their cause and reach the browser only as `Internal`.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!(error = format!("{err:#}"), "internal error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_their_fields() {
        let err = AppError::Validation(vec![
            FieldError::new("url", "must start with https://"),
            FieldError::new("name", "is taken"),
        ]);
        assert_eq!(err.field_message("name").as_deref(), Some("is taken"));
        assert_eq!(err.field_message("description"), None);
        assert_eq!(
            err.to_string(),
            "url: must start with https://; name: is taken"
        );
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn wrong_password_and_unknown_user_read_the_same() {
        assert_eq!(
            AppError::InvalidCredentials.to_string(),
            "Invalid email or password"
        );
    }

    #[test]
    fn an_error_from_a_link_shows_a_fixed_sentence_not_its_text() {
        let planted = "Your session expired: sign in again at https://evil.example";
        for err in [
            AppError::Conflict(planted.into()),
            AppError::BadRequest(planted.into()),
            AppError::Forbidden(planted.into()),
            AppError::NotFound(planted.into()),
            AppError::Transport(planted.into()),
            AppError::Validation(vec![FieldError::new("name", planted)]),
        ] {
            let shown = err.message_from_link();
            assert!(!shown.contains("evil"), "{err:?} showed {shown}");
        }
        assert_eq!(
            AppError::Conflict(LAST_OWNER.into()).message_from_link(),
            LAST_OWNER
        );
    }
}
