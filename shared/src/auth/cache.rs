//! The in-memory cache of the API key document.
//!
//! Rules (see docs/api.md):
//! - at most one fetch per `ttl` in the normal case, and never more than one in flight;
//! - a refresh runs as a task of its own. While a copy younger than `max_staleness` is
//!   held, requests are judged against it: only the one request that starts a TTL refresh
//!   waits for it, and at most `refresh_grace` (a healthy Secrets Manager answers well
//!   within it). That wait is what lets a refresh finish inside a Lambda invocation: a
//!   container is frozen as soon as its response is sent, and a refresh left running
//!   would, in a container with little traffic, never finish;
//! - only a container with no usable copy waits longer, at most `fetch_timeout`: a fetch
//!   that has not answered by then counts as failed;
//! - an unknown key may trigger one early refresh, but not within `min_refresh_interval`
//!   of the previous fetch, nor during a failure backoff, so bad keys cannot make the
//!   function hammer Secrets Manager. The request that triggered it waits for it (at most
//!   `fetch_timeout`), so a key created a moment ago works on its first use;
//! - a failed fetch is retried no sooner than `failure_backoff` after it failed; meanwhile
//!   the cached copy keeps being used (with a warning) until it is older than
//!   `max_staleness`;
//! - with no usable copy, requests get [`AuthError::Unavailable`] (a 503).
//!
//! A request that gives up (its budget ran out, the client went away) does not cancel the
//! refresh it started: its outcome is always recorded, and the backoff always applies.
//! A fetch still unanswered `fetch_timeout` after it started (by the clock: for instance
//! across a freeze) no longer blocks a new one; whatever it answers later is ignored.

use super::document::KeyRing;
use crate::domain::Presented;
use crate::ports::{AuthError, Authorizer, Clock, DependencyError, KeySource, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Timing rules of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
    pub min_refresh_interval: Duration,
    pub failure_backoff: Duration,
    pub max_staleness: Duration,
    /// How long one fetch may take before it counts as failed. Below the request budget
    /// (`http::REQUEST_BUDGET`), so a container with no copy answers 503 itself.
    pub fetch_timeout: Duration,
    /// How long the request that starts a TTL refresh, holding a usable copy, waits for
    /// that refresh before it is judged on the copy.
    pub refresh_grace: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(5),
            max_staleness: Duration::from_secs(3600),
            fetch_timeout: Duration::from_secs(6),
            refresh_grace: Duration::from_millis(250),
        }
    }
}

/// The fetch in flight: its number and when it started.
#[derive(Debug, Clone, Copy)]
struct Flight {
    epoch: u64,
    started: Instant,
}

#[derive(Default)]
struct CacheState {
    ring: Option<Arc<KeyRing>>,
    /// When the copy in `ring` was (at the latest) read from the source.
    loaded_at: Option<Instant>,
    /// When the latest fetch started.
    last_attempt: Option<Instant>,
    /// When the latest fetch failed; `None` once one succeeds.
    failed_at: Option<Instant>,
    in_flight: Option<Flight>,
    epochs: u64,
}

struct Inner<S, C> {
    source: S,
    clock: C,
    policy: CachePolicy,
    state: Mutex<CacheState>,
    fetches: AtomicU64,
    /// The highest fetch number that has ended, however it ended; waiters watch it.
    finished: watch::Sender<u64>,
}

/// Caches the key document from a [`KeySource`] and judges presented keys against it.
pub struct KeyCache<S, C = SystemClock> {
    inner: Arc<Inner<S, C>>,
}

impl<S: KeySource + 'static> KeyCache<S, SystemClock> {
    pub fn new(source: S, policy: CachePolicy) -> Self {
        Self::with_clock(source, policy, SystemClock)
    }
}

fn since(now: Instant, then: Option<Instant>) -> Option<Duration> {
    then.map(|t| now.saturating_duration_since(t))
}

