//! Helpers shared by the integration and end-to-end tests.
//!
//! - [`guard`]: refuses to run anywhere but against the local emulators.
//! - [`world`]: AWS clients for an emulator, and a per-test world (its own table and secret).
//! - [`emulator`]: a private moto emulator a test can stop and restart.
//! - [`runtime_api`]: a Lambda Runtime API server that drives the real function binaries.
//! - [`binaries`]: where the function binaries are (built once per test process).
//! - [`fixtures`]: the stored API Gateway events, with the API key filled in.
//! - [`handlers`]: the read handlers wired as in production, called in-process.

pub mod binaries;
pub mod emulator;
pub mod fixtures;
pub mod guard;
pub mod handlers;
pub mod runtime_api;
pub mod world;

pub use guard::{dynalite_endpoint, endpoint};

/// Runs each named `async fn(endpoint: String)` twice, as two tests: against moto and
/// against dynalite (whose request validation is closer to real DynamoDB's).
#[macro_export]
macro_rules! on_both_emulators {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[tokio::test(flavor = "multi_thread")]
            async fn moto() {
                super::$body($crate::endpoint()).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn dynalite() {
                super::$body($crate::dynalite_endpoint()).await
            }
        }
    )*};
}
