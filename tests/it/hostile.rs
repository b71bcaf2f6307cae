//! Hostile receivers: whatever bytes an endpoint answers with, the attempt is recorded as what
//! it was, and a healthy delivery claimed in the same batch is recorded normally beside it.
//!
//! Each case is a raw TCP server on loopback that reads the request and then answers with
//! exactly the bytes (and the timing) of the case; a second endpoint is a well-behaved receiver.
//! One event goes to both, one dispatcher step claims both deliveries together.

use herald::domain::net::Cidr;
use herald::domain::retry::RetryPolicy;
use herald::domain::signing::secret_from_key;
use herald::server::crypto::SecretBox;
use herald::server::dispatcher::send::{MAX_STORED_BODY, Sender};
use herald::server::dispatcher::{DispatchConfig, Dispatcher};
use herald::server::service::events::{PublishRequest, publish};
use herald::tools::receiver::Receiver;
use serde_json::value::RawValue;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

const KEY: [u8; 32] = [9u8; 32];

/// How a hostile endpoint answers once it has read the request.
#[derive(Clone)]
enum Answer {
    /// These bytes, then the connection is closed.
    Bytes(Vec<u8>),
    /// A head, then `body` one byte every `every`.
    Trickle {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
    /// A chunked body that never ends.
    Endless,
    /// A head and part of the body, then a TCP reset.
    ResetAfter(Vec<u8>),
    /// These bytes as soon as anything arrives, whatever it is (a plain HTTP server answering
    /// a TLS handshake with a 400).
    OnFirstBytes(Vec<u8>),
}

/// Serves `answer` to every connection; returns the port.
async fn hostile(answer: Answer) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, answer.clone()));
        }
    });
    port
}

async fn serve(mut stream: TcpStream, answer: Arc<Answer>) {
    if let Answer::OnFirstBytes(bytes) = answer.as_ref() {
        let _ = stream.read(&mut [0u8; 4096]).await;
        let _ = stream.write_all(bytes).await;
        let _ = stream.shutdown().await;
        return;
    }
    read_request(&mut stream).await;
    // Write errors are expected: Herald stops reading once it has what it keeps.
    let _ = match answer.as_ref() {
        Answer::Bytes(bytes) => stream.write_all(bytes).await,
        Answer::Trickle { head, body, every } => {
            let _ = stream.write_all(head).await;
            for byte in body {
                tokio::time::sleep(*every).await;
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
            }
            Ok(())
        }
        Answer::Endless => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
            loop {
                if stream.write_all(chunk.as_bytes()).await.is_err() {
                    break Ok(());
                }
            }
        }
        Answer::OnFirstBytes(_) => Ok(()),
        Answer::ResetAfter(bytes) => {
            let _ = stream.write_all(bytes).await;
            let _ = stream.flush().await;
            // SO_LINGER 0: closing sends RST instead of FIN (blocking on drop is what we want).
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
            return;
        }
    };
    let _ = stream.shutdown().await;
}

/// Reads the request head and its Content-Length body.
async fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn head(extra: &str, body_len: usize) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\n{extra}Content-Length: {body_len}\r\n\r\n").into_bytes()
}

fn with_body(extra: &str, body: &[u8]) -> Answer {
    let mut bytes = head(extra, body.len());
    bytes.extend_from_slice(body);
    Answer::Bytes(bytes)
}

fn dispatcher(pool: &PgPool) -> Dispatcher {
    let config = DispatchConfig {
        lanes: 1,
        batch_size: 10,
        timeout: Duration::from_millis(1500),
        policy: RetryPolicy {
            schedule: vec![Duration::from_secs(60)],
            jitter: 0.0,
            ..RetryPolicy::default()
        },
        ..DispatchConfig::default()
    };
    let sender = Sender::new(
        Duration::from_millis(500),
        vec![Cidr::parse("127.0.0.0/8").unwrap()],
        8,
        None,
    )
    .unwrap();
    Dispatcher::new(pool.clone(), sender, SecretBox::new(&KEY).unwrap(), config)
}

async fn endpoint(pool: &PgPool, name: &str, url: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(url)
        .bind(
            SecretBox::new(&KEY)
                .unwrap()
                .encrypt(&secret_from_key(&[5u8; 24])),
        )
        .execute(pool)
        .await
        .unwrap();
    id
}

