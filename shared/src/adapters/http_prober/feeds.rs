//! Per feed type: the lightest request that proves the feed answers as that kind of feed,
//! and how its response is judged.

use super::client::status_failure;
use crate::domain::FeedType;
use crate::domain::{redact, UrlView};
use crate::probe::outcome::{Failure, FailureKind};
use crate::probe::target::{
    ProbeTarget, DEFAULT_NPM_PACKAGE, DEFAULT_PYPI_PROJECT, DEFAULT_RUBYGEM,
};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

/// How a response is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check {
    /// Any 2xx.
    Success,
    /// 200, or 401 with a `WWW-Authenticate` challenge.
    DockerV2,
    /// NuGet v3 service index, or (unless the URL names a `.json` index) a v2 service document.
    NuGet { v3_only: bool },
    /// NuGet v2 / Chocolatey OData service document.
    ODataService,
    /// A PEP 691 JSON or PEP 503 HTML page: of `project`, or the index itself (a server
    /// may answer a project with its index). 404 is named for a project the connector
    /// names (`named`); the default project missing sends the probe to the index instead.
    PyPiProject { project: String, named: bool },
    /// The index (`/simple/`), as PEP 691 JSON or PEP 503 HTML.
    PyPiIndex,
    /// Any 2xx or a 404 (the registry answered the package's document; a refusal is named
    /// before, as for every feed).
    NpmPackage,
    /// A compact-index `info` file.
    CompactIndex { gem: String },
}

/// The request to make and how to judge its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub method: Method,
    pub url: Url,
    pub accept: Option<&'static str>,
    pub check: Check,
    /// Redirects to another host name are not followed: the feed is judged by its own
    /// server (a private PyPI index sends projects it lacks to pypi.org).
    pub same_host: bool,
}

/// What PyPI probes accept: PEP 691 JSON preferred, PEP 503 HTML.
const PYPI_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// `url` with a trailing slash on its path, so relative joins append instead of replace.
fn as_base(url: &Url) -> Url {
    let mut base = url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    base
}

fn join(url: &Url, relative: &str) -> Result<Url, Failure> {
    as_base(url).join(relative).map_err(|_| {
        Failure::new(
            FailureKind::InvalidUrl,
            "Connector URL cannot be combined with the probe path.",
        )
    })
}

/// Everything but RFC 3986 unreserved characters is escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// The request for `target`.
pub(super) fn plan(target: &ProbeTarget) -> Result<Plan, Failure> {
    let url = Url::parse(&target.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            Failure::new(
                FailureKind::InvalidUrl,
                "Connector URL is not a valid http or https URL.",
            )
        })?;
    let package = target.package.as_deref();
    let get = |url: Url, accept: Option<&'static str>, check: Check| Plan {
        method: Method::GET,
        url,
        accept,
        check,
        same_host: false,
    };
    Ok(match target.feed_type {
        // With credentials, a package document: `/-/ping` is often public when packages
        // are not, so only a package fetch shows whether the credentials open the feed.
        FeedType::Npm => match package.or_else(|| {
            (target.credentials.is_some() || redact::hides_something(&target.url))
                .then_some(DEFAULT_NPM_PACKAGE)
        }) {
            Some(package) => get(
                join(&url, &npm_package_path(package))?,
                Some("application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"),
                Check::NpmPackage,
            ),
            None => get(
                join(&url, "-/ping")?,
                Some("application/json"),
                Check::Success,
            ),
        },
        FeedType::NuGet => {
            let v3_only = url.path().ends_with(".json");
            get(
                url,
                Some("application/json, application/xml;q=0.9, */*;q=0.1"),
                Check::NuGet { v3_only },
            )
        }
        FeedType::Chocolatey => get(
            url,
            Some("application/atomsvc+xml, application/xml;q=0.9, */*;q=0.1"),
            Check::ODataService,
        ),
        FeedType::PyPi => {
            let project = package.unwrap_or(DEFAULT_PYPI_PROJECT).to_owned();
            Plan {
                same_host: true,
                ..get(
                    join(&pypi_index_url(&url)?, &format!("{}/", segment(&project)))?,
                    Some(PYPI_ACCEPT),
                    Check::PyPiProject {
                        project,
                        named: package.is_some(),
                    },
                )
            }
        }
        FeedType::Maven => {
            let url = match package.and_then(|p| p.split_once(':')) {
                Some((group, artifact)) => join(
                    &url,
                    &format!(
                        "{}/{}/maven-metadata.xml",
                        group.split('.').map(segment).collect::<Vec<_>>().join("/"),
                        segment(artifact)
                    ),
                )?,
                None => as_base(&url),
            };
            Plan {
                method: Method::HEAD,
                url,
                accept: None,
                check: Check::Success,
                same_host: false,
            }
        }
        FeedType::Docker => {
            let trimmed = url.path().trim_end_matches('/');
            let v2 = if trimmed.ends_with("/v2") {
                as_base(&url)
            } else {
                join(&url, "v2/")?
            };
            get(v2, Some("application/json"), Check::DockerV2)
        }
        FeedType::RubyGems => {
            let gem = package.unwrap_or(DEFAULT_RUBYGEM).to_owned();
            get(
                join(&url, &format!("info/{}", segment(&gem)))?,
                Some("text/plain"),
                Check::CompactIndex { gem },
            )
        }
        FeedType::Generic => get(url, None, Check::Success),
    })
}

