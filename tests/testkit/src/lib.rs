//! The one copy of what the tests, the benchmarks and the dev stack share.
//!
//! - [`guard`]: only ever the local emulators; without them a test says how to run it and
//!   returns (or fails, under `make`).
//! - [`world`]: AWS clients for an emulator, and a per-test world (its own table and secret).
//! - [`chadmin`]: `chadmin` run against a world, `chadmin serve` / `dev` until dropped.
//! - [`emulator`]: a private moto emulator a test can stop and restart.
//! - [`runtime_api`]: the Lambda Runtime API stub that drives the real function binaries.
//! - [`binaries`]: where the workspace's binaries are (built once per process).
//! - [`fixtures`]: the stored API Gateway and EventBridge events.
//! - [`handlers`]: the read handlers wired as in production, called in-process.
//! - [`registry`]: the fake registry (every feed type, every fault) on 127.0.0.1.
//! - [`registry_software`]: real registries (Verdaccio, pypiserver, docker-registry) on
//!   127.0.0.1, open or behind htpasswd.
//! - [`credentials`]: a connector's own credentials, held as the probe holds them.
//! - [`pki`]: a throwaway CA for the registry's TLS certificates.

pub mod binaries;
pub mod chadmin;
pub mod credentials;
pub mod emulator;
pub mod fixtures;
pub mod guard;
pub mod handlers;
pub mod pki;
pub mod registry;
pub mod registry_software;
pub mod runtime_api;
pub mod world;

pub use guard::{dynalite_endpoint, endpoint};

/// Runs each named `async fn(endpoint: String)` twice, as two tests: against moto and
/// against dynalite (whose request validation is closer to real DynamoDB's). Without the
/// emulators each says so and returns (see [`guard`]).
#[macro_export]
macro_rules! on_both_emulators {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[tokio::test(flavor = "multi_thread")]
            async fn moto() {
                if let Some(endpoint) = $crate::endpoint() {
                    super::$body(endpoint).await
                }
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn dynalite() {
                if let Some(endpoint) = $crate::dynalite_endpoint() {
                    super::$body(endpoint).await
                }
            }
        }
    )*};
}
