//! A probe cycle: one tick of the schedule, and how its connectors are shared out.
//!
//! - The scheduled invocation *begins* the cycle (at most once per cycle, whoever else gets
//!   the same tick: EventBridge delivers at least once), reads every connector, measures
//!   how fresh the fleet is ([`Freshness`]), and then either probes them itself (a fleet
//!   that one invocation can always finish, [`inline_capacity`]) or sends their ids, most
//!   overdue first, in [`Batch`]es to a queue.
//! - A worker takes each batch's connectors by *claiming* them ([`CycleLedger::claim`]):
//!   a conditional write that a live claim, or a check already made in this cycle, refuses.
//!   So a batch sent twice, or a cycle that outlasts the interval, never has a connector
//!   probed twice in one cycle, and a worker that dies leaves claims that lapse at its
//!   deadline, so the batch's redelivery finishes its work.
//!
//! Messages carry the cycle and connector ids only: never a URL or a credential.

use crate::domain::{format_timestamp, parse_timestamp, ConnectorId};

use crate::ports::DependencyError;
use crate::probe::target::ProbeTarget;
use crate::runner::{RunSettings, PUBLISH_MARGIN, SUMMARY_MARGIN};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A cycle, named by its scheduled time in whole seconds since the epoch: every delivery
/// of one schedule tick names the same cycle, and a later tick a larger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CycleId(i64);

impl CycleId {
    pub fn new(epoch_seconds: i64) -> Self {
        Self(epoch_seconds)
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The cycle's scheduled time.
    pub fn start(self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0, 0).unwrap_or_default()
    }

    /// The scheduled time as the table stores check times, to compare `lastChecked` with.
    pub fn start_text(self) -> String {
        format_timestamp(&self.start())
    }

    /// The cycle of a scheduled event: its `time` (the tick's scheduled time, the same in
    /// every delivery of it), or `now` for an event without one (a manual invoke).
    pub fn of_event(event: &Value, now: DateTime<Utc>) -> Self {
        let at = event
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
            .unwrap_or(now);
        Self(at.timestamp())
    }
}

/// One queue message: a cycle and the connectors to probe in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub cycle: CycleId,
    pub ids: Vec<u32>,
}

impl Batch {
    /// The batch in a message body, or why it cannot be one.
    pub fn parse(body: &str) -> Result<Self, BadBatch> {
        let batch: Batch = serde_json::from_str(body).map_err(|_| BadBatch)?;
        if batch.ids.is_empty() || batch.ids.iter().any(|id| ConnectorId::new(*id).is_none()) {
            return Err(BadBatch);
        }
        Ok(batch)
    }

    pub fn connector_ids(&self) -> impl Iterator<Item = ConnectorId> + '_ {
        self.ids.iter().filter_map(|id| ConnectorId::new(*id))
    }
}

/// A message body that is not a batch (`{"cycle": N, "ids": [1, 2, ...]}` with ids from
/// 1 to 2147483647).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message is not a batch of connector ids: {{\"cycle\": N, \"ids\": [1, 2, ...]}}")]
pub struct BadBatch;

/// The ids of `targets`, in their order, in batches of at most `size`.
pub fn batches(cycle: CycleId, targets: &[ProbeTarget], size: usize) -> Vec<Batch> {
    targets
        .chunks(size.max(1))
        .map(|chunk| Batch {
            cycle,
            ids: chunk.iter().map(|t| t.id.get()).collect(),
        })
        .collect()
}

/// The longest one connector can take in a run: every attempt timing out, the pauses
/// between them, and the write after.
pub fn worst_case_per_connector(settings: &RunSettings) -> Duration {
    settings.default_timeout * (settings.retries + 1)
        + settings.retry_backoff * settings.retries
        + settings.write_reserve
}

/// How many connectors one run of `budget` (from its start to its deadline) finishes even
/// if every one of them hangs until its timeout: each slot takes one after another.
pub fn inline_capacity(settings: &RunSettings, budget: Duration) -> usize {
    let usable = budget.saturating_sub(SUMMARY_MARGIN + PUBLISH_MARGIN);
    let each = worst_case_per_connector(settings).as_millis().max(1);
    let rounds = usable.as_millis() / each;
    usize::try_from(rounds)
        .unwrap_or(usize::MAX)
        .saturating_mul(settings.concurrency.max(1))
}

/// How fresh the fleet is at the start of a cycle (ages measured from its scheduled time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Freshness {
    /// Connectors due in this cycle: all of them.
    pub due: u64,
    /// Never checked yet.
    pub never_checked: u64,
    /// Last checked more than one interval before the cycle: the previous cycle missed them.
    pub late: u64,
    /// Last checked more than three intervals before the cycle (the API calls them stale).
    pub stale: u64,
    /// The age of the oldest check, in whole seconds (0 when nothing was ever checked).
    pub oldest_check_age_seconds: u64,
}

/// Measures `targets` against `interval` at `at`.
pub fn freshness(targets: &[ProbeTarget], at: DateTime<Utc>, interval: Duration) -> Freshness {
    let interval = interval.as_secs();
    let mut f = Freshness {
        due: targets.len() as u64,
        ..Freshness::default()
    };
    for target in targets {
        let Some(checked) = target.previous.last_checked else {
            f.never_checked += 1;
            continue;
        };
        let age = u64::try_from((at - checked).num_seconds()).unwrap_or(0);
        f.oldest_check_age_seconds = f.oldest_check_age_seconds.max(age);
        if age > interval {
            f.late += 1;
        }
        if age > interval.saturating_mul(3) {
            f.stale += 1;
        }
    }
    f
}

