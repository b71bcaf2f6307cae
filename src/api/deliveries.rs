//! The delivery log.

use crate::domain::delivery::DeliveryPage;
use crate::error::AppError;
use leptos::prelude::*;

/// The newest deliveries (admin or higher).
#[server(endpoint = "list_deliveries")]
pub async fn list_deliveries() -> Result<DeliveryPage, AppError> {
    use crate::domain::role::Role;
    use crate::server::{auth::guard, db, state::AppState};

    guard::require(Role::Admin).await?;
    let state = AppState::from_context()?;
    let rows = db::deliveries::recent(&state.pool, 50).await?;
    Ok(DeliveryPage { rows, generated_at: chrono::Utc::now() })
}
