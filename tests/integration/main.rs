//! Integration and end-to-end tests, compiled as one test binary (so the AWS SDK is linked
//! once), one module per area; the test names carry the module path, so
//! `cargo test -p connector-health-integration -- probe_writes::` runs one area.
//!
//! What the tests share is in `tests/testkit`. Tests that need the AWS emulators say so in
//! one line and return under plain `cargo test`; `make integration` runs them all.

mod admin_commands;
mod catalog;
mod connector_credentials;
mod dev_stack;
mod e2e_lambda;
mod e2e_probe;
mod e2e_status_page;
mod fanout;
mod history;
mod key_rotation;
mod list_limits;
mod local_server;
mod migrate_credentials;
mod operate;
mod outage;
mod private_ca;
mod private_feeds;
mod probe_events;
mod probe_writes;
mod prober;
mod proget_import;
mod real_servers;
mod registry_software;
mod repository;
mod secrets_manager_calls;
mod support;
mod template_policies;
mod url_secrets;
