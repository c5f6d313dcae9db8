//! The in-memory cache of the API key document.
//!
//! Rules (see docs/api.md):
//! - at most one fetch per `ttl` in the normal case;
//! - an unknown key may trigger one early refresh, but not within `min_refresh_interval`
//!   of the previous fetch, so bad keys cannot make the function hammer Secrets Manager;
//! - a failed fetch is retried no sooner than `failure_backoff` later; meanwhile the cached
//!   copy keeps being used (with a warning) until it is older than `max_staleness`;
//! - with no usable copy, requests get [`AuthError::Unavailable`] (a 503).

use super::document::KeyRing;
use crate::domain::Presented;
use crate::ports::{AuthError, Authorizer, Clock, KeySource, SystemClock};
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Timing rules of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
    pub min_refresh_interval: Duration,
    pub failure_backoff: Duration,
    pub max_staleness: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(5),
            max_staleness: Duration::from_secs(3600),
        }
    }
}

#[derive(Default)]
struct CacheState {
    ring: Option<Arc<KeyRing>>,
    loaded_at: Option<Instant>,
    last_attempt: Option<Instant>,
    last_failed: bool,
}

/// Caches the key document from a [`KeySource`] and judges presented keys against it.
pub struct KeyCache<S, C = SystemClock> {
    source: S,
    clock: C,
    policy: CachePolicy,
    state: Mutex<CacheState>,
    fetches: AtomicU64,
}

impl<S: KeySource> KeyCache<S, SystemClock> {
    pub fn new(source: S, policy: CachePolicy) -> Self {
        Self::with_clock(source, policy, SystemClock)
    }
}

