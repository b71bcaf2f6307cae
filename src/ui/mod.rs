//! Pages and components of the portal.

pub mod components;
pub mod layout;
pub mod pages;
