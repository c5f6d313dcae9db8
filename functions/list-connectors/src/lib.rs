//! `GET`/`HEAD /api/connector-health`: every connector's health, ordered by id.
pub mod handler;
