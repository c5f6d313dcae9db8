//! Soak: one warm container of the real `list-connectors` binary, driven through testkit's
//! Runtime API stub for many invocations against the emulator, with a mix of valid,
//! unknown and missing API keys. It reports every answer that is not the expected one,
//! the handler time of each invocation and the process's memory (`VmRSS`, `VmHWM`) at
//! the start, after the warm-up and at the end.

use shared::aws::is_local_endpoint;
use shared::domain::Health;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::fixtures::{event, with_header, without_header, Payload};
use testkit::runtime_api::{Function, InvocationResult};
use testkit::world::{connector, fresh_key, key_document, World};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long one invocation may take before the run gives up on the process.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many unexpected answers are kept, to be shown.
const KEPT_UNEXPECTED: usize = 5;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub invocations: usize,
    /// Invocations before the handler times count and the warm memory figure is taken.
    pub warm_up: usize,
    /// Connector rows in the table.
    pub connectors: u32,
    /// Start no invocation after this much time (the report says so).
    pub time_limit: Option<Duration>,
    /// A progress line on stderr every this many invocations (0: none).
    pub progress_every: usize,
    /// The share of each kind of key.
    pub mix: Mix,
    /// Where the table lives when not in the same emulator as the key secret (dynalite,
    /// whose Scan is much faster than moto's; the function is pointed at it with
    /// `AWS_ENDPOINT_URL_DYNAMODB`).
    pub dynamodb_endpoint: Option<String>,
}

impl Options {
    /// `invocations`, the first 1 % (at most 1,000) of them warm-up, 100 connectors.
    pub fn new(invocations: usize) -> Self {
        Self {
            invocations,
            warm_up: (invocations / 100).min(1_000),
            connectors: 100,
            time_limit: None,
            progress_every: (invocations / 10).max(1),
            mix: Mix::default(),
            dynamodb_endpoint: None,
        }
    }
}

/// The key an invocation presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    Valid,
    /// A fresh random key the secret does not hold (a new one each time).
    Unknown,
    /// No key at all.
    Missing,
}

/// How many of every 100 invocations present each kind of key; they are spread evenly
/// through the run. By default 80 valid, 10 unknown, 10 missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub valid: u32,
    pub unknown: u32,
    pub missing: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            valid: 80,
            unknown: 10,
            missing: 10,
        }
    }
}

impl Mix {
    /// `VALID/UNKNOWN/MISSING`, three whole percentages adding up to 100 (`80/10/10`).
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<u32> = text
            .split('/')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<_>>()?;
        let [valid, unknown, missing] = parts[..] else {
            return None;
        };
        (valid + unknown + missing == 100).then_some(Self {
            valid,
            unknown,
            missing,
        })
    }

    /// The kind of the next invocation, given how many of each kind went before: the
    /// kind furthest behind its share.
    pub fn next(&self, so_far: &BTreeMap<KeyKind, u64>) -> KeyKind {
        let total: u64 = so_far.values().sum::<u64>() + 1;
        let behind = |kind: KeyKind, share: u32| {
            let want = total * u64::from(share);
            let had = so_far.get(&kind).copied().unwrap_or(0) * 100;
            (share > 0).then_some(want as i64 - had as i64)
        };
        [
            (KeyKind::Valid, self.valid),
            (KeyKind::Unknown, self.unknown),
            (KeyKind::Missing, self.missing),
        ]
        .into_iter()
        .filter_map(|(kind, share)| behind(kind, share).map(|b| (b, kind)))
        // Ties go to the first kind listed (max_by_key keeps the last maximum).
        .rev()
        .max_by_key(|(b, _)| *b)
        .map_or(KeyKind::Valid, |(_, kind)| kind)
    }
}

impl KeyKind {
    pub const ALL: [KeyKind; 3] = [KeyKind::Valid, KeyKind::Unknown, KeyKind::Missing];

    /// The status the API must answer with.
    pub fn expected_status(self) -> u16 {
        match self {
            KeyKind::Valid => 200,
            KeyKind::Unknown | KeyKind::Missing => 403,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Valid => "valid key",
            KeyKind::Unknown => "unknown key",
            KeyKind::Missing => "missing key",
        }
    }
}

/// A process's memory, from `/proc/<pid>/status`, in kB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kb: u64,
    /// `VmHWM`: the most ever resident.
    pub hwm_kb: u64,
}

