//! `chadmin health`: call the API like a monitoring job would and say whether every
//! connector is healthy.
//!
//! Exit status: 0 every connector is healthy and checked recently; 1 at least one is
//! `error` or `unknown`, or stale (the API marks it `"stale": true`, or its `lastChecked` is
//! more than three probe intervals old); 2 the check itself failed (no URL or key, key
//! refused, connector not found, API or network down).

use crate::cli::HealthArgs;
use crate::error::{AdminError, Result};
use crate::output::stdout;
use crate::target::Target;
use crate::text_table;
use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::domain::Staleness;
use std::io::IsTerminal;
use std::time::Duration;

/// The list path of the API.
const LIST_PATH: &str = "/api/connector-health";

pub async fn run(target: &Target, args: &HealthArgs) -> Result<()> {
    let connectors = fetch(target, args)
        .await
        .map_err(|e| AdminError::WithStatus(2, Box::new(e)))?;
    let staleness = Staleness {
        probe_interval: Duration::from_secs(args.probe_interval_seconds),
    };
    let now = Utc::now();
    if args.json {
        let text = serde_json::to_string_pretty(&connectors)
            .map_err(|e| AdminError::WithStatus(2, Box::new(AdminError::Io(e.to_string()))))?;
        stdout(&format!("{text}\n"))?;
    } else {
        let list = match &connectors {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        stdout(&table(
            &list,
            &staleness,
            now,
            std::io::stdout().is_terminal(),
        ))?;
    }
    if all_healthy(&connectors, &staleness, now) {
        Ok(())
    } else {
        Err(AdminError::Unhealthy)
    }
}

/// Whether every connector in the answer (an array, or one object) is `healthy` and not
/// [`is_stale`].
pub fn all_healthy(answer: &Value, staleness: &Staleness, now: DateTime<Utc>) -> bool {
    let ok = |c: &Value| c["state"] == "healthy" && !is_stale(c, staleness, now);
    match answer {
        Value::Array(items) => items.iter().all(ok),
        one => ok(one),
    }
}

/// Whether a connector of the API's answer is stale: the API says so (`"stale": true`),
/// or its `lastChecked` is older than the staleness rule allows (for an API that does not
/// mark it, or one configured with a longer interval than the operator expects).
pub fn is_stale(connector: &Value, staleness: &Staleness, now: DateTime<Utc>) -> bool {
    if connector["stale"] == Value::Bool(true) {
        return true;
    }
    connector["lastChecked"]
        .as_str()
        .and_then(shared::domain::parse_timestamp)
        .is_some_and(|at| {
            (now - at)
                .to_std()
                .is_ok_and(|age| age > staleness.max_age())
        })
}

/// The base URL without a trailing slash or the API path.
fn base_url(target: &Target, args: &HealthArgs) -> Result<String> {
    let base = args
        .url
        .clone()
        .or_else(|| target.stack.as_ref().and_then(|(_, o)| o.api_url.clone()))
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            AdminError::Config(
                "no API URL given: pass --url or --stack, or set CONNECTOR_HEALTH_URL".into(),
            )
        })?;
    let base = base.trim().trim_end_matches('/');
    let base = base.strip_suffix(LIST_PATH).unwrap_or(base);
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(AdminError::Config(format!(
            "the API URL must start with https:// or http:// (got {base:?})"
        )));
    }
    Ok(base.to_owned())
}

async fn fetch(target: &Target, args: &HealthArgs) -> Result<Value> {
    let base = base_url(target, args)?;
    let key = args
        .key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            AdminError::Config(
                "no API key given: pass --key or set CONNECTOR_HEALTH_API_KEY".into(),
            )
        })?;
    let url = match args.id {
        Some(id) => format!("{base}{LIST_PATH}/{id}"),
        None => format!("{base}{LIST_PATH}"),
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, get(&url, key))
        .await
        .map_err(|_| AdminError::Io(format!("{base} did not answer within 30 s")))?
        .map_err(|e| AdminError::Io(format!("cannot reach {base}: {e}")))?;
    match status {
        200 => serde_json::from_slice(&body)
            .map_err(|e| AdminError::Io(format!("the API's answer is not JSON: {e}"))),
        403 => Err(AdminError::Config(
            "the API refused the key (403): check the key, its grants and expiry".into(),
        )),
        404 => Err(AdminError::NotFound(match args.id {
            Some(id) => format!("no connector with id {id} (404)"),
            None => format!("{url} is not the connector-health API (404)"),
        })),
        _ => Err(AdminError::Io(format!("the API answered HTTP {status}"))),
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One `GET` over HTTP/1.1 (TLS with the system roots for https) with `key` as its
/// `X-ApiKey` header: status and body.
pub(crate) async fn get(url: &str, key: &str) -> std::result::Result<(u16, bytes::Bytes), String> {
    use http_body_util::BodyExt;
    let parsed = url::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| e.to_string())?;
    let mut path = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        path = format!("{path}?{q}");
    }
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header("X-ApiKey", key)
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("chadmin/", env!("CARGO_PKG_VERSION")),
        )
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = if parsed.scheme() == "https" {
        let tls = shared::adapters::http_prober::tls::system_client_config()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        send(hyper_util::rt::TokioIo::new(stream), request).await?
    } else {
        send(hyper_util::rt::TokioIo::new(tcp), request).await?
    };
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

