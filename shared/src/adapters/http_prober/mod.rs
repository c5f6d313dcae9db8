//! The HTTP prober: one attempt at proving a connector's feed answers, with every
//! failure named in one short sentence an operator can act on.
//!
//! hyper 1 (HTTP/1.1) over rustls with ring. Each attempt resolves the name through an
//! injectable [`Resolver`], refuses forbidden addresses ([`address`]), connects, shakes
//! hands, sends the feed type's request ([`feeds`]), follows at most 5 redirects (for PyPI
//! none to another host: the feed's own index judges it instead), reads at
//! most 1 MiB of body and only when the check needs it, keeps no cookies, and sends
//! `User-Agent: connector-health/<version>`. The whole attempt is bounded by the timeout.
//! A connector's own credentials are read through a [`CredentialsSource`] and sent only to
//! its own origin ([`credentials`]).
//! URLs in messages and logs go through [`crate::domain::redact`]: no user-info, no query.
//!
//! What the prober trusts is either given ([`HttpProber::new`]) or loaded on first use by a
//! [`TrustLoader`] ([`HttpProber::with_trust_loader`], [`trust`]): the probe function
//! builds it at cold start without reading a certificate, and loads it once, at the start
//! of its first run ([`HttpProber::prepare`]).

pub mod address;
mod client;
mod credentials;
mod feeds;
pub mod resolver;
pub mod tls;
pub mod trust;

use super::connector_credentials::{CredentialsSource, CredentialsStoreError};
use crate::ports::{DependencyError, Prober, ProberNotReady};
use crate::probe::outcome::{Failure, FailureKind, Observation, ProbeOutcome, RateLimit};
use crate::probe::schedule::HostKey;
use crate::probe::target::ProbeTarget;
use credentials::Using;
use http_body_util::BodyExt;
pub use resolver::{Resolver, StaticResolver, SystemResolver};
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::OnceCell;
pub use trust::{ExtraCa, SystemTrust, TrustError, TrustFuture, TrustLoader};

/// The setting that lets the prober contact loopback and private addresses (named in the
/// message of a refused probe).
pub const ALLOW_PRIVATE_SETTING: &str = "PROBE_ALLOW_PRIVATE_NETWORKS";

/// The prober's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProberSettings {
    /// Whether loopback and private addresses may be probed (link-local and instance
    /// metadata never are).
    pub allow_private: bool,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Default for ProberSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_body_bytes: 1024 * 1024,
            max_redirects: 5,
            user_agent: format!("connector-health/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// What the prober trusts: given, or loaded on first use and then kept.
enum Trust {
    Given(Arc<ClientConfig>),
    OnFirstUse {
        loaded: OnceCell<Arc<ClientConfig>>,
        loader: Arc<dyn TrustLoader>,
    },
}

/// Probes connectors over HTTP(S).
#[derive(Clone)]
pub struct HttpProber {
    settings: ProberSettings,
    trust: Arc<Trust>,
    resolver: Arc<dyn Resolver>,
    /// Where connectors' own credentials are read (`None`: a connector that has some is
    /// reported as not probed with them).
    credentials: Option<Arc<dyn CredentialsSource>>,
}

impl std::fmt::Debug for HttpProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProber")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpProber {
    /// A prober trusting `tls`'s roots.
    pub fn new(
        settings: ProberSettings,
        tls: Arc<ClientConfig>,
        resolver: Arc<dyn Resolver>,
    ) -> Self {
        Self {
            settings,
            trust: Arc::new(Trust::Given(tls)),
            resolver,
            credentials: None,
        }
    }

    /// A prober whose trust `loader` gives on first use ([`HttpProber::prepare`], or the
    /// first TLS handshake); building it loads nothing.
    pub fn with_trust_loader(
        settings: ProberSettings,
        loader: Arc<dyn TrustLoader>,
        resolver: Arc<dyn Resolver>,
    ) -> Self {
        Self {
            settings,
            trust: Arc::new(Trust::OnFirstUse {
                loaded: OnceCell::new(),
                loader,
            }),
            resolver,
            credentials: None,
        }
    }

    /// The same prober, reading connectors' own credentials from `source`.
    pub fn with_credentials(mut self, source: Arc<dyn CredentialsSource>) -> Self {
        self.credentials = Some(source);
        self
    }

    pub fn settings(&self) -> &ProberSettings {
        &self.settings
    }

    /// Loads the trust if it is not loaded yet. What loaded is kept for the life of the
    /// prober (and its clones); after a failure the next call loads again. Concurrent
    /// callers share one load.
    pub async fn prepare(&self) -> Result<(), TrustError> {
        self.tls().await.map(drop)
    }

    /// The TLS client configuration, loaded on first use.
    async fn tls(&self) -> Result<Arc<ClientConfig>, TrustError> {
        match &*self.trust {
            Trust::Given(config) => Ok(config.clone()),
            Trust::OnFirstUse { loaded, loader } => {
                loaded.get_or_try_init(|| loader.load()).await.cloned()
            }
        }
    }
}

