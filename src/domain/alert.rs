//! Alerts: the rules an endpoint is watched by, and which of them hold. A rule *fires* once
//! when it starts holding and *recovers* once when it stops; what holds is decided here from
//! facts the server gathers (the endpoint's state, its recent attempts), so the decision is
//! testable without a database.

use crate::field::FieldError;
use crate::health::{BUCKET_BOUNDS_MS, BUCKETS, quantile_ms};
use crate::text::{NO_NUL, has_nul};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use uuid::Uuid;

/// Herald's own events, sent to endpoints subscribed to them by name (never to endpoints that
/// take "every type"), and never accepted from producers.
pub const OPERATIONAL_TYPES: [&str; 4] = [
    "endpoint.disabled",
    "endpoint.failing",
    "endpoint.recovered",
    "delivery.exhausted",
];

pub fn is_operational(event_type: &str) -> bool {
    OPERATIONAL_TYPES.contains(&event_type)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum AlertKind {
    /// A delivery failed for good after its automatic attempts (until the next success).
    Exhausted,
    /// The endpoint is disabled: by a 410, by failing too long, or by an admin.
    Disabled,
    /// Too few attempts succeeded in the window.
    SuccessRate,
    /// The 95th-percentile response time in the window is too slow.
    Latency,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::Exhausted,
        AlertKind::Disabled,
        AlertKind::SuccessRate,
        AlertKind::Latency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Exhausted => "exhausted",
            AlertKind::Disabled => "disabled",
            AlertKind::SuccessRate => "success_rate",
            AlertKind::Latency => "latency",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Exhausted => "Retries exhausted",
            AlertKind::Disabled => "Endpoint disabled",
            AlertKind::SuccessRate => "Low success rate",
            AlertKind::Latency => "Slow responses",
        }
    }

    /// The operational event sent when the rule fires.
    pub fn fired_event(self) -> &'static str {
        match self {
            AlertKind::Exhausted => "delivery.exhausted",
            AlertKind::Disabled => "endpoint.disabled",
            AlertKind::SuccessRate | AlertKind::Latency => "endpoint.failing",
        }
    }
}

/// The operational event sent when any rule recovers.
pub const RECOVERED_EVENT: &str = "endpoint.recovered";

pub const WINDOW_MINUTES: RangeInclusive<u32> = 5..=1440;
pub const MIN_ATTEMPTS: RangeInclusive<u32> = 1..=1_000_000;
/// p95 is read from the latency buckets (25 ms … 10 s), so thresholds stay below the last one.
pub const P95_MS: RangeInclusive<u32> = 100..=9_999;
pub const MAX_RECIPIENTS: usize = 20;

/// One endpoint's alert rules; [`Default`] is what every endpoint starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRules {
    pub on_exhausted: bool,
    pub on_disabled: bool,
    /// Percent (0–100); `None` turns the rule off.
    pub min_success_rate: Option<f64>,
    /// The window both the success-rate and the latency rule look at.
    pub window_minutes: u32,
    /// Fewer attempts than this in the window prove nothing: neither rate rule holds.
    pub min_attempts: u32,
    /// `None` turns the rule off.
    pub max_p95_ms: Option<u32>,
    /// Who is emailed; empty: every active admin and owner.
    pub email_to: Vec<String>,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            on_exhausted: true,
            on_disabled: true,
            min_success_rate: Some(95.0),
            window_minutes: 60,
            min_attempts: 20,
            max_p95_ms: Some(5000),
            email_to: Vec::new(),
        }
    }
}

impl AlertRules {
    /// Whether the rule of this kind is switched on.
    pub fn watches(&self, kind: AlertKind) -> bool {
        match kind {
            AlertKind::Exhausted => self.on_exhausted,
            AlertKind::Disabled => self.on_disabled,
            AlertKind::SuccessRate => self.min_success_rate.is_some(),
            AlertKind::Latency => self.max_p95_ms.is_some(),
        }
    }

