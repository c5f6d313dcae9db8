//! Connector history in memory: each day changed exactly as the DynamoDB item is.

use crate::domain::ConnectorId;
use crate::history::{Day, DayUpdate};
use crate::ports::{DependencyError, HistoryReader, HistoryRecorder};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Every connector's days, in memory. Can be told to fail, like an unreachable table.
#[derive(Debug, Default)]
pub struct InMemoryHistory {
    days: Mutex<BTreeMap<(ConnectorId, NaiveDate), Day>>,
    failing: AtomicBool,
    writes: AtomicU64,
}

impl InMemoryHistory {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many history writes were made (each one write unit in DynamoDB).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Stores a whole day (the demo's history is seeded this way).
    pub fn put(&self, id: ConnectorId, day: Day) {
        self.lock().insert((id, day.date), day);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(ConnectorId, NaiveDate), Day>> {
        self.days.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> Result<(), DependencyError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(DependencyError::other(
                "memory",
                "history store set to fail",
            ))
        } else {
            Ok(())
        }
    }
}

impl HistoryRecorder for InMemoryHistory {
    async fn record(&self, id: ConnectorId, update: &DayUpdate) -> Result<(), DependencyError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.lock()
            .entry((id, update.date))
            .or_insert_with(|| Day::new(update.date))
            .apply(update);
        Ok(())
    }
}

impl HistoryReader for InMemoryHistory {
    async fn days(
        &self,
        id: ConnectorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Day>, DependencyError> {
        self.check()?;
        Ok(self
            .lock()
            .range((id, from)..=(id, to))
            .map(|(_, d)| d.clone())
            .collect())
    }
}
