//! Connecting to PostgreSQL over TLS, as a hosted database requires. The local server (Debian's
//! PostgreSQL: `ssl = on` with its self-signed "snakeoil" certificate) is the peer.

use herald::server::db;

/// `DATABASE_URL` with `params` added to its query string.
fn database_url_with(params: &str) -> String {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    let pool = db::connect(&database_url_with("sslmode=require"))
        .await
        .expect("connects with TLS");
    let (ssl, version): (bool, Option<String>) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(ssl, "the connection is encrypted");
    assert!(version.is_some_and(|v| v.starts_with("TLS")));
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_no_trusted_authority_signed() {
    let err = db::connect(&database_url_with("sslmode=verify-full"))
        .await
        .expect_err("a self-signed server certificate is not trusted");
    let message = err.to_string();
    assert!(
        message.contains("cannot connect to PostgreSQL"),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("certificate"),
        "the reason names the certificate: {message}"
    );
}

#[test]
fn the_command_line_migrates_over_tls() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "--database-url",
            &database_url_with("sslmode=require"),
            "migrate",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("database is up to date"), "{stdout}");
}
