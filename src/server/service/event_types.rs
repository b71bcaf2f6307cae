//! The event-type catalog: list, add, change, archive and restore types, and the check that
//! published data matches its type's JSON Schema.

use super::Actor;
use crate::domain::event_type::{EventType, EventTypeForm, TEST_TYPE, ValidEventType, validate};
use crate::error::{AppError, FieldError};
use crate::server::db;
use crate::server::state::AppState;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub async fn list(state: &AppState) -> Result<Vec<EventType>, AppError> {
    Ok(db::event_types::list(&state.pool).await?)
}

pub async fn get(state: &AppState, name: &str) -> Result<EventType, AppError> {
    db::event_types::get(&state.pool, name)
        .await?
        .ok_or_else(not_found)
}

fn not_found() -> AppError {
    AppError::NotFound("Event type".into())
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    form: &EventTypeForm,
) -> Result<EventType, AppError> {
    let valid = checked(form)?;
    let created = db::event_types::insert(&state.pool, &valid)
        .await?
        .ok_or_else(|| {
            AppError::field("name", format!("{} is already in the catalog", valid.name))
        })?;
    audit(state, actor, "event_type.create", &created).await?;
    Ok(created)
}

/// Changes the description, example and schema of the type named in the form.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    form: &EventTypeForm,
) -> Result<EventType, AppError> {
    let valid = checked(form)?;
    let updated = db::event_types::update(&state.pool, &valid)
        .await?
        .ok_or_else(not_found)?;
    state.lookups.forget();
    audit(state, actor, "event_type.update", &updated).await?;
    Ok(updated)
}

/// Why Herald needs the type, if it does: test events and operational events (alerts).
fn herald_own(name: &str) -> Option<String> {
    if name == TEST_TYPE {
        Some(format!("{TEST_TYPE} carries Herald's test events"))
    } else if crate::domain::alert::is_operational(name) {
        Some(format!("{name} carries Herald's alerts"))
    } else {
        None
    }
}

/// Archiving refuses new events of the type; their history stays. Restoring undoes it.
pub async fn set_archived(
    state: &AppState,
    actor: &Actor,
    name: &str,
    archived: bool,
) -> Result<EventType, AppError> {
    if archived && let Some(why) = herald_own(name) {
        return Err(AppError::Conflict(format!("{why} and cannot be archived")));
    }
    let changed = db::event_types::set_archived(&state.pool, name, archived)
        .await?
        .ok_or_else(not_found)?;
    state.lookups.forget();
    let action = if archived {
        "event_type.archive"
    } else {
        "event_type.restore"
    };
    audit(state, actor, action, &changed).await?;
    Ok(changed)
}

/// Removes a type nothing has used: no event of it, no endpoint subscribed to it.
pub async fn delete(state: &AppState, actor: &Actor, name: &str) -> Result<(), AppError> {
    if let Some(why) = herald_own(name) {
        return Err(AppError::Conflict(format!("{why} and cannot be deleted")));
    }
    let existing = get(state, name).await?;
    if !db::event_types::delete_unused(&state.pool, name).await? {
        return Err(AppError::Conflict(format!(
            "{name} has events or subscribed endpoints: archive it instead, which keeps its history"
        )));
    }
    state.lookups.forget();
    audit(state, actor, "event_type.delete", &existing).await
}

async fn audit(
    state: &AppState,
    actor: &Actor,
    action: &str,
    t: &EventType,
) -> Result<(), AppError> {
    let details = json!({ "schema": t.schema.is_some(), "archived": t.archived });
    db::audit::record(&state.pool, actor, action, &t.name, details).await?;
    Ok(())
}

/// The form's rules, then the server's: the schema compiles and the example matches it.
fn checked(form: &EventTypeForm) -> Result<ValidEventType, AppError> {
    let valid = validate(form).map_err(AppError::Validation)?;
    if let Some(schema) = &valid.schema {
        let validator = compile(schema).map_err(|problem| AppError::field("schema", problem))?;
        let example: Value = serde_json::from_str(&valid.example)
            .map_err(|err| AppError::field("example", format!("Not valid JSON: {err}")))?;
        if let Some(problem) = first_problem(&validator, &example) {
            return Err(AppError::Validation(vec![FieldError::new(
                "example",
                format!("The example does not match the schema: {problem}"),
            )]));
        }
    }
    Ok(valid)
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    // Built without the crate's HTTP and file resolvers: a `$ref` to anything outside the
    // schema fails here instead of making Herald fetch it.
    jsonschema::validator_for(schema).map_err(|err| format!("Not a usable JSON Schema: {err}"))
}

/// The first way `instance` breaks the schema, as "at /path: what", at most
/// [`MAX_PROBLEM_CHARS`] long (the crate's message quotes the offending value, which may be a
/// producer's megabyte string).
fn first_problem(validator: &jsonschema::Validator, instance: &Value) -> Option<String> {
    validator.validate(instance).err().map(|err| {
        let path = err.instance_path().to_string();
        let at = if path.is_empty() { "/".into() } else { path };
        let problem = format!("at {at}: {err}");
        match problem.char_indices().nth(MAX_PROBLEM_CHARS) {
            Some((cut, _)) => format!("{}…", &problem[..cut]),
            None => problem,
        }
    })
}

const MAX_PROBLEM_CHARS: usize = 300;

/// Whether published `data` (JSON text) matches `schema` (JSON text); a 422 naming the first
/// problem if not.
pub fn check_data(event_type: &str, schema: &str, data: &str) -> Result<(), AppError> {
    let refuse = |problem: String| {
        AppError::field(
            "data",
            format!("data does not match the schema of {event_type}: {problem}"),
        )
    };
    // A stored schema compiled when it was saved; if it no longer does, say so rather than
    // letting every event through.
    let validator = compiled(schema).map_err(refuse)?;
    let data: Value = serde_json::from_str(data).map_err(|err| refuse(err.to_string()))?;
    match first_problem(&validator, &data) {
        Some(problem) => Err(refuse(problem)),
        None => Ok(()),
    }
}

/// The validator of a stored schema (JSON text). Publishing checks every event of a type with
/// a schema, and compiling one costs far more than checking data against it, so validators
/// are kept by their schema's text: an edited schema is new text, compiled afresh. The map is
/// emptied when it outgrows any real catalog.
fn compiled(schema: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(validator) = lock().get(schema) {
        return Ok(validator.clone());
    }
    let value: Value = serde_json::from_str(schema).map_err(|err| err.to_string())?;
    let validator = Arc::new(compile(&value)?);
    let mut map = lock();
    if map.len() >= 1024 {
        map.clear();
    }
    map.insert(schema.to_string(), validator.clone());
    Ok(validator)
}
