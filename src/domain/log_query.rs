//! The delivery log's view state: search, filters, sort and keyset cursor. It round-trips
//! through the URL query string, so a reload, the back button or a shared link shows the
//! same page.

use super::time::{local_minute, parse_instant};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Success,
    Failed,
    /// Not tried yet or waiting for a retry.
    Pending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeClass {
    Success2xx,
    Redirect3xx,
    Client4xx,
    Server5xx,
    /// No HTTP answer (timeout, connection, DNS, TLS, SSRF) or not attempted.
    NoResponse,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Time,
    Status,
    Code,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Desc,
    Asc,
}

/// Where a page starts: after (older, in the sort order) or before (newer) a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub before: bool,
    /// The sort key of the boundary row as text ("" for time sorting).
    pub key: String,
    pub id: Uuid,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    pub search: Option<String>,
    pub status: Option<StatusFilter>,
    /// An event type, or a category prefix written `license.*`.
    pub event: Option<String>,
    pub endpoint: Option<Uuid>,
    /// Time range as a preset (`1h`, `24h`, `7d`, `30d`) relative to now.
    pub since: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The zone `from` and `to` are written in, as minutes east of UTC (the admin's browser
    /// sends its own); `None` is UTC.
    pub tz: Option<i32>,
    pub code: Option<CodeClass>,
    pub sort: SortKey,
    pub dir: Direction,
    pub cursor: Option<Cursor>,
}

pub const PAGE_SIZE: i64 = 50;

/// Choices for the log's filter form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogFilters {
    /// Every type, archived ones too (their deliveries stay in the log).
    pub event_types: Vec<String>,
    /// The archived ones, which the endpoint form no longer offers.
    #[serde(default)]
    pub archived_event_types: Vec<String>,
    pub endpoints: Vec<EndpointChoice>,
}

/// A live endpoint, as the log's endpoint filter offers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct EndpointChoice {
    pub id: Uuid,
    pub name: String,
}

/// One page of the log with the cursors of its neighbours and the moment it was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub rows: Vec<super::delivery::DeliveryRow>,
    /// Cursor of the next page (further along the sort order).
    pub next: Option<Cursor>,
    /// Cursor of the previous page.
    pub prev: Option<Cursor>,
    pub generated_at: DateTime<Utc>,
}

impl StatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Success => "success",
            StatusFilter::Failed => "failed",
            StatusFilter::Pending => "pending",
        }
    }
    pub fn parse(v: &str) -> Option<Self> {
        [Self::Success, Self::Failed, Self::Pending]
            .into_iter()
            .find(|s| s.as_str() == v)
    }
    /// The stored statuses it covers.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            StatusFilter::Success => &["succeeded"],
            StatusFilter::Failed => &["failed"],
            StatusFilter::Pending => &["pending", "retrying"],
        }
    }
}

impl CodeClass {
    pub const ALL: [CodeClass; 5] = [
        CodeClass::Success2xx,
        CodeClass::Redirect3xx,
        CodeClass::Client4xx,
        CodeClass::Server5xx,
        CodeClass::NoResponse,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CodeClass::Success2xx => "2xx",
            CodeClass::Redirect3xx => "3xx",
            CodeClass::Client4xx => "4xx",
            CodeClass::Server5xx => "5xx",
            CodeClass::NoResponse => "none",
        }
    }
    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == v)
    }
    /// `[low, high)` of the status codes; `None` for "no response".
    pub fn range(self) -> Option<(i16, i16)> {
        match self {
            CodeClass::Success2xx => Some((200, 300)),
            CodeClass::Redirect3xx => Some((300, 400)),
            CodeClass::Client4xx => Some((400, 500)),
            CodeClass::Server5xx => Some((500, 600)),
            CodeClass::NoResponse => None,
        }
    }
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Status => "status",
            SortKey::Code => "code",
        }
    }
    pub fn parse(v: &str) -> Option<Self> {
        [Self::Time, Self::Status, Self::Code]
            .into_iter()
            .find(|s| s.as_str() == v)
    }
}

