//! The API key document stored in Secrets Manager, and how a presented key is judged.
//!
//! The stored document (see docs/api.md) looks like:
//! ```json
//! {"keys": [
//!   {"name": "dashboard", "sha256": "<hex digest>", "grants": ["connector-health"]},
//!   {"name": "ci", "sha256": "<hex digest>", "expires": "2027-01-01T00:00:00Z",
//!    "impersonate": {"user": "ci-bot", "privileges": ["Feeds_View", "Feeds_Manage"]}}
//! ]}
//! ```

use crate::domain::Presented;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The grant that gives direct access to the Connector Health API.
pub const CONNECTOR_HEALTH_GRANT: &str = "connector-health";
/// The ProGet privilege of an impersonated user that gives access to the Connector Health API.
pub const FEEDS_MANAGE: &str = "Feeds_Manage";

/// The key document as stored in the secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDocument {
    pub keys: Vec<KeyEntry>,
}

/// One stored key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyEntry {
    pub name: String,
    /// Lower- or upper-case hex SHA-256 digest of the key (what the tooling writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A plain-text key, accepted for hand-written secrets; digested when loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonate: Option<Impersonation>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("name", &self.name)
            .field("grants", &self.grants)
            .field("impersonate", &self.impersonate)
            .field("disabled", &self.disabled)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The ProGet user a key impersonates, and that user's privileges.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impersonation {
    pub user: String,
    #[serde(default)]
    pub privileges: Vec<String>,
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(Self(out))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

/// Why the key document could not be used. It says where the document is wrong and what
/// kind of error it is, never serde_json's message: that message may quote a value of the
/// document (a key written in the wrong place), which must not reach a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the key secret is not a valid key document ({kind} at line {line}, column {column})")]
    Invalid {
        kind: &'static str,
        line: usize,
        column: usize,
    },
}

impl DocumentError {
    pub fn from_serde(e: &serde_json::Error) -> Self {
        Self::Invalid {
            kind: Self::kind_of(e),
            line: e.line(),
            column: e.column(),
        }
    }

    /// What kind of error serde_json found, without its message.
    pub fn kind_of(e: &serde_json::Error) -> &'static str {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof => "JSON syntax error",
            Category::Data => "wrong shape",
            Category::Io => "read error",
        }
    }
}

/// Parses a key document, with an error that never quotes the document.
pub fn parse_document(text: &str) -> Result<KeyDocument, DocumentError> {
    serde_json::from_str(text).map_err(|e| DocumentError::from_serde(&e))
}

/// An entry of the key document that was left out, and why: its position and name,
/// never its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// 1 for the first entry.
    pub position: usize,
    /// The entry's `name`, when it has a string one.
    pub name: Option<String>,
    pub reason: &'static str,
}

impl fmt::Display for SkippedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "entry {} ({name:?}): {}", self.position, self.reason),
            None => write!(f, "entry {} (no name): {}", self.position, self.reason),
        }
    }
}

/// The document as the functions read it: strict at the top, each entry on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesDocument {
    keys: Vec<serde_json::Value>,
}

/// A loaded key document: each usable entry with its digest.
#[derive(Debug, Default)]
pub struct KeyRing {
    entries: Vec<(KeyDigest, KeyEntry)>,
    skipped: Vec<SkippedEntry>,
}

