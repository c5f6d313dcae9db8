//! What a read function keeps for a few seconds in each container: the list's rows
//! (`LIST_CACHE_SECONDS`), so a dashboard polling every second, or many of them, costs the
//! table at most one `Scan` per container per interval (`GET` and `HEAD` are answered from
//! the same rows, so they agree: same `ETag`); the status page's rows and history.
//!
//! One read at a time: a request that finds the value expired takes the lock and reads;
//! requests arriving meanwhile wait for it and are answered from its value. A failed read is
//! not kept (the next request tries again). A value is fresh while both the monotonic clock
//! and the wall clock say it is younger than the interval, so a container frozen by Lambda
//! between invocations never serves a value older than that after it thaws.

use crate::ports::{Clock, DependencyError};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Held<T> {
    at: Instant,
    at_wall: DateTime<Utc>,
    value: Arc<T>,
}

/// The value of the last read, for `ttl` (zero: every request reads).
pub struct TtlCache<T> {
    ttl: Duration,
    held: Mutex<Option<Held<T>>>,
}

impl<T> TtlCache<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            held: Mutex::new(None),
        }
    }

    /// The held value when younger than the TTL, else the one `read` returns (held for
    /// the next requests). At most one `read` runs at a time.
    pub async fn get<F, Fut>(&self, clock: &dyn Clock, read: F) -> Result<Arc<T>, DependencyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, DependencyError>>,
    {
        if self.ttl.is_zero() {
            return read().await.map(Arc::new);
        }
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref() {
            // Negative (the wall clock was set back) does not convert: not fresh.
            let wall_age = clock.now().signed_duration_since(h.at_wall);
            let fresh = clock.instant().saturating_duration_since(h.at) < self.ttl
                && wall_age.to_std().is_ok_and(|age| age < self.ttl);
            if fresh {
                return Ok(h.value.clone());
            }
        }
        // Timed from the start of the read: nothing is kept longer than the TTL after it
        // was read.
        let (at, at_wall) = (clock.instant(), clock.now());
        let value = Arc::new(read().await?);
        *held = Some(Held {
            at,
            at_wall,
            value: value.clone(),
        });
        Ok(value)
    }
}
