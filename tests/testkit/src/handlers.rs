//! The read handlers wired the way the function binaries wire them (from
//! [`shared::wiring::ReadDependencies`]), on a test world's clients, called in-process.

use get_connector::handler::GetConnector;
use lambda_http::{Body, Request, Response};
use list_connectors::handler::ListConnectors;
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::adapters::secrets_manager::SecretsManagerKeySource;
use shared::auth::{CachePolicy, KeyCache};

use crate::world::World;

pub type Keys = KeyCache<SecretsManagerKeySource>;
pub type List = ListConnectors<DynamoConnectorStore, Keys>;
pub type Get = GetConnector<DynamoConnectorStore, Keys>;

/// `list-connectors` as its `main` builds it, for this world and cache policy.
pub fn list_handler(world: &World, policy: CachePolicy) -> List {
    let deps = world.read_dependencies(policy);
    ListConnectors::new(deps.connectors, deps.keys)
}

/// `get-connector` as its `main` builds it, for this world and cache policy.
pub fn get_handler(world: &World, policy: CachePolicy) -> Get {
    let deps = world.read_dependencies(policy);
    GetConnector::new(deps.connectors, deps.keys)
}

/// A request as the local server would hand it over (no API Gateway event).
pub fn request(method: &str, path: &str, key: Option<&str>) -> Request {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(k) = key {
        builder = builder.header("X-ApiKey", k);
    }
    builder.body(Body::Empty).expect("a valid request")
}

/// The text of a response body ("" for an empty one).
pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => panic!("unexpected body kind"),
    }
}
