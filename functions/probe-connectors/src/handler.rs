//! The Lambda event and what the function reports.
//!
//! Three kinds of event:
//! - the EventBridge scheduled event begins a cycle (see `shared::cycle`): at most once per
//!   tick, whoever else gets the same tick. The invocation reads every connector, logs and
//!   reports how fresh they are, then probes them itself when it can always finish them
//!   (or no probe queue is configured), or else sends their ids, most overdue first, in
//!   batches to the probe queue;
//! - an SQS event (from the probe queue) is a worker's share: it claims each batch's
//!   connectors, probes those it got, and reports each message whose connectors were not all
//!   probed and written as a batch item failure, so SQS delivers it again;
//! - `{"connectorId": N}` probes that one now.
//!
//! Each run first gets the prober ready (its trusted certificates are loaded on the
//! container's first run): if it cannot be, the run fails with `ProberNotReady`, probes and
//! writes nothing, and the next run tries again. A run ends with one structured log line of
//! counts and the same figures as a CloudWatch Embedded Metric Format line; a cycle adds one
//! of its own (freshness, batches sent).

use serde::Serialize;
use serde_json::{json, Value};
use shared::config::CycleConfig;
use shared::cycle::{
    batches, freshness, inline_capacity, Batch, BatchQueue, Claim, CycleId, CycleLedger, Cycles,
    Freshness,
};
use shared::domain::ConnectorId;
use shared::ports::{
    Clock, DependencyError, ProbeResultWriter, ProbeTargetReader, Prober, ProberNotReady,
    StateChangePublisher, WriteOutcome,
};
use shared::probe::outcome::ProbeRecord;
use shared::probe::target::ProbeTarget;
use shared::runner::{most_overdue_first, run, RunPorts, RunSettings, RunSummary};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The CloudWatch namespace of the run's metrics.
pub const METRICS_NAMESPACE: &str = "ConnectorHealth";

/// Claims in flight at once in a worker.
const CLAIMS_IN_FLIGHT: usize = 16;

/// What the event asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeRequest {
    /// A schedule tick: a cycle of every connector.
    Cycle(CycleId),
    /// One connector, now.
    One(ConnectorId),
    /// Queue messages: `(message id, body)` each.
    Batches(Vec<(String, Option<String>)>),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("connectorId must be a whole number from 1 to 2147483647")]
    BadConnectorId,
    #[error("an event with Records must be an SQS event whose records each have a messageId")]
    BadQueueEvent,
    #[error("connector {0} does not exist")]
    NotFound(ConnectorId),
    #[error("could not read or claim the connectors; the cause is in the function's log")]
    Read(#[from] DependencyError),
    #[error("no connector was probed: the prober's trusted certificates could not be loaded: {0}")]
    NotReady(#[from] ProberNotReady),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::BadConnectorId | HandlerError::BadQueueEvent => "InvalidEvent",
            HandlerError::NotFound(_) => "ConnectorNotFound",
            HandlerError::Read(_) => "DependencyUnavailable",
            HandlerError::NotReady(_) => "ProberNotReady",
        };
        match &e {
            HandlerError::Read(cause) => {
                tracing::error!(error = %cause, "could not read or claim the connectors")
            }
            HandlerError::NotReady(cause) => tracing::error!(
                error = %cause,
                "the prober's trusted certificates could not be loaded; no connector was probed"
            ),
            _ => {}
        }
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl ProbeRequest {
    /// Reads the event: `Records` are queue messages; an object with `connectorId` names
    /// one connector; anything else (the scheduled event) is a cycle, named by the event's
    /// `time` (or `now` when it has none).
    pub fn from_event(
        event: &Value,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, HandlerError> {
        if let Some(records) = event.get("Records") {
            let records = records.as_array().ok_or(HandlerError::BadQueueEvent)?;
            return records
                .iter()
                .map(|r| {
                    let id = r.get("messageId").and_then(Value::as_str);
                    let from_sqs = r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs");
                    match id {
                        Some(id) if from_sqs => Ok((
                            id.to_owned(),
                            r.get("body").and_then(Value::as_str).map(str::to_owned),
                        )),
                        _ => Err(HandlerError::BadQueueEvent),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ProbeRequest::Batches);
        }
        match event.get("connectorId") {
            None | Some(Value::Null) => Ok(ProbeRequest::Cycle(CycleId::of_event(event, now))),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .and_then(ConnectorId::new)
                .map(ProbeRequest::One)
                .ok_or(HandlerError::BadConnectorId),
        }
    }
}

/// The instant of a Lambda deadline given as wall-clock time.
pub fn deadline_instant(deadline: SystemTime) -> Instant {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    now() + left
}

/// Now, on tokio's clock (the run's own, so that paused test time applies to both).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What an invocation did (the function's answer).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// One connector checked now.
    Run(RunSummary),
    /// A cycle: probed here or sent to the queue.
    Cycle(CycleReport),
    /// Queue messages: those to be delivered again (the Lambda SQS partial batch answer).
    Batches(BatchResponse),
}

impl Outcome {
    /// The run's counts, when this invocation probed.
    pub fn run(&self) -> Option<&RunSummary> {
        match self {
            Outcome::Run(s) => Some(s),
            Outcome::Cycle(c) => c.run.as_ref(),
            Outcome::Batches(b) => Some(&b.run),
        }
    }
}

/// A cycle's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    pub cycle: CycleId,
    /// The tick had already begun a cycle (a repeated delivery): nothing was done.
    pub repeated: bool,
    #[serde(flatten)]
    pub freshness: Freshness,
    /// Batches made for the queue, and how many it accepted (0 and 0: probed here).
    pub batches: u64,
    pub batches_sent: u64,
    /// What this invocation probed itself (its counts alongside the cycle's).
    #[serde(flatten)]
    pub run: Option<RunSummary>,
}

/// The answer to an SQS event: `batchItemFailures` is what Lambda reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
    #[serde(skip)]
    pub run: RunSummary,
    /// Connectors the messages named that were not ours to probe (claimed by a live
    /// worker, already checked in their cycle, or gone).
    #[serde(skip)]
    pub not_ours: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

/// Remembers which connectors' results were written (or found superseded: done either way).
struct Recording<W> {
    inner: Arc<W>,
    done: Mutex<HashSet<ConnectorId>>,
}

impl<W> Recording<W> {
    fn done(&self, id: ConnectorId) -> bool {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }
}

impl<W: ProbeResultWriter> ProbeResultWriter for Recording<W> {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        let outcome = self.inner.write(record).await?;
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.id);
        Ok(outcome)
    }

    fn history_write_failures(&self) -> u64 {
        self.inner.history_write_failures()
    }
}

