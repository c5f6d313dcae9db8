//! End to end: the real `list-connectors` and `get-connector` binaries, started as
//! processes and driven through the Lambda Runtime API with stored API Gateway events
//! (HTTP API payload 2.0 and REST API payload 1.0), reading from moto.

use base64::Engine as _;
use serde_json::Value;
use shared::auth::KeyDigest;
use std::time::Duration;
use testkit::binaries::binary;
use testkit::fixtures::{event, with_header, without_header, Payload};
use testkit::runtime_api::{Function, ProxyResponse};
use testkit::world::{fresh_key, key_document, sample_connectors, World};

const JSON: &str = "application/json; charset=utf-8";

/// A world with the sample connectors and one key, and the function started against it;
/// `None` without the emulators.
async fn given_function(name: &str) -> Option<(World, String, Function)> {
    let endpoint = testkit::endpoint()?;
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("e2e", &key)])).await;
    world.seed(&sample_connectors()).await;
    let function = Function::start(
        &binary(name),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("API_KEYS_SECRET_ID", &world.secret_id),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            // The most talkative level our code and the runtime use: still no key.
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ],
    )
    .await;
    Some((world, key, function))
}

/// Invokes and checks the answer is an API Gateway proxy response of the event's format.
async fn call(function: &Function, payload: Payload, event: &Value) -> ProxyResponse {
    let raw = function.invoke(event).await.response();
    let object = raw
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {raw}"));
    let allowed: &[&str] = match payload {
        Payload::V2 => &[
            "statusCode",
            "headers",
            "multiValueHeaders",
            "body",
            "isBase64Encoded",
            "cookies",
        ],
        Payload::V1 => &[
            "statusCode",
            "headers",
            "multiValueHeaders",
            "body",
            "isBase64Encoded",
        ],
    };
    for k in object.keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "unexpected member {k} in {raw}"
        );
    }
    assert!(object["statusCode"].is_u64(), "{raw}");
    assert_eq!(object["isBase64Encoded"], Value::Bool(false), "{raw}");
    match payload {
        Payload::V2 => assert!(object["headers"].is_object(), "{raw}"),
        // REST API: every header in multiValueHeaders, as lists.
        Payload::V1 => assert!(object["multiValueHeaders"].is_object(), "{raw}"),
    }
    ProxyResponse::parse(raw)
}

fn assert_message(r: &ProxyResponse, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.header("content-type"), Some(JSON));
    assert_eq!(r.json(), serde_json::json!({ "message": message }));
}

