//! A probe result writer that also records each written result in the connector's
//! history: the row first, then one history write. A failed history write is logged and
//! counted, and never fails the result: the row holds the connector's state, history is an
//! addition to it.

use crate::domain::ConnectorId;
use crate::history::{Check, DayUpdate};
use crate::ports::{DependencyError, HistoryRecorder, ProbeResultWriter, WriteOutcome};
use crate::probe::outcome::ProbeRecord;
use std::sync::atomic::{AtomicU64, Ordering};

/// The check a probe result records in history.
pub fn check_of(record: &ProbeRecord) -> Check {
    Check::new(
        record.last_checked,
        record.state,
        record.response_time_ms,
        record.error_message.as_deref(),
    )
}

/// Writes results with `rows`, then records each one written in `history`.
#[derive(Debug, Default)]
pub struct HistoryWriter<W, H> {
    rows: W,
    history: H,
    failures: AtomicU64,
}

impl<W, H> HistoryWriter<W, H> {
    pub fn new(rows: W, history: H) -> Self {
        Self {
            rows,
            history,
            failures: AtomicU64::new(0),
        }
    }

    /// History writes that failed since this writer was made.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    pub fn history(&self) -> &H {
        &self.history
    }
}

impl<W: ProbeResultWriter, H: HistoryRecorder> ProbeResultWriter for HistoryWriter<W, H> {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        let outcome = self.rows.write(record).await?;
        // A result not written (the connector deleted or changed, or a newer result there)
        // is not the connector's history either.
        if outcome == WriteOutcome::Written {
            self.record(record.id, &DayUpdate::of(&check_of(record)))
                .await;
        }
        Ok(outcome)
    }

    fn history_write_failures(&self) -> u64 {
        self.failures()
    }
}

impl<W, H: HistoryRecorder> HistoryWriter<W, H> {
    async fn record(&self, id: ConnectorId, update: &DayUpdate) {
        if let Err(e) = self.history.record(id, update).await {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                connector_id = id.get(),
                service = e.service(),
                kind = e.kind(),
                error = %e,
                history_write_failures = failures,
                "could not record the check in the connector's history; its result is written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{InMemoryHistory, InMemoryProbeStore};
    use crate::domain::{FeedType, State};
    use crate::ports::HistoryReader;
    use crate::probe::target::ProbeTarget;
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    fn record(id: u32, state: State, at_minute: u32) -> ProbeRecord {
        let at = Utc.with_ymd_and_hms(2025, 11, 5, 8, at_minute, 15).unwrap();
        ProbeRecord {
            id: ConnectorId::new(id).unwrap(),
            state,
            error_message: (state == State::Error).then(|| "HTTP 503 Service Unavailable.".into()),
            last_checked: at,
            response_time_ms: Some(40),
            http_status: Some(200),
            consecutive_failures: 0,
            state_changed_at: at,
            certificate_expires_at: None,
            generation: None,
        }
    }

    fn store() -> Arc<InMemoryProbeStore> {
        Arc::new(InMemoryProbeStore::new([ProbeTarget::new(
            ConnectorId::new(1).unwrap(),
            "http://c1.test",
            FeedType::Generic,
        )]))
    }

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2025, 11, 5).unwrap()
    }

    #[tokio::test]
    async fn a_written_result_is_recorded_and_a_superseded_one_is_not() {
        let rows = store();
        let history = Arc::new(InMemoryHistory::default());
        let writer = HistoryWriter::new(rows.clone(), history.clone());
        let id = ConnectorId::new(1).unwrap();

        assert_eq!(
            writer.write(&record(1, State::Healthy, 1)).await,
            Ok(WriteOutcome::Written)
        );
        assert_eq!(
            writer.write(&record(1, State::Error, 2)).await,
            Ok(WriteOutcome::Written)
        );
        // An older result than the row holds is superseded: not history either.
        assert_eq!(
            writer.write(&record(1, State::Healthy, 0)).await,
            Ok(WriteOutcome::Superseded)
        );
        let days = history.days(id, day(), day()).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].hours[8].checks, 2);
        assert_eq!(days[0].hours[8].up, 1);
        let mut checks = days[0].checks();
        checks.sort_by_key(|c| c.at);
        assert_eq!(
            checks.iter().map(|c| c.state).collect::<Vec<_>>(),
            [State::Healthy, State::Error]
        );
        assert_eq!(
            checks[1].message.as_deref(),
            Some("HTTP 503 Service Unavailable.")
        );
    }

    #[tokio::test]
    async fn a_failed_history_write_is_counted_and_the_result_stands() {
        let rows = store();
        let history = Arc::new(InMemoryHistory::default());
        history.fail(true);
        let writer = HistoryWriter::new(rows.clone(), history.clone());
        assert_eq!(
            writer.write(&record(1, State::Healthy, 1)).await,
            Ok(WriteOutcome::Written)
        );
        assert_eq!(writer.failures(), 1);
        // Through the port too (the probe function reports it), and through an Arc.
        assert_eq!(Arc::new(writer).history_write_failures(), 1);
        assert!(rows.record(ConnectorId::new(1).unwrap()).is_some());
    }

    #[tokio::test]
    async fn without_a_history_nothing_is_recorded() {
        let rows = store();
        let writer = HistoryWriter::new(rows.clone(), None::<InMemoryHistory>);
        assert_eq!(
            writer.write(&record(1, State::Healthy, 1)).await,
            Ok(WriteOutcome::Written)
        );
        assert_eq!(writer.failures(), 0);
    }
}
