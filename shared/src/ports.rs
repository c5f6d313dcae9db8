//! Every narrow capability the handlers and the probe run are generic over, and the one
//! error a dependency reports. A read-only function only gets [`ConnectorReader`],
//! mirroring its read-only IAM policy; reading probe targets and writing results are
//! separate traits, so code that only reads cannot write.

use crate::domain::Presented;
use crate::domain::{Catalog, Connector, ConnectorId, ConnectorSettings, StatusRow};
use crate::history::{Day, DayUpdate};
use crate::probe::events::StateChange;
use crate::probe::outcome::{ProbeOutcome, ProbeRecord};
use crate::probe::target::ProbeTarget;
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A dependency (DynamoDB, Secrets Manager, EventBridge) could not answer, and what went
/// wrong, as the AWS SDK's error kinds tell it. Always retryable from an API client's point
/// of view (a 503); the admin tool words each kind for a person. `detail` is for the log
/// only, never for a response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// The table, secret or bus does not exist.
    #[error("{service} request failed: {resource} does not exist")]
    Missing {
        service: &'static str,
        resource: String,
    },
    /// The service refused the request for its rate.
    #[error("{service} request failed: throttled ({detail})")]
    Throttled {
        service: &'static str,
        detail: String,
    },
    /// No answer in time (connect, attempt or operation timeout).
    #[error("{service} request failed: timed out ({detail})")]
    TimedOut {
        service: &'static str,
        detail: String,
    },
    /// No AWS credentials could be loaded, or the service rejected them.
    #[error("{service} request failed: no usable AWS credentials ({detail})")]
    Credentials {
        service: &'static str,
        detail: String,
    },
    /// The credentials are valid but may not do this.
    #[error("{service} request failed: access denied ({detail})")]
    Denied {
        service: &'static str,
        detail: String,
    },
    /// Anything else: unreachable, an unexpected answer, a server error.
    #[error("{service} request failed: {detail}")]
    Other {
        service: &'static str,
        detail: String,
    },
}

impl DependencyError {
    /// An error of kind [`DependencyError::Other`].
    pub fn other(service: &'static str, detail: impl Into<String>) -> Self {
        Self::Other {
            service,
            detail: detail.into(),
        }
    }

    /// Which dependency failed (`DynamoDB`, `Secrets Manager`, `EventBridge`, ...).
    pub fn service(&self) -> &'static str {
        match self {
            Self::Missing { service, .. }
            | Self::Throttled { service, .. }
            | Self::TimedOut { service, .. }
            | Self::Credentials { service, .. }
            | Self::Denied { service, .. }
            | Self::Other { service, .. } => service,
        }
    }

    /// The kind, as one word for log fields and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Throttled { .. } => "throttled",
            Self::TimedOut { .. } => "timed_out",
            Self::Credentials { .. } => "credentials",
            Self::Denied { .. } => "denied",
            Self::Other { .. } => "other",
        }
    }
}

