//! The event-type catalog page's server functions (admin or higher). Each checks the role
//! itself, then calls [`service::event_types`](crate::server::service::event_types).

use crate::domain::event_type::EventType;
#[cfg(feature = "ssr")]
use crate::domain::event_type::EventTypeForm;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    domain::role::Role,
    server::auth::guard::{authorize, respond},
    server::service::{Actor, event_types as service},
};

#[server(endpoint = "list_event_types")]
pub async fn list_event_types() -> Result<Vec<EventType>, AppError> {
    let (state, _) = authorize(Role::Admin).await?;
    respond(service::list(&state).await)
}

/// Adds a type, or (with `existing`) changes the one of that name; returns its name.
#[server(endpoint = "save_event_type")]
pub async fn save_event_type(
    name: String,
    #[server(default)] description: String,
    #[server(default)] example: String,
    #[server(default)] schema: String,
    #[server(default)] existing: bool,
) -> Result<String, AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let form = EventTypeForm {
        name,
        description,
        example,
        schema,
    };
    let actor = Actor::user(&user);
    let saved = match existing {
        true => service::update(&state, &actor, &form).await,
        false => service::create(&state, &actor, &form).await,
    };
    respond(saved.map(|t| t.name))
}

/// Archives (new events refused, history kept) or restores a type.
#[server(endpoint = "set_event_type_archived")]
pub async fn set_event_type_archived(name: String, archived: bool) -> Result<(), AppError> {
    let (state, user) = authorize(Role::Admin).await?;
    let actor = Actor::user(&user);
    respond(
        service::set_archived(&state, &actor, &name, archived)
            .await
            .map(|_| ()),
    )
}