/// What a request does, decided in one critical section.
enum Plan {
    Judge(Arc<KeyRing>),
    /// Wait (at most `bound`) for fetch `epoch` to end, then judge on the freshest usable
    /// copy, or on `fallback`.
    Wait {
        epoch: u64,
        finished: watch::Receiver<u64>,
        fallback: Option<Arc<KeyRing>>,
        bound: Duration,
    },
    Unavailable,
}

impl<S: KeySource + 'static, C: Clock + 'static> KeyCache<S, C> {
    pub fn with_clock(source: S, policy: CachePolicy, clock: C) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                clock,
                policy,
                state: Mutex::new(CacheState::default()),
                fetches: AtomicU64::new(0),
                finished: watch::Sender::new(0),
            }),
        }
    }

    /// How many times the source has been asked (for tests and benchmarks).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Waits until no fetch is in flight (for tests and tools; requests never call it).
    pub async fn settled(&self) {
        let (epoch, mut finished) = {
            let state = self.inner.lock();
            let Some(flight) = state.in_flight else {
                return;
            };
            (flight.epoch, self.inner.finished.subscribe())
        };
        // The sender lives in `inner`, which `self` keeps alive: `wait_for` cannot fail.
        let _ = finished.wait_for(|&done| done >= epoch).await;
    }

    /// Starts fetch number `epoch` as a task of its own (the caller checked that no live
    /// one is in flight) and returns what to wait on.
    fn start_refresh(&self, state: &mut CacheState, now: Instant) -> (u64, watch::Receiver<u64>) {
        state.epochs += 1;
        let flight = Flight {
            epoch: state.epochs,
            started: now,
        };
        state.in_flight = Some(flight);
        state.last_attempt = Some(now);
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let finished = self.inner.finished.subscribe();
        // Made before the task, so that a task dropped before it ever runs still ends
        // the flight.
        let guard = FlightGuard {
            inner: Arc::clone(&self.inner),
            flight,
            done: false,
        };
        tokio::spawn(async move {
            let mut guard = guard;
            let inner = Arc::clone(&guard.inner);
            let fetched =
                tokio::time::timeout(inner.policy.fetch_timeout, inner.source.fetch()).await;
            inner.record(flight, fetched);
            guard.done = true;
        });
        (flight.epoch, finished)
    }
}

impl<S, C: Clock> Inner<S, C> {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // The state stays consistent at every step, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fetch in flight, unless it started `fetch_timeout` or more ago (frozen, or
    /// never polled): such a one no longer holds up a new fetch.
    fn live_flight(&self, state: &CacheState, now: Instant) -> Option<Flight> {
        state
            .in_flight
            .filter(|f| now.saturating_duration_since(f.started) < self.policy.fetch_timeout)
    }

    fn backing_off(&self, state: &CacheState, now: Instant) -> bool {
        since(now, state.failed_at).is_some_and(|age| age < self.policy.failure_backoff)
    }

    fn due(&self, state: &CacheState, now: Instant) -> bool {
        let expired = since(now, state.loaded_at).is_none_or(|age| age >= self.policy.ttl);
        expired && !self.backing_off(state, now) && self.live_flight(state, now).is_none()
    }

    fn may_refresh_early(&self, state: &CacheState, now: Instant) -> bool {
        self.live_flight(state, now).is_none()
            && !self.backing_off(state, now)
            && since(now, state.last_attempt)
                .is_none_or(|age| age >= self.policy.min_refresh_interval)
    }

    fn usable(&self, state: &CacheState, now: Instant) -> Option<Arc<KeyRing>> {
        let age = since(now, state.loaded_at)?;
        (age <= self.policy.max_staleness)
            .then(|| state.ring.clone())
            .flatten()
    }

