//! AWS clients for a local emulator, and a per-test world: a table and a key secret with
//! unique names, so tests run in parallel without sharing state. (`chadmin` run against a
//! world is in [`crate::chadmin`].)

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{TimeZone, Utc};
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::adapters::secrets_manager::SecretsManagerKeySource;
use shared::auth::{CachePolicy, KeyCache, KeyDigest, CONNECTOR_HEALTH_GRANT};
use shared::aws::is_local_endpoint;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
use shared::wiring::ReadDependencies;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub type Item = HashMap<String, AttributeValue>;

/// The shared SDK configuration (rustls, bounded timeouts: `shared::aws::sdk_config`)
/// with dummy credentials and a fixed region, whatever the environment says.
///
/// It carries no endpoint on purpose: an endpoint set on an `SdkConfig` after loading
/// loses to the `AWS_ENDPOINT_URL` variable, so clients for a given emulator are built
/// with [`dynamodb_client`] and [`secrets_client`], which set it on the client itself.
pub async fn sdk_config() -> SdkConfig {
    shared::aws::sdk_config()
        .await
        .to_builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "testkit",
        )))
        .build()
}

fn check_local(endpoint: &str) {
    assert!(
        is_local_endpoint(endpoint),
        "refusing to build AWS clients for a non-local endpoint {endpoint:?}"
    );
}

/// A DynamoDB client for the emulator at `endpoint`.
pub fn dynamodb_client(sdk: &SdkConfig, endpoint: &str) -> aws_sdk_dynamodb::Client {
    check_local(endpoint);
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A Secrets Manager client for the emulator at `endpoint`.
pub fn secrets_client(sdk: &SdkConfig, endpoint: &str) -> aws_sdk_secretsmanager::Client {
    check_local(endpoint);
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh random API key (URL-safe, so it can go in a query string as is).
pub fn fresh_key() -> String {
    format!("chk-{}", uuid::Uuid::new_v4().simple())
}

/// A key document granting connector-health access to each `(name, key)`, stored as
/// digests the way the tooling writes them.
pub fn key_document(keys: &[(&str, &str)]) -> String {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|(name, key)| {
            serde_json::json!({
                "name": name,
                "sha256": KeyDigest::of(key).to_hex(),
                "grants": [CONNECTOR_HEALTH_GRANT],
            })
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

/// A connector with the given id and health, named after its id.
pub fn connector(id: u32, health: Health) -> Connector {
    Connector {
        id: ConnectorId::new(id).expect("test ids are positive"),
        name: format!("connector-{id}"),
        url: format!("https://feeds-{id}.example/v3/index.json"),
        health,
        diagnostics: Diagnostics::default(),
    }
}

/// One connector in each state, deliberately not in id order.
pub fn sample_connectors() -> Vec<Connector> {
    let at = Utc.with_ymd_and_hms(2025, 11, 5, 8, 30, 15).unwrap();
    let mut error = connector(
        3,
        Health::Error {
            message: "HTTP 503 Service Unavailable.".into(),
            last_checked: at,
        },
    );
    error.diagnostics.http_status = Some(503);
    error.diagnostics.consecutive_failures = Some(2);
    vec![
        connector(12, Health::Unknown),
        error,
        connector(1, Health::Healthy { last_checked: at }),
    ]
}

/// One test's world on one emulator: its own table and its own key secret.
#[derive(Debug, Clone)]
pub struct World {
    pub endpoint: String,
    pub table: String,
    pub secret_id: String,
    pub store: DynamoConnectorStore,
    pub secrets: aws_sdk_secretsmanager::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl World {
    /// Names and clients only; nothing is created yet.
    pub async fn named(endpoint: &str) -> Self {
        let sdk = sdk_config().await;
        let table = unique_name("connectors");
        let dynamodb = dynamodb_client(&sdk, endpoint);
        Self {
            endpoint: endpoint.to_owned(),
            store: DynamoConnectorStore::new(dynamodb.clone(), table.clone()),
            secrets: secrets_client(&sdk, endpoint),
            secret_id: unique_name("connector-health/api-keys"),
            table,
            dynamodb,
        }
    }

    /// A world with its table created and a key secret holding `key_doc`.
    pub async fn create(endpoint: &str, key_doc: &str) -> Self {
        let world = Self::named(endpoint).await;
        world.create_resources(key_doc).await;
        world
    }

    /// Creates the table and the secret (again, after an emulator restart).
    pub async fn create_resources(&self, key_doc: &str) {
        self.store
            .create_table()
            .await
            .unwrap_or_else(|e| panic!("create table {}: {e}", self.table));
        self.secrets
            .create_secret()
            .name(&self.secret_id)
            .secret_string(key_doc)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "create secret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            });
    }

    /// Replaces the key document (a new secret version, as a rotation would).
    pub async fn set_keys(&self, key_doc: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(key_doc)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "put secret value: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            });
    }

    /// The DynamoDB client of this world's emulator (for raw reads and writes).
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// The current text of the key secret.
    pub async fn key_secret_text(&self) -> String {
        self.secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "read the key secret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            })
            .secret_string
            .expect("a string secret")
    }

    pub async fn seed(&self, connectors: &[Connector]) {
        for c in connectors {
            self.store
                .put(c, Some("nuget"))
                .await
                .unwrap_or_else(|e| panic!("put connector {}: {e}", c.id));
        }
    }

    /// Writes an item exactly as given (for malformed rows).
    pub async fn put_raw(&self, item: Item) {
        self.dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "put raw item: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            });
    }

    /// Writes many items with BatchWriteItem, 25 at a time, resending unprocessed items.
    pub async fn batch_put(&self, items: Vec<Item>) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let mut pending: Vec<WriteRequest> = items
                .by_ref()
                .take(25)
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .expect("item set"),
                        )
                        .build()
                })
                .collect();
            while !pending.is_empty() {
                assert!(
                    Instant::now() < deadline,
                    "batch write did not finish in time"
                );
                let out = self
                    .dynamodb()
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "batch write: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(e)
                        )
                    });
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    // Polling the emulator back off; not synchronisation.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// The store and the cached key source the functions build, on this world's clients.
    pub fn read_dependencies(&self, key_cache: CachePolicy) -> ReadDependencies {
        ReadDependencies {
            connectors: self.store.clone(),
            keys: KeyCache::new(
                SecretsManagerKeySource::new(self.secrets.clone(), self.secret_id.clone()),
                key_cache,
            ),
            history: None,
        }
    }
}
