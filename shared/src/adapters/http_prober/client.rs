//! One HTTP/1.1 exchange per connection, made step by step (resolve, check the address,
//! connect, TLS, request, response) so each failure is named precisely. Redirects are
//! followed here, up to the prober's cap; no cookies are kept.

use super::address::{refusal, Refusal};
use super::tls;
use super::{HttpProber, Progress, Step, TrustError, ALLOW_PRIVATE_SETTING};
use crate::probe::outcome::{Failure, FailureKind, Observation};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONNECTION, HOST, LOCATION, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use url::{Host, Url};

/// Aborts the task driving a connection when the response is dropped, closing the socket.
pub(super) struct ConnectionGuard(JoinHandle<()>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The final response, with the connection it arrived on.
pub(super) struct Fetched {
    pub response: Response<Incoming>,
    /// The URL the response answered (the last of any redirects).
    pub url: Url,
    pub host: String,
    /// Where a redirect to another host name pointed, when the request asked not to follow
    /// one (the response is then that redirect).
    pub left_for: Option<Url>,
    /// The response came from the connector's own origin, so the request carried its
    /// credentials (if it has any); after a redirect to another origin it did not.
    pub own_origin: bool,
    pub _connection: ConnectionGuard,
}

pub(super) fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// `HTTP 503 Service Unavailable.`
pub(super) fn status_failure(status: StatusCode) -> Failure {
    Failure::new(FailureKind::HttpStatus, format!("{}.", status_text(status)))
}

fn host_label(url: &Url) -> String {
    match url.host() {
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    }
}

/// Headers that carry credentials (each marked sensitive), sent only to one origin.
pub(super) type Auth = Vec<(HeaderName, HeaderValue)>;

/// `Authorization: Basic` of `user` and `password`.
pub(super) fn basic(user: &str, password: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    ))
    .ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A header of the given value, marked sensitive.
pub(super) fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `Authorization: Basic` from the URL's user-info, if it has any.
pub(super) fn basic_auth(url: &Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    basic(
        &decode(url.username()),
        &decode(url.password().unwrap_or("")),
    )
}

fn connect_failure(err: &io::Error, host: &str, port: u16) -> Failure {
    let message = match err.kind() {
        io::ErrorKind::ConnectionRefused => format!("Connection refused by {host}:{port}."),
        io::ErrorKind::HostUnreachable => format!("Host {host} is unreachable."),
        io::ErrorKind::NetworkUnreachable => format!("Network unreachable for {host}:{port}."),
        io::ErrorKind::ConnectionReset => {
            return Failure::new(
                FailureKind::Reset,
                format!("Connection reset by {host}:{port}."),
            )
        }
        _ => format!("Could not connect to {host}:{port}."),
    };
    Failure::new(FailureKind::Connect, message)
}

/// Finds an `io::Error` anywhere in an error's source chain.
fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

/// Names a failure of the HTTP exchange (after the connection was made).
pub(super) fn exchange_failure(err: &hyper::Error, host: &str, port: u16) -> Failure {
    match io_kind(err) {
        Some(
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe,
        ) => {
            return Failure::new(
                FailureKind::Reset,
                format!("Connection reset by {host}:{port}."),
            )
        }
        Some(io::ErrorKind::UnexpectedEof) => {
            return Failure::new(
                FailureKind::Reset,
                format!("Connection closed by {host}:{port} before a complete response."),
            )
        }
        _ => {}
    }
    if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        Failure::new(
            FailureKind::Reset,
            format!("Connection closed by {host}:{port} before a complete response."),
        )
    } else if err.is_parse() || err.is_parse_status() {
        Failure::new(
            FailureKind::UnexpectedResponse,
            format!("Response from {host}:{port} is not valid HTTP."),
        )
    } else {
        Failure::new(
            FailureKind::Reset,
            format!("Connection to {host}:{port} failed during the exchange."),
        )
    }
}

