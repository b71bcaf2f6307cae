//! Webhook endpoints as admins edit them: the form's fields, their validation (field-level
//! messages), and the view the list page shows.

use super::retry::parse_schedule;
use super::signing::SignatureScheme;
use super::webhook::{check_custom_header, is_mask};
use crate::field::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the endpoint form (and the REST API) submits. Text fields as typed; validation turns
/// them into [`EndpointSettings`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointForm {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Subscribed types; empty = every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// One `Name: value` per line.
    #[serde(default)]
    pub custom_headers: String,
    /// e.g. `1m,5m,25m`; empty = the server's schedule.
    #[serde(default)]
    pub retry_schedule: String,
    #[serde(default)]
    pub timeout_ms: String,
    #[serde(default)]
    pub rate_limit_per_sec: String,
    #[serde(default)]
    pub max_in_flight: String,
    #[serde(default)]
    pub signature_scheme: String,
}

/// Validated settings, ready to store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointSettings {
    pub name: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub custom_headers: Vec<(String, String)>,
    pub retry_schedule_secs: Option<Vec<i32>>,
    pub timeout_ms: Option<i32>,
    pub rate_limit_per_sec: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub signature_scheme: SignatureScheme,
}

/// Checks every field; all problems are reported at once, each next to its field.
/// `known_types` is the event-type catalog.
pub fn validate(
    form: &EndpointForm,
    allow_http: bool,
    known_types: &[String],
) -> Result<EndpointSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    // Lengths count what was sent, as the API's document states them; surrounding spaces are
    // then dropped.
    let name = form.name.trim().to_string();
    if name.is_empty() || form.name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "Give the webhook a name of 1 to 100 characters",
        ));
    }
    for (field, text) in [("name", &form.name), ("description", &form.description)] {
        if super::text::has_nul(text) {
            errors.push(FieldError::new(field, super::text::NO_NUL));
        }
    }
    let url = form.url.trim().to_string();
    let checked = match form.url.chars().count() {
        0..=2000 => check_url(&url, allow_http),
        _ => Err("Keep the URL under 2000 characters".to_string()),
    };
    if let Err(problem) = checked {
        errors.push(FieldError::new("url", problem));
    }
    let description = form.description.trim().to_string();
    if form.description.chars().count() > 1000 {
        errors.push(FieldError::new(
            "description",
            "Keep the description under 1000 characters",
        ));
    }
    let mut event_types: Vec<String> = form
        .event_types
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    event_types.sort();
    event_types.dedup();
    if let Some(unknown) = event_types.iter().find(|t| !known_types.contains(t)) {
        errors.push(FieldError::new(
            "event_types",
            format!("{unknown} is not in the event-type catalog"),
        ));
    }
    let custom_headers = match parse_headers(&form.custom_headers) {
        Ok(headers) => headers,
        Err(problem) => {
            errors.push(FieldError::new("custom_headers", problem));
            Vec::new()
        }
    };
    let retry_schedule_secs = match parse_schedule(&form.retry_schedule) {
        Ok(s) if s.is_empty() => None,
        Ok(s) if s.len() > 20 => {
            errors.push(FieldError::new("retry_schedule", "At most 20 retries"));
            None
        }
        Ok(s) => Some(
            s.iter()
                .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
                .collect(),
        ),
        Err(problem) => {
            errors.push(FieldError::new("retry_schedule", problem));
            None
        }
    };
    let timeout_ms = optional_number(
        &form.timeout_ms,
        "timeout_ms",
        100,
        60_000,
        "Timeout is 100 to 60000 ms",
        &mut errors,
    );
    let rate_limit_per_sec = optional_number(
        &form.rate_limit_per_sec,
        "rate_limit_per_sec",
        1,
        10_000,
        "Rate limit is 1 to 10000 requests per second",
        &mut errors,
    );
    let max_in_flight = optional_number(
        &form.max_in_flight,
        "max_in_flight",
        1,
        1000,
        "Concurrency is 1 to 1000 requests",
        &mut errors,
    );
    let signature_scheme = match form.signature_scheme.trim() {
        "" => SignatureScheme::default(),
        other => SignatureScheme::parse(other).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "signature_scheme",
                "Choose timestamped, body or off",
            ));
            SignatureScheme::default()
        }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EndpointSettings {
        name,
        url,
        description,
        event_types,
        custom_headers,
        retry_schedule_secs,
        timeout_ms,
        rate_limit_per_sec,
        max_in_flight,
        signature_scheme,
    })
}

