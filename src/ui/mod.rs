//! Pages and components of the portal.

pub mod components;
pub mod layout;
pub mod pages;

/// Sets `data-hydrated` on `<body>` once the page's islands are live, so tests (and curious
/// users) can tell a page that reacts from one that was only rendered on the server.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

/// The browser's offset from UTC now, in minutes east (`None` on the server). Forms send it
/// with the date-times they carry, so a time typed in India means that time in India.
pub fn browser_offset() -> Option<i32> {
    #[cfg(feature = "hydrate")]
    {
        Some(-(js_sys::Date::new_0().get_timezone_offset() as i32))
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// On the server there is no browser zone: the page says UTC.
#[cfg(not(feature = "hydrate"))]
pub fn localize_times(_root: &leptos::web_sys::Element) {}

/// Shows every `<time datetime>` under `root` in the browser's zone (the server wrote UTC,
/// which stays in the title), and fills every `tz` field with the browser's offset. Run once
/// the islands are live, and again on HTML a page swaps in.
#[cfg(feature = "hydrate")]
pub fn localize_times(root: &leptos::web_sys::Element) {
    use crate::domain::time::zone_label;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    if let Ok(fields) = root.query_selector_all("input[name=tz]") {
        let offset = browser_offset().unwrap_or(0).to_string();
        for field in (0..fields.length()).filter_map(|i| fields.item(i)) {
            if let Some(field) = field.dyn_ref::<leptos::web_sys::Element>() {
                let _ = field.set_attribute("value", &offset);
            }
        }
    }
    let Ok(times) = root.query_selector_all("time[datetime]") else {
        return;
    };
    for node in (0..times.length()).filter_map(|i| times.item(i)) {
        let Some(el) = node.dyn_ref::<leptos::web_sys::Element>() else {
            continue;
        };
        let Some(instant) = el.get_attribute("datetime") else {
            continue;
        };
        let ms = js_sys::Date::parse(&instant);
        if ms.is_nan() {
            continue;
        }
        let d = js_sys::Date::new(&JsValue::from_f64(ms));
        let offset = -(d.get_timezone_offset() as i32);
        let text = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes(),
            d.get_seconds(),
            zone_label(offset)
        );
        if el.has_attribute("data-relative") {
            // "5 min ago" stays; the hover tells the time, here and in UTC.
            let utc = el.get_attribute("title").unwrap_or_default();
            let _ = el.set_attribute("title", &format!("{text} · {utc}"));
        } else {
            el.set_text_content(Some(&text));
        }
    }
}
