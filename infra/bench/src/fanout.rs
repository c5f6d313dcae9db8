//! The probe fan-out, simulated in virtual time: one probe cycle of a large fleet through the
//! real probe function (`probe_connectors::handler::ProbeConnectors`) and the real run
//! (`shared::runner`), with in-memory ports and a fake upstream per connector.
//!
//! - The scheduled invocation begins the cycle and sends the fleet, most overdue first, in
//!   batches to the (in-memory) probe queue, as in production.
//! - A simulated SQS event source mapping then runs up to `max_concurrency` worker
//!   invocations at once (ramping up as Lambda does: 5 at first, then up to
//!   [`RAMP_PER_MINUTE`] more a minute), each with one message (`BatchSize: 1`) and a
//!   deadline of `function_timeout`. A message the worker reports as a batch item failure
//!   (or whose invocation failed) becomes visible again `visibility_timeout` after it was
//!   received, and goes to the dead-letter queue on its `max_receives`-th receive.
//! - The fake upstreams ([`Fleet`]) answer after a log-normal latency; a share of them hang
//!   until the probe's timeout, and a share answer HTTP 429 with a `Retry-After`.
//! - DynamoDB and SQS calls take a fixed time each ([`Latencies`]), so that the invocation
//!   durations (what Lambda bills) include them.
//!
//! Everything runs on tokio's paused clock ([`simulate`] builds its own runtime), so a
//! cycle of minutes takes seconds of real time, and a run is deterministic for a seed.
//!
//! One departure from production: a worker's claims are made to lapse at its invocation's
//! deadline on the virtual clock ([`WorkerLedger`]). The function derives that time from
//! `std::time::Instant::now()`, which does not follow tokio's paused clock.

use chrono::{DateTime, Utc};
use probe_connectors::handler::{Outcome, ProbeConnectors};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shared::adapters::memory::{InMemoryLedger, InMemoryProbeStore, InMemoryQueue, ManualClock};
use shared::config::CycleConfig;
use shared::cycle::{inline_capacity, Batch, BatchQueue, Claim, CycleId, CycleLedger, Cycles};
use shared::domain::{ConnectorId, FeedType};
use shared::ports::{
    Clock, DependencyError, NoEvents, ProbeResultWriter, ProbeTargetReader, Prober, WriteOutcome,
};
use shared::probe::outcome::{
    Failure, FailureKind, Observation, ProbeOutcome, ProbeRecord, RateLimit,
};
use shared::probe::schedule::HostKey;
use shared::probe::target::ProbeTarget;
use shared::runner::{RunPorts, RunSettings};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Lambda's SQS event source mapping starts this many concurrent batches...
pub const RAMP_START: usize = 5;
/// ...and adds up to this many a minute while messages wait.
pub const RAMP_PER_MINUTE: usize = 300;

/// The fake upstreams.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub connectors: u32,
    /// Median answer time (log-normal).
    pub median: Duration,
    /// σ of the answer time's logarithm (0.7: p90 ≈ 2.5 × median, p99 ≈ 5 × median).
    pub sigma: f64,
    /// Share of connectors that never answer (each attempt runs into its timeout).
    pub hanging: f64,
    /// Share of connectors that answer HTTP 429 with `retry_after`.
    pub rate_limited: f64,
    pub retry_after: Duration,
    /// Share of connectors on a few big public registries ([`POPULAR_HOSTS`] of them)...
    pub popular_share: f64,
    /// ...and how many connectors share one private host on average.
    pub connectors_per_private_host: u32,
    /// How many of the public registries are down: every connector on them hangs.
    pub popular_hosts_down: u32,
    pub seed: u64,
}

/// The public registries the popular share is spread over.
pub const POPULAR_HOSTS: u32 = 4;

impl Fleet {
    pub fn of(connectors: u32) -> Self {
        Self {
            connectors,
            median: Duration::from_millis(150),
            sigma: 0.7,
            hanging: 0.02,
            rate_limited: 0.01,
            retry_after: Duration::from_secs(30),
            popular_share: 0.25,
            connectors_per_private_host: 20,
            popular_hosts_down: 0,
            seed: 1,
        }
    }
}

/// What one fake upstream does, every time it is asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Healthy(Duration),
    Hang,
    TooManyRequests(Duration),
}

