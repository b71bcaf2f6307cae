//! Dispatcher features no other test watches: Retry-After, auto-disable, the end of a secret
//! rotation, per-endpoint timeout / schedule / signature scheme / concurrency / rate, recover,
//! bulk and manual retries, and the real run loop (LISTEN/NOTIFY, graceful shutdown).
//!
//! Real PostgreSQL and real HTTP on loopback. Endpoints are made through the endpoint service
//! (the form the portal and the REST API submit), so their settings take the product's path to
//! the table. Hours passing are simulated by moving timestamps in SQL; where a test waits for
//! something, it polls for it with a deadline.

use crate::dispatcher::{delivery_state, drain, status_mode};
use chrono::{DateTime, Utc};
use herald::domain::endpoint::EndpointForm;
use herald::domain::log_query::LogQuery;
use herald::domain::net::Cidr;
use herald::domain::role::Role;
use herald::domain::signing::{SignatureScheme, secret_key, verify_legacy, verify_standard};
use herald::error::AppError;
use herald::server::dispatcher::send::Sender;
use herald::server::dispatcher::{DispatchConfig, Dispatcher, StepOutcome, WAKE_CHANNEL};
use herald::server::service::events::{PublishRequest, publish};
use herald::server::service::{Actor, deliveries, endpoints};
use herald::server::state::AppState;
use herald::tools::receiver::{Mode, Received, Receiver};
use serde_json::value::RawValue;
use sqlx::PgPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

type Window = (DateTime<Utc>, DateTime<Utc>);

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The server's schedule is 60 s then 120 s without jitter, so every delay a test sees is
/// exact and distinguishable from an endpoint's own schedule or a Retry-After.
pub(crate) fn config() -> DispatchConfig {
    let mut config = crate::dispatcher::config();
    config.lease_margin = Duration::from_secs(1);
    config.timeout = Duration::from_secs(5);
    config.policy.schedule = vec![Duration::from_secs(60), Duration::from_secs(120)];
    config.poll_interval = Duration::from_millis(20);
    config
}

/// No retries: the first failed attempt fails the delivery (for recover and bulk retry).
fn no_retries() -> DispatchConfig {
    let mut config = config();
    config.policy.schedule = Vec::new();
    config
}

/// A dispatcher that may reach loopback, decrypting with the state's own key.
pub(crate) fn dispatcher(state: &AppState, config: DispatchConfig) -> Dispatcher {
    let loopback = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    let sender = Sender::new(Duration::from_millis(500), loopback, 8, None).unwrap();
    let secrets = state.settings.secrets.clone();
    Dispatcher::new(state.pool.clone(), sender, secrets, config)
}

/// Drains; the wall-clock window in which the attempts were accounted.
async fn drain_timed(dispatcher: &Dispatcher) -> Window {
    let before = Utc::now();
    drain(dispatcher).await;
    (before, Utc::now())
}

/// A recording receiver without a secret (tests check signatures themselves).
pub(crate) async fn receiver() -> (Receiver, String) {
    let receiver = Receiver::new(None, true);
    let addr = receiver.clone().spawn_local().await.unwrap();
    (receiver, format!("http://{addr}/hooks"))
}

/// Answers `status` with `Retry-After: <value>`.
fn busy_mode(status: u16, retry_after: &str) -> Mode {
    Mode {
        headers: vec![("retry-after".into(), retry_after.into())],
        ..status_mode(status)
    }
}

pub(crate) fn form(name: &str, url: &str) -> EndpointForm {
    EndpointForm {
        name: name.into(),
        url: url.into(),
        ..EndpointForm::default()
    }
}

/// Creates an enabled endpoint through the service; its id and signing secret.
pub(crate) async fn create(state: &AppState, form: EndpointForm) -> (Uuid, String) {
    let created = endpoints::create(state, &Actor::herald(), &form, true)
        .await
        .unwrap();
    (created.webhook.id, created.secret)
}

async fn publish_one(pool: &PgPool) {
    let data = RawValue::from_string("{}".to_string()).unwrap();
    publish(pool, PublishRequest::automatic("user.created", &data))
        .await
        .unwrap();
}

/// An admin user and the actor the portal would act as for them.
async fn admin(pool: &PgPool) -> (Actor, Uuid) {
    let email = "ada@example.com";
    crate::helpers::create_user(pool, email, "analytical-engine", Role::Admin).await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap();
    let actor = Actor {
        user_id: Some(id),
        label: email.into(),
    };
    (actor, id)
}

/// Polls `check` every 10 ms until it holds; fails the test after `limit`.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the clock has passed `at` (ids are stamped to the millisecond, and time
/// filters compare those stamps).
async fn clock_past(at: DateTime<Utc>) {
    eventually(
        "the clock passing a millisecond",
        Duration::from_secs(1),
        move || async move { Utc::now() > at },
    )
    .await;
}

