pub mod bulk_retry;
pub mod status_badge;
