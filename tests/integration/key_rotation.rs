//! The real key cache reading the real Secrets Manager adapter (moto), behind the real
//! `ListConnectors` handler, while the secret is rotated. Short cache timings make the
//! rules observable; waiting is polling for an outcome with a deadline.

use shared::auth::CachePolicy;
use std::time::{Duration, Instant};
use testkit::handlers::{body_text, list_handler, request, List};
use testkit::world::{fresh_key, key_document, sample_connectors, World};

const PATH: &str = "/api/connector-health";

fn short_policy() -> CachePolicy {
    CachePolicy {
        ttl: Duration::from_secs(2),
        min_refresh_interval: Duration::from_secs(1),
        failure_backoff: Duration::from_secs(1),
        max_staleness: Duration::from_secs(60),
        ..CachePolicy::default()
    }
}

async fn status(h: &List, key: &str) -> u16 {
    h.handle(request("GET", PATH, Some(key)))
        .await
        .status()
        .as_u16()
}

/// Polls until `key` gets `want`; returns how long that took.
async fn until_status(h: &List, key: &str, want: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = status(h, key).await;
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "still {got} instead of {want} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A world with the sample connectors and `keys`, and the list handler on it with the
/// short cache timings; `None` without the emulators.
async fn given(keys: &[(&str, &str)]) -> Option<(World, List)> {
    let world = World::create(&testkit::endpoint()?, &key_document(keys)).await;
    world.seed(&sample_connectors()).await;
    let h = list_handler(&world, short_policy());
    Some((world, h))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_added_to_the_secret_works_after_an_early_refresh() {
    let (old, new) = (fresh_key(), fresh_key());
    let Some((world, h)) = given(&[("old", &old)]).await else {
        return;
    };
    let first = h.handle(request("GET", PATH, Some(&old))).await;
    assert_eq!(first.status(), 200);
    assert!(body_text(&first).starts_with(r#"[{"id":1,"#));
    assert_eq!(h.auth.fetch_count(), 1);
    assert_eq!(status(&h, &new).await, 403);

    world
        .set_keys(&key_document(&[("old", &old), ("new", &new)]))
        .await;
    let start = Instant::now();
    until_status(&h, &new, 200, Duration::from_secs(15)).await;
    let fetches = h.auth.fetch_count();
    // Polling every 50 ms with an unknown key asked Secrets Manager at most once per
    // min_refresh_interval, not once per request.
    let allowed = 2 + start.elapsed().as_secs();
    assert!(
        fetches <= allowed,
        "{fetches} fetches in {:?}",
        start.elapsed()
    );
    assert_eq!(status(&h, &old).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_keys_do_not_hammer_secrets_manager() {
    let good = fresh_key();
    let Some((_world, h)) = given(&[("good", &good)]).await else {
        return;
    };
    assert_eq!(status(&h, &good).await, 200);
    let start = Instant::now();
    for _ in 0..300 {
        assert_eq!(status(&h, &fresh_key()).await, 403);
    }
    let elapsed = start.elapsed();
    let fetches = h.auth.fetch_count();
    // One load, then at most one early refresh per min_refresh_interval (1 s) and one
    // regular refresh per ttl (2 s).
    let allowed = 1 + elapsed.as_secs() + 1 + elapsed.as_secs() / 2 + 1;
    assert!(
        fetches <= allowed,
        "{fetches} fetches for 300 bad keys in {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_key_keeps_working_until_the_ttl_then_stops() {
    let (old, keep) = (fresh_key(), fresh_key());
    let Some((world, h)) = given(&[("old", &old), ("keep", &keep)]).await else {
        return;
    };
    let loaded_no_earlier_than = Instant::now();
    assert_eq!(status(&h, &old).await, 200);

    world.set_keys(&key_document(&[("keep", &keep)])).await;
    let cached = status(&h, &old).await;
    // The copy was loaded after `loaded_no_earlier_than`; if the TTL cannot have passed
    // yet, the removed key must still be honoured from the cache.
    if loaded_no_earlier_than.elapsed() < short_policy().ttl {
        assert_eq!(cached, 200, "the cached copy was not used within its TTL");
    }
    until_status(&h, &old, 403, Duration::from_secs(15)).await;
    assert_eq!(status(&h, &keep).await, 200);
    let r = h.handle(request("GET", PATH, Some(&old))).await;
    assert_eq!(body_text(&r), r#"{"message":"API key not authorized."}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_container_asks_secrets_manager_once_per_ttl() {
    let key = fresh_key();
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let world = World::create(&endpoint, &key_document(&[("k", &key)])).await;
    let h = list_handler(&world, CachePolicy::default());
    for _ in 0..1_000 {
        assert_eq!(status(&h, &key).await, 200);
    }
    assert_eq!(h.auth.fetch_count(), 1);
}
