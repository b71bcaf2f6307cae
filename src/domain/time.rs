//! Time formatting for the portal's pages. "Now" is passed in (the moment the server read the
//! data), so a page says "3 minutes ago" relative to its data, not to when it is drawn.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2026-11-25 12:00:00 UTC`. Written out rather than with `format("%Y…")`: chrono's format
/// interpreter would be compiled into the browser bundle for this one line.
pub fn exact(at: DateTime<Utc>) -> String {
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(at),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `2026-11-25`.
pub fn date(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

/// `2026-11-25T12:00:00Z`: the machine-readable instant of a `<time datetime>`, which the
/// browser rewrites in the admin's zone (see `ui::local_time`).
pub fn iso(at: DateTime<Utc>) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(at),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The most a zone is away from UTC, in minutes (UTC−12:00 … UTC+14:00).
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// A UTC offset in minutes east, as the portal reads it from a form's `tz` field; `None` if it
/// is not a real zone's offset.
pub fn parse_offset(text: &str) -> Option<i32> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|m| m.abs() <= MAX_OFFSET_MINUTES)
}

/// `UTC`, `UTC+05:30`, `UTC-04:00`: the zone a local time is shown in.
pub fn zone_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if offset_minutes > 0 { '+' } else { '-' };
    let m = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// `2026-11-25T14:30` (what a `datetime-local` input sends), typed in a zone `offset_minutes`
/// east of UTC, as the instant it names.
pub fn parse_local_minute(value: &str, offset_minutes: i32) -> Option<DateTime<Utc>> {
    let (date, time) = value.trim().split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(str::parse::<u32>);
    let (year, month, day) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let (hour, minute) = time.split_once(':')?;
    let local = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0)?;
    Some(local.and_utc() - chrono::Duration::minutes(i64::from(offset_minutes)))
}

/// An instant as the portal's forms send it: RFC 3339 (its own offset wins), or
/// `2026-11-25T14:30` typed in the zone `offset_minutes` east of UTC.
pub fn parse_instant(value: &str, offset_minutes: i32) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_local_minute(value, offset_minutes))
}

/// The inverse of [`parse_local_minute`]: the instant as a `datetime-local` value in the zone.
pub fn local_minute(at: DateTime<Utc>, offset_minutes: i32) -> String {
    let local = at + chrono::Duration::minutes(i64::from(offset_minutes));
    format!("{}T{:02}:{:02}", date(local), local.hour(), local.minute())
}

/// "just now", "5 min ago", "3 h ago", "2 d ago"; "in 4 min" for future times.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let (amount, future) = (secs.unsigned_abs(), secs < 0);
    let text = match amount {
        0..=9 => return "just now".to_string(),
        10..=59 => format!("{amount} s"),
        60..=3599 => format!("{} min", amount / 60),
        3600..=86_399 => format!("{} h", amount / 3600),
        _ => format!("{} d", amount / 86_400),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let ago = |s: i64| relative(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(300), "5 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(3 * 86_400), "3 d ago");
        assert_eq!(ago(-240), "in 4 min");
        assert_eq!(exact(now), "2026-11-25 12:00:00 UTC");
        assert_eq!(iso(now), "2026-11-25T12:00:00Z");
    }

    #[test]
    fn a_time_typed_in_a_zone_names_the_instant_there() {
        let noon_utc = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        // 17:30 in India (UTC+05:30) and 07:00 in New York in winter (UTC-05:00) are noon UTC.
        assert_eq!(parse_local_minute("2026-11-25T17:30", 330), Some(noon_utc));
        assert_eq!(parse_local_minute("2026-11-25T07:00", -300), Some(noon_utc));
        assert_eq!(parse_local_minute("2026-11-25T12:00", 0), Some(noon_utc));
        // Across midnight, and back again.
        assert_eq!(local_minute(noon_utc, 13 * 60), "2026-11-26T01:00");
        assert_eq!(
            parse_local_minute(&local_minute(noon_utc, -570), -570),
            Some(noon_utc)
        );
        for bad in [
            "2026-02-30T10:00",
            "2026-11-25 10:00",
            "2026-11-25T25:00",
            "x",
        ] {
            assert_eq!(parse_local_minute(bad, 0), None, "{bad}");
        }
    }

    #[test]
    fn offsets_are_real_zones_only() {
        assert_eq!(parse_offset("330"), Some(330));
        assert_eq!(parse_offset("-720"), Some(-720));
        assert_eq!(parse_offset("841"), None);
        assert_eq!(parse_offset("-9999999999"), None);
        assert_eq!(parse_offset("+5:30"), None);
        assert_eq!(zone_label(0), "UTC");
        assert_eq!(zone_label(330), "UTC+05:30");
        assert_eq!(zone_label(-240), "UTC-04:00");
    }
}
