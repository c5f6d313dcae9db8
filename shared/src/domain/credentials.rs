//! A connector's own credentials for a private feed: what kinds there are, the secret
//! document that holds them (in Secrets Manager, never in the table) and the reference
//! the table row keeps instead.
//!
//! The secret parts are [`SecretString`]s: `Debug` prints `[REDACTED]` in their place, and
//! nothing here implements `Display` or `Serialize` for them except the secret document
//! itself ([`Credentials::to_document`]), which only the credential store writes.

use super::time::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The three kinds of credentials a connector may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialsKind {
    /// A user name and a password or token, sent as `Authorization: Basic`.
    Basic,
    /// A token sent as `Authorization: Bearer`.
    Bearer,
    /// A named header and its value (e.g. `X-JFrog-Art-Api`).
    Header,
}

impl CredentialsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialsKind::Basic => "basic",
            CredentialsKind::Bearer => "bearer",
            CredentialsKind::Header => "header",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "basic" => Some(CredentialsKind::Basic),
            "bearer" => Some(CredentialsKind::Bearer),
            "header" => Some(CredentialsKind::Header),
            _ => None,
        }
    }
}

/// The secret part of a connector's credentials.
#[derive(Debug, Clone)]
pub enum Secret {
    Basic {
        username: String,
        password: SecretString,
    },
    Bearer {
        token: SecretString,
    },
    Header {
        name: String,
        value: SecretString,
    },
}

impl Secret {
    pub fn kind(&self) -> CredentialsKind {
        match self {
            Secret::Basic { .. } => CredentialsKind::Basic,
            Secret::Bearer { .. } => CredentialsKind::Bearer,
            Secret::Header { .. } => CredentialsKind::Header,
        }
    }
}

/// A connector's credentials: the secret and when it expires, if it does.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret: Secret,
    pub expire_at: Option<DateTime<Utc>>,
}

/// Why credentials cannot be stored or a stored secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("the user name is empty")]
    EmptyUsername,
    #[error("the user name may not contain ':' (Basic authentication separates it from the password with one)")]
    ColonInUsername,
    #[error("the {0} is empty")]
    EmptySecret(&'static str),
    #[error("the {0} may not contain a line break or a control character")]
    ControlCharacter(&'static str),
    #[error("{0:?} is not a valid HTTP header name")]
    HeaderName(String),
    #[error("the header {0:?} is set by the probe itself and cannot carry credentials")]
    ReservedHeader(String),
    #[error("the stored credentials document is malformed")]
    Malformed,
}

/// Headers the probe sets itself (or that would change how the request is framed).
const RESERVED_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "accept",
    "accept-encoding",
    "te",
];

fn check_value(what: &'static str, value: &str) -> Result<(), CredentialsError> {
    if value.is_empty() {
        return Err(CredentialsError::EmptySecret(what));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(CredentialsError::ControlCharacter(what));
    }
    Ok(())
}