/// The index of a PyPI feed: the URL itself when it ends in `/simple`, else `simple/`
/// under it (so a server root `https://host/` is checked at `/simple/`).
fn pypi_index_url(url: &Url) -> Result<Url, Failure> {
    if url.path().trim_end_matches('/').ends_with("/simple") {
        Ok(as_base(url))
    } else {
        join(url, "simple/")
    }
}

/// A package's document path as npm asks for it: `left-pad`, `@scope%2fname`.
fn npm_package_path(package: &str) -> String {
    match package
        .strip_prefix('@')
        .and_then(|scoped| scoped.split_once('/'))
    {
        Some((scope, name)) => format!("@{}%2f{}", segment(scope), segment(name)),
        None => segment(package),
    }
}

/// Whether `status` to `plan` means the feed does not hold the project the probe asked
/// for by default (a private PyPI index holds only its own projects): the index judges it.
pub(super) fn not_held(plan: &Plan, status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND && matches!(plan.check, Check::PyPiProject { named: false, .. })
}

/// After `plan` met a redirect to another host it did not follow, or found the default
/// project not held ([`not_held`]): the request that judges the feed on its own server
/// instead, if the feed type has one (PyPI: the index).
pub(super) fn fallback(plan: &Plan, target: &ProbeTarget) -> Option<Plan> {
    match plan.check {
        Check::PyPiProject { .. } => {
            let url = Url::parse(&target.url).ok()?;
            Some(Plan {
                method: Method::GET,
                url: pypi_index_url(&url).ok()?,
                accept: Some(PYPI_ACCEPT),
                check: Check::PyPiIndex,
                same_host: true,
            })
        }
        _ => None,
    }
}

/// The host name a redirect went to, for messages.
fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

/// What `plan` asked for, to start a message.
fn what_of(plan: &Plan) -> String {
    match &plan.check {
        Check::PyPiProject { project, .. } => format!("PyPI project {project}"),
        _ => "The feed".to_owned(),
    }
}

/// Why the first request of a plan did not decide.
pub(super) enum Undecided<'a> {
    /// It was redirected to another host (this URL), not followed.
    Elsewhere(&'a Url),
    /// The default project is not on the feed (HTTP 404).
    NotHeld,
}

/// Why a feed failed after its first request (`first`) did not decide (`why`) and the
/// fallback request `second`, to the index, answered `outcome` (`Ok(Some(_))`: redirected to
/// another host).
pub(super) fn after_fallback(
    first: &Plan,
    why: Undecided<'_>,
    second: &Plan,
    outcome: Result<Option<Url>, Failure>,
) -> Result<(), Failure> {
    let what = what_of(first);
    let index = second.url.path();
    let redirect = |message: String| Err(Failure::new(FailureKind::Redirect, message));
    match (outcome, why) {
        (Ok(None), _) => Ok(()),
        (Err(f), _) if f.kind == FailureKind::RateLimited => Err(f),
        (Ok(Some(again)), Undecided::NotHeld) => redirect(format!(
            "{what} is not on this feed (HTTP 404) and the index {index} redirects to {} (another host); a feed is judged by its own server.",
            host_of(&again)
        )),
        (Ok(Some(again)), Undecided::Elsewhere(elsewhere))
            if host_of(&again) == host_of(elsewhere) =>
        {
            redirect(format!(
                "{what} and the index {index} redirect to {} (another host); a feed is judged by its own server.",
                host_of(elsewhere)
            ))
        }
        (Ok(Some(again)), Undecided::Elsewhere(elsewhere)) => redirect(format!(
            "{what} redirects to {} and the index {index} to {} (other hosts); a feed is judged by its own server.",
            host_of(elsewhere),
            host_of(&again)
        )),
        (Err(f), why) => Err(Failure {
            message: match why {
                Undecided::NotHeld => format!(
                    "{what} is not on this feed (HTTP 404); the index {index} failed: {}",
                    f.message
                ),
                Undecided::Elsewhere(elsewhere) => format!(
                    "{what} redirects to {} (another host); the index {index} on {} failed: {}",
                    host_of(elsewhere),
                    host_of(&second.url),
                    f.message
                ),
            },
            ..f
        }),
    }
}

