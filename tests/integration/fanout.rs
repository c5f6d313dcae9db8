//! Fan-out end to end: the real `probe-connectors` binary as the scheduled function (a cycle
//! too large for one invocation goes to an SQS queue on moto, in batches of ids) and as the
//! queue's workers, fed by this test acting as Lambda's SQS event source mapping (batch size
//! 1, partial batch responses): it receives a message, invokes a worker with it through the
//! Runtime API, and deletes it unless the worker reports it as a batch item failure; a
//! message not deleted comes back after the queue's visibility timeout, and goes to the
//! dead-letter queue after three receives. The connectors are HTTP servers on 127.0.0.1,
//! some of which never answer.

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{Connector, Health};
use shared::ports::ConnectorReader;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use testkit::binaries::binary;
use testkit::fixtures::scheduled_event_at;
use testkit::registry::{reply, Action, FakeRegistry};
use testkit::runtime_api::{Function, InvocationResult};
use testkit::world::{connector, sdk_config, unique_name, World};
use tokio::sync::Notify;

/// The probe queue and its dead-letter queue on moto.
struct Queues {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    dead_letter_url: String,
}

impl Queues {
    /// A queue whose messages come back `visibility` seconds after a receive, and go to the
    /// dead-letter queue after three receives.
    async fn create(endpoint: &str, visibility: u32) -> Self {
        let sdk = sdk_config().await;
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk)
                .endpoint_url(endpoint)
                .build(),
        );
        let dead_letter_url = sqs
            .create_queue()
            .queue_name(unique_name("probe-dlq"))
            .send()
            .await
            .expect("create the dead-letter queue")
            .queue_url
            .expect("a queue URL");
        let dead_letter_arn = Self::arn_of(&sqs, &dead_letter_url).await;
        let redrive = json!({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 3});
        let url = sqs
            .create_queue()
            .queue_name(unique_name("probe"))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility.to_string(),
            )
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .expect("create the probe queue")
            .queue_url
            .expect("a queue URL");
        let arn = Self::arn_of(&sqs, &url).await;
        Self {
            sqs,
            url,
            arn,
            dead_letter_url,
        }
    }

    async fn arn_of(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("a queue ARN")
    }

    /// Messages in the queue at `url`: visible, and received but not yet deleted.
    async fn depth(&self, url: &str) -> (u64, u64) {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        let count = |name: QueueAttributeName| {
            attributes
                .get(&name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// One message as Lambda's event source mapping hands it to the function (an SQS event
    /// of one record), with its receipt handle and receive count; `None` when the queue
    /// had nothing visible within a one-second long poll.
    async fn receive(&self) -> Option<(Value, String, u64)> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let message = out.messages?.into_iter().next()?;
        let receipt = message.receipt_handle.clone().expect("a receipt handle");
        let receives: u64 = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let event = json!({"Records": [{
            "messageId": message.message_id,
            "receiptHandle": receipt,
            "body": message.body,
            "attributes": {"ApproximateReceiveCount": receives.to_string()},
            "messageAttributes": {},
            "md5OfBody": message.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": "us-east-1"
        }]});
        Some((event, receipt, receives))
    }

    async fn delete(&self, receipt: &str) {
        self.sqs
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .expect("delete a message");
    }
}

/// What the event source mapping saw.
#[derive(Debug, Default)]
struct Delivered {
    invocations: u64,
    /// Messages reported as batch item failures (left for SQS to deliver again).
    failed: u64,
    /// Receives of a message that had been received before.
    redelivered: u64,
}

/// Lambda's SQS event source mapping with one worker: until the queue is empty (nothing
/// visible, nothing in flight), receive a message, invoke `worker` with it, and delete it
/// unless the worker reports it as a batch item failure.
async fn consume(queues: &Queues, worker: &Function) -> Delivered {
    let mut seen = Delivered::default();
    loop {
        let Some((event, receipt, receives)) = queues.receive().await else {
            if queues.depth(&queues.url).await == (0, 0) {
                return seen;
            }
            continue;
        };
        seen.invocations += 1;
        if receives > 1 {
            seen.redelivered += 1;
        }
        let answer = match worker.invoke(&event).await {
            InvocationResult::Response(answer) => answer,
            InvocationResult::Error { payload, .. } => {
                panic!("the worker failed: {payload}\n{}", worker.output())
            }
        };
        let failures = answer["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("not a partial batch response: {answer}"));
        if failures.is_empty() {
            queues.delete(&receipt).await;
        } else {
            seen.failed += 1;
        }
    }
}

/// A table of its own on moto and the endpoint; `None` without the emulators.
async fn given_table() -> Option<World> {
    let world = World::named(&testkit::endpoint()?).await;
    world.store.create_table().await.expect("create table");
    Some(world)
}

/// Connectors `ids` as generic feeds, each on a path of its own: `/c/{id}` on `ok`, or on
/// `hanging` for those `hangs` picks.
async fn seed(
    world: &World,
    ids: std::ops::RangeInclusive<u32>,
    ok: &FakeRegistry,
    hanging: &FakeRegistry,
    hangs: impl Fn(u32) -> bool,
) {
    let items = ids
        .map(|id| {
            let mut c: Connector = connector(id, Health::Unknown);
            let server = if hangs(id) { hanging } else { ok };
            c.url = server.url(&format!("/c/{id}"));
            item_from(&c, Some("generic"))
        })
        .collect();
    world.batch_put(items).await;
}

/// How many requests each `/c/{id}` path got.
fn requests_per_connector(registry: &FakeRegistry) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for head in registry.requests() {
        let path = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if let Some(id) = path.strip_prefix("/c/").and_then(|id| id.parse().ok()) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

/// The environment of the probe function as the template sets it, pointed at moto and at
/// loopback upstreams, with short timeouts and no retry (so each check is one request).
fn probe_env<'a>(world: &'a World, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("AWS_ENDPOINT_URL", world.endpoint.as_str()),
        ("CONNECTORS_TABLE", world.table.as_str()),
        ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
        ("PROBE_TIMEOUT_SECONDS", "1"),
        ("PROBE_RETRIES", "0"),
        ("STATE_CHANGE_EVENTS_ENABLED", "false"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ];
    vars.extend_from_slice(extra);
    vars
}

fn ok_route() -> impl Fn(&testkit::registry::Request) -> Action + Send + Sync + 'static {
    |_| reply("200 OK", &[("Content-Type", "text/plain")], "ok\n")
}

/// Every connector's row: when it was last checked, and its state.
async fn rows(world: &World) -> BTreeMap<u32, Connector> {
    world
        .store
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|c| (c.id.get(), c))
        .collect()
}

