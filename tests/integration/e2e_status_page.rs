//! End to end: the real `status-page` binary, started as a process and driven through the
//! Lambda Runtime API with HTTP API (payload 2.0) events for `/status` and `/status/{id}`,
//! reading from moto.

use serde_json::{json, Value};
use testkit::binaries::binary;
use testkit::fixtures::{event, without_header, Payload};
use testkit::runtime_api::{Function, ProxyResponse};
use testkit::world::{fresh_key, key_document, sample_connectors, World};

const HTML: &str = "text/html; charset=utf-8";

/// The stored list and get events, routed to the page.
fn page_event(key: &str, id: Option<&str>) -> Value {
    let (mut e, path, route) = match id {
        None => (
            event(Payload::V2, "list", key, ""),
            "/status".to_owned(),
            "GET /status",
        ),
        Some(id) => (
            event(Payload::V2, "get", key, id),
            format!("/status/{id}"),
            "GET /status/{id}",
        ),
    };
    e["rawPath"] = json!(path);
    e["routeKey"] = json!(route);
    e["requestContext"]["routeKey"] = json!(route);
    e["requestContext"]["http"]["path"] = json!(path);
    e
}

async fn call(f: &Function, e: &Value) -> ProxyResponse {
    ProxyResponse::parse(f.invoke(e).await.response())
}

async fn start(world: &World, public: &str) -> Function {
    Function::start(
        &binary("status-page"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("API_KEYS_SECRET_ID", &world.secret_id),
            ("STATUS_PAGE_PUBLIC", public),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_binary_answers_api_gateway_events() {
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let key = fresh_key();
    let world = World::create(&endpoint, &key_document(&[("e2e", &key)])).await;
    let connectors = sample_connectors();
    world.seed(&connectors).await;
    let f = start(&world, "false").await;

    let r = call(&f, &page_event(&key, None)).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.header("content-type"), Some(HTML));
    assert!(r
        .header("content-security-policy")
        .is_some_and(|csp| csp.starts_with("default-src 'none';")));
    let body = r.body.clone().unwrap_or_default();
    for c in &connectors {
        assert!(body.contains(&format!("id=\"c{}\"", c.id)), "{body}");
    }
    assert!(
        !body.contains(&key),
        "the key (given in a header) is not in the page"
    );

    let r = call(&f, &page_event(&key, Some("3"))).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r
        .body
        .as_deref()
        .unwrap_or("")
        .contains("<h1>connector-3</h1>"));
    for absent in ["99", "abc"] {
        let r = call(&f, &page_event(&key, Some(absent))).await;
        assert_eq!(r.status, 404, "{absent}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some(HTML));
    }

    // No key: the browser is asked for one; a wrong key is refused.
    let r = call(&f, &without_header(page_event(&key, None), "x-apikey")).await;
    assert_eq!(r.status, 401, "{}", r.raw);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"connector-health\", charset=\"UTF-8\"")
    );
    let r = call(&f, &page_event(&fresh_key(), None)).await;
    assert_eq!(r.status, 403, "{}", r.raw);
    assert!(
        !f.output().contains(&key),
        "the key reached the function's output"
    );

    // Public: no key needed.
    let public = start(&world, "true").await;
    let r = call(&public, &without_header(page_event(&key, None), "x-apikey")).await;
    assert_eq!(r.status, 200, "{}", r.raw);
}