/// How the schedule shares out a cycle (read from the environment by
/// `crate::config::cycle`, which also holds the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleConfig {
    /// The schedule's interval: late and stale are measured against it.
    pub interval: Duration,
    /// The probe queue; `None`: every cycle is probed by the scheduled invocation.
    pub queue_url: Option<String>,
    /// Connector ids per queue message.
    pub batch_size: usize,
    /// The largest fleet the scheduled invocation probes itself; `None`: what it can
    /// always finish ([`inline_capacity`]).
    pub inline_max: Option<usize>,
}

/// How the schedule's cycles are shared out: the ledger of cycles and claims, the queue
/// (none: every cycle is probed in the scheduled invocation), and their settings.
pub struct Cycles<L, Q> {
    pub ledger: Arc<L>,
    pub queue: Option<Arc<Q>>,
    pub config: CycleConfig,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours until the deadline given: the connector as it is now.
    Taken(ProbeTarget),
    /// Not ours to probe: someone holds a live claim, it was already checked in this
    /// cycle, or it no longer exists.
    NotOurs,
}

/// Where cycles begin and connectors are claimed (the connector table).
pub trait CycleLedger: Send + Sync {
    /// Records that `cycle` has begun; `false` if it (or a later one) already had.
    fn begin_cycle(
        &self,
        cycle: CycleId,
    ) -> impl Future<Output = Result<bool, DependencyError>> + Send;

    /// Claims connector `id` for `cycle` until `until`. Refused while another claim is
    /// live (its `until` not yet past at `now`), and when this cycle already claimed it and
    /// it was checked at or after the cycle's start.
    fn claim(
        &self,
        id: ConnectorId,
        cycle: CycleId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, DependencyError>> + Send;
}

/// Where batches go (the probe queue).
pub trait BatchQueue: Send + Sync {
    /// Sends `batches`; returns how many were accepted (each one that could not be sent
    /// is logged with its cause). An error: nothing could be sent.
    fn send(
        &self,
        batches: &[Batch],
    ) -> impl Future<Output = Result<usize, DependencyError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FeedType;
    use chrono::TimeZone;

    fn target(id: u32, checked: Option<DateTime<Utc>>) -> ProbeTarget {
        let mut t = ProbeTarget::new(ConnectorId::new(id).unwrap(), "http://x", FeedType::Npm);
        t.previous.last_checked = checked;
        t
    }

    #[test]
    fn a_cycle_is_named_by_the_scheduled_time_of_its_tick() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 12, 3, 7).unwrap();
        let event =
            serde_json::json!({"detail-type": "Scheduled Event", "time": "2026-05-01T12:00:00Z"});
        let cycle = CycleId::of_event(&event, now);
        assert_eq!(
            cycle.start(),
            Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
        );
        assert_eq!(cycle.start_text(), "2026-05-01T12:00:00.000Z");
        assert_eq!(CycleId::of_event(&serde_json::json!({}), now).start(), now);
    }

    #[test]
    fn batches_keep_the_order_and_carry_ids_only() {
        let targets: Vec<_> = (1..=5).map(|i| target(i, None)).collect();
        let cycle = CycleId::new(100);
        let sent = batches(cycle, &targets, 2);
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].ids, vec![1, 2]);
        assert_eq!(sent[2].ids, vec![5]);
        let body = serde_json::to_string(&sent[0]).unwrap();
        assert_eq!(body, r#"{"cycle":100,"ids":[1,2]}"#);
        assert_eq!(Batch::parse(&body).unwrap(), sent[0]);
    }

    #[test]
    fn a_message_that_is_not_a_batch_is_refused() {
        for body in [
            "",
            "{}",
            r#"{"cycle":1,"ids":[]}"#,
            r#"{"cycle":1,"ids":[0]}"#,
            r#"{"cycle":1,"ids":[2147483648]}"#,
            r#"{"cycle":"x","ids":[1]}"#,
        ] {
            assert_eq!(Batch::parse(body), Err(BadBatch), "{body}");
        }
    }

    #[test]
    fn inline_capacity_assumes_every_connector_hangs() {
        let settings = RunSettings::default(); // 10 s, 1 retry, 0.5 s pause, 1.5 s write
        assert_eq!(
            worst_case_per_connector(&settings),
            Duration::from_millis(22_000)
        );
        // 60 s less the margins is two rounds of 22 s: 2 × 32 slots.
        assert_eq!(inline_capacity(&settings, Duration::from_secs(60)), 64);
        assert_eq!(inline_capacity(&settings, Duration::from_secs(20)), 0);
        let wide = RunSettings {
            concurrency: 128,
            ..settings
        };
        assert_eq!(inline_capacity(&wide, Duration::from_secs(60)), 256);
    }

    #[test]
    fn freshness_counts_late_stale_and_never_checked() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let ago = |s: i64| Some(at - chrono::Duration::seconds(s));
        let targets = vec![
            target(1, ago(299)),
            target(2, ago(301)),
            target(3, ago(901)),
            target(4, None),
        ];
        let f = freshness(&targets, at, Duration::from_secs(300));
        assert_eq!(
            f,
            Freshness {
                due: 4,
                never_checked: 1,
                late: 2,
                stale: 1,
                oldest_check_age_seconds: 901,
            }
        );
        assert_eq!(
            freshness(&[], at, Duration::from_secs(300)),
            Freshness::default()
        );
    }
}
