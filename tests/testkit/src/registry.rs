//! The one fake registry: a server on 127.0.0.1 (a port the kernel picks), plain or TLS,
//! that answers each request as a route decides, and remembers what it was asked.
//!
//! - [`FakeRegistry::feeds`]: like the real thing for every feed type the prober checks
//!   ([`FEEDS`]: npm `/-/ping`, a NuGet v3 service index, NuGet v2 and Chocolatey OData
//!   service documents, the PyPI simple JSON page of the default project, Docker `/v2/` 401
//!   with a `WWW-Authenticate` challenge, Maven `HEAD`, the RubyGems compact-index entry of
//!   the default gem, a generic page), and 503 under [`UNAVAILABLE`];
//! - [`FakeRegistry::answering`]: one status for every request;
//! - [`FakeRegistry::hanging`]: reads each request and never answers;
//! - [`FakeRegistry::start`] with any route: the faults the prober must name ([`Action`]:
//!   a reset, a stalled or endless body, ...);
//! - [`refused_port`]: a port nothing listens on.
//!
//! Each connection serves one request and closes (`Connection: close`). Bytes that cannot
//! start an HTTP request (a TLS ClientHello on a plain port) get `400 Bad Request`, as a
//! real HTTP server answers them. Dropping the registry stops it and closes every
//! connection. The dev stack's demo upstreams (`infra/devstack`) are these servers too.

use rustls::RootCertStore;
use shared::adapters::http_prober::{tls, HttpProber, ProberSettings, StaticResolver};
use shared::domain::FeedType;
use shared::probe::target::{DEFAULT_PYPI_PROJECT, DEFAULT_RUBYGEM};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A request head larger than this is answered 431 and closed.
const MAX_HEAD: usize = 16 * 1024;
/// How many request heads [`FakeRegistry::requests`] keeps (the count goes on).
const KEPT_HEADS: usize = 2048;

/// What the registry does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Writes these bytes (without the body for a `HEAD` request), then closes.
    Reply(Vec<u8>),
    /// Never answers; the connection stays open until the client goes away.
    Hang,
    /// Writes these bytes, then resets the connection (RST).
    ResetAfter(Vec<u8>),
    /// Writes these bytes, then keeps the connection open without sending more.
    Stall(Vec<u8>),
    /// Writes the head, then body bytes until the client goes away.
    Endless(Vec<u8>),
}

/// One request as the registry read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request line and headers, as sent.
    pub head: String,
    /// How many requests the registry read before this one.
    pub index: usize,
}

impl Request {
    pub fn method(&self) -> &str {
        self.head.split_whitespace().next().unwrap_or("")
    }

    /// The request target (path and query), as sent.
    pub fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("")
    }
}

/// The value of header `name` in a request head (names compare case-insensitively).
pub fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `Basic` and the base64 of `user:password`: an `Authorization` value.
pub fn basic_value(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A private npm registry, as Verdaccio with `access: $authenticated` answers: `/-/ping` to
/// anyone; a package document only to Basic `user:password` (it holds none, so 404), 401
/// with a Basic challenge to anything else.
pub fn private_npm(user: &str, password: &str) -> impl Fn(&Request) -> Action + Send + Sync {
    let right = basic_value(user, password);
    move |r: &Request| match r.path() {
        "/-/ping" => reply("200 OK", &[("Content-Type", "application/json")], "{}"),
        _ if header_of(&r.head, "authorization") == Some(right.as_str()) => reply(
            "404 Not Found",
            &[("Content-Type", "application/json")],
            r#"{"error":"no such package available"}"#,
        ),
        _ => reply(
            "401 Unauthorized",
            &[
                ("Content-Type", "application/json"),
                ("WWW-Authenticate", "Basic realm=\"private npm\""),
            ],
            r#"{"error":"authorization required"}"#,
        ),
    }
}

/// A complete response: `status` (`"200 OK"`), the headers, `Content-Length` and
/// `Connection: close`, and `body`.
pub fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> Action {
    Action::Reply(response(status, headers, body))
}

/// The bytes of [`reply`].
fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// A response with this status and no body.
pub fn status(status: &str) -> Action {
    reply(status, &[], "")
}

/// One feed of [`FakeRegistry::feeds`]: a connector of `feed_type` at `path` is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// How the dev stack names its demo connector (`demo {name}`).
    pub name: &'static str,
    pub path: &'static str,
    pub feed_type: FeedType,
}