    /// Records how fetch `flight` ended, unless a newer fetch has replaced it, and wakes
    /// whoever waits for it.
    fn record(
        &self,
        flight: Flight,
        fetched: Result<Result<SecretString, DependencyError>, tokio::time::error::Elapsed>,
    ) {
        // The kind of failure (the dependency's, a fetch that never answered, or a
        // document that is not a key document) goes to the log as a field of its own.
        let loaded = match fetched {
            Ok(Ok(text)) => KeyRing::parse(text.expose_secret())
                .map_err(|e| ("invalid_document", e.to_string())),
            Ok(Err(e)) => Err((e.kind(), e.to_string())),
            Err(_) => Err((
                "timed_out",
                format!(
                    "no answer within {} s",
                    self.policy.fetch_timeout.as_secs_f32()
                ),
            )),
        };
        let now = self.clock.instant();
        let mut state = self.lock();
        if state.in_flight.is_some_and(|f| f.epoch == flight.epoch) {
            match loaded {
                Ok(ring) => {
                    tracing::debug!(keys = ring.len(), "API keys loaded");
                    state.ring = Some(Arc::new(ring));
                    // The answer was given between the start and now; across a freeze the
                    // start may be long ago, and the answer no older than the timeout.
                    let answered_by = now
                        .checked_sub(self.policy.fetch_timeout)
                        .unwrap_or(flight.started);
                    state.loaded_at = Some(flight.started.max(answered_by));
                    state.failed_at = None;
                }
                Err((kind, cause)) => Self::failed(&mut state, &self.policy, now, kind, &cause),
            }
            state.in_flight = None;
        } else {
            tracing::debug!(
                epoch = flight.epoch,
                "a key fetch replaced by a newer one ended; its outcome is ignored"
            );
        }
        drop(state);
        self.finished
            .send_modify(|done| *done = (*done).max(flight.epoch));
    }

    fn failed(state: &mut CacheState, policy: &CachePolicy, now: Instant, kind: &str, cause: &str) {
        state.failed_at = Some(now);
        match since(now, state.loaded_at) {
            Some(age) if age <= policy.max_staleness => tracing::warn!(
                kind,
                error = %cause,
                cached_age_s = age.as_secs(),
                "could not refresh API keys; using the cached copy"
            ),
            _ => tracing::error!(kind, error = %cause, "could not load API keys"),
        }
    }
}

/// Ends a fetch's flight if its task ends without recording an outcome (the fetch
/// panicked, or the task was dropped before it ran), so the cache never waits for it.
struct FlightGuard<S, C: Clock> {
    inner: Arc<Inner<S, C>>,
    flight: Flight,
    done: bool,
}

impl<S, C: Clock> Drop for FlightGuard<S, C> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let now = self.inner.clock.instant();
        let mut state = self.inner.lock();
        if state
            .in_flight
            .is_some_and(|f| f.epoch == self.flight.epoch)
        {
            Inner::<S, C>::failed(
                &mut state,
                &self.inner.policy,
                now,
                "other",
                "the fetch ended without an answer",
            );
            state.in_flight = None;
        }
        drop(state);
        let epoch = self.flight.epoch;
        self.inner
            .finished
            .send_modify(|done| *done = (*done).max(epoch));
    }
}

