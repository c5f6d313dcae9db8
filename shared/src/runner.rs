//! One probe run: every target probed with bounded concurrency, each result written as soon
//! as its probe ends, no probe started that could not finish before the deadline, a panic in
//! one probe contained to that probe. A result that changes the connector's state is
//! published as a state-change event once it is written (never for a write that lost).
//!
//! The run returns [`SUMMARY_MARGIN`] before the deadline whatever its dependencies do: each
//! result write and each publish is cut off then (a cut-off write is counted, and logged
//! with its connector), so the caller always has time to log the summary.

use crate::domain::{ConnectorId, State};
use crate::ports::{
    Clock, NoEvents, ProbeResultWriter, Prober, StateChangePublisher, WriteOutcome,
};
use crate::probe::events::StateChange;
use crate::probe::limits::{max_probe_timeout, PROBE_FUNCTION_TIMEOUT};
use crate::probe::outcome::{
    Failure, FailureKind, Observation, ProbeOutcome, ProbeRecord, RateLimit,
};
pub use crate::probe::schedule::most_overdue_first;
use crate::probe::schedule::{HostKey, Schedule};
use crate::probe::target::ProbeTarget;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How a run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Probes in flight at once to one host ([`HostKey`]), within `concurrency`.
    pub per_host_concurrency: usize,
    /// Per-connector timeout unless the row sets its own.
    pub default_timeout: Duration,
    /// Extra attempts after a transient failure (0–3).
    pub retries: u32,
    /// Pause before a retry.
    pub retry_backoff: Duration,
    /// Time kept free before the deadline for writing a result.
    pub write_reserve: Duration,
    /// A certificate expiring within this many days is logged as a warning.
    pub certificate_warning_days: u32,
}

pub use crate::probe::limits::{DEFAULT_RETRIES, DEFAULT_RETRY_BACKOFF, DEFAULT_WRITE_RESERVE};

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            concurrency: 32,
            per_host_concurrency: 4,
            default_timeout: Duration::from_secs(10),
            retries: DEFAULT_RETRIES,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            write_reserve: DEFAULT_WRITE_RESERVE,
            certificate_warning_days: 14,
        }
    }
}

impl RunSettings {
    /// The longest per-connector timeout these settings let start inside a run of the
    /// probe function ([`max_probe_timeout`]); a row's longer one is clamped to it.
    pub fn max_probe_timeout(&self) -> Duration {
        max_probe_timeout(
            PROBE_FUNCTION_TIMEOUT,
            self.retries,
            self.retry_backoff,
            self.write_reserve,
        )
    }

    /// `target`'s timeout: its own or the default, at most [`RunSettings::max_probe_timeout`].
    fn timeout_for(&self, target: &ProbeTarget) -> Duration {
        let timeout = target.timeout_or(self.default_timeout);
        match self.max_probe_timeout() {
            max if max.is_zero() => timeout, // nothing fits; the run skips it
            max => timeout.min(max),
        }
    }
}

/// Time the run keeps before the deadline for its summary (the log line, the metrics) and
/// the function's answer: every write and publish still pending then is cut off.
pub const SUMMARY_MARGIN: Duration = Duration::from_millis(250);
/// Kept between the cut-off of result writes and that of publishes, so that a write cut
/// off at the deadline, which may still have landed, has its state change published
/// anyway (events are at least once: the next run would not see that change again).
pub const PUBLISH_MARGIN: Duration = Duration::from_millis(500);

/// What a run did. `total` = `healthy` + `error` + `skipped` + `rate_limited` + `panicked`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub total: u64,
    pub healthy: u64,
    pub error: u64,
    /// Not started because they could not finish before the deadline (rows untouched).
    pub skipped: u64,
    /// Not started because their host answered another probe of the run HTTP 429 and asked
    /// (`Retry-After`) to wait past what the run could fit before its deadline (rows
    /// untouched; the next run probes them).
    pub rate_limited: u64,
    /// Probes that panicked (rows untouched; the panic is logged).
    pub panicked: u64,
    /// Probes that needed a retry.
    pub retried: u64,
    pub written: u64,
    /// Results not written because the row was deleted or holds a newer result.
    pub superseded: u64,
    /// Results not written: the write failed, or was cut off at the deadline.
    pub write_failures: u64,
    /// Of `write_failures`, writes cut off at the deadline (whether they reached the table
    /// is not known).
    pub writes_cut_off: u64,
    /// Certificates expiring within the warning window.
    pub certificates_expiring: u64,
    /// Connectors' own credentials expiring within the same window (or expired).
    pub credentials_expiring: u64,
    /// State-change events published.
    pub events_published: u64,
    /// State-change events that could not be published, or whose publishing was cut off at
    /// the deadline (logged).
    pub event_failures: u64,
    pub duration_ms: u64,
}

/// What became of a result's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Done(WriteOutcome),
    Failed,
    CutOff,
}

/// What one probe task reports.
struct ProbeReport {
    state: State,
    retried: bool,
    write: Write,
    certificate_expiring: bool,
    credentials_expiring: bool,
    /// `Some(true)`: a state-change event was published; `Some(false)`: publishing failed.
    event: Option<bool>,
}

/// A probe's hold on its host's slot: given back (with the host's HTTP 429, if it
/// answered one) as soon as the probe ends, before the result is written, or when the task
/// ends whatever happened to it.
struct HostSlot {
    host: HostKey,
    released: mpsc::UnboundedSender<Released>,
    rate_limit: Option<RateLimit>,
}

/// A host slot given back.
struct Released {
    host: HostKey,
    /// The upstream asked to be left alone: until then.
    rate_limit: Option<(RateLimit, Instant)>,
}

impl HostSlot {
    /// Gives the slot back, with the rate limit `outcome` carries, if any.
    fn release(mut self, outcome: &ProbeOutcome) {
        self.rate_limit = outcome.rate_limit().cloned();
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let rate_limit = self.rate_limit.take().map(|limit| {
            let until = now() + limit.hold();
            (limit, until)
        });
        // The run holds the receiver until every task has ended.
        let _ = self.released.send(Released {
            host: self.host.clone(),
            rate_limit,
        });
    }
}

/// The ports a run uses; [`no_events`] switches state-change events off.
pub struct RunPorts<W, P, C, E> {
    pub writer: Arc<W>,
    pub prober: Arc<P>,
    pub clock: Arc<C>,
    pub events: Arc<E>,
}