/// Where an attempt got to, so a timeout can say what it was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Resolve,
    Connect,
    Tls,
    Response,
    Body,
}

#[derive(Debug, Clone)]
struct Progress {
    step: Step,
    host: String,
    port: u16,
}

/// `10 s`, `1.5 s`, `0.25 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

fn timeout_failure(progress: &Progress, timeout: Duration) -> Failure {
    let t = seconds(timeout);
    let Progress { host, port, .. } = progress;
    let message = match progress.step {
        Step::Resolve => format!("DNS lookup for {host} timed out after {t}."),
        Step::Connect => format!("Connection timed out after {t}."),
        Step::Tls => format!("TLS handshake with {host} timed out after {t}."),
        Step::Response => format!("No response from {host}:{port} within {t}."),
        Step::Body => format!("Timed out after {t} reading the response from {host}."),
    };
    Failure::new(FailureKind::Timeout, message)
}

/// Where a check goes after its first request, when that did not decide.
enum Next {
    /// Redirected to another host, not followed.
    Elsewhere(url::Url),
    /// The default project is not on the feed.
    NotHeld,
}

impl Next {
    fn elsewhere(self) -> Option<url::Url> {
        match self {
            Next::Elsewhere(url) => Some(url),
            Next::NotHeld => None,
        }
    }
}

impl HttpProber {
    async fn check(
        &self,
        target: &ProbeTarget,
        observed: &mut Observation,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let plan = feeds::plan(target)?;
        let using = Using::of(self.own_credentials(target).await?, &target.url);
        let Some(next) = self
            .attempt(&plan, target, &using, observed, progress)
            .await?
        else {
            return Ok(());
        };
        // Redirected to another host, or the default project not held: judged by the
        // feed's own server, if it has a way.
        let Some(fallback) = feeds::fallback(&plan, target) else {
            return Err(Failure::new(
                FailureKind::Redirect,
                "Redirected to another host.",
            ));
        };
        let outcome = self
            .attempt(&fallback, target, &using, observed, progress)
            .await
            .map(|n| n.and_then(Next::elsewhere));
        let why = match &next {
            Next::Elsewhere(elsewhere) => feeds::Undecided::Elsewhere(elsewhere),
            Next::NotHeld => feeds::Undecided::NotHeld,
        };
        feeds::after_fallback(&plan, why, &fallback, outcome)
    }

    /// The connector's own credentials, if it has any.
    async fn own_credentials(
        &self,
        target: &ProbeTarget,
    ) -> Result<Option<crate::domain::Credentials>, Failure> {
        let Some(at) = &target.credentials else {
            return Ok(None);
        };
        let Some(source) = &self.credentials else {
            return Err(Failure::new(
                FailureKind::Credentials,
                "The connector has credentials, but this probe cannot read them.",
            ));
        };
        source.read(at).await.map(Some).map_err(|e| {
            let (kind, message) = match &e {
                CredentialsStoreError::Dependency(DependencyError::Missing { .. }) => (
                    FailureKind::Credentials,
                    "The connector's credentials secret does not exist; set its credentials again.",
                ),
                CredentialsStoreError::Dependency(
                    DependencyError::Denied { .. } | DependencyError::Credentials { .. },
                ) => (
                    FailureKind::Credentials,
                    "The probe may not read the connector's credentials secret (access denied).",
                ),
                // Throttled, timed out, unreachable: tried again within the run.
                CredentialsStoreError::Dependency(_) => (
                    FailureKind::CredentialsUnavailable,
                    "The connector's credentials could not be read from Secrets Manager.",
                ),
                CredentialsStoreError::Unusable { .. } => (
                    FailureKind::Credentials,
                    "The connector's credentials secret does not hold usable credentials; set them again.",
                ),
            };
            tracing::warn!(connector_id = %target.id, error = %e, "could not read the connector's credentials");
            Failure::new(kind, message)
        })
    }

