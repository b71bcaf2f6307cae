//! What one delivery attempt was, and what happens to the delivery next. Pure: the dispatcher
//! feeds in the outcome, the policy and a random number, and writes down the decision.

use super::retry::RetryPolicy;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why an attempt did not succeed; shown in the log when there is no response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The endpoint answered with a non-2xx status.
    HttpStatus,
    Timeout,
    /// Connection refused or reset.
    Connect,
    Dns,
    Tls,
    /// A 3xx: redirects are not followed.
    Redirect,
    /// The address is internal (loopback, private, metadata…) and not allow-listed.
    SsrfBlocked,
    /// The endpoint refused the payload as too large (413).
    BodyTooLarge,
    /// The answer was not HTTP Herald can read: a status line of garbage, a NUL byte in a
    /// header, more headers than allowed.
    InvalidResponse,
    /// The attempt happened, but its result could not be stored as received (the delivery is
    /// failed for an admin to retry, not sent again blindly).
    Unrecordable,
}

impl FailureClass {
    pub const ALL: [FailureClass; 10] = [
        FailureClass::HttpStatus,
        FailureClass::Timeout,
        FailureClass::Connect,
        FailureClass::Dns,
        FailureClass::Tls,
        FailureClass::Redirect,
        FailureClass::SsrfBlocked,
        FailureClass::BodyTooLarge,
        FailureClass::InvalidResponse,
        FailureClass::Unrecordable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::HttpStatus => "http_status",
            FailureClass::Timeout => "timeout",
            FailureClass::Connect => "connect",
            FailureClass::Dns => "dns",
            FailureClass::Tls => "tls",
            FailureClass::Redirect => "redirect",
            FailureClass::SsrfBlocked => "ssrf_blocked",
            FailureClass::BodyTooLarge => "body_too_large",
            FailureClass::InvalidResponse => "invalid_response",
            FailureClass::Unrecordable => "unrecordable",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// The failure class of an HTTP answer, `None` for 2xx.
    pub fn of_status(status: u16) -> Option<FailureClass> {
        match status {
            200..=299 => None,
            300..=399 => Some(FailureClass::Redirect),
            413 => Some(FailureClass::BodyTooLarge),
            _ => Some(FailureClass::HttpStatus),
        }
    }
}

/// What started an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Auto,
    Manual,
    Bulk,
    Test,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Auto => "auto",
            Trigger::Manual => "manual",
            Trigger::Bulk => "bulk",
            Trigger::Test => "test",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Trigger::Auto, Trigger::Manual, Trigger::Bulk, Trigger::Test]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

/// What the dispatcher does with the delivery after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum NextStep {
    Succeeded,
    RetryIn(Duration),
    Failed,
    /// 410 Gone: the receiver says the endpoint is gone for good.
    FailedAndDisableEndpoint,
}

