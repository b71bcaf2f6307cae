//! The dispatcher end to end: real PostgreSQL, real HTTP to receivers on loopback.

use herald::domain::attempt::Trigger;
use herald::domain::net::Cidr;
use herald::domain::retry::RetryPolicy;
use herald::domain::role::Role;
use herald::domain::signing::secret_from_key;
use herald::server::crypto::SecretBox;
use herald::server::db::deliveries::queue_attempt;
use herald::server::dispatcher::send::Sender;
use herald::server::dispatcher::{DispatchConfig, Dispatcher, StepOutcome, claim, owner};
use herald::server::service::events::{PublishRequest, publish};
use herald::tools::receiver::{Mode, ModeKind, Receiver};
use serde_json::value::RawValue;
use sqlx::Connection;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const KEY: [u8; 32] = [7u8; 32];

fn secret() -> String {
    secret_from_key(&[3u8; 24])
}

pub(crate) fn config() -> DispatchConfig {
    DispatchConfig {
        lanes: 1,
        batch_size: 100,
        lease_margin: Duration::from_millis(400),
        timeout: Duration::from_millis(800),
        policy: RetryPolicy {
            schedule: vec![Duration::from_secs(1), Duration::from_secs(2)],
            jitter: 0.0,
            ..RetryPolicy::default()
        },
        poll_interval: Duration::from_millis(50),
        max_in_flight: 64,
        disable_after: Duration::from_secs(5 * 24 * 3600),
        health_every: Duration::from_secs(1),
        async_result_commit: false,
    }
}

pub(crate) fn dispatcher(
    pool: &PgPool,
    config: DispatchConfig,
    allow_loopback: bool,
) -> Dispatcher {
    let allow = if allow_loopback {
        vec![Cidr::parse("127.0.0.0/8").unwrap()]
    } else {
        Vec::new()
    };
    let sender = Sender::new(Duration::from_millis(500), allow, 8, None).unwrap();
    Dispatcher::new(pool.clone(), sender, SecretBox::new(&KEY).unwrap(), config)
}

pub(crate) async fn endpoint(pool: &PgPool, url: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(format!("endpoint {id}"))
        .bind(url)
        .bind(SecretBox::new(&KEY).unwrap().encrypt(&secret()))
        .execute(pool)
        .await
        .unwrap();
    id
}

pub(crate) async fn publish_one(pool: &PgPool, data: &str) -> Uuid {
    let data = RawValue::from_string(data.to_string()).unwrap();
    let request = PublishRequest::automatic("user.created", &data);
    publish(pool, request).await.unwrap().uuid
}

/// Steps until nothing is due.
pub(crate) async fn drain(dispatcher: &Dispatcher) {
    while dispatcher.step().await.unwrap() != StepOutcome::Idle {}
}

pub(crate) async fn receiver() -> (Receiver, String) {
    let receiver = Receiver::new(Some(secret()), true);
    let addr = receiver.clone().spawn_local().await.unwrap();
    (receiver, format!("http://{addr}/hooks"))
}

pub(crate) async fn delivery_state(pool: &PgPool) -> (String, i32, Option<i16>, Option<String>) {
    sqlx::query_as(
        "SELECT status, attempt_count, last_response_status, last_error_class FROM deliveries",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn attempt_errors(pool: &PgPool) -> Vec<(Option<i16>, Option<String>, String)> {
    sqlx::query_as("SELECT response_status, error_class, trigger FROM delivery_attempts ORDER BY attempt_number")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A delivery whose first attempt got a 500; the receiver still answers 500.
async fn one_failed_attempt(pool: &PgPool) -> (Receiver, Dispatcher) {
    let (receiver, url) = receiver().await;
    endpoint(pool, &url).await;
    receiver.set_mode(status_mode(500));
    publish_one(pool, "{}").await;
    let dispatcher = dispatcher(pool, config(), true);
    drain(&dispatcher).await;
    (receiver, dispatcher)
}

pub(crate) fn status_mode(status: u16) -> Mode {
    Mode {
        mode: ModeKind::Status,
        status: Some(status),
        ..Mode::default()
    }
}

#[sqlx::test]
async fn delivers_a_signed_request_on_the_first_try(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    let event = publish_one(&pool, r#"{"id": 1,  "name":"Ada"}"#).await;
    drain(&dispatcher(&pool, config(), true)).await;

    assert_eq!(
        delivery_state(&pool).await,
        ("succeeded".into(), 1, Some(200), None)
    );
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let request = &got[0];
    assert_eq!(request.standard_signature_valid, Some(true));
    assert_eq!(request.legacy_signature_valid, Some(true));
    assert!(
        request.body.contains(r#""data":{"id": 1,  "name":"Ada"}"#),
        "payload bytes kept exactly: {}",
        request.body
    );
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("webhook-id"), herald::domain::ids::event_ref(event));
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("Herald/"));

    // An independent implementation of the Standard Webhooks verifier agrees.
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, header(name).parse().unwrap());
    }
    let verifier = standardwebhooks::Webhook::new(&secret()).unwrap();
    verifier
        .verify(request.body.as_bytes(), &headers)
        .expect("standardwebhooks verifies Herald's signature");

    // The stored attempt keeps the headers as sent, signature included.
    let stored: sqlx::types::Json<Vec<(String, String)>> =
        sqlx::query_scalar("SELECT request_headers FROM delivery_attempts")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        stored
            .0
            .iter()
            .any(|(k, v)| k == "webhook-signature" && *v == header("webhook-signature"))
    );
}

