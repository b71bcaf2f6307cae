//! The HTML shell and the route table. Admin pages sit under one guarded parent route.
//! The router runs on the server only (islands mode): links are ordinary page loads, and the
//! interactive parts of each page are islands that hydrate on their own.

use crate::ui::layout::AdminLayout;
use crate::ui::pages::alerts::AlertsPage;
use crate::ui::pages::api_keys::ApiKeysPage;
use crate::ui::pages::audit::AuditPage;
use crate::ui::pages::deliveries::DeliveriesPage;
use crate::ui::pages::delivery_detail::DeliveryDetailPage;
use crate::ui::pages::event_types::EventTypesPage;
use crate::ui::pages::login::LoginPage;
use crate::ui::pages::not_found::NotFound;
use crate::ui::pages::users::UsersPage;
use crate::ui::pages::webhook_edit::WebhookEditPage;
use crate::ui::pages::webhooks::WebhooksPage;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Scripts run only from this origin or with this page's nonce (see server::http).
    #[cfg(feature = "ssr")]
    crate::server::http::set_page_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Title text="Herald" />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/") view=|| view! { <Redirect path="/admin/webhook-deliveries" /> } />
                // Async SSR: the guard's redirect or 403 is decided before the first byte is sent.
                <ParentRoute path=path!("/admin") view=AdminLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/admin/webhook-deliveries" /> } ssr=SsrMode::Async />
                    <Route path=path!("webhook-deliveries") view=DeliveriesPage ssr=SsrMode::Async />
                    <Route path=path!("webhook-deliveries/:id") view=DeliveryDetailPage ssr=SsrMode::Async />
                    <Route path=path!("webhooks") view=WebhooksPage ssr=SsrMode::Async />
                    <Route path=path!("webhooks/new") view=WebhookEditPage ssr=SsrMode::Async />
                    <Route path=path!("webhooks/:id") view=WebhookEditPage ssr=SsrMode::Async />
                    <Route path=path!("event-types") view=EventTypesPage ssr=SsrMode::Async />
                    <Route path=path!("users") view=UsersPage ssr=SsrMode::Async />
                    <Route path=path!("api-keys") view=ApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("alerts") view=AlertsPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