/// Asserts `next` is `delay` after a moment of `window`, when the attempt was accounted.
fn assert_due_after(next: Option<DateTime<Utc>>, window: Window, delay: Duration) {
    let next = next.expect("a next attempt is scheduled");
    let delay = chrono::Duration::from_std(delay).unwrap();
    // PostgreSQL keeps microseconds, chrono nanoseconds.
    let slack = chrono::Duration::milliseconds(1);
    let (earliest, latest) = (window.0 + delay - slack, window.1 + delay + slack);
    assert!(
        earliest <= next && next <= latest,
        "next attempt at {next}; expected between {earliest} and {latest}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reading what a user sees
// ---------------------------------------------------------------------------------------------

/// (id, status, attempt_count) of an endpoint's deliveries, oldest first.
async fn deliveries_of(pool: &PgPool, endpoint: Uuid) -> Vec<(Uuid, String, i32)> {
    sqlx::query_as(
        "SELECT id, status, attempt_count FROM deliveries WHERE endpoint_id = $1 ORDER BY id",
    )
    .bind(endpoint)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn next_attempt_at(pool: &PgPool) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT next_attempt_at FROM deliveries")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Makes an endpoint's open deliveries due now (as if their retry time had come).
async fn make_due(pool: &PgPool, endpoint: Uuid) {
    sqlx::query(
        "UPDATE deliveries SET next_attempt_at = now()
         WHERE endpoint_id = $1 AND status IN ('pending', 'retrying')",
    )
    .bind(endpoint)
    .execute(pool)
    .await
    .unwrap();
}

pub(crate) async fn count_status(pool: &PgPool, status: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = $1")
        .bind(status)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn attempt_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM delivery_attempts")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// (trigger, triggered_by, response_status) of the second attempts of an endpoint's deliveries.
async fn second_attempts(
    pool: &PgPool,
    endpoint: Uuid,
) -> Vec<(String, Option<Uuid>, Option<i16>)> {
    sqlx::query_as(
        r#"SELECT a.trigger, a.triggered_by, a.response_status
           FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
           WHERE d.endpoint_id = $1 AND a.attempt_number = 2
           ORDER BY a.delivery_id"#,
    )
    .bind(endpoint)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// (actor, target, details) of the audit rows of `action`.
async fn audit_rows(pool: &PgPool, action: &str) -> Vec<(String, String, serde_json::Value)> {
    sqlx::query_as("SELECT actor, target, details FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (enabled, disabled_reason, failing_since) of an endpoint.
async fn endpoint_state(pool: &PgPool, id: Uuid) -> (bool, Option<String>, Option<DateTime<Utc>>) {
    sqlx::query_as("SELECT enabled, disabled_reason, failing_since FROM endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn set_failing_for_hours(pool: &PgPool, id: Uuid, hours: i32) {
    sqlx::query(
        "UPDATE endpoints SET failing_since = now() - make_interval(hours => $2) WHERE id = $1",
    )
    .bind(id)
    .bind(hours)
    .execute(pool)
    .await
    .unwrap();
}

fn header<'a>(request: &'a Received, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether an entry of the request's `webhook-signature` verifies with `secret`.
fn signed_by(request: &Received, secret: &str) -> bool {
    let key = secret_key(secret).unwrap();
    let timestamp: i64 = header(request, "webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    verify_standard(
        &key,
        header(request, "webhook-id").unwrap(),
        timestamp,
        &request.body,
        header(request, "webhook-signature").unwrap(),
    )
}

fn signature_entries(request: &Received) -> usize {
    header(request, "webhook-signature")
        .unwrap()
        .split(' ')
        .count()
}

/// The received requests whose path is `path`.
fn received_at_path(receiver: &Receiver, path: &str) -> Vec<Received> {
    receiver
        .received()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Retry-After
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn retry_after_from_the_receiver_sets_the_next_attempt(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    receiver.set_mode(busy_mode(429, "120"));
    create(&state, form("throttling", &url)).await;
    publish_one(&pool).await;
    let window = drain_timed(&dispatcher(&state, config())).await;

    assert_eq!(
        delivery_state(&pool).await,
        ("retrying".into(), 1, Some(429), Some("http_status".into()))
    );
    // The schedule alone would say 60 s; the receiver asked for 120.
    assert_due_after(
        next_attempt_at(&pool).await,
        window,
        Duration::from_secs(120),
    );
}

#[sqlx::test]
async fn a_huge_retry_after_is_capped_at_one_hour(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    receiver.set_mode(busy_mode(503, "864000"));
    create(&state, form("down for maintenance", &url)).await;
    publish_one(&pool).await;
    let window = drain_timed(&dispatcher(&state, config())).await;

    assert_eq!(
        delivery_state(&pool).await,
        ("retrying".into(), 1, Some(503), Some("http_status".into()))
    );
    // RetryPolicy::default().retry_after_cap (src/domain/retry.rs): 10 days become 1 hour.
    assert_due_after(
        next_attempt_at(&pool).await,
        window,
        Duration::from_secs(3600),
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Auto-disable
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn an_endpoint_failing_longer_than_disable_after_is_disabled_with_a_reason(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let (stale, _) = create(&state, form("stale", &format!("{url}/stale"))).await;
    let (recent, _) = create(&state, form("recent", &format!("{url}/recent"))).await;
    let (fresh, _) = create(&state, form("fresh", &format!("{url}/fresh"))).await;
    set_failing_for_hours(&pool, stale, 3).await;
    set_failing_for_hours(&pool, recent, 1).await;
    publish_one(&pool).await;
    let mut two_hours = config();
    two_hours.disable_after = Duration::from_secs(2 * 3600);
    let dispatcher = dispatcher(&state, two_hours);
    let window = drain_timed(&dispatcher).await;

    let reason = "Disabled by Herald: no successful delivery for 2 hours";
    let (enabled, why, _) = endpoint_state(&pool, stale).await;
    assert_eq!((enabled, why.as_deref()), (false, Some(reason)));
    let (enabled, why, _) = endpoint_state(&pool, recent).await;
    assert_eq!((enabled, why), (true, None), "failing 1 h of the 2 allowed");
    // A first failure starts the streak the setting is measured from.
    let (enabled, _, since) = endpoint_state(&pool, fresh).await;
    let since = since.expect("failing_since set by the failure");
    let slack = chrono::Duration::seconds(1);
    assert!(
        enabled && since >= window.0 - slack && since <= window.1 + slack,
        "fresh: still enabled, failing since this attempt (not {since})"
    );

    let audit = audit_rows(&pool, "endpoint.auto_disable").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].0.as_str(), audit[0].1.clone()),
        ("herald", stale.to_string())
    );
    assert_eq!(audit[0].2["reason"], reason);

    // Its pending retry is not sent to a disabled endpoint: the delivery fails, no attempt.
    make_due(&pool, stale).await;
    drain(&dispatcher).await;
    let stale_deliveries = deliveries_of(&pool, stale).await;
    assert_eq!(
        (stale_deliveries[0].1.as_str(), stale_deliveries[0].2),
        ("failed", 1)
    );
    assert_eq!(received_at_path(&receiver, "/hooks/stale").len(), 1);
}

#[sqlx::test]
async fn a_success_ends_a_long_failing_streak(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (_receiver, url) = receiver().await;
    let (id, _) = create(&state, form("back up", &url)).await;
    set_failing_for_hours(&pool, id, 3).await;
    publish_one(&pool).await;
    let mut two_hours = config();
    two_hours.disable_after = Duration::from_secs(2 * 3600);
    drain(&dispatcher(&state, two_hours)).await;

    assert_eq!(endpoint_state(&pool, id).await, (true, None, None));
    let last_success: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_success_at FROM endpoints WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(last_success.is_some());
}

// ---------------------------------------------------------------------------------------------
// 3. Secret rotation
// ---------------------------------------------------------------------------------------------

/// Seconds until the previous secret stops signing.
async fn overlap_left(pool: &PgPool, id: Uuid) -> f64 {
    let left: Option<f64> = sqlx::query_scalar(
        r#"SELECT extract(epoch FROM previous_secret_expires_at - now())::float8
           FROM endpoints WHERE id = $1"#,
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap();
    left.expect("the previous secret has an end")
}

/// Moves the end of the rotation overlap into the past (as if 24 hours had gone by).
async fn end_overlap(pool: &PgPool, id: Uuid) {
    sqlx::query(
        r#"UPDATE endpoints SET previous_secret_expires_at = now() - interval '1 second'
           WHERE id = $1"#,
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test]
async fn after_the_rotation_overlap_only_the_new_secret_signs(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    let (id, old) = create(&state, form("rotating", &url)).await;
    let new = endpoints::rotate_secret(&state, &Actor::herald(), id)
        .await
        .unwrap();
    assert_ne!(old, new);
    let overlap_left = overlap_left(&pool, id).await;
    assert!(
        (86_340.0..=86_400.0).contains(&overlap_left),
        "{overlap_left} s, not 24 h"
    );
    let audit = audit_rows(&pool, "endpoint.secret_rotate").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].2["overlap_hours"], 24);
    let dispatcher = dispatcher(&state, config());

    publish_one(&pool).await;
    drain(&dispatcher).await;
    let during = &receiver.received()[0];
    assert_eq!(signature_entries(during), 2, "one signature per secret");
    assert!(signed_by(during, &new) && signed_by(during, &old));

    end_overlap(&pool, id).await;
    publish_one(&pool).await;
    drain(&dispatcher).await;
    let after = &receiver.received()[1];
    assert_eq!(signature_entries(after), 1);
    assert!(signed_by(after, &new), "the new secret signs");
    assert!(!signed_by(after, &old), "the old secret no longer does");
}

// ---------------------------------------------------------------------------------------------
// 4. Per-endpoint timeout, retry schedule, signature scheme
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn an_endpoints_timeout_replaces_the_servers(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    // Every answer takes 1 s: within the server's 5 s, beyond the endpoint's 300 ms.
    receiver.set_mode(Mode {
        delay_ms: Some(1000),
        ..Mode::default()
    });
    let impatient = EndpointForm {
        timeout_ms: "300".into(),
        ..form("impatient", &format!("{url}/impatient"))
    };
    let (impatient, _) = create(&state, impatient).await;
    let (patient, _) = create(&state, form("patient", &format!("{url}/patient"))).await;
    publish_one(&pool).await;
    drain(&dispatcher(&state, config())).await;

    let attempt = |endpoint: Uuid| {
        sqlx::query_as::<_, (Option<i16>, Option<String>, i32)>(
            r#"SELECT a.response_status, a.error_class, a.duration_ms
               FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
               WHERE d.endpoint_id = $1"#,
        )
        .bind(endpoint)
        .fetch_one(&pool)
    };
    let (code, class, ms) = attempt(impatient).await.unwrap();
    assert_eq!((code, class.as_deref()), (None, Some("timeout")));
    assert!(
        (300..1000).contains(&ms),
        "gave up after its own 300 ms, took {ms} ms"
    );
    let (code, class, ms) = attempt(patient).await.unwrap();
    assert_eq!((code, class), (Some(200), None));
    assert!(ms >= 1000, "waited for the answer: {ms} ms");
}

#[sqlx::test]
async fn an_endpoints_retry_schedule_replaces_the_servers(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let own = EndpointForm {
        retry_schedule: "7,11,13".into(),
        ..form("own schedule", &url)
    };
    let (id, _) = create(&state, own).await;
    publish_one(&pool).await;
    let dispatcher = dispatcher(&state, config());

    // The server's schedule (60 s, 120 s: two retries) is not used at any step.
    for delay in [7, 11, 13] {
        let window = drain_timed(&dispatcher).await;
        assert_due_after(
            next_attempt_at(&pool).await,
            window,
            Duration::from_secs(delay),
        );
        make_due(&pool, id).await;
    }
    drain(&dispatcher).await;
    assert_eq!(
        delivery_state(&pool).await,
        ("failed".into(), 4, Some(500), Some("http_status".into())),
        "three retries, then failed"
    );
    assert_eq!(next_attempt_at(&pool).await, None);
    assert_eq!(receiver.received().len(), 4);
}

#[sqlx::test]
async fn body_and_off_signature_schemes_shape_the_legacy_header(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    let body_form = EndpointForm {
        signature_scheme: "body".into(),
        ..form("body signed", &format!("{url}/body"))
    };
    let off_form = EndpointForm {
        signature_scheme: "off".into(),
        ..form("unsigned legacy", &format!("{url}/off"))
    };
    let (body_id, body_secret) = create(&state, body_form).await;
    let (off_id, off_secret) = create(&state, off_form).await;
    publish_one(&pool).await;
    drain(&dispatcher(&state, config())).await;

    let body = &received_at_path(&receiver, "/hooks/body")[0];
    let signature = header(body, "x-webhook-signature").expect("body scheme signs");
    let timestamp: i64 = header(body, "x-webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let verifies = |scheme| verify_legacy(scheme, &body_secret, timestamp, &body.body, signature);
    assert!(
        verifies(SignatureScheme::Body),
        "hex HMAC of the body alone"
    );
    assert!(
        !verifies(SignatureScheme::Timestamped),
        "not of timestamp.body"
    );
    assert!(
        signed_by(body, &body_secret),
        "Standard Webhooks headers still sign"
    );

    let off = &received_at_path(&receiver, "/hooks/off")[0];
    assert_eq!(header(off, "x-webhook-signature"), None);
    assert_eq!(header(off, "x-webhook-timestamp"), None);
    assert!(
        signed_by(off, &off_secret),
        "Standard Webhooks headers still sign"
    );

    // The log shows the headers as sent.
    let stored = |endpoint: Uuid| {
        sqlx::query_scalar::<_, String>(
            r#"SELECT a.request_headers::text
               FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
               WHERE d.endpoint_id = $1"#,
        )
        .bind(endpoint)
        .fetch_one(&pool)
    };
    assert!(stored(body_id).await.unwrap().contains(signature));
    assert!(
        !stored(off_id)
            .await
            .unwrap()
            .contains("x-webhook-signature")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Per-endpoint concurrency and rate, counted at the receiver
// ---------------------------------------------------------------------------------------------

/// A receiver that holds each request for `hold`, and remembers the most it held at once and
/// when each request arrived.
#[derive(Clone, Default)]
struct Gauge {
    hold: Duration,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Gauge {
    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    fn arrivals(&self) -> Vec<Instant> {
        let mut arrivals = self.arrivals.lock().unwrap().clone();
        arrivals.sort();
        arrivals
    }
}

async fn gauge(hold: Duration) -> (Gauge, String) {
    let gauge = Gauge {
        hold,
        ..Gauge::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app: axum::Router = axum::Router::new()
        .fallback(hold_request)
        .with_state(gauge.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (gauge, format!("http://{addr}/hooks"))
}

async fn hold_request(
    axum::extract::State(gauge): axum::extract::State<Gauge>,
) -> axum::http::StatusCode {
    gauge.arrivals.lock().unwrap().push(Instant::now());
    let open = gauge.open.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.peak.fetch_max(open, Ordering::SeqCst);
    tokio::time::sleep(gauge.hold).await;
    gauge.open.fetch_sub(1, Ordering::SeqCst);
    axum::http::StatusCode::OK
}

/// Runs the real dispatcher loop (two lanes: the limits are per process, not per lane) until
/// `n` deliveries have succeeded, then stops it.
async fn run_until_succeeded(state: &AppState, n: i64) {
    let mut two_lanes = config();
    two_lanes.lanes = 2;
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher(state, two_lanes).run(stopped));
    let pool = &state.pool;
    let limit = Duration::from_secs(15);
    eventually("every delivery succeeded", limit, move || async move {
        count_status(pool, "succeeded").await == n
    })
    .await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[sqlx::test]
async fn max_in_flight_caps_concurrent_requests_to_an_endpoint(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (gauge, url) = gauge(Duration::from_millis(300)).await;
    let capped = EndpointForm {
        max_in_flight: "2".into(),
        ..form("capped", &url)
    };
    create(&state, capped).await;
    for _ in 0..6 {
        publish_one(&pool).await;
    }
    run_until_succeeded(&state, 6).await;

    assert_eq!(gauge.arrivals().len(), 6);
    assert_eq!(
        gauge.peak(),
        2,
        "two at a time: never more, and the cap is used"
    );
    assert_eq!(
        attempt_count(&pool).await,
        6,
        "a delivery put off is not an attempt"
    );
}

/// An endpoint limited to `per_sec` requests a second, on a gauge that answers at once, with
/// `events` deliveries due; the gauge, the endpoint and the form it was made with.
async fn rate_limited(
    state: &AppState,
    per_sec: &str,
    events: usize,
) -> (Gauge, Uuid, EndpointForm) {
    let (gauge, url) = gauge(Duration::ZERO).await;
    let limited = EndpointForm {
        rate_limit_per_sec: per_sec.into(),
        ..form("rate limited", &url)
    };
    let (id, _) = create(state, limited.clone()).await;
    for _ in 0..events {
        publish_one(&state.pool).await;
    }
    (gauge, id, limited)
}

#[sqlx::test]
async fn rate_limit_spaces_requests_to_an_endpoint(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (gauge, ..) = rate_limited(&state, "2", 6).await;
    run_until_succeeded(&state, 6).await;

    // A token bucket of 2 per second starts full: two at once, then one every 500 ms. 100 ms
    // of slack for the first request's own latency.
    let arrivals = gauge.arrivals();
    assert_eq!(arrivals.len(), 6);
    for (i, at) in arrivals.iter().enumerate().skip(2) {
        let gap = at.duration_since(arrivals[0]);
        let allowed = Duration::from_millis(500 * (i as u64 - 1) - 100);
        assert!(
            gap >= allowed,
            "request {i} came {gap:?} after the first (limit {allowed:?})"
        );
    }
    assert_eq!(
        attempt_count(&pool).await,
        6,
        "a delivery put off is not an attempt"
    );
}

#[sqlx::test]
async fn a_delivery_put_off_by_the_rate_limit_waits_for_the_next_token(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (gauge, ..) = rate_limited(&state, "1", 3).await;
    let before = Utc::now();
    dispatcher(&state, config()).step().await.unwrap();
    assert_eq!(gauge.arrivals().len(), 1, "the bucket held one token");

    type PutOff = (String, i32, Option<DateTime<Utc>>);
    let put_off: Vec<PutOff> = sqlx::query_as(
        "SELECT status, attempt_count, next_attempt_at FROM deliveries WHERE attempt_count = 0",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(put_off.len(), 2);
    for (status, attempts, next) in put_off {
        assert_eq!((status.as_str(), attempts), ("pending", 0));
        let next = next.unwrap();
        assert!(
            next > before + chrono::Duration::milliseconds(500),
            "due when the next token is, about a second on, not at once: {next} (step at {before})"
        );
        assert!(next < Utc::now() + chrono::Duration::seconds(2), "{next}");
    }
}

#[sqlx::test]
async fn a_raised_rate_limit_applies_at_once(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (gauge, id, slow) = rate_limited(&state, "1", 3).await;
    let dispatcher = dispatcher(&state, config());
    dispatcher.step().await.unwrap();
    assert_eq!(gauge.arrivals().len(), 1);

    // The admin raises the limit; the two put off are due again within the same second.
    let fast = EndpointForm {
        rate_limit_per_sec: "100".into(),
        ..slow
    };
    endpoints::update(&state, &Actor::herald(), id, &fast, None)
        .await
        .unwrap();
    make_due(&pool, id).await;
    dispatcher.step().await.unwrap();
    assert_eq!(
        gauge.arrivals().len(),
        3,
        "the new limit's bucket, not the old one's, decides"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Recover, bulk retry, manual retry
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn recover_requeues_the_endpoints_failures_since_a_time(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (actor, user) = admin(&pool).await;
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let (id, _) = create(&state, form("recovering", &url)).await;
    let dispatcher = dispatcher(&state, no_retries());
    publish_one(&pool).await;
    drain(&dispatcher).await;
    let (old, old_at): (Uuid, DateTime<Utc>) =
        sqlx::query_as("SELECT id, created_at FROM deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    let since = old_at + chrono::Duration::milliseconds(1);
    clock_past(since).await;
    publish_one(&pool).await;
    publish_one(&pool).await;
    drain(&dispatcher).await;
    assert_eq!(count_status(&pool, "failed").await, 3);

    receiver.set_mode(Mode::default());
    let queued = endpoints::recover(&state, &actor, id, since).await.unwrap();
    assert_eq!(queued, 2);
    drain(&dispatcher).await;

    let rows = deliveries_of(&pool, id).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        (old, "failed".into(), 1),
        "failed before `since`: left alone"
    );
    for (_, status, attempts) in &rows[1..] {
        assert_eq!((status.as_str(), *attempts), ("succeeded", 2));
    }
    assert_eq!(
        second_attempts(&pool, id).await,
        vec![("bulk".into(), Some(user), Some(200)); 2]
    );
    let audit = audit_rows(&pool, "endpoint.recover").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].0.as_str(), audit[0].1.clone()),
        ("ada@example.com", id.to_string())
    );
    assert_eq!(audit[0].2["queued"], 2);
}

#[sqlx::test]
async fn a_bulk_retry_requeues_the_failed_deliveries_of_a_view(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (actor, user) = admin(&pool).await;
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let (target, _) = create(&state, form("target", &format!("{url}/target"))).await;
    let (other, _) = create(&state, form("other", &format!("{url}/other"))).await;
    let dispatcher = dispatcher(&state, no_retries());
    publish_one(&pool).await;
    publish_one(&pool).await;
    drain(&dispatcher).await;
    assert_eq!(count_status(&pool, "failed").await, 4);
    // The job takes deliveries stamped before its start; let the clock pass the newest.
    let newest: DateTime<Utc> = sqlx::query_scalar("SELECT max(created_at) FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    clock_past(newest + chrono::Duration::milliseconds(1)).await;

    receiver.set_mode(Mode::default());
    let view = LogQuery {
        endpoint: Some(target),
        ..LogQuery::default()
    };
    let job = deliveries::start_bulk_retry(&state, &actor, &view)
        .await
        .unwrap();
    assert_eq!((job.total, job.status.as_str()), (2, "running"));
    let state_ref = &state;
    eventually(
        "the bulk job finished",
        Duration::from_secs(10),
        move || async move {
            deliveries::bulk_job(state_ref, job.id)
                .await
                .unwrap()
                .status
                != "running"
        },
    )
    .await;
    let progress = deliveries::bulk_job(&state, job.id).await.unwrap();
    assert_eq!((progress.done, progress.status.as_str()), (2, "finished"));
    drain(&dispatcher).await;

    for (_, status, attempts) in deliveries_of(&pool, target).await {
        assert_eq!((status.as_str(), attempts), ("succeeded", 2));
    }
    assert_eq!(
        second_attempts(&pool, target).await,
        vec![("bulk".into(), Some(user), Some(200)); 2]
    );
    for (_, status, attempts) in deliveries_of(&pool, other).await {
        assert_eq!(
            (status.as_str(), attempts),
            ("failed", 1),
            "outside the view"
        );
    }
    let audit = audit_rows(&pool, "delivery.bulk_retry").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].0.as_str(), audit[0].1.clone()),
        ("ada@example.com", job.id.to_string())
    );
    assert_eq!(audit[0].2["total"], 2);
}

#[sqlx::test]
async fn a_manual_retry_is_sent_recorded_as_manual_and_audited(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (actor, user) = admin(&pool).await;
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let (id, _) = create(&state, form("retried by hand", &url)).await;
    let dispatcher = dispatcher(&state, no_retries());
    publish_one(&pool).await;
    drain(&dispatcher).await;
    let delivery = deliveries_of(&pool, id).await[0].0;

    receiver.set_mode(Mode::default());
    deliveries::retry(&state, &actor, delivery).await.unwrap();
    drain(&dispatcher).await;

    assert_eq!(
        delivery_state(&pool).await,
        ("succeeded".into(), 2, Some(200), None)
    );
    assert_eq!(
        second_attempts(&pool, id).await,
        vec![("manual".into(), Some(user), Some(200))]
    );
    let audit = audit_rows(&pool, "delivery.retry").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].0.as_str(), audit[0].1.clone()),
        ("ada@example.com", delivery.to_string())
    );
    // An unknown delivery is refused, and nothing is audited for it.
    let unknown = deliveries::retry(&state, &actor, Uuid::now_v7()).await;
    assert_eq!(unknown, Err(AppError::NotFound("Delivery".into())));
    assert_eq!(audit_rows(&pool, "delivery.retry").await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. The run loop: LISTEN/NOTIFY and graceful shutdown
// ---------------------------------------------------------------------------------------------

/// Whether a session of this test's database is listening on the dispatchers' wake channel.
async fn listening(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        r#"SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE datname = current_database() AND pid <> pg_backend_pid()
                            AND query ILIKE 'LISTEN%' || $1 || '%')"#,
    )
    .bind(WAKE_CHANNEL)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub(crate) type Running = tokio::task::JoinHandle<anyhow::Result<()>>;

/// Starts the real loop with its poll a minute away, and waits until the one delivery already
/// due has reached `status` and the loop listens: from then on only a notification wakes it.
async fn run_polling_once_a_minute(
    state: &AppState,
    mut config: DispatchConfig,
    status: &'static str,
) -> (watch::Sender<bool>, Running) {
    config.poll_interval = Duration::from_secs(60);
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher(state, config).run(stopped));
    let pool = &state.pool;
    let limit = Duration::from_secs(10);
    eventually("the first attempt recorded", limit, move || async move {
        count_status(pool, status).await == 1
    })
    .await;
    eventually("the dispatcher listening", limit, move || listening(pool)).await;
    (stop, running)
}

#[sqlx::test]
async fn a_publish_wakes_the_running_dispatcher_at_once(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    create(&state, form("woken", &url)).await;
    // Due when the loop starts, so its first step sends it; after that the loop waits.
    publish_one(&pool).await;
    let (stop, running) = run_polling_once_a_minute(&state, config(), "succeeded").await;

    // Only the notification can wake it now: its next poll is a minute away.
    publish_one(&pool).await;
    let receiver_ref = &receiver;
    let prompt = Duration::from_secs(3);
    eventually("the second event sent", prompt, move || async move {
        receiver_ref.received().len() == 2
    })
    .await;
    stop_loop(stop, running).await;
}

/// Tells the loop to stop and waits (five seconds at most) until it has.
pub(crate) async fn stop_loop(stop: watch::Sender<bool>, running: Running) {
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the loop stops when told to")
        .unwrap()
        .unwrap();
}

#[sqlx::test]
async fn a_manual_retry_wakes_the_running_dispatcher_at_once(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (actor, _) = admin(&pool).await;
    let (receiver, url) = receiver().await;
    receiver.set_mode(status_mode(500));
    let (id, _) = create(&state, form("retried while running", &url)).await;
    publish_one(&pool).await;
    let (stop, running) = run_polling_once_a_minute(&state, no_retries(), "failed").await;

    // Only the retry's notification can wake it now: its next poll is a minute away.
    receiver.set_mode(Mode::default());
    let delivery = deliveries_of(&pool, id).await[0].0;
    deliveries::retry(&state, &actor, delivery).await.unwrap();
    let pool_ref = &pool;
    eventually(
        "the retry sent",
        Duration::from_secs(3),
        move || async move { count_status(pool_ref, "succeeded").await == 1 },
    )
    .await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[sqlx::test]
async fn a_full_batch_is_followed_at_once_by_the_next(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    create(&state, form("backlog", &url)).await;
    for _ in 0..5 {
        publish_one(&pool).await;
    }
    let mut batches_of_two = config();
    batches_of_two.batch_size = 2;
    batches_of_two.lanes = 1;
    batches_of_two.poll_interval = Duration::from_secs(60);
    let first = dispatcher(&state, batches_of_two.clone()).step().await;
    assert_eq!(
        first.unwrap(),
        StepOutcome::Dispatched(2),
        "a step claims one batch, no more"
    );

    // Three are due when the loop starts and no notification will come: only going straight on
    // after a full batch sends them all before the poll a minute away.
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher(&state, batches_of_two).run(stopped));
    let receiver_ref = &receiver;
    eventually(
        "the backlog sent",
        Duration::from_secs(5),
        move || async move { receiver_ref.received().len() == 5 },
    )
    .await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[sqlx::test]
async fn shutdown_lets_the_attempt_in_flight_finish_and_starts_no_other(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    receiver.set_mode(Mode {
        delay_ms: Some(2000),
        ..Mode::default()
    });
    create(&state, form("slow", &url)).await;
    publish_one(&pool).await;
    let (stop, stopped) = watch::channel(false);
    let mut running = tokio::spawn(dispatcher(&state, config()).run(stopped));
    let receiver_ref = &receiver;
    eventually(
        "the first request in flight",
        Duration::from_secs(5),
        move || async move { receiver_ref.received().len() == 1 },
    )
    .await;

    // Due now, but the only lane is busy; then shutdown is asked for.
    publish_one(&pool).await;
    stop.send(true).unwrap();
    let early = tokio::time::timeout(Duration::from_millis(1000), &mut running).await;
    assert!(early.is_err(), "stopped before its request was answered");
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stops once the attempt is recorded")
        .unwrap()
        .unwrap();

    let states: Vec<(String, i32)> =
        sqlx::query_as("SELECT status, attempt_count FROM deliveries ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        states,
        vec![("succeeded".into(), 1), ("pending".into(), 0)],
        "the attempt in flight was recorded; the other was not started"
    );
    assert_eq!(receiver.received().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 8. What the portal reads from the results: endpoint health and exhausted retries
// ---------------------------------------------------------------------------------------------

#[sqlx::test]
async fn attempts_count_in_endpoint_health_and_exhausted_retries_are_noted(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (_good_receiver, good_url) = receiver().await;
    let (bad_receiver, bad_url) = receiver().await;
    bad_receiver.set_mode(status_mode(500));
    let (good, _) = create(&state, form("healthy", &good_url)).await;
    let (bad, _) = create(&state, form("broken", &bad_url)).await;
    publish_one(&pool).await;
    publish_one(&pool).await;
    let sent = dispatcher(&state, no_retries());
    drain(&sent).await;
    sent.flush_health().await;

    let healthy = endpoints::get(&state, good).await.unwrap();
    assert_eq!((healthy.day.succeeded, healthy.day.failed), (2, 0));
    assert_eq!((healthy.week.succeeded, healthy.week.failed), (2, 0));
    assert!(healthy.day.p50_ms.is_some(), "latency is counted too");
    let broken = endpoints::get(&state, bad).await.unwrap();
    assert_eq!((broken.day.succeeded, broken.day.failed), (0, 2));

    let watched = herald::server::db::alerts::watched(&pool).await.unwrap();
    let exhausted = |id: Uuid| watched.iter().find(|w| w.id == id).unwrap().exhausted;
    assert!(exhausted(bad), "its deliveries ran out of retries");
    assert!(!exhausted(good));
}

/// Successful attempts counted in the endpoint's hourly health rows.
async fn health_successes(pool: &PgPool, endpoint: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(succeeded), 0)::int8 FROM endpoint_health_hourly WHERE endpoint_id = $1",
    )
    .bind(endpoint)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn results_are_committed_without_waiting_for_the_disk_only_when_asked(pool: PgPool) {
    // A trigger notes the commit mode of every transaction that records attempts.
    for sql in [
        "CREATE TABLE commit_modes (n serial, mode text)",
        "CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO commit_modes (mode) VALUES (current_setting('synchronous_commit'));
         RETURN NULL; END $$",
        "CREATE TRIGGER note_commit_mode AFTER INSERT ON delivery_attempts
         FOR EACH STATEMENT EXECUTE FUNCTION note_commit_mode()",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    create(&state, form("recorded", &url)).await;
    publish_one(&pool).await;
    drain(&dispatcher(&state, config())).await;
    publish_one(&pool).await;
    let asynchronous = DispatchConfig {
        async_result_commit: true,
        ..config()
    };
    drain(&dispatcher(&state, asynchronous)).await;

    let modes: Vec<String> = sqlx::query_scalar("SELECT mode FROM commit_modes ORDER BY n")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(modes, ["on", "off"], "the default waits for the disk");
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(count_status(&pool, "succeeded").await, 2);
}

/// An endpoint on a receiver that answers 200 and one delivery due to it: the state, the
/// endpoint, and the receiver (kept alive by the caller).
async fn one_due_delivery(pool: &PgPool) -> (AppState, Uuid, Receiver) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    let (id, _) = create(&state, form("counted", &url)).await;
    publish_one(pool).await;
    (state, id, receiver)
}

#[sqlx::test]
async fn a_running_dispatcher_writes_the_health_it_counts_about_once_a_second(pool: PgPool) {
    let (state, id, _receiver) = one_due_delivery(&pool).await;
    let (stop, running) = run_polling_once_a_minute(&state, config(), "succeeded").await;

    // Neither stopped nor told to flush: only the writer's own clock writes it.
    eventually(
        "the attempt in the health rows",
        Duration::from_secs(5),
        || async { health_successes(&pool, id).await == 1 },
    )
    .await;
    stop_loop(stop, running).await;
    assert_eq!(health_successes(&pool, id).await, 1, "counted once");
}

#[sqlx::test]
async fn a_stopping_dispatcher_writes_the_health_it_has_not_yet_written(pool: PgPool) {
    let (state, id, _receiver) = one_due_delivery(&pool).await;
    let hourly = DispatchConfig {
        health_every: Duration::from_secs(3600),
        ..config()
    };
    let running_dispatcher = dispatcher(&state, hourly);
    // A handle kept elsewhere (as `herald serve` keeps one for the hand-off) keeps the
    // writer alive, so only the loop's own stop can write what it counted.
    let _kept = running_dispatcher.clone();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(running_dispatcher.run(stopped));
    eventually("the delivery sent", Duration::from_secs(10), || async {
        count_status(&pool, "succeeded").await == 1
    })
    .await;
    assert_eq!(health_successes(&pool, id).await, 0, "held in memory");

    stop_loop(stop, running).await;
    assert_eq!(health_successes(&pool, id).await, 1);
}
