//! Every server function × {anonymous, member, admin, owner}: below the function's role the
//! exact refusal (401 without a session, 403 with too low a role), at or above it no refusal.
//! The functions come from the server-function registry, not from a list kept by hand: a new
//! function without a row here fails the test.

use crate::helpers::*;
use herald::domain::role::Role;
use reqwest::StatusCode;
use sqlx::PgPool;
use std::collections::BTreeSet;

/// Who may call a function.
#[derive(Clone, Copy, Debug)]
enum Need {
    /// Sign-in and sign-out: anyone (they check credentials or the cookie themselves).
    Anyone,
    Role(Role),
}

const ID: &str = "00000000-0000-7000-8000-000000000000";

/// A function's name, who may call it, and its form arguments.
type Row = (&'static str, Need, Vec<(&'static str, &'static str)>);

/// Each function, who may call it, and arguments that decode (so the guard, not the decoder,
/// decides the answer).
fn table() -> Vec<Row> {
    use Need::Role as R;
    use Role::{Admin, Member, Owner};
    let id = || vec![("id", ID)];
    let since = || vec![("id", ID), ("since", "2026-01-01T00:00")];
    vec![
        (
            "login",
            Need::Anyone,
            vec![("email", "x@y.z"), ("password", "x")],
        ),
        ("logout", Need::Anyone, vec![]),
        ("whoami", R(Member), vec![]),
        ("sign_out_others", R(Member), vec![]),
        ("delivery_log", R(Admin), vec![("view", "")]),
        ("newer_count", R(Admin), vec![("view", ""), ("top", ID)]),
        ("filter_choices", R(Admin), vec![]),
        ("load_delivery", R(Admin), id()),
        ("delivery_progress", R(Admin), id()),
        ("retry_delivery", R(Admin), id()),
        ("bulk_retry_count", R(Admin), vec![("view", "")]),
        (
            "start_bulk_retry",
            R(Admin),
            vec![("view", "status=failed")],
        ),
        ("bulk_job", R(Admin), id()),
        ("list_webhooks", R(Admin), vec![]),
        ("get_webhook", R(Admin), id()),
        (
            "save_webhook",
            R(Admin),
            vec![("name", "Role table"), ("url", "https://example.com/hook")],
        ),
        (
            "set_webhook_enabled",
            R(Admin),
            vec![("id", ID), ("enabled", "true")],
        ),
        ("delete_webhook", R(Admin), id()),
        ("reveal_webhook_secret", R(Admin), id()),
        ("reveal_webhook_headers", R(Admin), id()),
        ("rotate_webhook_secret", R(Admin), id()),
        ("send_webhook_test", R(Admin), id()),
        ("recover_count", R(Admin), since()),
        ("recover_webhook", R(Admin), since()),
        ("delivery_outcome", R(Admin), id()),
        ("audit_entries", R(Admin), vec![]),
        ("list_alerts", R(Admin), vec![("recent", "5")]),
        ("get_alert_rules", R(Admin), id()),
        (
            "save_alert_rules",
            R(Admin),
            vec![("id", ID), ("window_minutes", "60")],
        ),
        ("list_event_types", R(Admin), vec![]),
        (
            "save_event_type",
            R(Admin),
            vec![("name", "role.table"), ("example", "{}")],
        ),
        (
            "set_event_type_archived",
            R(Admin),
            vec![("name", "user.created"), ("archived", "false")],
        ),
        ("list_users", R(Owner), vec![]),
        (
            "create_user",
            R(Owner),
            vec![
                ("email", "new@test.dev"),
                ("password", "long-enough-pw"),
                ("role", "member"),
            ],
        ),
        (
            "change_user",
            R(Owner),
            vec![("id", ID), ("role", "member")],
        ),
        ("list_api_keys", R(Owner), vec![]),
        ("api_key_table", R(Owner), vec![]),
        ("create_api_key", R(Owner), vec![("name", "Role table")]),
        ("revoke_api_key", R(Owner), id()),
    ]
}

#[test]
fn every_server_function_has_a_row() {
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    let in_table: BTreeSet<String> = table().iter().map(|(f, ..)| f.to_string()).collect();
    assert_eq!(
        registered, in_table,
        "server functions and the role table differ: give each new function a row"
    );
}

#[sqlx::test]
async fn each_server_function_refuses_exactly_the_roles_below_its_own(pool: PgPool) {
    create_user(&pool, "member@test.dev", "member-password", Role::Member).await;
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    create_user(&pool, "owner@test.dev", "owner-password", Role::Owner).await;
    let app = spawn_app(pool).await;
    let mut callers = vec![(None, None)];
    for (role, email, password) in [
        (Role::Member, "member@test.dev", "member-password"),
        (Role::Admin, "admin@test.dev", "admin-password"),
        (Role::Owner, "owner@test.dev", "owner-password"),
    ] {
        callers.push((
            Some(role),
            Some(session_cookie(&app, email, password).await),
        ));
    }
    let mut wrong = Vec::new();
    for (function, need, form) in table() {
        let Need::Role(required) = need else {
            continue;
        };
        for (role, cookie) in &callers {
            let status = app.call(function, &form, cookie.as_deref()).await.status();
            let expected_refusal = match role {
                None => Some(StatusCode::UNAUTHORIZED),
                Some(role) if !role.allows(required) => Some(StatusCode::FORBIDDEN),
                Some(_) => None,
            };
            let fine = match expected_refusal {
                Some(refusal) => status == refusal,
                None => !matches!(status.as_u16(), 401 | 403) && status.as_u16() < 500,
            };
            if !fine {
                wrong.push(format!("{function} as {role:?}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