impl Memory {
    /// Reads `VmRSS` and `VmHWM` of process `pid`.
    pub fn of(pid: u32) -> Result<Self, BoxError> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        Self::parse(&status).ok_or_else(|| format!("no VmRSS/VmHWM in /proc/{pid}/status").into())
    }

    /// `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status`.
    pub fn parse(status: &str) -> Option<Self> {
        let field = |name: &str| {
            status.lines().find_map(|line| {
                let value = line.strip_prefix(name)?.strip_prefix(':')?;
                value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
            })
        };
        Some(Self {
            rss_kb: field("VmRSS")?,
            hwm_kb: field("VmHWM")?,
        })
    }
}

/// Handler times of one kind of invocation (after the warm-up).
#[derive(Debug, Clone, Default)]
pub struct Times(pub Vec<Duration>);

impl Times {
    /// p50, p99 and max (nearest rank); zeros when empty.
    pub fn p50_p99_max(&self) -> (Duration, Duration, Duration) {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        (
            crate::percentile(&sorted, 0.50),
            crate::percentile(&sorted, 0.99),
            sorted.last().copied().unwrap_or_default(),
        )
    }
}

/// What a run saw.
#[derive(Debug, Clone)]
pub struct Report {
    pub options: Options,
    /// Invocations answered (fewer than asked when the time limit stopped the run).
    pub done: usize,
    /// Answers by the kind of key and the status answered.
    pub answers: BTreeMap<(KeyKind, u16), u64>,
    /// Answers that were not the expected ones (a wrong status or body, an invocation
    /// error), counted, and the first few described.
    pub unexpected: u64,
    pub unexpected_examples: Vec<String>,
    /// Handler time after the warm-up: from handing the event to the function waiting in
    /// `invocation/next` until its response was posted.
    pub times: BTreeMap<KeyKind, Times>,
    /// The first invocation's handler time (it loads the key document).
    pub first: Duration,
    /// When the process asked for its first event; after the warm-up; at the end.
    pub memory_start: Memory,
    pub memory_warm: Memory,
    pub memory_end: Memory,
    /// From the first event handed out to the last answer.
    pub elapsed: Duration,
}

impl Report {
    /// Every handler time after the warm-up, all kinds together.
    pub fn all_times(&self) -> Times {
        Times(self.times.values().flat_map(|t| t.0.clone()).collect())
    }

    pub fn stopped_early(&self) -> bool {
        self.done < self.options.invocations
    }
}

/// Whether an answer is the expected one for `kind`; why not, if not.
fn check(kind: KeyKind, result: &InvocationResult, connectors: u32) -> Result<u16, String> {
    let response = match result {
        InvocationResult::Response(r) => r,
        InvocationResult::Error {
            error_type,
            payload,
        } => return Err(format!("invocation error {error_type:?}: {payload}")),
    };
    let status = response["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| format!("no statusCode in {response}"))?;
    if status != kind.expected_status() {
        return Err(format!("{}: status {status}: {response}", kind.label()));
    }
    let body = response["body"].as_str().unwrap_or_default();
    if kind == KeyKind::Valid {
        let rows = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len));
        if rows != Some(connectors as usize) {
            return Err(format!(
                "{}: {rows:?} rows instead of {connectors}",
                kind.label()
            ));
        }
    }
    Ok(status)
}

/// The connectors of the table: ids 1..=n, a third each healthy, in error and unknown.
fn rows(n: u32) -> Vec<shared::domain::Connector> {
    let at = chrono::Utc::now();
    (1..=n)
        .map(|id| {
            let health = match id % 3 {
                0 => Health::Healthy { last_checked: at },
                1 => Health::Error {
                    message: "HTTP 503 Service Unavailable.".into(),
                    last_checked: at,
                },
                _ => Health::Unknown,
            };
            connector(id, health)
        })
        .collect()
}

