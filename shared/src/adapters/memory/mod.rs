//! In-memory implementations of the ports (feature `memory`): the fakes that handler
//! tests, the run's tests and the benchmarks use in place of AWS.

mod catalog;
mod credentials;
mod cycle;
mod history;
mod probe;

pub use catalog::InMemoryCatalog;
pub use credentials::InMemoryCredentials;
pub use cycle::{InMemoryLedger, InMemoryQueue};
pub use history::InMemoryHistory;
pub use probe::{InMemoryEvents, InMemoryProbeStore};

use crate::domain::{Connector, ConnectorId};
use crate::ports::{Clock, ConnectorReader, DependencyError, KeySource};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Connectors held in memory. Can be told to fail, like an unreachable table.
#[derive(Debug, Default)]
pub struct InMemoryConnectors {
    rows: RwLock<Vec<Connector>>,
    failing: AtomicBool,
    delay: Mutex<Duration>,
}

impl InMemoryConnectors {
    pub fn new(mut rows: Vec<Connector>) -> Self {
        rows.sort_by_key(|c| c.id);
        Self {
            rows: RwLock::new(rows),
            failing: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
        }
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Replaces every row, as writes to the table would.
    pub fn set_rows(&self, mut rows: Vec<Connector>) {
        rows.sort_by_key(|c| c.id);
        *self.rows.write().unwrap_or_else(|p| p.into_inner()) = rows;
    }

    /// Makes every read take this long first, like a slow table.
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    async fn check(&self) -> Result<(), DependencyError> {
        let delay = *self.delay.lock().unwrap_or_else(|p| p.into_inner());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.check_failing()
    }

    fn check_failing(&self) -> Result<(), DependencyError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DependencyError::other("in-memory store", "told to fail"));
        }
        Ok(())
    }

    fn rows(&self) -> std::sync::RwLockReadGuard<'_, Vec<Connector>> {
        self.rows.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl ConnectorReader for InMemoryConnectors {
    async fn list(&self) -> Result<Vec<Connector>, DependencyError> {
        self.check().await?;
        Ok(self.rows().clone())
    }

    async fn get(&self, id: ConnectorId) -> Result<Option<Connector>, DependencyError> {
        self.check().await?;
        Ok(self.rows().iter().find(|c| c.id == id).cloned())
    }
}

/// A key document held in memory; counts fetches and can be told to fail or to hang
/// (accept the call and never answer, like a Secrets Manager whose answers are lost).
#[derive(Debug)]
pub struct InMemoryKeySource {
    text: Mutex<String>,
    failing: AtomicBool,
    hanging: AtomicBool,
    fetches: AtomicU64,
}

impl InMemoryKeySource {
    pub fn new(text: String) -> Self {
        Self {
            text: Mutex::new(text),
            failing: AtomicBool::new(false),
            hanging: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        }
    }

    /// A document granting the Connector Health API to each key, stored as digests the
    /// way the tooling writes them.
    pub fn granting(keys: &[&str]) -> Self {
        Self::new(granting_document(keys))
    }

    pub fn set(&self, text: String) {
        *self.text.lock().unwrap_or_else(|p| p.into_inner()) = text;
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// While set, every fetch that starts never returns.
    pub fn hang(&self, hanging: bool) {
        self.hanging.store(hanging, Ordering::SeqCst);
    }

    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl KeySource for InMemoryKeySource {
    async fn fetch(&self) -> Result<SecretString, DependencyError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.hanging.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(DependencyError::other(
                "in-memory key source",
                "told to fail",
            ));
        }
        Ok(SecretString::from(
            self.text.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        ))
    }
}

/// The key document [`InMemoryKeySource::granting`] holds: each key named by its position.
pub fn granting_document(keys: &[&str]) -> String {
    let entries: Vec<serde_json::Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            serde_json::json!({
                "name": format!("key-{i}"),
                "sha256": crate::auth::KeyDigest::of(key).to_hex(),
                "grants": [crate::auth::CONNECTOR_HEALTH_GRANT],
            })
        })
        .collect();
    serde_json::json!({ "keys": entries }).to_string()
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: Instant,
    offset: Arc<Mutex<Duration>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// The wall-clock time at which every manual clock starts.
    pub fn start_utc() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Self::start_utc() + chrono::Duration::from_std(self.offset()).unwrap_or_default()
    }
    fn instant(&self) -> Instant {
        self.start + self.offset()
    }
}

// The status page's read: rows with feed types.
mod status;
pub use status::InMemoryStatusRows;
