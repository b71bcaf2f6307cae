//! Webhook signatures. Every request carries the Standard Webhooks headers; the
//! `X-Webhook-Signature` header follows the endpoint's chosen scheme (seed 001's timestamped
//! hex, seed 002's body-only hex, or none).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

/// How the `X-Webhook-Signature` header is computed for an endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SignatureScheme {
    /// hex HMAC-SHA256(secret, "{timestamp}.{body}") with `X-Webhook-Timestamp` (seed 001).
    #[default]
    Timestamped,
    /// hex HMAC-SHA256(secret, body) (seed 002).
    Body,
    /// No `X-Webhook-*` signature; the Standard Webhooks headers still sign the request.
    Off,
}

impl SignatureScheme {
    pub const ALL: [SignatureScheme; 3] = [
        SignatureScheme::Timestamped,
        SignatureScheme::Body,
        SignatureScheme::Off,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::Timestamped => "timestamped",
            SignatureScheme::Body => "body",
            SignatureScheme::Off => "off",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a signing secret starts with whsec_ followed by base64")]
    Malformed,
    #[error("a signing secret must hold 24 to 64 bytes of key")]
    WrongLength,
}

/// The HMAC key of a `whsec_<base64>` secret (Standard Webhooks signs with the decoded bytes).
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::Malformed)?;
    let key = BASE64.decode(encoded).map_err(|_| SecretError::Malformed)?;
    if !(24..=64).contains(&key.len()) {
        return Err(SecretError::WrongLength);
    }
    Ok(key)
}

/// Formats random key bytes as a secret.
pub fn secret_from_key(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// One `v1,<base64>` entry of the Standard Webhooks `webhook-signature` header.
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let ts = timestamp.to_string();
    let mac = hmac(
        key,
        &[
            msg_id.as_bytes(),
            b".",
            ts.as_bytes(),
            b".",
            body.as_bytes(),
        ],
    );
    format!("v1,{}", BASE64.encode(mac))
}

/// The `webhook-signature` header: one signature per valid key (several during a rotation).
pub fn standard_signature_header(
    keys: &[Vec<u8>],
    msg_id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    let sigs: Vec<String> = keys
        .iter()
        .map(|key| standard_signature(key, msg_id, timestamp, body))
        .collect();
    sigs.join(" ")
}

/// The `X-Webhook-Signature` value for a scheme, keyed with the whole secret string as the
/// seeds describe. `None` for [`SignatureScheme::Off`].
pub fn legacy_signature(
    scheme: SignatureScheme,
    secret: &str,
    timestamp: i64,
    body: &str,
) -> Option<String> {
    let key = secret.as_bytes();
    match scheme {
        SignatureScheme::Timestamped => {
            let ts = timestamp.to_string();
            Some(hex::encode(hmac(
                key,
                &[ts.as_bytes(), b".", body.as_bytes()],
            )))
        }
        SignatureScheme::Body => Some(hex::encode(hmac(key, &[body.as_bytes()]))),
        SignatureScheme::Off => None,
    }
}

/// Checks a `webhook-signature` header as a receiver would: true when any `v1` entry matches.
/// Used by `herald receiver` and the tests; constant-time through `Mac::verify_slice`.
pub fn verify_standard(key: &[u8], msg_id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let ts = timestamp.to_string();
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|encoded| {
            let Ok(given) = BASE64.decode(encoded) else {
                return false;
            };
            let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
            for part in [
                msg_id.as_bytes(),
                b".",
                ts.as_bytes(),
                b".",
                body.as_bytes(),
            ] {
                mac.update(part);
            }
            mac.verify_slice(&given).is_ok()
        })
}

/// Checks an `X-Webhook-Signature` value for a scheme in constant time.
pub fn verify_legacy(
    scheme: SignatureScheme,
    secret: &str,
    timestamp: i64,
    body: &str,
    given_hex: &str,
) -> bool {
    let Ok(given) = hex::decode(given_hex.trim()) else {
        return false;
    };
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    match scheme {
        SignatureScheme::Timestamped => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
        }
        SignatureScheme::Body => mac.update(body.as_bytes()),
        SignatureScheme::Off => return false,
    }
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_stored_by_name_and_read_back() {
        let names: Vec<&str> = SignatureScheme::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["timestamped", "body", "off"]);
        for scheme in SignatureScheme::ALL {
            assert_eq!(SignatureScheme::parse(scheme.as_str()), Some(scheme));
        }
        assert_eq!(SignatureScheme::parse("md5"), None);
    }

    // The example published in the Standard Webhooks specification (and Svix's docs).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_standard_webhooks_published_vector() {
        let key = secret_key(SPEC_SECRET).unwrap();
        assert_eq!(
            standard_signature(&key, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert!(verify_standard(
            &key,
            SPEC_MSG_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify_standard(
            &key,
            SPEC_MSG_ID,
            SPEC_TIMESTAMP + 1,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
    }

    #[test]
    fn rotation_header_carries_one_signature_per_key() {
        let old = secret_key(SPEC_SECRET).unwrap();
        let new = vec![7u8; 32];
        let header = standard_signature_header(&[new.clone(), old.clone()], "m", 1, "{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify_standard(&old, "m", 1, "{}", &header));
        assert!(verify_standard(&new, "m", 1, "{}", &header));
    }

    #[test]
    fn seed_001_signs_timestamp_dot_body_in_hex() {
        // Independently computed: echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test'
        let sig = legacy_signature(
            SignatureScheme::Timestamped,
            "whsec_test",
            1_700_000_000,
            r#"{"a":1}"#,
        )
        .unwrap();
        assert_eq!(
            sig,
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert!(verify_legacy(
            SignatureScheme::Timestamped,
            "whsec_test",
            1_700_000_000,
            r#"{"a":1}"#,
            &sig
        ));
        assert!(!verify_legacy(
            SignatureScheme::Body,
            "whsec_test",
            1_700_000_000,
            r#"{"a":1}"#,
            &sig
        ));
        assert_eq!(
            legacy_signature(SignatureScheme::Off, "whsec_test", 1, "{}"),
            None
        );
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(secret_key("sk_abc"), Err(SecretError::Malformed));
        assert_eq!(secret_key("whsec_!!!"), Err(SecretError::Malformed));
        assert_eq!(secret_key("whsec_AAAA"), Err(SecretError::WrongLength));
        let secret = secret_from_key(&[1u8; 24]);
        assert_eq!(secret_key(&secret).unwrap(), vec![1u8; 24]);
    }
}