impl<S: KeySource, C: Clock> KeyCache<S, C> {
    pub fn with_clock(source: S, policy: CachePolicy, clock: C) -> Self {
        Self {
            source,
            clock,
            policy,
            state: Mutex::new(CacheState::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the source has been asked (for tests and benchmarks).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn since(now: Instant, then: Option<Instant>) -> Option<Duration> {
        then.map(|t| now.saturating_duration_since(t))
    }

    fn due(&self, state: &CacheState, now: Instant) -> bool {
        let expired = Self::since(now, state.loaded_at).is_none_or(|age| age >= self.policy.ttl);
        let backing_off = state.last_failed
            && Self::since(now, state.last_attempt)
                .is_some_and(|age| age < self.policy.failure_backoff);
        expired && !backing_off
    }

    fn may_refresh_early(&self, state: &CacheState, now: Instant) -> bool {
        Self::since(now, state.last_attempt)
            .is_none_or(|age| age >= self.policy.min_refresh_interval)
    }

    async fn refresh(&self, state: &mut CacheState, now: Instant) {
        state.last_attempt = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        // The kind of failure (the dependency's, or a document that is not a key
        // document) goes to the log as a field of its own.
        let loaded = match self.source.fetch().await {
            Ok(text) => KeyRing::parse(text.expose_secret())
                .map_err(|e| ("invalid_document", e.to_string())),
            Err(e) => Err((e.kind(), e.to_string())),
        };
        match loaded {
            Ok(ring) => {
                tracing::debug!(keys = ring.len(), "API keys loaded");
                state.ring = Some(Arc::new(ring));
                state.loaded_at = Some(now);
                state.last_failed = false;
            }
            Err((kind, cause)) => {
                state.last_failed = true;
                match Self::since(now, state.loaded_at) {
                    Some(age) if age <= self.policy.max_staleness => tracing::warn!(
                        kind,
                        error = %cause,
                        cached_age_s = age.as_secs(),
                        "could not refresh API keys; using the cached copy"
                    ),
                    _ => tracing::error!(kind, error = %cause, "could not load API keys"),
                }
            }
        }
    }

    fn usable(&self, state: &CacheState, now: Instant) -> Option<Arc<KeyRing>> {
        let age = Self::since(now, state.loaded_at)?;
        (age <= self.policy.max_staleness)
            .then(|| state.ring.clone())
            .flatten()
    }
}

impl<S: KeySource, C: Clock> Authorizer for KeyCache<S, C> {
    async fn authorize(&self, presented: &Presented) -> Result<(), AuthError> {
        let digest = match presented {
            Presented::Missing => return Err(AuthError::Missing),
            Presented::Invalid => return Err(AuthError::NotAuthorized),
            Presented::Key(_) => presented.digest().ok_or(AuthError::NotAuthorized)?,
        };
        let mut state = self.state.lock().await;
        let now = self.clock.instant();
        if self.due(&state, now) {
            self.refresh(&mut state, now).await;
        }
        let mut ring = self.usable(&state, now).ok_or(AuthError::Unavailable)?;
        if ring.find(&digest).is_none() && self.may_refresh_early(&state, now) {
            self.refresh(&mut state, now).await;
            ring = self.usable(&state, now).ok_or(AuthError::Unavailable)?;
        }
        drop(state);
        match ring.find(&digest) {
            Some(entry) if entry.allows_connector_health(self.clock.now()) => Ok(()),
            _ => Err(AuthError::NotAuthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{InMemoryKeySource, ManualClock};
    use http::HeaderMap;

    fn doc(keys: &[&str]) -> String {
        crate::adapters::memory::granting_document(keys)
    }

    fn key(k: &str) -> Presented {
        Presented::from_parts(&HeaderMap::new(), [k])
    }

    fn world(
        keys: &[&str],
    ) -> (
        Arc<InMemoryKeySource>,
        ManualClock,
        KeyCache<Arc<InMemoryKeySource>, ManualClock>,
    ) {
        let source = Arc::new(InMemoryKeySource::new(doc(keys)));
        let clock = ManualClock::new();
        let cache = KeyCache::with_clock(source.clone(), CachePolicy::default(), clock.clone());
        (source, clock, cache)
    }

    #[tokio::test]
    async fn one_fetch_per_ttl_for_known_keys() {
        let (_source, clock, cache) = world(&["good"]);
        for _ in 0..1000 {
            assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        }
        assert_eq!(cache.fetch_count(), 1);
        clock.advance(Duration::from_secs(299));
        cache.authorize(&key("good")).await.unwrap();
        assert_eq!(cache.fetch_count(), 1);
        clock.advance(Duration::from_secs(1));
        cache.authorize(&key("good")).await.unwrap();
        assert_eq!(cache.fetch_count(), 2);
    }

    #[tokio::test]
    async fn missing_and_inconsistent_keys_never_fetch() {
        let (_source, _clock, cache) = world(&["good"]);
        let missing = Presented::from_parts(&HeaderMap::new(), []);
        assert_eq!(cache.authorize(&missing).await, Err(AuthError::Missing));
        let invalid = Presented::from_parts(&HeaderMap::new(), ["a", "b"]);
        assert_eq!(
            cache.authorize(&invalid).await,
            Err(AuthError::NotAuthorized)
        );
        assert_eq!(cache.fetch_count(), 0);
    }

    #[tokio::test]
    async fn unknown_keys_refresh_early_at_most_once_per_30_seconds() {
        let (source, clock, cache) = world(&["good"]);
        cache.authorize(&key("good")).await.unwrap();
        // Just loaded: an unknown key does not refetch.
        for _ in 0..100 {
            assert_eq!(
                cache.authorize(&key("bad")).await,
                Err(AuthError::NotAuthorized)
            );
        }
        assert_eq!(cache.fetch_count(), 1);
        // A key added to the secret is picked up by the first early refresh after 30 s.
        source.set(doc(&["good", "new"]));
        clock.advance(Duration::from_secs(29));
        assert_eq!(
            cache.authorize(&key("new")).await,
            Err(AuthError::NotAuthorized)
        );
        assert_eq!(cache.fetch_count(), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.authorize(&key("new")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        // Many bad keys right after: no more fetches.
        for _ in 0..100 {
            let _ = cache.authorize(&key("bad")).await;
        }
        assert_eq!(cache.fetch_count(), 2);
    }

    #[tokio::test]
    async fn a_removed_key_stops_working_after_the_ttl() {
        let (source, clock, cache) = world(&["old", "keep"]);
        cache.authorize(&key("old")).await.unwrap();
        source.set(doc(&["keep"]));
        clock.advance(Duration::from_secs(299));
        assert_eq!(cache.authorize(&key("old")).await, Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            cache.authorize(&key("old")).await,
            Err(AuthError::NotAuthorized)
        );
        assert_eq!(cache.authorize(&key("keep")).await, Ok(()));
    }

    #[tokio::test]
    async fn failed_refresh_keeps_the_cached_copy_until_max_staleness() {
        let (source, clock, cache) = world(&["good"]);
        cache.authorize(&key("good")).await.unwrap();
        source.fail(true);
        clock.advance(Duration::from_secs(300));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        // Backing off: the next requests within 5 s do not fetch.
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        clock.advance(Duration::from_secs(5));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 3);
        // Past the maximum staleness the copy is dropped: 503.
        clock.advance(Duration::from_secs(3600 - 305 + 1));
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        // Recovery.
        source.fail(false);
        clock.advance(Duration::from_secs(5));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
    }

    #[tokio::test]
    async fn no_copy_at_all_is_unavailable_and_a_malformed_secret_counts_as_a_failure() {
        let (source, clock, cache) = world(&["good"]);
        source.fail(true);
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        source.fail(false);
        source.set("{not json".into());
        clock.advance(Duration::from_secs(5));
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        source.set(doc(&["good"]));
        clock.advance(Duration::from_secs(5));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
    }

    #[tokio::test]
    async fn expiry_is_judged_at_request_time() {
        let source = Arc::new(InMemoryKeySource::new(format!(
            r#"{{"keys":[{{"name":"t","key":"temp","grants":["connector-health"],"expires":"{}"}}]}}"#,
            crate::domain::format_timestamp(
                &(ManualClock::start_utc() + chrono::Duration::seconds(10))
            )
        )));
        let clock = ManualClock::new();
        let cache = KeyCache::with_clock(source, CachePolicy::default(), clock.clone());
        assert_eq!(cache.authorize(&key("temp")).await, Ok(()));
        clock.advance(Duration::from_secs(10));
        assert_eq!(
            cache.authorize(&key("temp")).await,
            Err(AuthError::NotAuthorized)
        );
    }
}