#[sqlx::test]
async fn a_failure_is_retried_on_schedule_then_succeeds(pool: PgPool) {
    let (receiver, dispatcher) = one_failed_attempt(&pool).await;
    let (status, attempts, code, _) = delivery_state(&pool).await;
    assert_eq!(
        (status.as_str(), attempts, code),
        ("retrying", 1, Some(500))
    );

    receiver.set_mode(Mode::default());
    drain(&dispatcher).await;
    assert_eq!(receiver.received().len(), 1, "not retried before its time");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    drain(&dispatcher).await;
    assert_eq!(
        delivery_state(&pool).await,
        ("succeeded".into(), 2, Some(200), None)
    );
    let gap: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(started_at) - min(started_at))::float8 FROM delivery_attempts",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (1.0..2.0).contains(&gap),
        "second attempt ~1 s after the first, was {gap}"
    );
}

#[sqlx::test]
async fn retries_end_in_failed(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    receiver.set_mode(status_mode(503));
    publish_one(&pool, "{}").await;
    let mut quick = config();
    quick.policy.schedule = vec![Duration::from_millis(10), Duration::from_millis(10)];
    let dispatcher = dispatcher(&pool, quick, true);
    for _ in 0..3 {
        drain(&dispatcher).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        delivery_state(&pool).await,
        ("failed".into(), 3, Some(503), Some("http_status".into()))
    );
}

#[sqlx::test]
async fn a_stalled_endpoint_times_out(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    receiver.set_mode(Mode {
        mode: ModeKind::Stall,
        ..Mode::default()
    });
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    assert_eq!(
        attempt_errors(&pool).await,
        vec![(None, Some("timeout".into()), "auto".into())]
    );
}

#[sqlx::test]
async fn refused_connections_and_unknown_hosts_are_classified(pool: PgPool) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    endpoint(&pool, &format!("http://{closed}/hooks")).await;
    endpoint(&pool, "http://no-such-host.invalid/hooks").await;
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    let mut classes: Vec<String> = sqlx::query_scalar("SELECT error_class FROM delivery_attempts")
        .fetch_all(&pool)
        .await
        .unwrap();
    classes.sort();
    assert_eq!(classes, vec!["connect", "dns"]);
}

#[sqlx::test]
async fn redirects_are_not_followed(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    let location = format!("{url}/elsewhere");
    receiver.set_mode(Mode {
        mode: ModeKind::Status,
        status: Some(302),
        headers: vec![("location".into(), location)],
        ..Mode::default()
    });
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    assert_eq!(
        attempt_errors(&pool).await,
        vec![(Some(302), Some("redirect".into()), "auto".into())]
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "the Location was not requested"
    );
}

#[sqlx::test]
async fn gone_disables_the_endpoint(pool: PgPool) {
    let (receiver, url) = receiver().await;
    let id = endpoint(&pool, &url).await;
    receiver.set_mode(status_mode(410));
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    assert_eq!(delivery_state(&pool).await.0, "failed");
    let (enabled, reason): (bool, Option<String>) =
        sqlx::query_as("SELECT enabled, disabled_reason FROM endpoints WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!enabled);
    assert!(reason.unwrap().contains("410 Gone"));
    // New events no longer go to it.
    publish_one(&pool, "{}").await;
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(deliveries, 1);
}

#[sqlx::test]
async fn huge_responses_are_truncated(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    receiver.set_mode(Mode {
        mode: ModeKind::Status,
        status: Some(200),
        body: Some("x".repeat(300_000)),
        ..Mode::default()
    });
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    let (len, truncated): (i32, bool) = sqlx::query_as(
        "SELECT length(response_body), response_body_truncated FROM delivery_attempts",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((len, truncated), (65_536, true));
    assert_eq!(delivery_state(&pool).await.0, "succeeded");
}

#[sqlx::test]
async fn internal_addresses_are_refused(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await; // 127.0.0.1 literal
    endpoint(&pool, &url.replace("127.0.0.1", "localhost")).await; // a name resolving to loopback
    endpoint(&pool, "http://169.254.169.254/latest/meta-data").await;
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), false)).await;
    let classes: Vec<String> = sqlx::query_scalar("SELECT error_class FROM delivery_attempts")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(classes, vec!["ssrf_blocked"; 3]);
    assert!(
        receiver.received().is_empty(),
        "nothing reached the internal receiver"
    );
}

