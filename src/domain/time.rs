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
    }
}