impl Cursor {
    /// `a.<key>.<uuid>` (after) or `b.<key>.<uuid>` (before).
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            if self.before { "b" } else { "a" },
            self.key,
            self.id.simple()
        )
    }
    pub fn decode(text: &str) -> Option<Cursor> {
        let (side, rest) = text.split_once('.')?;
        let (key, id) = rest.rsplit_once('.')?;
        let before = match side {
            "a" => false,
            "b" => true,
            _ => return None,
        };
        let valid_key =
            key.len() <= 16 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        valid_key.then_some(())?;
        Some(Cursor {
            before,
            key: key.to_string(),
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// Event filter values: `user.created` or a prefix `license.*`.
pub fn is_valid_event_filter(value: &str) -> bool {
    let name = value.strip_suffix(".*").unwrap_or(value);
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

impl LogQuery {
    /// Reads the query string's pairs; unknown or malformed values are ignored, so an edited
    /// URL still shows a page rather than an error.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> LogQuery {
        let mut query = LogQuery::default();
        // `from` and `to` are read once the zone they were written in is known.
        let (mut from, mut to) = (None, None);
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name {
                "q" => query.search = Some(value.chars().take(200).collect()),
                "status" => query.status = StatusFilter::parse(value),
                "event" => query.event = is_valid_event_filter(value).then(|| value.to_string()),
                "endpoint" => query.endpoint = Uuid::parse_str(value).ok(),
                "since" => {
                    query.since = ["1h", "24h", "7d", "30d"]
                        .contains(&value)
                        .then(|| value.to_string())
                }
                "from" => from = Some(value),
                "to" => to = Some(value),
                "tz" => query.tz = super::time::parse_offset(value),
                "code" => query.code = CodeClass::parse(value),
                "sort" => query.sort = SortKey::parse(value).unwrap_or_default(),
                "dir" => {
                    query.dir = if value == "asc" {
                        Direction::Asc
                    } else {
                        Direction::Desc
                    }
                }
                "cursor" => query.cursor = Cursor::decode(value),
                _ => {}
            }
        }
        let offset = query.tz.unwrap_or(0);
        query.from = from.and_then(|v| parse_instant(v, offset));
        query.to = to.and_then(|v| parse_instant(v, offset));
        if query.from.is_none() && query.to.is_none() || query.tz == Some(0) {
            query.tz = None;
        }
        query
    }

    /// The pairs that differ from the defaults, in a stable order.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut push = |name, value: Option<String>| {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        };
        push("q", self.search.clone());
        push("status", self.status.map(|s| s.as_str().to_string()));
        push("event", self.event.clone());
        push("endpoint", self.endpoint.map(|e| e.to_string()));
        push("since", self.since.clone());
        let offset = self.tz.unwrap_or(0);
        push("from", self.from.map(|t| local_minute(t, offset)));
        push("to", self.to.map(|t| local_minute(t, offset)));
        push("tz", self.tz.map(|m| m.to_string()));
        push("code", self.code.map(|c| c.as_str().to_string()));
        push(
            "sort",
            (self.sort != SortKey::Time).then(|| self.sort.as_str().to_string()),
        );
        push(
            "dir",
            (self.dir != Direction::Desc).then(|| "asc".to_string()),
        );
        push("cursor", self.cursor.as_ref().map(Cursor::encode));
        pairs
    }

    /// The view of an `a=b&c=d` query string (with or without its leading `?`).
    pub fn from_query_string(text: &str) -> LogQuery {
        let pairs = decoded_pairs(text);
        LogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub fn to_query_string(&self) -> String {
        let pairs = self.to_pairs();
        if pairs.is_empty() {
            return String::new();
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect();
        format!("?{}", encoded.join("&"))
    }

    /// Whether `raw` (an address's query string) says exactly this view the way
    /// `to_query_string` would: no empty, unknown or invalid fields, same order. Leptos's own
    /// `__…` fields (a form's error) are not part of the view and are left alone.
    pub fn is_tidy(&self, raw: &str) -> bool {
        let mut given = decoded_pairs(raw);
        given.retain(|(k, _)| !k.starts_with("__"));
        let tidy: Vec<(String, String)> = self
            .to_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        given == tidy
    }

    /// Time order, newest first: the view where new deliveries appear at the top.
    pub fn is_newest_first(&self) -> bool {
        self.sort == SortKey::Time && self.dir == Direction::Desc
    }

    pub fn is_filtered(&self) -> bool {
        self.search.is_some()
            || self.status.is_some()
            || self.event.is_some()
            || self.endpoint.is_some()
            || self.since.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.code.is_some()
    }

    /// The lower time bound: `from`, or now minus the `since` preset.
    pub fn lower_bound(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let preset = self.since.as_deref().and_then(|s| match s {
            "1h" => Some(chrono::Duration::hours(1)),
            "24h" => Some(chrono::Duration::hours(24)),
            "7d" => Some(chrono::Duration::days(7)),
            "30d" => Some(chrono::Duration::days(30)),
            _ => None,
        });
        match (self.from, preset) {
            (Some(from), Some(p)) => Some(from.max(now - p)),
            (Some(from), None) => Some(from),
            (None, Some(p)) => Some(now - p),
            (None, None) => None,
        }
    }
}

/// What a query value keeps unescaped: RFC 3986's unreserved characters, and `*` so that
/// `license.*` stays readable in the address bar.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*');

/// The decoded `name=value` pairs of a query string (with or without its leading `?`); a
/// name without `=` has an empty value.
fn decoded_pairs(text: &str) -> Vec<(String, String)> {
    let text = text.strip_prefix('?').unwrap_or(text);
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(k, v)| (decode_component(k), decode_component(v)))
        .collect()
}

/// Percent-encodes a query value.
pub fn encode_component(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// Decodes a query value: `%XX` escapes and `+` for a space (as HTML forms send them); a
/// malformed escape stays as it is.
pub fn decode_component(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_filter_covers_its_stored_statuses() {
        assert_eq!(StatusFilter::Success.statuses(), ["succeeded"]);
        assert_eq!(StatusFilter::Failed.statuses(), ["failed"]);
        assert_eq!(StatusFilter::Pending.statuses(), ["pending", "retrying"]);
    }

    #[test]
    fn a_cursor_key_is_short_and_plain() {
        let id = "00000000-0000-0000-0000-000000000000";
        let key = |key: &str| Cursor::decode(&format!("a.{key}.{id}")).map(|c| c.key);
        assert_eq!(key("-5"), Some("-5".to_string()));
        assert_eq!(key(&"9".repeat(16)), Some("9".repeat(16)));
        assert_eq!(key(&"9".repeat(17)), None);
        assert_eq!(key("5_"), None);
    }

    #[test]
    fn event_filters_are_lowercase_dotted_names_or_prefixes() {
        for good in ["user.created", "license.*", "order_2.shipped"] {
            assert!(is_valid_event_filter(good), "{good}");
        }
        for bad in [
            "",
            ".*",
            "User.created",
            "a b",
            "user-created",
            &"a".repeat(101),
        ] {
            assert!(!is_valid_event_filter(bad), "{bad}");
        }
    }

    #[test]
    fn only_time_descending_is_newest_first() {
        let view = |sort, dir| LogQuery {
            sort,
            dir,
            ..LogQuery::default()
        };
        assert!(view(SortKey::Time, Direction::Desc).is_newest_first());
        assert!(!view(SortKey::Time, Direction::Asc).is_newest_first());
        assert!(!view(SortKey::Status, Direction::Desc).is_newest_first());
    }

    #[test]
    fn any_one_filter_makes_a_view_filtered() {
        let now = Utc::now();
        assert!(!LogQuery::default().is_filtered());
        let filtered = [
            LogQuery {
                search: Some("x".into()),
                ..LogQuery::default()
            },
            LogQuery {
                status: Some(StatusFilter::Failed),
                ..LogQuery::default()
            },
            LogQuery {
                event: Some("user.*".into()),
                ..LogQuery::default()
            },
            LogQuery {
                endpoint: Some(Uuid::nil()),
                ..LogQuery::default()
            },
            LogQuery {
                since: Some("1h".into()),
                ..LogQuery::default()
            },
            LogQuery {
                from: Some(now),
                ..LogQuery::default()
            },
            LogQuery {
                to: Some(now),
                ..LogQuery::default()
            },
            LogQuery {
                code: Some(CodeClass::Server5xx),
                ..LogQuery::default()
            },
        ];
        for query in filtered {
            assert!(query.is_filtered(), "{query:?}");
        }
    }

    #[test]
    fn every_preset_sets_its_lower_bound() {
        let now = Utc::now();
        let since = |preset: &str| LogQuery::from_pairs([("since", preset)]).lower_bound(now);
        assert_eq!(since("24h"), Some(now - chrono::Duration::hours(24)));
        assert_eq!(since("7d"), Some(now - chrono::Duration::days(7)));
        assert_eq!(since("30d"), Some(now - chrono::Duration::days(30)));
        // With a `from` as well, the later of the two bounds holds.
        let early = now - chrono::Duration::days(3);
        let both = LogQuery {
            from: Some(early),
            since: Some("1h".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            both.lower_bound(now),
            Some(now - chrono::Duration::hours(1))
        );
    }

    #[test]
    fn a_view_address_is_tidy_only_as_the_view_would_write_it() {
        let tidy = |raw: &str| LogQuery::from_query_string(raw).is_tidy(raw);
        assert!(tidy(""));
        assert!(tidy("?status=failed&event=license.*"));
        assert!(tidy("?q=a%20b%2Bc&status=failed"));
        assert!(
            tidy("?q=a+b"),
            "a form spells a space +: same view, no redirect"
        );
        assert!(tidy("?status=failed&__path=/api/retry_delivery&__err=e30"));
        assert!(!tidy("?q=&status=failed"), "empty fields");
        assert!(!tidy("?status=bogus"), "invalid value");
        assert!(!tidy("?foo=bar"), "unknown field");
        assert!(!tidy("?event=license.*&status=failed"), "order");
        // Tidying is stable: the tidy address of any address is tidy.
        for raw in [
            "?q=+x+&status=failed&code=",
            "?q=a+b%2Bc",
            "?dir=asc&sort=code&cursor=zz",
        ] {
            let again = LogQuery::from_query_string(raw).to_query_string();
            assert!(tidy(&again), "{raw} -> {again}");
        }
    }

    #[test]
    fn time_bounds_read_both_rfc3339_and_datetime_local_values() {
        let query = LogQuery::from_query_string("?from=2026-11-25T14%3A30&to=2026-11-26T08:00:00Z");
        assert_eq!(
            query.from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-25T14:30:00+00:00")
        );
        assert_eq!(
            query.to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-26T08:00:00+00:00")
        );
        assert!(
            LogQuery::from_query_string("?from=2026-13-01T10:00")
                .from
                .is_none()
        );
        assert!(
            LogQuery::from_query_string("?from=yesterday")
                .from
                .is_none()
        );
        let pairs = query.to_pairs();
        assert!(
            pairs.contains(&("from", "2026-11-25T14:30".to_string())),
            "{pairs:?}"
        );
    }

    #[test]
    fn time_bounds_are_read_in_the_zone_they_were_typed_in() {
        // 17:30 in India is 12:00 UTC; the address keeps what was typed, and the zone.
        let query =
            LogQuery::from_query_string("?tz=330&to=2026-11-25T18:00&from=2026-11-25T17:30");
        assert_eq!(
            query.from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-25T12:00:00+00:00")
        );
        assert_eq!(
            query.to_query_string(),
            "?from=2026-11-25T17%3A30&to=2026-11-25T18%3A00&tz=330"
        );
        // An instant with its own offset is that instant, whatever the zone.
        let absolute = LogQuery::from_query_string("?tz=330&from=2026-11-25T12:00:00Z");
        assert_eq!(absolute.to_pairs()[0].1, "2026-11-25T17:30");
        // A zone alone, UTC, or no real zone: nothing to keep.
        for raw in [
            "?tz=330",
            "?tz=0&from=2026-11-25T12:00",
            "?tz=9999&from=2026-11-25T12:00",
        ] {
            let query = LogQuery::from_query_string(raw);
            assert_eq!(query.tz, None, "{raw}");
        }
        assert_eq!(
            LogQuery::from_query_string("?tz=9999&from=2026-11-25T12:00").from,
            LogQuery::from_query_string("?from=2026-11-25T12:00").from
        );
    }

    #[test]
    fn views_decode_like_browsers_encode_them() {
        let query = LogQuery::from_query_string("?q=billing+%26+co&event=license.*&since=24h");
        assert_eq!(query.search.as_deref(), Some("billing & co"));
        assert_eq!(query.event.as_deref(), Some("license.*"));
        assert_eq!(query.since.as_deref(), Some("24h"));
        assert_eq!(decode_component("%zz"), "%zz");
    }

    #[test]
    fn the_view_round_trips_through_the_url() {
        let query = LogQuery {
            search: Some("billing & co".into()),
            status: Some(StatusFilter::Failed),
            event: Some("license.*".into()),
            endpoint: Some(Uuid::parse_str("01936b2e-8f4a-7c3d-9e2f-0123456789ab").unwrap()),
            since: Some("24h".into()),
            code: Some(CodeClass::Server5xx),
            sort: SortKey::Code,
            dir: Direction::Asc,
            cursor: Some(Cursor {
                before: false,
                key: "503".into(),
                id: Uuid::nil(),
            }),
            ..LogQuery::default()
        };
        let text = query.to_query_string();
        assert!(
            text.starts_with("?q=billing%20%26%20co&status=failed&event=license.*"),
            "{text}"
        );
        let pairs: Vec<(String, String)> = text[1..]
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), percent_decode(v))
            })
            .collect();
        let back = LogQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, query);
    }

    fn percent_decode(v: &str) -> String {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn malformed_values_are_ignored() {
        let query = LogQuery::from_pairs([
            ("status", "weird"),
            ("event", "DROP TABLE"),
            ("endpoint", "x"),
            ("cursor", "zz"),
            ("since", "99y"),
        ]);
        assert_eq!(query, LogQuery::default());
        assert!(!query.is_filtered());
        assert_eq!(query.to_query_string(), "");
    }

    #[test]
    fn cursors_encode_side_key_and_id() {
        let cursor = Cursor {
            before: true,
            key: "failed".into(),
            id: Uuid::nil(),
        };
        assert_eq!(cursor.encode(), "b.failed.00000000000000000000000000000000");
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(
            Cursor::decode("a..00000000000000000000000000000000")
                .unwrap()
                .key,
            ""
        );
        assert_eq!(Cursor::decode("x.1.00000000000000000000000000000000"), None);
    }

    #[test]
    fn presets_bound_the_time_range() {
        let now = Utc::now();
        let query = LogQuery::from_pairs([("since", "1h")]);
        assert_eq!(
            query.lower_bound(now),
            Some(now - chrono::Duration::hours(1))
        );
        assert_eq!(LogQuery::default().lower_bound(now), None);
        assert_eq!(CodeClass::Client4xx.range(), Some((400, 500)));
    }
}
