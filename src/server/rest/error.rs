//! REST errors: the right status and `{"error":{"code","message","fields"?}}`.

use crate::error::{AppError, FieldError};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": {"code": "validation_failed", "message": "url: must start with https://", "fields": [{"field": "url", "message": "must start with https://"}]}}))]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// unauthorized, forbidden, not_found, validation_failed, conflict, bad_request,
    /// rate_limited, payload_too_large or internal.
    code: &'static str,
    /// What went wrong, for a person.
    message: String,
    /// With validation_failed: the fields at fault and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldProblem>>)]
    fields: Option<Vec<FieldError>>,
}

/// A field of the request and what is wrong with it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only describes `FieldError` in the document
pub struct FieldProblem {
    field: String,
    message: String,
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
        let code = code(&self.0);
        let fields = match self.0 {
            AppError::Validation(fields) => Some(fields),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                fields,
            },
        };
        (status, Json(body)).into_response()
    }
}
