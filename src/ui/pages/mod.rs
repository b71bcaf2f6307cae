pub mod deliveries;
pub mod delivery_detail;
pub mod login;
pub mod not_found;