/// What was recorded for one endpoint's delivery.
#[derive(Debug, sqlx::FromRow)]
struct Recorded {
    status: String,
    attempt_count: i32,
    response_status: Option<i16>,
    error_class: Option<String>,
    error_message: Option<String>,
    response_body: Option<Vec<u8>>,
    response_body_truncated: Option<bool>,
    response_headers: Option<Vec<u8>>,
}

async fn recorded(pool: &PgPool, endpoint: Uuid) -> Recorded {
    sqlx::query_as(
        r#"SELECT d.status, d.attempt_count, a.response_status, a.error_class, a.error_message,
                  a.response_body, a.response_body_truncated, a.response_headers
           FROM deliveries d LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
           WHERE d.endpoint_id = $1"#,
    )
    .bind(endpoint)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Publishes one event to a hostile endpoint and a healthy one, runs one dispatcher step that
/// claims both, checks the healthy delivery, and returns what was recorded for the hostile one.
async fn attempt_against(pool: &PgPool, url: String) -> Recorded {
    let healthy = Receiver::new(None, true);
    let healthy_addr = healthy.clone().spawn_local().await.unwrap();
    let hostile = endpoint(pool, "hostile", &url).await;
    let fine = endpoint(pool, "healthy", &format!("http://{healthy_addr}/in")).await;
    let data = RawValue::from_string(r#"{"n":1}"#.into()).unwrap();
    publish(pool, PublishRequest::automatic("user.created", &data))
        .await
        .unwrap();
    let outcome = dispatcher(pool).step().await.unwrap();
    assert_eq!(
        outcome,
        herald::server::dispatcher::StepOutcome::Dispatched(2),
        "both deliveries in one claim"
    );
    let good = recorded(pool, fine).await;
    assert_eq!(
        (
            good.status.as_str(),
            good.attempt_count,
            good.response_status
        ),
        ("succeeded", 1, Some(200)),
        "the healthy delivery beside the hostile one is recorded normally"
    );
    assert_eq!(healthy.count(), 1);
    recorded(pool, hostile).await
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/hook")
}

#[sqlx::test]
async fn a_nul_byte_in_the_body_is_kept(pool: PgPool) {
    let port = hostile(with_body("", b"ok\0then\0more")).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.status, "succeeded");
    assert_eq!(got.error_class, None);
    assert_eq!(got.response_body.as_deref(), Some(&b"ok\0then\0more"[..]));
}

#[sqlx::test]
async fn an_invalid_utf8_body_is_kept_byte_for_byte(pool: PgPool) {
    let body = [0xff, 0xfe, b'h', 0x80, b'i', 0xc3];
    let port = hostile(with_body("Content-Type: text/plain\r\n", &body)).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    assert_eq!(got.response_body.as_deref(), Some(&body[..]));
}

#[sqlx::test]
async fn latin1_header_bytes_are_kept(pool: PgPool) {
    // "José" in Latin-1: the é is the single byte 0xE9, not UTF-8.
    let answer = b"HTTP/1.1 200 OK\r\nX-Name: Jos\xe9\r\nContent-Length: 2\r\n\r\nok";
    let port = hostile(Answer::Bytes(answer.to_vec())).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    let headers = got.response_headers.unwrap();
    assert!(
        headers.windows(14).any(|w| w == b"x-name: Jos\xe9\r\n"),
        "the header value's byte is kept: {headers:?}"
    );
}

#[sqlx::test]
async fn a_nul_byte_in_a_header_is_an_invalid_response(pool: PgPool) {
    let answer = b"HTTP/1.1 200 OK\r\nX-Evil: a\0b\r\nContent-Length: 2\r\n\r\nok";
    let port = hostile(Answer::Bytes(answer.to_vec())).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.error_class.as_deref(), Some("invalid_response"));
    assert_eq!(got.status, "retrying");
}

#[sqlx::test]
async fn a_10_mb_body_is_cut_at_64_kib_and_flagged(pool: PgPool) {
    let body = vec![b'z'; 10 * 1024 * 1024];
    let port = hostile(with_body("", &body)).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    assert_eq!(got.response_body.unwrap().len(), MAX_STORED_BODY);
    assert_eq!(got.response_body_truncated, Some(true));
}

