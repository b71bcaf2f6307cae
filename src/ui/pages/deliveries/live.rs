//! The live delivery log (an island). The filter form and the rows inside it are server HTML;
//! this part listens to them: a changed filter, a submitted search, a sort or pager link and
//! Back/Forward show the new view without a page load (the server renders it, the address bar
//! follows); when the server says deliveries changed (a push, `/admin/stream/deliveries`) the
//! rows refresh in place and newer deliveries are offered, not inserted; Retry and bulk retry
//! run in place.

use super::BASE;
use super::fragment::{delivery_log, newer_count};
use crate::api::deliveries::retry_delivery;
use crate::ui::components::alert::ErrorAlert;
use crate::ui::components::bulk_retry::BulkRetry;
use leptos::ev::{MouseEvent, SubmitEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos::wasm_bindgen::prelude::Closure;
use leptos::wasm_bindgen::{JsCast, JsValue};
use leptos::web_sys::{Element, Event, FormData, HtmlElement, HtmlFormElement, UrlSearchParams};
use std::time::Duration;
use uuid::Uuid;

/// Where the server announces changed deliveries (see `server::live`).
const CHANGES: &str = "/admin/stream/deliveries";

#[island]
pub fn LiveLog(view: String, children: Children) -> impl IntoView {
    let log = Log {
        view: RwSignal::new(view),
        newer: RwSignal::new(0),
        error: RwSignal::new(None),
        stale: RwSignal::new(None),
        root: NodeRef::new(),
        latest: StoredValue::new(0),
        pending: StoredValue::new(None),
    };
    Effect::new(move |_| {
        log.follow_history();
        log.follow_changes();
    });
    view! {
        <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
            <div>
                <h1 class="text-xl font-semibold">"Webhook deliveries"</h1>
                <p class="text-sm text-slate-600">"Every event sent to your webhook endpoints, with each attempt's request and response."</p>
            </div>
            <BulkRetry view=log.view.into() on_done=Callback::new(move |_| log.refresh(true)) />
        </div>
        // Floats over the page, so announcing newer deliveries moves no row.
        <Show when=move || { log.newer.get() > 0 }>
            <button
                type="button"
                data-testid="newer-deliveries"
                class="fixed top-16 left-1/2 z-20 -translate-x-1/2 rounded-full bg-indigo-600 px-4 py-2 text-sm font-medium text-white shadow-lg hover:bg-indigo-500"
                on:click=move |_| {
                    log.newer.set(0);
                    log.refresh(false);
                }
            >
                {move || newer_label(log.newer.get())}
            </button>
        </Show>
        {move || log.error.get().or_else(|| log.stale.get()).map(|message| view! { <ErrorAlert message /> })}
        <div node_ref=log.root on:click=move |ev| log.on_click(ev) on:change=move |ev| log.on_change(ev) on:submit=move |ev| log.on_submit(ev)>
            {children()}
        </div>
    }
}

/// What the log's handlers share.
#[derive(Clone, Copy)]
struct Log {
    /// The view shown: its query string as the server normalised it.
    view: RwSignal<String>,
    /// Deliveries newer than the top row, found by the live refresh.
    newer: RwSignal<i64>,
    /// What the admin asked for that failed (a view, a Retry).
    error: RwSignal<Option<String>>,
    /// Why the rows shown may be out of date (the last refresh failed); gone with the next one.
    stale: RwSignal<Option<String>>,
    root: NodeRef<leptos::html::Div>,
    /// Numbers every request for the log's HTML; only the answer to the latest one is used.
    latest: StoredValue<u32>,
    /// What the latest request is for, while it is out.
    pending: StoredValue<Option<Request>>,
}

/// A request for the log's HTML.
#[derive(Clone, Copy, PartialEq)]
enum Request {
    /// Another view: refreshes wait for it (they would ask for the view being left).
    Show,
    /// The rows of the view shown: the next tick skips rather than racing it.
    Refresh,
}

impl Log {
    /// Takes the next request number; any answer to an earlier request will be dropped.
    fn next_request(self, request: Request) -> u32 {
        self.latest.update_value(|n| *n += 1);
        self.pending.set_value(Some(request));
        self.latest.get_value()
    }

    /// The answer to request `number` is the one to use (and nothing else is out any more).
    fn is_latest(self, number: u32) -> bool {
        let latest = self.latest.try_get_value() == Some(number);
        if latest {
            self.pending.set_value(None);
        }
        latest
    }

    /// Shows another view: the server renders its filter form and rows, they replace the
    /// current ones, and (unless this is Back/Forward) the address bar moves to it.
    fn show(self, view: String, push: bool) {
        let number = self.next_request(Request::Show);
        self.set_busy(true);
        spawn_local(async move {
            let answer = delivery_log(view, None, true).await;
            if !self.is_latest(number) {
                return;
            }
            self.set_busy(false);
            match answer {
                Ok(log) => {
                    self.swap("filters", log.filters.as_deref().unwrap_or_default());
                    self.swap("results", &log.results);
                    if push {
                        push_url(&log.view);
                    }
                    self.view.set(log.view);
                    self.newer.set(0);
                    self.error.set(None);
                    self.stale.set(None);
                }
                Err(err) => self.fail("The log could not be loaded", err),
            }
        });
    }

    /// Re-reads the rows of the view shown. With `keep_top`, on the newest-first first page
    /// only rows up to the current top one come back (the rows being read stay put) and the
    /// newer ones are counted instead. Not while another view is on its way.
    fn refresh(self, keep_top: bool) {
        if self.pending.get_value() == Some(Request::Show) {
            return;
        }
        let number = self.next_request(Request::Refresh);
        let anchor = if keep_top { self.live_top() } else { None };
        let view = self.view.get_untracked();
        spawn_local(async move {
            let answer = delivery_log(view.clone(), anchor, false).await;
            if !self.is_latest(number) {
                return;
            }
            match answer {
                Ok(log) => {
                    self.swap("results", &log.results);
                    self.stale.try_set(None);
                }
                Err(err) => {
                    let note = format!("The log could not be refreshed: {err}");
                    self.stale.try_set(Some(note));
                    return;
                }
            }
            let Some(top) = anchor else { return };
            if let Ok(count) = newer_count(view, top).await
                && self.latest.try_get_value() == Some(number)
            {
                self.newer.try_set(count);
            }
        });
    }

    /// A change pushed by the server; while a request is out, it is looked at once that is back.
    fn on_pushed_change(self) {
        if self.pending.get_value().is_some() {
            set_timeout(move || self.on_pushed_change(), Duration::from_millis(300));
        } else {
            self.tick();
        }
    }

    /// The live refresh: skipped while a request is out, or while the admin is on a control
    /// among the rows (redrawing them would take the focus away).
    fn tick(self) {
        let busy = self.pending.get_value().is_some();
        let focus_in_rows = self.part("results").is_some_and(|rows| {
            document()
                .active_element()
                .is_some_and(|el| rows.contains(Some(&el)))
        });
        if !busy && !focus_in_rows && !document().hidden() {
            self.refresh(true);
        }
    }

    /// Queues a manual attempt for the row's delivery, then redraws the rows.
    fn retry(self, id: Uuid, form: HtmlFormElement) {
        // One click, one attempt: the button stays off until the row is drawn again.
        let button = form.query_selector("button").ok().flatten();
        if let Some(button) = &button {
            let _ = button.set_attribute("disabled", "");
        }
        spawn_local(async move {
            match retry_delivery(id).await {
                Ok(()) => {
                    self.error.set(None);
                    self.refresh(true);
                }
                Err(err) => {
                    if let Some(button) = button {
                        let _ = button.remove_attribute("disabled");
                    }
                    self.fail("Retry failed", err);
                }
            }
        });
    }

    fn fail(self, what: &str, err: impl std::fmt::Display) {
        self.error.try_set(Some(format!("{what}: {err}")));
    }

    /// Listens for the server's word that deliveries changed (Server-Sent Events; the browser
    /// reconnects by itself if the connection drops). The page lives as long as the listener,
    /// so neither is ever removed.
    fn follow_changes(self) {
        let Ok(source) = leptos::web_sys::EventSource::new(CHANGES) else {
            return;
        };
        let on_change = Closure::<dyn Fn()>::new(move || self.on_pushed_change());
        let _ =
            source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();
        // Marks the log as listening (what an end-to-end test waits for before it publishes).
        let on_open = Closure::<dyn Fn()>::new(move || {
            if let Some(root) = self.root.get_untracked() {
                let _ = root.set_attribute("data-push", "open");
            }
        });
        let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        on_open.forget();
    }

    /// Back and Forward between views shown here change the view, not the page.
    fn follow_history(self) {
        let handle = window_event_listener(leptos::ev::popstate, move |_| {
            self.show(window().location().search().unwrap_or_default(), false);
        });
        on_cleanup(move || handle.remove());
    }

    /// Sort, pager and "Clear" links lead to another view of this log.
    fn on_click(self, ev: MouseEvent) {
        let plain =
            ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key());
        let link = target(&ev).and_then(|t| t.closest("a[href]").ok().flatten());
        let Some(view) = link
            .and_then(|a| a.get_attribute("href"))
            .and_then(|href| view_of_link(&href))
        else {
            return;
        };
        if plain && !ev.default_prevented() {
            ev.prevent_default();
            // Like a page load: the next page is read from its top.
            window().scroll_to_with_x_and_y(0.0, 0.0);
            self.show(view, true);
        }
    }

    /// A changed select in the filter form applies at once.
    fn on_change(self, ev: Event) {
        let select = target(&ev).filter(|t| t.tag_name() == "SELECT");
        if let Some(form) = select.and_then(|s| filter_form(&s)) {
            self.show(form_view(&form), true);
        }
    }

    /// The filter form's Apply (or Enter in the search box), and each row's Retry.
    fn on_submit(self, ev: SubmitEvent) {
        let Some(form) = target(&ev).and_then(|t| t.dyn_into::<HtmlFormElement>().ok()) else {
            return;
        };
        if form.get_attribute("role").as_deref() == Some("search") {
            ev.prevent_default();
            self.show(form_view(&form), true);
        } else if let Some(id) = form
            .get_attribute("data-retry")
            .and_then(|id| Uuid::parse_str(&id).ok())
        {
            ev.prevent_default();
            self.retry(id, form);
        }
    }

    /// The first row, when new deliveries would appear above it (newest first, first page).
    fn live_top(self) -> Option<Uuid> {
        let live = self
            .part("results")?
            .query_selector("[data-live=true]")
            .ok()??;
        let row = live.query_selector("[data-testid=delivery-row]").ok()??;
        Uuid::parse_str(&row.get_attribute("data-id")?).ok()
    }

    fn part(self, name: &str) -> Option<Element> {
        let root = self.root.get_untracked()?;
        root.query_selector(&format!("[data-log={name}]")).ok()?
    }

    /// Replaces a part with server HTML; a filter control that had the focus gets it back.
    fn swap(self, name: &str, html: &str) {
        let Some(part) = self.part(name) else { return };
        let focused = document()
            .active_element()
            .filter(|el| part.contains(Some(el)))
            .and_then(|el| el.get_attribute("name"));
        part.set_inner_html(html);
        crate::ui::localize_times(&part);
        let again =
            focused.and_then(|n| part.query_selector(&format!("[name={n}]")).ok().flatten());
        if let Some(el) = again.and_then(|el| el.dyn_into::<HtmlElement>().ok()) {
            let _ = el.focus();
        }
    }

    fn set_busy(self, busy: bool) {
        if let Some(results) = self.part("results") {
            let _ = results.set_attribute("aria-busy", if busy { "true" } else { "false" });
        }
    }
}

