//! `chadmin connectors import --from-proget URL` against a fake ProGet on 127.0.0.1 that
//! answers its Connectors management API as ProGet documents it, and moto: connectors and
//! their Basic credentials come over, a second run changes nothing, and a refused key or a
//! server that is not ProGet writes nothing. The ProGet key and the passwords never show.

use std::sync::{Arc, Mutex};
use testkit::registry::{refused_port, reply, Action, FakeRegistry};
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

    // A login page, whether served as it is, behind a redirect or as a 404, is not ProGet's
    // API: one line saying so, and nothing written.
    let login = "<html><body>Log in to ProGet</body></html>";
    for answer in [
        reply("200 OK", &[("Content-Type", "text/html")], login),
        json(login),
        reply(
            "302 Found",
            &[(
                "Location",
                "/log-in?ReturnUrl=%2Fapi%2Fmanagement%2Fconnectors%2Flist",
            )],
            "",
        ),
        reply("404 Not Found", &[("Content-Type", "text/html")], login),
    ] {
        proget.set(answer);
        let out = world.run_with(&import, &[("PROGET_API_KEY", KEY)]).await;
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "error: {}/ is not a ProGet API: it did not answer with ProGet's connector list (check the base URL",
                url
            )),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(listed(&world).await.is_empty());
    }

    // Nobody there: retryable, status 2.
    drop(proget);
    let out = world.run_with(&import, &[("PROGET_API_KEY", KEY)]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("try again"), "{}", out.stderr);
    assert!(listed(&world).await.is_empty());
}

#[tokio::test]
async fn credentials_in_the_proget_url_are_refused_and_never_shown() {
    let Some(world) = World::init().await else {
        return;
    };
    let port = refused_port().await.expect("a refused port");
    let with_user_info = format!("http://admin:S3cretPw@127.0.0.1:{port}");
    let out = world
        .run_with(
            &["connectors", "import", "--from-proget", &with_user_info],
            &[("PROGET_API_KEY", KEY)],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr.trim(),
        "error: --from-proget: the URL must not carry credentials (user-info); ProGet takes an API key: set PROGET_API_KEY or pipe it in with --proget-key-stdin"
    );

    // Whatever the URL carries beyond its location is not shown either.
    for url in [
        format!("http://127.0.0.1:{port}/?api_key=Qu3rySecret"),
        format!("http://127.0.0.1:{port}/proget#Fr4gSecret"),
        "ftp://admin:S3cretPw@proget.example".to_owned(),
    ] {
        let out = world
            .run_with(
                &["connectors", "import", "--from-proget", &url],
                &[("PROGET_API_KEY", KEY)],
            )
            .await;
        assert!(!out.success, "{url}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        for secret in ["S3cretPw", "Qu3rySecret", "Fr4gSecret", KEY] {
            assert!(!out.stderr.contains(secret), "{}", out.stderr);
        }
    }

    // An unreachable server is named by its location only.
    let out = world
        .run_with(
            &[
                "connectors",
                "import",
                "--from-proget",
                &format!("http://127.0.0.1:{port}/proget/"),
            ],
            &[("PROGET_API_KEY", KEY)],
        )
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot reach ProGet at http://127.0.0.1:{port}/proget/: "
        )),
        "{}",
        out.stderr
    );
    assert!(listed(&world).await.is_empty());
}

#[tokio::test]
async fn connectors_left_out_fail_the_import_and_are_counted() {
    let Some(world) = World::init().await else {
        return;
    };
    let list = r#"[
  {"name": "psgallery", "url": "https://www.powershellgallery.com/api/v2", "feedType": "PowerShell"},
  {"name": "both", "url": "https://ci:Ur1Secret@both.example/npm/", "feedType": "npm",
   "username": "ci", "password": "Pr0getSecret"}
]"#;
    let proget = ProGet::start(json(list)).await;
    let url = proget.url();
    let import = ["connectors", "import", "--from-proget", url.as_str()];
    let mut shown = String::new();

    let mut dry = import.to_vec();
    dry.push("--dry-run");
    let out = world.run_with(&dry, &[("PROGET_API_KEY", KEY)]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim(),
        "dry run, nothing written: added=1 updated=0 unchanged=0 left_out=1"
    );
    shown += &(out.stdout + &out.stderr);
    assert!(listed(&world).await.is_empty());

    for (run, want) in [
        (1, "added=1 updated=0 unchanged=0 left_out=1"),
        (2, "added=0 updated=0 unchanged=1 left_out=1"),
    ] {
        let out = world.run_with(&import, &[("PROGET_API_KEY", KEY)]).await;
        assert_eq!(out.code, 1, "run {run}: {}", out.stderr);
        assert_eq!(out.stdout.trim(), want, "run {run}");
        assert!(
            out.stderr
                .contains("import: \"both\" left out: its URL carries credentials"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.trim_end().ends_with(
                "error: 1 of ProGet's connectors left out (see above); fix them in ProGet and import again"
            ),
            "{}",
            out.stderr
        );
        shown += &(out.stdout + &out.stderr);
    }
    // A PowerShell feed (NuGet v2) is probed as NuGet, without a line about its feed type.
    let rows = listed(&world).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "psgallery");
    assert_eq!(rows[0]["feedType"], "nuget");
    assert!(!shown.contains("\"PowerShell\""), "{shown}");
    for secret in ["Ur1Secret", "Pr0getSecret", KEY] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
}