    /// What is wrong with the rules, field by field (empty when nothing is).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        if let Some(rate) = self.min_success_rate
            && !(0.0..=100.0).contains(&rate)
        {
            problems.push(FieldError::new(
                "min_success_rate",
                "must be a percentage from 0 to 100",
            ));
        }
        let ranges = [
            ("window_minutes", self.window_minutes, WINDOW_MINUTES),
            ("min_attempts", self.min_attempts, MIN_ATTEMPTS),
            (
                "max_p95_ms",
                self.max_p95_ms.unwrap_or(*P95_MS.start()),
                P95_MS,
            ),
        ];
        for (field, value, range) in ranges {
            if !range.contains(&value) {
                let message = format!("must be from {} to {}", range.start(), range.end());
                problems.push(FieldError::new(field, message));
            }
        }
        if self.email_to.len() > MAX_RECIPIENTS {
            let message = format!("at most {MAX_RECIPIENTS} addresses");
            problems.push(FieldError::new("email_to", message));
        }
        if let Some(bad) = self.email_to.iter().find(|a| email_problem(a).is_some()) {
            let why = email_problem(bad).unwrap_or_default();
            problems.push(FieldError::new("email_to", format!("{bad:?} {why}")));
        }
        problems
    }
}

/// The rules as the portal's form posts them: text fields, empty meaning "off" where a rule
/// can be off; addresses separated by commas, semicolons or spaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRulesForm {
    pub on_exhausted: bool,
    pub on_disabled: bool,
    pub min_success_rate: String,
    pub window_minutes: String,
    pub min_attempts: String,
    pub max_p95_ms: String,
    pub email_to: String,
}

impl AlertRulesForm {
    pub fn of(rules: &AlertRules) -> Self {
        Self {
            on_exhausted: rules.on_exhausted,
            on_disabled: rules.on_disabled,
            min_success_rate: rules
                .min_success_rate
                .map(|r| r.to_string())
                .unwrap_or_default(),
            window_minutes: rules.window_minutes.to_string(),
            min_attempts: rules.min_attempts.to_string(),
            max_p95_ms: rules.max_p95_ms.map(|n| n.to_string()).unwrap_or_default(),
            email_to: rules.email_to.join(", "),
        }
    }

    /// The rules the form describes, or what is wrong with it field by field.
    pub fn parse(&self) -> Result<AlertRules, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut number = |field: &str, text: &str| -> Option<f64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let parsed = text.trim_end_matches('%').trim().parse::<f64>().ok();
            if parsed.is_none_or(|n| !n.is_finite()) {
                problems.push(FieldError::new(field, "must be a number"));
                return None;
            }
            parsed
        };
        let whole = |n: Option<f64>| {
            n.map(|n| {
                if n.fract() == 0.0 && n >= 0.0 && n <= f64::from(u32::MAX) {
                    n as u32
                } else {
                    u32::MAX
                }
            })
        };
        let min_success_rate = number("min_success_rate", &self.min_success_rate);
        let window = whole(number("window_minutes", &self.window_minutes));
        let attempts = whole(number("min_attempts", &self.min_attempts));
        let p95 = whole(number("max_p95_ms", &self.max_p95_ms));
        let defaults = AlertRules::default();
        let rules = AlertRules {
            on_exhausted: self.on_exhausted,
            on_disabled: self.on_disabled,
            min_success_rate,
            window_minutes: window.unwrap_or(defaults.window_minutes),
            min_attempts: attempts.unwrap_or(defaults.min_attempts),
            max_p95_ms: p95,
            email_to: self
                .email_to
                .split([',', ';', ' ', '\n', '\r', '\t'])
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        };
        problems.extend(rules.problems());
        if problems.is_empty() {
            Ok(rules)
        } else {
            Err(problems)
        }
    }
}

/// Characters an address may not hold anywhere (besides whitespace and control characters).
const NOT_IN_ADDRESS: &str = "@<>,;\"()[]\\";

