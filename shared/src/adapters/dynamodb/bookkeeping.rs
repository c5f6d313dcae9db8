//! The table's own items besides the connectors, and how a change is written atomically.
//!
//! - The counter (id 0): `lastId`, the largest id ever handed out, and `lastGeneration`,
//!   the last generation given to a row. Taken with one atomic `UpdateItem ADD`, so no
//!   id and no generation is ever handed out twice, whoever removes what.
//! - One reservation per connector name (a negative id: minus one minus the first 62 bits
//!   of the name's SHA-256), holding the name itself and its `owner`, the id of the
//!   connector that has it. A reservation and its connector row are written in one
//!   `TransactWriteItems`, each on the condition that it is as it was read, so two writers
//!   can never both take a name; the name stored in it tells a hash collision apart.
//!
//! Readers never see these items: every Scan keeps `id > 0`, and no connector id is 0 or
//! negative. A table that has no counter yet gets one on its first change, above the
//! largest id in it, and a reservation for each name its rows already hold (of two rows
//! sharing a name, the lower id keeps it).

use super::schema::{attr, key, number, string, whole};
use super::{DynamoConnectorStore, Item, SERVICE};
use crate::domain::ConnectorId;
use crate::ports::DependencyError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The counter's key.
fn counter_key() -> AttributeValue {
    AttributeValue::N("0".into())
}

/// The key of `name`'s reservation.
pub fn reservation_key(name: &str) -> AttributeValue {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let bits = u64::from_be_bytes(first) >> 2;
    AttributeValue::N(format!("-{}", bits + 1))
}

/// A name reservation as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reservation {
    pub name: Option<String>,
    pub owner: Option<u64>,
}

impl Reservation {
    fn of(item: &Item) -> Self {
        Self {
            name: string(item, attr::NAME).map(str::to_owned),
            owner: whole(item, attr::OWNER),
        }
    }

    /// Whether connector `id` holds this reservation for `name`.
    pub fn held_by(&self, id: ConnectorId, name: &str) -> bool {
        self.owner == Some(u64::from(id.get())) && self.name.as_deref() == Some(name)
    }

    /// The condition that the reservation is still as read.
    pub fn unchanged(&self) -> Condition {
        Condition::default()
            .exists(attr::ID)
            .matches(attr::NAME, self.name.clone().map(AttributeValue::S))
            .matches(attr::OWNER, self.owner.map(number))
    }
}

/// The reservation item giving `name` to `owner`.
pub(super) fn reservation_item(name: &str, owner: ConnectorId) -> Item {
    Item::from([
        (attr::ID.to_owned(), reservation_key(name)),
        (attr::NAME.to_owned(), AttributeValue::S(name.to_owned())),
        (attr::OWNER.to_owned(), key(owner)),
    ])
}

/// Who may take a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Slot {
    /// No reservation: taken on the condition that there still is none.
    Free,
    /// A reservation no connector holds any more (its owner was removed or renamed by
    /// hand), or one a connector renamed in the same change gives up: replaced on the
    /// condition that it is still as read.
    Replace(Reservation),
    /// Held by this connector, under this name (the name asked for, or one with the same
    /// reservation).
    Held(ConnectorId, String),
}

/// A condition expression with its own names and values (`#cN`, `:cN`), to combine with
/// an update's.
#[derive(Debug, Clone, Default)]
pub(super) struct Condition {
    parts: Vec<String>,
    pub names: HashMap<String, String>,
    pub values: Item,
}

impl Condition {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#c{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    pub fn exists(mut self, attribute: &str) -> Self {
        let n = self.name(attribute);
        self.parts.push(format!("attribute_exists({n})"));
        self
    }

    pub fn absent(mut self, attribute: &str) -> Self {
        let n = self.name(attribute);
        self.parts.push(format!("attribute_not_exists({n})"));
        self
    }

    /// The attribute equals `value`, or is absent for `None`.
    pub fn matches(mut self, attribute: &str, value: Option<AttributeValue>) -> Self {
        let Some(value) = value else {
            return self.absent(attribute);
        };
        let n = self.name(attribute);
        let v = format!(":c{}", self.values.len());
        self.values.insert(v.clone(), value);
        self.parts.push(format!("{n} = {v}"));
        self
    }

    pub fn expression(&self) -> String {
        self.parts.join(" AND ")
    }
}

/// What became of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Transacted {
    Done,
    /// Cancelled: for each item, whether its condition failed.
    Refused(Vec<bool>),
    /// Cancelled because another transaction was changing the same items.
    Conflict,
    /// Cancelled for the table's rate (reported as an error).
    Throttled,
}

fn build_error(e: impl std::fmt::Display) -> DependencyError {
    DependencyError::other(SERVICE, e.to_string())
}

/// The counter's figures after a take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Taken {
    pub last_id: u64,
    pub last_generation: u64,
}

