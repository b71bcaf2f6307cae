//! The event stream: events in commit order from a cursor, for consumers who would rather
//! hold a connection open than poll (`GET /api/v1/events/stream`).
//!
//! Each stream is a reader task feeding a bounded buffer. The task reads from PostgreSQL, not
//! from the publish path, so a stream never slows publishing and a reconnecting client resumes
//! exactly after the last event it received (see [`db::events::StreamCursor`]: commit order,
//! not id order, so an event committed late is neither missed nor sent twice). A client that
//! leaves the buffer full for the stall limit is cut off with a message saying so.

use crate::domain::ids::{event_ref, parse_event_ref};
use crate::error::AppError;
use crate::server::changes;
use crate::server::db;
use crate::server::db::events::StreamCursor;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};
use uuid::Uuid;

/// Events waiting for a client to read them, at most.
pub const BUFFER: usize = 64;
/// Events read from PostgreSQL at a time.
const PAGE: i64 = 256;
/// How often a stream looks for events with no signal from this process (events published by
/// another Herald process, or held back by a transaction that was still running).
const POLL: Duration = Duration::from_secs(1);

/// What a stream sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// An event: its `evt_…` id and its envelope, exactly as webhooks receive it.
    Event { id: String, envelope: String },
    /// The last thing the stream says before it closes, and why.
    End { reason: String },
}

/// Where a stream starts and what it carries.
pub struct StreamRequest<'a> {
    /// The last event the client received (`Last-Event-ID`); without it, from now on.
    pub after: Option<&'a str>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// A client that leaves the buffer full this long is cut off.
    pub stall_limit: Duration,
    /// This stream's slot among the process's open streams, held while it is open.
    pub slot: OwnedSemaphorePermit,
}

/// Opens a stream: checks the request (an unknown cursor or type is an error now, not a
/// silent empty stream), then starts the reader task.
pub async fn open(
    pool: &PgPool,
    request: StreamRequest<'_>,
    closing: watch::Receiver<bool>,
) -> Result<BoxStream<'static, StreamItem>, AppError> {
    let cursor = start(pool, request.after).await?;
    if let Some(name) = &request.event_type
        && db::event_types::publish_rules(pool, name).await?.is_none()
    {
        return Err(AppError::field(
            "type",
            format!("unknown event type {name:?}; see GET /api/v1/event-types"),
        ));
    }
    let (events, received) = mpsc::channel(BUFFER);
    let (last_word, farewell) = oneshot::channel();
    let reader = Reader {
        pool: pool.clone(),
        cursor,
        event_type: request.event_type,
        stall_limit: request.stall_limit,
        events,
    };
    let slot = request.slot;
    tokio::spawn(async move {
        let _slot = slot;
        let reason = reader.run(closing).await;
        if let Some(reason) = reason {
            let _ = last_word.send(StreamItem::End { reason });
        }
    });
    Ok(items(received, farewell).boxed())
}

async fn start(pool: &PgPool, after: Option<&str>) -> Result<StreamCursor, AppError> {
    let Some(text) = after else {
        let horizon = db::events::stream_horizon(pool).await?;
        return Ok(StreamCursor {
            txid: horizon,
            id: Uuid::nil(),
        });
    };
    let unknown = || {
        AppError::field(
            "Last-Event-ID",
            "must be the id (evt_…) of an event Herald still holds; older events have been removed by retention",
        )
    };
    let id = parse_event_ref(text).ok_or_else(unknown)?;
    db::events::stream_cursor_after(pool, id)
        .await?
        .ok_or_else(unknown)
}

/// The buffered events, then the reader's last word (if it had one).
fn items(
    received: mpsc::Receiver<StreamItem>,
    farewell: oneshot::Receiver<StreamItem>,
) -> impl Stream<Item = StreamItem> {
    futures_util::stream::unfold(
        (received, Some(farewell)),
        |(mut received, farewell)| async move {
            if let Some(item) = received.recv().await {
                return Some((item, (received, farewell)));
            }
            let last = farewell?.await.ok()?;
            Some((last, (received, None)))
        },
    )
}

struct Reader {
    pool: PgPool,
    cursor: StreamCursor,
    event_type: Option<String>,
    stall_limit: Duration,
    events: mpsc::Sender<StreamItem>,
}

impl Reader {
    /// Feeds the buffer until the client leaves (`None`) or the stream must end (the reason).
    async fn run(mut self, closing: watch::Receiver<bool>) -> Option<String> {
        let mut published = changes::watch_events();
        loop {
            let full = match self.read_page().await {
                Ok(Some(full)) => full,
                Ok(None) => return None,
                Err(reason) => return Some(reason),
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = published.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = self.events.closed() => return None,
                _ = changes::closed(closing.clone()) => {
                    return Some("Herald is shutting down; reconnect with Last-Event-ID to resume".into());
                }
            }
        }
    }

    /// Reads one page into the buffer: whether the page was full (more may be waiting), or
    /// `None` when the client has gone.
    async fn read_page(&mut self) -> Result<Option<bool>, String> {
        let failed = |err: sqlx::Error| {
            tracing::error!(error = %err, "reading the event stream failed");
            "Herald could not read events; reconnect with Last-Event-ID to resume".to_string()
        };
        let horizon = db::events::stream_horizon(&self.pool)
            .await
            .map_err(failed)?;
        let page = db::events::stream_page(
            &self.pool,
            self.cursor,
            horizon,
            self.event_type.as_deref(),
            PAGE,
        )
        .await
        .map_err(failed)?;
        let full = page.len() as i64 >= PAGE;
        for (at, event) in page {
            let item = StreamItem::Event {
                id: event_ref(event.id),
                envelope: event.body,
            };
            match self.events.send_timeout(item, self.stall_limit).await {
                Ok(()) => self.cursor = at,
                Err(mpsc::error::SendTimeoutError::Closed(_)) => return Ok(None),
                Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                    return Err(self.stalled());
                }
            }
        }
        if !full {
            // Everything below the horizon that matches has been read: skip past the rest, so
            // a filtered stream does not read the same unmatched events again.
            let floor = StreamCursor {
                txid: horizon,
                id: Uuid::nil(),
            };
            self.cursor = self.cursor.max(floor);
        }
        Ok(Some(full))
    }

    fn stalled(&self) -> String {
        metrics::counter!("herald_event_streams_cut_total").increment(1);
        format!(
            "this stream was closed because {BUFFER} events waited unread for {} s; reconnect with Last-Event-ID to resume",
            self.stall_limit.as_secs()
        )
    }
}