/// Reads connector rows.
pub trait ConnectorReader: Send + Sync {
    /// Every showable connector, ordered by id ascending.
    fn list(&self) -> impl Future<Output = Result<Vec<Connector>, DependencyError>> + Send;
    /// One connector, or `None` when no showable row has this id.
    fn get(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<Connector>, DependencyError>> + Send;
}

/// Reads connector rows with their feed type, for the status page: the same reads as
/// [`ConnectorReader`] (one Scan, one GetItem), nothing written.
pub trait StatusReader: Send + Sync {
    /// Every showable connector with its feed type, ordered by id ascending.
    fn rows(&self) -> impl Future<Output = Result<Vec<StatusRow>, DependencyError>> + Send;
    /// One connector with its feed type, or `None` when no showable row has this id.
    fn row(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<StatusRow>, DependencyError>> + Send;
}

impl<T: StatusReader> StatusReader for Arc<T> {
    fn rows(&self) -> impl Future<Output = Result<Vec<StatusRow>, DependencyError>> + Send {
        (**self).rows()
    }
    fn row(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<StatusRow>, DependencyError>> + Send {
        (**self).row(id)
    }
}

/// The operator's tools' reads and writes of connector rows. Every write is conditional,
/// so two operators (or an operator and a probe run) never undo each other's work; ids are
/// never reused and no two connectors ever hold the same name (names compare exactly).
pub trait ConnectorCatalog: Send + Sync {
    /// Every row, as one read saw it.
    fn catalog(&self) -> impl Future<Output = Result<Catalog, DependencyError>> + Send;
    /// One row's settings (read consistently), or `None` when there is no usable row.
    fn settings(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<ConnectorSettings>, DependencyError>> + Send;
    /// Adds `connector` (its state and diagnostics; its name and URL are the settings')
    /// with `settings`, under `id`, or without one under an id greater than every id the
    /// table ever handed out. Refused, writing nothing, when the id or the name is taken.
    fn insert(
        &self,
        connector: &Connector,
        settings: &ConnectorSettings,
        id: Option<ConnectorId>,
    ) -> impl Future<Output = Result<ConnectorId, CatalogError>> + Send;
    /// Sets each row's settings (its probe results stay), all or none: so connectors can
    /// exchange names in one change. Refused, writing nothing, when a row is missing or a
    /// new name is held by a connector outside the change. At most
    /// [`MAX_CONNECTORS_PER_CHANGE`] rows.
    fn update_settings(
        &self,
        changes: &[(ConnectorId, ConnectorSettings)],
    ) -> impl Future<Output = Result<(), CatalogError>> + Send;
    /// Removes a row, freeing its name (never its id). `false` when there was none.
    fn remove(&self, id: ConnectorId) -> impl Future<Output = Result<bool, CatalogError>> + Send;
}

/// The most rows one [`ConnectorCatalog::update_settings`] changes (one transaction).
pub const MAX_CONNECTORS_PER_CHANGE: usize = 25;

/// The rule every [`ConnectorCatalog::update_settings`] applies before it reads anything:
/// a change is refused when it is too large, or names one connector or one name twice.
pub fn check_settings_change(
    changes: &[(ConnectorId, ConnectorSettings)],
) -> Result<(), CatalogError> {
    if changes.len() > MAX_CONNECTORS_PER_CHANGE {
        return Err(CatalogError::TooLarge {
            asked: changes.len(),
            max: MAX_CONNECTORS_PER_CHANGE,
        });
    }
    let (mut ids, mut names) = (
        std::collections::HashSet::new(),
        std::collections::HashSet::new(),
    );
    for (id, to) in changes {
        if !ids.insert(*id) {
            return Err(CatalogError::RepeatedId(*id));
        }
        if !names.insert(to.name.as_str()) {
            return Err(CatalogError::RepeatedName(to.name.clone()));
        }
    }
    Ok(())
}

/// Why the catalog did not make a change. Apart from `Dependency`, nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("a connector with id {0} already exists")]
    IdTaken(ConnectorId),
    #[error("a connector named {0:?} already exists")]
    NameTaken(String),
    /// The name's reservation is held by another name with the same hash (vanishingly
    /// rare): the name cannot be used, another can.
    #[error("the name {name:?} cannot be used: it shares its reservation with the connector name {holder:?}; choose another name")]
    NameUnavailable { name: String, holder: String },
    #[error("no connector with id {0}")]
    NotFound(ConnectorId),
    /// One change names a connector twice.
    #[error("one change sets connector {0} twice")]
    RepeatedId(ConnectorId),
    /// One change gives two connectors one name.
    #[error("one change gives two connectors the name {0:?}")]
    RepeatedName(String),
    #[error("one change can set at most {max} connectors (asked for {asked})")]
    TooLarge { asked: usize, max: usize },
    #[error(
        "no connector id is left: every id up to {} has been handed out",
        ConnectorId::MAX
    )]
    IdsExhausted,
    /// Other writers kept changing the same rows; trying again later may succeed.
    #[error("other writers kept changing the same connectors; try again")]
    Contended,
    #[error(transparent)]
    Dependency(#[from] DependencyError),
}

/// Fetches the text of the API key document.
pub trait KeySource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<SecretString, DependencyError>> + Send;
}

/// Why a request is not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No key was presented.
    Missing,
    /// A key was presented but does not open the Connector Health API (unknown,
    /// disabled, expired, lacking the grant or privilege, or presented inconsistently).
    NotAuthorized,
    /// The keys could not be loaded; the cause has already been logged.
    Unavailable,
}

