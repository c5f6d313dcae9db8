//! The list's rows, kept for a few seconds in each container (`LIST_CACHE_SECONDS`), so a
//! dashboard polling every second, or many of them, costs the table at most one `Scan`
//! per container per interval. `GET` and `HEAD` are answered from the same rows, so they
//! agree (same `ETag`).
//!
//! One `Scan` at a time: a request that finds the rows expired takes the lock and scans;
//! requests arriving meanwhile wait for it and are answered from its rows. A failed scan is
//! not kept (the next request tries again). Rows are fresh while both the monotonic clock
//! and the wall clock say they are younger than the interval, so a container frozen by
//! Lambda between invocations never serves rows older than that after it thaws.

use chrono::{DateTime, Utc};
use shared::domain::Connector;
use shared::ports::{Clock, DependencyError};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Held {
    at: Instant,
    at_wall: DateTime<Utc>,
    rows: Arc<Vec<Connector>>,
}

/// The rows of the last `Scan`, for `ttl` (zero: every request scans).
pub struct ListCache {
    ttl: Duration,
    held: Mutex<Option<Held>>,
}

impl ListCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            held: Mutex::new(None),
        }
    }

    /// The held rows when younger than the TTL, else those `scan` returns (held for the
    /// next requests). At most one `scan` runs at a time.
    pub async fn rows<F, Fut>(
        &self,
        clock: &dyn Clock,
        scan: F,
    ) -> Result<Arc<Vec<Connector>>, DependencyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Connector>, DependencyError>>,
    {
        if self.ttl.is_zero() {
            return scan().await.map(Arc::new);
        }
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref() {
            // Negative (the wall clock was set back) does not convert: not fresh.
            let wall_age = clock.now().signed_duration_since(h.at_wall);
            let fresh = clock.instant().saturating_duration_since(h.at) < self.ttl
                && wall_age.to_std().is_ok_and(|age| age < self.ttl);
            if fresh {
                return Ok(h.rows.clone());
            }
        }
        // Timed from the start of the scan: no row is kept longer than the TTL after
        // it was read.
        let (at, at_wall) = (clock.instant(), clock.now());
        let rows = Arc::new(scan().await?);
        *held = Some(Held {
            at,
            at_wall,
            rows: rows.clone(),
        });
        Ok(rows)
    }
}
