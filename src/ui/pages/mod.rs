pub mod deliveries;
pub mod delivery_detail;
pub mod login;
pub mod not_found;
pub mod webhook_edit;
pub mod webhooks;
