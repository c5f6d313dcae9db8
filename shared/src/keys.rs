//! API keys: the document stored in Secrets Manager, how a request presents a key,
//! and how a presented key is judged.
//!
//! The stored document (see the README) looks like:
//! ```json
//! {"keys": [
//!   {"name": "dashboard", "sha256": "<hex digest>", "grants": ["connector-health"]},
//!   {"name": "ci", "sha256": "<hex digest>", "expires": "2027-01-01T00:00:00Z",
//!    "impersonate": {"user": "ci-bot", "privileges": ["Feeds_View", "Feeds_Manage"]}}
//! ]}
//! ```

use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The grant that gives direct access to the Connector Health API.
pub const CONNECTOR_HEALTH_GRANT: &str = "connector-health";
/// The ProGet privilege of an impersonated user that gives access to the Connector Health API.
pub const FEEDS_MANAGE: &str = "Feeds_Manage";
/// The user name that HTTP Basic authentication must use to pass an API key.
pub const BASIC_USER: &str = "api";

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
        use serde_json::error::Category;
        Self::Invalid {
            kind: match e.classify() {
                Category::Syntax | Category::Eof => "JSON syntax error",
                Category::Data => "wrong shape",
                Category::Io => "read error",
            },
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Parses a key document, with an error that never quotes the document.
pub fn parse_document(text: &str) -> Result<KeyDocument, DocumentError> {
    serde_json::from_str(text).map_err(|e| DocumentError::from_serde(&e))
}

/// A loaded key document: each usable entry with its digest.
#[derive(Debug, Default)]
pub struct KeyRing {
    entries: Vec<(KeyDigest, KeyEntry)>,
}

impl KeyRing {
    /// Parses the secret's text. Entries with neither a valid digest nor a key are skipped
    /// with a warning naming the entry (never its value).
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        let doc = parse_document(text)?;
        Ok(Self::from_document(doc))
    }

    pub fn from_document(doc: KeyDocument) -> Self {
        let entries = doc
            .keys
            .into_iter()
            .filter_map(|entry| {
                let digest = match (&entry.sha256, &entry.key) {
                    (Some(hex), _) => KeyDigest::from_hex(hex),
                    (None, Some(plain)) if !plain.is_empty() => Some(KeyDigest::of(plain)),
                    _ => None,
                };
                match digest {
                    Some(d) => Some((d, entry)),
                    None => {
                        tracing::warn!(key_name = %entry.name, "skipping API key entry without a valid sha256 digest or key");
                        None
                    }
                }
            })
            .collect();
        Self { entries }
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

/// What a request presented, after reconciling the three ways a key may be passed.
pub enum Presented {
    /// No key at all.
    Missing,
    /// Keys were given in several places and they differ, or Basic authentication
    /// was used with another user name than `api`, or its header was malformed.
    Invalid,
    /// One key (possibly given in several places that agree).
    Key(SecretString),
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Presented::Missing => "Missing",
            Presented::Invalid => "Invalid",
            Presented::Key(_) => "Key(..)",
        })
    }
}

impl Presented {
    /// Collects the key from the `X-ApiKey` header(s), the `key` query-string
    /// parameter(s) and HTTP Basic authentication (user `api`, key as password).
    /// Empty values count as absent. All given values must be equal.
    pub fn from_parts<'a>(
        headers: &HeaderMap,
        query_keys: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut candidates: Vec<String> = Vec::new();
        for value in headers.get_all("x-apikey") {
            match value.to_str() {
                Ok(v) if !v.trim().is_empty() => candidates.push(v.trim().to_owned()),
                Ok(_) => {}
                Err(_) => return Presented::Invalid,
            }
        }
        for value in query_keys {
            if !value.is_empty() {
                candidates.push(value.to_owned());
            }
        }
        for value in headers.get_all(http::header::AUTHORIZATION) {
            match basic_api_key(value.as_bytes()) {
                BasicKey::NotBasic => {}
                BasicKey::Invalid => return Presented::Invalid,
                BasicKey::Key(k) if k.is_empty() => {}
                BasicKey::Key(k) => candidates.push(k),
            }
        }
        let Some(first) = candidates.first() else {
            return Presented::Missing;
        };
        if candidates.iter().any(|c| c != first) {
            return Presented::Invalid;
        }
        Presented::Key(SecretString::from(first.clone()))
    }

    /// The digest of the presented key, if there is one.
    pub fn digest(&self) -> Option<KeyDigest> {
        match self {
            Presented::Key(k) => Some(KeyDigest::of(k.expose_secret())),
            _ => None,
        }
    }
}