/// Decides whether a presented key opens the Connector Health API.
pub trait Authorizer: Send + Sync {
    fn authorize(
        &self,
        presented: &Presented,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// Time, injectable so cache rules can be tested without sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    fn instant(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn instant(&self) -> Instant {
        // tokio's clock: the same as the system's, except under tokio's paused test time.
        tokio::time::Instant::now().into_std()
    }
}

impl<T: ConnectorReader> ConnectorReader for Arc<T> {
    fn list(&self) -> impl Future<Output = Result<Vec<Connector>, DependencyError>> + Send {
        (**self).list()
    }
    fn get(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<Connector>, DependencyError>> + Send {
        (**self).get(id)
    }
}

impl<T: KeySource> KeySource for Arc<T> {
    fn fetch(&self) -> impl Future<Output = Result<SecretString, DependencyError>> + Send {
        (**self).fetch()
    }
}

impl<T: Authorizer> Authorizer for Arc<T> {
    fn authorize(
        &self,
        presented: &Presented,
    ) -> impl Future<Output = Result<(), AuthError>> + Send {
        (**self).authorize(presented)
    }
}

// ---- The probe run ----

/// Reads the connectors to probe, with their probe settings and previous result.
pub trait ProbeTargetReader: Send + Sync {
    /// Every probeable connector (rows without a valid id or URL are skipped and logged).
    fn targets(&self) -> impl Future<Output = Result<Vec<ProbeTarget>, DependencyError>> + Send;
    /// One connector, or `None` when there is no probeable row with this id.
    fn target(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<ProbeTarget>, DependencyError>> + Send;
}

/// What happened to a conditional result write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Not written: the row is gone, its settings changed since it was read, or it already
    /// holds a result at least as recent.
    Superseded,
}

/// Writes one probe result: only if the row still exists, still has the generation the
/// probe read (its settings did not change since), and its `lastChecked` is absent or older
/// than the result's.
pub trait ProbeResultWriter: Send + Sync {
    fn write(
        &self,
        record: &ProbeRecord,
    ) -> impl Future<Output = Result<WriteOutcome, DependencyError>> + Send;

    /// History writes that failed since this writer was made (their results were written):
    /// 0 for a writer that records no history.
    fn history_write_failures(&self) -> u64 {
        0
    }
}

/// A prober could not get ready for a run (the HTTP prober: its trusted certificates could
/// not be loaded). The run probes nothing; the next run tries again. The message names
/// the setting to fix and quotes no secret.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ProberNotReady(Box<dyn std::error::Error + Send + Sync>);

impl ProberNotReady {
    pub fn new(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(cause))
    }
}

/// Makes one probe attempt, bounded by `timeout` (the prober enforces it itself).
pub trait Prober: Send + Sync {
    fn probe(
        &self,
        target: &ProbeTarget,
        timeout: Duration,
    ) -> impl Future<Output = ProbeOutcome> + Send;

    /// Gets ready for a run: loads, once per container, what the probes need (the HTTP
    /// prober's trusted certificates), so that a broken setting fails the run once, before
    /// any probe. Called at the start of each run; cheap once ready.
    fn prepare(&self) -> impl Future<Output = Result<(), ProberNotReady>> + Send {
        async { Ok(()) }
    }
}