/// The probe function, generic over its ports.
pub struct ProbeConnectors<T, W, P, C, E, L, Q> {
    targets: T,
    ports: RunPorts<W, P, C, E>,
    settings: RunSettings,
    cycles: Cycles<L, Q>,
    /// The writer's failed history writes when the last run was reported.
    history_failures_reported: AtomicU64,
}

impl<T, W, P, C, E, L, Q> ProbeConnectors<T, W, P, C, E, L, Q>
where
    T: ProbeTargetReader,
    W: ProbeResultWriter + 'static,
    P: Prober + 'static,
    C: Clock + 'static,
    E: StateChangePublisher + 'static,
    L: CycleLedger + 'static,
    Q: BatchQueue,
{
    pub fn new(
        targets: T,
        ports: RunPorts<W, P, C, E>,
        settings: RunSettings,
        cycles: Cycles<L, Q>,
    ) -> Self {
        Self {
            targets,
            ports,
            settings,
            cycles,
            history_failures_reported: AtomicU64::new(0),
        }
    }

    /// History writes that failed since the last run was reported (each run's own: a
    /// container runs one invocation at a time).
    fn new_history_failures(&self) -> u64 {
        let total = self.ports.writer.history_write_failures();
        let before = self
            .history_failures_reported
            .swap(total, Ordering::Relaxed);
        total.saturating_sub(before)
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: &Value, deadline: Instant) -> Result<Outcome, HandlerError> {
        match ProbeRequest::from_event(event, self.ports.clock.now())? {
            ProbeRequest::One(id) => {
                self.ports.prober.prepare().await?;
                let target = self
                    .targets
                    .target(id)
                    .await?
                    .ok_or(HandlerError::NotFound(id))?;
                let summary = run(vec![target], self.ports.clone(), &self.settings, deadline).await;
                report(&summary, self.new_history_failures());
                Ok(Outcome::Run(summary))
            }
            ProbeRequest::Cycle(cycle) => self.cycle(cycle, deadline).await.map(Outcome::Cycle),
            ProbeRequest::Batches(messages) => {
                self.batches(messages, deadline).await.map(Outcome::Batches)
            }
        }
    }

    async fn cycle(&self, cycle: CycleId, deadline: Instant) -> Result<CycleReport, HandlerError> {
        let mut report = CycleReport {
            cycle,
            repeated: false,
            freshness: Freshness::default(),
            batches: 0,
            batches_sent: 0,
            run: None,
        };
        if !self.cycles.ledger.begin_cycle(cycle).await? {
            tracing::info!(
                cycle = %cycle.start_text(),
                "this schedule tick had already begun its cycle (a repeated delivery): nothing to do"
            );
            report.repeated = true;
            return Ok(report);
        }
        let mut targets = self.targets.targets().await?;
        most_overdue_first(&mut targets);
        report.freshness = freshness(&targets, cycle.start(), self.cycles.config.interval);
        let capacity = self.cycles.config.inline_max.unwrap_or_else(|| {
            inline_capacity(&self.settings, deadline.saturating_duration_since(now()))
        });
        let mut inline = targets;
        if let Some(queue) = self
            .cycles
            .queue
            .as_ref()
            .filter(|_| inline.len() > capacity)
        {
            let batches = batches(cycle, &inline, self.cycles.config.batch_size);
            report.batches = batches.len() as u64;
            match queue.send(&batches).await {
                Ok(sent) => {
                    report.batches_sent = sent as u64;
                    inline = Vec::new();
                }
                // Nothing could be sent: probe here, most overdue first, what fits.
                Err(e) => tracing::error!(
                    error = %e,
                    "the probe queue took no batch: probing here what this invocation can finish, most overdue first"
                ),
            }
        }
        if !inline.is_empty() || report.batches == 0 {
            self.ports.prober.prepare().await?;
            let summary = run(inline, self.ports.clone(), &self.settings, deadline).await;
            self::report(&summary, self.new_history_failures());
            report.run = Some(summary);
        }
        report_cycle(&report, &self.cycles.config);
        Ok(report)
    }

    async fn batches(
        &self,
        messages: Vec<(String, Option<String>)>,
        deadline: Instant,
    ) -> Result<BatchResponse, HandlerError> {
        self.ports.prober.prepare().await?;
        let left = deadline.saturating_duration_since(now());
        let now = self.ports.clock.now();
        let until = now + chrono::Duration::from_std(left).unwrap_or(chrono::Duration::zero());
        let mut failed: Vec<String> = Vec::new();
        let mut owner: HashMap<ConnectorId, usize> = HashMap::new();
        let mut targets: Vec<ProbeTarget> = Vec::new();
        let mut not_ours = 0;
        let mut claims = JoinSet::new();
        let slots = Arc::new(Semaphore::new(CLAIMS_IN_FLIGHT));
        for (index, (message_id, body)) in messages.iter().enumerate() {
            let batch = match body.as_deref().map(Batch::parse) {
                Some(Ok(batch)) => batch,
                _ => {
                    tracing::error!(
                        message_id = %message_id,
                        "a probe queue message is not a batch of connector ids; it is left to the dead-letter queue"
                    );
                    failed.push(message_id.clone());
                    continue;
                }
            };
            for id in batch.connector_ids() {
                let ledger = self.cycles.ledger.clone();
                let slots = slots.clone();
                let cycle = batch.cycle;
                claims.spawn(async move {
                    let _slot = slots.acquire_owned().await;
                    (index, id, ledger.claim(id, cycle, now, until).await)
                });
            }
        }
        let mut broken: HashSet<usize> = HashSet::new();
        while let Some(joined) = claims.join_next().await {
            match joined {
                Ok((index, _, Ok(Claim::Taken(target)))) => {
                    owner.insert(target.id, index);
                    targets.push(target);
                }
                Ok((_, _, Ok(Claim::NotOurs))) => not_ours += 1,
                Ok((index, id, Err(e))) => {
                    tracing::error!(connector_id = id.get(), error = %e, "could not claim a connector; its message will be delivered again");
                    broken.insert(index);
                }
                Err(_) => tracing::error!("a claim task panicked"),
            }
        }
        most_overdue_first(&mut targets);
        let recording = Arc::new(Recording {
            inner: self.ports.writer.clone(),
            done: Mutex::new(HashSet::new()),
        });
        let ports = RunPorts {
            writer: recording.clone(),
            prober: self.ports.prober.clone(),
            clock: self.ports.clock.clone(),
            events: self.ports.events.clone(),
        };
        let summary = run(targets, ports, &self.settings, deadline).await;
        for (id, index) in owner {
            if !recording.done(id) {
                broken.insert(index);
            }
        }
        let mut broken: Vec<usize> = broken.into_iter().collect();
        broken.sort_unstable();
        failed.extend(broken.into_iter().map(|i| messages[i].0.clone()));
        report(&summary, self.new_history_failures());
        tracing::info!(
            messages = messages.len(),
            redelivered = failed.len(),
            not_ours,
            "probe queue batch finished"
        );
        Ok(BatchResponse {
            batch_item_failures: failed
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
            run: summary,
            not_ours,
        })
    }
}