enum BasicKey {
    NotBasic,
    Invalid,
    Key(String),
}

fn basic_api_key(value: &[u8]) -> BasicKey {
    let Ok(text) = std::str::from_utf8(value) else {
        return BasicKey::Invalid;
    };
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once(' ') else {
        return if text.eq_ignore_ascii_case("basic") {
            BasicKey::Invalid
        } else {
            BasicKey::NotBasic
        };
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return BasicKey::NotBasic;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
        return BasicKey::Invalid;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return BasicKey::Invalid;
    };
    match decoded.split_once(':') {
        Some((user, key)) if user.eq_ignore_ascii_case(BASIC_USER) => BasicKey::Key(key.to_owned()),
        _ => BasicKey::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    fn key_of(p: Presented) -> Option<String> {
        match p {
            Presented::Key(k) => Some(k.expose_secret().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn each_source_alone_presents_the_key() {
        assert_eq!(
            key_of(Presented::from_parts(&headers(&[("X-ApiKey", "k1")]), [])),
            Some("k1".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(&headers(&[("x-apikey", "k1")]), [])),
            Some("k1".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(&HeaderMap::new(), ["k2"])),
            Some("k2".into())
        );
        assert_eq!(
            key_of(Presented::from_parts(
                &headers(&[("Authorization", &basic("api", "k3:with:colons"))]),
                []
            )),
            Some("k3:with:colons".into())
        );
    }

    #[test]
    fn nothing_or_empty_values_are_missing() {
        assert!(matches!(
            Presented::from_parts(&HeaderMap::new(), []),
            Presented::Missing
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "")]), [""]),
            Presented::Missing
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("Authorization", "Bearer abc")]), []),
            Presented::Missing
        ));
    }

    #[test]
    fn sources_that_agree_are_accepted_and_disagreement_is_invalid() {
        let h = headers(&[("X-ApiKey", "k"), ("Authorization", &basic("api", "k"))]);
        assert_eq!(key_of(Presented::from_parts(&h, ["k"])), Some("k".into()));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "a")]), ["b"]),
            Presented::Invalid
        ));
        assert!(matches!(
            Presented::from_parts(&headers(&[("X-ApiKey", "a"), ("X-ApiKey", "b")]), []),
            Presented::Invalid
        ));
        assert!(matches!(
            Presented::from_parts(&HeaderMap::new(), ["a", "b"]),
            Presented::Invalid
        ));
        let h = headers(&[("X-ApiKey", "a"), ("Authorization", &basic("api", "b"))]);
        assert!(matches!(Presented::from_parts(&h, []), Presented::Invalid));
    }

    #[test]
    fn basic_with_another_user_or_garbage_is_invalid() {
        for value in [
            basic("admin", "k"),
            "Basic !!!notbase64".to_owned(),
            "Basic".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("no-colon")
            ),
        ] {
            assert!(
                matches!(
                    Presented::from_parts(&headers(&[("Authorization", &value)]), []),
                    Presented::Invalid
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn debug_never_shows_a_key() {
        let p = Presented::from_parts(&headers(&[("X-ApiKey", "super-secret")]), []);
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
        assert!(KeyRing::parse("not json").is_err());
        assert!(KeyRing::parse(r#"{"keys":[{"name":"x","key":"k","typo":1}]}"#).is_err());
    }

    #[test]
    fn document_errors_never_quote_the_document() {
        for text in [
            r#"{"keys":["sup3r-s3cret-key"]}"#,
            r#""sup3r-s3cret-key""#,
            r#"{"keys":[{"name":"x","sup3r-s3cret-key":1}]}"#,
            r#"{"keys":[{"name":"x","key":sup3r-s3cret-key}]}"#,
        ] {
            let e = KeyRing::parse(text).unwrap_err().to_string();
            assert!(!e.contains("sup3r"), "{e}");
            assert!(e.contains("line 1"), "{e}");
        }
    }
}
