//! The API key secret: creating it, and changing its key document safely.
//!
//! Every change is a read-modify-write guarded like a compare-and-swap, so two admins (or
//! two scripts) adding keys at the same time never lose one another's change:
//! 1. read the current version (`AWSCURRENT`) and its `VersionId`;
//! 2. apply the change and `PutSecretValue` the result as a new version, with a fresh
//!    `ClientRequestToken`, staged only as [`PENDING_STAGE`] (not yet current);
//! 3. `UpdateSecretVersionStage` moves `AWSCURRENT` to it *from the version read in 1*.
//!    If another writer made a different version current in between, that call fails and
//!    the whole cycle starts again from the new current version.
//!
//! The answer to step 3 can be lost after the move was made (a dropped connection, a
//! timeout), and the SDK's retry of a move that was made is refused, as if another writer
//! had got in. So whenever step 3 fails, the secret itself says what happened: if the
//! version this cycle wrote is current, or was current until another writer's change
//! replaced it (it is `AWSPREVIOUS`), the change was made, and is reported once.

use crate::error::{AdminError, Result};
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;
use rand::{Rng, RngCore};
use shared::adapters::secrets_manager::SERVICE;
use shared::auth::{parse_document, KeyDigest, KeyDocument};
use shared::aws::dependency_error;
use std::time::Duration;

/// What `init` writes into a new secret.
pub const EMPTY_DOCUMENT: &str = r#"{"keys": []}"#;
/// The staging label of a version written but not yet made current.
pub const PENDING_STAGE: &str = "CHADMIN_PENDING";
const CURRENT_STAGE: &str = "AWSCURRENT";
const PREVIOUS_STAGE: &str = "AWSPREVIOUS";
/// How many read-modify-write cycles to try before giving up on a busy secret.
pub const MAX_ATTEMPTS: u32 = 8;

/// A new API key: 32 bytes from a cryptographically secure generator (rand's thread-local
/// ChaCha generator, seeded by the operating system), as 64 hex digits.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the secret stores for a key: its SHA-256 digest, lower-case hex.
pub fn digest_hex(key: &str) -> String {
    KeyDigest::of(key).to_hex()
}

/// A `ClientRequestToken` (32 to 64 characters; it becomes the new `VersionId`).
fn request_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// One key secret.
#[derive(Debug, Clone)]
pub struct KeySecret {
    client: Client,
    id: String,
}

