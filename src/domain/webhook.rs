//! The headers of an outgoing webhook request, and which custom headers an endpoint may set.

use super::signing::{SignatureScheme, legacy_signature, secret_key, standard_signature_header};

/// Headers Herald sets itself; an endpoint's custom headers may not replace them.
pub const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-webhook-timestamp",
    "x-webhook-signature",
];

pub const USER_AGENT: &str = concat!("Herald/", env!("CARGO_PKG_VERSION"));

/// Everything needed to sign one request.
pub struct SigningInput<'a> {
    /// The `webhook-id`: the event's public id, the same on every retry.
    pub message_id: &'a str,
    pub timestamp: i64,
    pub body: &'a str,
    /// Valid secrets, newest first: during a rotation both sign.
    pub secrets: &'a [String],
    pub scheme: SignatureScheme,
}

/// The request headers in the order they are sent (and stored).
pub fn request_headers(
    input: &SigningInput<'_>,
    custom: &[(String, String)],
) -> Vec<(String, String)> {
    let keys: Vec<Vec<u8>> = input
        .secrets
        .iter()
        .filter_map(|s| secret_key(s).ok())
        .collect();
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
        ("webhook-id".to_string(), input.message_id.to_string()),
        ("webhook-timestamp".to_string(), input.timestamp.to_string()),
        (
            "webhook-signature".to_string(),
            standard_signature_header(&keys, input.message_id, input.timestamp, input.body),
        ),
    ];
    if let Some(newest) = input.secrets.first()
        && let Some(signature) = legacy_signature(input.scheme, newest, input.timestamp, input.body)
    {
        headers.push((
            "x-webhook-timestamp".to_string(),
            input.timestamp.to_string(),
        ));
        headers.push(("x-webhook-signature".to_string(), signature));
    }
    for (name, value) in custom {
        if !is_reserved(name) {
            headers.push((name.to_ascii_lowercase(), value.clone()));
        }
    }
    headers
}

pub fn is_reserved(name: &str) -> bool {
    RESERVED_HEADERS.contains(&name.trim().to_ascii_lowercase().as_str())
}

/// What shows of a custom header's value anywhere but the audited reveal: four dots, then the
/// last four characters when the value is long enough (12 or more) that they give little away.
pub fn mask_value(value: &str) -> String {
    let count = value.chars().count();
    let tail: String = match count >= 12 {
        true => value.chars().skip(count - 4).collect(),
        false => String::new(),
    };
    format!("{MASK}{tail}")
}

/// The dots that start every masked value.
pub const MASK: &str = "••••";

/// Whether a submitted value is a mask (the form or an API client sent back what it was
/// shown): the stored value is kept.
pub fn is_mask(value: &str) -> bool {
    value.starts_with(MASK)
}

