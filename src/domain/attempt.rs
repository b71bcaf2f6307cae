//! What one delivery attempt was, and what happens to the delivery next. Pure: the dispatcher
//! feeds in the outcome, the policy and a random number, and writes down the decision.

use super::retry::RetryPolicy;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why an attempt did not succeed; shown in the log when there is no response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl FailureClass {
    pub const ALL: [FailureClass; 8] = [
        FailureClass::HttpStatus,
        FailureClass::Timeout,
        FailureClass::Connect,
        FailureClass::Dns,
        FailureClass::Tls,
        FailureClass::Redirect,
        FailureClass::SsrfBlocked,
        FailureClass::BodyTooLarge,
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