impl DynamoConnectorStore {
    /// One item by its raw key, read consistently.
    pub(super) async fn get_raw(
        &self,
        key: AttributeValue,
    ) -> Result<Option<Item>, DependencyError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ID, key)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(out.item)
    }

    /// The reservation of `name`, if there is one.
    pub(super) async fn reservation(
        &self,
        name: &str,
    ) -> Result<Option<Reservation>, DependencyError> {
        Ok(self
            .get_raw(reservation_key(name))
            .await?
            .as_ref()
            .map(Reservation::of))
    }

    /// Who may take `name`. `leaving` maps connectors renamed in the same change to the
    /// name they give up.
    pub(super) async fn slot(
        &self,
        name: &str,
        leaving: &HashMap<u64, &str>,
    ) -> Result<Slot, DependencyError> {
        let Some(reservation) = self.reservation(name).await? else {
            return Ok(Slot::Free);
        };
        let (Some(owner), Some(reserved)) = (reservation.owner, reservation.name.as_deref()) else {
            return Ok(Slot::Replace(reservation));
        };
        if leaving.get(&owner) == Some(&reserved) {
            return Ok(Slot::Replace(reservation));
        }
        let holder = u32::try_from(owner).ok().and_then(ConnectorId::new);
        if let Some(holder) = holder {
            let row = self.get_raw(key(holder)).await?;
            if row.as_ref().and_then(|r| string(r, attr::NAME)) == Some(reserved) {
                return Ok(Slot::Held(holder, reserved.to_owned()));
            }
        }
        Ok(Slot::Replace(reservation))
    }

    /// Takes `ids` new ids (0 or 1) and `generations` new generations from the counter
    /// (one atomic `ADD`), starting the counter first if the table has none.
    pub(super) async fn take(&self, ids: u64, generations: u64) -> Result<Taken, DependencyError> {
        for _ in 0..2 {
            let taken = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(attr::ID, counter_key())
                .update_expression("ADD #lastId :ids, #lastGeneration :generations")
                .condition_expression("attribute_exists(#lastId)")
                .expression_attribute_names("#lastId", attr::LAST_ID)
                .expression_attribute_names("#lastGeneration", attr::LAST_GENERATION)
                .expression_attribute_values(":ids", number(ids))
                .expression_attribute_values(":generations", number(generations))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match taken {
                Ok(out) => {
                    let after = out.attributes.unwrap_or_default();
                    return match (
                        whole(&after, attr::LAST_ID),
                        whole(&after, attr::LAST_GENERATION),
                    ) {
                        (Some(last_id), Some(last_generation)) => Ok(Taken {
                            last_id,
                            last_generation,
                        }),
                        _ => Err(DependencyError::other(
                            SERVICE,
                            format!(
                                "table {}: the counter item (id 0) does not hold whole numbers",
                                self.table
                            ),
                        )),
                    };
                }
                Err(e) if refused(&e) => self.start_counter().await?,
                Err(e) => return Err(self.error(e)),
            }
        }
        Err(DependencyError::other(
            SERVICE,
            format!(
                "table {}: the counter item (id 0) could not be created",
                self.table
            ),
        ))
    }

    /// Raises the counter to `id` if it is below: an id given by hand is never handed out.
    pub(super) async fn raise_counter(&self, id: ConnectorId) -> Result<(), DependencyError> {
        self.applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(attr::ID, counter_key())
                .update_expression("SET #lastId = :id")
                .condition_expression("#lastId < :id")
                .expression_attribute_names("#lastId", attr::LAST_ID)
                .expression_attribute_values(":id", key(id))
                .send()
                .await,
        )?;
        Ok(())
    }

    /// Starts the counter of a table that has none: reserves the names its rows hold, then
    /// sets the counter to its largest id (unless another writer started it meanwhile).
    async fn start_counter(&self) -> Result<(), DependencyError> {
        let (items, _) = self.scan_items().await?;
        let mut named: Vec<(ConnectorId, &str)> = Vec::new();
        let mut largest = 0u64;
        for item in &items {
            let Some(id) = string_id(item) else { continue };
            largest = largest.max(u64::from(id.get()));
            if let Some(name) = string(item, attr::NAME).filter(|n| !n.trim().is_empty()) {
                named.push((id, name));
            }
        }
        named.sort_unstable();
        for (id, name) in &named {
            self.reserve_existing(*id, name).await?;
        }
        self.applied(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(attr::ID, counter_key())
                .update_expression(
                    "SET #lastId = :largest, #lastGeneration = if_not_exists(#lastGeneration, :zero)",
                )
                .condition_expression("attribute_not_exists(#lastId)")
                .expression_attribute_names("#lastId", attr::LAST_ID)
                .expression_attribute_names("#lastGeneration", attr::LAST_GENERATION)
                .expression_attribute_values(":largest", number(largest))
                .expression_attribute_values(":zero", number(0))
                .send()
                .await,
        )?;
        tracing::info!(
            table = %self.table,
            rows = items.len(),
            largest_id = largest,
            "started the id counter and reserved the names in use"
        );
        Ok(())
    }

    /// Reserves the name an existing row holds, unless it is reserved already.
    async fn reserve_existing(&self, id: ConnectorId, name: &str) -> Result<(), DependencyError> {
        let reserved = self.applied(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(reservation_item(name, id)))
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", attr::ID)
                .send()
                .await,
        )?;
        if !reserved {
            let holder = self.reservation(name).await?;
            if holder.as_ref().is_some_and(|r| !r.held_by(id, name)) {
                tracing::warn!(
                    connector_id = %id,
                    holder = holder.and_then(|r| r.owner),
                    "two connectors hold the same name; the lower id keeps it, rename the other"
                );
            }
        }
        Ok(())
    }

    /// Writes `items` in one transaction.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transacted, DependencyError> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = sent else {
            return Ok(Transacted::Done);
        };
        let outcome = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                cancellation(c.cancellation_reasons())
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Some(Transacted::Conflict)
            }
            _ => None,
        };
        match outcome {
            Some(Transacted::Throttled) => Err(DependencyError::Throttled {
                service: SERVICE,
                detail: format!("table {}: a transaction was throttled", self.table),
            }),
            Some(outcome) => Ok(outcome),
            None => Err(self.error(e)),
        }
    }
}

