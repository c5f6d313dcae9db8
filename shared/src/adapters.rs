//! Implementations of the ports: DynamoDB, Secrets Manager, and in-memory ones for tests.

pub mod dynamodb;
pub mod memory;
pub mod secrets_manager;