impl KeyRing {
    /// Parses the secret's text as the functions do. A document that is not a key document
    /// at all is an error; an entry that cannot be used (a wrong shape, such as an `expires`
    /// without a time or `"disabled": "true"`, or no valid digest or key) is skipped with a
    /// warning naming it, and the other keys keep working. The tools that write the
    /// document back use the strict [`parse_document`] instead.
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        let doc: EntriesDocument =
            serde_json::from_str(text).map_err(|e| DocumentError::from_serde(&e))?;
        let mut ring = Self::default();
        for (i, value) in doc.keys.into_iter().enumerate() {
            let name = value
                .get("name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            match serde_json::from_value::<KeyEntry>(value) {
                Ok(entry) => ring.add(i + 1, entry),
                Err(e) => ring.skip(SkippedEntry {
                    position: i + 1,
                    name,
                    reason: DocumentError::kind_of(&e),
                }),
            }
        }
        Ok(ring)
    }

    pub fn from_document(doc: KeyDocument) -> Self {
        let mut ring = Self::default();
        for (i, entry) in doc.keys.into_iter().enumerate() {
            ring.add(i + 1, entry);
        }
        ring
    }

    fn add(&mut self, position: usize, entry: KeyEntry) {
        let digest = match (&entry.sha256, &entry.key) {
            (Some(hex), _) => KeyDigest::from_hex(hex),
            (None, Some(plain)) if !plain.is_empty() => Some(KeyDigest::of(plain)),
            _ => None,
        };
        match digest {
            Some(d) => self.entries.push((d, entry)),
            None => self.skip(SkippedEntry {
                position,
                name: Some(entry.name),
                reason: "no valid sha256 digest or key",
            }),
        }
    }

    fn skip(&mut self, skipped: SkippedEntry) {
        tracing::warn!(entry = %skipped, "skipping an API key entry that cannot be used");
        self.skipped.push(skipped);
    }

    /// The entries left out, in document order.
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finds the entry with this digest. Every entry is compared in constant time,
    /// so the time taken does not depend on which entry (if any) matched.
    pub fn find(&self, digest: &KeyDigest) -> Option<&KeyEntry> {
        let mut found = None;
        for (d, entry) in &self.entries {
            let hit = d.ct_eq(digest);
            if hit && found.is_none() {
                found = Some(entry);
            }
        }
        found
    }
}

impl KeyEntry {
    /// Whether this entry lets its bearer read connector health at `now`.
    pub fn allows_connector_health(&self, now: DateTime<Utc>) -> bool {
        if self.disabled || self.expires.is_some_and(|e| e <= now) {
            return false;
        }
        self.grants.iter().any(|g| g == CONNECTOR_HEALTH_GRANT)
            || self
                .impersonate
                .as_ref()
                .is_some_and(|i| i.privileges.iter().any(|p| p == FEEDS_MANAGE))
    }
}

