//! The results of one dispatch batch and what follows from them: the state each delivery moves
//! to, the endpoints that succeeded, started failing or ran out of retries, and the hourly
//! health counts. The server only writes them (`server::dispatcher::record`); every decision is
//! made here, where it is unit-tested and mutation-tested without a database.

use crate::attempt::{FailureClass, NextStep, Trigger};
use crate::delivery::DeliveryStatus;
use crate::health::{BUCKETS, bucket_of};
use chrono::{DateTime, DurationRound, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use uuid::Uuid;

/// One attempt as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub attempt_number: i32,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub request_url: String,
    /// JSON `[[name, value], …]` of the request as sent (credentials masked).
    pub request_headers: String,
    pub response_status: Option<i16>,
    /// The response's header block as received.
    pub response_headers: Option<Vec<u8>>,
    pub response_body: Option<Vec<u8>>,
    pub truncated: bool,
    pub error_class: Option<FailureClass>,
    pub error_message: Option<String>,
}

impl AttemptRow {
    pub fn succeeded(&self) -> bool {
        self.error_class.is_none()
    }
}

/// The delivery's state after the attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate {
    pub id: Uuid,
    pub status: DeliveryStatus,
    pub attempt_count: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The lease the claim wrote: the update applies only while the row still carries it.
    pub lease: DateTime<Utc>,
}

/// A delivery put off (endpoint busy or rate-limited) until `at`; fenced like an update.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferral {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub lease: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub attempts: Vec<AttemptRow>,
    pub updates: Vec<DeliveryUpdate>,
    /// Deliveries not sent this time: due again at the time given.
    pub deferred: Vec<Deferral>,
    /// Deliveries of disabled or deleted endpoints: failed without an attempt, as
    /// (delivery, lease) — fenced by the lease like every other result.
    pub abandoned: Vec<(Uuid, DateTime<Utc>)>,
    /// Endpoints that answered 410 Gone.
    pub gone: Vec<Uuid>,
}

/// One endpoint's outcomes in one hour, as counted from a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCell {
    pub endpoint_id: Uuid,
    pub hour: DateTime<Utc>,
    pub succeeded: i32,
    pub failed: i32,
    pub latency_buckets: [i32; BUCKETS],
}

impl HealthCell {
    /// The latency counts as an array literal (`{1,0,…}`): PostgreSQL takes no
    /// two-dimensional array parameter, so a batch of cells sends one literal per cell.
    pub fn latency_literal(&self) -> String {
        let counts: Vec<String> = self.latency_buckets.iter().map(i32::to_string).collect();
        format!("{{{}}}", counts.join(","))
    }
}

/// The delivery's state after an attempt whose next step is `step`, decided at `now`.
pub fn settled(step: &NextStep, now: DateTime<Utc>) -> (DeliveryStatus, Option<DateTime<Utc>>) {
    match step {
        NextStep::Succeeded => (DeliveryStatus::Succeeded, None),
        NextStep::RetryIn(delay) => {
            let at = now.checked_add_signed(chrono_delay(*delay));
            (
                DeliveryStatus::Retrying,
                Some(at.unwrap_or(DateTime::<Utc>::MAX_UTC)),
            )
        }
        NextStep::Failed | NextStep::FailedAndDisableEndpoint => (DeliveryStatus::Failed, None),
    }
}

