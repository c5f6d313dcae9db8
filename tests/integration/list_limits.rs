//! The list's limits, end to end: the real `list-connectors` binary, driven through the
//! Lambda Runtime API with API Gateway events, reading from moto. A list that would not
//! fit in Lambda's invocation response is a `406` that says what to change, never API
//! Gateway's bare `500`; `MAX_RESPONSE_BYTES` lowers the limit so a few hundred rows show it.
//! A container scans the table at most once per `LIST_CACHE_SECONDS`, counted by a proxy.

use serde_json::Value;
use shared::domain::Health;
use shared::http::{encoded_body_len, ENVELOPE_MARGIN};
use testkit::binaries::binary;
use testkit::fixtures::{event, with_header, Payload};
use testkit::runtime_api::{Function, ProxyResponse};
use testkit::world::{connector, fresh_key, key_document, World};

/// A world with `rows` connectors (every third in error) and one key; `None` without the
/// emulators.
async fn given_rows(rows: u32) -> Option<(World, String)> {
    let endpoint = testkit::endpoint()?;
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("limits", &key)])).await;
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .expect("a time")
        .to_utc();
    let connectors: Vec<_> = (1..=rows)
        .map(|id| {
            let health = if id % 3 == 0 {
                Health::Error {
                    message: "HTTP 503 Service Unavailable.".into(),
                    last_checked: at,
                }
            } else {
                Health::Healthy { last_checked: at }
            };
            connector(id, health)
        })
        .collect();
    world.seed(&connectors).await;
    Some((world, key))
}

async fn start(world: &World, extra: &[(&str, &str)]) -> Function {
    start_via(world, &world.endpoint, extra).await
}

/// The function reaching AWS at `endpoint` (a counting proxy in front of the world's).
async fn start_via(world: &World, endpoint: &str, extra: &[(&str, &str)]) -> Function {
    let mut vars = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("CONNECTORS_TABLE", world.table.as_str()),
        ("API_KEYS_SECRET_ID", world.secret_id.as_str()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ];
    vars.extend_from_slice(extra);
    Function::start(&binary("list-connectors"), &vars).await
}

async fn call(f: &Function, event: &Value) -> ProxyResponse {
    ProxyResponse::parse(f.invoke(event).await.response())
}

