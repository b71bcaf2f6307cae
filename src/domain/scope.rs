//! What an API key may do. A key holds one or more scopes; new keys get `publish` only, so the
//! key a producer puts in its CI can publish events and nothing else.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Publish events (`POST /events`, `POST /events/batch`).
    Publish,
    /// Read webhooks (secrets and header values masked), events and deliveries.
    Read,
    /// Everything `read` can, plus create, change, test and delete webhooks, rotate and reveal
    /// their secrets, retry deliveries.
    Manage,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Publish, Scope::Read, Scope::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Read => "read",
            Scope::Manage => "manage",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// What a key with this scope is for, as the key form explains it.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Publish => "publish events",
            Scope::Read => "read webhooks, events and deliveries",
            Scope::Manage => "manage webhooks and retry deliveries (includes read)",
        }
    }
}

/// Whether a key holding `held` may do what needs `needed` (`manage` includes `read`).
pub fn allows(held: &[Scope], needed: Scope) -> bool {
    held.contains(&needed) || (needed == Scope::Read && held.contains(&Scope::Manage))
}

/// Parses chosen scope names; none chosen means the default, `publish`.
pub fn parse_scopes<S: AsRef<str>>(names: &[S]) -> Result<Vec<Scope>, String> {
    let mut scopes = names
        .iter()
        .map(|n| n.as_ref())
        .filter(|n| !n.trim().is_empty())
        .map(|n| {
            Scope::parse(n).ok_or_else(|| format!("{n:?} is not a scope (publish, read, manage)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        scopes.push(Scope::Publish);
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_says_what_it_allows() {
        let said: Vec<&str> = Scope::ALL.iter().map(|s| s.describe()).collect();
        assert_eq!(
            said,
            [
                "publish events",
                "read webhooks, events and deliveries",
                "manage webhooks and retry deliveries (includes read)"
            ]
        );
    }

    #[test]
    fn manage_includes_read_but_not_publish() {
        assert!(allows(&[Scope::Manage], Scope::Read));
        assert!(allows(&[Scope::Manage], Scope::Manage));
        assert!(!allows(&[Scope::Manage], Scope::Publish));
        assert!(!allows(&[Scope::Publish], Scope::Read));
        assert!(!allows(&[Scope::Read], Scope::Manage));
    }

    #[test]
    fn no_choice_is_publish_and_unknown_names_are_refused() {
        assert_eq!(parse_scopes::<&str>(&[]).unwrap(), vec![Scope::Publish]);
        assert_eq!(
            parse_scopes(&["manage", "read", "manage"]).unwrap(),
            vec![Scope::Read, Scope::Manage]
        );
        assert!(parse_scopes(&["admin"]).is_err());
    }
}