/// What a cancellation's reasons say: conditions that failed, a conflict with another
/// transaction, throttling; `None` for anything else (an error).
fn cancellation(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> Option<Transacted> {
    let code = |want: &[&str]| {
        reasons
            .iter()
            .any(|r| r.code().is_some_and(|c| want.contains(&c)))
    };
    if code(&["ConditionalCheckFailed"]) {
        Some(Transacted::Refused(
            reasons
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ))
    } else if code(&["TransactionConflict"]) {
        Some(Transacted::Conflict)
    } else if code(&[
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    ]) {
        Some(Transacted::Throttled)
    } else {
        None
    }
}

/// The id of an item that is a connector row (a valid connector id), if it is one.
fn string_id(item: &Item) -> Option<ConnectorId> {
    match item.get(attr::ID) {
        Some(AttributeValue::N(n)) => ConnectorId::parse(n),
        _ => None,
    }
}

/// Whether a failed call was refused by its condition.
pub(super) fn refused<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// One transaction item: a put of `item` on `condition`.
pub(super) fn put(
    table: &str,
    item: Item,
    condition: Condition,
) -> Result<TransactWriteItem, DependencyError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition.expression())
        .set_expression_attribute_names(Some(condition.names))
        .set_expression_attribute_values(non_empty(condition.values))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// One transaction item: a delete of the item with key `id` on `condition`.
pub(super) fn delete(
    table: &str,
    id: AttributeValue,
    condition: Condition,
) -> Result<TransactWriteItem, DependencyError> {
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .key(attr::ID, id)
        .condition_expression(condition.expression())
        .set_expression_attribute_names(Some(condition.names))
        .set_expression_attribute_values(non_empty(condition.values))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// One transaction item: the update `expression` (with its names and values) of the item
/// with key `id`, on `condition`.
pub(super) fn update(
    table: &str,
    id: AttributeValue,
    update: super::schema::Update,
    condition: Condition,
) -> Result<TransactWriteItem, DependencyError> {
    let expression = condition.expression();
    let mut names = update.names;
    names.extend(condition.names);
    let mut values = update.values;
    values.extend(condition.values);
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key(attr::ID, id)
        .update_expression(update.expression)
        .condition_expression(expression)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(non_empty(values))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// DynamoDB refuses an empty map of values.
fn non_empty(values: Item) -> Option<Item> {
    (!values.is_empty()).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_negative_stable_and_differ_by_name() {
        let k = |n: &str| match reservation_key(n) {
            AttributeValue::N(v) => v.parse::<i64>().unwrap(),
            _ => unreachable!(),
        };
        assert!(k("npm") < 0 && k("") < 0);
        assert_eq!(k("npm"), k("npm"));
        assert_ne!(k("npm"), k("NPM"), "names compare exactly");
        assert_ne!(k("npm"), k("npm "));
    }

    #[test]
    fn conditions_name_their_own_placeholders() {
        let c = Reservation {
            name: Some("a".into()),
            owner: None,
        }
        .unchanged();
        assert_eq!(
            c.expression(),
            "attribute_exists(#c0) AND #c1 = :c0 AND attribute_not_exists(#c2)"
        );
        assert_eq!(c.names["#c2"], "owner");
        assert_eq!(c.values[":c0"], AttributeValue::S("a".into()));
    }

    #[test]
    fn a_cancellation_tells_refusals_from_conflicts() {
        use aws_sdk_dynamodb::types::CancellationReason;
        let r = |code: &str| CancellationReason::builder().code(code).build();
        assert_eq!(
            cancellation(&[r("None"), r("ConditionalCheckFailed")]),
            Some(Transacted::Refused(vec![false, true]))
        );
        assert_eq!(
            cancellation(&[r("TransactionConflict"), r("None")]),
            Some(Transacted::Conflict)
        );
        assert_eq!(
            cancellation(&[r("ThrottlingError")]),
            Some(Transacted::Throttled)
        );
        assert_eq!(cancellation(&[r("ValidationError")]), None);
    }
}
