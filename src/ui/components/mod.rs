pub mod alert;
pub mod bulk_retry;
pub mod form;
pub mod poll;
pub mod status_badge;
pub mod time;
