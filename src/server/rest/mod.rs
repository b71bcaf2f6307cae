//! The REST API under `/api/v1` (seed 002's shape). Every handler authenticates the API key
//! itself through the [`auth::ApiCaller`] extractor; errors are `{"error":{"code","message"}}`.

pub mod alerts;
pub mod auth;
pub mod deliveries;
pub mod error;
pub mod event_types;
pub mod events;
pub mod openapi;
pub mod webhooks;

use super::state::AppState;
use crate::error::AppError;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::routing::get;
use axum::{Json, Router};
use error::ApiError;
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald API",
        version = "1",
        description = "Publish events, manage webhook endpoints and the event-type catalog, read and retry deliveries. Authenticate with `Authorization: Bearer hk_…` (create keys in the portal or with `herald create-api-key`); each key holds scopes (publish, read, manage). Errors are `{\"error\":{\"code\",\"message\",\"fields\"?}}` with the matching status."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "events", description = "Publish events; poll them"),
        (name = "webhooks", description = "Webhook endpoints: settings, secrets, tests, their deliveries"),
        (name = "deliveries", description = "One event to one endpoint, with every attempt"),
        (name = "event-types", description = "The catalog of what producers may publish"),
        (name = "alerts", description = "Alert rules per endpoint and the alerts they fired"),
    )
)]
struct ApiDoc;

/// Every operation takes `Authorization: Bearer hk_…`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every REST operation, each registered with the router and described in the document by the
/// same `#[utoipa::path]`: the two cannot drift apart.
fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::publish, events::list))
        .routes(routes!(events::publish_batch))
        .routes(routes!(events::stream))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get_rules, alerts::put_rules))
        .routes(routes!(deliveries::get))
        .routes(routes!(deliveries::retry))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::send_test))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::reveal))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(event_types::list, event_types::create))
        .routes(routes!(
            event_types::get,
            event_types::update,
            event_types::delete
        ))
}

pub fn router(max_payload: usize) -> Router<AppState> {
    let (router, _) = operations().split_for_parts();
    router
        .route("/api/v1/openapi.json", get(openapi::document))
        // The handlers check the exact limit and answer with a JSON error; this only stops
        // absurd bodies before they are read.
        .layer(DefaultBodyLimit::max(
            max_payload.saturating_mul(2).max(64 * 1024),
        ))
}

/// The OpenAPI document of [`operations`], as JSON (built once).
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, doc) = operations().split_for_parts();
        doc.to_pretty_json().unwrap_or_else(|err| {
            tracing::error!(error = %err, "the OpenAPI document does not serialise");
            "{}".into()
        })
    })
}

/// The `{id}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path parameter handlers read as text
pub struct IdParam {
    /// The resource's id (a UUID); anything else is a 404.
    #[param(example = "0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7")]
    id: Uuid,
}

/// `[name, value]` pairs of HTTP headers (at most 20).
pub fn header_pairs() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let text = ObjectBuilder::new().schema_type(Type::String);
    let pair = ArrayBuilder::new()
        .items(text)
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(pair)
        .max_items(Some(20))
        .description(Some("[name, value] pairs"))
}

/// The id in a path; anything that is not a UUID is a 404 for `what` ("Webhook", "Delivery").
fn id_of(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError(AppError::NotFound(what.to_string())))
}

/// The query's parameters, or a JSON 400 that says which one is not understood.
fn query_params<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|axum::extract::Query(params)| params)
        .map_err(|err| ApiError(AppError::BadRequest(err.body_text())))
}

/// A whole number given as a JSON number: `5000` or `5000.0` (JSON Schema's `integer` counts
/// both), for a field that may also be `null`.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    use serde::Deserialize;
    let value = Option::<f64>::deserialize(d)?;
    match value {
        None => Ok(Some(None)),
        Some(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => {
            Ok(Some(Some(n as u32)))
        }
        Some(n) => Err(serde::de::Error::custom(format!(
            "{n} is not a whole number from 0 to {}",
            u32::MAX
        ))),
    }
}

/// The body as JSON, or a 400 that says what is wrong with it (413 when it is too large).
fn json_body<T>(body: Result<Json<T>, JsonRejection>, limit: usize) -> Result<T, ApiError> {
    body.map(|Json(input)| input).map_err(|err| {
        ApiError(match err.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(limit),
            _ => AppError::BadRequest(err.body_text()),
        })
    })
}
