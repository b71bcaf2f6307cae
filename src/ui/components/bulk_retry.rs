//! "Retry all failed matching this filter": shows the count, asks to confirm, starts the
//! background job and shows its progress until it finishes.

use crate::api::deliveries::{bulk_job, bulk_retry_count, start_bulk_retry};
use crate::domain::delivery::JobProgress;
use crate::ui::components::poll::poll_until;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

#[component]
pub fn BulkRetry(view: Signal<String>, on_done: Callback<()>) -> impl IntoView {
    let confirming = RwSignal::new(None::<i64>);
    let job = RwSignal::new(None::<JobProgress>);
    let error = RwSignal::new(None::<String>);
    let ask = move |_| {
        error.set(None);
        spawn_local(async move {
            match bulk_retry_count(view.get_untracked()).await {
                Ok(count) => confirming.set(Some(count)),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    let start = move |_| {
        confirming.set(None);
        spawn_local(async move {
            match start_bulk_retry(view.get_untracked()).await {
                Ok(progress) => {
                    job.set(Some(progress));
                    follow(job, on_done);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <div class="flex items-center gap-2 text-sm" data-testid="bulk-retry">
            {move || match (confirming.get(), job.get()) {
                (Some(0), _) => view! {
                    <span class="text-slate-600">"No failed deliveries match this filter."</span>
                    <button type="button" class="rounded-md px-2 py-1 ring-1 ring-slate-300" on:click=move |_| confirming.set(None)>"OK"</button>
                }.into_any(),
                (Some(count), _) => view! {
                    <span role="status">{format!("Retry {count} failed {}?", if count == 1 { "delivery" } else { "deliveries" })}</span>
                    <button type="button" class="rounded-md bg-red-600 px-3 py-1.5 font-medium text-white hover:bg-red-500" on:click=start>"Retry all"</button>
                    <button type="button" class="rounded-md px-3 py-1.5 ring-1 ring-slate-300" on:click=move |_| confirming.set(None)>"Cancel"</button>
                }.into_any(),
                (None, Some(progress)) if progress.status == "running" => view! {
                    <span role="status">{format!("Retrying… {} of {} queued", progress.done, progress.total)}</span>
                }.into_any(),
                (None, Some(progress)) => view! {
                    <span role="status">{format!("Bulk retry {}: {} of {} queued", progress.status, progress.done, progress.total)}</span>
                    <button type="button" class="rounded-md px-3 py-1.5 ring-1 ring-slate-300 hover:bg-white" on:click=ask>"Retry all failed matching this filter"</button>
                }.into_any(),
                (None, None) => view! {
                    <button type="button" class="rounded-md px-3 py-1.5 ring-1 ring-slate-300 hover:bg-white" on:click=ask>"Retry all failed matching this filter"</button>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <span role="alert" class="text-red-700">{e}</span> })}
        </div>
    }
}

/// Follows the job every second until it is no longer running (an hour at most).
fn follow(job: RwSignal<Option<JobProgress>>, on_done: Callback<()>) {
    let Some(id) = job.get_untracked().map(|j| j.id) else {
        return;
    };
    poll_until(Duration::from_secs(1), 3600, move || async move {
        let Ok(progress) = bulk_job(id).await else {
            return false;
        };
        let finished = progress.status != "running";
        job.try_set(Some(progress));
        if finished {
            on_done.run(());
        }
        finished
    });
}