/// The final log line and the EMF line, with the run's failed history writes.
fn report(s: &RunSummary, history_write_failures: u64) {
    tracing::info!(
        total = s.total,
        healthy = s.healthy,
        error = s.error,
        skipped = s.skipped,
        rate_limited = s.rate_limited,
        panicked = s.panicked,
        retried = s.retried,
        written = s.written,
        superseded = s.superseded,
        write_failures = s.write_failures,
        writes_cut_off = s.writes_cut_off,
        certificates_expiring = s.certificates_expiring,
        credentials_expiring = s.credentials_expiring,
        events_published = s.events_published,
        event_failures = s.event_failures,
        history_write_failures,
        duration_ms = s.duration_ms,
        "probe run finished"
    );
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|_| DEFAULT_FUNCTION_DIMENSION.to_owned());
    println!(
        "{}",
        emf(
            s,
            history_write_failures,
            chrono::Utc::now().timestamp_millis(),
            &function
        )
    );
}

/// The `Function` dimension when not running in Lambda (the local stack, tests).
pub const DEFAULT_FUNCTION_DIMENSION: &str = "probe-connectors";

/// The run's figures in CloudWatch Embedded Metric Format (one JSON line on stdout),
/// with the function's name as the `Function` dimension, so two stacks in one account
/// and region feed separate metrics and alarms. `HistoryWriteFailures` counts the run's
/// checks whose history could not be recorded (their results were written).
pub fn emf(
    s: &RunSummary,
    history_write_failures: u64,
    timestamp_ms: i64,
    function: &str,
) -> Value {
    let counts = [
        ("Total", s.total),
        ("Healthy", s.healthy),
        ("Error", s.error),
        ("Skipped", s.skipped),
        ("RateLimited", s.rate_limited),
        ("Panicked", s.panicked),
        ("Retried", s.retried),
        ("WriteFailures", s.write_failures),
        ("CertificatesExpiring", s.certificates_expiring),
        ("CredentialsExpiring", s.credentials_expiring),
        ("StateChanges", s.events_published),
        ("EventFailures", s.event_failures),
        ("HistoryWriteFailures", history_write_failures),
    ];
    let duration = ("DurationMs", "Milliseconds", s.duration_ms);
    emf_line(&counts, duration, timestamp_ms, function)
}