impl Credentials {
    /// Checks that the credentials can be sent on an HTTP request as their kind says.
    pub fn check(&self) -> Result<(), CredentialsError> {
        match &self.secret {
            Secret::Basic { username, password } => {
                if username.is_empty() {
                    return Err(CredentialsError::EmptyUsername);
                }
                if username.contains(':') {
                    return Err(CredentialsError::ColonInUsername);
                }
                if username.chars().any(|c| c.is_control()) {
                    return Err(CredentialsError::ControlCharacter("user name"));
                }
                // An empty password is allowed: a token given as the user name (as npm
                // registries such as Gemfury take it) is sent as Basic with none.
                let password = password.expose_secret();
                if password.chars().any(|c| c.is_control()) {
                    return Err(CredentialsError::ControlCharacter("password"));
                }
                Ok(())
            }
            Secret::Bearer { token } => check_value("token", token.expose_secret()),
            Secret::Header { name, value } => {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(CredentialsError::HeaderName(name.clone()));
                }
                if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    return Err(CredentialsError::ReservedHeader(name.clone()));
                }
                check_value("header value", value.expose_secret())
            }
        }
    }

    /// The secret document (JSON) the credential store keeps.
    pub fn to_document(&self) -> SecretString {
        let (username, password, token, header, value) = match &self.secret {
            Secret::Basic { username, password } => {
                (Some(username.as_str()), Some(password), None, None, None)
            }
            Secret::Bearer { token } => (None, None, Some(token), None, None),
            Secret::Header { name, value } => (None, None, None, Some(name.as_str()), Some(value)),
        };
        let doc = Document {
            kind: self.secret.kind().as_str(),
            username,
            password: password.map(|s| s.expose_secret()),
            token: token.map(|s| s.expose_secret()),
            header,
            value: value.map(|s| s.expose_secret()),
            expire_at: self.expire_at.as_ref().map(format_timestamp),
        };
        // A struct of strings always serializes.
        SecretString::from(serde_json::to_string(&doc).unwrap_or_default())
    }

    /// Reads a secret document as [`Self::to_document`] writes it.
    pub fn from_document(text: &SecretString) -> Result<Self, CredentialsError> {
        let doc: OwnedDocument = serde_json::from_str(text.expose_secret())
            // serde's message may quote the document: not passed on.
            .map_err(|_| CredentialsError::Malformed)?;
        let secret = match CredentialsKind::parse(&doc.kind).ok_or(CredentialsError::Malformed)? {
            CredentialsKind::Basic => Secret::Basic {
                username: doc.username.ok_or(CredentialsError::Malformed)?,
                password: doc.password.ok_or(CredentialsError::Malformed)?.into(),
            },
            CredentialsKind::Bearer => Secret::Bearer {
                token: doc.token.ok_or(CredentialsError::Malformed)?.into(),
            },
            CredentialsKind::Header => Secret::Header {
                name: doc.header.ok_or(CredentialsError::Malformed)?,
                value: doc.value.ok_or(CredentialsError::Malformed)?.into(),
            },
        };
        let expire_at = match doc.expire_at {
            Some(t) => Some(parse_timestamp(&t).ok_or(CredentialsError::Malformed)?),
            None => None,
        };
        let credentials = Self { secret, expire_at };
        credentials
            .check()
            .map_err(|_| CredentialsError::Malformed)?;
        Ok(credentials)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnedDocument {
    kind: String,
    username: Option<String>,
    password: Option<String>,
    token: Option<String>,
    header: Option<String>,
    value: Option<String>,
    expire_at: Option<String>,
}

/// What a table row keeps about a connector's credentials: where the secret is, its kind
/// and its expiry. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsRef {
    /// The secret's name in Secrets Manager.
    pub secret_id: String,
    pub kind: CredentialsKind,
    pub expire_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials {
            secret: Secret::Basic {
                username: user.into(),
                password: password.to_owned().into(),
            },
            expire_at: None,
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_document() {
        let expiry = Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap();
        let all = [
            Credentials {
                expire_at: Some(expiry),
                ..basic("ci", "p@ss:word")
            },
            Credentials {
                secret: Secret::Bearer {
                    token: "tok-123".to_owned().into(),
                },
                expire_at: None,
            },
            Credentials {
                secret: Secret::Header {
                    name: "X-JFrog-Art-Api".into(),
                    value: "AKCp8".to_owned().into(),
                },
                expire_at: Some(expiry),
            },
        ];
        for c in all {
            let back = Credentials::from_document(&c.to_document()).unwrap();
            assert_eq!(back.secret.kind(), c.secret.kind());
            assert_eq!(back.expire_at, c.expire_at);
            assert_eq!(
                back.to_document().expose_secret(),
                c.to_document().expose_secret()
            );
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials {
            secret: Secret::Header {
                name: "X-Api".into(),
                value: "hunter2-value".to_owned().into(),
            },
            expire_at: None,
        };
        let shown = format!(
            "{c:?} {:?} {:?}",
            basic("u", "hunter2-pass"),
            c.to_document()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn unusable_credentials_are_refused_with_a_reason() {
        assert_eq!(basic("", "p").check(), Err(CredentialsError::EmptyUsername));
        assert_eq!(
            basic("a:b", "p").check(),
            Err(CredentialsError::ColonInUsername)
        );
        // A token as the user name goes with an empty password.
        assert_eq!(basic("T0ken", "").check(), Ok(()));
        assert_eq!(
            basic("u", "line\nbreak").check(),
            Err(CredentialsError::ControlCharacter("password"))
        );
        let header = |name: &str| Credentials {
            secret: Secret::Header {
                name: name.into(),
                value: "v".to_owned().into(),
            },
            expire_at: None,
        };
        assert!(header("X-JFrog-Art-Api").check().is_ok());
        assert_eq!(
            header("bad header").check(),
            Err(CredentialsError::HeaderName("bad header".into()))
        );
        assert_eq!(
            header("Host").check(),
            Err(CredentialsError::ReservedHeader("Host".into()))
        );
    }

    #[test]
    fn a_malformed_document_says_so_without_quoting_it() {
        for text in [
            "not json secret-part",
            r#"{"kind":"basic","username":"u"}"#,
            r#"{"kind":"other","token":"t"}"#,
            r#"{"kind":"bearer","token":"t","expireAt":"soon"}"#,
        ] {
            let err = Credentials::from_document(&text.to_owned().into()).unwrap_err();
            assert_eq!(err, CredentialsError::Malformed);
            assert!(!err.to_string().contains("secret-part"));
        }
    }
}
