//! `GET`/`HEAD /api/connector-health/{id}`: one connector's health.
pub mod handler;