/// The time each call to AWS takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latencies {
    /// One DynamoDB UpdateItem (a claim, a result).
    pub update_item: Duration,
    /// One page (1 MB) of the Scan...
    pub scan_page: Duration,
    /// ...which holds this many rows (1 MB at about 0.4 KB a row).
    pub rows_per_scan_page: usize,
    /// One SendMessageBatch call (the adapter has 8 in flight).
    pub send_message_batch: Duration,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            update_item: Duration::from_millis(8),
            scan_page: Duration::from_millis(80),
            rows_per_scan_page: 2_500,
            send_message_batch: Duration::from_millis(20),
        }
    }
}

/// The deployment being simulated (the template's values by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// `ProbeWorkerMaxConcurrency`: the event source mapping's `MaximumConcurrency`.
    pub max_concurrency: usize,
    /// Whether the mapping starts at [`RAMP_START`] and ramps up (as Lambda does), or
    /// starts at `max_concurrency`.
    pub ramp: bool,
    pub function_timeout: Duration,
    pub memory_mb: u32,
    pub visibility_timeout: Duration,
    /// `maxReceiveCount` of the queue's redrive policy.
    pub max_receives: u32,
    /// `PROBE_BATCH_SIZE`.
    pub batch_size: usize,
    /// The scheduled function's run (`PROBE_CONCURRENCY` 32).
    pub schedule: RunSettings,
    /// The worker's run (`PROBE_CONCURRENCY` 128).
    pub worker: RunSettings,
    pub latencies: Latencies,
}

impl Deployment {
    pub fn with_max_concurrency(max_concurrency: usize) -> Self {
        Self {
            max_concurrency,
            ramp: true,
            function_timeout: Duration::from_secs(60),
            memory_mb: 256,
            visibility_timeout: Duration::from_secs(180),
            max_receives: 3,
            batch_size: 256,
            schedule: RunSettings {
                concurrency: 32,
                ..RunSettings::default()
            },
            worker: RunSettings {
                concurrency: 128,
                ..RunSettings::default()
            },
            latencies: Latencies::default(),
        }
    }
}

/// What one simulated cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub connectors: u32,
    /// Batches the scheduled invocation sent (0: it probed the fleet itself).
    pub batches: u64,
    /// The scheduled invocation's duration.
    pub schedule_duration: Duration,
    /// From the tick until every connector's result was written; `None` if some never were.
    pub completed_after: Option<Duration>,
    /// From the tick until the queue was empty and the last worker had returned.
    pub drained_after: Duration,
    /// Worker invocations (one message each).
    pub worker_invocations: u64,
    /// Deliveries of a message after its first.
    pub redeliveries: u64,
    /// Messages moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// Worker invocations that ran into the function's timeout.
    pub timed_out: u64,
    /// Connectors whose result was written once, more than once, and never.
    pub written_once: u64,
    pub written_more_than_once: u64,
    pub never_written: u64,
    /// Claims granted.
    pub claims: u64,
    /// Result writes attempted.
    pub write_calls: u64,
    /// Worker invocations' durations, sorted.
    pub worker_durations: Vec<Duration>,
    /// Most worker invocations running at once.
    pub peak_concurrency: usize,
    /// Billed duration of every invocation (scheduled and workers) × memory.
    pub gb_seconds: f64,
}

/// The fleet's answers, indexed by connector id − 1, and its targets.
pub fn fleet(f: &Fleet) -> (Vec<Answer>, Vec<ProbeTarget>) {
    let mut rng = StdRng::seed_from_u64(f.seed);
    let private_hosts = (f.connectors / f.connectors_per_private_host.max(1)).max(1);
    let mut answers = Vec::with_capacity(f.connectors as usize);
    let mut targets = Vec::with_capacity(f.connectors as usize);
    for id in (1..=f.connectors).filter_map(ConnectorId::new) {
        let (host, down) = if rng.random_bool(f.popular_share.clamp(0.0, 1.0)) {
            let public = rng.random_range(0..POPULAR_HOSTS);
            (
                format!("public{public}.registry.test"),
                public < f.popular_hosts_down,
            )
        } else {
            let private = rng.random_range(0..private_hosts);
            (format!("host{private}.private.test"), false)
        };
        targets.push(ProbeTarget::new(
            id,
            format!("https://{host}/npm/"),
            FeedType::Npm,
        ));
        // Box-Muller: a standard normal from two uniforms.
        let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let latency = f.median.mul_f64((f.sigma * z).exp());
        let roll: f64 = rng.random();
        answers.push(if down || roll < f.hanging {
            Answer::Hang
        } else if roll < f.hanging + f.rate_limited {
            Answer::TooManyRequests(latency)
        } else {
            Answer::Healthy(latency)
        });
    }
    (answers, targets)
}

