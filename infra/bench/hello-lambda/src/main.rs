//! The cold-start baseline: the smallest `lambda_runtime` function, built with the same
//! profile, tokio and runtime versions as the real functions, and the same tracing setup.
//! It builds no AWS client and reads no configuration.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    run(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({ "statusCode": 200, "body": "hello" }))
    }))
    .await
}