/// The rule [`email_problem`] applies, as a regular expression (for the API document).
pub const EMAIL_PATTERN: &str = r#"^[^@\s\x00-\x1f\x7f-\x9f<>,;"()\[\]\\]+@[^@\s\x00-\x1f\x7f-\x9f<>,;"()\[\]\\.][^@\s\x00-\x1f\x7f-\x9f<>,;"()\[\]\\]*\.[^@\s\x00-\x1f\x7f-\x9f<>,;"()\[\]\\]*[^@\s\x00-\x1f\x7f-\x9f<>,;"()\[\]\\.]$"#;
pub const EMAIL_MAX_LEN: usize = 254;

/// Why `address` is not one plain email address (`local@domain.tld`), if it is not.
fn email_problem(address: &str) -> Option<&'static str> {
    if has_nul(address) {
        return Some(NO_NUL);
    }
    let allowed = |c: char| !c.is_whitespace() && !c.is_control() && !NOT_IN_ADDRESS.contains(c);
    let shaped = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && local.chars().chain(domain.chars()).all(allowed)
        }
        None => false,
    };
    if address.chars().count() > EMAIL_MAX_LEN || !shaped {
        return Some("is not an email address like ops@example.com");
    }
    None
}

/// One firing of a rule, open until `resolved_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub endpoint_name: String,
    pub rule: AlertKind,
    /// What held when the rule fired.
    pub summary: String,
    pub started_at: DateTime<Utc>,
    /// `null` while the alert is open.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub resolution: Option<String>,
}

/// Attempts counted over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub succeeded: u64,
    pub failed: u64,
    /// Counts per latency bucket (see [`crate::health`]).
    pub latency: [u64; BUCKETS],
}

impl WindowStats {
    pub fn attempts(&self) -> u64 {
        self.succeeded + self.failed
    }

    /// Percent of attempts that succeeded; `None` without attempts.
    pub fn success_rate(&self) -> Option<f64> {
        let total = self.attempts();
        (total > 0).then(|| self.succeeded as f64 * 100.0 / total as f64)
    }

    /// The 95th-percentile response time, to its latency bucket's upper bound.
    pub fn p95_ms(&self) -> Option<u32> {
        let counts: Vec<i64> = self
            .latency
            .iter()
            .map(|c| i64::try_from(*c).unwrap_or(i64::MAX))
            .collect();
        quantile_ms(&counts, 0.95)
    }
}

/// What the server knows about an endpoint when it checks the rules.
#[derive(Clone, Debug)]
pub struct EndpointFacts<'a> {
    pub enabled: bool,
    pub disabled_reason: Option<&'a str>,
    /// A delivery failed for good since the endpoint's last success.
    pub exhausted: bool,
    pub window: &'a WindowStats,
}

