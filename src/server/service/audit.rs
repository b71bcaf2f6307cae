//! Reading the audit log (every write is recorded by the operation that made it).

use crate::domain::admin::AuditEntry;
use crate::error::AppError;
use crate::server::db;
use crate::server::state::AppState;

/// The newest 200 entries, optionally for one actor and/or one action prefix; blank filters
/// count as none.
pub async fn entries(
    state: &AppState,
    actor: Option<&str>,
    action: Option<&str>,
) -> Result<Vec<AuditEntry>, AppError> {
    Ok(db::audit::entries(&state.pool, given(actor), given(action), 200).await?)
}

fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}
