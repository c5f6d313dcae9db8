//! What one check found, and the record written back to the connector's row.

use super::schedule::HostKey;
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
    /// The upstream answered HTTP 429 Too Many Requests ([`Failure::rate_limit`] says
    /// which host, and for how long it asked to be left alone).
    RateLimited,
    /// The response arrived but is not what this feed type answers.
    UnexpectedResponse,
    /// The connector's own credentials are missing, unreadable by the probe, or unusable.
    Credentials,
    /// Secrets Manager did not answer the read of the connector's credentials in time, or
    /// failed (may go away within seconds).
    CredentialsUnavailable,
}

/// A failed check: its kind and one short, operator-readable sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    /// For [`FailureKind::RateLimited`]: who asked to wait, and how long.
    pub rate_limit: Option<RateLimit>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            rate_limit: None,
        }
    }

    /// `Rate limited by HOST (HTTP 429); retry after N s.`, or without the retry when the
    /// answer said nothing usable.
    pub fn rate_limited(limit: RateLimit) -> Self {
        let message = match limit.retry_after {
            Some(after) => format!(
                "Rate limited by {} (HTTP 429); retry after {} s.",
                limit.host,
                whole_seconds_up(after)
            ),
            None => format!("Rate limited by {} (HTTP 429).", limit.host),
        };
        Self {
            kind: FailureKind::RateLimited,
            message,
            rate_limit: Some(limit),
        }
    }
}

/// `d` in whole seconds, rounded up.
fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// An upstream's HTTP 429: the host that answered it, and how long it asked to be left
/// alone (its `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// The host's name (or address) as messages show it.
    pub host: String,
    /// The host as the run's per-host rules count it.
    pub key: HostKey,
    /// `Retry-After`, at most [`RateLimit::MAX_RETRY_AFTER`]; `None` when the answer had
    /// none, or one that is neither delta-seconds nor an HTTP date.
    pub retry_after: Option<Duration>,
}

impl RateLimit {
    /// A longer `Retry-After` is taken as this long.
    pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
    /// How long a host that answered 429 without a usable `Retry-After` is left alone:
    /// the rest of a run (a run lasts at most the probe function's timeout).
    pub const WITHOUT_RETRY_AFTER: Duration = Duration::from_secs(60);

    /// How long the host is left alone.
    pub fn hold(&self) -> Duration {
        self.retry_after
            .unwrap_or(Self::WITHOUT_RETRY_AFTER)
            .min(Self::MAX_RETRY_AFTER)
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

    /// The upstream's HTTP 429, when that is why the check failed.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.verdict.as_ref().err()?.rate_limit.as_ref()
    }

    /// Whether a failure may go away on its own within seconds (timeout, reset,
    /// 502/503/504), so it is worth one more attempt in the same run.
    pub fn is_transient_failure(&self) -> bool {
        match &self.verdict {
            Ok(()) => false,
            Err(f) => match f.kind {
                FailureKind::Timeout | FailureKind::Reset | FailureKind::CredentialsUnavailable => {
                    true
                }
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
        assert!(failed(FailureKind::CredentialsUnavailable, None).is_transient_failure());
        assert!(!failed(FailureKind::Credentials, None).is_transient_failure());
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
            FailureKind::RateLimited,
        ] {
            assert!(!failed(k, None).is_transient_failure(), "{k:?}");
        }
        assert!(!ProbeOutcome::healthy(Observation::default()).is_transient_failure());
    }

    #[test]
    fn a_rate_limit_says_who_and_for_how_long() {
        let limit = |retry_after: Option<Duration>| RateLimit {
            host: "registry.test".into(),
            key: HostKey::Host("registry.test".into(), 443),
            retry_after,
        };
        let f = Failure::rate_limited(limit(Some(Duration::from_secs(30))));
        assert_eq!(f.kind, FailureKind::RateLimited);
        assert_eq!(
            f.message,
            "Rate limited by registry.test (HTTP 429); retry after 30 s."
        );
        let f = Failure::rate_limited(limit(Some(Duration::from_millis(1500))));
        assert_eq!(
            f.message,
            "Rate limited by registry.test (HTTP 429); retry after 2 s."
        );
        let f = Failure::rate_limited(limit(None));
        assert_eq!(f.message, "Rate limited by registry.test (HTTP 429).");
        assert_eq!(limit(None).hold(), RateLimit::WITHOUT_RETRY_AFTER);
        assert_eq!(
            limit(Some(Duration::from_secs(86_400))).hold(),
            RateLimit::MAX_RETRY_AFTER
        );
        let o = ProbeOutcome::failed(f.clone(), Observation::default());
        assert_eq!(o.rate_limit(), f.rate_limit.as_ref());
        assert!(!o.is_transient_failure());
        assert_eq!(
            ProbeOutcome::healthy(Observation::default()).rate_limit(),
            None
        );
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
