//! An AWS SDK client built on first use: a function's cold start then builds only the
//! clients every invocation needs (each costs a fraction of a millisecond of allocation and
//! setup), and a client a container may never use (the queue of a small fleet, the event
//! bus of a run without state changes, a secret read only on a cache miss) is built when it
//! is first needed, or never.

use aws_config::SdkConfig;
use std::sync::{Arc, OnceLock};

/// A client given, or built from the SDK configuration on its first use.
#[derive(Debug, Clone)]
pub enum LazyClient<C> {
    Ready(C),
    OnFirstUse(Arc<OnFirstUse<C>>),
}

/// What a client built on first use is built from, and the client once it is.
#[derive(Debug)]
pub struct OnFirstUse<C> {
    aws: SdkConfig,
    build: fn(&SdkConfig) -> C,
    client: OnceLock<C>,
}

impl<C> LazyClient<C> {
    /// This client, already built.
    pub fn ready(client: C) -> Self {
        Self::Ready(client)
    }

    /// A client built by `build` (the SDK's `Client::new`) from `aws` on the first
    /// [`LazyClient::get`].
    pub fn on_first_use(aws: &SdkConfig, build: fn(&SdkConfig) -> C) -> Self {
        Self::OnFirstUse(Arc::new(OnFirstUse {
            aws: aws.clone(),
            build,
            client: OnceLock::new(),
        }))
    }

    /// The client, built now if this is its first use.
    pub fn get(&self) -> &C {
        match self {
            Self::Ready(client) => client,
            Self::OnFirstUse(lazy) => lazy.client.get_or_init(|| (lazy.build)(&lazy.aws)),
        }
    }

    /// Whether the client has been built yet.
    pub fn built(&self) -> bool {
        match self {
            Self::Ready(_) => true,
            Self::OnFirstUse(lazy) => lazy.client.get().is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};

    #[test]
    fn a_client_on_first_use_is_built_by_its_first_get_only_and_shared_by_clones() {
        let aws = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let lazy = LazyClient::on_first_use(&aws, aws_sdk_sqs::Client::new);
        let clone = lazy.clone();
        assert!(!lazy.built());
        let _ = clone.get();
        assert!(lazy.built(), "a clone's first use builds the one client");
        assert!(LazyClient::ready(aws_sdk_sqs::Client::new(&aws)).built());
    }
}