#[tokio::test]
async fn a_new_password_keeps_the_expiry_and_a_dry_run_names_each_connector_once() {
    let Some(world) = World::init().await else {
        return;
    };
    let proget = ProGet::start(json(&list("pass123"))).await;
    let url = proget.url();
    let import = ["connectors", "import", "--from-proget", url.as_str()];
    world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    world
        .run(&[
            "connectors",
            "update",
            "1",
            "--credentials-expire",
            "2027-06-30",
        ])
        .await
        .ok();

    // ProGet changes both the timeout and the password of npmjs.
    proget.set(json(
        &list("n3w-pass456").replace(r#""timeout": 10"#, r#""timeout": 20"#),
    ));
    let mut dry = import.to_vec();
    dry.push("--dry-run");
    let out = world.run_with(&dry, &[("PROGET_API_KEY", KEY)]).await.ok();
    assert_eq!(
        out.stdout.trim(),
        "dry run, nothing written: added=0 updated=1 unchanged=1"
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("would "))
        .collect();
    assert_eq!(
        lines,
        ["would update connector 1 (\"npmjs\"): its settings and credentials"]
    );

    let out = world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=0 updated=1 unchanged=1");
    let export = world.run(&["connectors", "export"]).await.ok();
    let file: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    assert_eq!(file["connectors"][0]["probeTimeoutSeconds"], 20, "{file}");
    let rows = listed(&world).await;
    assert_eq!(
        rows[0]["credentialsExpireAt"], "2027-06-30T00:00:00.000Z",
        "the expiry stays: {}",
        rows[0]
    );
    assert!(secret_text(&world, 1)
        .await
        .unwrap()
        .contains("n3w-pass456"));
    // A clean run again.
    let out = world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=0 updated=0 unchanged=2");
}

#[tokio::test]
async fn credentials_that_cannot_be_stored_leave_no_connector_behind() {
    let Some(world) = World::init().await else {
        return;
    };
    let proget = ProGet::start(json(&list("pass123"))).await;
    let url = proget.url();
    let port = refused_port().await.expect("a refused port");
    let out = world
        .run_with(
            &["connectors", "import", "--from-proget", url.as_str()],
            &[
                ("PROGET_API_KEY", KEY),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                    &format!("http://127.0.0.1:{port}"),
                ),
            ],
        )
        .await;
    assert!(!out.success, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("removed connector 1 (\"npmjs\") again: its credentials could not be stored"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: Secrets Manager request failed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("pass123"), "{}", out.stderr);
    let rows = listed(&world).await;
    assert!(
        rows.iter().all(|r| r["name"] != "npmjs"),
        "no connector without its credentials: {rows:?}"
    );
    // Once Secrets Manager answers, the import completes.
    let out = world
        .run_with(
            &["connectors", "import", "--from-proget", url.as_str()],
            &[("PROGET_API_KEY", KEY)],
        )
        .await
        .ok();
    assert!(out.stdout.trim().starts_with("added="), "{}", out.stdout);
    let rows = listed(&world).await;
    assert!(rows
        .iter()
        .any(|r| r["name"] == "npmjs" && r["credentialsKind"] == "basic"));
}

#[tokio::test]
async fn new_credentials_that_cannot_be_stored_leave_the_settings_as_they_were() {
    let Some(world) = World::init().await else {
        return;
    };
    let open = r#"[{"name": "charts", "url": "https://charts.example/stable/", "feedType": "npm",
  "timeout": 10}]"#;
    let proget = ProGet::start(json(open)).await;
    let url = proget.url();
    let import = ["connectors", "import", "--from-proget", url.as_str()];
    world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();

    // ProGet gives it credentials and another timeout; Secrets Manager does not answer.
    proget.set(json(&open.replace(
        r#""timeout": 10"#,
        r#""timeout": 20, "username": "ci", "password": "pass123""#,
    )));
    let port = refused_port().await.expect("a refused port");
    let out = world
        .run_with(
            &import,
            &[
                ("PROGET_API_KEY", KEY),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                    &format!("http://127.0.0.1:{port}"),
                ),
            ],
        )
        .await;
    assert!(!out.success, "{}", out.stderr);
    assert!(
        out.stderr.contains("error: Secrets Manager request failed"),
        "{}",
        out.stderr
    );
    let export = world.run(&["connectors", "export"]).await.ok();
    let file: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    assert_eq!(file["connectors"][0]["probeTimeoutSeconds"], 10, "{file}");
    assert!(listed(&world).await[0]["credentialsKind"].is_null());

    // Once it answers, both change.
    let out = world
        .run_with(&import, &[("PROGET_API_KEY", KEY)])
        .await
        .ok();
    assert_eq!(out.stdout.trim(), "added=0 updated=1 unchanged=0");
    assert_eq!(listed(&world).await[0]["credentialsKind"], "basic");
}
