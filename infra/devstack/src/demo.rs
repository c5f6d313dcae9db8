//! Demo connectors for `seed-demo` and `make dev`, modelled on public feeds, with every
//! state represented: healthy (with probe diagnostics), error (with the one-sentence
//! messages the prober writes) and unknown (never probed).

use chrono::{DateTime, Duration, Utc};
use shared::domain::FeedType;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};

fn connector(name: &str, url: &str, health: Health, diagnostics: Diagnostics) -> Connector {
    Connector {
        // Placeholder; the id is chosen when the row is added.
        id: ConnectorId::new(1).unwrap_or_else(|| unreachable!("1 is a valid id")),
        name: name.to_owned(),
        url: url.to_owned(),
        health,
        diagnostics,
    }
}

fn healthy(at: DateTime<Utc>, ms: u64) -> (Health, Diagnostics) {
    (
        Health::Healthy { last_checked: at },
        Diagnostics {
            response_time_ms: Some(ms),
            http_status: Some(200),
            consecutive_failures: Some(0),
            state_changed_at: Some(at - Duration::days(3)),
            certificate_expires_at: None,
            credentials_expire_at: None,
        },
    )
}

fn failed(
    at: DateTime<Utc>,
    message: &str,
    status: Option<u16>,
    failures: u32,
) -> (Health, Diagnostics) {
    (
        Health::Error {
            message: message.to_owned(),
            last_checked: at,
        },
        Diagnostics {
            response_time_ms: None,
            http_status: status,
            consecutive_failures: Some(failures),
            state_changed_at: Some(at - Duration::minutes(i64::from(failures) * 5)),
            certificate_expires_at: None,
            credentials_expire_at: None,
        },
    )
}

/// The demo connectors, in the order they get ids, as checked shortly before `now`.
pub fn connectors(now: DateTime<Utc>) -> Vec<(Connector, FeedType)> {
    let at = |seconds: i64| now - Duration::seconds(seconds);
    let with = |name: &str, url: &str, (health, diag): (Health, Diagnostics)| {
        connector(name, url, health, diag)
    };
    vec![
        (
            with(
                "npmjs.org",
                "https://registry.npmjs.org",
                healthy(at(12), 143),
            ),
            FeedType::Npm,
        ),
        (
            with(
                "chocolatey.org",
                "https://community.chocolatey.org/api/v2",
                healthy(at(12), 388),
            ),
            FeedType::Chocolatey,
        ),
        (
            with(
                "nuget.org",
                "https://api.nuget.org/v3/index.json",
                failed(at(14), "Connection timed out after 10 s.", None, 3),
            ),
            FeedType::NuGet,
        ),
        (
            with("pypi.org", "https://pypi.org/simple", healthy(at(13), 97)),
            FeedType::PyPi,
        ),
        (
            with(
                "Maven Central",
                "https://repo.maven.apache.org/maven2",
                healthy(at(13), 215),
            ),
            FeedType::Maven,
        ),
        (
            with(
                "Docker Hub",
                "https://registry-1.docker.io",
                failed(at(15), "HTTP 503 Service Unavailable.", Some(503), 1),
            ),
            FeedType::Docker,
        ),
        (
            connector(
                "rubygems.org",
                "https://rubygems.org",
                Health::Unknown,
                Diagnostics::default(),
            ),
            FeedType::RubyGems,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::State;

    #[test]
    fn every_state_is_represented_and_names_are_unique() {
        let all = connectors(Utc::now());
        assert!((6..=8).contains(&all.len()));
        for state in [State::Healthy, State::Error, State::Unknown] {
            assert!(
                all.iter().any(|(c, _)| c.health.state() == state),
                "{state:?}"
            );
        }
        let mut names: Vec<&str> = all.iter().map(|(c, _)| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for (c, _) in &all {
            if let Health::Error { message, .. } = &c.health {
                assert!(message.ends_with('.') && !message.contains('\n'));
            }
        }
    }
}
