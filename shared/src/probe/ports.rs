//! The capabilities the probe function is generic over. Reading targets and writing
//! results are separate traits, so a function that only reads cannot write.

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
