//! The HTTPS client every AWS SDK client uses: hyper's pooled client over rustls with ring.
//! In a Lambda function it trusts the root certificates compiled into the binary
//! (`webpki-roots`, Mozilla's list, which includes the Amazon and Starfield roots AWS
//! endpoints chain to); elsewhere (`chadmin`, the local stack, the tools) the system's
//! store, so that a TLS-inspecting proxy's CA installed there is trusted.
//!
//! Why not the SDK's default client: it loads the platform's certificate store when each
//! SDK client is built, reading the bundle and every hashed file in `/etc/ssl/certs`, which
//! made up most of a function's cold start. Compiled-in trust anchors cost nothing to load.
//! The prober, which talks to customers' upstreams, keeps trusting the system store (see
//! `adapters::http_prober`).
//!
//! The SDK's contract for an HTTP client: apply the connect and read timeouts it asks for,
//! keep a connection pool, and report failures as [`ConnectorError`]s of the right kind
//! (timeouts and I/O errors are retried by the SDK, user errors are not).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type BoxError = Box<dyn Error + Send + Sync>;
type Pool = Client<ConnectTimeout<hyper_rustls::HttpsConnector<TcpConnector>>, SdkBody>;
/// The connect and read timeouts a connector was made for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// Whether this process is a Lambda function (the runtime sets this variable).
fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
}

/// The compiled-in roots.
fn compiled_in_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The roots for AWS endpoints: compiled in for a function; the system's elsewhere
/// (falling back to the compiled-in ones when the system has none).
fn roots() -> rustls::RootCertStore {
    if in_lambda() {
        return compiled_in_roots();
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        compiled_in_roots()
    } else {
        roots
    }
}

/// The rustls configuration for AWS endpoints: ring, the safe default protocol versions,
/// [`roots`]. (hyper-rustls sets the ALPN protocols itself: HTTP/1.1.)
fn tls_config() -> rustls::ClientConfig {
    let roots = roots();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The client; build one per process and share it through the `SdkConfig`. Building it
/// reads no file and makes no network call.
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(AwsHttpClient::default())
}

/// Hands the SDK one connector per distinct timeout settings (in practice: one).
#[derive(Debug, Default)]
struct AwsHttpClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(AwsConnector::new(key.0, key.1)))
            .clone()
    }
}

/// A pooled hyper client with the connect timeout applied to each connection and the read
/// timeout to each response's headers.
#[derive(Clone)]
struct AwsConnector {
    pool: Pool,
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for AwsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsConnector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl AwsConnector {
    fn new(connect_timeout: Option<Duration>, read_timeout: Option<Duration>) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let connector = ConnectTimeout {
            inner: https,
            limit: connect_timeout,
        };
        Self {
            pool: Client::builder(TokioExecutor::new()).build(connector),
            read_timeout,
        }
    }
}

impl HttpConnector for AwsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answered = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, sent).await {
                    Ok(answered) => answered,
                    Err(elapsed) => return Err(ConnectorError::timeout(elapsed.into())),
                },
                None => sent.await,
            };
            match answered {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// A connection not made (name resolved, TCP connected, TLS handshake done) within the
/// connect timeout.
#[derive(Debug, thiserror::Error)]
#[error("no connection within {0:?}")]
struct ConnectTimedOut(Duration);

/// Bounds a whole connection attempt (name lookup, TCP connect, TLS handshake) by the
/// connect timeout, as the SDK's own client does.
#[derive(Clone)]
struct ConnectTimeout<C> {
    inner: C,
    limit: Option<Duration>,
}

impl<C> tower_service::Service<http::Uri> for ConnectTimeout<C>
where
    C: tower_service::Service<http::Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move {
            match limit {
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(connected) => connected.map_err(Into::into),
                    Err(_) => Err(Box::new(ConnectTimedOut(limit)) as BoxError),
                },
                None => connecting.await.map_err(Into::into),
            }
        })
    }
}

/// What kind of failure a hyper client error is, for the SDK's retry decision.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = chain(&err).any(|e| {
        e.is::<ConnectTimedOut>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || e.downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout)
    });
    let connection_level = err.is_connect()
        || chain(&err).any(|e| {
            e.is::<std::io::Error>()
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_closed() || h.is_canceled() || h.is_incomplete_message())
        });
    let boxed: BoxError = Box::new(err);
    if timed_out {
        ConnectorError::timeout(boxed)
    } else if connection_level {
        ConnectorError::io(boxed)
    } else {
        ConnectorError::other(boxed, None)
    }
}

fn chain<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_include_amazons() {
        let _ = tls_config();
        // Amazon Root CA 1..4 and Starfield: the roots AWS endpoints chain to.
        let subjects: Vec<String> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
        ] {
            assert!(subjects.iter().any(|s| s.contains(name)), "{name} missing");
        }
        assert!(subjects.iter().any(|s| s.contains("Starfield")));
    }

    #[tokio::test]
    async fn a_connector_can_be_made_for_any_timeouts() {
        // Building the connector is what the SDK does on a client's first call.
        let _ = AwsConnector::new(Some(Duration::from_secs(2)), None);
        let _ = AwsConnector::new(None, Some(Duration::from_secs(1)));
    }
}
