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

/// `--log-format json` writes one JSON object per line; each HTTP request runs in a span whose
/// id is the `X-Request-Id` the client got back (never an id the client sent).
#[tokio::test]
async fn json_logs_carry_the_request_id_the_client_sees() {
    use std::io::BufRead;
    let data_dir = std::env::temp_dir().join(format!("herald-logs-{}", std::process::id()));
    let mut server = herald()
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-portal",
        ])
        .args(["--no-dispatcher"])
        .env("HERALD_LOG", "info,herald=debug")
        .env("HERALD_DATA_DIR", &data_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_out, lines) = std::sync::mpsc::channel::<String>();
    let stdout = server.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_out.send(line);
        }
    });
    let next_line = || {
        lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap()
    };
    let address = loop {
        let line = next_line();
        if let Some(rest) = line.strip_prefix("herald: listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let response = reqwest::Client::new()
        .get(format!("{address}/healthz"))
        .header("x-request-id", "client-chosen")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32, "{id}");
    let answered = loop {
        let line = next_line();
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if entry["fields"]["message"] == "answered" {
            break entry;
        }
    };
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    assert_eq!(answered["span"]["id"], id.as_str(), "{answered}");
    assert_eq!(answered["span"]["path"], "/healthz");
    assert_eq!(answered["fields"]["status"], 200);
}
