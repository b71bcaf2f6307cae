//! Public forms of ids. Events are shown and sent as `evt_<32 hex>` (the `webhook-id`
//! header), which is the event's UUID v7 without dashes.

use uuid::Uuid;

pub const EVENT_PREFIX: &str = "evt_";

pub fn event_ref(id: Uuid) -> String {
    format!("{EVENT_PREFIX}{}", id.simple())
}

/// Accepts `evt_<hex>` or a plain UUID.
pub fn parse_event_ref(input: &str) -> Option<Uuid> {
    let trimmed = input.trim();
    let raw = trimmed.strip_prefix(EVENT_PREFIX).unwrap_or(trimmed);
    Uuid::parse_str(raw).ok()
}

/// The smallest UUID v7 stamped at `at`: ids are time-ordered, so a time range is an id range
/// (and, on the partitioned log tables, a set of partitions).
pub fn uuid_floor(at: chrono::DateTime<chrono::Utc>) -> Uuid {
    let millis = u128::try_from(at.timestamp_millis().max(0)).unwrap_or(0);
    Uuid::from_u128(millis << 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_refs_round_trip() {
        let id = Uuid::parse_str("01936b2e-8f4a-7c3d-9e2f-0123456789ab").unwrap();
        let shown = event_ref(id);
        assert_eq!(shown, "evt_01936b2e8f4a7c3d9e2f0123456789ab");
        assert_eq!(parse_event_ref(&shown), Some(id));
        assert_eq!(
            parse_event_ref(" 01936b2e-8f4a-7c3d-9e2f-0123456789ab "),
            Some(id)
        );
        assert_eq!(parse_event_ref("evt_nothex"), None);
    }

    #[test]
    fn time_bounds_order_with_v7_ids() {
        let at = chrono::DateTime::from_timestamp_millis(1_764_000_000_123).unwrap();
        let floor = uuid_floor(at);
        assert_eq!(floor.to_string(), "019ab697-e87b-0000-0000-000000000000");
        let later = uuid_floor(at + chrono::Duration::milliseconds(1));
        assert!(floor < later);
    }
}
