//! The envelope every webhook request carries (seed 002's shape):
//! `{"id","type","created_at","data"}`. `data` is inserted as the exact JSON text the producer
//! sent, so the bytes that are signed are the bytes that are stored and sent.

use super::ids::event_ref;
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

pub fn envelope(id: Uuid, event_type: &str, created_at: DateTime<Utc>, data_json: &str) -> String {
    let created = created_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    // The three strings are ids, a validated type name and a timestamp: none needs escaping,
    // but serde_json::to_string keeps that true whatever they hold.
    format!(
        r#"{{"id":{},"type":{},"created_at":{},"data":{}}}"#,
        serde_json::to_string(&event_ref(id)).unwrap_or_default(),
        serde_json::to_string(event_type).unwrap_or_default(),
        serde_json::to_string(&created).unwrap_or_default(),
        data_json
    )
}

/// The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not
/// count). Producers' data deeper than [`MAX_NESTING`] is refused: many consumers (and
/// serde_json itself) stop at that depth, so such an event could be stored but not read.
pub fn nesting_depth(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in json.bytes() {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            (false, _, _) => {}
        }
    }
    deepest
}

pub const MAX_NESTING: usize = 128;

/// Event type names: dot-separated lower-case segments, at least two (`user.created`).
pub fn is_valid_type_name(name: &str) -> bool {
    let segments: Vec<&str> = name.split('.').collect();
    name.len() <= 100
        && segments.len() >= 2
        && segments.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn envelope_keeps_data_bytes_exactly() {
        let id = Uuid::parse_str("01936b2e-8f4a-7c3d-9e2f-0123456789ab").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let data = "{\"b\": 1,  \"a\": [2, 3]}";
        let body = envelope(id, "user.created", at, data);
        assert_eq!(
            body,
            "{\"id\":\"evt_01936b2e8f4a7c3d9e2f0123456789ab\",\"type\":\"user.created\",\
             \"created_at\":\"2026-11-25T12:00:00.000Z\",\"data\":{\"b\": 1,  \"a\": [2, 3]}}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["a"][1], 3);
    }

    #[test]
    fn nesting_counts_brackets_outside_strings_only() {
        assert_eq!(nesting_depth(r#"{"a":[1,{"b":[]}]}"#), 4);
        assert_eq!(nesting_depth(r#"{"s":"[[[{{{\"]]]"}"#), 1);
        assert_eq!(nesting_depth("7"), 0);
        assert_eq!(
            nesting_depth(&format!("{}{}", "[".repeat(500), "]".repeat(500))),
            500
        );
    }

    #[test]
    fn type_names_are_dotted_lower_case() {
        assert!(is_valid_type_name("user.created"));
        assert!(is_valid_type_name("customer.status_changed"));
        assert!(!is_valid_type_name("User.Created"));
        assert!(!is_valid_type_name("user"));
        assert!(!is_valid_type_name("user..created"));
    }
}