/// Publishes a connector's state change (after its result was written). A failure is
/// reported to the caller, which logs and counts it; it never stops a run.
pub trait StateChangePublisher: Send + Sync {
    /// Whether events are published at all (`false`: the run does not even try).
    fn enabled(&self) -> bool {
        true
    }
    fn publish(
        &self,
        change: &StateChange,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;
}

/// State-change events switched off.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl StateChangePublisher for NoEvents {
    fn enabled(&self) -> bool {
        false
    }
    async fn publish(&self, _: &StateChange) -> Result<(), DependencyError> {
        Ok(())
    }
}

/// `None` publishes nothing: state-change events switched off.
impl<T: StateChangePublisher> StateChangePublisher for Option<T> {
    fn enabled(&self) -> bool {
        self.as_ref().is_some_and(T::enabled)
    }
    async fn publish(&self, change: &StateChange) -> Result<(), DependencyError> {
        match self {
            Some(p) => p.publish(change).await,
            None => Ok(()),
        }
    }
}

impl<T: StateChangePublisher> StateChangePublisher for Arc<T> {
    fn enabled(&self) -> bool {
        (**self).enabled()
    }
    fn publish(
        &self,
        change: &StateChange,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send {
        (**self).publish(change)
    }
}

impl<T: ProbeTargetReader> ProbeTargetReader for Arc<T> {
    fn targets(&self) -> impl Future<Output = Result<Vec<ProbeTarget>, DependencyError>> + Send {
        (**self).targets()
    }
    fn target(
        &self,
        id: ConnectorId,
    ) -> impl Future<Output = Result<Option<ProbeTarget>, DependencyError>> + Send {
        (**self).target(id)
    }
}

impl<T: ProbeResultWriter> ProbeResultWriter for Arc<T> {
    fn write(
        &self,
        record: &ProbeRecord,
    ) -> impl Future<Output = Result<WriteOutcome, DependencyError>> + Send {
        (**self).write(record)
    }

    fn history_write_failures(&self) -> u64 {
        (**self).history_write_failures()
    }
}

impl<T: Prober> Prober for Arc<T> {
    fn probe(
        &self,
        target: &ProbeTarget,
        timeout: Duration,
    ) -> impl Future<Output = ProbeOutcome> + Send {
        (**self).probe(target, timeout)
    }

    fn prepare(&self) -> impl Future<Output = Result<(), ProberNotReady>> + Send {
        (**self).prepare()
    }
}

// ---- History ----

/// Records each check in its connector's history: one write per check, needing no read.
pub trait HistoryRecorder: Send + Sync {
    fn record(
        &self,
        id: ConnectorId,
        update: &DayUpdate,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;
}

/// Reads a connector's history: its stored days from `from` to `to` (UTC dates, both
/// included), in any order; days without a check are absent.
pub trait HistoryReader: Send + Sync {
    fn days(
        &self,
        id: ConnectorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Day>, DependencyError>> + Send;
}

/// `None` records nothing: history switched off.
impl<T: HistoryRecorder> HistoryRecorder for Option<T> {
    async fn record(&self, id: ConnectorId, update: &DayUpdate) -> Result<(), DependencyError> {
        match self {
            Some(h) => h.record(id, update).await,
            None => Ok(()),
        }
    }
}

/// `None` has no days: history switched off.
impl<T: HistoryReader> HistoryReader for Option<T> {
    async fn days(
        &self,
        id: ConnectorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Day>, DependencyError> {
        match self {
            Some(h) => h.days(id, from, to).await,
            None => Ok(Vec::new()),
        }
    }
}

impl<T: HistoryRecorder> HistoryRecorder for Arc<T> {
    fn record(
        &self,
        id: ConnectorId,
        update: &DayUpdate,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send {
        (**self).record(id, update)
    }
}

impl<T: HistoryReader> HistoryReader for Arc<T> {
    fn days(
        &self,
        id: ConnectorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Day>, DependencyError>> + Send {
        (**self).days(id, from, to)
    }
}

/// No history kept: nothing recorded, no days read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHistory;

impl HistoryReader for NoHistory {
    async fn days(
        &self,
        _: ConnectorId,
        _: NaiveDate,
        _: NaiveDate,
    ) -> Result<Vec<Day>, DependencyError> {
        Ok(Vec::new())
    }
}