fn tls_failure(err: &io::Error, host: &str, port: u16) -> Failure {
    if let Some(rustls_err) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return Failure::new(FailureKind::Tls, tls::describe(rustls_err, host));
    }
    match err.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Failure::new(
            FailureKind::Reset,
            format!("Connection reset by {host}:{port} during the TLS handshake."),
        ),
        io::ErrorKind::UnexpectedEof => Failure::new(
            FailureKind::Tls,
            format!("TLS handshake with {host} failed: the server closed the connection."),
        ),
        _ => Failure::new(
            FailureKind::Tls,
            format!("TLS handshake with {host} failed."),
        ),
    }
}

/// A probe whose trust could not be loaded (a prober that was not prepared): the cause
/// goes to the log, and the message says where to look.
fn trust_failure(err: &TrustError, host: &str) -> Failure {
    tracing::error!(error = %err, "the prober's trusted certificates could not be loaded");
    Failure::new(
        FailureKind::Tls,
        format!(
            "TLS handshake with {host} not attempted: the prober's trusted certificates could not be loaded (see the probe function's log)."
        ),
    )
}

impl HttpProber {
    /// Resolves `host` and keeps the addresses the settings allow.
    async fn addresses(&self, url: &Url, port: u16) -> Result<Vec<SocketAddr>, Failure> {
        let label = host_label(url);
        let resolved = match url.host() {
            Some(Host::Domain(name)) => self.resolver.resolve(name, port).await.map_err(|_| {
                Failure::new(FailureKind::Dns, format!("DNS lookup failed for {label}."))
            })?,
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            None => {
                return Err(Failure::new(
                    FailureKind::InvalidUrl,
                    "Connector URL has no host.",
                ))
            }
        };
        let mut first_refusal = None;
        let mut allowed = Vec::new();
        for addr in resolved {
            match refusal(addr.ip(), self.settings.allow_private) {
                None => allowed.push(addr),
                Some(r) => {
                    first_refusal.get_or_insert((addr.ip(), r));
                }
            }
        }
        if allowed.is_empty() {
            let (ip, refused) = first_refusal.ok_or_else(|| {
                Failure::new(FailureKind::Dns, format!("DNS lookup failed for {label}."))
            })?;
            let ip = ip.to_canonical();
            let subject = if matches!(url.host(), Some(Host::Domain(_))) {
                format!("{label}: it resolves to {ip},")
            } else {
                format!("{ip}:")
            };
            let message = match refused {
                Refusal::Always(what) => format!("Refused to probe {subject} {what}."),
                Refusal::UnlessPrivateAllowed(what) => format!(
                    "Refused to probe {subject} {what}; set {ALLOW_PRIVATE_SETTING} to probe loopback and private addresses."
                ),
            };
            return Err(Failure::new(FailureKind::ForbiddenAddress, message));
        }
        Ok(allowed)
    }

