//! `Authorization: Bearer <token>`, read one way for API keys, the metrics token and the test
//! receiver's control token.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

/// The token a request presents, if any (never empty).
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Whether the request presents `expected`. Compared as SHA-256 digests, so how long the
/// comparison takes tells nothing about how much of the token matched; an empty `expected`
/// matches nothing.
pub fn matches(headers: &HeaderMap, expected: &str) -> bool {
    match presented(headers) {
        Some(given) if !expected.is_empty() => {
            Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_expected_token_matches() {
        assert!(matches(&with("Bearer s3cret"), "s3cret"));
        assert!(!matches(&with("Bearer s3cre"), "s3cret"));
        assert!(!matches(&with("s3cret"), "s3cret"));
        assert!(!matches(&HeaderMap::new(), "s3cret"));
        assert!(
            !matches(&with("Bearer "), ""),
            "an empty token opens nothing"
        );
        assert!(!matches(&HeaderMap::new(), ""));
    }
}