#[sqlx::test]
async fn a_lease_is_the_longest_timeout_plus_a_margin(pool: PgPool) {
    let (_receiver, url) = receiver().await;
    let slow = endpoint(&pool, &url).await;
    publish_one(&pool, "{}").await;
    let defaults = DispatchConfig::default();
    let (timeout, margin) = (defaults.timeout, defaults.lease_margin);
    let now = chrono::Utc::now();
    let claimed = claim::claim(&pool, 10, timeout, margin, None)
        .await
        .unwrap();
    let lease = (claimed[0].lease - now).num_milliseconds();
    assert!(
        (14_500..=15_500).contains(&lease),
        "10 s timeout + 5 s margin: a dead process's deliveries wait 15 s, not {lease} ms"
    );

    sqlx::query("UPDATE endpoints SET timeout_ms = 30000 WHERE id = $1")
        .bind(slow)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let claimed = claim::claim(&pool, 10, timeout, margin, None)
        .await
        .unwrap();
    let lease = (claimed[0].lease - now).num_milliseconds();
    assert!(
        (34_500..=35_500).contains(&lease),
        "the endpoint's own 30 s timeout sets the lease: {lease} ms"
    );
}

/// Five deliveries claimed by a process with lease-owner number `owner` that then sends none
/// of them; the lock of that number is held on `lock` when given (the process is alive).
async fn claimed_and_abandoned(
    pool: &PgPool,
    owner: i32,
    lock: Option<&mut sqlx::PgConnection>,
) -> std::time::Instant {
    for n in 0..5 {
        publish_one(pool, &format!("{{\"n\":{n}}}")).await;
    }
    if let Some(lock) = lock {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(owner::LOCK_CLASS)
            .bind(owner)
            .fetch_one(lock)
            .await
            .unwrap();
        assert!(locked);
    }
    let config = config();
    let claimed_at = std::time::Instant::now();
    let claimed = claim::claim(pool, 100, config.timeout, config.lease_margin, Some(owner))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    claimed_at
}

