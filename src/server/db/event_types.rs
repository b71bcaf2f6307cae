//! The event-type catalog.

use crate::domain::event_type::{EventType, ValidEventType};
use sqlx::{PgPool, Row, postgres::PgRow};

/// Every type name, sorted (archived ones too: the log's filters cover history).
pub async fn names(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM event_types ORDER BY name")
        .fetch_all(pool)
        .await
}

/// The archived type names, sorted (the endpoint form stops offering them).
pub async fn archived_names(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM event_types WHERE archived_at IS NOT NULL ORDER BY name")
        .fetch_all(pool)
        .await
}

/// What publishing an event of a type must respect.
#[derive(Clone)]
pub struct PublishRules {
    pub archived: bool,
    /// The JSON Schema's text.
    pub schema: Option<String>,
}

/// The rules of type `name`, or `None` if the catalog has no such type.
pub async fn publish_rules(pool: &PgPool, name: &str) -> sqlx::Result<Option<PublishRules>> {
    let row: Option<(bool, Option<String>)> =
        sqlx::query_as("SELECT archived_at IS NOT NULL, schema FROM event_types WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(archived, schema)| PublishRules { archived, schema }))
}

/// The type's example payload (JSON text), if the type exists.
pub async fn example(pool: &PgPool, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT example_payload FROM event_types WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
}

const COLUMNS: &str = "name, description, example_payload, schema, \
                       archived_at IS NOT NULL AS archived, created_at, updated_at";

fn event_type(row: PgRow) -> sqlx::Result<EventType> {
    Ok(EventType {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        example: row.try_get("example_payload")?,
        schema: row.try_get("schema")?,
        archived: row.try_get("archived")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The whole catalog: active types first, then archived ones, each by name.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<EventType>> {
    let sql = format!("SELECT {COLUMNS} FROM event_types ORDER BY archived_at IS NOT NULL, name");
    sqlx::query(&sql).try_map(event_type).fetch_all(pool).await
}

pub async fn get(pool: &PgPool, name: &str) -> sqlx::Result<Option<EventType>> {
    let sql = format!("SELECT {COLUMNS} FROM event_types WHERE name = $1");
    sqlx::query(&sql)
        .bind(name)
        .try_map(event_type)
        .fetch_optional(pool)
        .await
}

/// Adds a type; `None` if one of that name exists.
pub async fn insert(pool: &PgPool, t: &ValidEventType) -> sqlx::Result<Option<EventType>> {
    let sql = format!(
        "INSERT INTO event_types (name, description, example_payload, schema)
         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING {COLUMNS}"
    );
    write(pool, &sql, t).await
}

/// Runs `sql` with the type's name, description, example and schema as `$1`…`$4`; the row it
/// returns, if any.
async fn write(pool: &PgPool, sql: &str, t: &ValidEventType) -> sqlx::Result<Option<EventType>> {
    sqlx::query(sql)
        .bind(&t.name)
        .bind(&t.description)
        .bind(&t.example)
        .bind(schema_text(t))
        .try_map(event_type)
        .fetch_optional(pool)
        .await
}

/// The schema as stored: indented, its keys in the order given.
fn schema_text(t: &ValidEventType) -> Option<String> {
    let schema = t.schema.as_ref()?;
    serde_json::to_string_pretty(schema).ok()
}

/// Changes the description, example and schema of type `t.name`; `None` if there is none.
pub async fn update(pool: &PgPool, t: &ValidEventType) -> sqlx::Result<Option<EventType>> {
    let sql = format!(
        "UPDATE event_types SET description = $2, example_payload = $3, schema = $4,
                updated_at = now()
         WHERE name = $1 RETURNING {COLUMNS}"
    );
    write(pool, &sql, t).await
}

/// Deletes type `name` if no event has it and no live endpoint subscribes to it; whether it did.
pub async fn delete_unused(pool: &PgPool, name: &str) -> sqlx::Result<bool> {
    let deleted = sqlx::query(
        "DELETE FROM event_types WHERE name = $1
           AND NOT EXISTS (SELECT 1 FROM events WHERE type = $1)
           AND NOT EXISTS (SELECT 1 FROM endpoints WHERE deleted_at IS NULL AND $1 = ANY (event_types))",
    )
    .bind(name)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Archives or restores a type; `None` if there is none.
pub async fn set_archived(
    pool: &PgPool,
    name: &str,
    archived: bool,
) -> sqlx::Result<Option<EventType>> {
    let sql = format!(
        "UPDATE event_types
         SET archived_at = CASE WHEN $2 THEN coalesce(archived_at, now()) END, updated_at = now()
         WHERE name = $1 RETURNING {COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(name)
        .bind(archived)
        .try_map(event_type)
        .fetch_optional(pool)
        .await
}
