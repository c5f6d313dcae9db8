//! A connector's own credentials in the prober's tests: held in memory as the probe holds
//! what it read from Secrets Manager, for connector 1.

use crate::registry::loopback_prober;
use shared::adapters::http_prober::HttpProber;
use shared::adapters::memory::InMemoryCredentials;
use shared::domain::{ConnectorId, Credentials, CredentialsRef, FeedType, Secret};
use shared::ports::Prober;
use shared::probe::outcome::ProbeOutcome;
use shared::probe::target::ProbeTarget;
use std::sync::Arc;
use std::time::Duration;

/// A user name and a password or token.
pub fn basic(user: &str, password: &str) -> Credentials {
    Credentials {
        secret: Secret::Basic {
            username: user.into(),
            password: password.to_owned().into(),
        },
        expire_at: None,
    }
}

/// A bearer token.
pub fn bearer(token: &str) -> Credentials {
    Credentials {
        secret: Secret::Bearer {
            token: token.to_owned().into(),
        },
        expire_at: None,
    }
}

/// A named header and its value.
pub fn header(name: &str, value: &str) -> Credentials {
    Credentials {
        secret: Secret::Header {
            name: name.into(),
            value: value.to_owned().into(),
        },
        expire_at: None,
    }
}

/// A loopback prober holding `credentials` as connector 1's, and the reference to put on
/// its target.
pub fn prober_with(credentials: Option<Credentials>) -> (HttpProber, Option<CredentialsRef>) {
    let Some(c) = credentials else {
        return (loopback_prober(), None);
    };
    let at = CredentialsRef {
        secret_id: "connector-health/t/connector/1".into(),
        kind: c.secret.kind(),
        expire_at: None,
    };
    let held = InMemoryCredentials::default().with(&at, c);
    (loopback_prober().with_credentials(Arc::new(held)), Some(at))
}

/// Connector 1 at `url`, probed with `credentials` as its own and `package` as its probe
/// package.
pub async fn probe(
    url: &str,
    feed: FeedType,
    package: Option<&str>,
    credentials: Option<Credentials>,
    timeout: Duration,
) -> ProbeOutcome {
    let (prober, at) = prober_with(credentials);
    let mut target = ProbeTarget::new(ConnectorId::new(1).unwrap(), url, feed);
    target.credentials = at;
    target.package = package.map(Into::into);
    prober.probe(&target, timeout).await
}
