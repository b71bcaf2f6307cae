//! Alerts end to end: rules over REST, the check firing once and recovering once, and both
//! channels: an operational webhook (signed, to subscribed endpoints only) and an email to an
//! SMTP sink this test runs.

use crate::dispatcher::{config, dispatcher, drain, endpoint, publish_one, receiver, status_mode};
use crate::helpers::*;
use herald::domain::alert::AlertKind;
use herald::domain::retry::RetryPolicy;
use herald::domain::role::Role;
use herald::domain::scope::Scope;
use herald::server::alerts::email::Mailer;
use herald::server::alerts::notify::Notifier;
use herald::server::alerts::{AlertCheck, Change};
use herald::server::db;
use herald::server::dispatcher::{DispatchConfig, Dispatcher};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

/// Every message an SMTP client handed over: its envelope lines, then its text.
type Mailbox = Arc<Mutex<Vec<String>>>;

/// A minimal SMTP server on loopback that keeps what it is sent.
async fn smtp_sink() -> (String, Mailbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let mails = Mailbox::default();
    let kept = mails.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(smtp_session(socket, kept.clone()));
        }
    });
    (url, mails)
}

async fn smtp_session(socket: tokio::net::TcpStream, mails: Mailbox) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let (mut envelope, mut data) = (String::new(), None::<String>);
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(text) = data.as_mut() {
            if line == "." {
                mails.lock().unwrap().push(format!("{envelope}\n{text}"));
                envelope.clear();
                data = None;
                let _ = write.write_all(b"250 queued\r\n").await;
            } else {
                text.push_str(&line);
                text.push('\n');
            }
            continue;
        }
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM") || command.starts_with("RCPT TO") {
            envelope.push_str(&line);
            envelope.push('\n');
            b"250 ok\r\n"
        } else if command == "DATA" {
            data = Some(String::new());
            b"354 go ahead\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            break;
        } else {
            b"250 ok\r\n"
        };
        let _ = write.write_all(answer).await;
    }
}

fn check(pool: &PgPool, dispatcher: &Dispatcher, smtp: Option<&str>) -> AlertCheck {
    let mailer = smtp.map(|url| Mailer::new(url, "Herald <herald@test.dev>").unwrap());
    AlertCheck {
        pool: pool.clone(),
        window: dispatcher.attempt_window(),
        notifier: Notifier {
            pool: pool.clone(),
            mailer,
        },
    }
}

fn kinds(changes: &[Change]) -> Vec<(AlertKind, bool)> {
    changes.iter().map(|c| (c.kind, c.fired)).collect()
}

async fn name(pool: &PgPool, id: Uuid, name: &str) {
    sqlx::query("UPDATE endpoints SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .unwrap();
}

async fn subscribe(pool: &PgPool, id: Uuid, types: &[&str]) {
    sqlx::query("UPDATE endpoints SET event_types = $2 WHERE id = $1")
        .bind(id)
        .bind(types)
        .execute(pool)
        .await
        .unwrap();
}

/// The operational events a receiver got: (type, data), signatures checked.
fn operational(received: &[herald::tools::receiver::Received]) -> Vec<(String, Value)> {
    received
        .iter()
        .filter_map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            let kind = body["type"].as_str()?.to_string();
            herald::domain::alert::is_operational(&kind).then(|| {
                assert_eq!(
                    r.standard_signature_valid,
                    Some(true),
                    "signed like any other"
                );
                (kind, body["data"].clone())
            })
        })
        .collect()
}

#[sqlx::test]
async fn a_failing_endpoint_fires_once_and_recovers_once_by_webhook_audit_and_email(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    create_user(&pool, "oncall@test.dev", "oncall-password", Role::Admin).await;
    let key = db::api_keys::create(&pool, "ops", &Scope::ALL, None)
        .await
        .unwrap()
        .1;
    let (billing_receiver, billing_url) = receiver().await;
    let billing = endpoint(&pool, &billing_url).await;
    name(&pool, billing, "Billing").await;
    let (ops_receiver, ops_url) = receiver().await;
    let ops = endpoint(&pool, &ops_url).await;
    subscribe(&pool, ops, &["endpoint.failing", "endpoint.recovered"]).await;
    // Takes "every type": that does not include Herald's operational events.
    let (all_receiver, all_url) = receiver().await;
    endpoint(&pool, &all_url).await;

    let rules = json!({ "min_success_rate": 50, "min_attempts": 3, "max_p95_ms": null });
    let path = format!("/api/v1/webhooks/{billing}/alert-rules");
    let saved = app.send_json(Method::PUT, &path, &key, &rules).await;
    assert_eq!(saved.status(), StatusCode::OK);

    billing_receiver.set_mode(status_mode(500));
    let dispatcher = dispatcher(&pool, config(), true);
    let (smtp, mails) = smtp_sink().await;
    let check = check(&pool, &dispatcher, Some(&smtp));
    for n in 0..3 {
        publish_one(&pool, &format!("{{\"n\":{n}}}")).await;
    }
    drain(&dispatcher).await;
    let fired = check.check().await.unwrap();
    assert_eq!(kinds(&fired), [(AlertKind::SuccessRate, true)]);
    assert!(
        fired[0].summary.contains("0 of 3 attempts succeeded"),
        "{}",
        fired[0].summary
    );
    assert!(
        check.check().await.unwrap().is_empty(),
        "fires once, however long it holds"
    );

    let listed = app.get_json("/api/v1/alerts", &key).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["rule"], "success_rate");
    assert_eq!(listed["data"][0]["endpoint_name"], "Billing");
    assert_eq!(listed["data"][0]["resolved_at"], Value::Null);

    billing_receiver.set_mode(status_mode(200));
    for n in 3..7 {
        publish_one(&pool, &format!("{{\"n\":{n}}}")).await;
    }
    drain(&dispatcher).await;
    let recovered = check.check().await.unwrap();
    assert_eq!(kinds(&recovered), [(AlertKind::SuccessRate, false)]);
    assert!(check.check().await.unwrap().is_empty(), "recovers once");
    drain(&dispatcher).await;

    let told = operational(&ops_receiver.received());
    let types: Vec<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["endpoint.failing", "endpoint.recovered"]);
    assert_eq!(told[0].1["endpoint"]["name"], "Billing");
    assert_eq!(told[0].1["rule"], "success_rate");
    assert!(operational(&all_receiver.received()).is_empty());

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails[0].contains("RCPT TO:<oncall@test.dev>"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("Subject: [Herald] Low success rate: Billing"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("0 of 3 attempts succeeded"),
        "{}",
        mails[0]
    );
    assert!(
        mails[1].contains("Subject: [Herald] Recovered (Low success rate): Billing"),
        "{}",
        mails[1]
    );

    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'alert.%' ORDER BY created_at, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(audited, ["alert.fired", "alert.recovered"]);
}