/// The fake upstreams: each connector answers as its [`Answer`] says, on tokio's clock.
pub struct FakeUpstreams {
    answers: Vec<Answer>,
    retry_after: Duration,
    attempts: AtomicU64,
}

impl FakeUpstreams {
    pub fn new(answers: Vec<Answer>, retry_after: Duration) -> Self {
        Self {
            answers,
            retry_after,
            attempts: AtomicU64::new(0),
        }
    }

    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

/// An upstream's HTTP 429, as the HTTP prober reports it: the host is held back for
/// `retry_after` for the rest of the run.
fn too_many_requests(target: &ProbeTarget, retry_after: Duration, took: Duration) -> ProbeOutcome {
    let key = HostKey::of_target(target);
    ProbeOutcome::failed(
        Failure::rate_limited(RateLimit {
            host: key.to_string(),
            key,
            retry_after: Some(retry_after),
        }),
        Observation {
            http_status: Some(429),
            response_time: Some(took),
            certificate_expires_at: None,
        },
    )
}

impl Prober for FakeUpstreams {
    async fn probe(&self, target: &ProbeTarget, timeout: Duration) -> ProbeOutcome {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .answers
            .get(target.id.get() as usize - 1)
            .copied()
            .unwrap_or(Answer::Hang);
        let took = match answer {
            Answer::Healthy(t) | Answer::TooManyRequests(t) => t,
            Answer::Hang => timeout,
        };
        tokio::time::sleep(took.min(timeout)).await;
        match answer {
            Answer::Healthy(t) if t < timeout => ProbeOutcome::healthy(Observation {
                http_status: Some(200),
                response_time: Some(t),
                certificate_expires_at: None,
            }),
            Answer::TooManyRequests(t) if t < timeout => {
                too_many_requests(target, self.retry_after, t)
            }
            _ => ProbeOutcome::failed(
                Failure::new(
                    FailureKind::Timeout,
                    format!("Timed out after {} s.", timeout.as_secs_f64()),
                ),
                Observation::default(),
            ),
        }
    }
}

/// Wall-clock time that follows tokio's clock (virtual under paused time), from
/// [`ManualClock::start_utc`].
#[derive(Debug, Clone)]
pub struct VirtualClock {
    origin: Instant,
}

impl VirtualClock {
    /// Starts now, at [`ManualClock::start_utc`].
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    pub fn utc_at(&self, at: Instant) -> DateTime<Utc> {
        let since = at.saturating_duration_since(self.origin);
        ManualClock::start_utc() + chrono::Duration::from_std(since).unwrap_or_default()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.utc_at(Instant::now())
    }
    fn instant(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

/// The connector table: the Scan takes its pages' time, and each result write an
/// UpdateItem's; counts the results written per connector, and when the last first one was.
pub struct Table {
    store: Arc<InMemoryProbeStore>,
    latencies: Latencies,
    written: Vec<AtomicU32>,
    write_calls: AtomicU64,
    last_first_write: Mutex<Option<Instant>>,
}

impl ProbeTargetReader for Table {
    async fn targets(&self) -> Result<Vec<ProbeTarget>, DependencyError> {
        let rows = self.store.targets().await?;
        let pages = rows
            .len()
            .div_ceil(self.latencies.rows_per_scan_page.max(1));
        tokio::time::sleep(self.latencies.scan_page * pages.max(1) as u32).await;
        Ok(rows)
    }

    async fn target(&self, id: ConnectorId) -> Result<Option<ProbeTarget>, DependencyError> {
        tokio::time::sleep(self.latencies.update_item).await;
        self.store.target(id).await
    }
}

impl ProbeResultWriter for Table {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        tokio::time::sleep(self.latencies.update_item).await;
        self.write_calls.fetch_add(1, Ordering::Relaxed);
        let outcome = self.store.write(record).await?;
        if outcome == WriteOutcome::Written {
            let slot = &self.written[record.id.get() as usize - 1];
            if slot.fetch_add(1, Ordering::Relaxed) == 0 {
                *self
                    .last_first_write
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            }
        }
        Ok(outcome)
    }
}

/// The claims of one worker invocation: each takes an UpdateItem's time and lapses at
/// the invocation's deadline (on the virtual clock).
pub struct WorkerLedger {
    inner: Arc<InMemoryLedger>,
    deadline: DateTime<Utc>,
    update_item: Duration,
}

impl CycleLedger for WorkerLedger {
    async fn begin_cycle(&self, cycle: CycleId) -> Result<bool, DependencyError> {
        tokio::time::sleep(self.update_item).await;
        self.inner.begin_cycle(cycle).await
    }