impl Presented {
    /// The digest of the presented key, if there is one.
    pub fn digest(&self) -> Option<KeyDigest> {
        match self {
            Presented::Key(k) => Some(KeyDigest::of(k.expose_secret())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn debug_never_shows_a_key() {
        let mut headers = HeaderMap::new();
        headers.insert("x-apikey", http::HeaderValue::from_static("super-secret"));
        let p = Presented::from_parts(&headers, []);
        assert!(!format!("{p:?}").contains("super-secret"));
        let ring = KeyRing::parse(r#"{"keys":[{"name":"n","key":"super-secret"}]}"#).unwrap();
        assert!(!format!("{ring:?}").contains("super-secret"));
    }

    fn entry(json: &str) -> KeyEntry {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn grants_privilege_disabled_and_expiry_decide_access() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(
            entry(r#"{"name":"a","key":"x","grants":["connector-health"]}"#)
                .allows_connector_health(now)
        );
        assert!(entry(
            r#"{"name":"a","key":"x","impersonate":{"user":"u","privileges":["Feeds_View","Feeds_Manage"]}}"#
        )
        .allows_connector_health(now));
        assert!(!entry(
            r#"{"name":"a","key":"x","impersonate":{"user":"u","privileges":["Feeds_View"]}}"#
        )
        .allows_connector_health(now));
        assert!(!entry(r#"{"name":"a","key":"x","grants":["feeds"]}"#).allows_connector_health(now));
        assert!(!entry(r#"{"name":"a","key":"x"}"#).allows_connector_health(now));
        assert!(
            !entry(r#"{"name":"a","key":"x","grants":["connector-health"],"disabled":true}"#)
                .allows_connector_health(now)
        );
        assert!(!entry(
            r#"{"name":"a","key":"x","grants":["connector-health"],"expires":"2026-06-01T00:00:00Z"}"#
        )
        .allows_connector_health(now));
        assert!(entry(
            r#"{"name":"a","key":"x","grants":["connector-health"],"expires":"2026-06-01T00:00:01Z"}"#
        )
        .allows_connector_health(now));
    }

    #[test]
    fn ring_matches_digests_and_plain_keys_and_skips_broken_entries() {
        let digest = KeyDigest::of("digested").to_hex().to_uppercase();
        let ring = KeyRing::parse(&format!(
            r#"{{"keys":[{{"name":"d","sha256":"{digest}"}},{{"name":"p","key":"plain"}},{{"name":"bad","sha256":"zz"}},{{"name":"none"}}]}}"#
        ))
        .unwrap();
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.find(&KeyDigest::of("digested")).unwrap().name, "d");
        assert_eq!(ring.find(&KeyDigest::of("plain")).unwrap().name, "p");
        assert!(ring.find(&KeyDigest::of("other")).is_none());
        assert_eq!(
            ring.skipped()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "entry 3 (\"bad\"): no valid sha256 digest or key",
                "entry 4 (\"none\"): no valid sha256 digest or key"
            ]
        );
        assert!(KeyRing::parse("not json").is_err());
        // An entry with an unknown field is left out; the tools refuse the document whole.
        let typo = r#"{"keys":[{"name":"x","key":"k","typo":1}]}"#;
        let ring = KeyRing::parse(typo).unwrap();
        assert!(ring.is_empty());
        assert_eq!(ring.skipped().len(), 1);
        assert!(parse_document(typo).is_err());
    }

    #[test]
    fn document_errors_never_quote_the_document() {
        for text in [
            r#"{"keys":["sup3r-s3cret-key"]}"#,
            r#""sup3r-s3cret-key""#,
            r#"{"keys":[{"name":"x","sup3r-s3cret-key":1}]}"#,
            r#"{"keys":[{"name":"x","key":sup3r-s3cret-key}]}"#,
        ] {
            // The strict reading (the tools) refuses each, without quoting it.
            let e = parse_document(text).unwrap_err().to_string();
            assert!(!e.contains("sup3r"), "{e}");
            assert!(e.contains("line 1"), "{e}");
            // The functions' reading refuses it or skips the entry, without quoting it.
            let said = match KeyRing::parse(text) {
                Err(e) => e.to_string(),
                Ok(ring) => {
                    assert!(ring.is_empty(), "{text}");
                    format!("{:?} {:?}", ring, ring.skipped())
                }
            };
            assert!(!said.contains("sup3r"), "{said}");
        }
    }

    #[test]
    fn one_malformed_entry_is_skipped_by_name_and_the_rest_keep_working() {
        let good = KeyDigest::of("good-key").to_hex();
        let ring = KeyRing::parse(&format!(
            r#"{{"keys":[
                {{"name":"no-time","key":"sup3r-s3cret-1","grants":["connector-health"],"expires":"2026-12-31"}},
                {{"name":"string-flag","key":"sup3r-s3cret-2","grants":["connector-health"],"disabled":"true"}},
                {{"name":"good","sha256":"{good}","grants":["connector-health"]}},
                "sup3r-s3cret-3"
            ]}}"#
        ))
        .unwrap();
        assert_eq!(ring.len(), 1);
        assert_eq!(ring.find(&KeyDigest::of("good-key")).unwrap().name, "good");
        let skipped: Vec<String> = ring.skipped().iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "entry 1 (\"no-time\"): wrong shape",
                "entry 2 (\"string-flag\"): wrong shape",
                "entry 4 (no name): wrong shape",
            ]
        );
        assert!(skipped.iter().all(|s| !s.contains("sup3r")), "{skipped:?}");
        // The tools, which write the document back, still refuse it whole.
        assert!(
            parse_document(r#"{"keys":[{"name":"x","key":"k","expires":"2026-12-31"}]}"#).is_err()
        );
    }
}
