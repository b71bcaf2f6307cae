//! The event-type catalog: what producers may publish. A type has a dotted name, a
//! description, an example payload (what test events and readers of the catalog see), an
//! optional JSON Schema that published data must match, and an archived flag that refuses new
//! events of the type while keeping its history.

use crate::field::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The type test events carry; Herald sends it itself, so it can be edited but not archived.
pub const TEST_TYPE: &str = "webhook.test";

/// The largest example or schema the catalog keeps, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: String,
    /// JSON text.
    pub example: String,
    /// JSON text of the JSON Schema published data must match, if any.
    pub schema: Option<String>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A type as the portal's form and the REST body give it: text, checked by [`validate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventTypeForm {
    pub name: String,
    pub description: String,
    /// JSON text; empty means `{}`.
    pub example: String,
    /// JSON text; empty means no schema.
    pub schema: String,
}

impl From<&EventType> for EventTypeForm {
    fn from(t: &EventType) -> Self {
        EventTypeForm {
            name: t.name.clone(),
            description: t.description.clone(),
            example: t.example.clone(),
            schema: t.schema.clone().unwrap_or_default(),
        }
    }
}

/// A form that passed [`validate`]: the example and schema are well-formed JSON. (Whether the
/// schema is a valid JSON Schema, and the example matches it, the server checks.)
#[derive(Clone, Debug, PartialEq)]
pub struct ValidEventType {
    pub name: String,
    pub description: String,
    pub example: String,
    pub schema: Option<serde_json::Value>,
}

pub fn validate(form: &EventTypeForm) -> Result<ValidEventType, Vec<FieldError>> {
    let mut errors = Vec::new();
    // Taken as sent: a name with spaces around it is not a name (and a type is never renamed,
    // so what is stored must be exactly what producers will send).
    let name = form.name.clone();
    if let Err(message) = check_name(&name) {
        errors.push(FieldError::new("name", message));
    }
    // The length counts what was sent (as the API's document states it); spaces around are
    // then dropped.
    let description = form.description.trim().to_string();
    if form.description.chars().count() > 500 {
        errors.push(FieldError::new("description", "Keep it to 500 characters"));
    } else if super::text::has_nul(&form.description) {
        errors.push(FieldError::new("description", super::text::NO_NUL));
    }
    let example = match form.example.trim() {
        "" => "{}".to_string(),
        text => text.to_string(),
    };
    if let Err(message) = check_json(&example) {
        errors.push(FieldError::new("example", message));
    }
    let schema = match form.schema.trim() {
        "" => None,
        text => match check_json(text).and_then(|()| schema_document(text)) {
            Ok(schema) => Some(schema),
            Err(message) => {
                errors.push(FieldError::new("schema", message));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidEventType {
        name,
        description,
        example,
        schema,
    })
}

/// Lowercase words of letters, digits and `_`, joined by dots, at least two: `order.shipped`.
/// (The database holds the same rule.)
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let words: Vec<&str> = name.split('.').collect();
    if name.len() > 100 || words.len() < 2 || !words.iter().all(|w| word(w)) {
        return Err(
            "Use lowercase words (a-z, 0-9, _) joined by dots, like order.shipped (at most 100 characters)",
        );
    }
    Ok(())
}

fn check_json(text: &str) -> Result<(), String> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("Keep it under {} KiB", MAX_DOCUMENT_BYTES / 1024));
    }
    if super::event::nesting_depth(text) > super::event::MAX_NESTING {
        return Err(format!(
            "It is nested deeper than {} levels",
            super::event::MAX_NESTING
        ));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|err| format!("Not valid JSON: {err}"))
}

/// A JSON Schema here is an object (`{}` accepts anything; the boolean forms add nothing).
fn schema_document(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("A JSON Schema is an object, like {\"type\": \"object\"}".into()),
        Err(err) => Err(format!("Not valid JSON: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, example: &str, schema: &str) -> EventTypeForm {
        EventTypeForm {
            name: name.into(),
            description: "Shipped".into(),
            example: example.into(),
            schema: schema.into(),
        }
    }

    fn fields(result: Result<ValidEventType, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn documents_may_be_64_kib_and_128_levels_deep_and_no_more() {
        let string_of = |bytes: usize| format!("\"{}\"", "a".repeat(bytes - 2));
        assert_eq!(check_json(&string_of(64 * 1024)), Ok(()));
        assert!(check_json(&string_of(64 * 1024 + 1)).is_err());
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(check_json(&nested(128)), Ok(()));
        assert!(check_json(&nested(129)).is_err());
    }

    #[test]
    fn a_types_form_shows_what_it_holds() {
        let stored = EventType {
            name: "order.shipped".into(),
            description: "Shipped".into(),
            example: "{\"id\":1}".into(),
            schema: Some("{\"type\":\"object\"}".into()),
            archived: false,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(
            EventTypeForm::from(&stored),
            form("order.shipped", "{\"id\":1}", "{\"type\":\"object\"}")
        );
    }

    #[test]
    fn a_description_may_be_500_characters_and_no_more() {
        let with = |n: usize| EventTypeForm {
            description: "d".repeat(n),
            ..form("order.shipped", "", "")
        };
        assert!(validate(&with(500)).is_ok());
        assert_eq!(fields(validate(&with(501))), ["description"]);
    }

    #[test]
    fn a_dotted_lowercase_name_with_json_passes() {
        let valid = validate(&form(
            "order.shipped",
            r#"{"order_id":"o_1"}"#,
            r#"{"type":"object"}"#,
        ))
        .unwrap();
        assert_eq!(valid.name, "order.shipped");
        assert_eq!(valid.schema, Some(serde_json::json!({"type": "object"})));
        assert_eq!(
            validate(&form("a_b.c_1.d", "", "")).unwrap().example,
            "{}",
            "no example: an empty object"
        );
    }

    #[test]
    fn names_must_be_dotted_lowercase_words() {
        for bad in [
            "order",
            "Order.Shipped",
            "order..shipped",
            ".order",
            "order.",
            "order shipped.x",
            "ordér.shipped",
            " order.shipped",
            "",
        ] {
            assert_eq!(
                fields(validate(&form(bad, "{}", ""))),
                ["name"],
                "{bad:?} passed"
            );
        }
        assert!(check_name(&format!("a.{}", "b".repeat(98))).is_ok());
        assert!(check_name(&format!("a.{}", "b".repeat(99))).is_err());
    }

    #[test]
    fn broken_json_and_non_schemas_name_their_field() {
        assert_eq!(
            fields(validate(&form("a.b", "{nope", "[1]"))),
            ["example", "schema"]
        );
        assert_eq!(fields(validate(&form("a.b", "{}", "\"x\""))), ["schema"]);
        assert_eq!(fields(validate(&form("a.b", "{}", "true"))), ["schema"]);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(fields(validate(&form("a.b", &deep, ""))), ["example"]);
        let nul = EventTypeForm {
            description: "a\0b".into(),
            ..form("a.b", "{}", "")
        };
        assert_eq!(fields(validate(&nul)), ["description"]);
        let huge = format!("\"{}\"", "x".repeat(MAX_DOCUMENT_BYTES));
        assert_eq!(fields(validate(&form("a.b", &huge, ""))), ["example"]);
    }
}