#[sqlx::test]
async fn a_body_of_exactly_64_kib_is_kept_whole_and_not_flagged(pool: PgPool) {
    let body: Vec<u8> = (0..MAX_STORED_BODY)
        .map(|n| b'a' + (n % 26) as u8)
        .collect();
    let port = hostile(with_body("", &body)).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    assert_eq!(got.response_body.as_deref(), Some(&body[..]));
    assert_eq!(
        got.response_body_truncated,
        Some(false),
        "nothing was cut, so the log must not say so"
    );
}

#[sqlx::test]
async fn a_trickling_body_times_out(pool: PgPool) {
    let port = hostile(Answer::Trickle {
        head: head("", 100),
        body: vec![b'.'; 100],
        every: Duration::from_secs(1),
    })
    .await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.error_class.as_deref(), Some("timeout"));
    assert_eq!(got.status, "retrying");
}

#[sqlx::test]
async fn a_never_ending_body_is_cut_and_flagged(pool: PgPool) {
    let port = hostile(Answer::Endless).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    assert_eq!(got.response_body.unwrap().len(), MAX_STORED_BODY);
    assert_eq!(got.response_body_truncated, Some(true));
}

#[sqlx::test]
async fn a_thousand_response_headers_are_an_invalid_response(pool: PgPool) {
    let many: String = (0..1000).map(|n| format!("X-H{n}: {n}\r\n")).collect();
    let port = hostile(with_body(&many, b"ok")).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.error_class.as_deref(), Some("invalid_response"));
    assert_eq!(got.response_status, None);
}

#[sqlx::test]
async fn garbage_instead_of_a_status_line_is_an_invalid_response(pool: PgPool) {
    let port = hostile(Answer::Bytes(b"\0\x01GARBAGE \xff\xfe\r\n\r\n".to_vec())).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.error_class.as_deref(), Some("invalid_response"));
    assert_eq!(got.status, "retrying");
}

#[sqlx::test]
async fn a_reset_in_the_middle_of_the_body_is_a_connection_failure(pool: PgPool) {
    let mut bytes = head("", 1000);
    bytes.extend_from_slice(&[b'a'; 100]);
    let port = hostile(Answer::ResetAfter(bytes)).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!(got.error_class.as_deref(), Some("connect"));
    assert_eq!(got.status, "retrying");
}

#[sqlx::test]
async fn a_refused_connection_is_described_without_the_url(pool: PgPool) {
    // A port nothing listens on, and a URL that carries a credential, as some receivers ask.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let secret = "tok_9f8e7d6c5b4a";
    let got = attempt_against(&pool, format!("{}?token={secret}", url(port))).await;
    assert_eq!(got.error_class.as_deref(), Some("connect"));
    let message = got.error_message.unwrap();
    assert!(
        message.starts_with("error sending request") && message.contains("refused"),
        "says what failed and why: {message}"
    );
    assert!(
        !message.contains(secret) && !message.contains(&format!("127.0.0.1:{port}")),
        "the URL (and its token) is not in the message: {message}"
    );
}

#[sqlx::test]
async fn a_gzip_bomb_is_stored_compressed_never_inflated(pool: PgPool) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 50 * 1024 * 1024]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < MAX_STORED_BODY, "the bomb itself is small");
    let port = hostile(with_body("Content-Encoding: gzip\r\n", &bomb)).await;
    let got = attempt_against(&pool, url(port)).await;
    assert_eq!((got.status.as_str(), got.error_class), ("succeeded", None));
    assert_eq!(
        got.response_body.as_deref(),
        Some(&bomb[..]),
        "kept as sent"
    );
}

#[sqlx::test]
async fn an_https_url_answered_in_plain_http_is_a_tls_failure(pool: PgPool) {
    let plain_400 = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let port = hostile(Answer::OnFirstBytes(plain_400.to_vec())).await;
    let got = attempt_against(&pool, format!("https://127.0.0.1:{port}/hook")).await;
    assert_eq!(got.error_class.as_deref(), Some("tls"));
    assert_eq!(got.status, "retrying");
}