impl<S: KeySource + 'static, C: Clock + 'static> Authorizer for KeyCache<S, C> {
    async fn authorize(&self, presented: &Presented) -> Result<(), AuthError> {
        let digest = match presented {
            Presented::Missing => return Err(AuthError::Missing),
            Presented::Invalid => return Err(AuthError::NotAuthorized),
            Presented::Key(_) => presented.digest().ok_or(AuthError::NotAuthorized)?,
        };
        let inner = &*self.inner;
        let policy = &inner.policy;
        let now = inner.clock.instant();
        let plan = {
            let mut state = inner.lock();
            let held = inner.usable(&state, now);
            let started = inner
                .due(&state, now)
                .then(|| self.start_refresh(&mut state, now));
            match (held, started) {
                (Some(ring), Some((epoch, finished))) => {
                    // This request started the TTL refresh: a short wait for a known key
                    // (see the module's rules), the full one for an unknown key.
                    let bound = if ring.find(&digest).is_some() {
                        policy.refresh_grace
                    } else {
                        policy.fetch_timeout
                    };
                    Plan::Wait {
                        epoch,
                        finished,
                        fallback: Some(ring),
                        bound,
                    }
                }
                (Some(ring), None) => {
                    if ring.find(&digest).is_none() && inner.may_refresh_early(&state, now) {
                        let (epoch, finished) = self.start_refresh(&mut state, now);
                        Plan::Wait {
                            epoch,
                            finished,
                            fallback: Some(ring),
                            bound: policy.fetch_timeout,
                        }
                    } else {
                        Plan::Judge(ring)
                    }
                }
                (None, Some((epoch, finished))) => Plan::Wait {
                    epoch,
                    finished,
                    fallback: None,
                    bound: policy.fetch_timeout,
                },
                // No usable copy: join the fetch in flight, whoever started it.
                (None, None) => match inner.live_flight(&state, now) {
                    Some(flight) => Plan::Wait {
                        epoch: flight.epoch,
                        finished: inner.finished.subscribe(),
                        fallback: None,
                        bound: policy.fetch_timeout,
                    },
                    None => Plan::Unavailable,
                },
            }
        };
        let ring = match plan {
            Plan::Judge(ring) => ring,
            Plan::Unavailable => return Err(AuthError::Unavailable),
            Plan::Wait {
                epoch,
                mut finished,
                fallback,
                bound,
            } => {
                let _ = tokio::time::timeout(bound, finished.wait_for(|&done| done >= epoch)).await;
                let now = inner.clock.instant();
                let fresh = inner.usable(&inner.lock(), now);
                fresh.or(fallback).ok_or(AuthError::Unavailable)?
            }
        };
        match ring.find(&digest) {
            Some(entry) if entry.allows_connector_health(inner.clock.now()) => Ok(()),
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
    async fn a_removed_key_stops_working_once_the_refresh_after_the_ttl_lands() {
        let (source, clock, cache) = world(&["old", "keep"]);
        cache.authorize(&key("old")).await.unwrap();
        source.set(doc(&["keep"]));
        clock.advance(Duration::from_secs(299));
        assert_eq!(cache.authorize(&key("old")).await, Ok(()));
        clock.advance(Duration::from_secs(1));
        // This request starts the refresh and, the source answering at once, is judged
        // on the new copy.
        assert_eq!(
            cache.authorize(&key("old")).await,
            Err(AuthError::NotAuthorized)
        );
        assert_eq!(cache.authorize(&key("keep")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
    }

    #[tokio::test]
    async fn failed_refresh_keeps_the_cached_copy_until_max_staleness() {
        let (source, clock, cache) = world(&["good"]);
        cache.authorize(&key("good")).await.unwrap();
        source.fail(true);
        clock.advance(Duration::from_secs(300));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        cache.settled().await;
        // Backing off: the next requests within 5 s do not fetch.
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        clock.advance(Duration::from_secs(4));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 3);
        cache.settled().await;
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

    // ---- A slow or silent key source, under tokio's paused time ----

    type Cache = KeyCache<Arc<InMemoryKeySource>>;

    /// A cache on the system clock (tokio's, paused in these tests), with `good` loaded.
    async fn loaded() -> (Arc<InMemoryKeySource>, Arc<Cache>) {
        let source = Arc::new(InMemoryKeySource::new(doc(&["good"])));
        let cache = Arc::new(KeyCache::new(source.clone(), CachePolicy::default()));
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        (source, cache)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_source_never_makes_a_request_wait_while_a_copy_is_held() {
        let (source, cache) = loaded().await;
        let policy = CachePolicy::default();
        source.hang(true);
        tokio::time::advance(policy.ttl).await;

        // The TTL has passed: the first request starts one refresh, which never answers.
        // It waits the short grace, then is judged on the copy.
        let started = tokio::time::Instant::now();
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(tokio::time::Instant::now() - started, policy.refresh_grace);
        // No other request waits for it (no time passes), and no second refresh starts.
        let before = tokio::time::Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let cache = cache.clone();
            requests.spawn(async move { cache.authorize(&key("good")).await });
        }
        while let Some(answer) = requests.join_next().await {
            assert_eq!(answer.unwrap(), Ok(()));
        }
        assert_eq!(tokio::time::Instant::now(), before);
        assert_eq!(cache.fetch_count(), 2);

        // The refresh gives up after the fetch timeout and the failure is recorded:
        // the backoff applies, and the copy is still used.
        cache.settled().await;
        assert_eq!(tokio::time::Instant::now() - started, policy.fetch_timeout);
        tokio::time::advance(policy.failure_backoff - Duration::from_millis(1)).await;
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        let before = tokio::time::Instant::now();
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(tokio::time::Instant::now() - before, policy.refresh_grace);
        assert_eq!(cache.fetch_count(), 3);
        // That fetch reached the source, and hangs too.
        assert_eq!(source.fetches(), 3);

        // Once the source answers again, the next refresh brings the copy up to date.
        source.hang(false);
        cache.settled().await;
        tokio::time::advance(policy.failure_backoff).await;
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        cache.settled().await;
        assert_eq!(cache.fetch_count(), 4);
        tokio::time::advance(policy.ttl - Duration::from_secs(1)).await;
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_with_no_copy_waits_for_one_fetch_at_most_the_fetch_timeout() {
        let source = Arc::new(InMemoryKeySource::new(doc(&["good"])));
        source.hang(true);
        let cache = Arc::new(KeyCache::new(source.clone(), CachePolicy::default()));
        let policy = CachePolicy::default();

        let before = tokio::time::Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let cache = cache.clone();
            requests.spawn(async move { cache.authorize(&key("good")).await });
        }
        while let Some(answer) = requests.join_next().await {
            assert_eq!(answer.unwrap(), Err(AuthError::Unavailable));
        }
        assert_eq!(tokio::time::Instant::now() - before, policy.fetch_timeout);
        assert_eq!(cache.fetch_count(), 1);

        // Backing off: 503 at once, without asking again.
        let before = tokio::time::Instant::now();
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        assert_eq!(tokio::time::Instant::now(), before);
        assert_eq!(cache.fetch_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_gives_up_does_not_cancel_the_refresh() {
        let source = Arc::new(InMemoryKeySource::new(doc(&["good"])));
        source.hang(true);
        let cache = KeyCache::new(source.clone(), CachePolicy::default());
        let policy = CachePolicy::default();

        // The request's own budget runs out first; the fetch it started goes on.
        let gave_up =
            tokio::time::timeout(Duration::from_secs(1), cache.authorize(&key("good"))).await;
        assert!(gave_up.is_err());
        // A later request joins that fetch instead of starting another one.
        source.hang(false);
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        assert_eq!(cache.fetch_count(), 1);
        // Its failure was recorded, so the backoff holds off the next fetch...
        tokio::time::advance(policy.failure_backoff - Duration::from_millis(1)).await;
        assert_eq!(
            cache.authorize(&key("good")).await,
            Err(AuthError::Unavailable)
        );
        assert_eq!(cache.fetch_count(), 1);
        // ...and after it the source, answering again, is asked once more.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(cache.fetch_count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_key_waits_only_for_the_early_refresh_it_started() {
        let (source, cache) = loaded().await;
        let policy = CachePolicy::default();
        source.hang(true);
        tokio::time::advance(policy.min_refresh_interval).await;

        // This request starts an early refresh and waits for it (bounded)...
        let started = tokio::time::Instant::now();
        let first = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.authorize(&key("new")).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(cache.fetch_count(), 2);
        // ...while other requests, known keys or not, are answered at once.
        let before = tokio::time::Instant::now();
        assert_eq!(cache.authorize(&key("good")).await, Ok(()));
        assert_eq!(
            cache.authorize(&key("other")).await,
            Err(AuthError::NotAuthorized)
        );
        assert_eq!(tokio::time::Instant::now(), before);
        assert_eq!(first.await.unwrap(), Err(AuthError::NotAuthorized));
        assert_eq!(tokio::time::Instant::now() - started, policy.fetch_timeout);
        assert_eq!(cache.fetch_count(), 2);
    }
}
