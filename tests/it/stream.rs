//! The event stream (`GET /api/v1/events/stream`) and the portal's live-log push
//! (`/admin/stream/deliveries`), read as a client reads them: Server-Sent Events over loopback.

use crate::helpers::*;
use herald::domain::role::Role;
use herald::domain::scope::Scope;
use herald::server::db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;

/// One Server-Sent Event as the client parsed it.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// A stream being read: the bytes received so far not yet parsed into events.
struct Reader {
    response: reqwest::Response,
    pending: String,
}

impl Reader {
    /// The next event within `wait`: `Ok(None)` when the stream ended, `Err` on timeout.
    async fn next_within(&mut self, wait: Duration) -> Result<Option<Sse>, ()> {
        tokio::time::timeout(wait, self.next())
            .await
            .map_err(|_| ())
    }

    /// The next event (10 s at most, then the test fails); `None` when the stream ended.
    async fn next_event(&mut self) -> Option<Sse> {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    async fn next(&mut self) -> Option<Sse> {
        loop {
            while let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let chunk = self.response.chunk().await.unwrap()?;
            self.pending.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// An event block; `None` for a comment-only block (a keep-alive).
fn parse(block: &str) -> Option<Sse> {
    let (mut id, mut event, mut data) = (None, None, Vec::new());
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("id: ") {
            id = Some(value.to_string());
        } else if let Some(value) = line.strip_prefix("event: ") {
            event = Some(value.to_string());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data.push(value);
        } else if line == "data:" {
            data.push("");
        }
    }
    (id.is_some() || event.is_some() || !data.is_empty()).then(|| Sse {
        id,
        event,
        data: data.join("\n"),
    })
}

async fn open(app: &TestApp, key: &str, query: &str, last: Option<&str>) -> Reader {
    let mut request = app.api(Method::GET, &format!("/api/v1/events/stream{query}"), key);
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    Reader {
        response,
        pending: String::new(),
    }
}

async fn key_with(pool: &PgPool, scopes: &[Scope]) -> String {
    db::api_keys::create(pool, "streamer", scopes, None)
        .await
        .unwrap()
        .1
}

/// Publishes a `user.created` event with `data` over REST; its id.
async fn publish(app: &TestApp, key: &str, data: Value) -> String {
    let body = json!({ "type": "user.created", "data": data });
    let response = app
        .send_json(Method::POST, "/api/v1/events", key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let published: Value = response.json().await.unwrap();
    published["id"].as_str().unwrap().to_string()
}

fn ids(events: &[Sse]) -> Vec<String> {
    events.iter().map(|e| e.id.clone().unwrap()).collect()
}

#[sqlx::test]
async fn a_client_that_reconnects_with_last_event_id_misses_nothing_and_gets_nothing_twice(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let mut first = open(&app, &key, "", None).await;
    let mut published = Vec::new();
    for n in 0..5 {
        published.push(publish(&app, &key, json!({ "n": n })).await);
    }
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(first.next_event().await.unwrap());
    }
    // The envelope, as webhooks receive it.
    let envelope: Value = serde_json::from_str(&received[0].data).unwrap();
    assert_eq!(envelope["id"], published[0]);
    assert_eq!(envelope["type"], "user.created");
    assert_eq!(envelope["data"], json!({ "n": 0 }));

    // The client goes away after three; five more are published while it is gone.
    drop(first);
    for n in 5..10 {
        published.push(publish(&app, &key, json!({ "n": n })).await);
    }
    let last = received.last().unwrap().id.clone().unwrap();
    let mut second = open(&app, &key, "", Some(&last)).await;
    // Publishing goes on while the resumed stream catches up.
    let publisher = {
        let (base, key) = (app.base.clone(), key.clone());
        tokio::spawn(async move {
            let app = TestApp {
                base,
                client: reqwest::Client::new(),
            };
            let mut ids = Vec::new();
            for n in 10..15 {
                ids.push(publish(&app, &key, json!({ "n": n })).await);
            }
            ids
        })
    };
    while received.len() < 15 {
        received.push(second.next_event().await.unwrap());
    }
    published.extend(publisher.await.unwrap());
    assert_eq!(ids(&received), published);
    assert_eq!(
        second.next_within(Duration::from_millis(1500)).await,
        Err(()),
        "nothing after the fifteen"
    );
}

#[sqlx::test]
async fn an_event_committed_late_is_neither_skipped_nor_overtaken(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let mut stream = open(&app, &key, "", None).await;
    // A publish whose transaction is still open: its id is older than the next event's.
    let mut slow = pool.begin().await.unwrap();
    let early = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, type, body, created_at) VALUES ($1, 'user.created', '{\"late\":true}', now())",
    )
    .bind(early)
    .execute(&mut *slow)
    .await
    .unwrap();
    let later = publish(&app, &key, json!({ "later": true })).await;
    // The stream cannot know yet whether the open transaction commits: it holds `later` back.
    assert_eq!(
        stream.next_within(Duration::from_millis(1500)).await,
        Err(())
    );
    slow.commit().await.unwrap();
    let first = stream.next_event().await.unwrap();
    let second = stream.next_event().await.unwrap();
    assert_eq!(
        ids(&[first, second]),
        [herald::domain::ids::event_ref(early), later.clone()]
    );

    // Resuming after `later` starts after it, not after the early event's id.
    let mut resumed = open(&app, &key, "", Some(&later)).await;
    let next = publish(&app, &key, json!({ "next": true })).await;
    assert_eq!(resumed.next_event().await.unwrap().id, Some(next));
}

#[sqlx::test]
async fn a_type_filter_streams_only_that_type(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let mut stream = open(&app, &key, "?type=payment.succeeded", None).await;
    publish(&app, &key, json!({ "skip": 1 })).await;
    let paid = app
        .send_json(
            Method::POST,
            "/api/v1/events",
            &key,
            &json!({ "type": "payment.succeeded", "data": { "payment": 7 } }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::CREATED);
    let paid: Value = paid.json().await.unwrap();
    let got = stream.next_event().await.unwrap();
    assert_eq!(got.id.as_deref(), paid["id"].as_str());
}

#[sqlx::test]
async fn a_client_that_stops_reading_is_cut_off_with_the_reason_and_publishing_goes_on(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let mut stalled = open(&app, &key, "", None).await;
    // Far more than the stream's buffer and both sockets hold, while the client reads nothing:
    // every publish still succeeds.
    let pad = "x".repeat(80_000);
    let mut published = Vec::new();
    for n in 0..400 {
        published.push(publish(&app, &key, json!({ "n": n, "pad": pad })).await);
    }
    // The client keeps not reading for longer than the stall limit.
    tokio::time::sleep(STREAM_STALL_LIMIT + Duration::from_secs(1)).await;

    let mut received = Vec::new();
    let end = loop {
        let event = stalled.next_event().await.expect("an end message");
        if event.event.as_deref() == Some("end") {
            break event;
        }
        received.push(event);
    };
    assert!(
        end.data.contains("reconnect with Last-Event-ID to resume"),
        "{}",
        end.data
    );
    assert!(received.len() < published.len(), "cut off before the end");
    assert_eq!(ids(&received), published[..received.len()]);
    assert_eq!(stalled.next_event().await, None, "the stream closed");

    // What it missed comes on reconnecting.
    let last = received.last().unwrap().id.clone().unwrap();
    let mut resumed = open(&app, &key, "", Some(&last)).await;
    let mut rest = Vec::new();
    while rest.len() < published.len() - received.len() {
        rest.push(resumed.next_event().await.unwrap());
    }
    assert_eq!(ids(&rest), published[received.len()..]);
}

#[sqlx::test]
async fn a_stream_that_cannot_start_where_asked_says_why(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let cases = [
        (
            "",
            Some("evt_0193a1b2c3d4e5f60718293a4b5c6d7e"),
            "Last-Event-ID",
        ),
        ("", Some("yesterday"), "Last-Event-ID"),
        (
            "?last_event_id=evt_0193a1b2c3d4e5f60718293a4b5c6d7e",
            None,
            "Last-Event-ID",
        ),
        ("?type=no.such_type", None, "type"),
    ];
    for (query, last, field) in cases {
        let mut request = app.api(Method::GET, &format!("/api/v1/events/stream{query}"), &key);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query} {last:?}"
        );
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body["error"]["fields"][0]["field"], field,
            "{query} {last:?}"
        );
    }
    let publisher = key_with(&pool, &[Scope::Publish]).await;
    let refused = app
        .send(Method::GET, "/api/v1/events/stream", &publisher)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn open_streams_end_when_herald_shuts_down_so_the_shutdown_does_not_wait(pool: PgPool) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let state = herald::server::state::AppState {
        closing: stopped.clone(),
        ..test_state_at(pool.clone(), addr)
    };
    let server = tokio::spawn(herald::server::listener::serve(
        listener,
        herald::server::http::router(state, true),
        stopped,
    ));
    let app = TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    };
    let key = key_with(&pool, &Scope::ALL).await;
    let mut stream = open(&app, &key, "", None).await;
    stop.send(true).unwrap();
    let last = stream.next_event().await.unwrap();
    assert_eq!(last.event.as_deref(), Some("end"));
    assert!(last.data.contains("shutting down"), "{}", last.data);
    assert_eq!(stream.next_event().await, None);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stopped without waiting out its drain time")
        .unwrap()
        .unwrap();
}