    /// One request as `plan` says, judged: `Ok(None)` healthy, `Ok(Some(next))` a
    /// redirect to another host that the plan does not follow, or the default project not
    /// held.
    async fn attempt(
        &self,
        plan: &feeds::Plan,
        target: &ProbeTarget,
        using: &Using,
        observed: &mut Observation,
        progress: &mut Progress,
    ) -> Result<Option<Next>, Failure> {
        let auth = using.auth(&plan.url)?;
        let mut fetched = self
            .fetch(
                plan.method.clone(),
                &plan.url,
                plan.accept,
                plan.same_host,
                &auth,
                observed,
                progress,
            )
            .await?;
        if let Some(elsewhere) = fetched.left_for.take() {
            return Ok(Some(Next::Elsewhere(elsewhere)));
        }
        if let Some(challenge) = credentials::docker_challenge(
            plan,
            using,
            fetched.response.status(),
            fetched.response.headers(),
        ) {
            // A registry with a token service: a token for the credentials, then /v2/ again.
            drop(fetched);
            let token = self
                .docker_token(&challenge, &plan.url, &auth, observed, progress)
                .await?;
            fetched = self
                .fetch(
                    plan.method.clone(),
                    &plan.url,
                    plan.accept,
                    plan.same_host,
                    &credentials::bearer(&token)?,
                    observed,
                    progress,
                )
                .await?;
        }
        let status = fetched.response.status();
        if let Some(verdict) = credentials::access(
            plan,
            using,
            status,
            &fetched.host,
            (!fetched.own_origin).then_some(&fetched.url),
        ) {
            return verdict.map(|()| None);
        }
        if feeds::not_held(plan, status) {
            return Ok(Some(Next::NotHeld));
        }
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::rate_limited(RateLimit {
                host: fetched.host.clone(),
                key: HostKey::of_url(&fetched.url).unwrap_or(HostKey::NoHost(target.id)),
                retry_after: retry_after(fetched.response.headers(), SystemTime::now()),
            }));
        }
        let body = if feeds::needs_body(&plan.check, status) {
            progress.step = Step::Body;
            Some(self.read_body(&mut fetched, progress.port).await?)
        } else {
            None
        };
        feeds::judge(
            plan,
            target,
            status,
            fetched.response.headers(),
            body.as_deref(),
        )
        .map(|()| None)
    }

    /// A token from a Docker registry's token service, asked with the connector's Basic
    /// credentials (`auth`).
    async fn docker_token(
        &self,
        challenge: &credentials::BearerChallenge,
        connector: &url::Url,
        auth: &client::Auth,
        observed: &mut Observation,
        progress: &mut Progress,
    ) -> Result<String, Failure> {
        let url = challenge.token_url(connector)?;
        let mut fetched = self
            .fetch(
                http::Method::GET,
                &url,
                Some("application/json"),
                false,
                auth,
                observed,
                progress,
            )
            .await?;
        let status = fetched.response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(credentials::rejected(&fetched.host));
        }
        if !status.is_success() {
            return Err(client::status_failure(status));
        }
        progress.step = Step::Body;
        let body = self.read_body(&mut fetched, progress.port).await?;
        credentials::token_of(&body).ok_or_else(|| {
            Failure::new(
                FailureKind::UnexpectedResponse,
                format!("The token service at {} answered no token.", fetched.host),
            )
        })
    }

    async fn read_body(
        &self,
        fetched: &mut client::Fetched,
        port: u16,
    ) -> Result<Vec<u8>, Failure> {
        let cap = self.settings.max_body_bytes;
        let too_large = || {
            Failure::new(
                FailureKind::UnexpectedResponse,
                format!(
                    "Response from {} is larger than {}.",
                    fetched.host,
                    size(cap)
                ),
            )
        };
        let declared = fetched
            .response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > cap as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(frame) = fetched.response.body_mut().frame().await {
            let frame = frame.map_err(|e| client::exchange_failure(&e, &fetched.host, port))?;
            if let Some(data) = frame.data_ref() {
                if body.len() + data.len() > cap {
                    return Err(too_large());
                }
                body.extend_from_slice(data);
            }
        }
        Ok(body)
    }
}

