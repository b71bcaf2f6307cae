//! The `herald` binary's commands, run as a user would run them.

use std::process::Command;

fn herald() -> Command {
    Command::new(env!("CARGO_BIN_EXE_herald"))
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let output = herald()
        .args([
            "--database-url",
            "postgres://herald:hunter2@127.0.0.1:1/herald",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot connect to PostgreSQL at postgres://herald:***@127.0.0.1:1/herald"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password is never printed");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn bad_flags_get_a_usage_error() {
    let output = herald()
        .args(["create-admin", "--email", "a@b.c"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--password"));
}

#[test]
fn help_documents_the_configuration() {
    let output = herald().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--demo",
        "--secret-key",
        "HERALD_LISTEN",
        "DATABASE_URL",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}
