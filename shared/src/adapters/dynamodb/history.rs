//! The history table: one item per connector per UTC day (partition key `connector`, a
//! number; sort key `day`, `YYYY-MM-DD`), changed by one `UpdateItem` per check that needs
//! no read, read back with one `Query`, and deleted by DynamoDB's TTL (`ttl`, epoch
//! seconds) [`KEPT_DAYS`] days after the day ends.
//!
//! An item's attributes:
//! - `h0` … `h23`: each hour's totals as one number (`ADD`):
//!   `sum of healthy response ms · 10^10 + checks · 10^5 + healthy checks`;
//! - `r0` … `r52`: the ring of recent checks, slot = minute of the day mod 53 (`SET`):
//!   `(second of the day · 100 + code) · 10^5 + response ms` (99999: none; code 0:
//!   healthy, 1–99: an error whose message is in `m{code mod 2}` if that text's code is
//!   still `code`);
//! - `m0`, `m1`: the last error messages, at most 60 bytes each;
//! - `demo`: `true` on days made up for the local stack's demo.
//!
//! The largest item this can make is under 1 KB (see the size test below), so each write
//! costs one write unit.

use super::{Item, SERVICE};
use crate::aws::dependency_error;
use crate::domain::ConnectorId;
use crate::history::day::{MESSAGE_SLOTS, RECENT_SLOTS};
use crate::history::{Day, DayUpdate, HourTotals, KEPT_DAYS};
use crate::ports::{DependencyError, HistoryReader, HistoryRecorder};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Attribute names of a history item.
pub mod attr {
    pub const CONNECTOR: &str = "connector";
    pub const DAY: &str = "day";
    pub const TTL: &str = "ttl";
    pub const DEMO: &str = "demo";
    pub const HOUR_PREFIX: &str = "h";
    pub const RECENT_PREFIX: &str = "r";
    pub const MESSAGE_PREFIX: &str = "m";
}

const DATE_FORMAT: &str = "%Y-%m-%d";

/// The history table.
#[derive(Debug, Clone)]
pub struct DynamoHistoryStore {
    client: Client,
    table: String,
}

fn day_key(date: NaiveDate) -> AttributeValue {
    AttributeValue::S(date.format(DATE_FORMAT).to_string())
}