const fn feed(name: &'static str, path: &'static str, feed_type: FeedType) -> Feed {
    Feed {
        name,
        path,
        feed_type,
    }
}

/// Where [`FakeRegistry::feeds`] serves each feed type: every [`FeedType`] at least once.
pub const FEEDS: [Feed; 9] = [
    feed("npm", "/npm", FeedType::Npm),
    feed("NuGet v3", "/nuget/v3/index.json", FeedType::NuGet),
    feed("NuGet v2", "/nuget/api/v2", FeedType::NuGet),
    feed("Chocolatey", "/chocolatey/api/v2", FeedType::Chocolatey),
    feed("PyPI", "/pypi/simple", FeedType::PyPi),
    feed("Docker", "/docker", FeedType::Docker),
    feed("Maven", "/maven2", FeedType::Maven),
    feed("RubyGems", "/rubygems", FeedType::RubyGems),
    feed("generic", GENERIC, FeedType::Generic),
];

/// Where [`FakeRegistry::feeds`] serves a generic page (200, any method).
pub const GENERIC: &str = "/generic/";

/// The path under which [`FakeRegistry::feeds`] answers `503 Service Unavailable`.
pub const UNAVAILABLE: &str = "/unavailable/";

/// The route of [`FakeRegistry::feeds`]: what a real registry of each kind answers on the
/// path the prober asks for.
pub fn feeds(request: &Request) -> Action {
    const JSON: (&str, &str) = ("Content-Type", "application/json");
    const XML: (&str, &str) = ("Content-Type", "application/xml; charset=utf-8");
    let service_document = |base: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><service xml:base="{base}" xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom"><workspace><atom:title>Default</atom:title><collection href="Packages"><atom:title>Packages</atom:title></collection></workspace></service>"#
        )
    };
    let pypi = format!("/pypi/simple/{DEFAULT_PYPI_PROJECT}/");
    let gem = format!("/rubygems/info/{DEFAULT_RUBYGEM}");
    match request.path() {
        "/npm/-/ping" => reply("200 OK", &[JSON], "{}"),
        "/nuget/v3/index.json" => reply(
            "200 OK",
            &[JSON],
            r#"{"version":"3.0.0","resources":[{"@id":"/nuget/v3-flatcontainer/","@type":"PackageBaseAddress/3.0.0"},{"@id":"/nuget/query","@type":"SearchQueryService"}]}"#,
        ),
        "/nuget/api/v2" | "/nuget/api/v2/" => {
            reply("200 OK", &[XML], &service_document("/nuget/api/v2/"))
        }
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
        "/maven2/" => reply(
            "200 OK",
            &[("Content-Type", "text/html")],
            "<html><body>maven2</body></html>",
        ),
        p if p == gem => reply(
            "200 OK",
            &[("Content-Type", "text/plain; charset=utf-8")],
            "---\n13.2.1 |checksum:0000000000000000000000000000000000000000000000000000000000000000,ruby:>= 2.3\n",
        ),
        GENERIC => reply("200 OK", &[("Content-Type", "text/plain")], "ok\n"),
        UNAVAILABLE => reply(
            "503 Service Unavailable",
            &[("Content-Type", "text/plain"), ("Retry-After", "120")],
            "down for maintenance\n",
        ),
        _ => reply("404 Not Found", &[("Content-Type", "text/plain")], "not found\n"),
    }
}

type Route = dyn Fn(&Request) -> Action + Send + Sync;

/// What the registry was asked.
#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    heads: Mutex<Vec<String>>,
}

impl Seen {
    /// Records a request head; returns the request.
    fn record(&self, head: String) -> Request {
        let index = self.count.fetch_add(1, Ordering::SeqCst);
        let mut heads = self.heads.lock().unwrap_or_else(|p| p.into_inner());
        if heads.len() < KEPT_HEADS {
            heads.push(head.clone());
        }
        Request { head, index }
    }
}