#[sqlx::test]
async fn the_live_log_is_told_of_new_deliveries_and_only_admins_may_listen(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    create_user(&pool, "member@test.dev", "member-password", Role::Member).await;
    let anonymous = app
        .client
        .get(app.url("/admin/stream/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let member = session_cookie(&app, "member@test.dev", "member-password").await;
    let refused = app
        .client
        .get(app.url("/admin/stream/deliveries"))
        .header("cookie", member)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let admin = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let response = app
        .client
        .get(app.url("/admin/stream/deliveries"))
        .header("cookie", admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut changes = Reader {
        response,
        pending: String::new(),
    };
    let key = key_with(&pool, &Scope::ALL).await;
    sqlx::query(
        "INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, 'Live', 'https://hooks.example.com/in', '\\x00')",
    )
    .bind(uuid::Uuid::now_v7())
    .execute(&pool)
    .await
    .unwrap();
    publish(&app, &key, json!({ "live": true })).await;
    let change = changes
        .next_within(Duration::from_secs(1))
        .await
        .expect("told within a second")
        .unwrap();
    assert_eq!(change.event.as_deref(), Some("change"));
}

#[sqlx::test]
async fn a_process_holds_at_most_its_share_of_open_streams(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key_with(&pool, &Scope::ALL).await;
    let mut open_streams = Vec::new();
    for _ in 0..MAX_STREAMS {
        open_streams.push(open(&app, &key, "", None).await);
    }
    let refused = app.send(Method::GET, "/api/v1/events/stream", &key).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "30");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many event streams"),
        "{body}"
    );
    // A client that leaves frees its slot.
    drop(open_streams.pop());
    let mut answered = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..50 {
        let again = app.send(Method::GET, "/api/v1/events/stream", &key).await;
        answered = again.status();
        if answered == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, StatusCode::OK);
}