/// The headers as the log stores them: every one of the endpoint's custom headers (`custom`,
/// known by name, not guessed) masked; Herald's own headers kept (signatures are per-request
/// values, useless for forging another request).
pub fn masked_for_log(
    headers: &[(String, String)],
    custom: &[(String, String)],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let is_custom =
                !is_reserved(name) && custom.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            let shown = if is_custom {
                mask_value(value)
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// Checks one custom header; the message is shown next to the form field.
pub fn check_custom_header(name: &str, value: &str) -> Result<(), String> {
    let valid_name = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid_name {
        return Err(format!("\"{name}\" is not a valid header name"));
    }
    if is_reserved(name) {
        return Err(format!("{name} is set by Herald and cannot be overridden"));
    }
    if value.len() > 4096 || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "the value of {name} must be one line of at most 4096 bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_endpoints_own_headers_are_masked_in_the_log() {
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        let sent = [
            pair("content-type", "application/json"),
            pair("X-Team", "billing-secret"),
            pair("X-Other", "kept"),
            pair("webhook-id", "msg_1"),
        ];
        // Herald's own headers stay readable even if a stored custom header shares a name.
        let custom = [pair("x-team", "billing-secret"), pair("webhook-id", "x")];
        let logged = masked_for_log(&sent, &custom);
        assert_eq!(logged[0], sent[0]);
        assert_eq!(logged[1].0, "X-Team");
        assert!(is_mask(&logged[1].1), "{:?}", logged[1]);
        assert_eq!(logged[2], sent[2]);
        assert_eq!(logged[3], sent[3]);
        assert!(!is_mask("billing-secret"));
    }

    #[test]
    fn a_custom_value_is_one_line_of_at_most_4096_bytes() {
        assert!(check_custom_header("X-Team", &"v".repeat(4096)).is_ok());
        assert!(check_custom_header("X-Team", &"v".repeat(4097)).is_err());
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert!(check_custom_header("X-Team", bad).is_err(), "{bad:?}");
        }
    }
    use crate::signing::{secret_from_key, verify_legacy, verify_standard};

    fn secrets() -> Vec<String> {
        vec![secret_from_key(&[1u8; 24]), secret_from_key(&[2u8; 24])]
    }

    #[test]
    fn headers_carry_both_signature_schemes() {
        let secrets = secrets();
        let input = SigningInput {
            message_id: "evt_1",
            timestamp: 1_700_000_000,
            body: "{}",
            secrets: &secrets,
            scheme: SignatureScheme::Timestamped,
        };
        let custom = vec![
            ("X-Tenant".to_string(), "acme".to_string()),
            ("User-Agent".to_string(), "evil".to_string()),
        ];
        let headers = request_headers(&input, &custom);
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(
            get("user-agent").unwrap(),
            USER_AGENT,
            "custom headers never override ours"
        );
        assert_eq!(get("x-tenant").as_deref(), Some("acme"));
        let standard = get("webhook-signature").unwrap();
        assert_eq!(standard.split(' ').count(), 2, "both rotation secrets sign");
        assert!(verify_standard(
            &[2u8; 24],
            "evt_1",
            1_700_000_000,
            "{}",
            &standard
        ));
        let legacy = get("x-webhook-signature").unwrap();
        assert!(verify_legacy(
            SignatureScheme::Timestamped,
            &secrets[0],
            1_700_000_000,
            "{}",
            &legacy
        ));
    }

    #[test]
    fn scheme_off_drops_only_the_legacy_pair() {
        let secrets = secrets();
        let input = SigningInput {
            message_id: "m",
            timestamp: 1,
            body: "{}",
            secrets: &secrets[..1],
            scheme: SignatureScheme::Off,
        };
        let headers = request_headers(&input, &[]);
        assert!(headers.iter().any(|(k, _)| k == "webhook-signature"));
        assert!(!headers.iter().any(|(k, _)| k.starts_with("x-webhook")));
    }

    #[test]
    fn every_custom_header_is_masked_in_the_log_by_name() {
        let custom = vec![
            (
                "Authorization".to_string(),
                "Bearer abcdefgh1234".to_string(),
            ),
            ("X-Pass".to_string(), "hunter2".to_string()),
            ("X-Credential".to_string(), "c".to_string()),
        ];
        let headers = vec![
            (
                "authorization".to_string(),
                "Bearer abcdefgh1234".to_string(),
            ),
            ("x-pass".to_string(), "hunter2".to_string()),
            ("x-credential".to_string(), "c".to_string()),
            ("webhook-signature".to_string(), "v1,xyz".to_string()),
        ];
        let masked = masked_for_log(&headers, &custom);
        assert_eq!(masked[0].1, "••••1234");
        assert_eq!(masked[1].1, "••••");
        assert_eq!(masked[2].1, "••••");
        assert_eq!(masked[3].1, "v1,xyz", "Herald's own headers are kept");
    }

    #[test]
    fn reserved_and_malformed_custom_headers_are_refused() {
        assert!(check_custom_header("X-Tenant", "acme").is_ok());
        assert!(
            check_custom_header("Content-Type", "text/plain")
                .unwrap_err()
                .contains("cannot be overridden")
        );
        assert!(check_custom_header("bad name", "x").is_err());
        assert!(check_custom_header("X-A", "line\r\nInjected: yes").is_err());
    }
}
