//! The probe run's side: probe targets from one Scan, and each result written with one
//! conditional `UpdateItem`.
//!
//! The write's condition is `attribute_exists(id) AND generation = :generation AND
//! (attribute_not_exists(lastChecked) OR lastChecked < :lastChecked)`: a connector deleted
//! during a run is not brought back, a result for a connector whose settings (URL, feed
//! type, ...) changed since the run read it is not written onto the changed one (for a row
//! read without a generation: `attribute_not_exists(generation)`), and of two overlapping
//! runs the older result never overwrites the newer one. Timestamps are stored as RFC 3339
//! UTC with milliseconds and `Z`, so string order is time order.

use super::schema::{attr, key, number, probe_update, target_from_item, Update};
use super::DynamoConnectorStore;
use crate::domain::ConnectorId;
use crate::ports::{DependencyError, ProbeResultWriter, ProbeTargetReader, WriteOutcome};
use crate::probe::outcome::ProbeRecord;
use crate::probe::target::ProbeTarget;
use aws_sdk_dynamodb::types::AttributeValue;

impl ProbeTargetReader for DynamoConnectorStore {
    async fn targets(&self) -> Result<Vec<ProbeTarget>, DependencyError> {
        self.scan_into(target_from_item, |t| t.id, "probe targets")
            .await
    }

    async fn target(&self, id: ConnectorId) -> Result<Option<ProbeTarget>, DependencyError> {
        Ok(self
            .get_item(id, true)
            .await?
            .as_ref()
            .and_then(target_from_item))
    }
}

/// The length of a timestamp as the prober writes it (`2026-01-01T00:00:00.000Z`).
const CANONICAL_TIMESTAMP_LENGTH: usize = 24;
const CANONICAL_LENGTH_VALUE: &str = ":canonicalTimestampLength";

impl ProbeResultWriter for DynamoConnectorStore {
    async fn write(&self, record: &ProbeRecord) -> Result<WriteOutcome, DependencyError> {
        let Update {
            expression,
            mut values,
            mut names,
        } = probe_update(record);
        names.insert("#id".to_owned(), attr::ID.to_owned());
        let generation = format!("#{}", attr::GENERATION);
        names.insert(generation.clone(), attr::GENERATION.to_owned());
        let same_connector = match record.generation {
            Some(g) => {
                let value = format!(":{}", attr::GENERATION);
                values.insert(value.clone(), number(g));
                format!("{generation} = {value}")
            }
            None => format!("attribute_not_exists({generation})"),
        };
        let lc_placeholder = format!("#{}", attr::LAST_CHECKED);
        let lc_value = format!(":{}", attr::LAST_CHECKED);
        // Stored times are compared as strings, which orders the canonical form
        // (`2026-01-01T00:00:00.000Z`, always 24 characters) correctly. A value of any
        // other length was not written by the prober (edited by hand, another format):
        // it must not block every later write, so it is overwritten.
        values.insert(
            CANONICAL_LENGTH_VALUE.to_owned(),
            AttributeValue::N(CANONICAL_TIMESTAMP_LENGTH.to_string()),
        );
        let condition = format!(
            "attribute_exists(#id) AND {same_connector} AND (attribute_not_exists({lc_placeholder}) OR {lc_placeholder} < {lc_value} OR size({lc_placeholder}) <> {CANONICAL_LENGTH_VALUE})"
        );
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, key(record.id))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        Ok(if self.applied(written)? {
            WriteOutcome::Written
        } else {
            WriteOutcome::Superseded
        })
    }
}