async fn send<T>(
    io: T,
    request: http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> std::result::Result<http::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// The table; a stale connector's state reads `healthy (stale)` (or `error (stale)`); with
/// `colour`, states in green / red / yellow (stale is yellow).
pub fn table(
    connectors: &[Value],
    staleness: &Staleness,
    now: DateTime<Utc>,
    colour: bool,
) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = connectors
        .iter()
        .map(|c| {
            vec![
                text(&c["id"]),
                text(&c["name"]),
                if is_stale(c, staleness, now) {
                    format!("{} (stale)", text(&c["state"]))
                } else {
                    text(&c["state"])
                },
                text(&c["lastChecked"]),
                text(&c["errorMessage"]),
            ]
        })
        .collect();
    let plain = text_table::render(&["ID", "NAME", "STATE", "LAST CHECKED", "ERROR"], &rows);
    if !colour {
        return plain;
    }
    // Colour the STATE column after alignment, so escape codes do not skew the widths.
    let header = plain.lines().next().unwrap_or_default();
    let column = header
        .find("STATE")
        .map(|byte| header[..byte].chars().count())
        .unwrap_or(0);
    let mut out = String::new();
    for (i, line) in plain.lines().enumerate() {
        let state = i
            .checked_sub(1)
            .and_then(|r| rows.get(r))
            .map(|r| r[2].as_str());
        let code = match state {
            Some("healthy") => "32",
            Some("error") => "31",
            Some(_) => "33",
            None => "",
        };
        let chars: Vec<char> = line.chars().collect();
        let state = state.unwrap_or_default();
        let end = column + state.chars().count();
        let cell: String = chars.get(column..end).unwrap_or_default().iter().collect();
        if code.is_empty() || state.is_empty() || cell != state {
            out.push_str(line);
        } else {
            out.extend(&chars[..column]);
            out.push_str(&format!("\x1b[{code}m{state}\x1b[0m"));
            out.extend(&chars[end..]);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule() -> (Staleness, DateTime<Utc>) {
        let now = shared::domain::parse_timestamp("2026-01-01T01:00:00.000Z").unwrap();
        (Staleness::default(), now)
    }

    #[test]
    fn healthy_means_every_connector_healthy() {
        let (s, now) = rule();
        let all_healthy = |v: &Value| all_healthy(v, &s, now);
        assert!(all_healthy(
            &json!([{"state": "healthy"}, {"state": "healthy"}])
        ));
        assert!(all_healthy(&json!([])));
        assert!(!all_healthy(
            &json!([{"state": "healthy"}, {"state": "unknown"}])
        ));
        assert!(!all_healthy(&json!({"state": "error"})));
        assert!(all_healthy(&json!({"state": "healthy"})));
    }

    #[test]
    fn a_stale_connector_is_not_ok() {
        let (s, now) = rule();
        // Marked by the API.
        let marked =
            json!({"state": "healthy", "lastChecked": "2026-01-01T00:59:00.000Z", "stale": true});
        assert!(is_stale(&marked, &s, now));
        assert!(!all_healthy(&json!([marked]), &s, now));
        // Judged from lastChecked: three 300 s intervals is the most.
        let at = |t: &str| json!({"state": "healthy", "lastChecked": t});
        assert!(!is_stale(&at("2026-01-01T00:45:00.000Z"), &s, now));
        assert!(is_stale(&at("2026-01-01T00:44:59.999Z"), &s, now));
        assert!(!all_healthy(&at("2026-01-01T00:44:59.999Z"), &s, now));
        // A longer interval given by the operator.
        let hourly = Staleness {
            probe_interval: Duration::from_secs(3_600),
        };
        assert!(!is_stale(&at("2026-01-01T00:00:00.000Z"), &hourly, now));
        // Never checked: unknown (not OK anyway), not stale.
        assert!(!is_stale(
            &json!({"state": "unknown", "lastChecked": null}),
            &s,
            now
        ));
        // Shown in the table.
        let table = table(&[at("2026-01-01T00:00:00.000Z")], &s, now, false);
        assert!(table.contains("healthy (stale)"), "{table}");
    }

    #[test]
    fn states_are_coloured_only_for_a_terminal() {
        let rows = vec![
            json!({"id": 1, "name": "npm", "state": "healthy", "lastChecked": "2026-01-01T00:00:00.000Z", "errorMessage": null}),
            json!({"id": 12, "name": "nuget.org", "state": "error", "lastChecked": "2026-01-01T00:00:00.000Z", "errorMessage": "HTTP 500."}),
        ];
        // A minute after the checks: nothing stale.
        let (s, _) = rule();
        let now = shared::domain::parse_timestamp("2026-01-01T00:01:00.000Z").unwrap();
        let plain = table(&rows, &s, now, false);
        assert!(!plain.contains('\x1b'));
        assert!(plain
            .lines()
            .nth(2)
            .unwrap()
            .contains("error    2026-01-01T00:00:00.000Z  HTTP 500."));
        let coloured = table(&rows, &s, now, true);
        assert!(coloured.contains("\x1b[32mhealthy\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[31merror\x1b[0m"), "{coloured}");
        assert_eq!(
            coloured
                .replace("\x1b[32m", "")
                .replace("\x1b[31m", "")
                .replace("\x1b[0m", ""),
            plain
        );
    }
}