fn optional_number(
    text: &str,
    field: &str,
    min: i32,
    max: i32,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i32>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// Whether an endpoint takes an attempt: automatic attempts need it enabled; an admin's
/// manual, bulk or test attempt goes to a disabled one too (to check it before enabling it
/// again). A deleted endpoint gets nothing.
pub fn accepts(deleted: bool, enabled: bool, trigger: crate::attempt::Trigger) -> bool {
    !deleted && (enabled || trigger != crate::attempt::Trigger::Auto)
}

/// An endpoint URL: absolute http(s) with a host, HTTPS unless plain HTTP is allowed.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !allow_http {
            return Err("Use an https:// URL (plain http is turned off on this server)".into());
        }
        rest
    } else {
        return Err("Enter a full URL starting with https://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || url.len() > 2000
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("Enter a valid URL with a host name".into());
    }
    if host.contains('@') {
        return Err("Put credentials in a custom header, not in the URL".into());
    }
    Ok(())
}

/// `Name: value` lines into pairs, refusing reserved names and malformed lines.
pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("\"{line}\": write headers as Name: value"))?;
        let (name, value) = (name.trim(), value.trim());
        check_custom_header(name, value)?;
        headers.push((name.to_string(), value.to_string()));
    }
    if headers.len() > 20 {
        return Err("At most 20 custom headers".into());
    }
    Ok(headers)
}

/// Headers back to the form's text, one `Name: value` per line.
pub fn headers_text(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The headers to store from a submitted list: a value sent back masked keeps the value
/// stored under that name.
pub fn keep_masked(
    submitted: &[(String, String)],
    stored: &[(String, String)],
) -> Vec<(String, String)> {
    submitted
        .iter()
        .map(|(name, value)| {
            let kept = stored
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .filter(|_| is_mask(value))
                .map(|(_, v)| v.clone());
            (name.clone(), kept.unwrap_or_else(|| value.clone()))
        })
        .collect()
}

/// Success and latency figures over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Health {
    pub succeeded: i64,
    pub failed: i64,
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
}

impl Health {
    /// Success rate in percent, `None` without attempts.
    pub fn success_rate(&self) -> Option<f64> {
        let total = self.succeeded + self.failed;
        (total > 0).then(|| 100.0 * self.succeeded as f64 / total as f64)
    }
}

/// An endpoint as the list, the edit form and the API show it. Custom header values are
/// masked ([`mask_value`](super::webhook::mask_value)); only the audited reveal gives them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EndpointView {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Name and masked value of each custom header.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub custom_headers: Vec<(String, String)>,
    pub retry_schedule_secs: Option<Vec<i32>>,
    pub timeout_ms: Option<i32>,
    pub rate_limit_per_sec: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub signature_scheme: SignatureScheme,
    pub rotation_ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub day: Health,
    pub week: Health,
    /// Attempts per hour over the last 24 hours, oldest first: (succeeded, failed).
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<i64>>))]
    pub hourly: Vec<(i64, i64)>,
}

