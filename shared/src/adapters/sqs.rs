//! The probe queue: batches of connector ids sent with `SendMessageBatch`, ten messages a
//! call, a few calls at a time.
//!
//! `SendMessageBatch` answers 200 even when some entries were refused: those are in
//! `Failed`. An entry refused through no fault of ours (`SenderFault` false: throttling, a
//! service error) is sent again, up to [`ATTEMPTS`] times in all; what still fails is logged
//! and left out of the count. Connectors whose batch was not sent keep their last result
//! and are first in line in the next cycle (most overdue first).

use crate::aws::{dependency_error, LazyClient};
use crate::cycle::{Batch, BatchQueue};
use crate::ports::DependencyError;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub const SERVICE: &str = "SQS";

/// Entries per `SendMessageBatch` call (the service's maximum).
pub const ENTRIES_PER_CALL: usize = 10;
/// Calls in flight at once.
pub const CALLS_IN_FLIGHT: usize = 8;
/// Attempts per entry refused through no fault of ours.
pub const ATTEMPTS: usize = 3;

/// Sends batches to one queue.
#[derive(Debug, Clone)]
pub struct SqsBatchQueue {
    client: LazyClient<Client>,
    url: String,
}

impl SqsBatchQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::ready(client),
            url: url.into(),
        }
    }

    /// With the client built from `aws` on the first send (a cycle that fits one
    /// invocation builds none).
    pub fn on_first_use(aws: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        Self {
            client: LazyClient::on_first_use(aws, Client::new),
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends up to ten messages; returns how many were accepted.
    async fn send_call(&self, bodies: Vec<String>) -> Result<usize, DependencyError> {
        let mut pending: Vec<(String, String)> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| (i.to_string(), body))
            .collect();
        let mut sent = 0;
        for attempt in 1..=ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(body)
                        .build()
                        .map_err(|e| DependencyError::other(SERVICE, e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .get()
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| dependency_error(SERVICE, &format!("queue {}", self.url), e))?;
            sent += out.successful().len();
            let mut again = Vec::new();
            for failed in out.failed() {
                let retry = !failed.sender_fault() && attempt < ATTEMPTS;
                if !retry {
                    tracing::error!(
                        queue = %self.url,
                        code = failed.code(),
                        message = failed.message().unwrap_or(""),
                        attempts = attempt,
                        "a batch of connectors could not be sent to the probe queue; they wait for the next cycle"
                    );
                    continue;
                }
                if let Some(entry) = pending.iter().find(|(id, _)| id == failed.id()) {
                    again.push(entry.clone());
                }
            }
            if again.is_empty() {
                break;
            }
            pending = again;
        }
        Ok(sent)
    }
}

impl BatchQueue for SqsBatchQueue {
    async fn send(&self, batches: &[Batch]) -> Result<usize, DependencyError> {
        let bodies: Vec<String> = batches
            .iter()
            .map(|b| serde_json::to_string(b).unwrap_or_default())
            .collect();
        let slots = Arc::new(Semaphore::new(CALLS_IN_FLIGHT));
        let mut calls = JoinSet::new();
        for chunk in bodies.chunks(ENTRIES_PER_CALL) {
            let queue = self.clone();
            let chunk = chunk.to_vec();
            let slots = slots.clone();
            calls.spawn(async move {
                let _slot = slots.acquire_owned().await;
                queue.send_call(chunk).await
            });
        }
        let (mut sent, mut first_error) = (0, None);
        while let Some(joined) = calls.join_next().await {
            match joined {
                Ok(Ok(n)) => sent += n,
                Ok(Err(e)) => {
                    tracing::error!(queue = %self.url, error = %e, "a SendMessageBatch call failed; its connectors wait for the next cycle");
                    first_error.get_or_insert(e);
                }
                Err(_) => tracing::error!(queue = %self.url, "a SendMessageBatch call panicked"),
            }
        }
        match first_error {
            Some(e) if sent == 0 => Err(e),
            _ => Ok(sent),
        }
    }
}
