//! Portal roles, ordered: `Member < Admin < Owner`, so a guard is one comparison.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// True when someone with this role may do what `required` allows.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }

    /// The sentence a refused user reads, e.g. "Admin or higher role required".
    pub fn requirement(self) -> String {
        match self {
            Role::Owner => "Owner role required".to_string(),
            Role::Admin => "Admin or higher role required".to_string(),
            Role::Member => "Sign-in required".to_string(),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_displays_as_its_stored_name() {
        let shown: Vec<String> = Role::ALL.iter().map(|r| r.to_string()).collect();
        assert_eq!(shown, ["owner", "admin", "member"]);
    }

    #[test]
    fn roles_are_ordered_owner_admin_member() {
        assert!(Role::Owner.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::Admin));
        assert!(!Role::Member.allows(Role::Admin));
        assert!(!Role::Admin.allows(Role::Owner));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::Admin.requirement(), "Admin or higher role required");
    }
}
