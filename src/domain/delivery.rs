//! Delivery statuses and the rows the delivery log shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DeliveryStatus {
    /// Not tried yet.
    Pending,
    /// Failed at least once; the next attempt is scheduled.
    Retrying,
    Succeeded,
    /// Retries exhausted, endpoint disabled, or a manual attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// What the portal shows (seed 003: Success / Failed / Pending).
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending | DeliveryStatus::Retrying => "Pending",
            DeliveryStatus::Succeeded => "Success",
            DeliveryStatus::Failed => "Failed",
        }
    }

    /// Whether the dispatcher still has work to do for it.
    pub fn is_open(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Retrying)
    }
}

/// One row of the delivery log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub endpoint_id: Uuid,
    pub endpoint_name: String,
    pub endpoint_url: String,
    pub endpoint_deleted: bool,
    pub status: DeliveryStatus,
    pub attempt_count: i32,
    pub response_status: Option<i16>,
    pub error_class: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// A manual, bulk or test attempt is queued (or in flight).
    pub queued: bool,
}

impl DeliveryRow {
    /// An attempt is queued, or an automatic retry is due within seconds of `now`.
    pub fn attempt_due(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open()
            && (self.queued
                || self
                    .next_attempt_at
                    .is_some_and(|at| at <= now + chrono::Duration::seconds(5)))
    }

    /// The response column: the HTTP code, else the failure class, else a dash.
    pub fn response_label(&self) -> String {
        match (self.response_status, &self.error_class) {
            (Some(code), _) => code.to_string(),
            (None, Some(class)) => class.clone(),
            (None, None) => "—".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrying_reads_as_pending_in_the_portal() {
        assert_eq!(DeliveryStatus::Retrying.label(), "Pending");
        assert_eq!(DeliveryStatus::Succeeded.label(), "Success");
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        assert!(DeliveryStatus::Retrying.is_open());
        assert!(!DeliveryStatus::Failed.is_open());
    }

    fn row(status: DeliveryStatus, queued: bool, next_in_secs: Option<i64>) -> DeliveryRow {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        DeliveryRow {
            id: Uuid::nil(),
            event_id: Uuid::nil(),
            event_type: "user.created".into(),
            endpoint_id: Uuid::nil(),
            endpoint_name: "Billing".into(),
            endpoint_url: "https://example.com".into(),
            endpoint_deleted: false,
            status,
            attempt_count: 1,
            response_status: None,
            error_class: None,
            last_attempt_at: None,
            next_attempt_at: next_in_secs.map(|s| now + chrono::Duration::seconds(s)),
            created_at: now,
            queued,
        }
    }

    #[test]
    fn an_attempt_is_due_when_queued_or_within_five_seconds() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let open = DeliveryStatus::Retrying;
        assert!(row(open, true, None).attempt_due(now));
        assert!(row(open, false, Some(5)).attempt_due(now));
        assert!(row(open, false, Some(-60)).attempt_due(now));
        assert!(!row(open, false, Some(6)).attempt_due(now));
        assert!(!row(open, false, None).attempt_due(now));
        // A settled delivery waits for nothing, queued or not.
        assert!(!row(DeliveryStatus::Failed, true, Some(0)).attempt_due(now));
        let detail = |delivery: DeliveryRow| DeliveryDetail {
            delivery,
            body: String::new(),
            body_pretty: String::new(),
            attempts: Vec::new(),
            generated_at: now,
        };
        assert!(detail(row(open, false, Some(1))).attempt_due());
        assert!(!detail(row(open, false, Some(60))).attempt_due());
    }

    #[test]
    fn the_response_column_reads_code_then_class_then_dash() {
        let mut with = row(DeliveryStatus::Failed, false, None);
        with.error_class = Some("timeout".into());
        assert_eq!(with.response_label(), "timeout");
        with.response_status = Some(503);
        assert_eq!(with.response_label(), "503");
        assert_eq!(
            row(DeliveryStatus::Pending, false, None).response_label(),
            "—"
        );
    }

    #[test]
    fn an_attempt_succeeded_only_with_a_2xx_and_no_failure() {
        let attempt = |status: Option<i16>, class: Option<&str>| AttemptView {
            id: Uuid::nil(),
            attempt_number: 1,
            trigger: "auto".into(),
            triggered_by: None,
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            duration_ms: 3,
            request_url: "https://example.com".into(),
            request_headers: Vec::new(),
            response_status: status,
            response_headers: Vec::new(),
            response_body: None,
            response_body_truncated: false,
            response_body_binary: false,
            response_body_base64: None,
            error_class: class.map(str::to_string),
            error_message: None,
        };
        assert!(attempt(Some(204), None).succeeded());
        assert!(!attempt(Some(204), Some("unrecordable")).succeeded());
        assert!(!attempt(Some(302), None).succeeded());
        assert!(!attempt(None, None).succeeded());
    }
}

/// Progress of a background bulk retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JobProgress {
    pub id: Uuid,
    pub total: i32,
    pub done: i32,
    /// running, finished or failed
    pub status: String,
}

/// Everything the detail page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub delivery: DeliveryRow,
    /// The envelope exactly as sent.
    pub body: String,
    /// The same, pretty-printed (keys in their original order) for reading.
    pub body_pretty: String,
    pub attempts: Vec<AttemptView>,
    pub generated_at: DateTime<Utc>,
}

impl DeliveryDetail {
    /// An attempt is queued, or an automatic retry is due within seconds: the page is about
    /// to change.
    pub fn attempt_due(&self) -> bool {
        self.delivery.attempt_due(self.generated_at)
    }
}

/// How far a delivery's attempts have got: what the detail page's Retry button waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptProgress {
    pub attempts: i64,
    pub due: bool,
}

/// One attempt as the detail page and the REST API show it. What the receiver sent is shown
/// readably (see [`readable`](super::attempt::readable)): text as text, anything else escaped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptView {
    pub id: Uuid,
    pub attempt_number: i32,
    pub trigger: String,
    /// Email of the admin behind a manual or bulk attempt.
    pub triggered_by: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub request_url: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub request_headers: Vec<(String, String)>,
    pub response_status: Option<i16>,
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub response_headers: Vec<(String, String)>,
    /// The body (its first 64 KiB) as readable text.
    pub response_body: Option<String>,
    pub response_body_truncated: bool,
    /// The body is not plain text (invalid UTF-8, NUL or other control bytes): the text above
    /// escapes those bytes, and `response_body_base64` holds the bytes themselves.
    pub response_body_binary: bool,
    pub response_body_base64: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl AttemptView {
    pub fn succeeded(&self) -> bool {
        self.error_class.is_none()
            && self
                .response_status
                .is_some_and(|s| (200..300).contains(&s))
    }
}