/// Nothing that identifies the key reached the function's output.
fn assert_no_secrets_in(output: &str, key: &str) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{key}"));
    let digest = KeyDigest::of(key).to_hex();
    assert!(
        !output.is_empty(),
        "the function printed nothing at DEBUG level"
    );
    for (what, secret) in [
        ("key", key),
        ("Basic credentials", &basic),
        ("key digest", &digest),
    ] {
        assert!(
            !output.contains(secret),
            "the {what} appears in the function's output:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_connectors_binary_answers_api_gateway_events() {
    let Some((_world, key, f)) = given_function("list-connectors").await else {
        return;
    };
    for payload in Payload::ALL {
        // GET: every connector, by id.
        let r = call(&f, payload, &event(payload, "list", &key, "")).await;
        assert_eq!(r.status, 200, "{payload:?}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some(JSON));
        let list = r.json();
        let ids: Vec<u64> = list
            .as_array()
            .expect("an array")
            .iter()
            .map(|c| c["id"].as_u64().expect("numeric id"))
            .collect();
        assert_eq!(ids, [1, 3, 12]);
        assert_eq!(list[0]["state"], "healthy");
        assert_eq!(list[0]["lastChecked"], "2025-11-05T08:30:15.000Z");
        assert_eq!(list[1]["state"], "error");
        assert_eq!(list[1]["errorMessage"], "HTTP 503 Service Unavailable.");
        assert_eq!(list[2]["state"], "unknown");
        assert_eq!(list[2]["lastChecked"], Value::Null);
        let get_body = r.body.clone().expect("a body");

        // HEAD: same status and headers, no body.
        let head = call(&f, payload, &event(payload, "head", &key, "")).await;
        assert_eq!(head.status, 200);
        assert_eq!(
            head.body.as_deref().unwrap_or(""),
            "",
            "{payload:?}: {}",
            head.raw
        );
        assert_eq!(
            head.header("content-length"),
            Some(get_body.len().to_string().as_str())
        );
        assert_eq!(head.header("content-type"), Some(JSON));

        // The key as a query-string parameter, and as HTTP Basic credentials.
        for form in ["list-query-key", "list-basic-auth"] {
            let r = call(&f, payload, &event(payload, form, &key, "")).await;
            assert_eq!(r.status, 200, "{payload:?} {form}: {}", r.raw);
            assert_eq!(r.body.as_deref(), Some(get_body.as_str()));
        }

        // Missing, unknown and disagreeing keys.
        let missing = without_header(event(payload, "list", &key, ""), "x-apikey");
        assert_message(&call(&f, payload, &missing).await, 403, "API key missing.");
        let wrong = event(payload, "list", &fresh_key(), "");
        assert_message(
            &call(&f, payload, &wrong).await,
            403,
            "API key not authorized.",
        );
        let disagreeing = with_header(
            event(payload, "list-basic-auth", &key, ""),
            "X-ApiKey",
            &fresh_key(),
        );
        assert_message(
            &call(&f, payload, &disagreeing).await,
            403,
            "API key not authorized.",
        );

        // Other methods.
        let post = call(&f, payload, &event(payload, "post", &key, "")).await;
        assert_message(&post, 405, "Method not allowed; use GET or HEAD.");
        assert_eq!(post.header("allow"), Some("GET, HEAD"));
    }
    assert_no_secrets_in(&f.output(), &key);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_connector_binary_answers_api_gateway_events() {
    let Some((_world, key, f)) = given_function("get-connector").await else {
        return;
    };
    for payload in Payload::ALL {
        let r = call(&f, payload, &event(payload, "get", &key, "3")).await;
        assert_eq!(r.status, 200, "{payload:?}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some(JSON));
        assert_eq!(
            r.body.as_deref(),
            Some(
                r#"{"id":3,"name":"connector-3","url":"https://feeds-3.example/v3/index.json","state":"error","errorMessage":"HTTP 503 Service Unavailable.","lastChecked":"2025-11-05T08:30:15.000Z","httpStatus":503,"consecutiveFailures":2,"stale":true}"#
            ),
            "checked in 2025: stale"
        );
        let body_len = r.body.as_deref().map_or(0, str::len);

        let head = call(&f, payload, &event(payload, "head-get", &key, "3")).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.body.as_deref().unwrap_or(""), "");
        assert_eq!(
            head.header("content-length"),
            Some(body_len.to_string().as_str())
        );

        for absent in ["99", "abc", "0", "-1", "99999999999999999999"] {
            let r = call(&f, payload, &event(payload, "get", &key, absent)).await;
            assert_message(&r, 404, "Connector not found.");
        }

        // The key is checked before the id: a bad key on an unknown id is 403.
        let missing = without_header(event(payload, "get", &key, "99"), "x-apikey");
        assert_message(&call(&f, payload, &missing).await, 403, "API key missing.");
        let wrong = event(payload, "get", &fresh_key(), "3");
        assert_message(
            &call(&f, payload, &wrong).await,
            403,
            "API key not authorized.",
        );
    }
    assert_no_secrets_in(&f.output(), &key);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_without_its_table_variable_fails_at_init_naming_it() {
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    for name in ["list-connectors", "get-connector"] {
        let mut f = Function::start(
            &binary(name),
            &[
                ("AWS_ENDPOINT_URL", &endpoint),
                ("API_KEYS_SECRET_ID", "connector-health/api-keys"),
            ],
        )
        .await;
        let status = f
            .process
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("{name} kept running without CONNECTORS_TABLE"));
        assert!(!status.success(), "{name} exited successfully");
        let init_error = f.api.init_error(Duration::ZERO).await;
        let reported = format!("{init_error:?}\n{}", f.output());
        assert!(
            reported.contains("CONNECTORS_TABLE"),
            "{name}'s failure does not name CONNECTORS_TABLE:\n{reported}"
        );
        assert_eq!(
            f.api.next_calls(),
            0,
            "{name} asked for an event without its config"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_log_level_prints_a_raw_event_with_its_key() {
    // The Lambda runtime logs every raw event at TRACE: headers and query string included.
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("e2e", &key)])).await;
    world.seed(&sample_connectors()).await;
    // The runtime's targets asked for by name at TRACE (every target at TRACE is covered by
    // `shared::logging`'s unit test: here it would only add the AWS SDK's wire traces).
    let f = Function::start(
        &binary("list-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("API_KEYS_SECRET_ID", &world.secret_id),
            (
                "RUST_LOG",
                "debug,lambda_runtime=trace,lambda_http=trace,lambda_runtime_api_client=trace",
            ),
        ],
    )
    .await;
    for payload in Payload::ALL {
        for form in ["list", "list-query-key", "list-basic-auth"] {
            let r = call(&f, payload, &event(payload, form, &key, "")).await;
            assert_eq!(r.status, 200, "{payload:?} {form}: {}", r.raw);
        }
    }
    assert_no_secrets_in(&f.output(), &key);
}

/// Adds `name=value` to an event's query string, as API Gateway passes it in each format.
fn with_query(mut event: Value, payload: Payload, name: &str, value: &str) -> Value {
    match payload {
        Payload::V2 => {
            let raw = event["rawQueryString"].as_str().unwrap_or("").to_owned();
            let joined = if raw.is_empty() {
                format!("{name}={value}")
            } else {
                format!("{raw}&{name}={value}")
            };
            event["rawQueryString"] = Value::String(joined);
            if !event["queryStringParameters"].is_object() {
                event["queryStringParameters"] = serde_json::json!({});
            }
            event["queryStringParameters"][name] = Value::String(value.to_owned());
        }
        Payload::V1 => {
            for (field, v) in [
                ("queryStringParameters", serde_json::json!(value)),
                (
                    "multiValueQueryStringParameters",
                    serde_json::json!([value]),
                ),
            ] {
                if !event[field].is_object() {
                    event[field] = serde_json::json!({});
                }
                event[field][name] = v;
            }
        }
    }
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_list_comes_gzipped_with_an_etag_and_if_none_match_gets_304() {
    use std::io::Read;
    let Some((world, key, f)) = given_function("list-connectors").await else {
        return;
    };
    let many: Vec<_> = (100..160)
        .map(|id| testkit::world::connector(id, shared::domain::Health::Unknown))
        .collect();
    world.seed(&many).await;
    for payload in Payload::ALL {
        let plain = call(&f, payload, &event(payload, "list", &key, "")).await;
        assert_eq!(plain.status, 200);
        let text = plain.body.clone().expect("a body");
        let etag = plain.header("etag").expect("an ETag").to_owned();
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"));

        // gzip: API Gateway gets the bytes base64-encoded and flagged so.
        let raw = f
            .invoke(&with_header(
                event(payload, "list", &key, ""),
                "Accept-Encoding",
                "gzip, deflate, br",
            ))
            .await
            .response();
        let gz = ProxyResponse::parse(raw);
        assert_eq!(gz.status, 200, "{}", gz.raw);
        assert!(gz.is_base64_encoded, "{}", gz.raw);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        assert_eq!(gz.header("etag"), Some(etag.as_str()));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(gz.body.as_deref().expect("a body"))
            .expect("base64");
        assert_eq!(
            gz.header("content-length"),
            Some(bytes.len().to_string().as_str())
        );
        assert!(
            bytes.len() * 4 < text.len(),
            "{} vs {}",
            bytes.len(),
            text.len()
        );
        let mut back = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .expect("gzip");
        assert_eq!(back, text);

        // If-None-Match with that tag: 304, no body.
        let again = call(
            &f,
            payload,
            &with_header(event(payload, "list", &key, ""), "If-None-Match", &etag),
        )
        .await;
        assert_eq!(again.status, 304, "{}", again.raw);
        assert_eq!(again.body.as_deref().unwrap_or(""), "");
        assert_eq!(again.header("etag"), Some(etag.as_str()));

        // ?state= filters; an unknown state is a 400 that names it.
        let errors = call(
            &f,
            payload,
            &with_query(event(payload, "list", &key, ""), payload, "state", "error"),
        )
        .await;
        assert_eq!(errors.status, 200, "{}", errors.raw);
        let ids: Vec<u64> = errors
            .json()
            .as_array()
            .expect("an array")
            .iter()
            .map(|c| c["id"].as_u64().expect("an id"))
            .collect();
        assert_eq!(ids, [3]);
        let bad = call(
            &f,
            payload,
            &with_query(event(payload, "list", &key, ""), payload, "state", "down"),
        )
        .await;
        assert_eq!(bad.status, 400, "{}", bad.raw);
        assert!(bad.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"down\"")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn both_binaries_mark_a_connector_checked_over_three_probe_intervals_ago_stale() {
    use shared::domain::Health;
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    // Given a connector checked a minute ago, one checked two hours ago, one never checked,
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("e2e", &key)])).await;
    let now = chrono::Utc::now();
    world
        .seed(&[
            testkit::world::connector(
                1,
                Health::Healthy {
                    last_checked: now - chrono::Duration::minutes(1),
                },
            ),
            testkit::world::connector(
                2,
                Health::Healthy {
                    last_checked: now - chrono::Duration::hours(2),
                },
            ),
            testkit::world::connector(3, Health::Unknown),
        ])
        .await;
    let start = |name: &'static str, interval: Option<&'static str>| {
        let world = world.clone();
        async move {
            let mut vars = vec![
                ("AWS_ENDPOINT_URL", world.endpoint.clone()),
                ("CONNECTORS_TABLE", world.table.clone()),
                ("API_KEYS_SECRET_ID", world.secret_id.clone()),
            ];
            if let Some(seconds) = interval {
                vars.push(("PROBE_INTERVAL_SECONDS", seconds.to_owned()));
            }
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Function::start(&binary(name), &vars).await
        }
    };
    let stale = |v: &Value| v.get("stale").cloned();
    // when the functions run with the default interval (300 s),
    let list = start("list-connectors", None).await;
    let get = start("get-connector", None).await;
    for payload in Payload::ALL {
        let r = call(&list, payload, &event(payload, "list", &key, "")).await;
        assert_eq!(r.status, 200, "{}", r.raw);
        let marks: Vec<Option<Value>> = r.json().as_array().unwrap().iter().map(stale).collect();
        // then only the connector checked two hours ago is stale, on the list and alone.
        assert_eq!(marks, [None, Some(Value::Bool(true)), None]);
        for (id, expected) in [("1", None), ("2", Some(Value::Bool(true))), ("3", None)] {
            let one = call(&get, payload, &event(payload, "get", &key, id)).await;
            assert_eq!(one.status, 200, "{}", one.raw);
            assert_eq!(stale(&one.json()), expected, "{id}: {}", one.raw);
        }
    }
    // With an hourly schedule, two hours is not three intervals: nothing is stale.
    let hourly = start("list-connectors", Some("3600")).await;
    let r = call(&hourly, Payload::V2, &event(Payload::V2, "list", &key, "")).await;
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|c| stale(c).is_none()),
        "{}",
        r.raw
    );
}