/// Whether judging a response with this status needs its body.
pub(super) fn needs_body(check: &Check, status: StatusCode) -> bool {
    status.is_success()
        && matches!(
            check,
            Check::NuGet { .. }
                | Check::ODataService
                | Check::PyPiProject { .. }
                | Check::PyPiIndex
                | Check::CompactIndex { .. }
        )
}

fn not_a(what: &str) -> Failure {
    Failure::new(
        FailureKind::UnexpectedResponse,
        format!("Response is not {what}."),
    )
}

fn is_nuget_v3(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    json.get("version")
        .and_then(|v| v.as_str())
        .is_some_and(|v| v.starts_with("3."))
        && json.get("resources").is_some_and(|r| r.is_array())
}

fn is_odata_service(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("<service")
        && (text.contains("href=\"Packages\"") || text.contains("href='Packages'"))
}

fn is_pypi_page(headers: &HeaderMap, body: &[u8]) -> bool {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.contains("json") {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        json.get("meta")
            .and_then(|m| m.get("api-version"))
            .is_some_and(|v| v.is_string())
            && (json.get("files").is_some_and(|f| f.is_array())
                || json.get("projects").is_some_and(|p| p.is_array()))
    } else if content_type.contains("html") {
        String::from_utf8_lossy(body)
            .to_ascii_lowercase()
            .contains("<html")
    } else {
        false
    }
}