    /// One request on a fresh connection.
    async fn exchange(
        &self,
        method: &Method,
        url: &Url,
        accept: Option<&'static str>,
        auth: &[(HeaderName, HeaderValue)],
        observed: &mut Observation,
        progress: &mut Progress,
    ) -> Result<(Response<Incoming>, ConnectionGuard), Failure> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(Failure::new(
                    FailureKind::InvalidUrl,
                    "Connector URL is not an http or https URL.",
                ))
            }
        };
        let host = host_label(url);
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        *progress = Progress {
            step: Step::Resolve,
            host: host.clone(),
            port,
        };
        let addrs = self.addresses(url, port).await?;
        progress.step = Step::Connect;
        let mut last_error = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let stream = match (stream, last_error) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(connect_failure(&e, &host, port)),
            (None, None) => {
                return Err(Failure::new(
                    FailureKind::Dns,
                    format!("DNS lookup failed for {host}."),
                ))
            }
        };
        let _ = stream.set_nodelay(true);
        let request = self.request(method, url, &host, port, https, accept, auth)?;
        if https {
            progress.step = Step::Tls;
            let name = match url.host() {
                Some(Host::Domain(d)) => ServerName::try_from(d.to_owned()),
                Some(Host::Ipv4(ip)) => {
                    Ok(ServerName::IpAddress(std::net::IpAddr::from(ip).into()))
                }
                Some(Host::Ipv6(ip)) => {
                    Ok(ServerName::IpAddress(std::net::IpAddr::from(ip).into()))
                }
                None => {
                    return Err(Failure::new(
                        FailureKind::InvalidUrl,
                        "Connector URL has no host.",
                    ))
                }
            }
            .map_err(|_| {
                Failure::new(
                    FailureKind::InvalidUrl,
                    "Connector URL has an invalid host name.",
                )
            })?;
            let tls = self.tls().await.map_err(|e| trust_failure(&e, &host))?;
            let connector = tokio_rustls::TlsConnector::from(tls);
            let tls_stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| tls_failure(&e, &host, port))?;
            observed.certificate_expires_at = tls_stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(tls::not_after);
            self.send(tls_stream, request, &host, port, progress).await
        } else {
            observed.certificate_expires_at = None;
            self.send(stream, request, &host, port, progress).await
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &Method,
        url: &Url,
        host: &str,
        port: u16,
        https: bool,
        accept: Option<&'static str>,
        auth: &[(HeaderName, HeaderValue)],
    ) -> Result<Request<Empty<Bytes>>, Failure> {
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let default_port = if https { 443 } else { 80 };
        let host_header = if port == default_port {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(target)
            .header(HOST, host_header)
            .header(USER_AGENT, self.settings.user_agent.as_str())
            .header(CONNECTION, "close");
        if let Some(a) = accept {
            builder = builder.header(ACCEPT, a);
        }
        for (name, value) in auth {
            builder = builder.header(name, value.clone());
        }
        builder.body(Empty::new()).map_err(|_| {
            Failure::new(
                FailureKind::InvalidUrl,
                "Connector URL cannot be turned into an HTTP request.",
            )
        })
    }

    async fn send<S>(
        &self,
        stream: S,
        request: Request<Empty<Bytes>>,
        host: &str,
        port: u16,
        progress: &mut Progress,
    ) -> Result<(Response<Incoming>, ConnectionGuard), Failure>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        progress.step = Step::Response;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| exchange_failure(&e, host, port))?;
        let guard = ConnectionGuard(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| exchange_failure(&e, host, port))?;
        Ok((response, guard))
    }

    /// Sends `method url`, following up to the redirect cap (with `same_host`, none to
    /// another host name: that redirect is the answer, [`Fetched::left_for`] saying where it
    /// pointed). `auth` (the connector's credentials, or else the URL's user-info as Basic
    /// auth) is sent only to `start`'s own origin (scheme, host and port), never after a
    /// redirect to another.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn fetch(
        &self,
        method: Method,
        start: &Url,
        accept: Option<&'static str>,
        same_host: bool,
        auth: &[(HeaderName, HeaderValue)],
        observed: &mut Observation,
        progress: &mut Progress,
    ) -> Result<Fetched, Failure> {
        let origin = start.origin();
        let mut url = start.clone();
        let mut method = method;
        let mut redirects = 0;
        loop {
            let same_origin = url.origin() == origin;
            let (response, guard) = self
                .exchange(
                    &method,
                    &url,
                    accept,
                    if same_origin { auth } else { &[] },
                    observed,
                    progress,
                )
                .await?;
            let status = response.status();
            observed.http_status = Some(status.as_u16());
            let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if !is_redirect {
                return Ok(Fetched {
                    response,
                    host: host_label(&url),
                    url,
                    left_for: None,
                    own_origin: same_origin,
                    _connection: guard,
                });
            }
            if redirects >= self.settings.max_redirects {
                return Err(Failure::new(
                    FailureKind::Redirect,
                    format!(
                        "Too many redirects (more than {}).",
                        self.settings.max_redirects
                    ),
                ));
            }
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    Failure::new(
                        FailureKind::Redirect,
                        format!("{} without a usable Location header.", status_text(status)),
                    )
                })?;
            if same_host && next.host_str() != start.host_str() {
                return Ok(Fetched {
                    response,
                    host: host_label(&url),
                    url,
                    left_for: Some(next),
                    own_origin: same_origin,
                    _connection: guard,
                });
            }
            drop(guard);
            if status == StatusCode::SEE_OTHER && method != Method::HEAD {
                method = Method::GET;
            }
            url = next;
            redirects += 1;
        }
    }
}