/// One EMF line in the `ConnectorHealth` namespace with the `Function` dimension: `counts`
/// (unit Count) and one more figure with its own unit, each declared and given its value.
fn emf_line(
    counts: &[(&str, u64)],
    (other, unit, value): (&str, &str, u64),
    timestamp_ms: i64,
    function: &str,
) -> Value {
    let mut metrics: Vec<Value> = counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    metrics.push(json!({"Name": other, "Unit": unit}));
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics,
            }],
        },
        "Function": function,
    });
    if let Some(obj) = line.as_object_mut() {
        for (name, value) in counts {
            obj.insert((*name).to_owned(), json!(value));
        }
        obj.insert(other.to_owned(), json!(value));
    }
    line
}

/// The cycle's log line and EMF line.
fn report_cycle(r: &CycleReport, config: &CycleConfig) {
    let f = &r.freshness;
    tracing::info!(
        cycle = %r.cycle.start_text(),
        due = f.due,
        never_checked = f.never_checked,
        late = f.late,
        stale = f.stale,
        oldest_check_age_seconds = f.oldest_check_age_seconds,
        interval_seconds = config.interval.as_secs(),
        batches = r.batches,
        batches_sent = r.batches_sent,
        "probe cycle begun"
    );
    if r.batches_sent < r.batches {
        tracing::error!(
            batches = r.batches,
            batches_sent = r.batches_sent,
            "some batches could not be sent to the probe queue; their connectors are first in the next cycle"
        );
    }
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|_| DEFAULT_FUNCTION_DIMENSION.to_owned());
    println!(
        "{}",
        cycle_emf(r, chrono::Utc::now().timestamp_millis(), &function)
    );
}

