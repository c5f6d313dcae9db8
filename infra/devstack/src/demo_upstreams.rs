//! The upstream registries `chadmin dev` starts in-process on 127.0.0.1 (ports the kernel
//! picks), so the prober has something real to find in every state:
//!
//! - one registry answering like the real thing for each feed type: npm `/-/ping`, a NuGet
//!   v3 service index, NuGet v2 and Chocolatey OData service documents, the PyPI simple
//!   JSON page of the default project, Docker `/v2/` 401 with a `WWW-Authenticate`
//!   challenge, a Maven `HEAD`, the RubyGems compact-index entry of the default gem, and a
//!   generic feed over HTTPS (a valid certificate, so its expiry is recorded);
//! - one that accepts connections and never answers;
//! - a port that refuses connections (bound, then closed);
//! - HTTPS with an expired certificate, and HTTPS with a certificate for another host;
//! - one that answers 503.
//!
//! The certificates come from a CA made at start-up ([`DemoPki`]); the prober trusts it
//! alongside the system roots. Everything stops when [`DemoUpstreams`] is dropped.

use crate::cli::FeedType;
use crate::error::{AdminError, Result};
use shared::demo_pki::DemoPki;
use shared::probe::target::{DEFAULT_PYPI_PROJECT, DEFAULT_RUBYGEM};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// The day the expired demo certificate expired (00:00 UTC).
pub const EXPIRED_ON: (i32, u8, u8) = (2020, 1, 1);
/// The only name the wrong-host demo certificate is valid for.
pub const OTHER_HOST: &str = "registry.example.com";
/// A request head larger than this is answered 431 and closed.
const MAX_HEAD: usize = 16 * 1024;

/// A demo connector: the row `chadmin dev` registers for one upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConnector {
    pub name: String,
    pub url: String,
    pub feed_type: FeedType,
}

/// What an upstream does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Answers each registry path like the real registry; 503 under `/unavailable/`.
    Registry,
    /// Reads the request and never answers.
    Hang,
}

/// The running upstreams and the connectors that point at them.
pub struct DemoUpstreams {
    connectors: Vec<DemoConnector>,
    pki: DemoPki,
    _servers: JoinSet<()>,
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

async fn listen() -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| io_error("cannot listen on 127.0.0.1", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| io_error("no local address", e))?;
    Ok((listener, addr))
}

