//! The test receiver (`herald receiver`, and the demo's): its own listener, its control API
//! behind a token, bounded memory, and nothing it records or answers can reach the portal's
//! session.

use herald::tools::receiver::{KEPT, Mode, ModeKind, Receiver};
use reqwest::StatusCode;

async fn spawn(token: &str) -> (Receiver, String) {
    let receiver = Receiver::new(None, true).with_token(token);
    let addr = receiver.clone().spawn_local().await.unwrap();
    (receiver, format!("http://{addr}"))
}

#[tokio::test]
async fn the_control_api_needs_the_token() {
    let (_receiver, base) = spawn("s3cret-token").await;
    let client = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::GET, "/_requests"),
        (reqwest::Method::DELETE, "/_requests"),
    ] {
        let anonymous = client
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        let wrong = client
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth("s3cret-tokeN")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let mode = serde_json::json!({ "mode": "status", "status": 500 });
    let refused = client
        .put(format!("{base}/_mode"))
        .json(&mode)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let hook = client
        .post(format!("{base}/hook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), StatusCode::OK, "the mode did not change");
    let allowed = client
        .get(format!("{base}/_requests"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn it_keeps_a_bounded_amount_and_refuses_large_bodies() {
    let (receiver, base) = spawn("t").await;
    let client = reqwest::Client::new();
    for n in 0..KEPT + 20 {
        client
            .post(format!("{base}/n{n}"))
            .body("{}")
            .send()
            .await
            .unwrap();
    }
    let kept = receiver.received();
    assert_eq!(kept.len(), KEPT);
    assert_eq!(kept[0].path, "/n20", "the oldest are forgotten first");
    let huge = client
        .post(format!("{base}/big"))
        .body(vec![b'x'; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn cookies_are_not_recorded_and_never_set() {
    let (receiver, base) = spawn("t").await;
    receiver.set_mode(Mode {
        mode: ModeKind::Status,
        status: Some(200),
        body: Some("<script>alert(1)</script>".into()),
        headers: vec![
            ("set-cookie".into(), "herald_session=stolen".into()),
            ("retry-after".into(), "5".into()),
        ],
        ..Mode::default()
    });
    let answer = reqwest::Client::new()
        .post(format!("{base}/hook"))
        .header("cookie", "herald_session=the-admins-session")
        .header("authorization", "Bearer hk_someones_key")
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get("set-cookie").is_none());
    assert_eq!(answer.headers()["retry-after"], "5");
    assert_eq!(
        answer.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    let recorded = &receiver.received()[0];
    let value = |name: &str| {
        recorded
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("cookie").as_deref(), Some("(not recorded)"));
    assert_eq!(value("authorization").as_deref(), Some("(not recorded)"));
}
