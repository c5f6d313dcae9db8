//! The Lambda event and what the function reports.
//!
//! The event is the EventBridge scheduled event (probe every connector) or
//! `{"connectorId": N}` (probe that one now). Each run first gets the prober ready (its
//! trusted certificates are loaded on the container's first run): if it cannot be, the run
//! fails with `ProberNotReady`, probes and writes nothing, and the next run tries again.
//! The run ends with one structured log line of counts and the same figures as a
//! CloudWatch Embedded Metric Format line.

use serde_json::{json, Value};
use shared::domain::ConnectorId;
use shared::ports::{
    Clock, DependencyError, ProbeResultWriter, ProbeTargetReader, Prober, ProberNotReady,
    StateChangePublisher,
};
use shared::runner::{run, RunPorts, RunSettings, RunSummary};
use std::time::{Duration, Instant, SystemTime};

/// The CloudWatch namespace of the run's metrics.
pub const METRICS_NAMESPACE: &str = "ConnectorHealth";

/// What the event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeRequest {
    All,
    One(ConnectorId),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("connectorId must be a whole number from 1 to 2147483647")]
    BadConnectorId,
    #[error("connector {0} does not exist")]
    NotFound(ConnectorId),
    #[error("could not read the connectors; the cause is in the function's log")]
    Read(#[from] DependencyError),
    #[error("no connector was probed: the prober's trusted certificates could not be loaded: {0}")]
    NotReady(#[from] ProberNotReady),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::BadConnectorId => "InvalidEvent",
            HandlerError::NotFound(_) => "ConnectorNotFound",
            HandlerError::Read(_) => "DependencyUnavailable",
            HandlerError::NotReady(_) => "ProberNotReady",
        };
        match &e {
            HandlerError::Read(cause) => {
                tracing::error!(error = %cause, "could not read the connectors")
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
    /// Reads the event: an object with `connectorId` names one connector; anything else
    /// (the scheduled event) means all of them.
    pub fn from_event(event: &Value) -> Result<Self, HandlerError> {
        match event.get("connectorId") {
            None | Some(Value::Null) => Ok(ProbeRequest::All),
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
    Instant::now() + left
}

/// The probe function, generic over its ports.
pub struct ProbeConnectors<T, W, P, C, E> {
    targets: T,
    ports: RunPorts<W, P, C, E>,
    settings: RunSettings,
}

impl<T, W, P, C, E> ProbeConnectors<T, W, P, C, E>
where
    T: ProbeTargetReader,
    W: ProbeResultWriter + 'static,
    P: Prober + 'static,
    C: Clock + 'static,
    E: StateChangePublisher + 'static,
{
    pub fn new(targets: T, ports: RunPorts<W, P, C, E>, settings: RunSettings) -> Self {
        Self {
            targets,
            ports,
            settings,
        }
    }

    /// Handles one invocation.
    pub async fn handle(
        &self,
        event: &Value,
        deadline: Instant,
    ) -> Result<RunSummary, HandlerError> {
        let request = ProbeRequest::from_event(event)?;
        self.ports.prober.prepare().await?;
        let targets = match request {
            ProbeRequest::All => self.targets.targets().await?,
            ProbeRequest::One(id) => vec![self
                .targets
                .target(id)
                .await?
                .ok_or(HandlerError::NotFound(id))?],
        };
        let summary = run(targets, self.ports.clone(), &self.settings, deadline).await;
        report(&summary);
        Ok(summary)
    }
}

/// The final log line and the EMF line.
fn report(s: &RunSummary) {
    tracing::info!(
        total = s.total,
        healthy = s.healthy,
        error = s.error,
        skipped = s.skipped,
        panicked = s.panicked,
        retried = s.retried,
        written = s.written,
        superseded = s.superseded,
        write_failures = s.write_failures,
        writes_cut_off = s.writes_cut_off,
        certificates_expiring = s.certificates_expiring,
        events_published = s.events_published,
        event_failures = s.event_failures,
        duration_ms = s.duration_ms,
        "probe run finished"
    );
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|_| DEFAULT_FUNCTION_DIMENSION.to_owned());
    println!(
        "{}",
        emf(s, chrono::Utc::now().timestamp_millis(), &function)
    );
}

/// The `Function` dimension when not running in Lambda (the local stack, tests).
pub const DEFAULT_FUNCTION_DIMENSION: &str = "probe-connectors";

/// The run's figures in CloudWatch Embedded Metric Format (one JSON line on stdout),
/// with the function's name as the `Function` dimension, so two stacks in one account
/// and region feed separate metrics and alarms.
pub fn emf(s: &RunSummary, timestamp_ms: i64, function: &str) -> Value {
    let counts = [
        ("Total", s.total),
        ("Healthy", s.healthy),
        ("Error", s.error),
        ("Skipped", s.skipped),
        ("Panicked", s.panicked),
        ("Retried", s.retried),
        ("WriteFailures", s.write_failures),
        ("CertificatesExpiring", s.certificates_expiring),
        ("StateChanges", s.events_published),
        ("EventFailures", s.event_failures),
    ];
    let mut metrics: Vec<Value> = counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    metrics.push(json!({"Name": "DurationMs", "Unit": "Milliseconds"}));
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
        "DurationMs": s.duration_ms,
    });
    if let Some(obj) = line.as_object_mut() {
        for (name, value) in counts {
            obj.insert(name.to_owned(), json!(value));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::memory::{InMemoryProbeStore, ManualClock};
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
    >;

    fn handler(ids: &[u32]) -> (Arc<InMemoryProbeStore>, TestHandler) {
        let store = Arc::new(InMemoryProbeStore::new(ids.iter().map(|i| {
            ProbeTarget::new(
                ConnectorId::new(*i).unwrap(),
                "http://x.test",
                FeedType::Npm,
            )
        })));
        let h = ProbeConnectors::new(
            store.clone(),
            RunPorts {
                writer: store.clone(),
                prober: Arc::new(AlwaysHealthy),
                clock: Arc::new(ManualClock::new()),
                events: Arc::new(NoEvents),
            },
            RunSettings::default(),
        );
        (store, h)
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(300)
    }

    #[test]
    fn events_name_one_connector_or_mean_all() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/probe"], "detail": {}
        });
        assert_eq!(
            ProbeRequest::from_event(&scheduled).unwrap(),
            ProbeRequest::All
        );
        assert_eq!(
            ProbeRequest::from_event(&Value::Null).unwrap(),
            ProbeRequest::All
        );
        assert_eq!(
            ProbeRequest::from_event(&json!({"connectorId": 3})).unwrap(),
            ProbeRequest::One(ConnectorId::new(3).unwrap())
        );
        for bad in [
            json!(0),
            json!(-1),
            json!("3"),
            json!(1.5),
            json!(4_294_967_296u64),
        ] {
            assert!(matches!(
                ProbeRequest::from_event(&json!({"connectorId": bad})),
                Err(HandlerError::BadConnectorId)
            ));
        }
    }

    #[tokio::test]
    async fn one_connector_can_be_checked_now() {
        let (store, h) = handler(&[1, 2, 3]);
        let s = h.handle(&json!({"connectorId": 2}), later()).await.unwrap();
        assert_eq!((s.total, s.healthy, s.written), (1, 1, 1));
        assert!(store.record(ConnectorId::new(2).unwrap()).is_some());
        assert!(store.record(ConnectorId::new(1).unwrap()).is_none());
        assert!(matches!(
            h.handle(&json!({"connectorId": 9}), later()).await,
            Err(HandlerError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn the_schedule_checks_every_connector() {
        let (store, h) = handler(&[1, 2, 3]);
        let s = h
            .handle(&json!({"source": "aws.events"}), later())
            .await
            .unwrap();
        assert_eq!((s.total, s.healthy, s.written), (3, 3, 3));
        assert_eq!(store.write_calls(), 3);
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
        );

        let e = h.handle(&json!({}), later()).await.unwrap_err();
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

        // The next run asks again, and goes ahead once the prober is ready
        let s = h.handle(&json!({}), later()).await.unwrap();
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
        let line = emf(&s, 1_700_000_000_000, "stack-ProbeConnectorsFunction-abc");
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
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(line["Function"], "stack-ProbeConnectorsFunction-abc");
    }

    #[test]
    fn a_past_deadline_is_now() {
        let d = deadline_instant(SystemTime::now() - Duration::from_secs(5));
        assert!(d <= Instant::now());
        let d = deadline_instant(SystemTime::now() + Duration::from_secs(60));
        assert!(d > Instant::now() + Duration::from_secs(55));
    }
}
