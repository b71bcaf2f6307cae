pub mod deliveries;
pub mod login;
pub mod not_found;
