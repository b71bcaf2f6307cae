use crate::domain::delivery::DeliveryStatus;
use leptos::prelude::*;

/// Success / Failed / Pending, coloured so failures stand out.
#[component]
pub fn StatusBadge(status: DeliveryStatus) -> impl IntoView {
    let colours = match status {
        DeliveryStatus::Succeeded => "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
        DeliveryStatus::Failed => "bg-red-50 text-red-700 ring-red-600/20",
        DeliveryStatus::Pending | DeliveryStatus::Retrying => {
            "bg-amber-50 text-amber-800 ring-amber-600/20"
        }
    };
    view! {
        <span
            class=format!("inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colours}")
            data-status=status.as_str()
        >
            {status.label()}
        </span>
    }
}