impl DemoUpstreams {
    /// Starts every upstream; returns once all of them accept connections.
    pub async fn start() -> Result<Self> {
        let pki = DemoPki::new("connector-health demo CA")
            .map_err(|e| io_error("cannot make the demo CA", e))?;
        let acceptor = |name: &str, not_before, not_after| {
            pki.acceptor(name, not_before, not_after)
                .map_err(|e| io_error("cannot make a demo certificate", e))
        };
        let mut servers = JoinSet::new();
        let mut spawn = |listener, tls, behaviour| {
            servers.spawn(accept_loop(listener, tls, behaviour));
        };

        let (registry, plain) = listen().await?;
        spawn(registry, None, Behaviour::Registry);
        let (tls_registry, valid) = listen().await?;
        spawn(
            tls_registry,
            Some(acceptor("127.0.0.1", (2020, 1, 1), (2099, 12, 31))?),
            Behaviour::Registry,
        );
        let (hanging, hang) = listen().await?;
        spawn(hanging, None, Behaviour::Hang);
        let (expired_listener, expired) = listen().await?;
        spawn(
            expired_listener,
            Some(acceptor("127.0.0.1", (2019, 1, 1), EXPIRED_ON)?),
            Behaviour::Registry,
        );
        let (other_listener, other) = listen().await?;
        spawn(
            other_listener,
            Some(acceptor(OTHER_HOST, (2020, 1, 1), (2099, 12, 31))?),
            Behaviour::Registry,
        );
        // Nothing listens on this port once the listener is gone: connections are refused
        // (unless another program happens to take the port meanwhile).
        let refused = listen().await?.1;

        let p = plain.port();
        let http = |path: &str| format!("http://127.0.0.1:{p}{path}");
        let c = |name: &str, url: String, feed_type| DemoConnector {
            name: name.to_owned(),
            url,
            feed_type,
        };
        let connectors = vec![
            c("demo npm", http("/npm"), FeedType::Npm),
            c(
                "demo NuGet v3",
                http("/nuget/v3/index.json"),
                FeedType::Nuget,
            ),
            c("demo NuGet v2", http("/nuget/api/v2"), FeedType::Nuget),
            c(
                "demo Chocolatey",
                http("/chocolatey/api/v2"),
                FeedType::Chocolatey,
            ),
            c("demo PyPI", http("/pypi/simple"), FeedType::Pypi),
            c("demo Docker", http("/docker"), FeedType::Docker),
            c("demo Maven", http("/maven2"), FeedType::Maven),
            c("demo RubyGems", http("/rubygems"), FeedType::Rubygems),
            c(
                "demo generic (HTTPS)",
                format!("https://127.0.0.1:{}/generic/", valid.port()),
                FeedType::Generic,
            ),
            c(
                "demo hanging",
                format!("http://127.0.0.1:{}/", hang.port()),
                FeedType::Generic,
            ),
            c(
                "demo refusing",
                format!("http://127.0.0.1:{}/", refused.port()),
                FeedType::Generic,
            ),
            c(
                "demo expired certificate",
                format!("https://127.0.0.1:{}/generic/", expired.port()),
                FeedType::Generic,
            ),
            c(
                "demo wrong-host certificate",
                format!("https://127.0.0.1:{}/generic/", other.port()),
                FeedType::Generic,
            ),
            c("demo unavailable", http("/unavailable/"), FeedType::Generic),
        ];
        Ok(Self {
            connectors,
            pki,
            _servers: servers,
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

/// Accepts connections until dropped; dropping it drops (and so closes) every connection.
async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, behaviour: Behaviour) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, tls.clone(), behaviour));
                }
                // Out of file descriptors or similar: give it a moment.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, behaviour: Behaviour) {
    match tls {
        // A client that rejects the certificate ends the handshake; nothing more to do.
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(stream).await {
                answer(stream, behaviour).await;
            }
        }
        None => answer(stream, behaviour).await,
    }
}

/// Reads one request head and answers it, then closes.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, behaviour: Behaviour) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            let _ = stream
                .write_all(&reply("431 Request Header Fields Too Large", &[], ""))
                .await;
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if behaviour == Behaviour::Hang {
        // Keep the connection open, silent, until the client gives up or we stop.
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        return;
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("");
    let path = words.next().unwrap_or("");
    let mut response = route(path);
    if method == "HEAD" {
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            response.truncate(end + 4);
        }
    }
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// What a real registry of each kind answers on the path the prober asks for.
fn route(path: &str) -> Vec<u8> {
    const JSON: (&str, &str) = ("Content-Type", "application/json");
    const XML: (&str, &str) = ("Content-Type", "application/xml; charset=utf-8");
    let service_document = |base: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><service xml:base="{base}" xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom"><workspace><atom:title>Default</atom:title><collection href="Packages"><atom:title>Packages</atom:title></collection></workspace></service>"#
        )
    };
    let pypi = format!("/pypi/simple/{DEFAULT_PYPI_PROJECT}/");
    let gem = format!("/rubygems/info/{DEFAULT_RUBYGEM}");
    match path {
        "/npm/-/ping" => reply("200 OK", &[JSON], "{}"),
        "/nuget/v3/index.json" => reply(
            "200 OK",
            &[JSON],
            r#"{"version":"3.0.0","resources":[{"@id":"/nuget/v3-flatcontainer/","@type":"PackageBaseAddress/3.0.0"},{"@id":"/nuget/query","@type":"SearchQueryService"}]}"#,
        ),
        "/nuget/api/v2" | "/nuget/api/v2/" => reply("200 OK", &[XML], &service_document("/nuget/api/v2/")),
        "/chocolatey/api/v2" | "/chocolatey/api/v2/" => {
            reply("200 OK", &[XML], &service_document("/chocolatey/api/v2/"))
        }
        p if p == pypi => reply(
            "200 OK",
            &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
            &format!(
                r#"{{"meta":{{"api-version":"1.1"}},"name":"{DEFAULT_PYPI_PROJECT}","files":[{{"filename":"{DEFAULT_PYPI_PROJECT}-4.0.0.tar.gz","url":"../../packages/{DEFAULT_PYPI_PROJECT}-4.0.0.tar.gz","hashes":{{}}}}],"versions":["4.0.0"]}}"#
            ),
        ),
        "/docker/v2/" => reply(
            "401 Unauthorized",
            &[
                JSON,
                (
                    "WWW-Authenticate",
                    r#"Bearer realm="https://auth.example.com/token",service="registry.example.com""#,
                ),
                ("Docker-Distribution-API-Version", "registry/2.0"),
            ],
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#,
        ),
        "/maven2/" => reply("200 OK", &[("Content-Type", "text/html")], "<html><body>maven2</body></html>"),
        p if p == gem => reply(
            "200 OK",
            &[("Content-Type", "text/plain; charset=utf-8")],
            "---\n13.2.1 |checksum:0000000000000000000000000000000000000000000000000000000000000000,ruby:>= 2.3\n",
        ),
        "/generic/" => reply("200 OK", &[("Content-Type", "text/plain")], "ok\n"),
        "/unavailable/" => reply(
            "503 Service Unavailable",
            &[("Content-Type", "text/plain"), ("Retry-After", "120")],
            "down for maintenance\n",
        ),
        _ => reply("404 Not Found", &[("Content-Type", "text/plain")], "not found\n"),
    }
}

fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nServer: connector-health-demo\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// A TLS client configuration trusting the system's roots (when there are any) and the
/// demo CA.
pub fn client_tls(pki: &DemoPki) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = pki.roots();
    let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    shared::adapters::http_prober::tls::client_config(roots)
        .map_err(|e| io_error("cannot configure the prober's TLS", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::adapters::http_prober::{HttpProber, ProberSettings, SystemResolver};
    use shared::domain::ConnectorId;
    use shared::probe::ports::Prober;
    use shared::probe::target::ProbeTarget;

    #[tokio::test]
    async fn each_healthy_upstream_passes_its_feed_check_and_the_rest_fail_as_named() {
        let demo = DemoUpstreams::start().await.unwrap();
        let prober = HttpProber::new(
            ProberSettings {
                allow_private: true,
                ..ProberSettings::default()
            },
            client_tls(demo.pki()).unwrap(),
            Arc::new(SystemResolver),
        );
        let mut names = Vec::new();
        for c in demo.connectors() {
            names.push(c.name.clone());
            let target = ProbeTarget::new(
                ConnectorId::new(1).unwrap(),
                c.url.clone(),
                shared::probe::target::FeedType::parse(Some(c.feed_type.as_str())),
            );
            let outcome = prober.probe(&target, Duration::from_millis(500)).await;
            let port = c.url.rsplit(':').next().unwrap().split('/').next().unwrap();
            let expected = match c.name.as_str() {
                "demo hanging" => Some(format!("No response from 127.0.0.1:{port} within 0.5 s.")),
                "demo refusing" => Some(format!("Connection refused by 127.0.0.1:{port}.")),
                "demo expired certificate" => {
                    Some("TLS certificate for 127.0.0.1 expired on 2020-01-01.".to_owned())
                }
                "demo wrong-host certificate" => {
                    Some("TLS certificate is not valid for 127.0.0.1.".to_owned())
                }
                "demo unavailable" => Some("HTTP 503 Service Unavailable.".to_owned()),
                _ => None,
            };
            let got = outcome.verdict.as_ref().err().map(|f| f.message.clone());
            assert_eq!(got, expected, "{}: {outcome:?}", c.name);
            if c.name == "demo generic (HTTPS)" {
                assert_eq!(
                    outcome
                        .observed
                        .certificate_expires_at
                        .map(|t| t.to_rfc3339()),
                    Some("2099-12-31T00:00:00+00:00".to_owned())
                );
            }
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), demo.connectors().len(), "unique names");
    }
}
