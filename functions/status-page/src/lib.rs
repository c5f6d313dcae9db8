//! `GET`/`HEAD /status` and `/status/{id}`: the connectors' health as a server-rendered HTML
//! page, for people who would rather look than read JSON.
//!
//! - [`handler`]: routing, the key check (a browser may log in with Basic), the reads, and
//!   the response headers (a strict Content-Security-Policy among them).
//! - [`page`]: the pages themselves; every value is HTML-escaped by the templates.
//! - [`trend`]: what the pages show of a connector's history.
//! - [`chart`]: the inline SVG charts.
//! - [`text`]: times, durations and figures in words.

pub mod chart;
pub mod handler;
pub mod page;
pub mod text;
pub mod trend;
