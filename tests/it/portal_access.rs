//! The portal over real HTTP against a real PostgreSQL: sign-in, sessions and the role guard
//! on pages and on server functions.

use crate::helpers::*;
use herald::domain::role::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use sqlx::PgPool;

#[sqlx::test]
async fn anonymous_visitors_are_sent_to_login(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = get_page(&app, "/admin/webhook-deliveries", None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert_eq!(location, "/login?next=%2Fadmin%2Fwebhook-deliveries");

    let call = app.call("delivery_log", &[("view", "")], None).await;
    assert_eq!(call.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn an_admin_sees_real_rows(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    delivery_fixture(&pool, "Orders service", "failed", Some(503)).await;
    let app = spawn_app(pool).await;

    let login = sign_in(&app, "admin@test.dev", "admin-password").await;
    assert_eq!(login.status(), StatusCode::FOUND);
    assert_eq!(login.headers()[LOCATION], "/admin/webhook-deliveries");
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;

    let page = get_page(&app, "/admin/webhook-deliveries", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    // The row itself, not the endpoint filter's options, must show the delivery.
    let start = html
        .find(r#"data-testid="delivery-row""#)
        .expect("a delivery row");
    let row = &html[start..start + html[start..].find("</tr>").expect("the row ends")];
    assert!(row.contains("Orders service"), "{row}");
    let response = row
        .split(r#"data-testid="response""#)
        .nth(1)
        .expect("a response cell");
    let shown = &response[response.find('>').unwrap() + 1..];
    assert!(shown.starts_with("503<"), "{row}");
    assert!(row.contains(r#"data-status="failed""#), "{row}");
}

#[sqlx::test]
async fn wrong_password_and_unknown_email_get_the_same_answer(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool).await;
    let headers = [("accept", "application/json")];
    let mut answers = Vec::new();
    for (email, password) in [
        ("admin@test.dev", "wrong-password"),
        ("nobody@test.dev", "admin-password"),
    ] {
        let mut request = app
            .client
            .post(app.url("/api/login"))
            .form(&[("email", email), ("password", password)]);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert!(response.headers().get("set-cookie").is_none());
        answers.push((response.status(), response.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(
        answers[0].1.contains("InvalidCredentials"),
        "{}",
        answers[0].1
    );
}

#[sqlx::test]
async fn members_are_refused_pages_and_server_functions(pool: PgPool) {
    create_user(&pool, "member@test.dev", "member-password", Role::Member).await;
    delivery_fixture(&pool, "Secret endpoint", "succeeded", Some(200)).await;
    let app = spawn_app(pool.clone()).await;
    let cookie = session_cookie(&app, "member@test.dev", "member-password").await;

    let page = get_page(&app, "/admin/webhook-deliveries", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("Admin or higher role required"));
    assert!(
        !html.contains("Secret endpoint"),
        "no data reaches a member"
    );

    let call = app
        .call("delivery_log", &[("view", "")], Some(&cookie))
        .await;
    assert_eq!(call.status(), StatusCode::FORBIDDEN);
    assert!(!call.text().await.unwrap().contains("Secret endpoint"));

    // The functions the pages' islands call check the role themselves too.
    let (_, delivery) = delivery_fixture(&pool, "Other endpoint", "failed", Some(500)).await;
    let id = delivery.to_string();
    for (function, form) in [
        ("delivery_progress", vec![("id", id.as_str())]),
        ("newer_count", vec![("view", ""), ("top", id.as_str())]),
        ("api_key_table", vec![]),
    ] {
        let call = app
            .client
            .post(app.url(&format!("/api/{function}")))
            .form(&form)
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(call.status(), StatusCode::FORBIDDEN, "{function}");
    }
}

#[sqlx::test]
async fn signing_out_ends_the_session(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool.clone()).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let out = app
        .client
        .post(app.url("/api/logout"))
        .header(COOKIE, &cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::FOUND);
    assert_eq!(out.headers()[LOCATION], "/login");
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "the cookie is cleared"
    );
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    let call = app
        .call("delivery_log", &[("view", "")], Some(&cookie))
        .await;
    assert_eq!(call.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn writes_to_the_portal_must_come_from_its_own_origin_and_host(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool).await;
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = app.base.clone();
    let scheme_swapped = base.replace("http://", "https://");
    let sign_in = |headers: Vec<(&'static str, String)>| {
        let mut request = bare
            .post(format!("{base}/api/login"))
            .header("accept", "text/html")
            .form(&[("email", "admin@test.dev"), ("password", "admin-password")]);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let refused: Vec<(&str, Vec<(&'static str, String)>)> = vec![
        ("no Origin, Referer or Sec-Fetch-Site", vec![]),
        (
            "another site",
            vec![("origin", "https://evil.example".into())],
        ),
        (
            "the same host by another scheme",
            vec![("origin", scheme_swapped)],
        ),
        ("an opaque origin", vec![("origin", "null".into())]),
        (
            "a cross-site fetch",
            vec![("sec-fetch-site", "cross-site".into())],
        ),
        (
            "a look-alike referer",
            vec![("referer", format!("{base}.evil.example/"))],
        ),
    ];
    for (what, headers) in refused {
        let response = sign_in(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(response.headers().get("set-cookie").is_none(), "{what}");
    }
    let accepted: Vec<(&str, Vec<(&'static str, String)>)> = vec![
        ("its Origin", vec![("origin", base.clone())]),
        (
            "a Referer on it",
            vec![("referer", format!("{base}/login"))],
        ),
        (
            "a same-origin fetch",
            vec![("sec-fetch-site", "same-origin".into())],
        ),
    ];
    for (what, headers) in accepted {
        let response = sign_in(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{what}");
    }

    // Any other Host is refused on the portal (a rebound DNS name cannot reach it).
    let rebound = bare
        .get(format!("{base}/login"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
    // The REST API and health checks are not the portal: keys, not cookies.
    let health = bare
        .get(format!("{base}/healthz"))
        .header("host", "10.0.0.7:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // The demo receiver is not on the portal's origin.
    let demo = get_page(&app, "/demo/receiver/_requests", None).await;
    assert_eq!(demo.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_next_address_that_is_no_header_value_goes_to_the_log(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool).await;
    for next in [
        "/admin\u{7f}",
        "/admin\r\nSet-Cookie: a=b",
        "//evil.example",
        "/admin/ok?x=1",
    ] {
        let response = app
            .client
            .post(app.url("/api/login"))
            .header("accept", "text/html")
            .form(&[
                ("email", "admin@test.dev"),
                ("password", "admin-password"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
        let expected = if next == "/admin/ok?x=1" {
            next
        } else {
            "/admin/webhook-deliveries"
        };
        assert_eq!(response.headers()[LOCATION], expected, "{next:?}");
    }
}

#[sqlx::test]
async fn sign_in_is_recorded_in_the_audit_log(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool.clone()).await;
    session_cookie(&app, "admin@test.dev", "admin-password").await;
    let (actor, action): (String, String) = sqlx::query_as("SELECT actor, action FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("admin@test.dev", "user.sign_in")
    );
    let last_login: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_login_at FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(last_login.is_some());
}

/// One sign-in from the address `from` (as a trusted proxy on loopback names it).
async fn sign_in_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .header("x-forwarded-for", from)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Guessers fire bursts of parallel sign-ins. Each try is counted before its password hash, so
/// no more than 10 ever reach the check (the rest are 429 at once); the owner's right password
/// from the guessers' address waits too, but the owner at their own address signs in.
#[sqlx::test]
async fn a_burst_of_guesses_is_capped_and_cannot_lock_the_owner_out(pool: PgPool) {
    create_user(&pool, "owner@test.dev", "owner-password", Role::Owner).await;
    let app = std::sync::Arc::new(spawn_app(pool).await);
    let attacker = "203.0.113.66";
    let mut checked = 0;
    for burst in 0..3 {
        let mut tries = tokio::task::JoinSet::new();
        for n in 0..20 {
            let app = app.clone();
            tries.spawn(async move {
                let guess = format!("guess-{burst}-{n}");
                sign_in_from(&app, attacker, "owner@test.dev", &guess)
                    .await
                    .status()
            });
        }
        while let Some(status) = tries.join_next().await {
            match status.unwrap() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected answer {other}"),
            }
        }
    }
    assert!(
        (1..=10).contains(&checked),
        "{checked} guesses reached the password check"
    );
    if checked < 10 {
        // Bursts met busy hash slots; finish the count one by one.
        for _ in checked..10 {
            let answer = sign_in_from(&app, attacker, "owner@test.dev", "guess").await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let throttled = sign_in_from(&app, attacker, "owner@test.dev", "owner-password").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().get("set-cookie").is_none());

    let owner = sign_in_from(&app, "198.51.100.1", "owner@test.dev", "owner-password").await;
    assert!(
        owner.headers().get("set-cookie").is_some(),
        "the owner at their own address is not locked out: {}",
        owner.status()
    );
    let stranger = app
        .client
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .form(&[("email", "owner@test.dev"), ("password", "owner-password")])
        .send()
        .await
        .unwrap();
    assert!(
        stranger.headers().get("set-cookie").is_some(),
        "a proxy's own address ({}) is not the attacker's",
        stranger.status()
    );
}

/// "Sign out elsewhere" ends the user's other sessions and keeps the one that asked.
#[sqlx::test]
async fn signing_out_elsewhere_keeps_only_this_session(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    create_user(&pool, "other@test.dev", "other-password", Role::Admin).await;
    let app = spawn_app(pool.clone()).await;
    let laptop = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let phone = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let colleague = session_cookie(&app, "other@test.dev", "other-password").await;
    let call = app.call("sign_out_others", &[], Some(&laptop)).await;
    assert!(
        call.status().is_success() || call.status().is_redirection(),
        "{}",
        call.status()
    );
    for (cookie, alive) in [(&laptop, true), (&phone, false), (&colleague, true)] {
        let page = get_page(&app, "/admin/webhook-deliveries", Some(cookie)).await;
        assert_eq!(
            page.status() == StatusCode::OK,
            alive,
            "{cookie}: {}",
            page.status()
        );
    }
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.sign_out_others'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    let anonymous = app.call("sign_out_others", &[], None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Calls the log's server function as the live log does.
async fn log_fragment(app: &TestApp, cookie: &str, view: &str) -> serde_json::Value {
    let response = app
        .client
        .post(app.url("/api/delivery_log"))
        .header(COOKIE, cookie)
        .header("accept", "application/json")
        .form(&[("view", view), ("with_form", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[sqlx::test]
async fn the_log_function_renders_the_view_it_is_asked_for(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    delivery_fixture(&pool, "Orders service", "failed", Some(503)).await;
    delivery_fixture(&pool, "Billing", "succeeded", Some(200)).await;
    let app = spawn_app(pool).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;

    // Untidy input (empty fields, a bogus value) comes back as the tidy view.
    let log = log_fragment(&app, &cookie, "?q=&status=failed&code=9xx").await;
    assert_eq!(log["view"], "?status=failed");
    let results = log["results"].as_str().unwrap();
    assert!(results.contains("Orders service") && results.contains("503"));
    assert!(!results.contains("Billing"), "the filter applies");
    let filters = log["filters"].as_str().unwrap();
    assert!(
        filters.contains(r#"<option value="failed" selected"#),
        "{filters}"
    );
}

#[sqlx::test]
async fn what_the_log_shows_is_escaped(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let (endpoint, _) =
        delivery_fixture(&pool, "<img src=x onerror=alert(1)>", "failed", None).await;
    // The URL lands in an attribute (the cell's title).
    sqlx::query(
        r#"UPDATE endpoints SET url = 'https://x.example/"onmouseover="alert(2)' WHERE id = $1"#,
    )
    .bind(endpoint)
    .execute(&pool)
    .await
    .unwrap();
    let app = spawn_app(pool).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;

    let log = log_fragment(&app, &cookie, "").await;
    let html = format!(
        "{}{}",
        log["results"].as_str().unwrap(),
        log["filters"].as_str().unwrap()
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains(r#"title="https://x.example/&quot;onmouseover=&quot;alert(2)""#),
        "{html}"
    );
    assert!(!html.contains(r#"title="https://x.example/"onmouseover"#));
}

#[sqlx::test]
async fn an_untidy_view_address_is_redirected_to_the_tidy_one(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let app = spawn_app(pool).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;
    let page = get_page(
        &app,
        "/admin/webhook-deliveries?q=&status=failed&event=&endpoint=",
        Some(&cookie),
    )
    .await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(
        page.headers()[LOCATION],
        "/admin/webhook-deliveries?status=failed"
    );
}

#[sqlx::test]
async fn paging_back_to_the_newest_rows_is_the_live_first_page(pool: PgPool) {
    create_user(&pool, "admin@test.dev", "admin-password", Role::Admin).await;
    let (_, newest) = delivery_fixture(&pool, "Orders service", "failed", Some(503)).await;
    let app = spawn_app(pool).await;
    let cookie = session_cookie(&app, "admin@test.dev", "admin-password").await;

    // "← Newer" from a page whose top is just below the newest row.
    let below_newest = uuid::Uuid::from_u128(newest.as_u128() + 1).simple();
    let log = log_fragment(&app, &cookie, &format!("?cursor=b..{below_newest}")).await;
    assert_eq!(
        log["view"], "",
        "the view is the first page, without a cursor"
    );
    assert!(
        log["results"]
            .as_str()
            .unwrap()
            .contains(r#"data-live="true""#)
    );
}

#[sqlx::test]
async fn pages_carry_a_script_policy_that_their_own_scripts_satisfy(pool: PgPool) {
    let app = spawn_app(pool).await;
    let page = get_page(&app, "/login", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let policy = header("content-security-policy");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in script-src")
        .to_string();
    let html = page.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html
                .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                .count(),
        scripts,
        "every inline script carries this response's nonce"
    );
    let second = get_page(&app, "/login", None).await;
    let other = second.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(!other.contains(&nonce), "a fresh nonce per response");

    // Whatever is not a page may not run anything at all.
    let api = app
        .client
        .get(app.url("/api/v1/webhooks"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[sqlx::test]
async fn slow_or_huge_request_heads_are_cut_off(pool: PgPool) {
    use herald::server::listener::{HEADER_READ_TIMEOUT, MAX_HEAD_BYTES};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(pool).await;
    let addr = app.base.trim_start_matches("http://").to_string();

    // A head larger than the limit: 431, not buffered without end.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let padding = "x".repeat(MAX_HEAD_BYTES + 1024);
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Pad: {padding}\r\n\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A head that never ends (slow loris): the connection is closed after the timeout.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        HEADER_READ_TIMEOUT + std::time::Duration::from_secs(5),
        stream.read_to_end(&mut rest),
    )
    .await;
    assert!(closed.is_ok(), "still open after {:?}", started.elapsed());
    assert!(started.elapsed() >= HEADER_READ_TIMEOUT - std::time::Duration::from_secs(1));
}

/// The demo's test receiver never answers on the portal's origin (it has its own listener), so
/// nothing it records or serves shares the admin's cookies.
#[sqlx::test]
async fn the_test_receiver_is_not_on_the_portals_origin(pool: PgPool) {
    let app = spawn_app(pool).await;
    for path in [
        "/demo/receiver/_requests",
        "/demo/receiver/hook",
        "/_requests",
        "/_mode",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.headers().get("set-cookie").is_none());
    }
}
