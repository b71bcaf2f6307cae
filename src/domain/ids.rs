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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_refs_round_trip() {
        let id = Uuid::parse_str("01936b2e-8f4a-7c3d-9e2f-0123456789ab").unwrap();
        let shown = event_ref(id);
        assert_eq!(shown, "evt_01936b2e8f4a7c3d9e2f0123456789ab");
        assert_eq!(parse_event_ref(&shown), Some(id));
        assert_eq!(parse_event_ref(" 01936b2e-8f4a-7c3d-9e2f-0123456789ab "), Some(id));
        assert_eq!(parse_event_ref("evt_nothex"), None);
    }
}
