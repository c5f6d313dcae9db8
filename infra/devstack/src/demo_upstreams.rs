//! The upstream registries `chadmin dev` starts in-process on 127.0.0.1 (ports the kernel
//! picks), so the prober has something real to find in every state. They are testkit's
//! fake registry ([`testkit::registry`]) and demo CA ([`testkit::pki`]):
//!
//! - one registry answering like the real thing for each feed type (one demo connector
//!   per entry of [`FEEDS`]), and a generic feed over HTTPS with a valid certificate (so
//!   its expiry is recorded);
//! - one that accepts connections and never answers;
//! - a port that refuses connections (bound, then closed);
//! - HTTPS with an expired certificate, and HTTPS with a certificate for another host;
//! - one that answers 503;
//! - a private npm registry (packages only with credentials, [`private_npm`]), with three
//!   connectors: one given the right credentials, one wrong ones, and one none (with a
//!   probe package, so that the probe asks for a package, not the public ping).
//!
//! The prober trusts the demo CA alongside the system roots ([`client_tls`]). Everything
//! stops when [`DemoUpstreams`] is dropped.

use chadmin::error::{AdminError, Result};
use shared::domain::{Credentials, FeedType, Secret};
use std::sync::Arc;
use testkit::pki::{Date, DemoPki};
use testkit::registry::{
    feeds, private_npm, refused_port, Action, FakeRegistry, FEEDS, GENERIC, UNAVAILABLE,
};

/// The day the expired demo certificate expired (00:00 UTC).
pub const EXPIRED_ON: Date = (2020, 1, 1);
/// The only name the wrong-host demo certificate is valid for.
pub const OTHER_HOST: &str = "registry.example.com";
/// The validity of the demo's good certificates.
const VALID: (Date, Date) = ((2020, 1, 1), (2099, 12, 31));

/// The user name of the demo private registry.
pub const PRIVATE_USER: &str = "demo-ci";

/// A demo connector: the row `chadmin dev` registers for one upstream.
#[derive(Debug, Clone)]
pub struct DemoConnector {
    pub name: String,
    pub url: String,
    pub feed_type: FeedType,
    /// Its probe package (`--package`).
    pub package: Option<String>,
    /// Its own credentials, stored as `chadmin connectors add --username ...` stores them.
    pub credentials: Option<Credentials>,
}

/// Basic credentials of [`PRIVATE_USER`].
fn demo_basic(password: String) -> Option<Credentials> {
    Some(Credentials {
        secret: Secret::Basic {
            username: PRIVATE_USER.to_owned(),
            password: password.into(),
        },
        expire_at: None,
    })
}

/// The running upstreams and the connectors that point at them.
pub struct DemoUpstreams {
    connectors: Vec<DemoConnector>,
    pki: DemoPki,
    _servers: Vec<FakeRegistry>,
}

impl std::fmt::Debug for DemoUpstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoUpstreams")
            .field("connectors", &self.connectors)
            .finish_non_exhaustive()
    }
}

fn io_error(what: &str, e: impl std::fmt::Display) -> AdminError {
    AdminError::Io(format!("demo upstreams: {what}: {e}"))
}

/// A registry on 127.0.0.1, over TLS when `tls` is given.
async fn start(
    tls: Option<tokio_rustls::TlsAcceptor>,
    route: impl Fn(&testkit::registry::Request) -> Action + Send + Sync + 'static,
) -> Result<FakeRegistry> {
    FakeRegistry::serve(tls, route)
        .await
        .map_err(|e| io_error("cannot listen on 127.0.0.1", e))
}

impl DemoUpstreams {
    /// Starts every upstream; returns once all of them accept connections.
    pub async fn start() -> Result<Self> {
        let pki = DemoPki::new("connector-health demo CA")
            .map_err(|e| io_error("cannot make the demo CA", e))?;
        let acceptor = |name: &str, (not_before, not_after): (Date, Date)| {
            pki.acceptor(name, not_before, not_after)
                .map(Some)
                .map_err(|e| io_error("cannot make a demo certificate", e))
        };
        let plain = start(None, feeds).await?;
        let valid = start(acceptor("127.0.0.1", VALID)?, feeds).await?;
        let hanging = start(None, |_| Action::Hang).await?;
        let expired = start(acceptor("127.0.0.1", ((2019, 1, 1), EXPIRED_ON))?, feeds).await?;
        let other_host = start(acceptor(OTHER_HOST, VALID)?, feeds).await?;
        // A password made here for this run, given only to the right connector.
        let password = uuid::Uuid::new_v4().simple().to_string();
        let private = start(None, private_npm(PRIVATE_USER, &password)).await?;
        let refused = refused_port()
            .await
            .map_err(|e| io_error("cannot listen on 127.0.0.1", e))?;

        let c = |name: &str, url: String, feed_type| DemoConnector {
            name: name.to_owned(),
            url,
            feed_type,
            package: None,
            credentials: None,
        };
        // Every feed type over plain HTTP; the generic check over HTTPS below.
        let mut connectors: Vec<DemoConnector> = FEEDS
            .iter()
            .filter(|f| f.feed_type != FeedType::Generic)
            .map(|f| c(&format!("demo {}", f.name), plain.url(f.path), f.feed_type))
            .collect();
        connectors.extend([
            c(
                "demo generic (HTTPS)",
                valid.https_url("127.0.0.1", GENERIC),
                FeedType::Generic,
            ),
            c("demo hanging", hanging.url("/"), FeedType::Generic),
            c(
                "demo refusing",
                format!("http://127.0.0.1:{refused}/"),
                FeedType::Generic,
            ),
            c(
                "demo expired certificate",
                expired.https_url("127.0.0.1", GENERIC),
                FeedType::Generic,
            ),
            c(
                "demo wrong-host certificate",
                other_host.https_url("127.0.0.1", GENERIC),
                FeedType::Generic,
            ),
            c(
                "demo unavailable",
                plain.url(UNAVAILABLE),
                FeedType::Generic,
            ),
            DemoConnector {
                credentials: demo_basic(password),
                ..c(
                    "demo private npm (right credentials)",
                    private.url("/"),
                    FeedType::Npm,
                )
            },
            DemoConnector {
                credentials: demo_basic("not-the-password".to_owned()),
                ..c(
                    "demo private npm (wrong credentials)",
                    private.url("/"),
                    FeedType::Npm,
                )
            },
            DemoConnector {
                package: Some("left-pad".to_owned()),
                ..c(
                    "demo private npm (no credentials)",
                    private.url("/"),
                    FeedType::Npm,
                )
            },
        ]);
        Ok(Self {
            connectors,
            pki,
            _servers: vec![plain, valid, hanging, expired, other_host, private],
        })
    }

    /// The connectors to register, one per upstream.
    pub fn connectors(&self) -> &[DemoConnector] {
        &self.connectors
    }

    /// The CA that signed the demo certificates, for the prober to trust.
    pub fn pki(&self) -> &DemoPki {
        &self.pki
    }
}

/// A TLS client configuration trusting the system's roots (when there are any) and the
/// demo CA.
pub fn client_tls(pki: &DemoPki) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = pki.roots();
    let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    shared::adapters::http_prober::tls::client_config(roots)
        .map_err(|e| io_error("cannot configure the prober's TLS", e))
}
