//! A connector's credentials on the wire: which headers carry them, how a refusal is
//! named, and the Docker registry token flow.
//!
//! Credentials are sent only to the connector's own origin (scheme, host and port; see
//! `client::fetch`), and to a Docker registry's token service only where the registry's
//! challenge names one on HTTPS or on the connector's own origin.

use super::client::{basic, basic_auth, sensitive, Auth};
use super::feeds::{Check, Plan};
use crate::domain::redact::hides_something;
use crate::domain::{Credentials, Secret};
use crate::probe::outcome::{Failure, FailureKind};
use http::header::{HeaderName, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

/// What the connector authenticates with.
pub(super) enum Using {
    /// Its own credentials (from Secrets Manager).
    Own(Credentials),
    /// Credentials in its URL (user-info or a secret query value).
    InUrl,
    /// None.
    Nothing,
}

impl Using {
    pub fn of(own: Option<Credentials>, url: &str) -> Self {
        match own {
            Some(c) => Using::Own(c),
            None if hides_something(url) => Using::InUrl,
            None => Using::Nothing,
        }
    }

    /// The headers to send to the connector's origin.
    pub fn auth(&self, url: &Url) -> Result<Auth, Failure> {
        let unusable = || {
            Failure::new(
                FailureKind::Credentials,
                "The connector's credentials cannot be sent in an HTTP header.",
            )
        };
        Ok(match self {
            Using::Own(c) => match &c.secret {
                Secret::Basic { username, password } => {
                    vec![(
                        AUTHORIZATION,
                        basic(username, password.expose_secret()).ok_or_else(unusable)?,
                    )]
                }
                Secret::Bearer { token } => vec![(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose_secret())).ok_or_else(unusable)?,
                )],
                Secret::Header { name, value } => vec![(
                    HeaderName::from_bytes(name.as_bytes()).map_err(|_| unusable())?,
                    sensitive(value.expose_secret()).ok_or_else(unusable)?,
                )],
            },
            Using::InUrl | Using::Nothing => basic_auth(url)
                .map(|v| vec![(AUTHORIZATION, v)])
                .unwrap_or_default(),
        })
    }
}

/// `Credentials were rejected by HOST (HTTP 401): ...`
pub(super) fn rejected(host: &str) -> Failure {
    Failure::new(
        FailureKind::HttpStatus,
        format!("Credentials were rejected by {host} (HTTP 401): the connector's user name, password or token is wrong or expired."),
    )
}

/// How a 401 or 403 is named, before the feed type's own judgement: `None` leaves it to
/// the feed type (a Docker registry's challenge to a connector without credentials is a
/// healthy answer). Credentials kept in the URL are named as the connector's own are.
pub(super) fn access(
    plan: &Plan,
    using: &Using,
    status: StatusCode,
    host: &str,
    elsewhere: Option<&Url>,
) -> Option<Result<(), Failure>> {
    match (status, using, elsewhere) {
        // Refused by another origin, which never saw the credentials.
        (
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN,
            Using::Own(_) | Using::InUrl,
            Some(other),
        ) => Some(Err(Failure::new(
            FailureKind::HttpStatus,
            format!(
                "Redirected to {} (another origin), which answered {}; the connector's credentials are sent only to its own origin.",
                authority(other),
                super::client::status_text(status)
            ),
        ))),
        (StatusCode::UNAUTHORIZED, Using::Own(_) | Using::InUrl, _) => Some(Err(rejected(host))),
        (StatusCode::FORBIDDEN, Using::Own(_) | Using::InUrl, _) => Some(Err(Failure::new(
            FailureKind::HttpStatus,
            "The connector's credentials may not read this feed (HTTP 403).",
        ))),
        (StatusCode::UNAUTHORIZED, Using::Nothing, _) if plan.check != Check::DockerV2 => {
            Some(Err(Failure::new(
                FailureKind::HttpStatus,
                format!("{host} requires credentials (HTTP 401) and the connector has none."),
            )))
        }
        _ => None,
    }
}

/// `host`, or `host:port` when the URL names a port: enough to tell another origin from
/// the connector's own.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// A Docker registry's `WWW-Authenticate: Bearer realm=...,service=...,scope=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BearerChallenge {
    pub realm: Url,
    pub params: Vec<(String, String)>,
}