/// Runs a second process's dispatcher loop until the receiver has `count` requests (or the
/// deadline); returns how long after `since` that was.
async fn survivor_sends(
    pool: &PgPool,
    receiver: &Receiver,
    count: usize,
    since: std::time::Instant,
    deadline: Duration,
    not_before: Duration,
) -> Duration {
    let survivor = dispatcher(pool, config(), true);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(survivor.run(stopped));
    while receiver.received().len() < count && since.elapsed() < deadline {
        assert!(
            receiver.received().is_empty() || since.elapsed() >= not_before,
            "sent while the owner's lease still held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = since.elapsed();
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    took
}

async fn unsettled(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM deliveries WHERE status <> 'succeeded' OR leased_by IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_stuck_workers_deliveries_are_sent_when_its_lease_ends(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    // The owner is alive (its lock is held) but sends nothing: only the lease's end frees them.
    let mut lock = sqlx::PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    let claimed_at = claimed_and_abandoned(&pool, 7, Some(&mut lock)).await;
    let lease = config().timeout + config().lease_margin;

    let deadline = lease + Duration::from_secs(5);
    let took = survivor_sends(&pool, &receiver, 5, claimed_at, deadline, lease).await;
    assert_eq!(receiver.received().len(), 5, "all sent within {took:?}");
    assert!(took >= lease, "not before the lease ended ({took:?})");
    assert_eq!(unsettled(&pool).await, 0);
}

#[sqlx::test]
async fn a_crashed_processes_deliveries_are_sent_as_soon_as_another_starts(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    // Owner 7 claimed and died: nobody holds its lock.
    let claimed_at = claimed_and_abandoned(&pool, 7, None).await;
    let lease = config().timeout + config().lease_margin;

    let took = survivor_sends(&pool, &receiver, 5, claimed_at, lease, Duration::ZERO).await;
    assert_eq!(receiver.received().len(), 5, "all sent within {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "sent at start, not at the lease's end ({took:?})"
    );
    assert_eq!(unsettled(&pool).await, 0);
}

#[sqlx::test]
async fn a_starting_process_leaves_scheduled_retries_alone(pool: PgPool) {
    let (_receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    publish_one(&pool, "{}").await;
    // A retry due in an hour, left by a process that has gone since (no lease: it settled).
    sqlx::query(
        "UPDATE deliveries SET status = 'retrying', next_attempt_at = now() + interval '1 hour'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(owner::release_dead(&pool).await.unwrap(), 0);
    let later: bool = sqlx::query_scalar(
        "SELECT next_attempt_at > now() + interval '59 minutes' FROM deliveries",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(later);
}

#[sqlx::test]
async fn a_late_result_does_not_overwrite_a_newer_claim(pool: PgPool) {
    let (_receiver, url) = receiver().await;
    endpoint(&pool, &url).await;
    publish_one(&pool, "{}").await;
    let config = config();
    // A first claim, then the lease is taken over (as another process would after expiry).
    let first = claim::claim(&pool, 10, config.timeout, config.lease_margin, None)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET next_attempt_at = now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    // The first claimer's result arrives late: its attempt is kept, the delivery is not changed.
    let late = herald::domain::outcome::AttemptRow {
        id: Uuid::now_v7(),
        delivery_id: first[0].delivery_id,
        endpoint_id: first[0].endpoint_id,
        attempt_number: 1,
        trigger: Trigger::Auto,
        triggered_by: None,
        started_at: chrono::Utc::now(),
        duration_ms: 12,
        request_url: url,
        request_headers: "[]".into(),
        response_status: Some(200),
        response_headers: None,
        response_body: None,
        truncated: false,
        error_class: None,
        error_message: None,
    };
    let mut batch = herald::server::dispatcher::record::Batch::default();
    let succeeded = herald::domain::attempt::NextStep::Succeeded;
    batch.add_result(late, &succeeded, first[0].lease, chrono::Utc::now());
    let fenced_before = fenced_so_far();
    let how = herald::server::dispatcher::record::Recording::durable(config.disable_after);
    herald::server::dispatcher::record::write(&pool, &batch, how)
        .await
        .unwrap();
    assert_eq!(delivery_state(&pool).await.0, "pending");
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM delivery_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the attempt happened, so it is in the log");
    assert!(
        fenced_so_far() > fenced_before,
        "a result dropped for its lease shows in /metrics (the delivery is sent again)"
    );
}

/// `herald_results_fenced_total` as `/metrics` shows it (the recorder is installed once per
/// process; other tests may add to it, never take from it).
fn fenced_so_far() -> u64 {
    herald::server::metrics::install()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix("herald_results_fenced_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

#[sqlx::test]
async fn two_dispatchers_never_send_a_delivery_twice(pool: PgPool) {
    let (receiver, url) = receiver().await;
    endpoint(&pool, &format!("{url}/a")).await;
    endpoint(&pool, &format!("{url}/b")).await;
    for n in 0..150 {
        publish_one(&pool, &format!("{{\"n\":{n}}}")).await;
    }
    let mut small = config();
    small.batch_size = 7;
    let (a, b) = (
        dispatcher(&pool, small.clone(), true),
        dispatcher(&pool, small, true),
    );
    tokio::join!(drain(&a), drain(&b), drain(&a), drain(&b));
    let got = receiver.received();
    assert_eq!(got.len(), 300);
    let mut seen = std::collections::HashSet::new();
    for request in &got {
        let id = request
            .headers
            .iter()
            .find(|(k, _)| k == "webhook-id")
            .unwrap()
            .1
            .clone();
        assert!(
            seen.insert((request.path.clone(), id)),
            "a delivery was sent twice"
        );
    }
}

#[sqlx::test]
async fn manual_retries_record_their_trigger_and_user(pool: PgPool) {
    crate::helpers::create_user(&pool, "ada@example.com", "analytical-engine", Role::Admin).await;
    let user: Uuid = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (receiver, dispatcher) = one_failed_attempt(&pool).await;

    receiver.set_mode(Mode::default());
    let delivery: Uuid = sqlx::query_scalar("SELECT id FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        queue_attempt(&pool, delivery, Trigger::Manual, Some(user))
            .await
            .unwrap()
    );
    drain(&dispatcher).await;
    let last: (String, Option<Uuid>, Option<i16>) = sqlx::query_as(
        "SELECT trigger, triggered_by, response_status FROM delivery_attempts ORDER BY attempt_number DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(last, ("manual".into(), Some(user), Some(200)));
    assert_eq!(delivery_state(&pool).await.0, "succeeded");
    assert!(
        !queue_attempt(&pool, Uuid::now_v7(), Trigger::Manual, None)
            .await
            .unwrap(),
        "unknown delivery"
    );
}

#[sqlx::test]
async fn a_failed_manual_attempt_ends_the_delivery(pool: PgPool) {
    let (_receiver, dispatcher) = one_failed_attempt(&pool).await;
    let delivery: Uuid = sqlx::query_scalar("SELECT id FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    queue_attempt(&pool, delivery, Trigger::Manual, None)
        .await
        .unwrap();
    drain(&dispatcher).await;
    assert_eq!(delivery_state(&pool).await.0, "failed");
}

#[sqlx::test]
async fn rotation_signs_with_both_secrets(pool: PgPool) {
    let (receiver, url) = receiver().await;
    let id = endpoint(&pool, &url).await;
    let new_secret = secret_from_key(&[9u8; 24]);
    let sbox = SecretBox::new(&KEY).unwrap();
    sqlx::query(
        "UPDATE endpoints SET previous_secret_encrypted = secret_encrypted, previous_secret_expires_at = now() + interval '1 day', secret_encrypted = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(sbox.encrypt(&new_secret))
    .execute(&pool)
    .await
    .unwrap();
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    let request = &receiver.received()[0];
    assert_eq!(
        request.standard_signature_valid,
        Some(true),
        "the old secret still verifies during the overlap"
    );
    let mut headers = http::HeaderMap::new();
    for (name, value) in &request.headers {
        if name.starts_with("webhook-") {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
    }
    standardwebhooks::Webhook::new(&new_secret)
        .unwrap()
        .verify(request.body.as_bytes(), &headers)
        .expect("new secret verifies");
}

/// Runs in a child process (see below) with proxy variables set from its start: the webhook
/// client must ignore them, so a name that does not resolve fails as `dns` and the "proxy"
/// (a recording receiver) sees nothing.
#[tokio::test]
#[ignore = "run by proxy_variables_in_the_environment_are_ignored"]
async fn proxy_child() {
    let proxy_port: u16 = std::env::var("HERALD_TEST_PROXY_PORT")
        .unwrap()
        .parse()
        .unwrap();
    let sender = Sender::new(Duration::from_millis(500), Vec::new(), 8, None).unwrap();
    let sent = sender
        .send(
            "https://target.invalid/hook",
            &[],
            "{}",
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(
        sent.failure,
        Some(herald::domain::attempt::FailureClass::Dns),
        "{:?} (proxy on {proxy_port})",
        sent.error_message
    );
}

#[tokio::test]
async fn proxy_variables_in_the_environment_are_ignored() {
    let (proxy, _) = receiver().await;
    let proxy_addr = proxy.clone().spawn_local().await.unwrap();
    let proxy_url = format!("http://{proxy_addr}");
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dispatcher::proxy_child",
            "--ignored",
            "--nocapture",
        ])
        .env("HERALD_TEST_PROXY_PORT", proxy_addr.port().to_string())
        .env("HTTPS_PROXY", &proxy_url)
        .env("HTTP_PROXY", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("1 passed"), "{report}");
    assert_eq!(proxy.count(), 0, "nothing went through the proxy");
}

#[sqlx::test]
async fn custom_headers_are_sent_in_clear_and_logged_masked_by_name(pool: PgPool) {
    use herald::domain::endpoint::EndpointForm;
    use herald::server::service::{Actor, endpoints};
    let (receiver, url) = receiver().await;
    let mut state = crate::helpers::test_state(pool.clone());
    std::sync::Arc::get_mut(&mut state.settings)
        .unwrap()
        .secrets = SecretBox::new(&KEY).unwrap();
    let form = EndpointForm {
        name: "Partner".into(),
        url,
        custom_headers: "X-Credential: c-0123456789abcdef\nX-Tenant: acme".into(),
        ..EndpointForm::default()
    };
    endpoints::create(&state, &Actor::herald(), &form, true)
        .await
        .unwrap();
    publish_one(&pool, "{}").await;
    drain(&dispatcher(&pool, config(), true)).await;
    let got = &receiver.received()[0];
    let sent = |name: &str| {
        got.headers
            .iter()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(sent("x-credential"), "c-0123456789abcdef");
    assert_eq!(sent("x-tenant"), "acme");
    let stored: String = sqlx::query_scalar("SELECT request_headers::text FROM delivery_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        stored.contains(r#"["x-credential", "••••cdef"]"#),
        "{stored}"
    );
    assert!(
        stored.contains(r#"["x-tenant", "••••"]"#),
        "every custom header, not guessed: {stored}"
    );
    assert!(!stored.contains("0123456789"), "{stored}");
}
