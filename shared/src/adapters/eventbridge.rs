//! State-change events on an EventBridge bus: one `PutEvents` entry per change.
//!
//! `PutEvents` answers 200 even when an entry was refused (throttled, too large, ...): the
//! refusal is in `FailedEntryCount` and the entry's error code, so both are checked.

use crate::aws::{dependency_error, LazyClient};
use crate::ports::{DependencyError, StateChangePublisher};
use crate::probe::events::{StateChange, DETAIL_TYPE, SOURCE};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

pub const SERVICE: &str = "EventBridge";

/// The bus used when none is configured.
pub const DEFAULT_BUS: &str = "default";

/// Publishes state changes on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: LazyClient<Client>,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client: LazyClient::ready(client),
            bus: bus.into(),
        }
    }

    /// With the client built from `aws` on the first publish (a run without state changes
    /// builds none).
    pub fn on_first_use(aws: &aws_config::SdkConfig, bus: impl Into<String>) -> Self {
        Self {
            client: LazyClient::on_first_use(aws, Client::new),
            bus: bus.into(),
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The `PutEvents` entry for one change.
    pub fn entry(&self, change: &StateChange) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(change.detail().to_string())
            .build()
    }
}

impl StateChangePublisher for EventBridgePublisher {
    async fn publish(&self, change: &StateChange) -> Result<(), DependencyError> {
        let out = self
            .client
            .get()
            .put_events()
            .entries(self.entry(change))
            .send()
            .await
            .map_err(|e| dependency_error(SERVICE, &format!("event bus {}", self.bus), e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .find_map(|e| {
                    e.error_code().map(|code| {
                        format!("{code}: {}", e.error_message().unwrap_or("no message"))
                    })
                })
                .unwrap_or_else(|| "no error code".to_owned());
            return Err(DependencyError::other(
                SERVICE,
                format!("the event was refused ({why})"),
            ));
        }
        Ok(())
    }
}
