//! Direct hand-off: a publish in a process whose dispatcher runs writes its deliveries leased
//! to that process and hands them over, with no claim and no wake-up; what finds no free slot
//! is left due for claims, with a wake-up; a stopped dispatcher is handed nothing.

use crate::silent_features::{
    Running, config, count_status, create, dispatcher, eventually, form, receiver, stop_loop,
};
use chrono::{DateTime, Utc};
use herald::server::dispatcher::handoff::Leased;
use herald::server::dispatcher::{DispatchConfig, Dispatcher, WAKE_CHANNEL};
use herald::server::service::events::Published;
use herald::server::state::AppState;
use herald::tools::receiver::Receiver;
use serde_json::value::RawValue;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// The test dispatcher's settings with its poll a minute away (only a wake-up or a hand-off
/// moves it) and small claims: a lane takes up to a batch of the 64 slots before each claim,
/// so a publish always finds its share of 32.
fn small_claims() -> DispatchConfig {
    let mut config = config();
    config.poll_interval = Duration::from_secs(60);
    config.batch_size = 8;
    config
}

/// Runs the real loop with this state's publishes handed to it, and waits until it takes them.
async fn run_handing(state: &AppState, dispatcher: Dispatcher) -> (watch::Sender<bool>, Running) {
    let handoff = dispatcher.handoff();
    state.publisher.hand_to(handoff.clone());
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher.run(stopped));
    eventually(
        "the dispatcher taking hand-offs",
        Duration::from_secs(10),
        move || std::future::ready(handoff.is_taken()),
    )
    .await;
    (stop, running)
}

/// Publishes one producer event the way `POST /api/v1/events` does (through the group writer).
async fn publish(state: &AppState) -> Published {
    let data = RawValue::from_string(r#"{"n":1}"#.to_string()).unwrap();
    state
        .publisher
        .publish(&state.pool, "user.created", &data, None)
        .await
        .unwrap()
}

async fn wake_listener(pool: &PgPool) -> PgListener {
    let mut listener = PgListener::connect_with(pool).await.unwrap();
    listener.listen(WAKE_CHANNEL).await.unwrap();
    listener
}

/// How many wake-ups were sent since `listener` started listening: it counts notifications
/// until a sentinel sent now (PostgreSQL delivers them in commit order).
async fn wake_ups_so_far(listener: &mut PgListener, pool: &PgPool) -> usize {
    sqlx::query("SELECT pg_notify($1, 'sentinel')")
        .bind(WAKE_CHANNEL)
        .execute(pool)
        .await
        .unwrap();
    let mut wake_ups = 0;
    loop {
        let note = tokio::time::timeout(Duration::from_secs(5), listener.recv())
            .await
            .expect("the sentinel arrives")
            .unwrap();
        if note.payload() == "sentinel" {
            return wake_ups;
        }
        wake_ups += 1;
    }
}

/// Publishes one event to `endpoints` endpoints and waits until every delivery succeeded, the
/// receiver having got one request on each path; the wake-ups sent meanwhile.
async fn publish_to_each_once(
    state: &AppState,
    receiver: &Receiver,
    listener: &mut PgListener,
    endpoints: usize,
) -> usize {
    let wanted = i64::try_from(endpoints).unwrap();
    assert_eq!(publish(state).await.deliveries, wanted);
    let pool = &state.pool;
    eventually(
        "every delivery sent",
        Duration::from_secs(3),
        move || async move { count_status(pool, "succeeded").await == wanted },
    )
    .await;
    let received = receiver.received();
    let paths: HashSet<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        (received.len(), paths.len()),
        (endpoints, endpoints),
        "each sent once"
    );
    wake_ups_so_far(listener, pool).await
}

#[sqlx::test]
async fn a_publish_hands_its_deliveries_to_the_running_dispatcher_without_a_wake_up(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    create(&state, form("a", &format!("{url}/a"))).await;
    create(&state, form("b", &format!("{url}/b"))).await;
    let mut listener = wake_listener(&pool).await;
    let (stopper, running) = run_handing(&state, dispatcher(&state, small_claims())).await;

    // Its poll is a minute away and no wake-up is sent: only the hand-off can send these.
    let wake_ups = publish_to_each_once(&state, &receiver, &mut listener, 2).await;
    assert_eq!(wake_ups, 0, "no NOTIFY");
    stop_loop(stopper, running).await;
}

#[sqlx::test]
async fn deliveries_beyond_the_free_slots_are_left_for_claims_with_a_wake_up(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    for name in ["a", "b", "c"] {
        create(&state, form(name, &format!("{url}/{name}"))).await;
    }
    let mut listener = wake_listener(&pool).await;
    // Two slots, of which a publish may take one (a lane, one at most): two of the three
    // deliveries wait for claims.
    let mut two_slots = small_claims();
    two_slots.max_in_flight = 2;
    two_slots.batch_size = 1;
    let (stopper, running) = run_handing(&state, dispatcher(&state, two_slots)).await;

    let wake_ups = publish_to_each_once(&state, &receiver, &mut listener, 3).await;
    assert_eq!(wake_ups, 1, "one NOTIFY");
    stop_loop(stopper, running).await;
}

#[sqlx::test]
async fn a_stopped_dispatcher_is_handed_nothing(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (receiver, url) = receiver().await;
    create(&state, form("a", &url)).await;
    let (stopper, running) = run_handing(&state, dispatcher(&state, small_claims())).await;
    stop_loop(stopper, running).await;

    assert_eq!(publish(&state).await.deliveries, 1);
    let (leased_by, due): (Option<i32>, bool) =
        sqlx::query_as("SELECT leased_by, next_attempt_at <= now() FROM deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (leased_by, due),
        (None, true),
        "due for any dispatcher's claim"
    );
    assert_eq!(receiver.received().len(), 0);
}

#[sqlx::test]
async fn deliveries_handed_as_the_dispatcher_stops_are_made_due_with_a_wake_up(pool: PgPool) {
    let state = crate::helpers::test_state(pool.clone());
    let (_receiver, url) = receiver().await;
    create(&state, form("a", &url)).await;
    // Slots taken while the loop ran; the loop stops before the publish hands its delivery.
    let dispatcher = dispatcher(&state, small_claims());
    let handoff = dispatcher.handoff();
    let (stop, running) = run_handing(&state, dispatcher).await;
    let reservation = handoff.reserve().expect("free slots");
    stop_loop(stop, running).await;

    publish(&state).await;
    let leased: (Uuid, Uuid, Uuid, DateTime<Utc>) = sqlx::query_as(
        r#"UPDATE deliveries SET next_attempt_at = now() + interval '1 minute', leased_by = $1
           RETURNING id, event_id, endpoint_id, next_attempt_at"#,
    )
    .bind(reservation.owner)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut listener = wake_listener(&pool).await;
    let (delivery_id, event_id, endpoint_id, lease) = leased;
    let job = Leased {
        delivery_id,
        event_id,
        endpoint_id,
        lease,
    };
    handoff
        .hand(&pool, reservation, vec![job], HashMap::new())
        .await;

    let (leased_by, due): (Option<i32>, bool) =
        sqlx::query_as("SELECT leased_by, next_attempt_at <= now() FROM deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (leased_by, due),
        (None, true),
        "due for any dispatcher's claim"
    );
    assert_eq!(wake_ups_so_far(&mut listener, &pool).await, 1, "one NOTIFY");
}