/// A running fake registry. Dropping it stops it and closes every connection.
pub struct FakeRegistry {
    addr: SocketAddr,
    seen: Arc<Seen>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRegistry")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeRegistry {
    /// Starts a registry on 127.0.0.1 answering with `route`, over TLS when `tls` is given.
    pub async fn serve(
        tls: Option<TlsAcceptor>,
        route: impl Fn(&Request) -> Action + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Seen::default());
        let server = tokio::spawn(accept_loop(listener, tls, Arc::new(route), seen.clone()));
        Ok(Self { addr, seen, server })
    }

    /// A plain HTTP registry answering with `route`.
    pub async fn start(route: impl Fn(&Request) -> Action + Send + Sync + 'static) -> Self {
        Self::serve(None, route).await.expect("listen on 127.0.0.1")
    }

    /// A TLS registry presenting `acceptor`'s certificate, answering with `route`.
    pub async fn start_tls(
        acceptor: TlsAcceptor,
        route: impl Fn(&Request) -> Action + Send + Sync + 'static,
    ) -> Self {
        Self::serve(Some(acceptor), route)
            .await
            .expect("listen on 127.0.0.1")
    }

    /// Every feed type, where [`FEEDS`] says, and 503 under [`UNAVAILABLE`].
    pub async fn feeds() -> Self {
        Self::start(feeds).await
    }

    /// Answers every request with `status` (`"500 Internal Server Error"`) and no body.
    pub async fn answering(code: &'static str) -> Self {
        Self::start(move |_| status(code)).await
    }

    /// Reads every request and never answers.
    pub async fn hanging() -> Self {
        Self::start(|_| Action::Hang).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// `https://{host}:PORT{path}`.
    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port())
    }

    /// The heads of the requests read so far (the first 2,048), in order.
    pub fn requests(&self) -> Vec<String> {
        self.seen
            .heads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests were read so far.
    pub fn request_count(&self) -> usize {
        self.seen.count.load(Ordering::SeqCst)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A port on 127.0.0.1 that refuses connections: bound, then closed (unless another
/// program happens to take it meanwhile).
pub async fn refused_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    Ok(listener.local_addr()?.port())
}

/// The HTTP prober as the tests use it: trusting `roots`, resolving names with `resolver`,
/// probing loopback and private addresses only when `allow_private`.
pub fn prober(resolver: StaticResolver, roots: RootCertStore, allow_private: bool) -> HttpProber {
    HttpProber::new(
        ProberSettings {
            allow_private,
            ..ProberSettings::default()
        },
        tls::client_config(roots).expect("a TLS client configuration"),
        Arc::new(resolver),
    )
}

/// [`prober`] for registries on 127.0.0.1: no names, no trusted roots, loopback allowed.
pub fn loopback_prober() -> HttpProber {
    prober(StaticResolver::new(), RootCertStore::empty(), true)
}

/// Accepts connections until dropped; dropping it drops (and so closes) every connection.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    route: Arc<Route>,
    seen: Arc<Seen>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, tls.clone(), route.clone(), seen.clone()));
                }
                // Out of file descriptors or similar: give it a moment.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    route: Arc<Route>,
    seen: Arc<Seen>,
) {
    match tls {
        // A client that rejects the certificate ends the handshake; nothing more to do.
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(stream).await {
                answer(stream, &*route, &seen).await;
            }
        }
        None => answer(stream, &*route, &seen).await,
    }
}

/// A connection that can be reset (closed with RST instead of FIN).
trait Resettable: AsyncRead + AsyncWrite + Unpin {
    fn reset(self);
}

impl Resettable for TcpStream {
    fn reset(self) {
        let _ = self.set_zero_linger();
    }
}

impl Resettable for TlsStream<TcpStream> {
    fn reset(self) {
        let _ = self.get_ref().0.set_zero_linger();
    }
}

/// Whether `bytes` can be the start of an HTTP/1 request line (a method token).
pub fn looks_like_http(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .take_while(|b| **b != b' ')
        .all(u8::is_ascii_uppercase)
}

/// Reads until the client goes away.
async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Reads one request head and does what the route says.
async fn answer<S: Resettable>(mut stream: S, route: &Route, seen: &Seen) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            let refusal = response("431 Request Header Fields Too Large", &[], "");
            let _ = stream.write_all(&refusal).await;
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if !looks_like_http(&head) {
            let _ = stream
                .write_all(&response("400 Bad Request", &[], ""))
                .await;
            let _ = stream.shutdown().await;
            return;
        }
    }
    let request = seen.record(String::from_utf8_lossy(&head).into_owned());
    match route(&request) {
        Action::Reply(mut bytes) => {
            if request.method() == "HEAD" {
                if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                    bytes.truncate(end + 4);
                }
            }
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Action::Hang => until_closed(&mut stream).await,
        Action::ResetAfter(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            stream.reset();
        }
        Action::Stall(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            until_closed(&mut stream).await;
        }
        Action::Endless(head) => {
            let _ = stream.write_all(&head).await;
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
    }
}
