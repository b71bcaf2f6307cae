//! Users, API keys and audit entries as the owner pages show them.

use super::role::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters, to recognise a key without revealing it.
    pub prefix: String,
    pub scopes: Vec<super::scope::Scope>,
    pub created_by: Option<String>,
    /// The key's creator is disabled: the key is refused until they are enabled again.
    pub creator_disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub created_at: DateTime<Utc>,
}
