//! REST errors: the right status and `{"error":{"code","message","fields"?}}`.

use crate::error::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

pub fn code(err: &AppError) -> &'static str {
    match err {
        AppError::Unauthorized | AppError::InvalidCredentials => "unauthorized",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not_found",
        AppError::Validation(_) => "validation_failed",
        AppError::Conflict(_) => "conflict",
        AppError::BadRequest(_) => "bad_request",
        AppError::RateLimited => "rate_limited",
        AppError::PayloadTooLarge(_) => "payload_too_large",
        AppError::Internal | AppError::Transport(_) => "internal",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &self.0 {
            AppError::Unauthorized => {
                "a valid API key is required: Authorization: Bearer hk_…".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": { "code": code(&self.0), "message": message } });
        if let AppError::Validation(fields) = &self.0 {
            body["error"]["fields"] = json!(fields);
        }
        (status, Json(body)).into_response()
    }
}