/// The token flow applies: a Docker `/v2/` check refused with a Bearer challenge, and the
/// connector has Basic credentials to ask the token service with (its own, or in its URL).
pub(super) fn docker_challenge(
    plan: &Plan,
    using: &Using,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<BearerChallenge> {
    if plan.check != Check::DockerV2 || status != StatusCode::UNAUTHORIZED {
        return None;
    }
    match using {
        Using::Own(Credentials {
            secret: Secret::Basic { .. },
            ..
        })
        | Using::InUrl => {}
        Using::Own(_) | Using::Nothing => return None,
    }
    parse_bearer(headers.get(WWW_AUTHENTICATE)?.to_str().ok()?)
}

/// Parses `Bearer k="v",k2="v2"` (quoted or bare values).
fn parse_bearer(text: &str) -> Option<BearerChallenge> {
    let (scheme, rest) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((key.trim().to_ascii_lowercase(), value.to_owned()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .and_then(|(_, v)| Url::parse(v).ok())?;
    params.retain(|(k, _)| k == "service" || k == "scope");
    Some(BearerChallenge { realm, params })
}

impl BearerChallenge {
    /// The token request's URL, when the connector's credentials may be sent there: on
    /// HTTPS, or on the connector's own origin.
    pub fn token_url(&self, connector: &Url) -> Result<Url, Failure> {
        if self.realm.scheme() != "https" && self.realm.origin() != connector.origin() {
            return Err(Failure::new(
                FailureKind::Credentials,
                format!(
                    "The registry's token service at {} is not on HTTPS, so the connector's credentials are not sent to it.",
                    self.realm.host_str().unwrap_or("?")
                ),
            ));
        }
        let mut url = self.realm.clone();
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in &self.params {
                query.append_pair(k, v);
            }
        }
        Ok(url)
    }
}

/// The token in a token service's JSON answer (`token`, or OAuth's `access_token`).
pub(super) fn token_of(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| json.get(k)?.as_str().filter(|t| !t.is_empty()))
        .map(str::to_owned)
}

/// `Authorization: Bearer TOKEN`.
pub(super) fn bearer(token: &str) -> Result<Auth, Failure> {
    sensitive(&format!("Bearer {token}"))
        .map(|v| vec![(AUTHORIZATION, v)])
        .ok_or_else(|| {
            Failure::new(
                FailureKind::UnexpectedResponse,
                "The registry's token service answered a token that cannot be sent.",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_is_read_with_quoted_or_bare_values() {
        let c = parse_bearer(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(c.realm.as_str(), "https://auth.example/token");
        assert_eq!(
            c.params,
            [
                ("service".to_owned(), "registry.example".to_owned()),
                ("scope".to_owned(), "repository:a/b:pull".to_owned())
            ]
        );
        let bare = parse_bearer("bearer realm=https://a.example/t, service=s").unwrap();
        assert_eq!(bare.params, [("service".to_owned(), "s".to_owned())]);
        assert_eq!(parse_bearer(r#"Basic realm="x""#), None);
        assert_eq!(parse_bearer(r#"Bearer service="s""#), None, "no realm");
    }

    #[test]
    fn the_token_service_must_be_on_https_or_the_connectors_origin() {
        let c = parse_bearer(r#"Bearer realm="http://auth.example/token",service="r""#).unwrap();
        let connector = Url::parse("https://registry.example/v2/").unwrap();
        let e = c.token_url(&connector).unwrap_err();
        assert_eq!(e.kind, FailureKind::Credentials);
        let same = parse_bearer(r#"Bearer realm="http://127.0.0.1:5000/token",service="r""#)
            .unwrap()
            .token_url(&Url::parse("http://127.0.0.1:5000/v2/").unwrap())
            .unwrap();
        assert_eq!(same.as_str(), "http://127.0.0.1:5000/token?service=r");
        assert_eq!(token_of(br#"{"token":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(token_of(br#"{"access_token":"x"}"#).as_deref(), Some("x"));
        assert_eq!(token_of(br#"{"token":""}"#), None);
    }
}
