//! The prober against real registry software on 127.0.0.1, open and behind htpasswd:
//! Verdaccio (npm), pypiserver (PyPI) and the CNCF distribution registry (Docker). Right
//! credentials read healthy, wrong ones and none are named as the registry answers them,
//! and each feed is judged by its own server.

use shared::domain::{Credentials, FeedType};
use shared::probe::outcome::ProbeOutcome;
use std::time::Duration;
use testkit::credentials::{basic, probe};
use testkit::registry_software::{Access, RegistryProcess, UnknownProject, PASSWORD, USER};

/// Generous: the registries run beside the compiler on a busy machine.
const TIMEOUT: Duration = Duration::from_secs(10);

const REJECTED: &str = "Credentials were rejected by 127.0.0.1 (HTTP 401): the connector's user name, password or token is wrong or expired.";
const NONE: &str = "127.0.0.1 requires credentials (HTTP 401) and the connector has none.";
const MAY_NOT_READ: &str = "The connector's credentials may not read this feed (HTTP 403).";

fn right() -> Option<Credentials> {
    Some(basic(USER, PASSWORD))
}

fn wrong() -> Option<Credentials> {
    Some(basic(USER, "not-the-password"))
}

/// `Ok` or the failure's message, and the registry's output on a surprise.
async fn check(
    registry: &RegistryProcess,
    path: &str,
    feed: FeedType,
    package: Option<&str>,
    credentials: Option<Credentials>,
) -> Result<(), String> {
    let outcome: ProbeOutcome =
        probe(&registry.url(path), feed, package, credentials, TIMEOUT).await;
    let text = format!("{outcome:?}");
    assert!(!text.contains(PASSWORD), "the password in {text}");
    outcome.verdict.map_err(|f| f.message)
}

#[tokio::test]
async fn verdaccio_open() {
    let Some(npm) = RegistryProcess::verdaccio(Access::Open).await else {
        return;
    };
    let at = |package, credentials| check(&npm, "/", FeedType::Npm, package, credentials);
    // `/-/ping`; a package it holds; one it does not (404: up, and it accepted us).
    assert_eq!(at(None, None).await, Ok(()), "{}", npm.output());
    assert_eq!(at(Some("left-pad"), None).await, Ok(()));
    assert_eq!(at(Some("not-here"), None).await, Ok(()));
    // Credentials it does not know are not needed and not asked for here.
    assert_eq!(at(None, right()).await, Ok(()));
}

#[tokio::test]
async fn verdaccio_behind_htpasswd() {
    let Some(npm) = RegistryProcess::verdaccio(Access::Htpasswd).await else {
        return;
    };
    let at = |package, credentials| check(&npm, "/", FeedType::Npm, package, credentials);
    // With credentials, a package document is fetched (left-pad by default), so they are
    // put to the test: right ones read the feed, wrong ones are rejected.
    assert_eq!(at(None, right()).await, Ok(()), "{}", npm.output());
    assert_eq!(at(Some("not-here"), right()).await, Ok(()));
    assert_eq!(at(None, wrong()).await, Err(REJECTED.to_owned()));
    // A package kept to a group the user is not in.
    assert_eq!(
        at(Some("secret-plans"), right()).await,
        Err(MAY_NOT_READ.to_owned())
    );
    // Without credentials: a probe package shows they are needed. Without either, the ping
    // (public in Verdaccio) is all there is to ask, and it answers.
    assert_eq!(at(Some("left-pad"), None).await, Err(NONE.to_owned()));
    assert_eq!(at(None, None).await, Ok(()));
}

#[tokio::test]
async fn pypiserver_open_is_judged_by_its_own_index() {
    for (holds_sampleproject, unknown) in [
        (true, UnknownProject::RedirectToPypiOrg),
        (false, UnknownProject::RedirectToPypiOrg),
        (false, UnknownProject::NotFound),
    ] {
        let Some(pypi) =
            RegistryProcess::pypiserver(Access::Open, holds_sampleproject, unknown).await
        else {
            return;
        };
        // Without the project, pypiserver redirects to pypi.org, or (without fallback)
        // answers 404: the probe does not follow the redirect (nothing leaves 127.0.0.1)
        // and reads the index `/simple/` instead. The URL given as the server root is
        // checked at `/simple/`.
        for path in ["/simple/", "/"] {
            assert_eq!(
                check(&pypi, path, FeedType::PyPi, None, None).await,
                Ok(()),
                "{path}, sampleproject held: {holds_sampleproject}, {unknown:?}; {}",
                pypi.output()
            );
        }
        assert_eq!(
            check(&pypi, "/simple/", FeedType::PyPi, None, right()).await,
            Ok(())
        );
        // A project the connector names, not held (and not sent elsewhere): named.
        if unknown == UnknownProject::NotFound {
            assert_eq!(
                check(&pypi, "/", FeedType::PyPi, Some("acme-widgets"), None).await,
                Err("Project acme-widgets was not found on this PyPI feed (HTTP 404).".to_owned())
            );
        }
    }
}

#[tokio::test]
async fn pypiserver_behind_htpasswd() {
    let Some(pypi) =
        RegistryProcess::pypiserver(Access::Htpasswd, false, UnknownProject::RedirectToPypiOrg)
            .await
    else {
        return;
    };
    let at = |credentials| check(&pypi, "/simple/", FeedType::PyPi, None, credentials);
    assert_eq!(at(right()).await, Ok(()), "{}", pypi.output());
    assert_eq!(at(None).await, Err(NONE.to_owned()));
    // pypiserver answers a wrong password with 403, not 401: the probe can only say what
    // the server said.
    assert_eq!(at(wrong()).await, Err(MAY_NOT_READ.to_owned()));
}

#[tokio::test]
async fn docker_registry_open() {
    let Some(docker) = RegistryProcess::distribution(Access::Open).await else {
        return;
    };
    for credentials in [None, right()] {
        assert_eq!(
            check(&docker, "/", FeedType::Docker, None, credentials).await,
            Ok(()),
            "{}",
            docker.output()
        );
    }
}

#[tokio::test]
async fn docker_registry_behind_htpasswd() {
    let Some(docker) = RegistryProcess::distribution(Access::Htpasswd).await else {
        return;
    };
    let at = |credentials| check(&docker, "/", FeedType::Docker, None, credentials);
    assert_eq!(at(right()).await, Ok(()), "{}", docker.output());
    assert_eq!(at(wrong()).await, Err(REJECTED.to_owned()));
    // Without credentials its Basic challenge shows a working registry, as for any Docker
    // registry that wants a login.
    assert_eq!(at(None).await, Ok(()));
}
