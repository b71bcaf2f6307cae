pub mod bulk_retry;
pub mod form;
pub mod status_badge;
