//! Production wiring, built once per container: one builder for the read functions and
//! one for a probe run. The Lambdas, the admin tool and the local stack all use these, so
//! what runs locally is wired exactly as what runs in AWS.

use crate::adapters::connector_credentials::{CachedCredentials, SecretsManagerCredentials};
use crate::adapters::dynamodb::history::DynamoHistoryStore;
use crate::adapters::dynamodb::DynamoConnectorStore;
use crate::adapters::eventbridge::EventBridgePublisher;
use crate::adapters::history_writer::HistoryWriter;
use crate::adapters::http_prober::{HttpProber, SystemResolver, SystemTrust};
use crate::adapters::secrets_manager::SecretsManagerKeySource;
use crate::adapters::sqs::SqsBatchQueue;
use crate::auth::KeyCache;
use crate::config::history::history_table_from_env;
use crate::config::{ApiConfig, ConfigError, CycleConfig, ProbeConfig};
use crate::cycle::Cycles;
use crate::ports::SystemClock;
use crate::runner::RunPorts;
use aws_config::SdkConfig;
use std::sync::Arc;

/// What a read function needs: where connectors are read from, who judges API keys, and
/// where their history is read from (`None`: no history table).
pub struct ReadDependencies {
    pub connectors: DynamoConnectorStore,
    pub keys: KeyCache<SecretsManagerKeySource>,
    pub history: Option<DynamoHistoryStore>,
}

/// Logs a bad configuration once and makes it the cold start's error.
fn invalid(e: ConfigError) -> lambda_runtime::Error {
    tracing::error!(error = %e, "invalid configuration");
    lambda_runtime::Error::from(e.to_string())
}

impl ReadDependencies {
    /// What both read functions do at cold start: typed config from the environment
    /// (a bad variable is logged and named in the error), the lean SDK config, the clients.
    /// The config comes back too, for the handler's settings.
    pub async fn from_env() -> Result<(ApiConfig, Self), lambda_runtime::Error> {
        let config = ApiConfig::from_env().map_err(invalid)?;
        let aws = crate::aws::sdk_config().await;
        let deps = Self::new(&config, &aws).with_history(history_table_from_env());
        Ok((config, deps))
    }

    /// Reads history from `table` (`None`: none), with the connector table's client; makes
    /// no network call.
    pub fn with_history(mut self, table: Option<String>) -> Self {
        self.history = table.map(|t| DynamoHistoryStore::new(self.connectors.client().clone(), t));
        self
    }

    /// Builds the DynamoDB client (the Secrets Manager one is built on the first key
    /// fetch); makes no network call.
    pub fn new(config: &ApiConfig, aws: &SdkConfig) -> Self {
        Self {
            connectors: DynamoConnectorStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                config.table.clone(),
            ),
            keys: KeyCache::new(
                SecretsManagerKeySource::on_first_use(aws, config.key_secret_id.clone()),
                config.key_cache,
            ),
            history: None,
        }
    }
}

/// Where a production probe run writes its results: the table, then the history table
/// (`None`: no history).
pub type ProbeWriter = HistoryWriter<Arc<DynamoConnectorStore>, Option<DynamoHistoryStore>>;

/// The ports of a production probe run: the table (targets and results) and the history,
/// the HTTP prober, the system clock, and state-change events on EventBridge (`None`: off).
pub type ProbePorts = RunPorts<ProbeWriter, HttpProber, SystemClock, Option<EventBridgePublisher>>;

/// What a probe run needs, built from its configuration.
pub struct ProbeDependencies {
    pub store: Arc<DynamoConnectorStore>,
    pub ports: ProbePorts,
    /// The one DynamoDB client (the connector table's and the history table's).
    dynamodb: aws_sdk_dynamodb::Client,
    aws: SdkConfig,
}

/// How a production probe function shares out its cycles: claims on the table, batches on
/// the SQS probe queue (when one is configured).
pub type ProbeCycles = Cycles<DynamoConnectorStore, SqsBatchQueue>;

impl ProbeDependencies {
    /// What the probe function does at cold start: typed config, the SDK config, the
    /// clients, and the prober of [`ProbeDependencies::trusting_system`]. Reads no
    /// certificate and makes no network call.
    pub async fn from_env() -> Result<(ProbeConfig, Self), lambda_runtime::Error> {
        let config = ProbeConfig::from_env().map_err(invalid)?;
        let aws = crate::aws::sdk_config().await;
        let deps = Self::trusting_system(&config, &aws).with_history(history_table_from_env());
        Ok((config, deps))
    }

    /// Builds the clients and a prober trusting the system's root certificates and the
    /// configured extra CA bundle, both loaded on first use (`prober.prepare()`, which the
    /// probe function calls at the start of each run); reads nothing, makes no network call.
    pub fn trusting_system(config: &ProbeConfig, aws: &SdkConfig) -> Self {
        let trust = SystemTrust::new(config.extra_ca.clone(), aws);
        let prober = HttpProber::with_trust_loader(
            config.prober_settings(),
            Arc::new(trust),
            Arc::new(SystemResolver),
        );
        Self::with_prober(config, aws, prober)
    }

    /// Builds the clients and the prober with the given TLS trust (the local stack adds
    /// its demo CA); makes no network call.
    pub fn new(config: &ProbeConfig, aws: &SdkConfig, tls: Arc<rustls::ClientConfig>) -> Self {
        let prober = HttpProber::new(config.prober_settings(), tls, Arc::new(SystemResolver));
        Self::with_prober(config, aws, prober)
    }

    fn with_prober(config: &ProbeConfig, aws: &SdkConfig, prober: HttpProber) -> Self {
        // Connectors' own credentials, read on first need and kept a few minutes.
        let prober = prober.with_credentials(Arc::new(CachedCredentials::new(
            SecretsManagerCredentials::on_first_use(aws, &config.table),
            CachedCredentials::DEFAULT_TTL,
        )));
        let dynamodb = aws_sdk_dynamodb::Client::new(aws);
        let store = Arc::new(DynamoConnectorStore::new(
            dynamodb.clone(),
            config.table.clone(),
        ));
        // Built on first use: a run without state changes publishes nothing.
        let events = config
            .event_bus
            .as_deref()
            .map(|bus| EventBridgePublisher::on_first_use(aws, bus));
        Self {
            ports: RunPorts {
                writer: Arc::new(HistoryWriter::new(store.clone(), None)),
                prober: Arc::new(prober),
                clock: Arc::new(SystemClock),
                events: Arc::new(events),
            },
            store,
            dynamodb,
            aws: aws.clone(),
        }
    }

    /// Records each written result in the history table `table` too (`None`: no history).
    pub fn with_history(mut self, table: Option<String>) -> Self {
        // The connector table's client: one DynamoDB client per container.
        let history = table.map(|t| DynamoHistoryStore::new(self.dynamodb.clone(), t));
        self.ports.writer = Arc::new(HistoryWriter::new(self.store.clone(), history));
        self
    }

    /// The cycle settings from the environment, with the ledger (the table) and the probe
    /// queue's client (built only when a queue is configured; makes no network call).
    pub fn cycles_from_env(&self) -> Result<ProbeCycles, lambda_runtime::Error> {
        let config = CycleConfig::from_env().map_err(invalid)?;
        Ok(self.cycles(config))
    }

    pub fn cycles(&self, config: CycleConfig) -> ProbeCycles {
        let queue = config
            .queue_url
            .as_deref()
            .map(|url| Arc::new(SqsBatchQueue::on_first_use(&self.aws, url)));
        Cycles {
            ledger: self.store.clone(),
            queue,
            config,
        }
    }
}
