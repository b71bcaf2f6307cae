//! `GET /api/v1/openapi.json`: the document generated from the REST handlers and their types
//! (see [`super::operations`]).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], super::document())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        serde_json::from_str(super::super::document()).expect("valid JSON")
    }

    /// Every `$ref` under `value`, followed (once each) into the document's components.
    fn with_references<'a>(doc: &'a Value, value: &'a Value, seen: &mut Vec<&'a Value>) {
        seen.push(value);
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" {
                        let path = inner.as_str().unwrap().trim_start_matches("#/");
                        let target = path.split('/').fold(doc, |at, part| &at[part]);
                        if !seen.iter().any(|s| std::ptr::eq(*s, target)) {
                            with_references(doc, target, seen);
                        }
                    } else {
                        with_references(doc, inner, seen);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| with_references(doc, i, seen)),
            _ => {}
        }
    }

    fn has_example(value: &Value) -> bool {
        match value {
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| k == "example" || k == "examples" || has_example(v)),
            Value::Array(items) => items.iter().any(has_example),
            _ => false,
        }
    }

    #[test]
    fn every_operation_has_a_summary_a_description_and_an_example() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                let at = format!("{method} {path}");
                for field in ["summary", "description"] {
                    let text = operation[field].as_str().unwrap_or_default();
                    assert!(!text.trim().is_empty(), "{at} has no {field}");
                }
                let mut reached = Vec::new();
                with_references(&doc, operation, &mut reached);
                assert!(
                    reached.iter().any(|v| has_example(v)),
                    "{at} has no example"
                );
                let needs_key = doc["security"][0].get("bearer").is_some();
                assert!(needs_key, "the document does not ask for the bearer key");
            }
        }
        assert_eq!(operations, 23, "every REST operation is in the document");
    }
}