fn target(ev: &Event) -> Option<Element> {
    ev.target()?.dyn_into::<Element>().ok()
}

fn filter_form(control: &Element) -> Option<HtmlFormElement> {
    control.closest("form[role=search]").ok()??.dyn_into().ok()
}

/// The form's fields as a query string (the server drops the empty ones).
fn form_view(form: &HtmlFormElement) -> String {
    FormData::new_with_form(form)
        .and_then(|data| UrlSearchParams::new_with_str_sequence_sequence(&data))
        .map(|params| format!("?{}", String::from(params.to_string())))
        .unwrap_or_default()
}

fn push_url(view: &str) {
    if let Ok(history) = window().history() {
        let url = format!("{BASE}{view}");
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// The view a link inside the log leads to, when it leads to this log at all.
fn view_of_link(href: &str) -> Option<String> {
    let rest = href.strip_prefix(BASE)?;
    (rest.is_empty() || rest.starts_with('?')).then(|| rest.to_string())
}

fn newer_label(n: i64) -> String {
    let count = if n >= 1000 {
        "1000+".to_string()
    } else {
        n.to_string()
    };
    let noun = if n == 1 { "delivery" } else { "deliveries" };
    format!("{count} newer {noun} — show")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_to_this_log_are_views() {
        assert_eq!(view_of_link(BASE), Some(String::new()));
        assert_eq!(
            view_of_link(&format!("{BASE}?status=failed")),
            Some("?status=failed".into())
        );
        assert_eq!(
            view_of_link(&format!("{BASE}/0190a0b2-0000-7000-8000-000000000000")),
            None
        );
        assert_eq!(view_of_link("/admin/webhooks"), None);
    }

    #[test]
    fn the_newer_banner_counts_and_caps() {
        assert_eq!(newer_label(1), "1 newer delivery — show");
        assert_eq!(newer_label(7), "7 newer deliveries — show");
        assert_eq!(newer_label(1500), "1000+ newer deliveries — show");
    }
}
