//! The capabilities the probe function is generic over. Reading targets and writing
//! results are separate traits, so a function that only reads cannot write.

use super::events::StateChange;
use super::outcome::{ProbeOutcome, ProbeRecord};
use super::target::ProbeTarget;
use crate::domain::ConnectorId;
use crate::ports::DependencyError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
    /// Not written: the row is gone, or it already holds a result at least as recent.
    Superseded,
}

/// Writes one probe result: only if the row still exists and its `lastChecked` is absent
/// or older than the result's.
pub trait ProbeResultWriter: Send + Sync {
    fn write(
        &self,
        record: &ProbeRecord,
    ) -> impl Future<Output = Result<WriteOutcome, DependencyError>> + Send;
}

/// Makes one probe attempt, bounded by `timeout` (the prober enforces it itself).
pub trait Prober: Send + Sync {
    fn probe(
        &self,
        target: &ProbeTarget,
        timeout: Duration,
    ) -> impl Future<Output = ProbeOutcome> + Send;
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
}

impl<T: Prober> Prober for Arc<T> {
    fn probe(
        &self,
        target: &ProbeTarget,
        timeout: Duration,
    ) -> impl Future<Output = ProbeOutcome> + Send {
        (**self).probe(target, timeout)
    }
}
