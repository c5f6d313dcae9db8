//! In-memory probe targets, result writer and state-change events, with the same conditional-write rules as the
//! DynamoDB adapter; used by the probe function's tests.

use crate::domain::ConnectorId;
use crate::ports::{
    DependencyError, ProbeResultWriter, ProbeTargetReader, StateChangePublisher, WriteOutcome,
};
use crate::probe::events::StateChange;
use crate::probe::outcome::ProbeRecord;
use crate::probe::target::{PreviousResult, ProbeTarget};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct Row {
    target: ProbeTarget,
    record: Option<ProbeRecord>,
}

/// Connector rows in memory: what the prober reads and where it writes.
#[derive(Debug, Default)]
pub struct InMemoryProbeStore {
    rows: Mutex<BTreeMap<ConnectorId, Row>>,
    write_calls: AtomicU64,
    failing_writes: AtomicU32,
}

impl InMemoryProbeStore {
    pub fn new(targets: impl IntoIterator<Item = ProbeTarget>) -> Self {
        let rows = targets
            .into_iter()
            .map(|target| {
                (
                    target.id,
                    Row {
                        target,
                        record: None,
                    },
                )
            })
            .collect();
        Self {
            rows: Mutex::new(rows),
            ..Self::default()
        }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<ConnectorId, Row>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last result written for `id`.
    pub fn record(&self, id: ConnectorId) -> Option<ProbeRecord> {
        self.rows().get(&id).and_then(|r| r.record.clone())
    }

    /// Whether a row with this id exists.
    pub fn contains(&self, id: ConnectorId) -> bool {
        self.rows().contains_key(&id)
    }

    /// Deletes a row, like an operator removing a connector during a run.
    pub fn delete(&self, id: ConnectorId) {
        self.rows().remove(&id);
    }

    /// Changes a row's settings, like an operator during a run: `change` edits its target,
    /// and the row gets a new generation (a probe of what it was is no longer written).
    pub fn change(&self, id: ConnectorId, change: impl FnOnce(&mut ProbeTarget)) {
        if let Some(row) = self.rows().get_mut(&id) {
            change(&mut row.target);
            row.target.generation = Some(row.target.generation.map_or(1, |g| g + 1));
        }
    }

    /// How many writes were attempted.
    pub fn write_calls(&self) -> u64 {
        self.write_calls.load(Ordering::SeqCst)
    }

    /// Makes the next `count` writes fail like an unreachable table.
    pub fn fail_next_writes(&self, count: u32) {
        self.failing_writes.store(count, Ordering::SeqCst);
    }
}

impl Row {
    /// The target as a read of the row sees it: its previous result is the last one
    /// written, as in the table.
    fn read(&self) -> ProbeTarget {
        let mut target = self.target.clone();
        if let Some(r) = &self.record {
            target.previous = PreviousResult {
                state: Some(r.state),
                last_checked: Some(r.last_checked),
                consecutive_failures: r.consecutive_failures,
                state_changed_at: Some(r.state_changed_at),
            };
        }
        target
    }
}

impl ProbeTargetReader for InMemoryProbeStore {
    async fn targets(&self) -> Result<Vec<ProbeTarget>, DependencyError> {
        Ok(self.rows().values().map(Row::read).collect())
    }

    async fn target(&self, id: ConnectorId) -> Result<Option<ProbeTarget>, DependencyError> {
        Ok(self.rows().get(&id).map(Row::read))
    }
}

impl ProbeResultWriter for InMemoryProbeStore {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        self.write_calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failing_writes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(DependencyError::other("in-memory store", "told to fail"));
        }
        let mut rows = self.rows();
        let Some(row) = rows.get_mut(&record.id) else {
            return Ok(WriteOutcome::Superseded);
        };
        if row.target.generation != record.generation {
            return Ok(WriteOutcome::Superseded);
        }
        let stored = row
            .record
            .as_ref()
            .map(|r| r.last_checked)
            .or(row.target.previous.last_checked);
        if stored.is_some_and(|at| at >= record.last_checked) {
            return Ok(WriteOutcome::Superseded);
        }
        row.record = Some(record.clone());
        Ok(WriteOutcome::Written)
    }
}

/// State-change events kept in memory; can be told to refuse the next ones.
#[derive(Debug, Default)]
pub struct InMemoryEvents {
    published: Mutex<Vec<StateChange>>,
    failing: AtomicU32,
    attempts: AtomicU64,
}

impl InMemoryEvents {
    /// The events published so far, in order.
    pub fn published(&self) -> Vec<StateChange> {
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many publishes were attempted (refused ones included).
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Makes the next `count` publishes fail like a refused `PutEvents` entry.
    pub fn fail_next(&self, count: u32) {
        self.failing.store(count, Ordering::SeqCst);
    }
}

impl StateChangePublisher for InMemoryEvents {
    async fn publish(&self, change: &StateChange) -> Result<(), DependencyError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(DependencyError::other("in-memory events", "told to fail"));
        }
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(change.clone());
        Ok(())
    }
}