/// When DynamoDB may delete the item of `date`: [`KEPT_DAYS`] days after the day ends.
pub fn expires_at(date: NaiveDate) -> i64 {
    (date + chrono::Duration::days(KEPT_DAYS + 1))
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

/// The `UpdateItem` of one check: expression, names and values.
pub fn update_of(update: &DayUpdate) -> (String, HashMap<String, String>, Item) {
    let mut names = HashMap::from([
        (
            "#h".to_owned(),
            format!("{}{}", attr::HOUR_PREFIX, update.hour),
        ),
        (
            "#r".to_owned(),
            format!("{}{}", attr::RECENT_PREFIX, update.slot),
        ),
        ("#t".to_owned(), attr::TTL.to_owned()),
    ]);
    let mut values = HashMap::from([
        (
            ":h".to_owned(),
            AttributeValue::N(update.totals.packed().to_string()),
        ),
        (":r".to_owned(), AttributeValue::N(update.entry.to_string())),
        (
            ":t".to_owned(),
            AttributeValue::N(expires_at(update.date).to_string()),
        ),
    ]);
    let mut expression = "ADD #h :h SET #r = :r, #t = :t".to_owned();
    if let Some((slot, text)) = &update.message {
        names.insert("#m".to_owned(), format!("{}{}", attr::MESSAGE_PREFIX, slot));
        values.insert(":m".to_owned(), AttributeValue::S(text.clone()));
        expression.push_str(", #m = :m");
    }
    (expression, names, values)
}

/// A whole day as an item (the demo's days are written this way).
pub fn item_of(id: ConnectorId, day: &Day) -> Item {
    let mut item = Item::from([
        (
            attr::CONNECTOR.to_owned(),
            AttributeValue::N(id.to_string()),
        ),
        (attr::DAY.to_owned(), day_key(day.date)),
        (
            attr::TTL.to_owned(),
            AttributeValue::N(expires_at(day.date).to_string()),
        ),
    ]);
    for (hour, totals) in day.hours.iter().enumerate() {
        if totals.checks > 0 {
            item.insert(
                format!("{}{hour}", attr::HOUR_PREFIX),
                AttributeValue::N(totals.packed().to_string()),
            );
        }
    }
    for (slot, entry) in day.recent.iter().enumerate() {
        if let Some(entry) = entry {
            item.insert(
                format!("{}{slot}", attr::RECENT_PREFIX),
                AttributeValue::N(entry.to_string()),
            );
        }
    }
    for (slot, text) in day.messages.iter().enumerate() {
        if let Some(text) = text {
            item.insert(
                format!("{}{slot}", attr::MESSAGE_PREFIX),
                AttributeValue::S(text.clone()),
            );
        }
    }
    if day.demo {
        item.insert(attr::DEMO.to_owned(), AttributeValue::Bool(true));
    }
    item
}

/// The day an item holds; `None` without a usable `day`. Attributes it cannot read are
/// left out.
pub fn day_of(item: &Item) -> Option<Day> {
    let date = match item.get(attr::DAY) {
        Some(AttributeValue::S(s)) => NaiveDate::parse_from_str(s, DATE_FORMAT).ok()?,
        _ => return None,
    };
    let mut day = Day::new(date);
    let number = |name: String| match item.get(&name) {
        Some(AttributeValue::N(n)) => n.parse::<u128>().ok(),
        _ => None,
    };
    for hour in 0..24 {
        if let Some(n) = number(format!("{}{hour}", attr::HOUR_PREFIX)) {
            day.hours[hour] = HourTotals::from_packed(n);
        }
    }
    for slot in 0..RECENT_SLOTS {
        day.recent[slot] =
            number(format!("{}{slot}", attr::RECENT_PREFIX)).and_then(|n| u64::try_from(n).ok());
    }
    for slot in 0..MESSAGE_SLOTS {
        if let Some(AttributeValue::S(text)) = item.get(&format!("{}{slot}", attr::MESSAGE_PREFIX))
        {
            day.messages[slot] = Some(text.clone());
        }
    }
    day.demo = matches!(item.get(attr::DEMO), Some(AttributeValue::Bool(true)));
    Some(day)
}

/// An item's size as DynamoDB counts it for capacity: each attribute's name, plus its
/// value (a string's UTF-8 bytes; a number's significant digits, two to a byte, plus one;
/// a boolean one byte).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => {
                        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
                        let significant = digits.trim_start_matches('0').trim_end_matches('0');
                        significant.len().div_ceil(2) + 1
                    }
                    AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
                    // Not used by history items; counted generously.
                    _ => 400,
                }
        })
        .sum()
}