    async fn claim(
        &self,
        id: ConnectorId,
        cycle: CycleId,
        now: DateTime<Utc>,
        _until: DateTime<Utc>,
    ) -> Result<Claim, DependencyError> {
        tokio::time::sleep(self.update_item).await;
        self.inner.claim(id, cycle, now, self.deadline).await
    }
}

/// The probe queue: SendMessageBatch calls of 10, 8 in flight, each taking its time.
pub struct Queue {
    inner: InMemoryQueue,
    send_call: Duration,
}

impl BatchQueue for Queue {
    async fn send(&self, batches: &[Batch]) -> Result<usize, DependencyError> {
        let rounds = batches.len().div_ceil(10).div_ceil(8);
        tokio::time::sleep(self.send_call * rounds as u32).await;
        self.inner.send(batches).await
    }
}

type Handler =
    ProbeConnectors<Arc<Table>, Table, FakeUpstreams, VirtualClock, NoEvents, WorkerLedger, Queue>;

/// The simulated world: the table, the ledger, the queue, the upstreams.
struct World {
    deployment: Deployment,
    table: Arc<Table>,
    ledger: Arc<InMemoryLedger>,
    queue: Arc<Queue>,
    upstreams: Arc<FakeUpstreams>,
    clock: Arc<VirtualClock>,
}

impl World {
    /// The probe function as one invocation ending at `deadline` sees it.
    fn function(&self, settings: &RunSettings, deadline: Instant) -> Handler {
        let d = &self.deployment;
        ProbeConnectors::new(
            self.table.clone(),
            RunPorts {
                writer: self.table.clone(),
                prober: self.upstreams.clone(),
                clock: self.clock.clone(),
                events: Arc::new(NoEvents),
            },
            settings.clone(),
            Cycles {
                ledger: Arc::new(WorkerLedger {
                    inner: self.ledger.clone(),
                    deadline: self.clock.utc_at(deadline),
                    update_item: d.latencies.update_item,
                }),
                queue: Some(self.queue.clone()),
                config: CycleConfig {
                    batch_size: d.batch_size,
                    // What the function computes at the start of its invocation.
                    inline_max: Some(inline_capacity(&d.schedule, d.function_timeout)),
                    ..CycleConfig::default()
                },
            },
        )
    }
}

/// A message on the simulated queue.
#[derive(Debug)]
struct Message {
    id: String,
    body: String,
    receives: u32,
}

/// The SQS event of one message (`BatchSize: 1`).
fn sqs_event(m: &Message) -> Value {
    json!({"Records": [{
        "messageId": m.id, "receiptHandle": format!("{}-{}", m.id, m.receives), "body": m.body,
        "attributes": {"ApproximateReceiveCount": m.receives.to_string()},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:probe", "awsRegion": "us-east-1"
    }]})
}

fn billed(d: Duration) -> Duration {
    // Lambda bills whole milliseconds, rounded up.
    Duration::from_millis(u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX))
}

/// Simulates one cycle of `fleet` on `deployment`, on a paused tokio clock of its own.
pub fn simulate(fleet: &Fleet, deployment: &Deployment) -> Report {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread tokio runtime");
    runtime.block_on(cycle(fleet, deployment))
}

/// One cycle, on the current (paused) tokio runtime.
pub async fn cycle(fleet: &Fleet, deployment: &Deployment) -> Report {
    let (answers, targets) = self::fleet(fleet);
    let store = Arc::new(InMemoryProbeStore::new(targets));
    let world = Arc::new(World {
        deployment: deployment.clone(),
        table: Arc::new(Table {
            store: store.clone(),
            latencies: deployment.latencies.clone(),
            written: (0..fleet.connectors).map(|_| AtomicU32::new(0)).collect(),
            write_calls: AtomicU64::new(0),
            last_first_write: Mutex::new(None),
        }),
        ledger: Arc::new(InMemoryLedger::new(store)),
        queue: Arc::new(Queue {
            inner: InMemoryQueue::default(),
            send_call: deployment.latencies.send_message_batch,
        }),
        upstreams: Arc::new(FakeUpstreams::new(answers, fleet.retry_after)),
        clock: Arc::new(VirtualClock::start()),
    });
    let gb = f64::from(deployment.memory_mb) / 1024.0;
    let mut report = Report {
        connectors: fleet.connectors,
        ..Report::default()
    };
    let mut billed_total = Duration::ZERO;

    // The tick.
    let tick = Instant::now();
    let deadline = tick + deployment.function_timeout;
    let event = json!({
        "version": "0", "id": "sim", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": world.clock.now().to_rfc3339(), "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/probe"], "detail": {}
    });
    let function = world.function(&deployment.schedule, deadline);
    let outcome = tokio::time::timeout_at(deadline, function.handle(&event, deadline.into_std()))
        .await
        .ok()
        .and_then(Result::ok);
    report.schedule_duration = tick.elapsed();
    billed_total += billed(report.schedule_duration);
    if let Some(Outcome::Cycle(c)) = &outcome {
        report.batches = c.batches_sent;
    }

    // The event source mapping.
    let mut waiting: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut messages: Vec<Option<Message>> = Vec::new();
    for (i, batch) in world.queue.inner.drain().into_iter().enumerate() {
        messages.push(Some(Message {
            id: format!("m{i}"),
            body: serde_json::to_string(&batch).unwrap_or_default(),
            receives: 0,
        }));
        waiting.push(Reverse((Instant::now(), i as u64)));
    }
    let mapping_start = Instant::now();
    let mut running: JoinSet<(u64, Message, Instant, Duration, bool, bool)> = JoinSet::new();
    loop {
        let now = Instant::now();
        let allowed = if deployment.ramp {
            let minutes = now.duration_since(mapping_start).as_secs_f64() / 60.0;
            (RAMP_START + (minutes * RAMP_PER_MINUTE as f64) as usize)
                .min(deployment.max_concurrency)
        } else {
            deployment.max_concurrency
        }
        .max(1);
        while running.len() < allowed {
            let Some(Reverse((visible_at, index))) = waiting.peek().copied() else {
                break;
            };
            if visible_at > now {
                break;
            }
            waiting.pop();
            let Some(mut message) = messages[index as usize].take() else {
                continue;
            };
            message.receives += 1;
            report.worker_invocations += 1;
            if message.receives > 1 {
                report.redeliveries += 1;
            }
            let world = world.clone();
            running.spawn(async move {
                let started = Instant::now();
                let deadline = started + world.deployment.function_timeout;
                let function = world.function(&world.deployment.worker, deadline);
                let answer = tokio::time::timeout_at(
                    deadline,
                    function.handle(&sqs_event(&message), deadline.into_std()),
                )
                .await;
                let timed_out = answer.is_err();
                let done = matches!(
                    answer,
                    Ok(Ok(Outcome::Batches(ref b))) if b.batch_item_failures.is_empty()
                );
                (index, message, started, started.elapsed(), done, timed_out)
            });
            report.peak_concurrency = report.peak_concurrency.max(running.len());
        }
        if running.is_empty() && waiting.is_empty() {
            break;
        }
        // Wake at the next return, the next message to become visible, or the next step
        // of the ramp.
        let next_visible = waiting
            .peek()
            .map(|Reverse((at, _))| *at)
            .filter(|at| *at > now);
        let next_step = (deployment.ramp && allowed < deployment.max_concurrency)
            .then(|| now + Duration::from_secs(60) / RAMP_PER_MINUTE as u32);
        let wake = match (next_visible, next_step) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok((index, message, started, took, done, timed_out)) = joined else {
                    continue;
                };
                report.worker_durations.push(took);
                billed_total += billed(took);
                report.timed_out += u64::from(timed_out);
                if done {
                    continue;
                }
                if message.receives >= deployment.max_receives {
                    report.dead_lettered += 1;
                } else {
                    waiting.push(Reverse((started + deployment.visibility_timeout, index)));
                    messages[index as usize] = Some(message);
                }
            }
            _ = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
    report.drained_after = tick.elapsed();

    let table = &world.table;
    for w in &table.written {
        match w.load(Ordering::Relaxed) {
            0 => report.never_written += 1,
            1 => report.written_once += 1,
            _ => report.written_more_than_once += 1,
        }
    }
    report.completed_after = (report.never_written == 0)
        .then(|| {
            *table
                .last_first_write
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        })
        .flatten()
        .map(|at| at.duration_since(tick));
    report.claims = world.ledger.claims_taken();
    report.write_calls = table.write_calls.load(Ordering::Relaxed);
    report.worker_durations.sort();
    report.gb_seconds = billed_total.as_secs_f64() * gb;
    report
}