/// `?state=value` added to an event of either payload format.
fn with_state(mut event: Value, payload: Payload, value: &str) -> Value {
    match payload {
        Payload::V2 => {
            event["rawQueryString"] = Value::String(format!("state={value}"));
            event["queryStringParameters"] = serde_json::json!({ "state": value });
        }
        Payload::V1 => {
            event["queryStringParameters"] = serde_json::json!({ "state": value });
            event["multiValueQueryStringParameters"] = serde_json::json!({ "state": [value] });
        }
    }
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_over_the_response_limit_is_406_saying_to_gzip_or_filter() {
    let Some((world, key)) = given_rows(300).await else {
        return;
    };
    // Given a limit the plain list of 300 passes and its gzip body stays well inside.
    let f = start(&world, &[("MAX_RESPONSE_BYTES", "32768")]).await;
    for payload in Payload::ALL {
        // When a client that does not accept gzip asks for every connector (GET or HEAD),
        for name in ["list", "head"] {
            let r = call(&f, &event(payload, name, &key, "")).await;
            // then the answer is a 406 with the usual JSON error, not a 500.
            assert_eq!(r.status, 406, "{payload:?} {name}: {}", r.raw);
            assert_eq!(
                r.header("content-type"),
                Some("application/json; charset=utf-8")
            );
            assert_eq!(r.header("cache-control"), Some("no-store"));
            if name == "list" {
                assert_eq!(
                    r.json()["message"],
                    "The answer is too large to send uncompressed; send Accept-Encoding: gzip, \
                     or ask for less with ?state= (for example ?state=error,unknown)."
                );
            } else {
                assert_eq!(r.body.as_deref().unwrap_or(""), "", "{}", r.raw);
            }
        }
        // Doing either thing it says works: gzip,
        let gz = call(
            &f,
            &with_header(event(payload, "list", &key, ""), "Accept-Encoding", "gzip"),
        )
        .await;
        assert_eq!(gz.status, 200, "{}", gz.raw);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        // or a filter.
        let errors = call(
            &f,
            &with_state(event(payload, "list", &key, ""), payload, "error"),
        )
        .await;
        assert_eq!(errors.status, 200, "{}", errors.raw);
        assert_eq!(errors.json().as_array().map(Vec::len), Some(100));
    }
    // One line with the sizes, and no key.
    let output = f.output();
    let line = output
        .lines()
        .find(|l| l.contains("answering 406"))
        .unwrap_or_else(|| panic!("no 406 line in:\n{output}"));
    let logged: Value = serde_json::from_str(line).expect("a JSON log line");
    let fields = &logged["fields"];
    assert_eq!(fields["limit_bytes"], 32768, "{line}");
    assert_eq!(fields["gzip"], false, "{line}");
    assert!(
        fields["response_bytes"].as_u64().unwrap_or(0) > 32768,
        "{line}"
    );
    assert!(fields["plain_bytes"].as_u64().unwrap_or(0) > 0, "{line}");
    assert!(!output.contains(&key));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_size_estimate_covers_the_whole_invocation_response() {
    let Some((world, key)) = given_rows(300).await else {
        return;
    };
    let f = start(&world, &[]).await;
    for payload in Payload::ALL {
        for accept in ["identity", "gzip"] {
            let raw = f
                .invoke(&with_header(
                    event(payload, "list", &key, ""),
                    "Accept-Encoding",
                    accept,
                ))
                .await
                .response();
            let r = ProxyResponse::parse(raw.clone());
            assert_eq!(r.status, 200, "{}", r.raw);
            let body = r.body.clone().expect("a body");
            let counted = if r.is_base64_encoded {
                body.len()
            } else {
                encoded_body_len(&lambda_http::Body::Text(body))
            };
            // What the function posted to the Runtime API, as compact JSON.
            let sent = raw.to_string().len();
            assert!(
                counted < sent && sent <= counted + ENVELOPE_MARGIN,
                "{payload:?} {accept}: counted {counted} + margin {ENVELOPE_MARGIN}, sent {sent}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_scans_at_most_once_per_cache_interval() {
    let Some((world, key)) = given_rows(3).await else {
        return;
    };
    const SCAN: &str = "DynamoDB_20120810.Scan";
    // Given a container caching the list for 300 s, reaching the table through a proxy
    // that counts its calls,
    let proxy = benchkit::proxy::CountingProxy::start(&world.endpoint)
        .await
        .expect("the counting proxy");
    let f = start_via(&world, &proxy.url(), &[("LIST_CACHE_SECONDS", "300")]).await;
    let first = call(&f, &event(Payload::V2, "list", &key, "")).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let etag = first.header("etag").expect("an ETag").to_owned();
    // when a connector is added and the list asked for again, by GET, HEAD and
    // If-None-Match, in both payload formats,
    world.seed(&[connector(4, Health::Unknown)]).await;
    for payload in Payload::ALL {
        let get = call(&f, &event(payload, "list", &key, "")).await;
        assert_eq!(get.body, first.body);
        let head = call(&f, &event(payload, "head", &key, "")).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("etag"), Some(etag.as_str()));
        let again = call(
            &f,
            &with_header(event(payload, "list", &key, ""), "If-None-Match", &etag),
        )
        .await;
        assert_eq!(again.status, 304, "{}", again.raw);
    }
    // then the table was scanned once.
    assert_eq!(proxy.count(SCAN), 1, "{:?}", proxy.counts());

    // A container with the cache off scans for every request and sees the new row at once.
    let proxy = benchkit::proxy::CountingProxy::start(&world.endpoint)
        .await
        .expect("the counting proxy");
    let f = start_via(&world, &proxy.url(), &[("LIST_CACHE_SECONDS", "0")]).await;
    for _ in 0..3 {
        let r = call(&f, &event(Payload::V2, "list", &key, "")).await;
        assert_eq!(r.json().as_array().map(Vec::len), Some(4));
    }
    assert_eq!(proxy.count(SCAN), 3, "{:?}", proxy.counts());
}