/// Judges the final response. `body` is present when [`needs_body`] said so.
pub(super) fn judge(
    plan: &Plan,
    target: &ProbeTarget,
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<(), Failure> {
    let body = body.unwrap_or_default();
    match &plan.check {
        Check::DockerV2 => match status.as_u16() {
            200 => Ok(()),
            401 if headers.contains_key(http::header::WWW_AUTHENTICATE) => Ok(()),
            401 => Err(Failure::new(
                FailureKind::UnexpectedResponse,
                "HTTP 401 Unauthorized without a WWW-Authenticate challenge.",
            )),
            404 => Err(Failure::new(
                FailureKind::UnexpectedResponse,
                format!(
                    "Registry at {} does not implement the Docker registry v2 API (HTTP 404).",
                    redact(&target.url, UrlView::Location)
                ),
            )),
            _ => Err(status_failure(status)),
        },
        Check::PyPiProject { project, .. } if status == StatusCode::NOT_FOUND => Err(Failure::new(
            FailureKind::HttpStatus,
            format!("Project {project} was not found on this PyPI feed (HTTP 404)."),
        )),
        Check::NpmPackage if status == StatusCode::NOT_FOUND => Ok(()),
        Check::CompactIndex { gem } if status == StatusCode::NOT_FOUND => Err(Failure::new(
            FailureKind::HttpStatus,
            format!("Gem {gem} was not found in this feed's compact index (HTTP 404)."),
        )),
        _ if !status.is_success() => Err(status_failure(status)),
        Check::Success | Check::NpmPackage => Ok(()),
        Check::NuGet { v3_only } => {
            let looks_json = body.trim_ascii_start().starts_with(b"{");
            if *v3_only || looks_json {
                is_nuget_v3(body)
                    .then_some(())
                    .ok_or_else(|| not_a("a NuGet v3 service index"))
            } else {
                is_odata_service(body)
                    .then_some(())
                    .ok_or_else(|| not_a("a NuGet v3 service index or v2 service document"))
            }
        }
        Check::ODataService => is_odata_service(body)
            .then_some(())
            .ok_or_else(|| not_a("a NuGet v2 (OData) service document")),
        Check::PyPiProject { .. } | Check::PyPiIndex => is_pypi_page(headers, body)
            .then_some(())
            .ok_or_else(|| not_a("a PyPI simple index page")),
        Check::CompactIndex { .. } => body
            .starts_with(b"---")
            .then_some(())
            .ok_or_else(|| not_a("a RubyGems compact index entry")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConnectorId;

    fn target(url: &str, feed: FeedType, package: Option<&str>) -> ProbeTarget {
        let mut t = ProbeTarget::new(ConnectorId::new(1).unwrap(), url, feed);
        t.package = package.map(Into::into);
        t
    }

    fn url_of(url: &str, feed: FeedType, package: Option<&str>) -> String {
        plan(&target(url, feed, package)).unwrap().url.to_string()
    }

    #[test]
    fn each_feed_type_asks_for_the_documented_path() {
        assert_eq!(
            url_of("https://r.test", FeedType::Npm, None),
            "https://r.test/-/ping"
        );
        assert_eq!(
            url_of("https://r.test/npm/feed", FeedType::Npm, None),
            "https://r.test/npm/feed/-/ping"
        );
        assert_eq!(
            url_of("https://r.test/npm/", FeedType::Npm, Some("left-pad")),
            "https://r.test/npm/left-pad"
        );
        assert_eq!(
            url_of("https://r.test", FeedType::Npm, Some("@acme/widget")),
            "https://r.test/@acme%2fwidget"
        );
        assert_eq!(
            url_of("https://pypi.test", FeedType::PyPi, None),
            "https://pypi.test/simple/sampleproject/"
        );
        let t = target("https://pypi.test/", FeedType::PyPi, Some("six"));
        let p = plan(&t).unwrap();
        assert!(p.same_host);
        assert_eq!(
            fallback(&p, &t).unwrap().url.as_str(),
            "https://pypi.test/simple/"
        );
        let t = target("https://h.test/pypi/simple", FeedType::PyPi, None);
        assert_eq!(
            fallback(&plan(&t).unwrap(), &t).unwrap().url.as_str(),
            "https://h.test/pypi/simple/"
        );
        assert_eq!(
            url_of("https://pypi.test/simple/", FeedType::PyPi, Some("six")),
            "https://pypi.test/simple/six/"
        );
        assert_eq!(
            url_of("https://d.test", FeedType::Docker, None),
            "https://d.test/v2/"
        );
        assert_eq!(
            url_of("https://d.test/v2", FeedType::Docker, None),
            "https://d.test/v2/"
        );
        assert_eq!(
            url_of(
                "https://m.test/maven2",
                FeedType::Maven,
                Some("org.apache:commons-io")
            ),
            "https://m.test/maven2/org/apache/commons-io/maven-metadata.xml"
        );
        assert_eq!(
            url_of("https://m.test/maven2", FeedType::Maven, None),
            "https://m.test/maven2/"
        );
        assert_eq!(
            url_of("https://g.test", FeedType::RubyGems, None),
            "https://g.test/info/rake"
        );
        assert_eq!(
            url_of("https://x.test/a?b=1", FeedType::Generic, None),
            "https://x.test/a?b=1"
        );
        assert_eq!(
            plan(&target("https://m.test", FeedType::Maven, None))
                .unwrap()
                .method,
            Method::HEAD
        );
    }

    #[test]
    fn urls_that_are_not_http_are_refused() {
        for bad in ["ftp://x.test", "not a url", "http://", "file:///etc/passwd"] {
            let f = plan(&target(bad, FeedType::Generic, None)).unwrap_err();
            assert_eq!(f.kind, FailureKind::InvalidUrl, "{bad}");
        }
    }

    #[test]
    fn nuget_bodies_are_recognised() {
        let p = plan(&target(
            "https://n.test/v3/index.json",
            FeedType::NuGet,
            None,
        ))
        .unwrap();
        let t = target("https://n.test/v3/index.json", FeedType::NuGet, None);
        let h = HeaderMap::new();
        let ok = br#"{"version":"3.0.0","resources":[]}"#;
        assert!(judge(&p, &t, StatusCode::OK, &h, Some(ok)).is_ok());
        let f = judge(&p, &t, StatusCode::OK, &h, Some(b"<html/>")).unwrap_err();
        assert_eq!(f.message, "Response is not a NuGet v3 service index.");
        let v2 = plan(&target("https://n.test/api/v2", FeedType::NuGet, None)).unwrap();
        let doc = br#"<?xml version="1.0"?><service xml:base="x"><workspace><collection href="Packages"/></workspace></service>"#;
        assert!(judge(&v2, &t, StatusCode::OK, &h, Some(doc)).is_ok());
    }
}