/// The rules that hold now, each with the sentence an operator is told.
pub fn holding(rules: &AlertRules, facts: &EndpointFacts) -> Vec<(AlertKind, String)> {
    let mut held = Vec::new();
    if rules.on_exhausted && facts.exhausted {
        let what = "a delivery failed every automatic attempt (retries exhausted)";
        held.push((AlertKind::Exhausted, what.to_string()));
    }
    if rules.on_disabled && !facts.enabled {
        let why = facts.disabled_reason.unwrap_or("Disabled by an admin");
        held.push((AlertKind::Disabled, why.to_string()));
    }
    let window = facts.window;
    let minutes = rules.window_minutes;
    let enough = window.attempts() >= u64::from(rules.min_attempts.max(1));
    if let (Some(floor), Some(rate), true) = (rules.min_success_rate, window.success_rate(), enough)
        && rate < floor
    {
        let what = format!(
            "success rate {rate:.1} % over the last {minutes} min ({} of {} attempts succeeded), below {floor} %",
            window.succeeded,
            window.attempts()
        );
        held.push((AlertKind::SuccessRate, what));
    }
    if let (Some(ceiling), Some(p95), true) = (rules.max_p95_ms, window.p95_ms(), enough)
        && p95 > ceiling
    {
        let shown = if p95 >= BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.len() - 1] {
            "over 10 s".to_string()
        } else {
            format!("up to {p95} ms")
        };
        let what =
            format!("p95 response time {shown} over the last {minutes} min, above {ceiling} ms");
        held.push((AlertKind::Latency, what));
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::bucket_of;

    fn window(succeeded: u64, failed: u64, each_ms: u32) -> WindowStats {
        let mut stats = WindowStats {
            succeeded,
            failed,
            ..WindowStats::default()
        };
        stats.latency[bucket_of(each_ms)] = succeeded + failed;
        stats
    }

    fn kinds(rules: &AlertRules, facts: &EndpointFacts) -> Vec<AlertKind> {
        holding(rules, facts).into_iter().map(|(k, _)| k).collect()
    }

    fn healthy(stats: &WindowStats) -> EndpointFacts<'_> {
        EndpointFacts {
            enabled: true,
            disabled_reason: None,
            exhausted: false,
            window: stats,
        }
    }

    #[test]
    fn a_healthy_endpoint_holds_nothing() {
        let stats = window(100, 0, 40);
        assert!(kinds(&AlertRules::default(), &healthy(&stats)).is_empty());
    }

    #[test]
    fn the_success_rate_rule_needs_enough_attempts_and_a_rate_below_its_floor() {
        let rules = AlertRules::default();
        let few = window(1, 9, 40);
        assert!(kinds(&rules, &healthy(&few)).is_empty(), "10 < 20 attempts");
        let failing = window(19, 2, 40);
        let held = holding(&rules, &healthy(&failing));
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].0, AlertKind::SuccessRate);
        assert!(held[0].1.contains("success rate 90.5 %"), "{}", held[0].1);
        assert!(held[0].1.contains("19 of 21"), "{}", held[0].1);
        let at_floor = window(95, 5, 40);
        assert!(
            kinds(&rules, &healthy(&at_floor)).is_empty(),
            "95 % is not below 95 %"
        );
        let off = AlertRules {
            min_success_rate: None,
            ..rules
        };
        assert!(kinds(&off, &healthy(&failing)).is_empty());
    }

    #[test]
    fn the_latency_rule_compares_the_p95_bucket_with_its_ceiling() {
        let rules = AlertRules::default();
        assert!(kinds(&rules, &healthy(&window(30, 0, 4_000))).is_empty());
        let slow = window(30, 0, 7_000);
        assert_eq!(kinds(&rules, &healthy(&slow)), [AlertKind::Latency]);
        let very_slow = window(30, 0, 30_000);
        let held = holding(&rules, &healthy(&very_slow));
        assert!(held[0].1.contains("over 10 s"), "{}", held[0].1);
    }

    #[test]
    fn disabled_and_exhausted_hold_while_true_unless_switched_off() {
        let stats = WindowStats::default();
        let facts = EndpointFacts {
            enabled: false,
            disabled_reason: Some("Disabled by Herald: the endpoint answered 410 Gone"),
            exhausted: true,
            window: &stats,
        };
        let held = holding(&AlertRules::default(), &facts);
        assert_eq!(
            held.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [AlertKind::Exhausted, AlertKind::Disabled]
        );
        assert!(held[1].1.contains("410 Gone"));
        let quiet = AlertRules {
            on_exhausted: false,
            on_disabled: false,
            ..AlertRules::default()
        };
        assert!(kinds(&quiet, &facts).is_empty());
    }

    #[test]
    fn rules_outside_their_ranges_are_refused_by_field() {
        let bad = AlertRules {
            min_success_rate: Some(101.0),
            window_minutes: 1,
            min_attempts: 0,
            max_p95_ms: Some(50),
            email_to: vec!["ops@example.com".into(), "not an address".into()],
            ..AlertRules::default()
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "min_success_rate",
                "window_minutes",
                "min_attempts",
                "max_p95_ms",
                "email_to"
            ]
        );
        assert!(AlertRules::default().problems().is_empty());
        for address in [
            "a@b",
            "@example.com",
            "a@b@c.com",
            "a\0@b.com",
            "<a@b.com>",
            "a@.com",
        ] {
            assert!(email_problem(address).is_some(), "{address:?}");
        }
        assert_eq!(email_problem("ops+herald@mail.example.com"), None);
    }

    #[test]
    fn the_form_round_trips_and_reads_empty_as_off() {
        let rules = AlertRules {
            email_to: vec!["ops@example.com".into(), "oncall@example.com".into()],
            ..AlertRules::default()
        };
        assert_eq!(AlertRulesForm::of(&rules).parse(), Ok(rules));
        let off = AlertRulesForm {
            min_success_rate: " ".into(),
            max_p95_ms: String::new(),
            window_minutes: "30".into(),
            min_attempts: "5".into(),
            email_to: "a@example.com; b@example.com\nc@example.com".into(),
            ..AlertRulesForm::default()
        };
        let parsed = off.parse().unwrap();
        assert_eq!(parsed.min_success_rate, None);
        assert_eq!(parsed.max_p95_ms, None);
        assert_eq!(parsed.email_to.len(), 3);
        let bad = AlertRulesForm {
            min_success_rate: "lots".into(),
            window_minutes: "2.5".into(),
            ..AlertRulesForm::of(&AlertRules::default())
        };
        let fields: Vec<String> = bad
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["min_success_rate", "window_minutes"]);
    }

    #[test]
    fn operational_types_are_herald_s_own() {
        assert!(is_operational("endpoint.disabled"));
        assert!(!is_operational("user.created"));
        for kind in AlertKind::ALL {
            assert!(is_operational(kind.fired_event()));
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
        assert!(is_operational(RECOVERED_EVENT));
    }

    #[test]
    fn each_rule_has_its_own_label() {
        let labels: Vec<&str> = AlertKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(
            labels,
            [
                "Retries exhausted",
                "Endpoint disabled",
                "Low success rate",
                "Slow responses"
            ]
        );
    }

    #[test]
    fn a_rule_is_watched_only_while_it_is_switched_on() {
        let on = AlertRules::default();
        assert!(AlertKind::ALL.iter().all(|k| on.watches(*k)));
        let off = AlertRules {
            on_exhausted: false,
            on_disabled: false,
            min_success_rate: None,
            max_p95_ms: None,
            ..AlertRules::default()
        };
        assert!(AlertKind::ALL.iter().all(|k| !off.watches(*k)));
    }

    #[test]
    fn recipients_are_capped_at_the_limit_exactly() {
        let with = |n: usize| AlertRules {
            email_to: (0..n).map(|i| format!("ops{i}@example.com")).collect(),
            ..AlertRules::default()
        };
        assert_eq!(with(MAX_RECIPIENTS).problems(), vec![]);
        let over = with(MAX_RECIPIENTS + 1).problems();
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].field, "email_to");
    }

    #[test]
    fn an_address_may_be_as_long_as_the_limit_and_no_longer() {
        let domain = "@example.com";
        let at_limit = format!("{}{domain}", "a".repeat(EMAIL_MAX_LEN - domain.len()));
        assert_eq!(email_problem(&at_limit), None);
        assert!(email_problem(&format!("a{at_limit}")).is_some());
    }

    #[test]
    fn counts_in_the_form_must_be_whole_and_not_negative() {
        let form = |minutes: &str| AlertRulesForm {
            window_minutes: minutes.into(),
            ..AlertRulesForm::of(&AlertRules::default())
        };
        assert_eq!(form("30").parse().unwrap().window_minutes, 30);
        for bad in ["30.5", "-3", "-0.5"] {
            let fields: Vec<String> = form(bad)
                .parse()
                .unwrap_err()
                .into_iter()
                .map(|f| f.field)
                .collect();
            assert_eq!(fields, ["window_minutes"], "{bad}");
        }
    }

    #[test]
    fn no_attempts_is_no_success_rate() {
        assert_eq!(WindowStats::default().success_rate(), None);
        assert_eq!(window(1, 0, 10).success_rate(), Some(100.0));
    }
}
