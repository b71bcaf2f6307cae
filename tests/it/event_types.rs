//! The event-type catalog over REST and the portal: types with JSON Schemas that publishing
//! enforces, archiving that refuses new events and keeps history, and clear refusals of
//! schemas that cannot be used.

use crate::helpers::*;
use herald::domain::role::Role;
use herald::domain::scope::Scope;
use herald::server::db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn key(pool: &PgPool, scopes: &[Scope]) -> String {
    db::api_keys::create(pool, "catalog", scopes, None)
        .await
        .unwrap()
        .1
}

fn order_shipped() -> Value {
    json!({
        "name": "order.shipped",
        "description": "An order left the warehouse.",
        "example": { "order_id": "ord_1", "items": 2 },
        "schema": {
            "type": "object",
            "required": ["order_id"],
            "properties": { "order_id": { "type": "string" }, "items": { "type": "integer" } }
        }
    })
}

async fn publish(app: &TestApp, key: &str, data: Value) -> (StatusCode, Value) {
    let event = json!({ "type": "order.shipped", "data": data });
    let response = app
        .send_json(Method::POST, "/api/v1/events", key, &event)
        .await;
    (response.status(), response.json().await.unwrap())
}

async fn events_of(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn publishing_follows_the_schema_and_the_archived_flag(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key(&pool, &[Scope::Publish, Scope::Manage]).await;

    let created = app
        .send_json(Method::POST, "/api/v1/event-types", &key, &order_shipped())
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["name"], "order.shipped");
    assert_eq!(body["example"], json!({ "order_id": "ord_1", "items": 2 }));
    assert_eq!(body["schema"]["required"], json!(["order_id"]));
    assert_eq!(body["archived"], false);

    // Data that breaks the schema is refused with the reason, and nothing is stored.
    let (status, refused) = publish(&app, &key, json!({ "order_id": 42 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("schema of order.shipped") && message.contains("/order_id"),
        "{message}"
    );
    assert_eq!(refused["error"]["fields"][0]["field"], "data");
    let (status, refused) = publish(&app, &key, json!({ "items": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"order_id\" is a required property"),
        "{refused}"
    );
    assert_eq!(events_of(&pool, "order.shipped").await, 0);
    let (status, _) = publish(&app, &key, json!({ "order_id": "ord_9", "items": 3 })).await;
    assert_eq!(status, StatusCode::CREATED);

    // Without its schema, the type takes any data.
    let patched = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/order.shipped",
            &key,
            &json!({ "schema": null }),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["schema"], Value::Null);
    assert_eq!(
        patched["description"], "An order left the warehouse.",
        "kept"
    );
    assert_eq!(
        publish(&app, &key, json!({ "order_id": 42 })).await.0,
        StatusCode::CREATED
    );

    // Archived: refused, while its events stay and the log still offers it as a filter. (A
    // type with history cannot be deleted.)
    let deleted = app
        .send(Method::DELETE, "/api/v1/event-types/order.shipped", &key)
        .await;
    assert_eq!(deleted.status(), StatusCode::CONFLICT);
    let archived = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/order.shipped",
            &key,
            &json!({ "archived": true }),
        )
        .await;
    assert_eq!(archived.status(), StatusCode::OK);
    let (status, refused) = publish(&app, &key, json!({ "order_id": "ord_10" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("archived"),
        "{refused}"
    );
    assert_eq!(events_of(&pool, "order.shipped").await, 2);
    let one = app
        .get_json("/api/v1/event-types/order.shipped", &key)
        .await;
    assert_eq!(one["archived"], true);
    let choices = db::log::filter_choices(&pool).await.unwrap();
    assert!(choices.event_types.contains(&"order.shipped".to_string()));
    assert_eq!(choices.archived_event_types, ["order.shipped"]);

    // Restored: accepted again.
    let restored = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/order.shipped",
            &key,
            &json!({ "archived": false }),
        )
        .await;
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(
        publish(&app, &key, json!({ "order_id": "ord_11" })).await.0,
        StatusCode::CREATED
    );

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target = 'order.shipped' ORDER BY created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "event_type.create",
            "event_type.update",
            "event_type.update",
            "event_type.archive",
            "event_type.update",
            "event_type.restore"
        ]
    );
}