impl<W, P, C, E> Clone for RunPorts<W, P, C, E> {
    fn clone(&self) -> Self {
        Self {
            writer: self.writer.clone(),
            prober: self.prober.clone(),
            clock: self.clock.clone(),
            events: self.events.clone(),
        }
    }
}

/// State-change events switched off.
pub fn no_events() -> Arc<NoEvents> {
    Arc::new(NoEvents)
}

/// Now, on tokio's clock (the system's, except under tokio's paused test time).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The instant `by` before `instant` (or `instant` itself if there is none).
fn before(instant: Instant, by: Duration) -> Instant {
    instant.checked_sub(by).unwrap_or(instant)
}

/// Runs `work` until `until`; `None` when it was cut off then.
async fn until<T>(until: Instant, work: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(until), work)
        .await
        .ok()
}

/// Whether an attempt of `timeout`, started now, and its write could end before `deadline`.
fn fits(now: Instant, timeout: Duration, reserve: Duration, deadline: Instant) -> bool {
    now.checked_add(timeout + reserve)
        .is_some_and(|end| end <= deadline)
}

/// Probes `targets`, most overdue first ([`most_overdue_first`]), and writes each result;
/// returns the counts.
pub async fn run<W, P, C, E>(
    targets: Vec<ProbeTarget>,
    ports: RunPorts<W, P, C, E>,
    settings: &RunSettings,
    deadline: Instant,
) -> RunSummary
where
    W: ProbeResultWriter + 'static,
    P: Prober + 'static,
    C: Clock + 'static,
    E: StateChangePublisher + 'static,
{
    let started = now();
    let mut targets = targets;
    most_overdue_first(&mut targets);
    warn_of_clamped_timeouts(&targets, settings);
    let mut summary = RunSummary {
        total: targets.len() as u64,
        ..RunSummary::default()
    };
    let concurrency = settings.concurrency.max(1);
    let mut schedule = Schedule::new(targets, settings.per_host_concurrency);
    let (released_tx, mut released) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let mut task_ids = HashMap::new();
    loop {
        while let Ok(r) = released.try_recv() {
            release(&mut schedule, r, settings, deadline, &mut summary);
        }
        schedule.wake(now());
        // Start what may start: the most overdue target whose host has a free slot.
        while tasks.len() < concurrency {
            let Some((host, target)) = schedule.start_next() else {
                break;
            };
            let timeout = settings.timeout_for(&target);
            if !fits(now(), timeout, settings.write_reserve, deadline) {
                summary.skipped += 1;
                schedule.done(&host);
                continue;
            }
            let id = target.id;
            let slot = HostSlot {
                host,
                released: released_tx.clone(),
                rate_limit: None,
            };
            let ports = ports.clone();
            let settings = settings.clone();
            let handle = tasks.spawn(async move {
                probe_one(target, timeout, slot, ports, &settings, deadline).await
            });
            task_ids.insert(handle.id(), id);
        }
        let wake_at = schedule.wake_at();
        if tasks.is_empty() && wake_at.is_none() {
            break;
        }
        let sleep =
            tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at.unwrap_or(deadline)));
        let joined = tokio::select! {
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => joined,
            Some(r) = released.recv() => {
                release(&mut schedule, r, settings, deadline, &mut summary);
                continue;
            }
            () = sleep, if wake_at.is_some() => continue,
        };
        let task = match &joined {
            Ok((task, _)) => *task,
            Err(e) => e.id(),
        };
        let connector_id = task_ids.remove(&task);
        match joined {
            Ok((_, report)) => {
                match report.state {
                    State::Healthy => summary.healthy += 1,
                    _ => summary.error += 1,
                }
                summary.retried += u64::from(report.retried);
                summary.certificates_expiring += u64::from(report.certificate_expiring);
                summary.credentials_expiring += u64::from(report.credentials_expiring);
                match report.write {
                    Write::Done(WriteOutcome::Written) => summary.written += 1,
                    Write::Done(WriteOutcome::Superseded) => summary.superseded += 1,
                    Write::Failed => summary.write_failures += 1,
                    Write::CutOff => {
                        summary.write_failures += 1;
                        summary.writes_cut_off += 1;
                    }
                }
                match report.event {
                    Some(true) => summary.events_published += 1,
                    Some(false) => summary.event_failures += 1,
                    None => {}
                }
            }
            Err(e) => {
                summary.panicked += 1;
                let connector_id = connector_id.map(|id| id.get());
                if e.is_panic() {
                    tracing::error!(?connector_id, "probe panicked; its row is left as it was");
                } else {
                    tracing::error!(?connector_id, "probe task was cancelled");
                }
            }
        }
    }
    // Nothing is left unless a host held back can no longer start anything in time.
    let left = schedule.drain().len() as u64;
    summary.rate_limited += left;
    if summary.rate_limited > 0 {
        tracing::warn!(
            rate_limited = summary.rate_limited,
            "some connectors were not probed: their host asked to wait past the deadline (HTTP 429); they keep their previous result"
        );
    }
    if summary.skipped > 0 {
        tracing::warn!(
            skipped = summary.skipped,
            "some connectors were not probed: they could not finish before the deadline"
        );
    }
    if summary.writes_cut_off > 0 {
        tracing::error!(
            writes_cut_off = summary.writes_cut_off,
            "some results were not written: their writes were cut off at the deadline"
        );
    }
    summary.duration_ms =
        u64::try_from(now().duration_since(started).as_millis()).unwrap_or(u64::MAX);
    summary
}

/// Logs each connector whose own timeout is longer than the run lets start: it is probed
/// with the longest that does (never skipped for it, run after run).
fn warn_of_clamped_timeouts(targets: &[ProbeTarget], settings: &RunSettings) {
    let max = settings.max_probe_timeout();
    if max.is_zero() {
        return;
    }
    for t in targets {
        if let Some(own) = t.timeout.filter(|own| *own > max) {
            tracing::warn!(
                connector_id = t.id.get(),
                probe_timeout_seconds = own.as_secs_f64(),
                max_probe_timeout_seconds = max.as_secs(),
                "the connector's probeTimeoutSeconds cannot fit in a run; probing it with the longest timeout that does"
            );
        }
    }
}

