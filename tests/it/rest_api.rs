//! The REST API over real HTTP: API-key auth, publishing with idempotency, clear JSON errors
//! that leave nothing half-written, polling, delivery lookup and retry.

use crate::helpers::*;
use crate::silent_features::eventually;
use herald::domain::scope::Scope;
use herald::server::db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;

async fn api_key(pool: &PgPool) -> String {
    db::api_keys::create(pool, "producer", &Scope::ALL, None)
        .await
        .unwrap()
        .1
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn publishing_needs_a_live_api_key(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let body = json!({ "type": "user.created", "data": {} });
    let none = app
        .client
        .post(app.url("/api/v1/events"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let error: Value = none.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unauthorized");

    let (id, key) = db::api_keys::create(&pool, "producer", &[Scope::Publish], None)
        .await
        .unwrap();
    let ok = app
        .send_json(Method::POST, "/api/v1/events", &key, &body)
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(
        count(&pool, "events").await,
        1,
        "the refused request wrote nothing"
    );
    // Revoked as another Herald process would: the key's cached answer goes with the
    // notification (the portal's own revoke empties this process's cache at once).
    db::api_keys::revoke(&pool, id).await.unwrap();
    eventually(
        "the revoked key refused",
        Duration::from_secs(10),
        || async {
            let revoked = app
                .send_json(Method::POST, "/api/v1/events", &key, &body)
                .await;
            revoked.status() == StatusCode::UNAUTHORIZED
        },
    )
    .await;
}

#[sqlx::test]
async fn publishing_fans_out_to_subscribed_endpoints_once_per_idempotency_key(pool: PgPool) {
    delivery_fixture(&pool, "All types", "succeeded", Some(200)).await; // subscribed to everything
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted, event_types) VALUES ($1, 'Payments only', 'https://p.example', '\\x00', '{payment.failed}')")
        .bind(uuid::Uuid::now_v7())
        .execute(&pool)
        .await
        .unwrap();
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let body = json!({ "type": "user.created", "data": { "b": 1, "a": 2 }, "idempotency_key": "order-42" });
    let first = app
        .send_json(Method::POST, "/api/v1/events", &key, &body)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        first["deliveries"], 1,
        "only the endpoint subscribed to user.created"
    );
    let again = app
        .send_json(Method::POST, "/api/v1/events", &key, &body)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        count(&pool, "events").await,
        2,
        "the fixture's event and one published event"
    );

    let by_header = app
        .api(Method::POST, "/api/v1/events", &key)
        .header("idempotency-key", "order-42")
        .json(&json!({ "type": "user.created", "data": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
}

#[sqlx::test]
async fn bad_input_gets_a_clear_error_and_stores_nothing(pool: PgPool) {
    delivery_fixture(&pool, "All types", "succeeded", Some(200)).await;
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let post = |body: String| {
        app.api(Method::POST, "/api/v1/events", &key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let unknown = post(json!({ "type": "no.such_type", "data": {} }).to_string())
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = unknown.json().await.unwrap();
    assert_eq!(error["error"]["code"], "validation_failed");
    assert_eq!(error["error"]["fields"][0]["field"], "type");

    let invalid = post(r#"{"type": "user.created", "data": {"#.to_string())
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert!(invalid.text().await.unwrap().contains("must be JSON"));

    let missing = post(json!({ "type": "user.created" }).to_string())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    let huge =
        json!({ "type": "user.created", "data": { "blob": "x".repeat(1_100_000) } }).to_string();
    let too_large = post(huge).await.unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = too_large.json().await.unwrap();
    assert_eq!(error["error"]["code"], "payload_too_large");

    assert_eq!(count(&pool, "events").await, 1, "only the fixture's event");
    assert_eq!(count(&pool, "deliveries").await, 1);
}

#[sqlx::test]
async fn events_can_be_polled_after_a_cursor(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    for n in 0..3 {
        let body = json!({ "type": "user.created", "data": { "n": n } });
        app.send_json(Method::POST, "/api/v1/events", &key, &body)
            .await;
    }
    let page: Value = app.get_json("/api/v1/events?limit=2", &key).await;
    let newest: Vec<i64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(newest, vec![1, 2], "the newest page, oldest first");
    let first_id = {
        let all: Value = app.get_json("/api/v1/events?limit=10", &key).await;
        all["data"][0]["id"].as_str().unwrap().to_string()
    };
    let after: Value = app
        .get_json(&format!("/api/v1/events?after={first_id}"), &key)
        .await;
    let later: Vec<i64> = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(later, vec![1, 2]);
    let bad = app
        .send(Method::GET, "/api/v1/events?after=nonsense", &key)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test]
async fn a_delivery_can_be_read_and_retried(pool: PgPool) {
    let (_, delivery) = delivery_fixture(&pool, "Orders", "failed", Some(500)).await;
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let detail: Value = app
        .get_json(&format!("/api/v1/deliveries/{delivery}"), &key)
        .await;
    assert_eq!(detail["status"], "failed");
    assert_eq!(detail["endpoint_name"], "Orders");

    let retry = app
        .send(
            Method::POST,
            &format!("/api/v1/deliveries/{delivery}/retry"),
            &key,
        )
        .await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    let (status, trigger): (String, Option<String>) =
        sqlx::query_as("SELECT status, queued_trigger FROM deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), trigger.as_deref()),
        ("retrying", Some("manual"))
    );
    let audit: String = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audit, "delivery.retry");

    let missing = app
        .send(
            Method::POST,
            &format!("/api/v1/deliveries/{}/retry", uuid::Uuid::now_v7()),
            &key,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let garbage = app
        .send(Method::GET, "/api/v1/deliveries/not-a-uuid", &key)
        .await;
    assert_eq!(garbage.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn metrics_and_health_answer(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ready"
    );
    // Metrics need their token on the main listener; with it they show what happened.
    herald::server::metrics::install();
    let metrics = |token: Option<&'static str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(
        metrics(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics(Some("guess")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (receiver, url) = {
        let receiver = herald::tools::receiver::Receiver::new(None, true);
        let addr = receiver.clone().spawn_local().await.unwrap();
        (receiver, format!("http://{addr}/in"))
    };
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted) VALUES ($1, 'm', $2, $3)")
        .bind(uuid::Uuid::now_v7())
        .bind(&url)
        .bind(
            herald::server::crypto::SecretBox::new(&[7u8; 32])
                .unwrap()
                .encrypt("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .execute(&pool)
        .await
        .unwrap();
    let key = api_key(&pool).await;
    let event = json!({ "type": "user.created", "data": {} });
    app.send_json(Method::POST, "/api/v1/events", &key, &event)
        .await;
    let sender = herald::server::dispatcher::send::Sender::new(
        std::time::Duration::from_secs(1),
        vec![herald::domain::net::Cidr::parse("127.0.0.0/8").unwrap()],
        4,
        None,
    )
    .unwrap();
    let dispatcher = herald::server::dispatcher::Dispatcher::new(
        pool.clone(),
        sender,
        herald::server::crypto::SecretBox::new(&[7u8; 32]).unwrap(),
        Default::default(),
    );
    dispatcher.step().await.unwrap();
    assert_eq!(receiver.count(), 1);
    let page = metrics(Some(METRICS_TOKEN)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    for expected in [
        "herald_attempts_total{outcome=\"success\"}",
        "# HELP herald_attempts_total Webhook attempts recorded",
        "herald_events_published_total",
        "# HELP herald_deliveries_queued_total",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
}

#[sqlx::test]
async fn every_documented_route_exists_and_requires_a_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uuid::Uuid::now_v7();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path_filled = path
                .replace("{id}", &id.to_string())
                .replace("{name}", "user.created");
            let url = app.url(&path_filled);
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
        }
    }
}

#[sqlx::test]
async fn webhooks_can_be_managed_over_rest(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let created = app.send_json(Method::POST, "/api/v1/webhooks", &key, &json!({ "name": "Billing", "url": "https://billing.example.com/hooks", "event_types": ["payment.failed"], "custom_headers": [["X-Tenant", "acme"]] })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_string();

    let duplicate = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &key,
            &json!({ "name": "billing", "url": "https://other.example.com" }),
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = duplicate.json().await.unwrap();
    assert_eq!(error["error"]["fields"][0]["field"], "name");

    let reserved = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            &json!({ "custom_headers": [["Content-Type", "text/plain"]] }),
        )
        .await;
    assert_eq!(reserved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let patched: Value = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            &json!({ "enabled": false, "description": "paused" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            patched["enabled"].as_bool(),
            patched["description"].as_str(),
            patched["name"].as_str()
        ),
        (Some(false), Some("paused"), Some("Billing"))
    );

    let rotated: Value = app
        .send(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            &key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["secret"], created["secret"]);
    let listed: Value = app.get_json("/api/v1/webhooks", &key).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let bad_json = app
        .api(Method::POST, "/api/v1/webhooks", &key)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    let deleted = app
        .send(Method::DELETE, &format!("/api/v1/webhooks/{id}"), &key)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(Method::GET, &format!("/api/v1/webhooks/{id}"), &key)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        vec![
            "endpoint.create",
            "endpoint.update",
            "endpoint.secret_rotate",
            "endpoint.delete"
        ]
    );
}

#[sqlx::test]
async fn hostile_payloads_are_stored_exactly_or_refused_clearly(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let big = format!("\"{}\"", "x".repeat(1024 * 1024));
    let cases: [(&str, &str, StatusCode); 6] = [
        ("NUL escape", r#"{"s":"a\u0000b"}"#, StatusCode::CREATED),
        (
            "lone surrogate",
            r#"{"s":"\ud800 and \udfff"}"#,
            StatusCode::CREATED,
        ),
        (
            "duplicate keys",
            r#"{"a":1,"a":2,"a":{"a":3}}"#,
            StatusCode::CREATED,
        ),
        (
            "controls escaped",
            r#"{"s":"\u001b[31m\u2028\u202e"}"#,
            StatusCode::CREATED,
        ),
        (
            "10,000 levels of nesting",
            &deep,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("a 1 MiB string", &big, StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (what, data, expected) in cases {
        let body = format!(r#"{{"type":"user.created","data":{data}}}"#);
        let response = app
            .api(Method::POST, "/api/v1/events", &key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{what}");
        let answer: Value = response.json().await.unwrap();
        if expected != StatusCode::CREATED {
            assert!(answer["error"]["message"].is_string(), "{what}: {answer}");
            continue;
        }
        // Stored and given back byte for byte.
        let stored: String = sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
            .bind(herald::domain::ids::parse_event_ref(answer["id"].as_str().unwrap()).unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(
            stored.ends_with(&format!(r#""data":{data}}}"#)),
            "{what}: {stored}"
        );
    }
    // A body far past the limit gets the same JSON answer, not the router's plain text.
    let huge = vec![b'x'; 3 * 1024 * 1024];
    let response = app
        .api(Method::POST, "/api/v1/events", &key)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert_eq!(
        count(&pool, "events").await,
        4,
        "only the four accepted events"
    );
}

#[sqlx::test]
async fn a_key_does_what_its_scopes_allow_and_dies_with_its_creator(pool: PgPool) {
    create_user(
        &pool,
        "owner@test.dev",
        "owner-password",
        herald::domain::role::Role::Owner,
    )
    .await;
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let key_with = |scopes: &'static [Scope]| {
        let pool = pool.clone();
        async move {
            db::api_keys::create(&pool, "k", scopes, Some(owner))
                .await
                .unwrap()
                .1
        }
    };
    let publish = key_with(&[Scope::Publish]).await;
    let read = key_with(&[Scope::Read]).await;
    let manage = key_with(&[Scope::Manage]).await;
    let app = spawn_app(pool.clone()).await;
    let event = json!({ "type": "user.created", "data": {} });
    let webhook = json!({ "name": "Mine", "url": "https://attacker.example/catch-all" });

    // A producer's key publishes, and can neither read nor manage.
    let published = app
        .send_json(Method::POST, "/api/v1/events", &publish, &event)
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);
    for (method, path) in [
        (Method::GET, "/api/v1/webhooks"),
        (Method::GET, "/api/v1/events"),
    ] {
        let refused = app.send(method, path, &publish).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body["error"]["message"],
            "this API key lacks the read scope"
        );
    }
    let catch_all = app
        .send_json(Method::POST, "/api/v1/webhooks", &publish, &webhook)
        .await;
    assert_eq!(catch_all.status(), StatusCode::FORBIDDEN);

    // Read reads; it cannot create, and cannot publish.
    assert_eq!(
        app.send(Method::GET, "/api/v1/webhooks", &read)
            .await
            .status(),
        StatusCode::OK
    );
    let by_reader = app
        .send_json(Method::POST, "/api/v1/webhooks", &read, &webhook)
        .await;
    assert_eq!(by_reader.status(), StatusCode::FORBIDDEN);
    let published = app
        .send_json(Method::POST, "/api/v1/events", &read, &event)
        .await;
    assert_eq!(published.status(), StatusCode::FORBIDDEN);

    // Manage manages (and reads).
    let created = app
        .send_json(Method::POST, "/api/v1/webhooks", &manage, &webhook)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        app.send(Method::GET, "/api/v1/webhooks", &manage)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        count(&pool, "endpoints").await,
        1,
        "only the managing key's webhook"
    );

    // Disabling the owner who created them kills every one of their keys.
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(owner)
        .execute(&pool)
        .await
        .unwrap();
    for key in [&publish, &read, &manage] {
        eventually(
            "the disabled owner's key refused",
            Duration::from_secs(10),
            || async {
                let refused = app
                    .send_json(Method::POST, "/api/v1/events", key, &event)
                    .await;
                refused.status() == StatusCode::UNAUTHORIZED
            },
        )
        .await;
    }
}

#[sqlx::test]
async fn custom_header_values_are_kept_secret_until_an_audited_reveal(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let body = json!({
        "name": "Partner",
        "url": "https://partner.example/hooks",
        "custom_headers": [["Authorization", "Bearer partner-token-12345678"], ["X-Pass", "hunter2"]]
    });
    let created: Value = app
        .send_json(Method::POST, "/api/v1/webhooks", &key, &body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let masked = json!([["Authorization", "••••5678"], ["X-Pass", "••••"]]);
    assert_eq!(created["custom_headers"], masked);
    let read = app.get_json(&format!("/api/v1/webhooks/{id}"), &key).await;
    assert_eq!(read["custom_headers"], masked);
    let listed = app.get_json("/api/v1/webhooks", &key).await;
    assert_eq!(listed["data"][0]["custom_headers"], masked);

    // At rest: neither value is anywhere in the row in clear.
    let row: String = sqlx::query_scalar("SELECT row_to_json(e)::text FROM endpoints e")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !row.contains("partner-token") && !row.contains("hunter2"),
        "{row}"
    );

    // A PATCH that sends the masks back keeps the values.
    let patch = json!({ "description": "edited", "custom_headers": masked });
    let patched = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            &patch,
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);

    // The reveal gives them in clear, and is in the audit log with the key's name.
    let revealed: Value = app
        .send(Method::POST, &format!("/api/v1/webhooks/{id}/reveal"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        revealed["custom_headers"],
        json!([
            ["Authorization", "Bearer partner-token-12345678"],
            ["X-Pass", "hunter2"]
        ])
    );
    assert!(revealed["secret"].as_str().unwrap().starts_with("whsec_"));
    let reveals: Vec<String> = sqlx::query_scalar(
        "SELECT action || ' by ' || actor FROM audit_log WHERE action LIKE '%reveal' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        reveals,
        vec![
            "endpoint.secret_reveal by api-key:producer",
            "endpoint.headers_reveal by api-key:producer"
        ]
    );
}

#[sqlx::test]
async fn a_batch_is_published_whole_or_not_at_all(pool: PgPool) {
    delivery_fixture(&pool, "All types", "succeeded", Some(200)).await; // subscribed to everything
    sqlx::query("INSERT INTO endpoints (id, name, url, secret_encrypted, event_types) VALUES ($1, 'Payments only', 'https://p.example', '\\x00', '{payment.failed}')")
        .bind(uuid::Uuid::now_v7())
        .execute(&pool)
        .await
        .unwrap();
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let earlier = app
        .send_json(
            Method::POST,
            "/api/v1/events",
            &key,
            &json!({ "type": "user.created", "data": {}, "idempotency_key": "signup-1" }),
        )
        .await;
    let earlier: Value = earlier.json().await.unwrap();
    let events_before = count(&pool, "events").await;
    let deliveries_before = count(&pool, "deliveries").await;

    // One bad event refuses the batch, named by its place; nothing is stored.
    let bad = json!({ "events": [
        { "type": "user.created", "data": { "n": 0 } },
        { "type": "payment.failed", "data": { "n": 1 } },
        { "type": "no.such_type", "data": { "n": 2 } },
    ] });
    let refused = app
        .send_json(Method::POST, "/api/v1/events/batch", &key, &bad)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["fields"][0]["field"], "events[2].type");
    assert_eq!(count(&pool, "events").await, events_before);
    assert_eq!(count(&pool, "deliveries").await, deliveries_before);
    let repeated = json!({ "events": [
        { "type": "user.created", "data": {}, "idempotency_key": "k" },
        { "type": "user.created", "data": {}, "idempotency_key": "k" },
    ] });
    let refused = app
        .send_json(Method::POST, "/api/v1/events/batch", &key, &repeated)
        .await;
    let error: Value = refused.json().await.unwrap();
    assert_eq!(
        error["error"]["fields"][0]["field"],
        "events[1].idempotency_key"
    );
    let empty = app
        .send_json(
            Method::POST,
            "/api/v1/events/batch",
            &key,
            &json!({ "events": [] }),
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({ "type": "user.created", "data": {} }))
        .collect();
    let refused = app
        .send_json(
            Method::POST,
            "/api/v1/events/batch",
            &key,
            &json!({ "events": too_many }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&pool, "events").await, events_before);

    // A good batch: in order, fanned out per type, the seen key answered with the earlier event.
    let good = json!({ "events": [
        { "type": "user.created", "data": { "n": 0 } },
        { "type": "payment.failed", "data": { "n": 1 } },
        { "type": "user.created", "data": { "n": 2 }, "idempotency_key": "signup-1" },
    ] });
    let published = app
        .send_json(Method::POST, "/api/v1/events/batch", &key, &good)
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);
    let published: Value = published.json().await.unwrap();
    let data = published["data"].as_array().unwrap();
    let types: Vec<&str> = data.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.created", "payment.failed", "user.created"]);
    let fan_out: Vec<i64> = data
        .iter()
        .map(|e| e["deliveries"].as_i64().unwrap())
        .collect();
    assert_eq!(fan_out, [1, 2, 1]);
    assert_eq!(data[2]["id"], earlier["id"]);
    assert_eq!(count(&pool, "events").await, events_before + 2);
    assert_eq!(count(&pool, "deliveries").await, deliveries_before + 3);
    let stored: String =
        sqlx::query_scalar("SELECT body FROM events WHERE type = 'payment.failed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["id"], data[1]["id"]);
    assert_eq!(stored["data"], json!({ "n": 1 }));
}

#[sqlx::test]
async fn concurrent_publishes_share_commits_and_keep_their_own_answers_and_keys(pool: PgPool) {
    delivery_fixture(&pool, "All types", "succeeded", Some(200)).await; // subscribed to everything
    let app = spawn_app(pool.clone()).await;
    let key = api_key(&pool).await;
    let events_before = count(&pool, "events").await;
    let publish = |body: Value| {
        let (client, url, key) = (app.client.clone(), app.url("/api/v1/events"), key.clone());
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    // 40 at once, each with its own data; and 10 at once with one idempotency key.
    let distinct: Vec<_> = (0..40)
        .map(|n| publish(json!({ "type": "user.created", "data": { "n": n } })))
        .collect();
    let same_key: Vec<_> = (0..10)
        .map(|n| {
            publish(
                json!({ "type": "user.created", "data": { "try": n }, "idempotency_key": "once" }),
            )
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for (n, task) in distinct.into_iter().enumerate() {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body["deliveries"], 1);
        assert!(ids.insert(body["id"].as_str().unwrap().to_string()));
        let stored: String = sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
            .bind(herald::domain::ids::parse_event_ref(body["id"].as_str().unwrap()).unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
        let stored: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            stored["data"],
            json!({ "n": n }),
            "each answer names its own event"
        );
    }
    let mut created = 0;
    let mut keyed = std::collections::HashSet::new();
    for task in same_key {
        let (status, body) = task.await.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(status, StatusCode::OK);
        }
        keyed.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(created, 1, "one event for the key");
    assert_eq!(keyed.len(), 1, "every answer names that event");
    assert_eq!(count(&pool, "events").await, events_before + 41);
}
