pub mod status_badge;