/// A host slot given back: frees it, and when the host answered HTTP 429, holds the host
/// back until its `Retry-After`, taking out (and counting) the targets that could not
/// finish before the deadline if started then.
fn release(
    schedule: &mut Schedule,
    released: Released,
    settings: &RunSettings,
    deadline: Instant,
    summary: &mut RunSummary,
) {
    schedule.done(&released.host);
    let Some((limit, until)) = released.rate_limit else {
        return;
    };
    let left_out = schedule.hold(&limit.key, until, |t| {
        fits(
            until,
            settings.timeout_for(t),
            settings.write_reserve,
            deadline,
        )
    });
    summary.rate_limited += left_out.len() as u64;
    tracing::warn!(
        host = %limit.key,
        retry_after_seconds = limit.retry_after.map(|d| d.as_secs()),
        left_for_the_next_run = left_out.len(),
        "upstream rate limited (HTTP 429): its other connectors wait"
    );
    for t in &left_out {
        tracing::info!(
            connector_id = t.id.get(),
            "not probed: its host asked to wait past the deadline (HTTP 429)"
        );
    }
}

/// A guard for a prober that overruns its own timeout: the run still moves on.
const PROBER_GRACE: Duration = Duration::from_secs(1);

/// One probe attempt, ended by the guard at `timeout` plus [`PROBER_GRACE`], but never
/// later than `latest` unless the timeout itself ends later.
async fn attempt<P: Prober>(
    prober: &P,
    target: &ProbeTarget,
    timeout: Duration,
    latest: Instant,
) -> ProbeOutcome {
    let start = now();
    let guard = (start + timeout + PROBER_GRACE)
        .min(latest)
        .max(start + timeout);
    match until(guard, prober.probe(target, timeout)).await {
        Some(outcome) => outcome,
        None => ProbeOutcome::failed(
            Failure::new(
                FailureKind::Timeout,
                format!("Timed out after {} s.", timeout.as_secs_f64()),
            ),
            Observation::default(),
        ),
    }
}

async fn probe_one<W, P, C, E>(
    target: ProbeTarget,
    timeout: Duration,
    slot: HostSlot,
    ports: RunPorts<W, P, C, E>,
    settings: &RunSettings,
    deadline: Instant,
) -> ProbeReport
where
    W: ProbeResultWriter,
    P: Prober,
    C: Clock,
    E: StateChangePublisher,
{
    // Probes end by the write reserve; writes and publishes by the summary margin.
    let probes_end = before(deadline, settings.write_reserve);
    let finish_by = before(deadline, SUMMARY_MARGIN);
    let write_by = before(finish_by, PUBLISH_MARGIN);
    let mut attempts = 1;
    let outcome = loop {
        let outcome = attempt(ports.prober.as_ref(), &target, timeout, probes_end).await;
        let may_retry = outcome.is_transient_failure()
            && attempts <= settings.retries
            && fits(
                now() + settings.retry_backoff,
                timeout,
                settings.write_reserve,
                deadline,
            );
        if !may_retry {
            break outcome;
        }
        tracing::debug!(
            connector_id = target.id.get(),
            attempts,
            "transient failure; retrying"
        );
        tokio::time::sleep(settings.retry_backoff).await;
        attempts += 1;
    };
    // The upstream is done with: its slot goes to the next target on the host.
    slot.release(&outcome);
    let checked_at = ports.clock.now();
    let record = ProbeRecord::for_target(&target, &outcome, checked_at);
    let certificate_expiring = record.certificate_expires_at.is_some_and(|at| {
        at <= checked_at + chrono::Duration::days(i64::from(settings.certificate_warning_days))
    });
    log_result(target.id, &record, attempts, certificate_expiring);
    // The connector's own credentials: a warning, never a failure (they still work).
    let warn_by = checked_at + chrono::Duration::days(i64::from(settings.certificate_warning_days));
    let credentials_expire_at = target.credentials.as_ref().and_then(|c| c.expire_at);
    let credentials_expiring = credentials_expire_at.is_some_and(|at| at <= warn_by);
    if credentials_expiring {
        tracing::warn!(
            connector_id = target.id.get(),
            credentials_expire_at = credentials_expire_at
                .as_ref()
                .map(crate::domain::format_timestamp),
            "the connector's credentials expire soon"
        );
    }
    let write = match until(write_by, ports.writer.write(&record)).await {
        Some(Ok(w)) => {
            if w == WriteOutcome::Superseded {
                tracing::info!(
                    connector_id = target.id.get(),
                    "result not written: the connector was deleted or changed, or has a newer result"
                );
            }
            Write::Done(w)
        }
        Some(Err(e)) => {
            tracing::error!(connector_id = target.id.get(), kind = e.kind(), error = %e, "could not write probe result");
            Write::Failed
        }
        None => {
            tracing::error!(
                connector_id = target.id.get(),
                "probe result not written: its write was cut off at the deadline"
            );
            Write::CutOff
        }
    };
    // Only a result that was written changes the row, so only then is there an event; a
    // write cut off may have landed, so its change is published too (at least once).
    let event = match write {
        Write::Done(WriteOutcome::Written) | Write::CutOff if ports.events.enabled() => {
            publish_change(ports.events.as_ref(), &target, &record, finish_by).await
        }
        _ => None,
    };
    ProbeReport {
        state: record.state,
        retried: attempts > 1,
        write,
        certificate_expiring,
        credentials_expiring,
        event,
    }
}

/// Publishes the change from the row's previous state to `record`'s, if it is one.
async fn publish_change<E: StateChangePublisher>(
    events: &E,
    target: &ProbeTarget,
    record: &ProbeRecord,
    finish_by: Instant,
) -> Option<bool> {
    let change = StateChange::detect(
        target.previous.state,
        record,
        target.name.as_deref(),
        &target.url,
    )?;
    let Some(published) = until(finish_by, events.publish(&change)).await else {
        tracing::error!(
            connector_id = target.id.get(),
            "state change not published: publishing was cut off at the deadline"
        );
        return Some(false);
    };
    match published {
        Ok(()) => {
            tracing::info!(
                connector_id = target.id.get(),
                previous_state = change.previous_state.as_str(),
                state = change.state.as_str(),
                "published state change"
            );
            Some(true)
        }
        Err(e) => {
            tracing::error!(connector_id = target.id.get(), kind = e.kind(), error = %e, "could not publish state change");
            Some(false)
        }
    }
}