#[sqlx::test]
async fn one_result_that_cannot_be_stored_costs_no_other_its_record(pool: PgPool) {
    use herald::domain::attempt::{FailureClass, Trigger};
    use herald::domain::delivery::DeliveryStatus;
    use herald::server::dispatcher::{claim, record};
    let healthy = Receiver::new(None, true);
    let addr = healthy.clone().spawn_local().await.unwrap();
    let a = endpoint(&pool, "a", &format!("http://{addr}/a")).await;
    let b = endpoint(&pool, "b", &format!("http://{addr}/b")).await;
    let data = RawValue::from_string("{}".into()).unwrap();
    publish(&pool, PublishRequest::automatic("user.created", &data))
        .await
        .unwrap();
    let jobs = claim::claim(
        &pool,
        10,
        Duration::from_secs(1),
        Duration::from_secs(1),
        None,
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 2);
    // Two results written in one batch; one carries a string PostgreSQL refuses (a NUL in a
    // text column), which fails the batch's transaction.
    let results: Vec<(record::AttemptRow, record::DeliveryUpdate)> = jobs
        .iter()
        .map(|job| {
            let poisoned = job.endpoint_id == a;
            let attempt = record::AttemptRow {
                id: Uuid::now_v7(),
                delivery_id: job.delivery_id,
                endpoint_id: job.endpoint_id,
                attempt_number: 1,
                trigger: Trigger::Auto,
                triggered_by: None,
                started_at: chrono::Utc::now(),
                duration_ms: 12,
                request_url: "http://x/".into(),
                request_headers: "[]".into(),
                response_status: Some(200),
                response_headers: Some(b"x: y\r\n".to_vec()),
                response_body: Some(b"fine".to_vec()),
                truncated: false,
                error_class: None,
                error_message: poisoned.then(|| "nul \0 here".to_string()),
            };
            let update = record::DeliveryUpdate {
                id: job.delivery_id,
                status: DeliveryStatus::Succeeded,
                attempt_count: 1,
                next_attempt_at: None,
                lease: job.lease,
            };
            (attempt, update)
        })
        .collect();
    let batch = record::Batch {
        attempts: results.iter().map(|r| r.0.clone()).collect(),
        updates: results.iter().map(|r| r.1.clone()).collect(),
        ..record::Batch::default()
    };
    let how = record::Recording::durable(Duration::from_secs(3600));
    record::write(&pool, &batch, how).await.unwrap();

    let good = recorded(&pool, b).await;
    assert_eq!(
        (good.status.as_str(), good.response_body.as_deref()),
        ("succeeded", Some(&b"fine"[..]))
    );
    let bad = recorded(&pool, a).await;
    assert_eq!(bad.status, "failed", "not sent again blindly");
    assert_eq!(
        bad.error_class.as_deref(),
        Some(FailureClass::Unrecordable.as_str())
    );
    assert!(bad.error_message.unwrap().contains("could not be stored"));
}

#[sqlx::test]
async fn hostile_payloads_are_delivered_and_shown_like_any_other(pool: PgPool) {
    let receiver = Receiver::new(None, true);
    let addr = receiver.clone().spawn_local().await.unwrap();
    endpoint(&pool, "receiver", &format!("http://{addr}/in")).await;
    let payloads = [
        r#"{"s":"a\u0000b"}"#,
        r#"{"s":"\ud800 and \udfff"}"#,
        r#"{"a":1,"a":2,"a":{"a":3}}"#,
        r#"{"</script><svg onload=alert(1)>":"\u001b[31m\u202e"}"#,
    ];
    for data in payloads {
        let data = RawValue::from_string(data.into()).unwrap();
        publish(&pool, PublishRequest::automatic("user.created", &data))
            .await
            .unwrap();
    }
    let dispatcher = dispatcher(&pool);
    while dispatcher.step().await.unwrap() != herald::server::dispatcher::StepOutcome::Idle {}
    let got = receiver.received();
    assert_eq!(got.len(), payloads.len());
    for data in payloads {
        assert!(
            got.iter()
                .any(|r| r.body.ends_with(&format!(r#""data":{data}}}"#))),
            "sent byte for byte: {data}"
        );
    }
    let state = crate::helpers::test_state(pool.clone());
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM deliveries WHERE status = 'succeeded'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), payloads.len());
    for id in ids {
        let detail = herald::server::service::deliveries::detail(&state, id)
            .await
            .unwrap();
        assert!(!detail.body_pretty.is_empty());
    }
}