/// A delay as a chrono duration; one too long to represent is as long as can be.
pub fn chrono_delay(delay: Duration) -> chrono::Duration {
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
            && self.updates.is_empty()
            && self.deferred.is_empty()
            && self.abandoned.is_empty()
    }

    /// Every result held by the batches, as one batch to write together.
    pub fn absorb(&mut self, other: Batch) {
        self.attempts.extend(other.attempts);
        self.updates.extend(other.updates);
        self.deferred.extend(other.deferred);
        self.abandoned.extend(other.abandoned);
        self.gone.extend(other.gone);
    }

    /// How many results the batch holds (each a row to write).
    pub fn len(&self) -> usize {
        self.updates.len() + self.deferred.len() + self.abandoned.len()
    }

    /// Adds an attempt and the state its `step` moves the delivery to (claimed under `lease`).
    pub fn add_result(
        &mut self,
        attempt: AttemptRow,
        step: &NextStep,
        lease: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let (status, next_attempt_at) = settled(step, now);
        if *step == NextStep::FailedAndDisableEndpoint {
            self.gone.push(attempt.endpoint_id);
        }
        self.updates.push(DeliveryUpdate {
            id: attempt.delivery_id,
            status,
            attempt_count: attempt.attempt_number,
            next_attempt_at,
            lease,
        });
        self.attempts.push(attempt);
    }

    /// The batch cut into one batch per delivery, for writing result by result.
    pub fn singles(&self) -> Vec<Batch> {
        let mut out: Vec<Batch> = self
            .updates
            .iter()
            .map(|update| {
                let attempts: Vec<AttemptRow> = self
                    .attempts
                    .iter()
                    .filter(|a| a.delivery_id == update.id)
                    .cloned()
                    .collect();
                let gone = attempts
                    .iter()
                    .filter(|a| self.gone.contains(&a.endpoint_id))
                    .map(|a| a.endpoint_id)
                    .collect();
                Batch {
                    attempts,
                    updates: vec![update.clone()],
                    gone,
                    ..Batch::default()
                }
            })
            .collect();
        out.extend(self.deferred.iter().map(|d| Batch {
            deferred: vec![d.clone()],
            ..Batch::default()
        }));
        out.extend(self.abandoned.iter().map(|abandoned| Batch {
            abandoned: vec![*abandoned],
            ..Batch::default()
        }));
        out
    }

    /// What is left of a result that could not be stored because of `cause` (the database's
    /// error): its attempts with status and timing but nothing the receiver sent, class
    /// `unrecordable` with a message saying why, and the delivery failed (for an admin to
    /// retry, rather than sent again blindly when its lease ends).
    pub fn unrecordable(&self, cause: &str) -> Batch {
        // The cause may quote the receiver's bytes; a NUL would make the message unstorable too.
        let message = format!(
            "the attempt happened but its result could not be stored ({}); retry it by hand",
            cause.replace('\0', "")
        );
        let attempts = self
            .attempts
            .iter()
            .map(|a| AttemptRow {
                request_headers: "[]".into(),
                response_headers: None,
                response_body: None,
                truncated: false,
                error_class: Some(FailureClass::Unrecordable),
                error_message: Some(message.clone()),
                ..a.clone()
            })
            .collect();
        let updates = self
            .updates
            .iter()
            .map(|u| DeliveryUpdate {
                status: DeliveryStatus::Failed,
                next_attempt_at: None,
                ..u.clone()
            })
            .collect();
        Batch {
            attempts,
            updates,
            ..self.clone()
        }
    }

    /// Endpoints with at least one successful attempt in the batch, sorted.
    pub fn succeeded_endpoints(&self) -> Vec<Uuid> {
        let set: BTreeSet<Uuid> = self
            .attempts
            .iter()
            .filter(|a| a.succeeded())
            .map(|a| a.endpoint_id)
            .collect();
        set.into_iter().collect()
    }

    /// Endpoints whose every attempt in the batch failed, sorted, given the batch's
    /// `succeeded_endpoints()`: one success in the batch means the endpoint works, whatever
    /// else failed.
    pub fn failing_endpoints(&self, succeeded: &[Uuid]) -> Vec<Uuid> {
        let set: BTreeSet<Uuid> = self
            .attempts
            .iter()
            .filter(|a| !a.succeeded() && succeeded.binary_search(&a.endpoint_id).is_err())
            .map(|a| a.endpoint_id)
            .collect();
        set.into_iter().collect()
    }

    /// Endpoints with a delivery that failed for good on an automatic attempt (its retries are
    /// over), sorted, for the "retries exhausted" alert. A manual attempt that fails ends its
    /// delivery too, but no retries ran out.
    pub fn exhausted_endpoints(&self) -> Vec<Uuid> {
        let failed: BTreeSet<Uuid> = self
            .updates
            .iter()
            .filter(|u| u.status == DeliveryStatus::Failed)
            .map(|u| u.id)
            .collect();
        let set: BTreeSet<Uuid> = self
            .attempts
            .iter()
            .filter(|a| a.trigger == Trigger::Auto && failed.contains(&a.delivery_id))
            .map(|a| a.endpoint_id)
            .collect();
        set.into_iter().collect()
    }

    /// The batch's attempts counted per endpoint and hour, as a [`HealthTally`] would (what the
    /// unit tests check the counting by).
    #[cfg(test)]
    pub fn health_cells(&self) -> Vec<HealthCell> {
        let mut tally = HealthTally::default();
        tally.count(self);
        tally.take()
    }
}

/// Health counts gathered over many batches, to be written together.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HealthTally {
    cells: BTreeMap<(Uuid, DateTime<Utc>), HealthCell>,
}

