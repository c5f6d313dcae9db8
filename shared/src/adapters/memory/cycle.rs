//! In-memory cycles, claims and probe queue, with the same rules as the DynamoDB and SQS
//! adapters; used by the probe function's tests and the fan-out simulation.

use super::InMemoryProbeStore;
use crate::cycle::{Batch, BatchQueue, Claim, CycleId, CycleLedger};
use crate::domain::ConnectorId;
use crate::ports::{DependencyError, ProbeTargetReader};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Cycles begun and claims held, over an in-memory connector table.
#[derive(Debug)]
pub struct InMemoryLedger {
    store: Arc<InMemoryProbeStore>,
    last_cycle: Mutex<Option<CycleId>>,
    claims: Mutex<HashMap<ConnectorId, (CycleId, DateTime<Utc>)>>,
    claims_taken: AtomicU64,
}

impl InMemoryLedger {
    pub fn new(store: Arc<InMemoryProbeStore>) -> Self {
        Self {
            store,
            last_cycle: Mutex::new(None),
            claims: Mutex::new(HashMap::new()),
            claims_taken: AtomicU64::new(0),
        }
    }

    /// How many claims were granted.
    pub fn claims_taken(&self) -> u64 {
        self.claims_taken.load(Ordering::SeqCst)
    }
}

impl CycleLedger for InMemoryLedger {
    async fn begin_cycle(&self, cycle: CycleId) -> Result<bool, DependencyError> {
        let mut last = self.last_cycle.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| l >= cycle) {
            return Ok(false);
        }
        *last = Some(cycle);
        Ok(true)
    }

    async fn claim(
        &self,
        id: ConnectorId,
        cycle: CycleId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, DependencyError> {
        let Some(target) = self.store.target(id).await? else {
            return Ok(Claim::NotOurs);
        };
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((held_cycle, held_until)) = claims.get(&id) {
            let live = *held_until >= now;
            let checked_in_cycle = *held_cycle >= cycle
                && target
                    .previous
                    .last_checked
                    .is_some_and(|at| at >= cycle.start());
            if live || checked_in_cycle {
                return Ok(Claim::NotOurs);
            }
        }
        claims.insert(id, (cycle, until));
        self.claims_taken.fetch_add(1, Ordering::SeqCst);
        Ok(Claim::Taken(target))
    }
}

/// Batches sent, kept in order. Can be told to refuse every send.
#[derive(Debug, Default)]
pub struct InMemoryQueue {
    sent: Mutex<Vec<Batch>>,
    failing: AtomicBool,
}

impl InMemoryQueue {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Takes every batch sent so far.
    pub fn drain(&self) -> Vec<Batch> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl BatchQueue for InMemoryQueue {
    async fn send(&self, batches: &[Batch]) -> Result<usize, DependencyError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DependencyError::other("in-memory queue", "told to fail"));
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(batches);
        Ok(batches.len())
    }
}