/// Now, to the whole second (the resolution of a schedule tick's time).
fn this_second() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).expect("now")
}

fn checked_since(c: &Connector, start: chrono::DateTime<chrono::Utc>) -> bool {
    match &c.health {
        Health::Healthy { last_checked } | Health::Error { last_checked, .. } => {
            *last_checked >= start
        }
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_cycle_fans_out_and_every_connector_is_checked_exactly_once() {
    // Given 2,000 connectors, one in twenty of which never answers ...
    let Some(world) = given_table().await else {
        return;
    };
    let queues = Queues::create(&world.endpoint, 30).await;
    let ok = FakeRegistry::start(ok_route()).await;
    let hanging = FakeRegistry::hanging().await;
    let hangs = |id: u32| id.is_multiple_of(20);
    seed(&world, 1..=2000, &ok, &hanging, hangs).await;
    let scheduled = Function::start(
        &binary("probe-connectors"),
        &probe_env(
            &world,
            &[
                ("PROBE_QUEUE_URL", &queues.url),
                ("PROBE_BATCH_SIZE", "100"),
            ],
        ),
    )
    .await;

    // When the schedule ticks (delivered twice, as EventBridge may) ...
    let start = this_second();
    let tick = scheduled_event_at(start);
    let cycle = scheduled.invoke(&tick).await.response();
    let again = scheduled.invoke(&tick).await.response();

    // ... the cycle goes to the queue, once: 2,000 connectors cannot all be finished by one
    // invocation if they all hang (32 slots × 11 rounds of 2.5 s in 30 s).
    assert_eq!(cycle["repeated"], false, "{cycle}");
    assert_eq!(cycle["due"], 2000, "{cycle}");
    assert_eq!(cycle["neverChecked"], 2000, "{cycle}");
    assert_eq!(
        (cycle["batches"].as_u64(), cycle["batchesSent"].as_u64()),
        (Some(20), Some(20))
    );
    assert!(
        cycle.get("total").is_none(),
        "nothing probed by the schedule: {cycle}"
    );
    assert_eq!(again["repeated"], true, "{again}");
    assert_eq!(queues.depth(&queues.url).await, (20, 0));

    // ... and two workers consume it.
    let probe = binary("probe-connectors");
    let worker_env = probe_env(&world, &[("PROBE_CONCURRENCY", "128")]);
    let (first, second) = tokio::join!(
        Function::start(&probe, &worker_env),
        Function::start(&probe, &worker_env)
    );
    let (a, b) = tokio::join!(consume(&queues, &first), consume(&queues, &second));

    // Then every batch was finished on its first delivery ...
    assert_eq!(a.invocations + b.invocations, 20, "{a:?} {b:?}");
    assert_eq!((a.failed + b.failed, a.redelivered + b.redelivered), (0, 0));
    assert_eq!(queues.depth(&queues.dead_letter_url).await, (0, 0));
    // ... every connector was asked exactly once, the hanging ones included ...
    let asked_ok = requests_per_connector(&ok);
    let asked_hanging = requests_per_connector(&hanging);
    for id in 1..=2000 {
        let asked = if hangs(id) { &asked_hanging } else { &asked_ok };
        assert_eq!(
            asked.get(&id),
            Some(&1),
            "connector {id} was asked {:?} times",
            asked.get(&id)
        );
    }
    // ... and every result was recorded in this cycle: healthy, or timed out.
    let rows = rows(&world).await;
    assert_eq!(rows.len(), 2000);
    for (id, row) in &rows {
        assert!(
            checked_since(row, start),
            "connector {id}: {:?}",
            row.health
        );
        match (&row.health, hangs(*id)) {
            (Health::Healthy { .. }, false) => {}
            (Health::Error { message, .. }, true) => {
                assert!(
                    message.starts_with("No response from 127.0.0.1:"),
                    "{id}: {message}"
                )
            }
            (other, _) => panic!("connector {id}: {other:?}"),
        }
    }
    // The workers reported their runs in their metrics lines.
    let emf_totals: u64 = [&first, &second]
        .iter()
        .flat_map(|w| {
            w.output()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v.get("_aws").is_some())
                .filter_map(|v| v["Total"].as_u64())
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(emf_totals, 2000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_batch_has_its_batch_delivered_again_and_finished() {
    // Given 60 connectors in one batch, ten of which never answer ...
    let Some(world) = given_table().await else {
        return;
    };
    // The batch comes back 10 s after a receive: after the killed worker's claims lapse
    // (its deadline is 8 s), as the template's 180 s outlast the worker's 60 s.
    let queues = Queues::create(&world.endpoint, 10).await;
    let ok = FakeRegistry::start(ok_route()).await;
    let hung = Arc::new(Notify::new());
    let signal = hung.clone();
    let hanging = FakeRegistry::start(move |_| {
        signal.notify_one();
        Action::Hang
    })
    .await;
    let hangs = |id: u32| id > 50;
    seed(&world, 1..=60, &ok, &hanging, hangs).await;
    let scheduled = Function::start(
        &binary("probe-connectors"),
        &probe_env(
            &world,
            &[("PROBE_QUEUE_URL", &queues.url), ("PROBE_INLINE_MAX", "0")],
        ),
    )
    .await;
    let start = this_second();
    let cycle = scheduled
        .invoke(&scheduled_event_at(start))
        .await
        .response();
    assert_eq!(cycle["batchesSent"], 1, "{cycle}");

    // When a worker takes the batch and is killed while its probes of the hanging
    // connectors are in flight ...
    let mut doomed = Function::start(&binary("probe-connectors"), &probe_env(&world, &[])).await;
    let (event, _receipt, receives) = queues.receive().await.expect("the batch");
    assert_eq!(receives, 1);
    tokio::select! {
        answer = doomed.invoke_with_deadline(&event, Duration::from_secs(8)) => {
            panic!("the worker answered before it was killed: {answer:?}")
        }
        () = hung.notified() => {}
    }
    doomed.process.kill().await;
    let done_before: BTreeSet<u32> = rows(&world)
        .await
        .into_iter()
        .filter(|(_, row)| checked_since(row, start))
        .map(|(id, _)| id)
        .collect();
    assert!(
        done_before.len() < 60,
        "the batch was not finished by the killed worker"
    );

    // ... then the batch is delivered again, to another worker, which finishes it.
    let survivor = Function::start(&binary("probe-connectors"), &probe_env(&world, &[])).await;
    let seen = consume(&queues, &survivor).await;
    assert_eq!(
        (seen.invocations, seen.redelivered, seen.failed),
        (1, 1, 0),
        "{seen:?}"
    );
    assert_eq!(queues.depth(&queues.url).await, (0, 0));
    assert_eq!(queues.depth(&queues.dead_letter_url).await, (0, 0));
    let rows = rows(&world).await;
    for (id, row) in &rows {
        assert!(
            checked_since(row, start),
            "connector {id} was lost: {:?}",
            row.health
        );
    }
    // What the killed worker had recorded was not probed again.
    let asked = requests_per_connector(&ok);
    for id in &done_before {
        assert_eq!(asked.get(id), Some(&1), "connector {id} was probed again");
    }
}