impl HealthTally {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The cells counted so far, in key order: every writer then locks the health rows in the
    /// same order and two never deadlock. The tally is left empty.
    pub fn take(&mut self) -> Vec<HealthCell> {
        std::mem::take(&mut self.cells).into_values().collect()
    }

    /// Puts back cells that could not be written, so that they are written with the next.
    pub fn restore(&mut self, cells: Vec<HealthCell>) {
        for cell in cells {
            let kept = self.cell((cell.endpoint_id, cell.hour));
            kept.succeeded += cell.succeeded;
            kept.failed += cell.failed;
            for (kept, more) in kept.latency_buckets.iter_mut().zip(cell.latency_buckets) {
                *kept += more;
            }
        }
    }

    fn cell(&mut self, key: (Uuid, DateTime<Utc>)) -> &mut HealthCell {
        self.cells.entry(key).or_insert_with(|| HealthCell {
            endpoint_id: key.0,
            hour: key.1,
            succeeded: 0,
            failed: 0,
            latency_buckets: [0; BUCKETS],
        })
    }

    /// Counts the batch's attempts per endpoint and hour of their start.
    pub fn count(&mut self, batch: &Batch) {
        for attempt in &batch.attempts {
            let hour = attempt
                .started_at
                .duration_trunc(chrono::Duration::hours(1))
                .unwrap_or(attempt.started_at);
            let cell = self.cell((attempt.endpoint_id, hour));
            if attempt.succeeded() {
                cell.succeeded += 1;
            } else {
                cell.failed += 1;
            }
            let bucket = bucket_of(u32::try_from(attempt.duration_ms).unwrap_or(0));
            cell.latency_buckets[bucket] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap()
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// An attempt of delivery `delivery` to endpoint `endpoint`; `class` None is a success.
    fn attempt(delivery: u128, endpoint: u128, class: Option<FailureClass>) -> AttemptRow {
        AttemptRow {
            id: id(1000 + delivery),
            delivery_id: id(delivery),
            endpoint_id: id(endpoint),
            attempt_number: 2,
            trigger: Trigger::Auto,
            triggered_by: None,
            started_at: at(10, 59, 30),
            duration_ms: 40,
            request_url: "https://example.com/hook".into(),
            request_headers: r#"[["webhook-id","msg_1"]]"#.into(),
            response_status: Some(if class.is_none() { 200 } else { 500 }),
            response_headers: Some(b"server: x\r\n".to_vec()),
            response_body: Some(b"ok".to_vec()),
            truncated: true,
            error_class: class,
            error_message: class.map(|_| "endpoint answered HTTP 500".into()),
        }
    }

    fn batch_of(results: Vec<(AttemptRow, NextStep)>) -> Batch {
        let mut batch = Batch::default();
        for (row, step) in results {
            batch.add_result(row, &step, at(10, 0, 15), at(11, 0, 0));
        }
        batch
    }

    const FAIL: Option<FailureClass> = Some(FailureClass::HttpStatus);

    #[test]
    fn each_next_step_moves_the_delivery_to_its_state() {
        let now = at(11, 0, 0);
        assert_eq!(
            settled(&NextStep::Succeeded, now),
            (DeliveryStatus::Succeeded, None)
        );
        assert_eq!(
            settled(&NextStep::RetryIn(Duration::from_secs(90)), now),
            (DeliveryStatus::Retrying, Some(at(11, 1, 30)))
        );
        assert_eq!(
            settled(&NextStep::RetryIn(Duration::MAX), now),
            (DeliveryStatus::Retrying, Some(DateTime::<Utc>::MAX_UTC))
        );
        assert_eq!(
            settled(&NextStep::Failed, now),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            settled(&NextStep::FailedAndDisableEndpoint, now),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn a_delay_too_long_for_chrono_is_the_longest_there_is() {
        assert_eq!(
            chrono_delay(Duration::from_millis(1500)),
            chrono::Duration::milliseconds(1500)
        );
        assert_eq!(chrono_delay(Duration::MAX), chrono::Duration::MAX);
    }

    #[test]
    fn a_result_adds_its_attempt_and_the_deliverys_new_state_under_its_lease() {
        let row = attempt(1, 7, FAIL);
        let batch = batch_of(vec![(
            row.clone(),
            NextStep::RetryIn(Duration::from_secs(60)),
        )]);
        assert_eq!(batch.attempts, vec![row]);
        assert_eq!(
            batch.updates,
            vec![DeliveryUpdate {
                id: id(1),
                status: DeliveryStatus::Retrying,
                attempt_count: 2,
                next_attempt_at: Some(at(11, 1, 0)),
                lease: at(10, 0, 15),
            }]
        );
        assert!(batch.gone.is_empty());
        assert!(!batch.is_empty());
    }

    #[test]
    fn only_a_410_marks_the_endpoint_gone() {
        let batch = batch_of(vec![
            (attempt(1, 7, FAIL), NextStep::FailedAndDisableEndpoint),
            (attempt(2, 8, FAIL), NextStep::Failed),
        ]);
        assert_eq!(batch.gone, vec![id(7)]);
        assert_eq!(batch.updates[0].status, DeliveryStatus::Failed);
    }

    #[test]
    fn a_batch_is_empty_only_without_attempts_updates_deferrals_and_abandoned_deliveries() {
        assert!(Batch::default().is_empty());
        let lease = at(10, 0, 0);
        // An update alone (a result whose attempt row was written elsewhere) is still work.
        let update_only = Batch {
            updates: batch_of(vec![(attempt(1, 7, None), NextStep::Succeeded)]).updates,
            ..Batch::default()
        };
        assert!(!update_only.is_empty());
        let deferred = Batch {
            deferred: vec![Deferral {
                id: id(1),
                at: lease,
                lease,
            }],
            ..Batch::default()
        };
        assert!(!deferred.is_empty());
        let abandoned = Batch {
            abandoned: vec![(id(1), lease)],
            ..Batch::default()
        };
        assert!(!abandoned.is_empty());
    }

    #[test]
    fn singles_keep_each_result_with_its_own_attempt_and_gone_endpoint() {
        let lease = at(10, 0, 0);
        let mut batch = batch_of(vec![
            (attempt(1, 7, FAIL), NextStep::FailedAndDisableEndpoint),
            (attempt(2, 8, None), NextStep::Succeeded),
        ]);
        batch.deferred.push(Deferral {
            id: id(3),
            at: at(10, 0, 1),
            lease,
        });
        batch.abandoned.push((id(4), lease));
        let singles = batch.singles();
        assert_eq!(singles.len(), 4);
        assert_eq!(singles[0].attempts, vec![batch.attempts[0].clone()]);
        assert_eq!(singles[0].updates, vec![batch.updates[0].clone()]);
        assert_eq!(singles[0].gone, vec![id(7)]);
        assert_eq!(singles[1].attempts, vec![batch.attempts[1].clone()]);
        assert!(singles[1].gone.is_empty());
        assert_eq!(singles[2].deferred, batch.deferred);
        assert!(singles[2].updates.is_empty() && singles[2].attempts.is_empty());
        assert_eq!(singles[3].abandoned, batch.abandoned);
        assert!(singles[3].updates.is_empty() && singles[3].deferred.is_empty());
    }

    #[test]
    fn an_unrecordable_result_keeps_timing_drops_what_the_receiver_sent_and_fails() {
        let batch = batch_of(vec![(
            attempt(1, 7, None),
            NextStep::RetryIn(Duration::from_secs(5)),
        )]);
        let fallback = batch.unrecordable("invalid byte sequence \0 in \"UTF8\"");
        let kept = &fallback.attempts[0];
        let original = &batch.attempts[0];
        assert_eq!(
            (
                kept.id,
                kept.started_at,
                kept.duration_ms,
                kept.response_status
            ),
            (
                original.id,
                original.started_at,
                original.duration_ms,
                original.response_status
            )
        );
        assert_eq!(kept.request_headers, "[]");
        assert_eq!(kept.response_headers, None);
        assert_eq!(kept.response_body, None);
        assert!(!kept.truncated);
        assert_eq!(kept.error_class, Some(FailureClass::Unrecordable));
        assert_eq!(
            kept.error_message.as_deref(),
            Some(
                "the attempt happened but its result could not be stored \
                 (invalid byte sequence  in \"UTF8\"); retry it by hand"
            )
        );
        let update = &fallback.updates[0];
        assert_eq!(update.status, DeliveryStatus::Failed);
        assert_eq!(update.next_attempt_at, None);
        assert_eq!(
            (update.id, update.lease, update.attempt_count),
            (id(1), at(10, 0, 15), 2)
        );
    }

    #[test]
    fn one_success_in_a_batch_means_the_endpoint_works() {
        let batch = batch_of(vec![
            (attempt(1, 7, FAIL), NextStep::Failed),
            (attempt(2, 7, None), NextStep::Succeeded),
            (attempt(3, 9, FAIL), NextStep::Failed),
            (attempt(4, 8, FAIL), NextStep::Failed),
            (attempt(5, 9, FAIL), NextStep::Failed),
            (attempt(6, 7, None), NextStep::Succeeded),
        ]);
        assert_eq!(batch.succeeded_endpoints(), vec![id(7)]);
        let succeeded = batch.succeeded_endpoints();
        assert_eq!(batch.failing_endpoints(&succeeded), vec![id(8), id(9)]);
    }

    #[test]
    fn retries_run_out_only_for_automatic_attempts_that_failed_for_good() {
        let manual = AttemptRow {
            trigger: Trigger::Manual,
            ..attempt(3, 9, FAIL)
        };
        let batch = batch_of(vec![
            (attempt(1, 8, FAIL), NextStep::Failed),
            (
                attempt(2, 7, FAIL),
                NextStep::RetryIn(Duration::from_secs(60)),
            ),
            (manual, NextStep::Failed),
            (attempt(4, 6, FAIL), NextStep::FailedAndDisableEndpoint),
            (attempt(5, 8, FAIL), NextStep::Failed),
            (attempt(6, 5, None), NextStep::Succeeded),
        ]);
        assert_eq!(batch.exhausted_endpoints(), vec![id(6), id(8)]);
    }

    #[test]
    fn health_counts_each_endpoint_per_hour_with_latency_buckets() {
        let mut late = attempt(3, 7, None);
        late.started_at = at(11, 0, 0);
        late.duration_ms = 30_000;
        let mut slow_failure = attempt(2, 7, FAIL);
        slow_failure.duration_ms = 51;
        let mut negative = attempt(4, 6, FAIL);
        negative.duration_ms = -5;
        let batch = batch_of(vec![
            (attempt(1, 7, None), NextStep::Succeeded),
            (slow_failure, NextStep::Failed),
            (late, NextStep::Succeeded),
            (negative, NextStep::Failed),
        ]);
        let mut expected_first = [0; BUCKETS];
        expected_first[0] = 1;
        let mut seven_ten = [0; BUCKETS];
        seven_ten[1] = 1;
        seven_ten[2] = 1;
        let mut seven_eleven = [0; BUCKETS];
        seven_eleven[BUCKETS - 1] = 1;
        assert_eq!(
            batch.health_cells(),
            vec![
                HealthCell {
                    endpoint_id: id(6),
                    hour: at(10, 0, 0),
                    succeeded: 0,
                    failed: 1,
                    latency_buckets: expected_first,
                },
                HealthCell {
                    endpoint_id: id(7),
                    hour: at(10, 0, 0),
                    succeeded: 1,
                    failed: 1,
                    latency_buckets: seven_ten,
                },
                HealthCell {
                    endpoint_id: id(7),
                    hour: at(11, 0, 0),
                    succeeded: 1,
                    failed: 0,
                    latency_buckets: seven_eleven,
                },
            ]
        );
        assert_eq!(
            batch.health_cells()[1].latency_literal(),
            "{0,1,1,0,0,0,0,0,0,0}"
        );
    }

    #[test]
    fn batches_written_together_keep_every_result_and_health_adds_up_across_them() {
        let first = batch_of(vec![
            (attempt(1, 7, None), NextStep::Succeeded),
            (attempt(4, 6, FAIL), NextStep::FailedAndDisableEndpoint),
        ]);
        let mut second = batch_of(vec![(attempt(2, 7, FAIL), NextStep::Failed)]);
        second.deferred.push(Deferral {
            id: id(3),
            at: at(12, 0, 0),
            lease: at(10, 0, 15),
        });
        let mut together = first.clone();
        together.absorb(second.clone());
        assert_eq!(together.len(), 4);
        assert_eq!(together.attempts.len(), 3);
        assert_eq!(together.gone, vec![id(6)]);
        assert_eq!(together.deferred, second.deferred);

        let mut tally = HealthTally::default();
        tally.count(&first);
        tally.count(&second);
        let counted = tally.take();
        assert_eq!(counted, together.health_cells());
        assert!(tally.is_empty(), "taking empties the tally");

        // Cells that could not be written come back and add to what was counted since.
        tally.count(&first);
        tally.restore(counted);
        let seven = tally.take().into_iter().find(|c| c.endpoint_id == id(7));
        let seven = seven.unwrap();
        assert_eq!((seven.succeeded, seven.failed), (2, 1));
        assert_eq!(seven.latency_buckets.iter().sum::<i32>(), 3);
    }
}
