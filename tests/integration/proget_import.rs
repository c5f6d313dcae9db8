//! `chadmin connectors import --from-proget URL` against a fake ProGet on 127.0.0.1 that
//! answers its Connectors management API as ProGet documents it, and moto: connectors and
//! their Basic credentials come over, a second run changes nothing, and a refused key or a
//! server that is not ProGet writes nothing. The ProGet key and the passwords never show.

use std::sync::{Arc, Mutex};
use testkit::registry::{reply, Action, FakeRegistry};
use testkit::world::World;

const KEY: &str = "PrOgEt-api-key-9f3c";

/// ProGet's documentation example, and a connector of a feed type without a check here.
fn list(password: &str) -> String {
    format!(
        r#"[
  {{"name": "npmjs", "url": "https://registry.npmjs.org", "feedType": "npm", "timeout": 10,
    "username": "admin", "password": "{password}", "filters": ["*", "!bad-package"],
    "metadataCacheEnabled": true, "metadataCacheMinutes": 30, "metadataCacheCount": 100}},
  {{"name": "charts", "url": "https://charts.example/stable/", "feedType": "Helm",
    "timeout": 100000, "username": null, "password": null, "filters": [],
    "metadataCacheEnabled": false, "metadataCacheMinutes": 0, "metadataCacheCount": 0}}
]"#
    )
}

/// A fake ProGet answering `answer` to the list request with the right key, 403 (empty
/// body) without it; it records whether every request carried the key.
struct ProGet {
    server: FakeRegistry,
    answer: Arc<Mutex<Action>>,
}

fn clone(a: &Action) -> Action {
    match a {
        Action::Reply(b) => Action::Reply(b.clone()),
        _ => panic!("only replies"),
    }
}

impl ProGet {
    async fn start(answer: Action) -> Self {
        let answer = Arc::new(Mutex::new(answer));
        let shared = answer.clone();
        let server = FakeRegistry::start(move |r| {
            let keyed = r
                .head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("x-apikey: {KEY}")));
            if r.path() != "/api/management/connectors/list" || !keyed {
                return reply("403 Forbidden", &[], "");
            }
            clone(&shared.lock().unwrap())
        })
        .await;
        Self { server, answer }
    }

    fn set(&self, answer: Action) {
        *self.answer.lock().unwrap() = answer;
    }

    fn url(&self) -> String {
        self.server.url("")
    }
}

fn json(body: &str) -> Action {
    reply("200 OK", &[("Content-Type", "application/json")], body)
}

async fn listed(world: &World) -> Vec<serde_json::Value> {
    let out = world.run(&["connectors", "list", "--json"]).await.ok();
    serde_json::from_str(&out.stdout).unwrap()
}

async fn secret_text(world: &World, id: u32) -> Option<String> {
    let name = format!(
        "{}{id}",
        shared::adapters::connector_credentials::credentials_prefix(&world.table)
    );
    world
        .secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.secret_string)
}

#[tokio::test]
async fn proget_connectors_and_credentials_come_over_once_and_secrets_never_show() {
    let Some(world) = World::init().await else {
        return;
    };
    let proget = ProGet::start(json(&list("pass123"))).await;
    let url = proget.url();
    let import = ["connectors", "import", "--from-proget", url.as_str()];
    let mut shown = String::new();

    // A dry run says what would change and writes nothing.
    let mut dry = import.to_vec();
    dry.push("--dry-run");
    let out = world.run_with(&dry, &[("PROGET_API_KEY", KEY)]).await.ok();
    assert_eq!(
        out.stdout.trim(),
        "dry run, nothing written: added=2 updated=0 unchanged=0"
    );
    shown += &(out.stdout + &out.stderr);
    assert!(listed(&world).await.is_empty());

    // The import adds both; ProGet's credentials become Basic credentials.
    let out = world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=2 updated=0 unchanged=0");
    assert!(
        out.stderr.contains("\"Helm\"") && out.stderr.contains("generic"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("100000 s"), "{}", out.stderr);
    shown += &(out.stdout + &out.stderr);
    let rows = listed(&world).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "npmjs");
    assert_eq!(rows[0]["feedType"], "npm");
    assert_eq!(rows[0]["credentialsKind"], "basic");
    assert_eq!(rows[1]["feedType"], "generic");
    assert!(rows[1]["credentialsKind"].is_null(), "{}", rows[1]);
    let text = secret_text(&world, 1).await.expect("the secret");
    assert!(text.contains("admin") && text.contains("pass123"));

    // Again: nothing changes (the key from standard input this time).
    let mut from_stdin = import.to_vec();
    from_stdin.push("--proget-key-stdin");
    let out = world
        .chadmin(&from_stdin)
        .input(&format!("{KEY}\n"))
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=0 updated=0 unchanged=2");
    shown += &(out.stdout + &out.stderr);

    // A new password in ProGet updates the secret.
    proget.set(json(&list("n3w-pass456")));
    let out = world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=0 updated=1 unchanged=1");
    shown += &(out.stdout + &out.stderr);
    assert!(secret_text(&world, 1)
        .await
        .unwrap()
        .contains("n3w-pass456"));

    for secret in [KEY, "pass123", "n3w-pass456"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
}

#[tokio::test]
async fn a_refused_key_or_a_server_that_is_not_proget_writes_nothing() {
    let Some(world) = World::init().await else {
        return;
    };
    let proget = ProGet::start(json(&list("pass123"))).await;
    let url = proget.url();
    let import = ["connectors", "import", "--from-proget", url.as_str()];

    let out = world
        .run_with(&import, &[("PROGET_API_KEY", "wrong-key-77")])
        .await;
    assert!(!out.success);
    assert_eq!(
        out.stderr.trim(),
        "error: ProGet refused the API key (HTTP 403): give a system-level API key with the Use/Manage Feeds privilege"
    );
    assert!(!out.stderr.contains("wrong-key-77"));

    proget.set(json("<html><body>Log in to ProGet</body></html>"));
    let out = world.run_with(&import, &[("PROGET_API_KEY", KEY)]).await;
    assert!(!out.success);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("is not a ProGet API"), "{}", out.stderr);
    assert!(listed(&world).await.is_empty());

    // Nobody there: retryable, status 2.
    drop(proget);
    let out = world.run_with(&import, &[("PROGET_API_KEY", KEY)]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("try again"), "{}", out.stderr);
    assert!(listed(&world).await.is_empty());
}
