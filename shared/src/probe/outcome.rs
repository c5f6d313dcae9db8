//! What one check found, and the record written back to the connector's row.

use super::target::{PreviousResult, ProbeTarget};
use crate::domain::{ConnectorId, State};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Why a check failed, coarsely; the operator-facing detail is in [`Failure::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The URL cannot be probed (not http/https, no host, ...).
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// The resolved address is one the prober refuses to contact.
    ForbiddenAddress,
    /// No TCP connection (refused, unreachable).
    Connect,
    /// The per-connector timeout elapsed.
    Timeout,
    /// The TLS handshake failed (expired, wrong host, untrusted, ...).
    Tls,
    /// The connection was reset or closed before a complete response.
    Reset,
    /// More redirects than allowed, or a redirect without a usable `Location`.
    Redirect,
    /// The final response had an unexpected status.
    HttpStatus,
    /// The response arrived but is not what this feed type answers.
    UnexpectedResponse,
}

/// A failed check: its kind and one short, operator-readable sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// What one probe attempt observed, whatever its verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// Status of the last response received, if any.
    pub http_status: Option<u16>,
    /// Time from the start of the attempt to its verdict.
    pub response_time: Option<Duration>,
    /// `notAfter` of the server certificate of the last HTTPS connection.
    pub certificate_expires_at: Option<DateTime<Utc>>,
}

/// The result of one probe attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub verdict: Result<(), Failure>,
    pub observed: Observation,
}

impl ProbeOutcome {
    pub fn healthy(observed: Observation) -> Self {
        Self {
            verdict: Ok(()),
            observed,
        }
    }

    pub fn failed(failure: Failure, observed: Observation) -> Self {
        Self {
            verdict: Err(failure),
            observed,
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.verdict.is_ok()
    }

    /// Whether a failure may go away on its own within seconds (timeout, reset,
    /// 502/503/504), so it is worth one more attempt in the same run.
    pub fn is_transient_failure(&self) -> bool {
        match &self.verdict {
            Ok(()) => false,
            Err(f) => match f.kind {
                FailureKind::Timeout | FailureKind::Reset => true,
                FailureKind::HttpStatus => {
                    matches!(self.observed.http_status, Some(502..=504))
                }
                _ => false,
            },
        }
    }
}

/// What is written to the connector's row after its probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRecord {
    pub id: ConnectorId,
    /// `Healthy` or `Error`; a probe never records `Unknown`.
    pub state: State,
    /// Present exactly when `state` is `Error`.
    pub error_message: Option<String>,
    pub last_checked: DateTime<Utc>,
    pub response_time_ms: Option<u64>,
    pub http_status: Option<u16>,
    pub consecutive_failures: u32,
    pub state_changed_at: DateTime<Utc>,
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// The generation of the row the probe read ([`ProbeTarget::generation`]); the record
    /// is written only while the row still has it.
    ///
    /// [`ProbeTarget::generation`]: super::target::ProbeTarget::generation
    pub generation: Option<u64>,
}

impl ProbeRecord {
    /// The record for `outcome`, given what the row held before: failures count up from
    /// the previous value and reset on success; `stateChangedAt` is kept while the state
    /// stays the same. Its generation is `None`; [`ProbeRecord::for_target`] sets the
    /// target's.
    pub fn new(
        id: ConnectorId,
        previous: &PreviousResult,
        outcome: &ProbeOutcome,
        checked_at: DateTime<Utc>,
    ) -> Self {
        let (state, error_message, consecutive_failures) = match &outcome.verdict {
            Ok(()) => (State::Healthy, None, 0),
            Err(f) => (
                State::Error,
                Some(f.message.clone()),
                previous.consecutive_failures.saturating_add(1),
            ),
        };
        let state_changed_at = match (previous.state, previous.state_changed_at) {
            (Some(before), Some(at)) if before == state => at,
            _ => checked_at,
        };
        let o = &outcome.observed;
        Self {
            id,
            state,
            error_message,
            last_checked: checked_at,
            response_time_ms: o
                .response_time
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            http_status: o.http_status,
            consecutive_failures,
            state_changed_at,
            certificate_expires_at: o.certificate_expires_at,
            generation: None,
        }
    }

    /// The record for `outcome` of a probe of `target`: [`ProbeRecord::new`] with the
    /// target's id, previous result and generation.
    pub fn for_target(
        target: &ProbeTarget,
        outcome: &ProbeOutcome,
        checked_at: DateTime<Utc>,
    ) -> Self {
        Self {
            generation: target.generation,
            ..Self::new(target.id, &target.previous, outcome, checked_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).single().unwrap()
    }

    fn failed(kind: FailureKind, status: Option<u16>) -> ProbeOutcome {
        ProbeOutcome::failed(
            Failure::new(kind, "x."),
            Observation {
                http_status: status,
                ..Observation::default()
            },
        )
    }

    #[test]
    fn only_timeouts_resets_and_gateway_statuses_are_transient() {
        assert!(failed(FailureKind::Timeout, None).is_transient_failure());
        assert!(failed(FailureKind::Reset, None).is_transient_failure());
        for s in [502, 503, 504] {
            assert!(failed(FailureKind::HttpStatus, Some(s)).is_transient_failure());
        }
        for s in [500, 404, 401, 501] {
            assert!(!failed(FailureKind::HttpStatus, Some(s)).is_transient_failure());
        }
        for k in [
            FailureKind::Dns,
            FailureKind::Connect,
            FailureKind::Tls,
            FailureKind::Redirect,
            FailureKind::ForbiddenAddress,
            FailureKind::UnexpectedResponse,
            FailureKind::InvalidUrl,
        ] {
            assert!(!failed(k, None).is_transient_failure(), "{k:?}");
        }
        assert!(!ProbeOutcome::healthy(Observation::default()).is_transient_failure());
    }

    #[test]
    fn failures_count_up_and_success_resets_them() {
        let id = ConnectorId::new(4).unwrap();
        let prev = PreviousResult {
            state: Some(State::Error),
            last_checked: Some(at(100)),
            consecutive_failures: 2,
            state_changed_at: Some(at(50)),
        };
        let r = ProbeRecord::new(id, &prev, &failed(FailureKind::Dns, None), at(200));
        assert_eq!(r.state, State::Error);
        assert_eq!(r.error_message.as_deref(), Some("x."));
        assert_eq!(r.consecutive_failures, 3);
        assert_eq!(r.state_changed_at, at(50), "state unchanged: kept");
        let ok = ProbeOutcome::healthy(Observation {
            http_status: Some(200),
            response_time: Some(Duration::from_millis(42)),
            certificate_expires_at: Some(at(9_999)),
        });
        let r = ProbeRecord::new(id, &prev, &ok, at(200));
        assert_eq!(r.state, State::Healthy);
        assert_eq!(r.error_message, None);
        assert_eq!(r.consecutive_failures, 0);
        assert_eq!(r.state_changed_at, at(200), "state changed: now");
        assert_eq!(r.response_time_ms, Some(42));
        assert_eq!(r.http_status, Some(200));
        assert_eq!(r.certificate_expires_at, Some(at(9_999)));
    }

    #[test]
    fn a_first_check_starts_the_state_clock() {
        let id = ConnectorId::new(1).unwrap();
        let r = ProbeRecord::new(
            id,
            &PreviousResult::default(),
            &failed(FailureKind::Timeout, None),
            at(10),
        );
        assert_eq!(r.consecutive_failures, 1);
        assert_eq!(r.state_changed_at, at(10));
    }
}
