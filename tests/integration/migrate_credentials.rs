//! `chadmin connectors migrate-credentials`: credentials kept in connectors' URLs
//! (user-info) move to the connectors' own Basic credentials in Secrets Manager, and the
//! URLs lose them; the probe still authenticates.

use base64::Engine as _;
use shared::adapters::connector_credentials::{credentials_prefix, SecretsManagerCredentials};
use shared::adapters::dynamodb::schema::item_from;
use shared::domain::{ConnectorId, Credentials, Health, Secret};
use shared::ports::{ConnectorCatalog, ConnectorReader};
use testkit::binaries::binary;
use testkit::fixtures::scheduled_event;
use testkit::registry::{reply, Action, FakeRegistry, Request};
use testkit::runtime_api::Function;
use testkit::world::{connector, World};

const PASSWORD: &str = "Pw-in-the-url-0f-ci";
const TOKEN: &str = "Fury-t0ken-in-the-url";
const OTHER: &str = "Other-0wn-password";

fn basic_value(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A feed that answers 200 only to Basic `ci-bot:PASSWORD` or `TOKEN:` (a token as the user
/// name, no password), and 401 otherwise.
fn private_feed(r: &Request) -> Action {
    let auth = r
        .head
        .lines()
        .skip(1)
        .find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("authorization")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    if auth == basic_value("ci-bot", PASSWORD) || auth == basic_value(TOKEN, "") {
        reply("200 OK", &[], "ok")
    } else {
        reply(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"feed\"")],
            "",
        )
    }
}

fn id(n: u32) -> ConnectorId {
    ConnectorId::new(n).unwrap()
}

/// Writes connector `n` with `url` as it is (add refuses user-info).
async fn raw_row(world: &World, n: u32, url: &str) {
    let mut c = connector(n, Health::Unknown);
    c.url = url.to_owned();
    world.put_raw(item_from(&c, Some("generic"))).await;
}

async fn secret_text(world: &World, n: u32) -> Option<String> {
    let name = format!("{}{n}", credentials_prefix(&world.table));
    match world
        .secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
    {
        Ok(out) => out.secret_string,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)),
    }
}

async fn urls(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    for n in 1..=5 {
        out.push(world.store.settings(id(n)).await.unwrap().unwrap().url);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_urls_move_to_secrets_manager_once_and_the_probe_still_authenticates() {
    let Some(world) = World::init().await else {
        return;
    };
    let feed = FakeRegistry::start(private_feed).await;
    let plain = feed.url("/generic/");
    let with = |user_info: &str| plain.replacen("http://", &format!("http://{user_info}@"), 1);
    let store = SecretsManagerCredentials::for_table(world.secrets.clone(), &world.table);

    // Given a row with user and password in its URL, one with a token as the user name,
    // one without user-info, one with user-info AND other credentials of its own, and one
    // whose move stopped after its credentials were written (the same as its user-info).
    raw_row(&world, 1, &with(&format!("ci-bot:{PASSWORD}"))).await;
    raw_row(&world, 2, &with(TOKEN)).await;
    raw_row(&world, 3, &plain).await;
    raw_row(&world, 4, &with(&format!("ci-bot:{PASSWORD}"))).await;
    let own = |user: &str, password: &str| Credentials {
        secret: Secret::Basic {
            username: user.into(),
            password: password.to_owned().into(),
        },
        expire_at: None,
    };
    let at = store.put(id(4), &own("ci-bot", OTHER)).await.unwrap();
    assert!(world.store.set_credentials(id(4), Some(&at)).await.unwrap());
    raw_row(&world, 5, &with(&format!("ci-bot:{PASSWORD}"))).await;
    let at = store.put(id(5), &own("ci-bot", PASSWORD)).await.unwrap();
    assert!(world.store.set_credentials(id(5), Some(&at)).await.unwrap());
    let before = urls(&world).await;
    let mut shown = String::new();

    // A dry run says what would change and writes nothing.
    let dry = world
        .run(&["connectors", "migrate-credentials", "--dry-run"])
        .await;
    assert!(!dry.success, "a refused row fails the run: {}", dry.stderr);
    assert_eq!(
        dry.stdout.trim(),
        "dry run: migrated=3 unchanged=1 refused=1"
    );
    assert!(dry
        .stderr
        .contains("connector 1: would move the user-info of its URL to basic credentials"));
    shown += &(dry.stdout + &dry.stderr);
    assert_eq!(urls(&world).await, before);
    assert_eq!(secret_text(&world, 1).await, None);
    assert_eq!(secret_text(&world, 2).await, None);

    // The migration moves them, refuses the row with two sets of credentials, and goes on.
    let run = world.run(&["connectors", "migrate-credentials"]).await;
    assert!(!run.success);
    assert_eq!(run.stdout.trim(), "migrated=3 unchanged=1 refused=1");
    assert!(
        run.stderr.contains(
            "connector 4: refused: it has credentials of its own and others in its URL's user-info"
        ),
        "{}",
        run.stderr
    );
    shown += &(run.stdout + &run.stderr);
    let after = urls(&world).await;
    assert_eq!(
        after,
        [
            plain.clone(),
            plain.clone(),
            plain.clone(),
            before[3].clone(),
            plain.clone()
        ]
    );
    let one = secret_text(&world, 1).await.unwrap();
    assert!(one.contains("ci-bot") && one.contains(PASSWORD));
    let two = secret_text(&world, 2).await.unwrap();
    assert!(two.contains(TOKEN));
    assert!(
        secret_text(&world, 4).await.unwrap().contains(OTHER),
        "kept"
    );
    let listed = world.run(&["connectors", "list", "--json"]).await.ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    let kinds: Vec<_> = rows.iter().map(|r| r["credentialsKind"].as_str()).collect();
    let basic = Some("basic");
    assert_eq!(kinds, [basic, basic, None, basic, basic]);
    shown += &listed.stdout;

    // Once the refused row is put right by hand, a second run moves only it; a third
    // changes nothing.
    world
        .run(&["connectors", "update", "4", "--clear-credentials"])
        .await
        .ok();
    let again = world.run(&["connectors", "migrate-credentials"]).await.ok();
    assert_eq!(again.stdout.trim(), "migrated=1 unchanged=4 refused=0");
    let last = world.run(&["connectors", "migrate-credentials"]).await.ok();
    assert_eq!(last.stdout.trim(), "migrated=0 unchanged=5 refused=0");
    shown += &(again.stdout + &again.stderr + &last.stdout + &last.stderr);

    // And the probe authenticates with the moved credentials.
    let function = Function::start(
        &binary("probe-connectors"),
        &[
            ("AWS_ENDPOINT_URL", &world.endpoint),
            ("CONNECTORS_TABLE", &world.table),
            ("PROBE_ALLOW_PRIVATE_NETWORKS", "true"),
            ("PROBE_TIMEOUT_SECONDS", "2"),
        ],
    )
    .await;
    let summary = function.invoke(&scheduled_event()).await.response();
    for n in [1, 2, 4, 5] {
        let health = world.store.get(id(n)).await.unwrap().unwrap().health;
        assert!(matches!(health, Health::Healthy { .. }), "{n}: {health:?}");
    }
    assert!(matches!(
        world.store.get(id(3)).await.unwrap().unwrap().health,
        Health::Error { .. }
    ));
    shown += &(function.output() + &summary.to_string());

    for secret in [PASSWORD, TOKEN, OTHER] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
}