#[sqlx::test]
async fn exhausted_retries_and_a_disabled_endpoint_fire_and_recover_from_its_state(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = db::api_keys::create(&pool, "ops", &Scope::ALL, None)
        .await
        .unwrap()
        .1;
    let (hooks, url) = receiver().await;
    let id = endpoint(&pool, &url).await;
    // No retries: the first failure is the last.
    let no_retries = DispatchConfig {
        policy: RetryPolicy {
            schedule: vec![],
            ..config().policy
        },
        ..config()
    };
    let dispatcher = dispatcher(&pool, no_retries, true);
    let check = check(&pool, &dispatcher, None);

    hooks.set_mode(status_mode(500));
    publish_one(&pool, "{}").await;
    drain(&dispatcher).await;
    let fired = check.check().await.unwrap();
    assert_eq!(kinds(&fired), [(AlertKind::Exhausted, true)]);

    // A 410 disables the endpoint; the reason is what the alert says.
    hooks.set_mode(status_mode(410));
    publish_one(&pool, "{}").await;
    drain(&dispatcher).await;
    let fired = check.check().await.unwrap();
    assert_eq!(kinds(&fired), [(AlertKind::Disabled, true)]);
    assert!(
        fired[0].summary.contains("410 Gone"),
        "{}",
        fired[0].summary
    );

    // An admin enables it again, and it answers.
    let enabled = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &key,
            &json!({ "enabled": true }),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    hooks.set_mode(status_mode(200));
    publish_one(&pool, "{}").await;
    drain(&dispatcher).await;
    let mut recovered = kinds(&check.check().await.unwrap());
    recovered.sort();
    assert_eq!(
        recovered,
        [(AlertKind::Exhausted, false), (AlertKind::Disabled, false)]
    );
}

#[sqlx::test]
async fn alert_rules_over_rest_take_defaults_and_refuse_what_is_wrong_by_field(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let manage = db::api_keys::create(&pool, "ops", &Scope::ALL, None)
        .await
        .unwrap()
        .1;
    let read = db::api_keys::create(&pool, "reader", &[Scope::Read], None)
        .await
        .unwrap()
        .1;
    let id = endpoint(&pool, "https://hooks.example.com/in").await;
    let path = format!("/api/v1/webhooks/{id}/alert-rules");
    let defaults = app.get_json(&path, &read).await;
    assert_eq!(defaults["min_success_rate"], 95.0);
    assert_eq!(defaults["window_minutes"], 60);
    assert_eq!(defaults["max_p95_ms"], 5000);
    assert_eq!(defaults["email_to"], json!([]));

    let refused = app.send_json(Method::PUT, &path, &read, &json!({})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let saved = app
        .send_json(
            Method::PUT,
            &path,
            &manage,
            &json!({ "on_disabled": false, "email_to": ["ops@example.com"] }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let now = app.get_json(&path, &read).await;
    assert_eq!(now["on_disabled"], false);
    assert_eq!(now["email_to"], json!(["ops@example.com"]));
    assert_eq!(now["window_minutes"], 60, "left out: the default");

    let bad =
        json!({ "window_minutes": 2, "email_to": ["ops@example.com\r\nBcc: x@evil.example"] });
    let refused = app.send_json(Method::PUT, &path, &manage, &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["window_minutes", "email_to"]);
    assert_eq!(
        app.get_json(&path, &read).await,
        now,
        "nothing half-written"
    );

    let missing = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/webhooks/{}/alert-rules", Uuid::now_v7()),
            &manage,
            &json!({}),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn producers_cannot_publish_or_remove_herald_s_operational_types(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = db::api_keys::create(&pool, "ops", &Scope::ALL, None)
        .await
        .unwrap()
        .1;
    let forged = json!({ "type": "endpoint.disabled", "data": { "endpoint": "billing" } });
    let refused = app
        .send_json(Method::POST, "/api/v1/events", &key, &forged)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "type");
    let archive = app
        .send_json(
            Method::PATCH,
            "/api/v1/event-types/endpoint.failing",
            &key,
            &json!({ "archived": true }),
        )
        .await;
    assert_eq!(archive.status(), StatusCode::CONFLICT);
    let delete = app
        .send(
            Method::DELETE,
            "/api/v1/event-types/delivery.exhausted",
            &key,
        )
        .await;
    assert_eq!(delete.status(), StatusCode::CONFLICT);
}