/// Decides the next step. `attempts_made` counts this attempt too. Only automatic attempts
/// are retried; a failed manual, bulk or test attempt ends the delivery as failed.
pub fn next_step(
    status: Option<u16>,
    failure: Option<FailureClass>,
    trigger: Trigger,
    attempts_made: u32,
    retry_after: Option<Duration>,
    policy: &RetryPolicy,
    unit_random: f64,
) -> NextStep {
    if failure.is_none() {
        return NextStep::Succeeded;
    }
    if status == Some(410) {
        return NextStep::FailedAndDisableEndpoint;
    }
    if trigger != Trigger::Auto {
        return NextStep::Failed;
    }
    match policy.next_delay(attempts_made, retry_after, unit_random) {
        Some(delay) => NextStep::RetryIn(delay),
        None => NextStep::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_stored_by_name_and_read_back() {
        let all = [Trigger::Auto, Trigger::Manual, Trigger::Bulk, Trigger::Test];
        let names: Vec<&str> = all.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["auto", "manual", "bulk", "test"]);
        for trigger in all {
            assert_eq!(Trigger::parse(trigger.as_str()), Some(trigger));
        }
        assert_eq!(Trigger::parse("cron"), None);
    }

    fn step(status: Option<u16>, trigger: Trigger, attempts: u32) -> NextStep {
        let failure = match status {
            Some(code) => FailureClass::of_status(code),
            None => Some(FailureClass::Timeout),
        };
        next_step(
            status,
            failure,
            trigger,
            attempts,
            None,
            &RetryPolicy::default(),
            0.5,
        )
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(FailureClass::of_status(204), None);
        assert_eq!(FailureClass::of_status(301), Some(FailureClass::Redirect));
        assert_eq!(
            FailureClass::of_status(413),
            Some(FailureClass::BodyTooLarge)
        );
        assert_eq!(FailureClass::of_status(500), Some(FailureClass::HttpStatus));
        for class in FailureClass::ALL {
            assert_eq!(FailureClass::parse(class.as_str()), Some(class));
        }
    }

    #[test]
    fn automatic_failures_retry_until_the_schedule_ends() {
        assert_eq!(step(Some(200), Trigger::Auto, 1), NextStep::Succeeded);
        assert_eq!(
            step(Some(500), Trigger::Auto, 1),
            NextStep::RetryIn(Duration::from_secs(60))
        );
        assert_eq!(
            step(None, Trigger::Auto, 3),
            NextStep::RetryIn(Duration::from_secs(1500))
        );
        assert_eq!(step(Some(500), Trigger::Auto, 4), NextStep::Failed);
    }

    #[test]
    fn gone_disables_and_manual_failures_end_the_delivery() {
        assert_eq!(
            step(Some(410), Trigger::Auto, 1),
            NextStep::FailedAndDisableEndpoint
        );
        assert_eq!(
            step(Some(410), Trigger::Manual, 1),
            NextStep::FailedAndDisableEndpoint
        );
        assert_eq!(step(Some(500), Trigger::Manual, 2), NextStep::Failed);
        assert_eq!(step(Some(200), Trigger::Manual, 2), NextStep::Succeeded);
        assert_eq!(step(None, Trigger::Test, 1), NextStep::Failed);
    }
}

/// A receiver's bytes made readable: the text itself when it is text; otherwise the valid
/// characters as they are, each invalid byte as `\xNN` and each control character as
/// `\u{NN}`, with `binary` set so the portal can say so. Tabs and line breaks are text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readable {
    pub text: String,
    pub binary: bool,
}

pub fn readable(bytes: &[u8]) -> Readable {
    let mut text = String::with_capacity(bytes.len());
    let mut binary = false;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                binary = true;
                text.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            } else {
                text.push(c);
            }
        }
        for byte in chunk.invalid() {
            binary = true;
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    Readable { text, binary }
}

/// A stored response header block (`name: value` lines, as received) as readable pairs.
pub fn header_pairs(raw: &[u8]) -> Vec<(String, String)> {
    raw.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| {
            let split = line.iter().position(|b| *b == b':').unwrap_or(line.len());
            let value = line.get(split + 1..).unwrap_or_default();
            let value = value.strip_prefix(b" ").unwrap_or(value);
            (readable(&line[..split]).text, readable(value).text)
        })
        .collect()
}

#[cfg(test)]
mod readable_tests {
    use super::*;

    #[test]
    fn text_stays_text_and_anything_else_is_escaped_and_flagged() {
        assert_eq!(
            readable("{\"ok\":true}\n\tdéjà vu".as_bytes()),
            Readable {
                text: "{\"ok\":true}\n\tdéjà vu".into(),
                binary: false
            }
        );
        let odd = readable(b"a\0b\xff\xfe\x1b[31mc");
        assert!(odd.binary);
        assert_eq!(odd.text, "a\\u{0}b\\xff\\xfe\\u{1b}[31mc");
    }

    #[test]
    fn header_blocks_split_into_pairs_whatever_their_bytes() {
        let pairs = header_pairs(b"content-type: text/plain\r\nx-name: Jos\xe9\r\nx-empty:\r\n");
        assert_eq!(
            pairs,
            vec![
                ("content-type".into(), "text/plain".into()),
                ("x-name".into(), "Jos\\xe9".into()),
                ("x-empty".into(), String::new()),
            ]
        );
    }
}