fn log_result(id: ConnectorId, record: &ProbeRecord, attempts: u32, certificate_expiring: bool) {
    tracing::info!(
        connector_id = id.get(),
        state = record.state.as_str(),
        error_message = record.error_message.as_deref(),
        http_status = record.http_status,
        response_time_ms = record.response_time_ms,
        attempts,
        "probed connector"
    );
    if certificate_expiring {
        tracing::warn!(
            connector_id = id.get(),
            certificate_expires_at = record
                .certificate_expires_at
                .as_ref()
                .map(crate::domain::format_timestamp),
            "TLS certificate expires soon"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::InMemoryProbeStore;
    use crate::adapters::memory::ManualClock;
    use crate::domain::FeedType;
    use crate::probe::schedule::HostKey;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    /// A prober scripted per connector id: each call pops the next outcome (the last one
    /// repeats); the connector `panic_id` makes it panic.
    #[derive(Default)]
    struct ScriptedProber {
        script: Mutex<HashMap<u32, Vec<ProbeOutcome>>>,
        calls: AtomicU32,
        in_flight: AtomicU32,
        max_in_flight: AtomicU32,
        delay: Duration,
        panic_id: u32,
        /// The ids probed, in the order their probes started.
        seen: Mutex<Vec<u32>>,
        /// When each id's last probe started.
        started_at: Mutex<HashMap<u32, Instant>>,
    }

    impl ScriptedProber {
        fn with(self, id: u32, outcomes: Vec<ProbeOutcome>) -> Self {
            self.script.lock().unwrap().insert(id, outcomes);
            self
        }
    }

    impl Prober for ScriptedProber {
        async fn probe(&self, target: &ProbeTarget, _timeout: Duration) -> ProbeOutcome {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.seen.lock().unwrap().push(target.id.get());
            self.started_at
                .lock()
                .unwrap()
                .insert(target.id.get(), now());
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            assert!(target.id.get() != self.panic_id, "scripted panic");
            let mut script = self.script.lock().unwrap();
            match script.get_mut(&target.id.get()) {
                Some(list) if list.len() > 1 => list.remove(0),
                Some(list) => list[0].clone(),
                None => healthy(),
            }
        }
    }

    fn healthy() -> ProbeOutcome {
        ProbeOutcome::healthy(Observation {
            http_status: Some(200),
            ..Observation::default()
        })
    }

    fn status(code: u16, message: &str) -> ProbeOutcome {
        ProbeOutcome::failed(
            Failure::new(FailureKind::HttpStatus, message),
            Observation {
                http_status: Some(code),
                ..Observation::default()
            },
        )
    }

    fn targets(ids: impl IntoIterator<Item = u32>) -> Vec<ProbeTarget> {
        ids.into_iter()
            .map(|i| {
                ProbeTarget::new(
                    ConnectorId::new(i).unwrap(),
                    format!("http://c{i}.test"),
                    FeedType::Generic,
                )
            })
            .collect()
    }

    fn settings() -> RunSettings {
        RunSettings {
            retry_backoff: Duration::from_millis(1),
            write_reserve: Duration::from_millis(10),
            ..RunSettings::default()
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    async fn go(
        store: &Arc<InMemoryProbeStore>,
        prober: &Arc<ScriptedProber>,
        settings: &RunSettings,
        deadline: Instant,
    ) -> RunSummary {
        let targets = crate::ports::ProbeTargetReader::targets(store.as_ref())
            .await
            .unwrap();
        let ports = RunPorts {
            writer: store.clone(),
            prober: prober.clone(),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        run(targets, ports, settings, deadline).await
    }

    fn id(i: u32) -> ConnectorId {
        ConnectorId::new(i).unwrap()
    }

    #[tokio::test]
    async fn every_connector_is_probed_and_written_once() {
        let store = Arc::new(InMemoryProbeStore::new(targets(1..=50)));
        let prober = Arc::new(
            ScriptedProber::default().with(7, vec![status(500, "HTTP 500 Internal Server Error.")]),
        );
        let s = go(&store, &prober, &settings(), far()).await;
        assert_eq!((s.total, s.healthy, s.error, s.skipped), (50, 49, 1, 0));
        assert_eq!((s.written, s.write_failures, s.superseded), (50, 0, 0));
        assert_eq!(store.write_calls(), 50);
        let r = store.record(id(7)).unwrap();
        assert_eq!(r.state, State::Error);
        assert_eq!(
            r.error_message.as_deref(),
            Some("HTTP 500 Internal Server Error.")
        );
        assert_eq!(r.consecutive_failures, 1);
        assert_eq!(store.record(id(8)).unwrap().state, State::Healthy);
        assert_eq!(
            prober.calls.load(Ordering::SeqCst),
            50,
            "500 is not retried"
        );
    }

    #[tokio::test]
    async fn credentials_expiring_within_the_window_are_counted_and_stay_healthy() {
        let expiring = |i: u32, days: i64| {
            let mut t = ProbeTarget::new(id(i), format!("https://h{i}.test/"), FeedType::Generic);
            t.credentials = Some(crate::domain::CredentialsRef {
                secret_id: format!("connector-health/t/connector/{i}"),
                kind: crate::domain::CredentialsKind::Basic,
                expire_at: Some(ManualClock::start_utc() + chrono::Duration::days(days)),
            });
            t
        };
        let targets = vec![
            expiring(1, 3),
            expiring(2, -1),
            expiring(3, 15),
            ProbeTarget::new(id(4), "https://h4.test/", FeedType::Generic),
        ];
        let store = Arc::new(InMemoryProbeStore::new(targets.clone()));
        let ports = RunPorts {
            writer: store.clone(),
            prober: Arc::new(ScriptedProber::default()),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        let s = run(targets, ports, &settings(), far()).await;
        assert_eq!((s.healthy, s.credentials_expiring), (4, 2));
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_limit() {
        let store = Arc::new(InMemoryProbeStore::new(targets(1..=3)));
        let prober = Arc::new(
            ScriptedProber::default()
                .with(
                    1,
                    vec![status(503, "HTTP 503 Service Unavailable."), healthy()],
                )
                .with(2, vec![status(502, "HTTP 502 Bad Gateway.")]),
        );
        let mut st = settings();
        st.retries = 2;
        let s = go(&store, &prober, &st, far()).await;
        assert_eq!((s.healthy, s.error, s.retried), (2, 1, 2));
        assert_eq!(store.record(id(1)).unwrap().state, State::Healthy);
        let r = store.record(id(2)).unwrap();
        assert_eq!(r.error_message.as_deref(), Some("HTTP 502 Bad Gateway."));
        assert_eq!(r.http_status, Some(502));
        // 1: 2 calls, 2: 1 + 2 retries, 3: 1
        assert_eq!(prober.calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn no_retry_when_retries_are_off() {
        let store = Arc::new(InMemoryProbeStore::new(targets([1])));
        let prober = Arc::new(ScriptedProber::default().with(
            1,
            vec![status(503, "HTTP 503 Service Unavailable."), healthy()],
        ));
        let mut st = settings();
        st.retries = 0;
        let s = go(&store, &prober, &st, far()).await;
        assert_eq!((s.healthy, s.error, s.retried), (0, 1, 0));
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let store = Arc::new(InMemoryProbeStore::new(targets(1..=40)));
        let prober = Arc::new(ScriptedProber {
            delay: Duration::from_millis(20),
            ..ScriptedProber::default()
        });
        let mut st = settings();
        st.concurrency = 4;
        let s = go(&store, &prober, &st, far()).await;
        assert_eq!(s.healthy, 40);
        let max = prober.max_in_flight.load(Ordering::SeqCst);
        assert!(max <= 4, "at most 4 in flight, saw {max}");
        assert!(max >= 2, "probes ran concurrently, saw {max}");
    }

    #[tokio::test]
    async fn probes_that_cannot_finish_before_the_deadline_are_skipped() {
        let mut ts = targets(1..=4);
        ts[1].timeout = Some(Duration::from_secs(60));
        ts[3].timeout = Some(Duration::from_secs(60));
        let store = Arc::new(InMemoryProbeStore::new(ts));
        let prober = Arc::new(ScriptedProber::default());
        let mut st = settings();
        st.default_timeout = Duration::from_secs(1);
        let s = go(
            &store,
            &prober,
            &st,
            Instant::now() + Duration::from_secs(20),
        )
        .await;
        assert_eq!((s.total, s.healthy, s.skipped), (4, 2, 2));
        assert!(store.record(id(2)).is_none(), "skipped rows are untouched");
        assert!(store.record(id(4)).is_none());
        assert_eq!(prober.calls.load(Ordering::SeqCst), 2);
    }

    /// Reads the store's targets (with what it last wrote as their previous result) and
    /// runs them; returns the ids the prober was asked about.
    async fn run_and_see(
        store: &Arc<InMemoryProbeStore>,
        clock: &Arc<ManualClock>,
        settings: &RunSettings,
        deadline: Instant,
    ) -> Vec<u32> {
        let prober = Arc::new(ScriptedProber {
            delay: Duration::from_secs(2),
            ..ScriptedProber::default()
        });
        let ports = RunPorts {
            writer: store.clone(),
            prober: prober.clone(),
            clock: clock.clone(),
            events: no_events(),
        };
        let targets = crate::ports::ProbeTargetReader::targets(store.as_ref())
            .await
            .unwrap();
        run(targets, ports, settings, deadline).await;
        let mut seen = prober.seen.lock().unwrap().clone();
        seen.sort_unstable();
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn runs_cut_short_by_the_deadline_take_turns() {
        // Given ten connectors, one probe at a time, each probe 2 s, and a run that has
        // room for five of them
        let store = Arc::new(InMemoryProbeStore::new(targets(1..=10)));
        let clock = Arc::new(ManualClock::new());
        let mut st = settings();
        st.concurrency = 1;
        st.default_timeout = Duration::from_secs(2);
        st.write_reserve = Duration::from_secs(1);
        let budget = Duration::from_secs(11);

        // When two runs follow one another
        let first = run_and_see(&store, &clock, &st, now() + budget).await;
        clock.advance(Duration::from_secs(60));
        let second = run_and_see(&store, &clock, &st, now() + budget).await;

        // Then the second probes the five the first could not reach, and then the five
        // checked longest ago
        assert_eq!(first.len(), 5, "{first:?}");
        assert_eq!(second.len(), 5, "{second:?}");
        assert!(
            first.iter().all(|i| !second.contains(i)),
            "{first:?} then {second:?}"
        );
        clock.advance(Duration::from_secs(60));
        let third = run_and_see(&store, &clock, &st, now() + budget).await;
        assert_eq!(third, first);
    }

    #[test]
    fn the_most_overdue_come_first() {
        let at = |s: i64| Some(ManualClock::start_utc() + chrono::Duration::seconds(s));
        let mut ts = targets([5, 4, 3, 2, 1, 6]);
        // 5: checked at 20, 4: never, 3: at 10, 2: at 20, 1: never, 6: at 5
        ts[0].previous.last_checked = at(20);
        ts[2].previous.last_checked = at(10);
        ts[3].previous.last_checked = at(20);
        ts[5].previous.last_checked = at(5);
        most_overdue_first(&mut ts);
        let order: Vec<u32> = ts.iter().map(|t| t.id.get()).collect();
        assert_eq!(order, [1, 4, 6, 3, 2, 5]);
    }

    /// A prober that takes a second per probe and records, per host, the most probes it
    /// had in flight at once and when each connector's probe started.
    #[derive(Default)]
    struct HostWatchingProber {
        state: Mutex<HostWatch>,
    }

    #[derive(Default)]
    struct HostWatch {
        in_flight: HashMap<HostKey, u32>,
        max_in_flight: HashMap<HostKey, u32>,
        started_at: HashMap<u32, Instant>,
    }

    impl Prober for HostWatchingProber {
        async fn probe(&self, target: &ProbeTarget, _timeout: Duration) -> ProbeOutcome {
            let host = HostKey::of_target(target);
            {
                let mut w = self.state.lock().unwrap();
                w.started_at.insert(target.id.get(), now());
                let n = w.in_flight.entry(host.clone()).or_default();
                *n += 1;
                let n = *n;
                let max = w.max_in_flight.entry(host.clone()).or_default();
                *max = (*max).max(n);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            *self.state.lock().unwrap().in_flight.get_mut(&host).unwrap() -= 1;
            healthy()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_busy_host_gets_its_share_and_never_holds_up_the_others() {
        // Given 300 connectors on one host, listed first, and 10 on ten others
        let mut ts: Vec<ProbeTarget> = (1..=300)
            .map(|i| ProbeTarget::new(id(i), format!("https://Busy.test/feed/{i}"), FeedType::Npm))
            .collect();
        ts.extend(
            (301..=310)
                .map(|i| ProbeTarget::new(id(i), format!("https://other{i}.test/"), FeedType::Npm)),
        );
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let prober = Arc::new(HostWatchingProber::default());
        let ports = RunPorts {
            writer: store.clone(),
            prober: prober.clone(),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        let mut st = settings();
        st.concurrency = 32;
        st.per_host_concurrency = 4;
        let start = now();

        // When they are probed
        let s = run(ts, ports, &st, start + Duration::from_secs(3600)).await;

        // Then all were, never more than 4 at once on the busy host, and the others
        // started at once
        assert_eq!((s.total, s.healthy), (310, 310));
        let w = prober.state.lock().unwrap();
        let busy = HostKey::Host("busy.test".into(), 443);
        assert_eq!(w.max_in_flight[&busy], 4);
        for i in 301..=310 {
            assert_eq!(w.started_at[&i], start, "connector {i} waited");
        }
        // 300 probes of 1 s, 4 at a time
        assert_eq!(now() - start, Duration::from_secs(75));
    }

    /// Connectors `ids` on `host`.
    fn on_host(host: &str, ids: impl IntoIterator<Item = u32>) -> Vec<ProbeTarget> {
        ids.into_iter()
            .map(|i| ProbeTarget::new(id(i), format!("http://{host}/feed/{i}"), FeedType::Npm))
            .collect()
    }

    fn rate_limited(host: &str, retry_after: Option<Duration>) -> ProbeOutcome {
        ProbeOutcome::failed(
            Failure::rate_limited(RateLimit {
                host: host.into(),
                key: HostKey::Host(host.into(), 80),
                retry_after,
            }),
            Observation {
                http_status: Some(429),
                ..Observation::default()
            },
        )
    }

    /// Four connectors on `slow.test` (one probe at a time there), the first answering
    /// 429 with `retry_after`, and one on `other.test`; each probe takes a second, the
    /// run has a minute. Returns the summary, the prober and the store.
    async fn a_rate_limited_host(
        retry_after: Option<Duration>,
    ) -> (RunSummary, Arc<ScriptedProber>, Arc<InMemoryProbeStore>) {
        let mut ts = on_host("slow.test", 1..=4);
        ts.extend(on_host("other.test", [5]));
        let store = Arc::new(InMemoryProbeStore::new(ts));
        let prober = Arc::new(
            ScriptedProber {
                delay: Duration::from_secs(1),
                ..ScriptedProber::default()
            }
            .with(1, vec![rate_limited("slow.test", retry_after)]),
        );
        let mut st = settings();
        st.per_host_concurrency = 1;
        st.retries = 0;
        st.default_timeout = Duration::from_secs(2);
        st.write_reserve = Duration::from_secs(1);
        let s = go(&store, &prober, &st, now() + Duration::from_secs(60)).await;
        (s, prober, store)
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_that_answers_429_is_left_alone_until_its_retry_after() {
        let start = now();
        let (s, prober, store) = a_rate_limited_host(Some(Duration::from_secs(10))).await;
        assert_eq!((s.total, s.healthy, s.error, s.rate_limited), (5, 4, 1, 0));
        let r = store.record(id(1)).unwrap();
        assert_eq!(
            r.error_message.as_deref(),
            Some("Rate limited by slow.test (HTTP 429); retry after 10 s.")
        );
        assert_eq!(r.http_status, Some(429));
        let started = prober.started_at.lock().unwrap().clone();
        assert_eq!(started[&5], start, "another host does not wait");
        // The 429 came at 1 s: nothing more on slow.test before 11 s, then one at a time.
        assert_eq!(started[&2], start + Duration::from_secs(11));
        assert_eq!(started[&3], start + Duration::from_secs(12));
        assert_eq!(started[&4], start + Duration::from_secs(13));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_past_the_deadline_leaves_the_host_for_the_next_run() {
        // 120 s, and no Retry-After at all (the rest of the run), both past the deadline
        for retry_after in [Some(Duration::from_secs(120)), None] {
            let start = now();
            let (s, prober, store) = a_rate_limited_host(retry_after).await;
            assert_eq!(
                (s.total, s.healthy, s.error, s.rate_limited, s.skipped),
                (5, 1, 1, 3, 0),
                "{retry_after:?}"
            );
            for i in 2..=4 {
                assert!(
                    store.record(id(i)).is_none(),
                    "{i} keeps its previous result"
                );
            }
            assert_eq!(prober.calls.load(Ordering::SeqCst), 2);
            assert_eq!(
                now() - start,
                Duration::from_secs(1),
                "the run does not wait"
            );
        }
    }

    /// A result writer that takes a second per write.
    struct SlowWriter(Arc<InMemoryProbeStore>);

    impl ProbeResultWriter for SlowWriter {
        async fn write(
            &self,
            record: &ProbeRecord,
        ) -> Result<WriteOutcome, crate::ports::DependencyError> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.0.write(record).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_slot_is_free_once_the_probe_ends_not_the_write() {
        // Given eight connectors on one host, two at a time there, and writes of 1 s
        let ts = on_host("one.test", 1..=8);
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let prober = Arc::new(ScriptedProber::default());
        let ports = RunPorts {
            writer: Arc::new(SlowWriter(store.clone())),
            prober: prober.clone(),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        let mut st = settings();
        st.per_host_concurrency = 2;
        let start = now();
        // When they are probed
        let s = run(ts, ports, &st, far()).await;
        // Then every probe started at once: the writes held no slot of the host
        assert_eq!(s.written, 8);
        assert!(prober
            .started_at
            .lock()
            .unwrap()
            .values()
            .all(|at| *at == start));
        assert_eq!(now() - start, Duration::from_secs(1));
    }

    /// Records the timeout each probe was given.
    #[derive(Default)]
    struct TimeoutRecorder(Mutex<HashMap<u32, Duration>>);

    impl Prober for TimeoutRecorder {
        async fn probe(&self, target: &ProbeTarget, timeout: Duration) -> ProbeOutcome {
            self.0.lock().unwrap().insert(target.id.get(), timeout);
            healthy()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_row_timeout_too_long_for_any_run_is_clamped_never_skipped() {
        // Given a row set by hand to 600 s and one to 20 s, in a run of the function's 60 s
        let mut ts = targets([1, 2, 3]);
        ts[0].timeout = Some(Duration::from_secs(600));
        ts[1].timeout = Some(Duration::from_secs(20));
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let prober = Arc::new(TimeoutRecorder::default());
        let ports = RunPorts {
            writer: store.clone(),
            prober: prober.clone(),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        let st = RunSettings::default();
        let s = run(ts, ports, &st, now() + PROBE_FUNCTION_TIMEOUT).await;
        // Then each is probed, the first with the longest timeout a run can start
        assert_eq!((s.healthy, s.skipped), (3, 0));
        let given = prober.0.lock().unwrap().clone();
        assert_eq!(given[&1], Duration::from_secs(26));
        assert_eq!(given[&1], st.max_probe_timeout());
        assert_eq!(given[&2], Duration::from_secs(20));
        assert_eq!(given[&3], st.default_timeout);
    }

    #[tokio::test]
    async fn a_panicking_probe_is_contained() {
        let store = Arc::new(InMemoryProbeStore::new(targets([12, 13, 14])));
        let prober = Arc::new(ScriptedProber {
            panic_id: 13,
            ..ScriptedProber::default()
        });
        let s = go(&store, &prober, &settings(), far()).await;
        assert_eq!((s.total, s.healthy, s.panicked), (3, 2, 1));
        assert!(store.record(id(13)).is_none());
        assert!(store.record(id(14)).is_some());
    }

    #[tokio::test]
    async fn a_failed_write_is_counted_and_the_run_goes_on() {
        let store = Arc::new(InMemoryProbeStore::new(targets(1..=3)));
        store.fail_next_writes(1);
        let prober = Arc::new(ScriptedProber::default());
        let mut st = settings();
        st.concurrency = 1;
        let s = go(&store, &prober, &st, far()).await;
        assert_eq!((s.healthy, s.written, s.write_failures), (3, 2, 1));
    }

    #[tokio::test]
    async fn a_connector_deleted_mid_run_is_not_recreated() {
        let store = Arc::new(InMemoryProbeStore::new(targets([1, 2])));
        let targets = crate::ports::ProbeTargetReader::targets(store.as_ref())
            .await
            .unwrap();
        store.delete(id(2));
        let ports = RunPorts {
            writer: store.clone(),
            prober: Arc::new(ScriptedProber::default()),
            clock: Arc::new(ManualClock::new()),
            events: no_events(),
        };
        let s = run(targets, ports, &settings(), far()).await;
        assert_eq!((s.written, s.superseded), (1, 1));
        assert!(!store.contains(id(2)));
    }

    #[tokio::test]
    async fn state_changes_are_dated_and_failures_counted_across_runs() {
        let store = Arc::new(InMemoryProbeStore::new(targets([1])));
        let clock = Arc::new(ManualClock::new());
        let prober = Arc::new(
            ScriptedProber::default().with(1, vec![status(500, "HTTP 500 Internal Server Error.")]),
        );
        let mut st = settings();
        st.retries = 0;
        for _ in 0..2 {
            let mut ts = crate::ports::ProbeTargetReader::targets(store.as_ref())
                .await
                .unwrap();
            if let Some(r) = store.record(id(1)) {
                ts[0].previous = crate::probe::target::PreviousResult {
                    state: Some(r.state),
                    last_checked: Some(r.last_checked),
                    consecutive_failures: r.consecutive_failures,
                    state_changed_at: Some(r.state_changed_at),
                };
            }
            let ports = RunPorts {
                writer: store.clone(),
                prober: prober.clone(),
                clock: clock.clone(),
                events: no_events(),
            };
            run(ts, ports, &st, far()).await;
            clock.advance(Duration::from_secs(60));
        }
        let r = store.record(id(1)).unwrap();
        assert_eq!(r.consecutive_failures, 2);
        assert_eq!(r.state_changed_at, ManualClock::start_utc());
        assert_eq!(
            r.last_checked,
            ManualClock::start_utc() + chrono::Duration::seconds(60)
        );
    }

    async fn go_with_events(
        targets: Vec<ProbeTarget>,
        store: &Arc<InMemoryProbeStore>,
        prober: ScriptedProber,
        events: &Arc<crate::adapters::memory::InMemoryEvents>,
    ) -> RunSummary {
        let ports = RunPorts {
            writer: store.clone(),
            prober: Arc::new(prober),
            clock: Arc::new(ManualClock::new()),
            events: events.clone(),
        };
        let mut st = settings();
        st.retries = 0;
        run(targets, ports, &st, far()).await
    }

    fn with_previous(mut t: ProbeTarget, state: Option<State>) -> ProbeTarget {
        t.name = Some(format!("connector {}", t.id));
        t.previous.state = state;
        t
    }

    #[tokio::test]
    async fn one_event_per_state_change_and_none_without_one() {
        // 1 healthy → error, 2 healthy → healthy, 3 error → healthy, 4 never probed → error,
        // 5 error → error.
        let ts = vec![
            with_previous(targets([1]).remove(0), Some(State::Healthy)),
            with_previous(targets([2]).remove(0), Some(State::Healthy)),
            with_previous(targets([3]).remove(0), Some(State::Error)),
            with_previous(targets([4]).remove(0), None),
            with_previous(targets([5]).remove(0), Some(State::Error)),
        ];
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let down = status(500, "HTTP 500 Internal Server Error.");
        let prober = ScriptedProber::default()
            .with(1, vec![down.clone()])
            .with(4, vec![down.clone()])
            .with(5, vec![down]);
        let events = Arc::new(crate::adapters::memory::InMemoryEvents::default());
        let s = go_with_events(ts, &store, prober, &events).await;
        assert_eq!((s.events_published, s.event_failures), (3, 0));
        let mut published = events.published();
        published.sort_by_key(|c| c.id);
        let seen: Vec<(u32, State, State)> = published
            .iter()
            .map(|c| (c.id.get(), c.previous_state, c.state))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, State::Healthy, State::Error),
                (3, State::Error, State::Healthy),
                (4, State::Unknown, State::Error),
            ]
        );
        let first = &published[0];
        assert_eq!(first.name, "connector 1");
        assert_eq!(first.url, "http://c1.test", "as the API shows it");
        assert_eq!(
            first.error_message.as_deref(),
            Some("HTTP 500 Internal Server Error.")
        );
        assert_eq!(
            first.last_checked,
            store.record(id(1)).unwrap().last_checked
        );
    }

    #[tokio::test]
    async fn a_result_that_was_not_written_publishes_nothing() {
        let down = || {
            ScriptedProber::default().with(1, vec![status(500, "HTTP 500 Internal Server Error.")])
        };
        let ts = vec![with_previous(targets([1]).remove(0), Some(State::Healthy))];
        let events = Arc::new(crate::adapters::memory::InMemoryEvents::default());
        // Deleted during the run: the conditional write loses.
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        store.delete(id(1));
        let s = go_with_events(ts.clone(), &store, down(), &events).await;
        assert_eq!((s.error, s.superseded), (1, 1));
        // The table is unreachable: the write fails.
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        store.fail_next_writes(1);
        let s = go_with_events(ts, &store, down(), &events).await;
        assert_eq!((s.error, s.write_failures), (1, 1));
        assert_eq!(events.attempts(), 0);
        assert_eq!(s.events_published, 0);
    }

    #[tokio::test]
    async fn a_failed_publish_is_counted_and_the_run_goes_on() {
        let ts: Vec<ProbeTarget> = targets(1..=3)
            .into_iter()
            .map(|t| with_previous(t, Some(State::Error)))
            .collect();
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let events = Arc::new(crate::adapters::memory::InMemoryEvents::default());
        events.fail_next(1);
        let s = go_with_events(ts, &store, ScriptedProber::default(), &events).await;
        assert_eq!((s.healthy, s.written), (3, 3));
        assert_eq!((s.events_published, s.event_failures), (2, 1));
        assert_eq!(events.attempts(), 3);
        assert!(store.record(id(1)).is_some() && store.record(id(3)).is_some());
    }

    /// A result writer whose calls never answer, like a table whose answers are lost.
    struct HangingWriter;

    impl ProbeResultWriter for HangingWriter {
        async fn write(
            &self,
            _: &ProbeRecord,
        ) -> Result<WriteOutcome, crate::ports::DependencyError> {
            std::future::pending().await
        }
    }

    /// A publisher whose calls never answer.
    struct HangingEvents;

    impl StateChangePublisher for HangingEvents {
        async fn publish(&self, _: &StateChange) -> Result<(), crate::ports::DependencyError> {
            std::future::pending().await
        }
    }

    /// Runs `run` on paused time against `deadline`, failing the test if it does not
    /// return before; returns the summary and the time it returned at.
    async fn before_the_deadline<W, E>(
        writer: Arc<W>,
        events: Arc<E>,
        targets: Vec<ProbeTarget>,
        deadline: Instant,
    ) -> (RunSummary, Instant)
    where
        W: ProbeResultWriter + 'static,
        E: StateChangePublisher + 'static,
    {
        let ports = RunPorts {
            writer,
            prober: Arc::new(ScriptedProber::default()),
            clock: Arc::new(ManualClock::new()),
            events,
        };
        let summary = until(deadline, run(targets, ports, &settings(), deadline))
            .await
            .expect("the run returns before the deadline");
        (summary, now())
    }

    #[tokio::test(start_paused = true)]
    async fn writes_that_never_answer_do_not_outlast_the_deadline() {
        let deadline = now() + Duration::from_secs(30);
        let (s, ended) = before_the_deadline(
            Arc::new(HangingWriter),
            no_events(),
            targets(1..=5),
            deadline,
        )
        .await;
        assert!(
            ended + SUMMARY_MARGIN <= deadline,
            "the summary margin is kept"
        );
        assert_eq!((s.total, s.healthy), (5, 5));
        assert_eq!((s.written, s.write_failures, s.writes_cut_off), (0, 5, 5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_whose_write_was_cut_off_is_still_published() {
        let deadline = now() + Duration::from_secs(30);
        let ts: Vec<ProbeTarget> = targets(1..=3)
            .into_iter()
            .map(|t| with_previous(t, Some(State::Error)))
            .collect();
        let events = Arc::new(crate::adapters::memory::InMemoryEvents::default());
        let (s, ended) =
            before_the_deadline(Arc::new(HangingWriter), events.clone(), ts, deadline).await;
        assert!(ended + SUMMARY_MARGIN <= deadline);
        assert_eq!(s.writes_cut_off, 3);
        // The writes may have landed: the next run would not see these changes again.
        assert_eq!((s.events_published, s.event_failures), (3, 0));
        assert_eq!(events.published().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn publishes_that_never_answer_do_not_outlast_the_deadline() {
        let deadline = now() + Duration::from_secs(30);
        let ts: Vec<ProbeTarget> = targets(1..=3)
            .into_iter()
            .map(|t| with_previous(t, Some(State::Error)))
            .collect();
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let (s, ended) =
            before_the_deadline(store.clone(), Arc::new(HangingEvents), ts, deadline).await;
        assert!(ended + SUMMARY_MARGIN <= deadline);
        assert_eq!((s.written, s.writes_cut_off), (3, 0));
        assert_eq!((s.events_published, s.event_failures), (0, 3));
        assert!(store.record(id(2)).is_some(), "the results were written");
    }

    #[tokio::test]
    async fn a_result_for_a_connector_changed_mid_run_is_not_written_nor_published() {
        let ts: Vec<ProbeTarget> = targets([1, 2])
            .into_iter()
            .map(|t| with_previous(t, Some(State::Healthy)))
            .collect();
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        // The run has read its targets; connector 2 is pointed elsewhere meanwhile.
        store.change(id(2), |t| t.url = "http://elsewhere.test".into());
        let down = status(500, "HTTP 500 Internal Server Error.");
        let prober = ScriptedProber::default()
            .with(1, vec![down.clone()])
            .with(2, vec![down]);
        let events = Arc::new(crate::adapters::memory::InMemoryEvents::default());
        let s = go_with_events(ts, &store, prober, &events).await;
        assert_eq!((s.written, s.superseded), (1, 1));
        assert!(store.record(id(2)).is_none());
        let published: Vec<u32> = events.published().iter().map(|c| c.id.get()).collect();
        assert_eq!(published, [1], "no event with the old URL");
    }

    #[tokio::test]
    async fn switched_off_events_are_not_even_attempted() {
        let ts = vec![with_previous(targets([1]).remove(0), None)];
        let store = Arc::new(InMemoryProbeStore::new(ts.clone()));
        let events: Arc<Option<crate::adapters::memory::InMemoryEvents>> = Arc::new(None);
        let ports = RunPorts {
            writer: store.clone(),
            prober: Arc::new(ScriptedProber::default()),
            clock: Arc::new(ManualClock::new()),
            events,
        };
        let s = run(ts, ports, &settings(), far()).await;
        assert_eq!((s.written, s.events_published, s.event_failures), (1, 0, 0));
    }
}