/// The cycle's figures in CloudWatch Embedded Metric Format: how fresh the fleet was when
/// the cycle began (`StaleConnectors` feeds the stale alarm), and the batches sent.
pub fn cycle_emf(r: &CycleReport, timestamp_ms: i64, function: &str) -> Value {
    let f = &r.freshness;
    let counts = [
        ("Due", f.due),
        ("NeverChecked", f.never_checked),
        ("Late", f.late),
        ("StaleConnectors", f.stale),
        ("Batches", r.batches),
        ("BatchesNotSent", r.batches - r.batches_sent.min(r.batches)),
    ];
    let oldest = (
        "OldestCheckAgeSeconds",
        "Seconds",
        f.oldest_check_age_seconds,
    );
    emf_line(&counts, oldest, timestamp_ms, function)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::memory::{
        InMemoryLedger, InMemoryProbeStore, InMemoryQueue, ManualClock,
    };
    use shared::domain::FeedType;
    use shared::ports::NoEvents;
    use shared::probe::outcome::{Observation, ProbeOutcome};
    use shared::probe::target::ProbeTarget;
    use std::sync::Arc;

    struct AlwaysHealthy;
    impl Prober for AlwaysHealthy {
        async fn probe(&self, _: &ProbeTarget, _: Duration) -> ProbeOutcome {
            ProbeOutcome::healthy(Observation::default())
        }
    }

    type TestHandler = ProbeConnectors<
        Arc<InMemoryProbeStore>,
        InMemoryProbeStore,
        AlwaysHealthy,
        ManualClock,
        NoEvents,
        InMemoryLedger,
        InMemoryQueue,
    >;

    struct Fixture {
        store: Arc<InMemoryProbeStore>,
        ledger: Arc<InMemoryLedger>,
        queue: Arc<InMemoryQueue>,
        clock: Arc<ManualClock>,
        handler: TestHandler,
    }

    fn id(n: u32) -> ConnectorId {
        ConnectorId::new(n).unwrap()
    }

    fn targets(ids: &[u32]) -> Vec<ProbeTarget> {
        ids.iter()
            .map(|i| ProbeTarget::new(id(*i), "http://x.test", FeedType::Npm))
            .collect()
    }

    /// A handler over `targets`; with a queue when `queue` is set (then a cycle of more
    /// than `inline_max` connectors goes to it, in batches of 2).
    fn fixture_of(targets: Vec<ProbeTarget>, inline_max: Option<usize>) -> Fixture {
        let store = Arc::new(InMemoryProbeStore::new(targets));
        let ledger = Arc::new(InMemoryLedger::new(store.clone()));
        let queue = Arc::new(InMemoryQueue::default());
        let clock = Arc::new(ManualClock::new());
        let handler = ProbeConnectors::new(
            store.clone(),
            RunPorts {
                writer: store.clone(),
                prober: Arc::new(AlwaysHealthy),
                clock: clock.clone(),
                events: Arc::new(NoEvents),
            },
            RunSettings::default(),
            Cycles {
                ledger: ledger.clone(),
                queue: inline_max.map(|_| queue.clone()),
                config: CycleConfig {
                    batch_size: 2,
                    inline_max,
                    ..CycleConfig::default()
                },
            },
        );
        Fixture {
            store,
            ledger,
            queue,
            clock,
            handler,
        }
    }

    fn handler(ids: &[u32]) -> (Arc<InMemoryProbeStore>, TestHandler) {
        let f = fixture_of(targets(ids), None);
        (f.store, f.handler)
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(300)
    }

    /// The scheduled event of the tick at `at`.
    fn tick(at: chrono::DateTime<chrono::Utc>) -> Value {
        json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.to_rfc3339(), "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/probe"], "detail": {}
        })
    }

    /// An SQS event carrying `batches` (message ids m0, m1, ...).
    fn sqs(bodies: &[String]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                json!({
                    "messageId": format!("m{i}"), "receiptHandle": "r", "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                    "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:probe",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        json!({ "Records": records })
    }

    fn body(cycle: CycleId, ids: &[u32]) -> String {
        serde_json::to_string(&Batch {
            cycle,
            ids: ids.to_vec(),
        })
        .unwrap()
    }

    fn failures(outcome: &Outcome) -> Vec<String> {
        match outcome {
            Outcome::Batches(b) => b
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect(),
            other => panic!("not a batch answer: {other:?}"),
        }
    }

    fn cycle_report(outcome: Outcome) -> CycleReport {
        match outcome {
            Outcome::Cycle(c) => c,
            other => panic!("not a cycle: {other:?}"),
        }
    }

    #[test]
    fn events_name_a_cycle_one_connector_or_queue_messages() {
        let now = ManualClock::start_utc();
        let at = now - chrono::Duration::seconds(7);
        assert_eq!(
            ProbeRequest::from_event(&tick(at), now).unwrap(),
            ProbeRequest::Cycle(CycleId::new(at.timestamp()))
        );
        assert_eq!(
            ProbeRequest::from_event(&Value::Null, now).unwrap(),
            ProbeRequest::Cycle(CycleId::new(now.timestamp()))
        );
        assert_eq!(
            ProbeRequest::from_event(&json!({"connectorId": 3}), now).unwrap(),
            ProbeRequest::One(id(3))
        );
        for bad in [
            json!(0),
            json!(-1),
            json!("3"),
            json!(1.5),
            json!(4_294_967_296u64),
        ] {
            assert!(matches!(
                ProbeRequest::from_event(&json!({"connectorId": bad}), now),
                Err(HandlerError::BadConnectorId)
            ));
        }
        assert_eq!(
            ProbeRequest::from_event(&sqs(&["x".to_owned()]), now).unwrap(),
            ProbeRequest::Batches(vec![("m0".to_owned(), Some("x".to_owned()))])
        );
        for bad in [
            json!({"Records": {}}),
            json!({"Records": [{"messageId": "m", "eventSource": "aws:sns"}]}),
            json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
        ] {
            assert!(matches!(
                ProbeRequest::from_event(&bad, now),
                Err(HandlerError::BadQueueEvent)
            ));
        }
    }

    #[tokio::test]
    async fn one_connector_can_be_checked_now() {
        let (store, h) = handler(&[1, 2, 3]);
        let outcome = h.handle(&json!({"connectorId": 2}), later()).await.unwrap();
        let s = outcome.run().unwrap();
        assert_eq!((s.total, s.healthy, s.written), (1, 1, 1));
        assert!(store.record(id(2)).is_some());
        assert!(store.record(id(1)).is_none());
        assert!(matches!(
            h.handle(&json!({"connectorId": 9}), later()).await,
            Err(HandlerError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn the_schedule_checks_every_connector() {
        let (store, h) = handler(&[1, 2, 3]);
        let outcome = h
            .handle(&json!({"source": "aws.events"}), later())
            .await
            .unwrap();
        let s = outcome.run().unwrap();
        assert_eq!((s.total, s.healthy, s.written), (3, 3, 3));
        assert_eq!(store.write_calls(), 3);
    }

    #[tokio::test]
    async fn a_repeated_delivery_of_a_tick_probes_nothing() {
        let f = fixture_of(targets(&[1, 2]), None);
        let at = ManualClock::start_utc();
        let first = cycle_report(f.handler.handle(&tick(at), later()).await.unwrap());
        assert!(!first.repeated);
        assert_eq!(first.run.unwrap().written, 2);
        let again = cycle_report(f.handler.handle(&tick(at), later()).await.unwrap());
        assert!(again.repeated);
        assert_eq!(again.run, None);
        assert_eq!(f.store.write_calls(), 2);
        // An older tick delivered late is not a new cycle either; the next one is.
        let older = at - chrono::Duration::seconds(300);
        assert!(cycle_report(f.handler.handle(&tick(older), later()).await.unwrap()).repeated);
        let next = at + chrono::Duration::seconds(300);
        assert!(!cycle_report(f.handler.handle(&tick(next), later()).await.unwrap()).repeated);
        assert_eq!(f.store.write_calls(), 4);
    }

    #[tokio::test]
    async fn a_fleet_too_large_for_one_invocation_goes_to_the_queue_most_overdue_first() {
        let start = ManualClock::start_utc();
        let mut fleet = targets(&[1, 2, 3, 4, 5]);
        // 1 and 2 were checked recently, 3 long ago, 4 and 5 never.
        for (i, ago) in [(0, 10), (1, 20), (2, 900)] {
            fleet[i].previous.last_checked = Some(start - chrono::Duration::seconds(ago));
        }
        let f = fixture_of(fleet, Some(4));
        let report = cycle_report(f.handler.handle(&tick(start), later()).await.unwrap());
        assert_eq!((report.batches, report.batches_sent), (3, 3));
        assert_eq!(
            report.run, None,
            "nothing is probed by the scheduled invocation"
        );
        assert_eq!(f.store.write_calls(), 0);
        assert_eq!(
            report.freshness,
            Freshness {
                due: 5,
                never_checked: 2,
                late: 1,
                stale: 0,
                oldest_check_age_seconds: 900,
            }
        );
        let sent = f.queue.drain();
        let order: Vec<Vec<u32>> = sent.iter().map(|b| b.ids.clone()).collect();
        assert_eq!(order, vec![vec![4, 5], vec![3, 2], vec![1]]);
        assert!(sent
            .iter()
            .all(|b| b.cycle == CycleId::new(start.timestamp())));
    }

    #[tokio::test]
    async fn a_fleet_that_fits_is_probed_by_the_scheduled_invocation() {
        let f = fixture_of(targets(&[1, 2, 3]), Some(3));
        let report = cycle_report(
            f.handler
                .handle(&tick(ManualClock::start_utc()), later())
                .await
                .unwrap(),
        );
        assert_eq!(report.batches, 0);
        assert_eq!(report.run.unwrap().written, 3);
        assert!(f.queue.drain().is_empty());
    }

    #[tokio::test]
    async fn when_the_queue_takes_nothing_the_cycle_is_probed_here() {
        let f = fixture_of(targets(&[1, 2, 3]), Some(1));
        f.queue.fail(true);
        let report = cycle_report(
            f.handler
                .handle(&tick(ManualClock::start_utc()), later())
                .await
                .unwrap(),
        );
        assert_eq!((report.batches, report.batches_sent), (2, 0));
        assert_eq!(report.run.unwrap().written, 3);
    }

    #[tokio::test]
    async fn a_worker_probes_what_it_claims_and_a_repeated_message_probes_nothing() {
        let f = fixture_of(targets(&[1, 2, 3, 4]), Some(0));
        let cycle = CycleId::new(ManualClock::start_utc().timestamp());
        let event = sqs(&[body(cycle, &[1, 2]), body(cycle, &[3, 4])]);
        let outcome = f.handler.handle(&event, later()).await.unwrap();
        assert!(failures(&outcome).is_empty());
        assert_eq!(outcome.run().unwrap().written, 4);
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            json!({"batchItemFailures": []})
        );
        // The same messages again (SQS delivers at least once), even after the claims lapsed.
        f.clock.advance(Duration::from_secs(400));
        let again = f.handler.handle(&event, later()).await.unwrap();
        assert!(failures(&again).is_empty());
        assert_eq!(again.run().unwrap().total, 0);
        assert_eq!(f.store.write_calls(), 4);
        assert_eq!(f.ledger.claims_taken(), 4);
        // The next cycle probes them again.
        let next = CycleId::new(cycle.get() + 300);
        let outcome = f
            .handler
            .handle(&sqs(&[body(next, &[1, 2, 3, 4])]), later())
            .await
            .unwrap();
        assert_eq!(outcome.run().unwrap().written, 4);
    }

    #[tokio::test]
    async fn a_live_claim_is_not_taken_but_a_lapsed_one_of_an_unfinished_probe_is() {
        let f = fixture_of(targets(&[1, 2]), Some(0));
        let start = ManualClock::start_utc();
        let cycle = CycleId::new(start.timestamp());
        // Another worker claimed 1 until 60 s from now, and died without writing.
        let until = start + chrono::Duration::seconds(60);
        assert!(matches!(
            f.ledger.claim(id(1), cycle, start, until).await.unwrap(),
            Claim::Taken(_)
        ));
        let event = sqs(&[body(cycle, &[1, 2])]);
        let outcome = f.handler.handle(&event, later()).await.unwrap();
        assert!(
            failures(&outcome).is_empty(),
            "1 is someone else's, 2 was done"
        );
        assert!(f.store.record(id(1)).is_none());
        assert!(f.store.record(id(2)).is_some());
        // Redelivered once that claim lapsed: 1 is probed, 2 (done this cycle) is not.
        f.clock.advance(Duration::from_secs(61));
        let outcome = f.handler.handle(&event, later()).await.unwrap();
        assert!(failures(&outcome).is_empty());
        assert!(f.store.record(id(1)).is_some());
        assert_eq!(f.store.write_calls(), 2);
    }

    #[tokio::test]
    async fn a_message_left_unfinished_or_unreadable_is_delivered_again() {
        let f = fixture_of(targets(&[1, 2, 3]), Some(0));
        let cycle = CycleId::new(ManualClock::start_utc().timestamp());
        f.store.fail_next_writes(1);
        let event = sqs(&[
            body(cycle, &[1]),
            "not a batch".to_owned(),
            body(cycle, &[2, 3]),
        ]);
        let outcome = f.handler.handle(&event, later()).await.unwrap();
        let mut failed = failures(&outcome);
        failed.sort();
        // m1 cannot be read; one write failed, so one of m0 and m2 is unfinished.
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(failed.contains(&"m1".to_owned()));
        // A run with no time left probes nothing: every message comes back.
        let f = fixture_of(targets(&[1, 2]), Some(0));
        let outcome = f
            .handler
            .handle(
                &sqs(&[body(cycle, &[1]), body(cycle, &[2])]),
                Instant::now(),
            )
            .await
            .unwrap();
        assert_eq!(failures(&outcome), vec!["m0", "m1"]);
    }

    /// A prober that cannot get ready the first `failures` times it is asked.
    #[derive(Default)]
    struct NotReadyAtFirst {
        failures: usize,
        prepared: std::sync::atomic::AtomicUsize,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("PROBE_EXTRA_CA_FILE: the file /opt/ca.pem holds no PEM certificate")]
    struct NoCertificate;

    impl Prober for NotReadyAtFirst {
        async fn probe(&self, _: &ProbeTarget, _: Duration) -> ProbeOutcome {
            ProbeOutcome::healthy(Observation::default())
        }

        async fn prepare(&self) -> Result<(), ProberNotReady> {
            let call = self
                .prepared
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if call < self.failures {
                Err(ProberNotReady::new(NoCertificate))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_prober_that_cannot_get_ready_fails_the_run_before_any_probe() {
        let store = Arc::new(InMemoryProbeStore::new([1, 2].map(|i| {
            ProbeTarget::new(
                ConnectorId::new(i).unwrap(),
                "https://x.test",
                FeedType::Npm,
            )
        })));
        let h = ProbeConnectors::new(
            store.clone(),
            RunPorts {
                writer: store.clone(),
                prober: Arc::new(NotReadyAtFirst {
                    failures: 1,
                    ..NotReadyAtFirst::default()
                }),
                clock: Arc::new(ManualClock::new()),
                events: Arc::new(NoEvents),
            },
            RunSettings::default(),
            Cycles {
                ledger: Arc::new(InMemoryLedger::new(store.clone())),
                queue: None::<Arc<InMemoryQueue>>,
                config: CycleConfig::default(),
            },
        );

        let at = ManualClock::start_utc();
        let e = h.handle(&tick(at), later()).await.unwrap_err();
        assert!(matches!(e, HandlerError::NotReady(_)), "{e:?}");
        assert_eq!(store.write_calls(), 0);
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "ProberNotReady");
        assert!(
            d.error_message
                .ends_with(": PROBE_EXTRA_CA_FILE: the file /opt/ca.pem holds no PEM certificate"),
            "{}",
            d.error_message
        );

        // The next tick asks again, and goes ahead once the prober is ready
        let next = at + chrono::Duration::seconds(300);
        let outcome = h.handle(&tick(next), later()).await.unwrap();
        let s = outcome.run().unwrap();
        assert_eq!((s.total, s.healthy, s.written), (2, 2, 2));
    }

    #[test]
    fn emf_declares_every_figure_it_carries() {
        let s = RunSummary {
            total: 10,
            healthy: 7,
            error: 2,
            skipped: 1,
            duration_ms: 1234,
            ..RunSummary::default()
        };
        let line = emf(
            &s,
            3,
            1_700_000_000_000,
            "stack-ProbeConnectorsFunction-abc",
        );
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(
                line.get(name).is_some_and(|v| v.is_u64()),
                "{name} has a value"
            );
        }
        assert_eq!(line["Healthy"], 7);
        assert_eq!(line["Skipped"], 1);
        assert_eq!(line["DurationMs"], 1234);
        assert_eq!(line["HistoryWriteFailures"], 3);
        assert!(declared.iter().any(|m| m["Name"] == "HistoryWriteFailures"));
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(line["Function"], "stack-ProbeConnectorsFunction-abc");
    }

    #[test]
    fn the_cycle_line_declares_every_figure_it_carries() {
        let report = CycleReport {
            cycle: CycleId::new(1_700_000_000),
            repeated: false,
            freshness: Freshness {
                due: 10,
                never_checked: 1,
                late: 3,
                stale: 2,
                oldest_check_age_seconds: 1000,
            },
            batches: 4,
            batches_sent: 3,
            run: None,
        };
        let line = cycle_emf(
            &report,
            1_700_000_000_000,
            "stack-ProbeConnectorsFunction-abc",
        );
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), 7);
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(
                line.get(name).is_some_and(|v| v.is_u64()),
                "{name} has a value"
            );
        }
        assert_eq!(line["StaleConnectors"], 2);
        assert_eq!(line["Late"], 3);
        assert_eq!(line["BatchesNotSent"], 1);
        assert_eq!(line["OldestCheckAgeSeconds"], 1000);
        assert_eq!(line["Function"], "stack-ProbeConnectorsFunction-abc");
        // The answer carries the same figures, for `chadmin probe`.
        let answer = serde_json::to_value(Outcome::Cycle(report)).unwrap();
        assert_eq!(answer["due"], 10);
        assert_eq!(answer["batchesSent"], 3);
        assert!(answer.get("total").is_none());
    }

    #[tokio::test]
    async fn each_run_reports_its_own_failed_history_writes() {
        use shared::adapters::history_writer::HistoryWriter;
        use shared::adapters::memory::InMemoryHistory;
        let store = Arc::new(InMemoryProbeStore::new(targets(&[1, 2])));
        let history = Arc::new(InMemoryHistory::default());
        let writer = Arc::new(HistoryWriter::new(store.clone(), history.clone()));
        let clock = Arc::new(ManualClock::new());
        let h = ProbeConnectors::new(
            store.clone(),
            RunPorts {
                writer,
                prober: Arc::new(AlwaysHealthy),
                clock: clock.clone(),
                events: Arc::new(NoEvents),
            },
            RunSettings::default(),
            Cycles {
                ledger: Arc::new(InMemoryLedger::new(store.clone())),
                queue: None::<Arc<InMemoryQueue>>,
                config: CycleConfig::default(),
            },
        );
        history.fail(true);
        h.handle(&json!({"connectorId": 1}), later()).await.unwrap();
        let reported = || h.history_failures_reported.load(Ordering::Relaxed);
        assert_eq!(reported(), 1, "the run's failure was reported with it");
        assert_eq!(h.new_history_failures(), 0, "and is not reported again");
        clock.advance(Duration::from_secs(60));
        h.handle(&tick(ManualClock::start_utc()), later())
            .await
            .unwrap();
        assert_eq!(store.write_calls(), 3, "every result written all the same");
        assert_eq!(reported(), 3);
        history.fail(false);
        h.handle(&json!({"connectorId": 2}), later()).await.unwrap();
        assert_eq!((reported(), h.new_history_failures()), (3, 0));
    }

    #[test]
    fn a_past_deadline_is_now() {
        let d = deadline_instant(SystemTime::now() - Duration::from_secs(5));
        assert!(d <= Instant::now());
        let d = deadline_instant(SystemTime::now() + Duration::from_secs(60));
        assert!(d > Instant::now() + Duration::from_secs(55));
    }
}
