//! Cycles and claims on the connector table (see [`crate::cycle`]).
//!
//! - A cycle begins with one conditional `UpdateItem` on the counter item (id 0):
//!   `SET lastCycle = :cycle` if it has none or a smaller one. A second delivery of the same
//!   tick finds it set and does nothing.
//! - A connector is claimed with one conditional `UpdateItem` on its row, `SET claimCycle =
//!   :cycle, claimedUntil = :until` (epoch milliseconds), returning the row as it now is:
//!   the probe reads nothing else. The condition: the row exists, no claim on it is live
//!   (`claimedUntil` absent or past), and it is not one this cycle already claimed and
//!   checked (`claimCycle < :cycle`, or `lastChecked` absent, before the cycle's start, or
//!   not in the canonical form). Neither attribute is a setting: a settings change may drop
//!   them, which only frees the connector early.

use super::bookkeeping::refused;
use super::schema::{attr, key, target_from_item};
use super::DynamoConnectorStore;
use crate::cycle::{Claim, CycleId, CycleLedger};
use crate::domain::ConnectorId;
use crate::ports::DependencyError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

/// The length of a timestamp as the prober writes it (`2026-01-01T00:00:00.000Z`).
const CANONICAL_TIMESTAMP_LENGTH: &str = "24";

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl CycleLedger for DynamoConnectorStore {
    async fn begin_cycle(&self, cycle: CycleId) -> Result<bool, DependencyError> {
        let begun = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, AttributeValue::N("0".into()))
            .update_expression("SET #cycle = :cycle")
            .condition_expression("attribute_not_exists(#cycle) OR #cycle < :cycle")
            .expression_attribute_names("#cycle", attr::LAST_CYCLE)
            .expression_attribute_values(":cycle", n(cycle.get()))
            .send()
            .await;
        self.applied(begun)
    }

    async fn claim(
        &self,
        id: ConnectorId,
        cycle: CycleId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, DependencyError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, key(id))
            .update_expression("SET #cycle = :cycle, #until = :until")
            .condition_expression(
                "attribute_exists(#id) \
                 AND (attribute_not_exists(#until) OR #until < :now) \
                 AND (attribute_not_exists(#cycle) OR #cycle < :cycle \
                      OR attribute_not_exists(#checked) OR #checked < :start \
                      OR size(#checked) <> :canonical)",
            )
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#cycle", attr::CLAIM_CYCLE)
            .expression_attribute_names("#until", attr::CLAIMED_UNTIL)
            .expression_attribute_names("#checked", attr::LAST_CHECKED)
            .expression_attribute_values(":cycle", n(cycle.get()))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":start", AttributeValue::S(cycle.start_text()))
            .expression_attribute_values(
                ":canonical",
                AttributeValue::N(CANONICAL_TIMESTAMP_LENGTH.into()),
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match claimed {
            Ok(out) => match out.attributes.as_ref().and_then(target_from_item) {
                Some(target) => Ok(Claim::Taken(target)),
                // `target_from_item` logged why the row cannot be probed.
                None => Ok(Claim::NotOurs),
            },
            Err(e) if refused(&e) => Ok(Claim::NotOurs),
            Err(e) => Err(self.error(e)),
        }
    }
}