/// A response's `Retry-After` as of `now`: delta-seconds or an HTTP date (a past date is
/// zero), at most [`RateLimit::MAX_RETRY_AFTER`]; `None` when absent or neither.
fn retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let after = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "very long".
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(after.min(RateLimit::MAX_RETRY_AFTER))
}

fn size(bytes: usize) -> String {
    if bytes & (1024 * 1024 - 1) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes & 1023 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

impl Prober for HttpProber {
    async fn prepare(&self) -> Result<(), ProberNotReady> {
        HttpProber::prepare(self).await.map_err(ProberNotReady::new)
    }

    async fn probe(&self, target: &ProbeTarget, timeout: Duration) -> ProbeOutcome {
        let started = Instant::now();
        let mut observed = Observation::default();
        let mut progress = Progress {
            step: Step::Resolve,
            host: String::new(),
            port: 0,
        };
        let verdict =
            tokio::time::timeout(timeout, self.check(target, &mut observed, &mut progress))
                .await
                .unwrap_or_else(|_| Err(timeout_failure(&progress, timeout)));
        observed.response_time = Some(started.elapsed());
        ProbeOutcome { verdict, observed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::RootCertStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its loads; the first `failures` fail.
    #[derive(Default)]
    struct CountingLoader {
        loads: AtomicUsize,
        failures: usize,
    }

    impl TrustLoader for CountingLoader {
        fn load(&self) -> trust::TrustFuture<'_> {
            Box::pin(async move {
                let n = self.loads.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                if n < self.failures {
                    return Err(TrustError::Setup(tls::TlsSetupError::NoRoots));
                }
                Ok(tls::client_config(RootCertStore::empty())?)
            })
        }
    }

    fn lazy(loader: &Arc<CountingLoader>) -> HttpProber {
        HttpProber::with_trust_loader(
            ProberSettings::default(),
            loader.clone(),
            Arc::new(StaticResolver::new()),
        )
    }

    #[tokio::test]
    async fn the_trust_is_loaded_once_on_first_use_and_kept_by_clones() {
        let loader = Arc::new(CountingLoader::default());
        let prober = lazy(&loader);
        assert_eq!(loader.loads.load(Ordering::SeqCst), 0, "built, not loaded");
        let clone = prober.clone();
        let (a, b) = tokio::join!(prober.prepare(), clone.prepare());
        assert!(a.is_ok() && b.is_ok());
        for _ in 0..3 {
            Prober::prepare(&clone).await.unwrap();
        }
        assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_is_tried_again_by_the_next_caller_only() {
        let loader = Arc::new(CountingLoader {
            failures: 2,
            ..CountingLoader::default()
        });
        let prober = lazy(&loader);
        let e = prober.prepare().await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "no trusted root certificates could be loaded from the system"
        );
        assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
        assert!(prober.prepare().await.is_err());
        prober.prepare().await.unwrap();
        prober.prepare().await.unwrap();
        assert_eq!(loader.loads.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        let with = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_str(value).unwrap(),
            );
            retry_after(&headers, now)
        };
        assert_eq!(with("120"), Some(Duration::from_secs(120)));
        assert_eq!(with(" 0 "), Some(Duration::ZERO));
        let in_90_s = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(with(&in_90_s), Some(Duration::from_secs(90)));
        let an_hour_ago = httpdate::fmt_http_date(now - Duration::from_secs(3600));
        assert_eq!(with(&an_hour_ago), Some(Duration::ZERO));
        // The obsolete date forms are read too.
        assert!(with("Sunday, 06-Nov-94 08:49:37 GMT").is_some());
        assert!(with("Sun Nov  6 08:49:37 1994").is_some());
        for absurd in ["86400", "99999999999999999999999"] {
            assert_eq!(with(absurd), Some(RateLimit::MAX_RETRY_AFTER), "{absurd}");
        }
        for unusable in ["", "soon", "-5", "1.5", "12 s"] {
            assert_eq!(with(unusable), None, "{unusable:?}");
        }
        assert_eq!(retry_after(&http::HeaderMap::new(), now), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
        assert_eq!(size(1024 * 1024), "1 MiB");
    }
}