impl DynamoHistoryStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The store with a client of its own from `aws` (makes no network call).
    pub fn from_config(aws: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(aws), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn error<E>(&self, err: SdkError<E>) -> DependencyError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        dependency_error(SERVICE, &format!("table {}", self.table), err)
    }

    /// Creates the table with its TTL (the local stack and tests; `template.yaml` in AWS);
    /// an existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), DependencyError> {
        let bad =
            |e: aws_sdk_dynamodb::error::BuildError| DependencyError::other(SERVICE, e.to_string());
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr::CONNECTOR)
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .map_err(bad)?,
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr::DAY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(bad)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr::CONNECTOR)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(bad)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr::DAY)
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(self.error(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr::TTL)
                    .enabled(true)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Writes whole days (the demo's history), replacing what was there.
    pub async fn put_days(&self, id: ConnectorId, days: &[Day]) -> Result<(), DependencyError> {
        for day in days {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_of(id, day)))
                .send()
                .await
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

impl HistoryRecorder for DynamoHistoryStore {
    async fn record(&self, id: ConnectorId, update: &DayUpdate) -> Result<(), DependencyError> {
        let (expression, names, values) = update_of(update);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::CONNECTOR, AttributeValue::N(id.to_string()))
            .key(attr::DAY, day_key(update.date))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

impl HistoryReader for DynamoHistoryStore {
    async fn days(
        &self,
        id: ConnectorId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Day>, DependencyError> {
        let mut days = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#c = :c AND #d BETWEEN :from AND :to")
                .expression_attribute_names("#c", attr::CONNECTOR)
                .expression_attribute_names("#d", attr::DAY)
                .expression_attribute_values(":c", AttributeValue::N(id.to_string()))
                .expression_attribute_values(":from", day_key(from))
                .expression_attribute_values(":to", day_key(to))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(e))?;
            days.extend(page.items().iter().filter_map(day_of));
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::State;
    use crate::history::Check;
    use chrono::{Duration, TimeZone, Utc};

    fn apply_all(checks: impl IntoIterator<Item = Check>) -> Day {
        let mut day: Option<Day> = None;
        for check in checks {
            let update = DayUpdate::of(&check);
            day.get_or_insert_with(|| Day::new(update.date))
                .apply(&update);
        }
        day.expect("at least one check")
    }

    #[test]
    fn the_largest_day_fits_in_one_write_unit() {
        // A full day at a 1-minute interval: healthy with the slowest answers the hour
        // totals can hold, then the last 53 minutes (all the ring) errors with long,
        // different messages and the longest response times; the largest connector id;
        // marked as demo.
        let midnight = Utc.with_ymd_and_hms(2025, 11, 5, 0, 0, 59).unwrap();
        let checks = (0..1440).map(|minute| {
            let at = midnight + Duration::minutes(minute);
            if minute < 1440 - 53 {
                Check::new(at, State::Healthy, Some(60_000), None)
            } else {
                let message = format!(
                    "TLS certificate for registry-{minute}.example.com is not valid: {}",
                    "é".repeat(100)
                );
                Check::new(at, State::Error, Some(99_999), Some(&message))
            }
        });
        let mut day = apply_all(checks);
        day.demo = true;
        let item = item_of(ConnectorId::new(ConnectorId::MAX).unwrap(), &day);
        let size = item_size(&item);
        eprintln!("largest history item: {size} bytes");
        assert!(size <= 1024, "{size} bytes");
        assert!(size > 900, "the worst case is near the limit: {size} bytes");
        // All errors, all messages different and long.
        let checks = (0..1440).map(|minute| {
            let message = format!(
                "Connection refused by host-{minute}.example: {}",
                "x".repeat(200)
            );
            Check::new(
                midnight + Duration::minutes(minute),
                State::Error,
                Some(10_000),
                Some(&message),
            )
        });
        let item = item_of(
            ConnectorId::new(ConnectorId::MAX).unwrap(),
            &apply_all(checks),
        );
        assert!(item_size(&item) <= 1024, "{} bytes", item_size(&item));
        // What the update itself carries fits as well, whatever it is added to.
        assert_eq!(item.len(), 3 + 24 + RECENT_SLOTS + MESSAGE_SLOTS);
    }

    #[test]
    fn an_item_reads_back_as_the_day_it_was_made_from() {
        let at = Utc.with_ymd_and_hms(2025, 11, 5, 8, 30, 15).unwrap();
        let day = apply_all([
            Check::new(at, State::Healthy, Some(143), None),
            Check::new(
                at + Duration::minutes(5),
                State::Error,
                None,
                Some("HTTP 503 Service Unavailable."),
            ),
        ]);
        let item = item_of(ConnectorId::new(7).unwrap(), &day);
        assert_eq!(day_of(&item), Some(day));
        assert_eq!(
            item.get("ttl"),
            Some(&AttributeValue::N(
                Utc.with_ymd_and_hms(2026, 2, 6, 0, 0, 0)
                    .unwrap()
                    .timestamp()
                    .to_string()
            ))
        );
    }

    #[test]
    fn the_size_rule_counts_significant_digits() {
        let one = |name: &str, v: AttributeValue| item_size(&Item::from([(name.to_owned(), v)]));
        assert_eq!(one("h1", AttributeValue::N("6000000".into())), 2 + 2);
        assert_eq!(one("h1", AttributeValue::N("123".into())), 2 + 3);
        assert_eq!(one("m0", AttributeValue::S("é".into())), 2 + 2);
        assert_eq!(one("demo", AttributeValue::Bool(true)), 5);
    }
}
