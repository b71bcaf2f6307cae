//! Field-level validation messages, shared by the domain's form rules and the portal's errors.

use serde::{Deserialize, Serialize};

/// A field-level validation message, shown next to the form field it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
