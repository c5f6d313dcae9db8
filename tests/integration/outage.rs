//! The emulator goes away mid-test: answers become 503 with `Retry-After` and an opaque
//! body (never a panic, never internals), and come back to 200 once it returns.

use lambda_http::{Body, Response};
use shared::auth::CachePolicy;
use shared::http::{JSON_CONTENT_TYPE, MSG_UNAVAILABLE, RETRY_AFTER_SECONDS};
use std::time::{Duration, Instant};
use testkit::emulator::OwnEmulator;
use testkit::handlers::{body_text, get_handler, list_handler, request};
use testkit::world::{fresh_key, key_document, sample_connectors, World};

const LIST: &str = "/api/connector-health";

fn assert_unavailable(r: &Response<Body>, head: bool) {
    assert_eq!(r.status(), 503, "{}", body_text(r));
    assert_eq!(
        r.headers()["retry-after"],
        RETRY_AFTER_SECONDS.to_string().as_str()
    );
    assert_eq!(r.headers()["content-type"], JSON_CONTENT_TYPE);
    let body = body_text(r);
    if head {
        assert_eq!(body, "");
    } else {
        assert_eq!(body, format!(r#"{{"message":"{MSG_UNAVAILABLE}"}}"#));
    }
    let lower = body.to_ascii_lowercase();
    for leak in [
        "refused",
        "connect",
        "dispatch",
        "dynamodb",
        "secrets",
        "127.0.0.1",
        "panick",
    ] {
        assert!(!lower.contains(leak), "the 503 body leaks {leak:?}: {body}");
    }
}

/// Polls until `f` gives 200, or panics at the deadline.
async fn until_ok<F, Fut>(within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    let start = Instant::now();
    loop {
        let r = f().await;
        if r.status() == 200 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "still {} after {within:?}: {}",
            r.status(),
            body_text(&r)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A world on `emulator` with the sample connectors and one key; returns it, its key
/// document and the key.
async fn given_world(emulator: &OwnEmulator) -> (World, String, String) {
    let key = fresh_key();
    let doc = key_document(&[("k", &key)]);
    let world = World::create(&emulator.endpoint(), &doc).await;
    world.seed(&sample_connectors()).await;
    (world, doc, key)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_table_is_503_and_the_function_recovers() {
    let Some(mut emulator) = OwnEmulator::start().await else {
        return;
    };
    let (world, doc, key) = given_world(&emulator).await;
    let list = list_handler(&world, CachePolicy::default());
    let get = get_handler(&world, CachePolicy::default());
    assert_eq!(
        list.handle(request("GET", LIST, Some(&key))).await.status(),
        200
    );
    assert_eq!(
        get.handle(request("GET", "/api/connector-health/3", Some(&key)))
            .await
            .status(),
        200
    );

    // The emulator goes away; the keys are still cached, the table is unreachable.
    emulator.stop().await;
    let started = Instant::now();
    assert_unavailable(&list.handle(request("GET", LIST, Some(&key))).await, false);
    assert_unavailable(&list.handle(request("HEAD", LIST, Some(&key))).await, true);
    assert_unavailable(
        &get.handle(request("GET", "/api/connector-health/3", Some(&key)))
            .await,
        false,
    );
    assert!(
        started.elapsed() < Duration::from_secs(35),
        "three failed reads took {:?}",
        started.elapsed()
    );

    // It comes back, empty (moto keeps its state in memory): recreate, then recover.
    emulator.restart().await;
    world.create_resources(&doc).await;
    world.seed(&sample_connectors()).await;
    until_ok(Duration::from_secs(30), || {
        list.handle(request("GET", LIST, Some(&key)))
    })
    .await;
    let r = get
        .handle(request("GET", "/api/connector-health/3", Some(&key)))
        .await;
    assert_eq!(r.status(), 200);
    assert!(body_text(&r).starts_with(r#"{"id":3,"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_secrets_manager_without_a_cached_copy_is_503_until_it_returns() {
    let Some(mut emulator) = OwnEmulator::start().await else {
        return;
    };
    let (world, doc, key) = given_world(&emulator).await;
    let policy = CachePolicy {
        failure_backoff: Duration::from_secs(1),
        ..CachePolicy::default()
    };
    // A cold container: nothing loaded yet when the emulator goes away.
    let list = list_handler(&world, policy);
    emulator.stop().await;
    assert_unavailable(&list.handle(request("GET", LIST, Some(&key))).await, false);
    assert_unavailable(&list.handle(request("HEAD", LIST, Some(&key))).await, true);
    // A missing key is still a 403: no dependency is needed to say so.
    assert_eq!(list.handle(request("GET", LIST, None)).await.status(), 403);

    emulator.restart().await;
    world.create_resources(&doc).await;
    world.seed(&sample_connectors()).await;
    until_ok(Duration::from_secs(30), || {
        list.handle(request("GET", LIST, Some(&key)))
    })
    .await;
}
