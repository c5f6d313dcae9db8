//! Implementations of the ports: DynamoDB, Secrets Manager, and in-memory ones for tests.

pub mod dynamodb;
pub mod dynamodb_probe;
pub mod eventbridge;
pub mod http_prober;
pub mod memory;
pub mod memory_probe;
pub mod secrets_manager;