impl EndpointView {
    /// The form pre-filled for editing (credentials in custom headers masked).
    pub fn to_form(&self) -> EndpointForm {
        EndpointForm {
            name: self.name.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: self.event_types.clone(),
            custom_headers: headers_text(&self.custom_headers),
            retry_schedule: self
                .retry_schedule_secs
                .as_ref()
                .map(|s| {
                    s.iter()
                        .map(|n| format!("{n}s"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            timeout_ms: self.timeout_ms.map(|n| n.to_string()).unwrap_or_default(),
            rate_limit_per_sec: self
                .rate_limit_per_sec
                .map(|n| n.to_string())
                .unwrap_or_default(),
            max_in_flight: self
                .max_in_flight
                .map(|n| n.to_string())
                .unwrap_or_default(),
            signature_scheme: self.signature_scheme.as_str().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::Trigger;

    #[test]
    fn a_disabled_endpoint_takes_only_an_admins_attempts_and_a_deleted_one_none() {
        let all = [Trigger::Auto, Trigger::Manual, Trigger::Bulk, Trigger::Test];
        for trigger in all {
            assert!(
                accepts(false, true, trigger),
                "{trigger:?} to an enabled endpoint"
            );
            assert!(
                !accepts(true, true, trigger),
                "{trigger:?} to a deleted endpoint"
            );
            assert!(
                !accepts(true, false, trigger),
                "{trigger:?} to a deleted, disabled one"
            );
        }
        assert!(!accepts(false, false, Trigger::Auto));
        for trigger in [Trigger::Manual, Trigger::Bulk, Trigger::Test] {
            assert!(
                accepts(false, false, trigger),
                "{trigger:?} to a disabled endpoint"
            );
        }
    }

    fn types() -> Vec<String> {
        vec!["user.created".to_string(), "payment.failed".to_string()]
    }

    fn form() -> EndpointForm {
        EndpointForm {
            name: "Billing".into(),
            url: "https://billing.example.com/hooks".into(),
            ..EndpointForm::default()
        }
    }

    fn fields(form: &EndpointForm) -> Vec<String> {
        match validate(form, false, &types()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn lengths_are_allowed_up_to_their_limit_and_no_further() {
        let name = |n: usize| EndpointForm {
            name: "n".repeat(n),
            ..form()
        };
        assert!(fields(&name(100)).is_empty());
        assert_eq!(fields(&name(101)), ["name"]);
        let description = |n: usize| EndpointForm {
            description: "d".repeat(n),
            ..form()
        };
        assert!(fields(&description(1000)).is_empty());
        assert_eq!(fields(&description(1001)), ["description"]);
        let url = |n: usize| {
            let base = "https://example.com/";
            EndpointForm {
                url: format!("{base}{}", "u".repeat(n - base.len())),
                ..form()
            }
        };
        assert!(fields(&url(2000)).is_empty());
        assert_eq!(fields(&url(2001)), ["url"]);
        assert!(check_url(&url(2000).url, false).is_ok());
        assert!(check_url(&url(2001).url, false).is_err());
    }

    #[test]
    fn a_retry_schedule_has_at_most_twenty_steps() {
        let schedule = |n: usize| EndpointForm {
            retry_schedule: vec!["1m"; n].join(","),
            ..form()
        };
        let twenty = validate(&schedule(20), false, &types()).unwrap();
        assert_eq!(twenty.retry_schedule_secs, Some(vec![60; 20]));
        let one = validate(&schedule(1), false, &types()).unwrap();
        assert_eq!(one.retry_schedule_secs, Some(vec![60]));
        assert_eq!(fields(&schedule(21)), ["retry_schedule"]);
    }

    #[test]
    fn numbers_are_taken_at_both_ends_of_their_range() {
        let limits = |timeout: &str, rate: &str, cap: &str| EndpointForm {
            timeout_ms: timeout.into(),
            rate_limit_per_sec: rate.into(),
            max_in_flight: cap.into(),
            ..form()
        };
        let low = validate(&limits("100", "1", "1"), false, &types()).unwrap();
        assert_eq!(
            (low.timeout_ms, low.rate_limit_per_sec, low.max_in_flight),
            (Some(100), Some(1), Some(1))
        );
        let high = validate(&limits("60000", "10000", "1000"), false, &types()).unwrap();
        assert_eq!(
            (high.timeout_ms, high.rate_limit_per_sec, high.max_in_flight),
            (Some(60_000), Some(10_000), Some(1000))
        );
        assert_eq!(
            fields(&limits("99", "0", "1001")),
            ["timeout_ms", "rate_limit_per_sec", "max_in_flight"]
        );
    }

    #[test]
    fn at_most_twenty_custom_headers() {
        let lines = |n: usize| {
            (0..n)
                .map(|i| format!("X-Team-{i}: a\n"))
                .collect::<String>()
        };
        assert_eq!(parse_headers(&lines(20)).unwrap().len(), 20);
        assert!(parse_headers(&lines(21)).is_err());
    }

    #[test]
    fn the_edit_form_of_an_endpoint_saves_it_unchanged() {
        let view = EndpointView {
            id: Uuid::nil(),
            name: "Billing".into(),
            url: "https://billing.example.com/hooks".into(),
            description: "Invoices".into(),
            event_types: vec!["payment.failed".into(), "user.created".into()],
            enabled: true,
            disabled_reason: None,
            custom_headers: vec![("X-Team".into(), "billing".into())],
            retry_schedule_secs: Some(vec![60, 300]),
            timeout_ms: Some(2500),
            rate_limit_per_sec: Some(50),
            max_in_flight: Some(4),
            signature_scheme: SignatureScheme::Body,
            rotation_ends_at: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            day: Health::default(),
            week: Health::default(),
            hourly: Vec::new(),
        };
        let saved = validate(&view.to_form(), false, &types()).unwrap();
        assert_eq!(
            saved,
            EndpointSettings {
                name: view.name.clone(),
                url: view.url.clone(),
                description: view.description.clone(),
                event_types: view.event_types.clone(),
                custom_headers: view.custom_headers.clone(),
                retry_schedule_secs: view.retry_schedule_secs.clone(),
                timeout_ms: view.timeout_ms,
                rate_limit_per_sec: view.rate_limit_per_sec,
                max_in_flight: view.max_in_flight,
                signature_scheme: view.signature_scheme,
            }
        );
    }

    #[test]
    fn a_minimal_form_is_valid() {
        let settings = validate(&form(), false, &types()).unwrap();
        assert_eq!(settings.signature_scheme, SignatureScheme::Timestamped);
        assert_eq!(settings.retry_schedule_secs, None);
        assert!(settings.event_types.is_empty());
    }

    #[test]
    fn every_bad_field_is_reported_next_to_itself() {
        let bad = EndpointForm {
            name: " ".into(),
            url: "http://plain.example.com".into(),
            event_types: vec!["no.such".into()],
            custom_headers: "Content-Type: text/plain".into(),
            retry_schedule: "5x".into(),
            timeout_ms: "5".into(),
            signature_scheme: "md5".into(),
            ..EndpointForm::default()
        };
        let errors = validate(&bad, false, &types()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "url",
                "event_types",
                "custom_headers",
                "retry_schedule",
                "timeout_ms",
                "signature_scheme"
            ]
        );
        assert!(errors[3].message.contains("cannot be overridden"));
        assert!(
            validate(
                &EndpointForm {
                    url: "http://plain.example.com".into(),
                    ..form()
                },
                true,
                &types()
            )
            .is_ok()
        );
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert!(check_url("https://a.example/x?y=1", false).is_ok());
        assert!(check_url("ftp://a.example", true).is_err());
        assert!(check_url("https://", false).is_err());
        assert!(
            check_url("https://user:pw@a.example", false)
                .unwrap_err()
                .contains("credentials")
        );
        assert!(check_url("https://a.example/with space", false).is_err());
    }

    #[test]
    fn headers_parse_and_print() {
        let headers = parse_headers("X-Tenant: acme\n\nAuthorization: Bearer abc").unwrap();
        assert_eq!(
            headers,
            vec![
                ("X-Tenant".into(), "acme".into()),
                ("Authorization".into(), "Bearer abc".into())
            ]
        );
        assert_eq!(
            headers_text(&headers),
            "X-Tenant: acme\nAuthorization: Bearer abc"
        );
        let stored = vec![("Authorization".to_string(), "Bearer abc".to_string())];
        let submitted = vec![
            ("authorization".to_string(), "••••".to_string()),
            ("X-New".to_string(), "v".to_string()),
        ];
        assert_eq!(
            keep_masked(&submitted, &stored),
            vec![
                ("authorization".to_string(), "Bearer abc".to_string()),
                ("X-New".to_string(), "v".to_string())
            ]
        );
        assert!(parse_headers("no colon here").is_err());
    }

    #[test]
    fn success_rate_needs_attempts() {
        assert_eq!(Health::default().success_rate(), None);
        assert_eq!(
            Health {
                succeeded: 3,
                failed: 1,
                ..Health::default()
            }
            .success_rate(),
            Some(75.0)
        );
    }
}