impl KeySecret {
    pub fn new(client: Client, id: impl Into<String>) -> Self {
        Self {
            client,
            id: id.into(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// What a failed call on this secret reports.
    fn error<E, R>(&self, err: SdkError<E, R>) -> AdminError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        dependency_error(SERVICE, &format!("secret {}", self.id), err).into()
    }

    /// Creates the secret holding an empty key document. Returns `false` (and changes
    /// nothing) when a secret with this id already exists.
    pub async fn ensure(&self) -> Result<bool> {
        let created = self
            .client
            .create_secret()
            .name(&self.id)
            .description("connector-health API keys (SHA-256 digests); managed with chadmin")
            .secret_string(EMPTY_DOCUMENT)
            .client_request_token(request_token())
            .send()
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// The current key document and the id of the version it was read from.
    pub async fn read(&self) -> Result<(KeyDocument, String)> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            // Explicit (it is the default) so emulators that track the current version
            // separately from its label (moto) answer the same as AWS.
            .version_stage(CURRENT_STAGE)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    AdminError::NotFound(format!(
                        "the key secret {} does not exist; run `chadmin init` first",
                        self.id
                    ))
                } else {
                    self.error(e)
                }
            })?;
        let version = out.version_id.ok_or_else(|| {
            AdminError::BadKeyDocument("the current version has no VersionId".into())
        })?;
        let text = out.secret_string.ok_or_else(|| {
            AdminError::BadKeyDocument("it has no SecretString (binary secret?)".into())
        })?;
        // The error says where the document is wrong, never what it holds (a key written
        // in the wrong place would otherwise be quoted in the message).
        let doc: KeyDocument =
            parse_document(&text).map_err(|e| AdminError::BadKeyDocument(e.to_string()))?;
        Ok((doc, version))
    }

    /// Applies `change` to the current key document and stores the result as the new
    /// current version, retrying from a fresh read when another writer got in between.
    /// `change` may run several times; it must only depend on the document it is given.
    /// When it returns an error nothing is written.
    pub async fn update<T>(
        &self,
        mut change: impl FnMut(&mut KeyDocument) -> Result<T>,
    ) -> Result<T> {
        for attempt in 1..=MAX_ATTEMPTS {
            let (mut doc, read_version) = self.read().await?;
            let outcome = change(&mut doc)?;
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| AdminError::BadKeyDocument(e.to_string()))?;
            let new_version = request_token();
            self.client
                .put_secret_value()
                .secret_id(&self.id)
                .secret_string(text)
                .client_request_token(&new_version)
                .version_stages(PENDING_STAGE)
                .send()
                .await
                .map_err(|e| self.error(e))?;
            let promoted = self
                .client
                .update_secret_version_stage()
                .secret_id(&self.id)
                .version_stage(CURRENT_STAGE)
                .move_to_version_id(&new_version)
                .remove_from_version_id(&read_version)
                .send()
                .await;
            let refused = match promoted {
                Ok(_) => {
                    self.drop_pending_label(&new_version).await;
                    return Ok(outcome);
                }
                Err(e) => e,
            };
            // Refused, or no answer: the move may have been made all the same (its answer
            // lost, and the SDK's retry refused because AWSCURRENT had already moved).
            match self.promotion(&read_version, &new_version).await? {
                Promotion::Made => {
                    tracing::info!(
                        attempt,
                        "the key secret update was made, though its answer was lost"
                    );
                    self.drop_pending_label(&new_version).await;
                    return Ok(outcome);
                }
                // AWS refuses the move when AWSCURRENT is no longer on the version we
                // read (moto says InvalidParameterException; AWS documents only that "the
                // operation fails"). With the version read still current, the request
                // itself is wrong, or it never arrived: report it.
                Promotion::NotMade => return Err(self.error(refused)),
                // Someone else made another version current first: retry from a fresh read.
                Promotion::Overtaken => {
                    tracing::info!(
                        attempt,
                        "the key secret changed while it was being updated; retrying"
                    );
                    let pause = rand::rng().random_range(20..=100u64) * u64::from(attempt);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
        }
        Err(AdminError::Conflict(format!(
            "the key secret {} kept changing while being updated ({MAX_ATTEMPTS} attempts); try again",
            self.id
        )))
    }

    /// Whether the move of `AWSCURRENT` from `read_version` to `new_version` was made, read
    /// back from the secret after the move failed or went unanswered.
    async fn promotion(&self, read_version: &str, new_version: &str) -> Result<Promotion> {
        let current = self.version_in(CURRENT_STAGE).await?;
        if current.as_deref() == Some(new_version) {
            return Ok(Promotion::Made);
        }
        if current.as_deref() == Some(read_version) {
            return Ok(Promotion::NotMade);
        }
        // Another version is current. `AWSPREVIOUS` is on the version `AWSCURRENT` last
        // moved away from: if that is ours, ours was current and another writer's change
        // (made on top of ours) followed it.
        if self.version_in(PREVIOUS_STAGE).await?.as_deref() == Some(new_version) {
            return Ok(Promotion::Made);
        }
        Ok(Promotion::Overtaken)
    }

    /// The id of the version carrying `stage`; `None` when no version does.
    async fn version_in(&self, stage: &str) -> Result<Option<String>> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_stage(stage)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.version_id),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// Removes the pending label from a version that is now current. Best effort: a label
    /// left behind is harmless (the next update moves it).
    async fn drop_pending_label(&self, version: &str) {
        let removed = self
            .client
            .update_secret_version_stage()
            .secret_id(&self.id)
            .version_stage(PENDING_STAGE)
            .remove_from_version_id(version)
            .send()
            .await;
        if let Err(e) = removed {
            tracing::debug!(error = %DisplayErrorContext(&e), "could not remove the pending label");
        }
    }
}

/// What became of a stage move that failed or went unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Promotion {
    /// The new version was made current.
    Made,
    /// The version read is still current: the move was not made.
    NotMade,
    /// Another writer's version is current, and ours never was.
    Overtaken,
}
