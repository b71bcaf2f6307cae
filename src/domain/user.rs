//! The signed-in user as the portal sees it.

use super::role::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CurrentUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
}

/// Normalises an email for storage and lookup; `None` when it cannot be an address.
pub fn normalize_email(input: &str) -> Option<String> {
    let email = input.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    // No quoting, comments or brackets: an address is a plain local@domain.
    let plain = |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"".contains(c);
    let plausible = !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.contains('@')
        && email.chars().all(plain)
        && email.len() <= 254;
    plausible.then_some(email)
}

/// Minimum rules for a portal password.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 8 {
        return Err("must be at least 8 characters");
    }
    if password.len() > 1024 {
        return Err("must be at most 1024 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_8_characters_to_1024_bytes() {
        assert!(check_password(&"p".repeat(8)).is_ok());
        assert!(check_password(&"p".repeat(7)).is_err());
        assert!(check_password(&"p".repeat(1024)).is_ok());
        assert!(check_password(&"p".repeat(1025)).is_err());
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(normalize_email("no-at-sign"), None);
        assert_eq!(normalize_email("@example.com"), None);
        assert_eq!(normalize_email("a b@example.com"), None);
        assert_eq!(normalize_email("x<svg/onload=alert(1)>@example.com"), None);
        assert_eq!(normalize_email("\"a\"@example.com"), None);
        assert_eq!(normalize_email("a@b@example.com"), None);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("correct horse").is_ok());
    }
}
