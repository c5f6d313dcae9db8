//! State-change events against moto: an EventBridge rule on the default bus forwards the
//! probe function's events to an SQS queue; a connector that changes state yields exactly
//! one message, one that keeps its state none, and a second run with no change none. A token
//! in the connector's URL (user-info, query string) never reaches the event.

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{TimeZone, Utc};
use probe_connectors::handler::ProbeConnectors;
use serde_json::{json, Value};
use shared::adapters::eventbridge::EventBridgePublisher;
use shared::adapters::sqs::SqsBatchQueue;
use shared::config::CycleConfig;
use shared::cycle::Cycles;
use shared::domain::{Connector, ConnectorId, Diagnostics, Health};
use shared::ports::SystemClock;
use shared::probe::events::{DETAIL_TYPE, SOURCE};
use shared::runner::{RunPorts, RunSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::registry::{loopback_prober, FakeRegistry};
use testkit::world::{sdk_config, unique_name, World};

fn healthy_connector(id: u32, name: &str, registry: &FakeRegistry) -> Connector {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time");
    Connector {
        id: ConnectorId::new(id).expect("positive id"),
        name: name.to_owned(),
        url: registry.url("/"),
        health: Health::Healthy { last_checked: at },
        diagnostics: Diagnostics::default(),
    }
}

/// Every message that arrives on `queue` until `quiet` passes without a new one (or the
/// overall deadline), deleted as they are read.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, quiet: Duration) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut bodies = Vec::new();
    let mut last_seen = Instant::now();
    while Instant::now() < deadline && last_seen.elapsed() < quiet {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            bodies.push(serde_json::from_str(m.body().unwrap_or("")).expect("JSON event"));
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
            last_seen = Instant::now();
        }
    }
    bodies
}

#[tokio::test(flavor = "multi_thread")]
async fn one_message_per_state_change_and_none_without_one() {
    // Given a table with two healthy connectors, one whose registry now answers 500 ...
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let world = World::named(&endpoint).await;
    world.store.create_table().await.expect("create table");
    let (down, up) = (
        FakeRegistry::answering("500 Internal Server Error").await,
        FakeRegistry::answering("200 OK").await,
    );
    let (down_name, up_name) = (unique_name("goes-down"), unique_name("stays-up"));
    // The one that goes down logs in with a token as its URL's user name and another in
    // its query string.
    let (user_token, query_token) = ("uT0kenEv4Rw8Ks2Pq6", "qT0kenEv9Mz3Dh7Lc1");
    let mut goes_down = healthy_connector(1, &down_name, &down);
    goes_down.url = format!(
        "http://{user_token}@127.0.0.1:{}/?access_token={query_token}&page=2",
        down.port()
    );
    world
        .store
        .put(&goes_down, Some("generic"))
        .await
        .expect("put");
    world
        .store
        .put(&healthy_connector(2, &up_name, &up), Some("generic"))
        .await
        .expect("put");

    // ... and a rule on the default bus sending this test's events to its own queue.
    let sdk = sdk_config().await;
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url(&endpoint)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .endpoint_url(&endpoint)
            .build(),
    );
    let queue = sqs
        .create_queue()
        .queue_name(unique_name("state-changes"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    let rule = unique_name("state-changes");
    events
        .put_rule()
        .name(&rule)
        .event_pattern(
            json!({
                "source": [SOURCE],
                "detail-type": [DETAIL_TYPE],
                "detail": {"name": [down_name, up_name]}
            })
            .to_string(),
        )
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule(&rule)
        .targets(
            Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");

    let handler = ProbeConnectors::new(
        Arc::new(world.store.clone()),
        RunPorts {
            writer: Arc::new(world.store.clone()),
            prober: Arc::new(loopback_prober()),
            clock: Arc::new(SystemClock),
            events: Arc::new(EventBridgePublisher::new(events.clone(), "default")),
        },
        RunSettings {
            retries: 0,
            default_timeout: Duration::from_secs(5),
            ..RunSettings::default()
        },
        Cycles {
            ledger: Arc::new(world.store.clone()),
            queue: None::<Arc<SqsBatchQueue>>,
            config: CycleConfig::default(),
        },
    );
    let deadline = || Instant::now() + Duration::from_secs(60);

    // When the prober runs ...
    // Two schedule ticks, each a cycle of its own.
    let tick =
        |ago: i64| json!({"time": (Utc::now() - chrono::Duration::seconds(ago)).to_rfc3339()});
    let first = handler.handle(&tick(10), deadline()).await.expect("run");
    let first = first.run().expect("probed").clone();
    assert_eq!((first.healthy, first.error, first.written), (1, 1, 2));
    assert_eq!((first.events_published, first.event_failures), (1, 0));

    // ... then exactly one message arrives, for the connector that went down.
    let messages = drain(&sqs, &queue, Duration::from_secs(3)).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let event = &messages[0];
    assert_eq!(event["source"], SOURCE);
    assert_eq!(event["detail-type"], DETAIL_TYPE);
    let detail = &event["detail"];
    assert_eq!(detail["id"], 1);
    assert_eq!(detail["name"], down_name.as_str());
    assert_eq!(
        detail["url"],
        format!("{}?access_token=***&page=2", down.url("/"))
    );
    for secret in [user_token, query_token] {
        assert!(!event.to_string().contains(secret), "{event}");
    }
    assert_eq!(detail["previousState"], "healthy");
    assert_eq!(detail["state"], "error");
    assert_eq!(detail["errorMessage"], "HTTP 500 Internal Server Error.");
    assert!(detail["lastChecked"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    // When it runs again and nothing changed, no message arrives.
    let second = handler.handle(&tick(0), deadline()).await.expect("run");
    let second = second.run().expect("probed").clone();
    assert_eq!((second.written, second.events_published), (2, 0));
    let messages = drain(&sqs, &queue, Duration::from_secs(3)).await;
    assert!(messages.is_empty(), "{messages:#?}");
}