/// Runs `binary` (`list-connectors`) as one warm container against a fresh table of
/// `options.connectors` rows and a fresh key secret in the emulator at `endpoint`, and
/// sends it `options.invocations` list requests (the stored HTTP API event) one after
/// another, each only once the function waits for it in `invocation/next`. Refuses an
/// endpoint that is not on this machine.
pub async fn run(binary: &Path, endpoint: &str, options: Options) -> Result<Report, BoxError> {
    if !is_local_endpoint(endpoint) {
        return Err(format!("{endpoint} is not a local emulator").into());
    }
    // Given a table of connectors and a key secret holding one key, in the emulator ...
    let key = fresh_key();
    let world = World::create(endpoint, &key_document(&[("soak", &key)])).await;
    let tables = match &options.dynamodb_endpoint {
        Some(other) => {
            if !is_local_endpoint(other) {
                return Err(format!("{other} is not a local emulator").into());
            }
            let tables = World::named(other).await;
            tables.store.create_table().await?;
            tables
        }
        None => world.clone(),
    };
    // One BatchWriteItem per 25 rows: a table of 100,000 fills in minutes, not hours.
    tables
        .batch_put(
            rows(options.connectors)
                .iter()
                .map(|c| shared::adapters::dynamodb::schema::item_from(c, Some("nuget")))
                .collect(),
        )
        .await;

    // ... and the function on one container, asking for its first event,
    let mut vars = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("CONNECTORS_TABLE", tables.table.as_str()),
        ("API_KEYS_SECRET_ID", world.secret_id.as_str()),
        ("RUST_LOG", "warn"),
    ];
    if let Some(other) = &options.dynamodb_endpoint {
        vars.push(("AWS_ENDPOINT_URL_DYNAMODB", other));
    }
    let mut function = Function::start(binary, &vars).await;
    let pid = function.process.id().ok_or("the function exited at once")?;
    wait_for_next(&mut function, 0).await?;
    let memory_start = Memory::of(pid)?;

    let valid = event(Payload::V2, "list", &key, "");
    let missing = without_header(valid.clone(), "x-apikey");

    // when it answers every invocation,
    let mut report = Report {
        options: options.clone(),
        done: 0,
        answers: BTreeMap::new(),
        unexpected: 0,
        unexpected_examples: Vec::new(),
        times: BTreeMap::new(),
        first: Duration::ZERO,
        memory_start,
        memory_warm: memory_start,
        memory_end: memory_start,
        elapsed: Duration::ZERO,
    };
    let mut sent = BTreeMap::new();
    let mut next_progress = options.progress_every;
    let started = Instant::now();
    for i in 0..options.invocations {
        if options.time_limit.is_some_and(|l| started.elapsed() >= l) {
            break;
        }
        let kind = options.mix.next(&sent);
        *sent.entry(kind).or_default() += 1;
        let unknown;
        let event = match kind {
            KeyKind::Valid => &valid,
            KeyKind::Unknown => {
                unknown = with_header(valid.clone(), "x-apikey", &fresh_key());
                &unknown
            }
            KeyKind::Missing => &missing,
        };
        // The function is waiting in `invocation/next`: the clock starts as the event is
        // handed to it, and stops as its response arrives.
        wait_for_next(&mut function, i).await?;
        let handed = Instant::now();
        let result = tokio::select! {
            result = function.api.invoke(event, INVOKE_TIMEOUT) => result,
            status = function.process.exited() => Err(format!("the function exited ({status:?})")),
        };
        let took = handed.elapsed();
        let result = result.map_err(|e| {
            format!(
                "invocation {i}: {e}; the function printed:\n{}",
                function.output()
            )
        })?;
        match check(kind, &result, options.connectors) {
            Ok(status) => *report.answers.entry((kind, status)).or_default() += 1,
            Err(why) => {
                report.unexpected += 1;
                if report.unexpected_examples.len() < KEPT_UNEXPECTED {
                    report
                        .unexpected_examples
                        .push(format!("invocation {i}: {why}"));
                }
            }
        }
        if i == 0 {
            report.first = took;
        }
        if i >= options.warm_up {
            report.times.entry(kind).or_default().0.push(took);
        }
        report.done = i + 1;
        if report.done == options.warm_up {
            report.memory_warm = Memory::of(pid)?;
        }
        if options.progress_every > 0 && report.done == next_progress {
            next_progress += options.progress_every;
            let memory = Memory::of(pid)?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "soak: {} of {} in {secs:.0} s ({:.0}/s), VmRSS {} kB, VmHWM {} kB, {} unexpected",
                report.done,
                options.invocations,
                report.done as f64 / secs.max(f64::MIN_POSITIVE),
                memory.rss_kb,
                memory.hwm_kb,
                report.unexpected,
            );
        }
    }
    report.elapsed = started.elapsed();
    // then its memory at the end, before it is stopped.
    report.memory_end = Memory::of(pid)?;
    if options.warm_up == 0 {
        report.memory_warm = memory_start;
    }
    function.process.kill().await;
    Ok(report)
}

/// Waits until the function has asked for event number `index` (from 0), or fails when
/// it exits first.
async fn wait_for_next(function: &mut Function, index: usize) -> Result<(), BoxError> {
    let output = tokio::select! {
        _ = function.api.next_call_at(index) => return Ok(()),
        status = function.process.exited() => format!("{status:?}"),
        () = tokio::time::sleep(INVOKE_TIMEOUT) => "no request for an event".to_owned(),
    };
    Err(format!(
        "the function did not ask for event {index} ({output}); it printed:\n{}",
        function.output()
    )
    .into())
}