#[sqlx::test]
async fn unusable_types_are_refused_with_the_field_and_the_reason(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key(&pool, &[Scope::Manage]).await;
    let before = db::event_types::names(&pool).await.unwrap();
    let with = |patch: Value| {
        let mut body = order_shipped();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, field, says) in [
        (
            with(json!({ "name": "Order Shipped" })),
            "name",
            "lowercase words",
        ),
        (
            with(json!({ "name": "user.created" })),
            "name",
            "already in the catalog",
        ),
        (
            with(json!({ "schema": { "type": 12 } })),
            "schema",
            "Not a usable JSON Schema",
        ),
        (with(json!({ "schema": [1] })), "schema", "is an object"),
        // A reference to another document is not fetched: the schema is refused.
        (
            with(json!({ "schema": { "$ref": "http://127.0.0.1:9/schema.json" } })),
            "schema",
            "Not a usable JSON Schema",
        ),
        (
            with(json!({ "example": { "order_id": 1 } })),
            "example",
            "does not match the schema",
        ),
    ] {
        let response = app
            .send_json(Method::POST, "/api/v1/event-types", &key, &body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["fields"][0]["field"], field, "{error}");
        assert!(
            error["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{error}"
        );
    }
    assert_eq!(db::event_types::names(&pool).await.unwrap(), before);

    let unknown = app
        .send(Method::GET, "/api/v1/event-types/no.such", &key)
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let test_type = app
        .send(Method::DELETE, "/api/v1/event-types/webhook.test", &key)
        .await;
    assert_eq!(test_type.status(), StatusCode::CONFLICT);
    let renamed = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/user.created",
            &key,
            &json!({ "colour": "red" }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::BAD_REQUEST, "unknown field");
    let renamed = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/user.created",
            &key,
            &json!({ "name": "user.made" }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        db::event_types::get(&pool, "user.made")
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test]
async fn only_a_type_nothing_used_can_be_deleted(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key(&pool, &[Scope::Publish, Scope::Manage]).await;
    let typo = json!({ "name": "order.shiped" });
    let created = app
        .send_json(Method::POST, "/api/v1/event-types", &key, &typo)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let deleted = app
        .send(Method::DELETE, "/api/v1/event-types/order.shiped", &key)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(Method::GET, "/api/v1/event-types/order.shiped", &key)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // Published once, or subscribed to: it has history, so it stays (archive it instead).
    let event = json!({ "type": "user.deleted", "data": {} });
    let published = app
        .send_json(Method::POST, "/api/v1/events", &key, &event)
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);
    let webhook = json!({ "name": "Files", "url": "https://files.example.com/h", "event_types": ["file.uploaded"] });
    let subscribed = app
        .send_json(Method::POST, "/api/v1/webhooks", &key, &webhook)
        .await;
    assert_eq!(subscribed.status(), StatusCode::CREATED);
    for name in ["user.deleted", "file.uploaded", "webhook.test"] {
        let refused = app
            .send(Method::DELETE, &format!("/api/v1/event-types/{name}"), &key)
            .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{name}");
        assert!(db::event_types::get(&pool, name).await.unwrap().is_some());
    }
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target = 'order.shiped' ORDER BY created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actions, ["event_type.create", "event_type.delete"]);
}

#[sqlx::test]
async fn a_megabyte_that_breaks_the_schema_gets_a_short_reason(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = key(&pool, &[Scope::Publish, Scope::Manage]).await;
    let mut body = order_shipped();
    body["schema"]["properties"]["order_id"]["maxLength"] = json!(10);
    let created = app
        .send_json(Method::POST, "/api/v1/event-types", &key, &body)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let huge = "\u{202e}<script>".repeat(40_000);
    let (status, refused) = publish(&app, &key, json!({ "order_id": huge })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.chars().count() < 400, "{} chars", message.len());
    assert!(message.contains("/order_id"), "{message}");
}

#[sqlx::test]
async fn reading_needs_read_and_changing_needs_manage(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let read = key(&pool, &[Scope::Read]).await;
    let publish_only = key(&pool, &[Scope::Publish]).await;
    let list = app.get_json("/api/v1/event-types", &read).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"user.created") && names.contains(&"webhook.test"));
    assert_eq!(
        app.send(Method::GET, "/api/v1/event-types", &publish_only)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    for (method, path) in [
        (Method::POST, "/api/v1/event-types"),
        (Method::PATCH, "/api/v1/event-types/user.created"),
        (Method::DELETE, "/api/v1/event-types/user.created"),
    ] {
        let refused = app.send_json(method, path, &read, &order_shipped()).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let untouched = app
        .get_json("/api/v1/event-types/user.created", &read)
        .await;
    assert_eq!(untouched["archived"], false);
}

#[sqlx::test]
async fn an_admin_manages_the_catalog_from_the_portal(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool.clone()).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let saved = app
        .call(
            "save_event_type",
            &[
                ("name", "invoice.voided"),
                ("description", "An invoice was voided."),
                ("example", r#"{"invoice_id":"inv_1"}"#),
                ("schema", r#"{"type":"object","required":["invoice_id"]}"#),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let stored = db::event_types::get(&pool, "invoice.voided")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.description, "An invoice was voided.");
    assert!(stored.schema.unwrap().contains("invoice_id"));

    let page = get_page(&app, "/admin/event-types", Some(&cookie)).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("invoice.voided") && html.contains("JSON Schema"));

    let archived = app
        .call(
            "set_event_type_archived",
            &[("name", "invoice.voided"), ("archived", "true")],
            Some(&cookie),
        )
        .await;
    assert_eq!(archived.status(), StatusCode::OK);
    let rules = db::event_types::publish_rules(&pool, "invoice.voided")
        .await
        .unwrap()
        .unwrap();
    assert!(rules.archived);
}

/// PostgreSQL's text holds no NUL: a field with one is refused by name (422), never a 500,
/// and nothing is stored.
#[sqlx::test]
async fn a_nul_in_a_text_field_is_refused_by_name_not_a_server_error(pool: PgPool) {
    create_user(&pool, "owner@test.dev", "owner-password", Role::Owner).await;
    let app = spawn_app(pool.clone()).await;
    let key = key(&pool, &[Scope::Manage]).await;
    for (path, body, field) in [
        (
            "/api/v1/event-types",
            json!({ "name": "a.b", "description": "x\u{0}y" }),
            "description",
        ),
        (
            "/api/v1/webhooks",
            json!({ "name": "x\u{0}", "url": "https://a.example/h" }),
            "name",
        ),
        (
            "/api/v1/webhooks",
            json!({ "name": "Hooks", "url": "https://a.example/h", "description": "\u{0}" }),
            "description",
        ),
    ] {
        let response = app.send_json(Method::POST, path, &key, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["fields"][0]["field"], field, "{error}");
        assert!(
            error["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("NUL")
        );
    }
    let cookie = session_cookie(&app, "owner@test.dev", "owner-password").await;
    let named = app
        .call("create_api_key", &[("name", "k\u{0}")], Some(&cookie))
        .await;
    assert_eq!(named.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM endpoints) + (SELECT count(*) FROM event_types WHERE name = 'a.b')
              + (SELECT count(*) FROM api_keys WHERE name LIKE 'k%')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);
}
