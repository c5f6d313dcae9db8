//! One connector's UTC day as it is stored: 24 hourly totals, a ring of its most recent
//! checks, and the last error messages. A check changes it in exactly one way
//! ([`DayUpdate`]), which needs nothing read first: the hour's totals are added to, the
//! check goes into the ring slot its minute of the day names, and its message (if any) into
//! the message slot its text names.

use super::Check;
use crate::domain::State;
use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use sha2::{Digest, Sha256};

/// Ring slots of a day: the checks of the last 53 minutes of the day at a 1-minute
/// interval. 53 is prime, so checks at any interval of whole minutes up to 52 (every probe
/// interval the template offers) fall into different slots until the ring has gone round.
pub const RECENT_SLOTS: usize = 53;
/// Message slots of a day: the last error texts, chosen by the text.
pub const MESSAGE_SLOTS: usize = 2;
/// The most bytes of an error message kept (longer ones end with `…`).
pub const MAX_MESSAGE_BYTES: usize = 60;

/// Largest response time a ring entry holds, in ms (a probe times out long before).
const MAX_ENTRY_MS: u64 = 99_998;
/// A ring entry's response time when the check had none.
const NO_RESPONSE_TIME: u64 = 99_999;

/// What one hour of a day counts: checks, healthy checks, and the sum of the healthy
/// checks' response times (their average is the hour's response time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourTotals {
    pub checks: u64,
    pub up: u64,
    pub up_response_ms: u64,
}

/// `up` and `checks` each take five decimal digits of the packed number, the sum the
/// rest: `sum · 10^10 + checks · 10^5 + up`. Adding packed numbers adds the totals as long
/// as an hour has fewer than 100,000 checks.
const FIELD: u128 = 100_000;

impl HourTotals {
    /// The totals as one number, so that adding numbers adds totals (DynamoDB `ADD`).
    pub fn packed(&self) -> u128 {
        (u128::from(self.up_response_ms) * FIELD + u128::from(self.checks)) * FIELD
            + u128::from(self.up)
    }

    pub fn from_packed(n: u128) -> Self {
        let up = (n % FIELD) as u64;
        let checks = ((n / FIELD) % FIELD) as u64;
        let sum = u64::try_from(n / FIELD / FIELD).unwrap_or(u64::MAX);
        Self {
            checks,
            // Never more healthy checks than checks, whatever was stored.
            up: up.min(checks),
            up_response_ms: sum,
        }
    }

    pub fn add(&mut self, other: &HourTotals) {
        self.checks += other.checks;
        self.up += other.up;
        self.up_response_ms += other.up_response_ms;
    }
}

/// The change one check makes to its connector's day: the one write history costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUpdate {
    pub date: NaiveDate,
    /// The hour (0–23) whose totals grow by `totals`.
    pub hour: usize,
    pub totals: HourTotals,
    /// The ring slot the check takes, and its entry there.
    pub slot: usize,
    pub entry: u64,
    /// The message slot and its (shortened) text, for a failed check.
    pub message: Option<(usize, String)>,
}

impl DayUpdate {
    pub fn of(check: &Check) -> Self {
        let at = check.at;
        let up = check.state == State::Healthy;
        let up_ms = if up {
            check.response_time_ms.unwrap_or(0)
        } else {
            0
        };
        let second = u64::from(at.num_seconds_from_midnight().min(86_399));
        let minute = (second / 60) as usize;
        let (code, message) = match (&check.state, &check.message) {
            (State::Healthy, _) => (0, None),
            (_, text) => {
                let short = shorten(text.as_deref().unwrap_or_default());
                let code = message_code(&short);
                (code, Some((usize::from(code) % MESSAGE_SLOTS, short)))
            }
        };
        let ms = check
            .response_time_ms
            .map_or(NO_RESPONSE_TIME, |ms| ms.min(MAX_ENTRY_MS));
        Self {
            date: at.date_naive(),
            hour: at.hour() as usize,
            totals: HourTotals {
                checks: 1,
                up: u64::from(up),
                up_response_ms: up_ms,
            },
            slot: minute % RECENT_SLOTS,
            entry: (second * 100 + u64::from(code)) * 100_000 + ms,
            message,
        }
    }
}

/// `text` cut to at most [`MAX_MESSAGE_BYTES`] bytes (on a character boundary, ending with
/// `…` when cut), on one line.
pub fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.len() <= MAX_MESSAGE_BYTES {
        return one_line;
    }
    let ellipsis = '…';
    let mut end = MAX_MESSAGE_BYTES - ellipsis.len_utf8();
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &one_line[..end])
}

/// A failed check's message code, 1–99: names the message slot, and tells whether the text
/// now in that slot is still this check's.
pub fn message_code(short_text: &str) -> u8 {
    let digest = Sha256::digest(short_text.as_bytes());
    1 + (u16::from_be_bytes([digest[0], digest[1]]) % 99) as u8
}

/// One connector's UTC day as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub hours: [HourTotals; 24],
    /// Ring entries (see [`DayUpdate::entry`]), by slot.
    pub recent: [Option<u64>; RECENT_SLOTS],
    pub messages: [Option<String>; MESSAGE_SLOTS],
    /// Made up for the local stack's demo, not measured.
    pub demo: bool,
}

impl Day {
    pub fn new(date: NaiveDate) -> Self {
        Self {
            date,
            hours: [HourTotals::default(); 24],
            recent: [None; RECENT_SLOTS],
            messages: Default::default(),
            demo: false,
        }
    }

    /// What the stored item becomes after `update` (which must be for this day).
    pub fn apply(&mut self, update: &DayUpdate) {
        self.hours[update.hour].add(&update.totals);
        self.recent[update.slot] = Some(update.entry);
        if let Some((slot, text)) = &update.message {
            self.messages[*slot] = Some(text.clone());
        }
    }

    /// The day's totals.
    pub fn totals(&self) -> HourTotals {
        let mut all = HourTotals::default();
        for h in &self.hours {
            all.add(h);
        }
        all
    }

    /// The checks in the ring, in no particular order. A failed check's message is
    /// `None` when a later, different message took its slot.
    pub fn checks(&self) -> Vec<Check> {
        self.recent
            .iter()
            .flatten()
            .filter_map(|&entry| self.decode(entry))
            .collect()
    }

    fn decode(&self, entry: u64) -> Option<Check> {
        let ms = entry % 100_000;
        let code = ((entry / 100_000) % 100) as u8;
        let second = entry / 100_000 / 100;
        let midnight = Utc.from_utc_datetime(&self.date.and_hms_opt(0, 0, 0)?);
        let at: DateTime<Utc> = midnight + chrono::Duration::seconds(i64::try_from(second).ok()?);
        if at.date_naive() != self.date {
            return None;
        }
        let (state, message) = if code == 0 {
            (State::Healthy, None)
        } else {
            let text = self.messages[usize::from(code) % MESSAGE_SLOTS]
                .as_ref()
                .filter(|t| message_code(t) == code)
                .cloned();
            (State::Error, text)
        };
        Some(Check {
            at,
            state,
            response_time_ms: (ms != NO_RESPONSE_TIME).then_some(ms),
            message,
        })
    }
}
