//! Connectors' own credentials: kept in Secrets Manager (one secret per connector under the
//! table's prefix), the row holding only where they are, their kind and expiry.

use chrono::{TimeZone, Utc};
use secrecy::ExposeSecret;
use shared::adapters::connector_credentials::{
    credentials_prefix, CredentialsStoreError, SecretsManagerCredentials,
};
use shared::domain::{
    ConnectorId, ConnectorSettings, Credentials, CredentialsKind, Health, Secret,
};
use shared::ports::{ConnectorCatalog, ConnectorReader, DependencyError};
use testkit::world::{connector, World};

fn id(n: u32) -> ConnectorId {
    ConnectorId::new(n).unwrap()
}

fn basic(user: &str, password: &str) -> Credentials {
    Credentials {
        secret: Secret::Basic {
            username: user.into(),
            password: password.to_owned().into(),
        },
        expire_at: Some(Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap()),
    }
}

#[tokio::test]
async fn credentials_live_in_their_own_secret_and_the_row_keeps_only_a_reference() {
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let world = World::create(&endpoint, r#"{"keys": []}"#).await;
    world
        .seed(&[connector(7, Health::Unknown), connector(8, Health::Unknown)])
        .await;
    let store = SecretsManagerCredentials::for_table(world.secrets.clone(), &world.table);

    // Given credentials stored for connector 7 and referenced by its row.
    let reference = store.put(id(7), &basic("ci", "s3cret-pass")).await.unwrap();
    assert_eq!(
        reference.secret_id,
        format!("{}7", credentials_prefix(&world.table))
    );
    assert!(world
        .store
        .set_credentials(id(7), Some(&reference))
        .await
        .unwrap());

    // Then the row names the secret, the kind and the expiry, never the password.
    let item = world
        .dynamodb()
        .get_item()
        .table_name(&world.table)
        .key("id", aws_sdk_dynamodb::types::AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!format!("{item:?}").contains("s3cret"), "{item:?}");
    assert_eq!(
        item.get("credentialsKind")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("basic")
    );
    assert_eq!(
        world.store.credentials(id(7)).await.unwrap().as_ref(),
        Some(&reference)
    );
    // The API shows when they expire, and nothing else of them.
    let shown = world.store.get(id(7)).await.unwrap().unwrap();
    assert_eq!(
        shown.diagnostics.credentials_expire_at,
        Some(Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap())
    );
    let json = serde_json::to_value(&shown).unwrap();
    assert_eq!(json["credentialsExpireAt"], "2027-03-01T00:00:00.000Z");
    assert!(
        !json.to_string().contains("s3cret") && !json.to_string().contains("connector-health/")
    );
    assert!(world
        .store
        .get(id(8))
        .await
        .unwrap()
        .unwrap()
        .diagnostics
        .credentials_expire_at
        .is_none());
    let catalog = world.store.catalog().await.unwrap();
    let kinds: Vec<_> = catalog
        .rows
        .iter()
        .map(|r| r.credentials.as_ref().map(|c| c.kind))
        .collect();
    assert_eq!(kinds, [Some(CredentialsKind::Basic), None]);

    // And they read back as stored.
    let back = store.get(&reference).await.unwrap();
    assert_eq!(
        back.to_document().expose_secret(),
        basic("ci", "s3cret-pass").to_document().expose_secret()
    );

    // A change of the connector's settings keeps them.
    let mut settings: ConnectorSettings = world.store.settings(id(7)).await.unwrap().unwrap();
    settings.name = "renamed".into();
    world
        .store
        .update_settings(&[(id(7), settings)])
        .await
        .unwrap();
    assert_eq!(
        world.store.credentials(id(7)).await.unwrap().as_ref(),
        Some(&reference)
    );

    // Replacing them writes a new version of the same secret, of another kind.
    let bearer = Credentials {
        secret: Secret::Bearer {
            token: "tok-2".to_owned().into(),
        },
        expire_at: None,
    };
    let replaced = store.put(id(7), &bearer).await.unwrap();
    assert_eq!(replaced.secret_id, reference.secret_id);
    assert!(world
        .store
        .set_credentials(id(7), Some(&replaced))
        .await
        .unwrap());
    assert_eq!(
        world
            .store
            .credentials(id(7))
            .await
            .unwrap()
            .map(|r| (r.kind, r.expire_at)),
        Some((CredentialsKind::Bearer, None))
    );
    assert!(matches!(
        store.get(&replaced).await.unwrap().secret,
        Secret::Bearer { .. }
    ));

    // Clearing them removes the reference and the secret, at once.
    assert!(world.store.set_credentials(id(7), None).await.unwrap());
    store.delete(id(7)).await.unwrap();
    assert_eq!(world.store.credentials(id(7)).await.unwrap(), None);
    assert_eq!(
        world
            .store
            .get(id(7))
            .await
            .unwrap()
            .unwrap()
            .diagnostics
            .credentials_expire_at,
        None
    );
    assert!(matches!(
        store.get(&replaced).await,
        Err(CredentialsStoreError::Dependency(
            DependencyError::Missing { .. }
        ))
    ));
    store.delete(id(7)).await.unwrap(); // nothing left: not an error
                                        // And new ones can be given straight away.
    store.put(id(7), &bearer).await.unwrap();
}

#[tokio::test]
async fn no_reference_lands_on_a_row_that_does_not_exist_and_bad_credentials_are_not_stored() {
    let Some(endpoint) = testkit::endpoint() else {
        return;
    };
    let world = World::create(&endpoint, r#"{"keys": []}"#).await;
    let store = SecretsManagerCredentials::for_table(world.secrets.clone(), &world.table);
    let reference = store.put(id(3), &basic("u", "p")).await.unwrap();

    assert!(!world
        .store
        .set_credentials(id(3), Some(&reference))
        .await
        .unwrap());
    let scanned = world
        .dynamodb()
        .scan()
        .table_name(&world.table)
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count(), 0, "no row was created");

    let err = store.put(id(4), &basic("a:b", "p")).await.unwrap_err();
    assert!(
        matches!(err, CredentialsStoreError::Unusable { .. }),
        "{err}"
    );
    let never = shared::domain::CredentialsRef {
        secret_id: store.secret_id(id(4)),
        kind: CredentialsKind::Basic,
        expire_at: None,
    };
    assert!(
        matches!(
            store.get(&never).await,
            Err(CredentialsStoreError::Dependency(
                DependencyError::Missing { .. }
            ))
        ),
        "no secret was created"
    );
}

/// The text of secret `name`, or `None` when it does not exist.
async fn secret_text(world: &World, name: &str) -> Option<String> {
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
        Err(e) => panic!(
            "read {name}: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
        ),
    }
}

/// `connectors list --json` as JSON.
async fn listed(world: &World) -> Vec<serde_json::Value> {
    let out = world.run(&["connectors", "list", "--json"]).await.ok();
    serde_json::from_str(&out.stdout).unwrap()
}

#[tokio::test]
async fn chadmin_reads_credentials_from_standard_input_and_never_shows_them() {
    let Some(world) = World::init().await else {
        return;
    };
    let secret_name = format!("{}1", credentials_prefix(&world.table));
    let mut shown = String::new();

    // Given a connector added with Basic credentials piped in.
    let added = world
        .chadmin(&[
            "connectors",
            "add",
            "--name",
            "private",
            "--url",
            "https://proget.example/npm/private/",
            "--feed-type",
            "npm",
            "--username",
            "ci-bot",
            "--password-stdin",
            "--credentials-expire",
            "2027-01-31",
        ])
        .input("Pa55-basic-value\n")
        .await
        .ok();
    shown += &(added.stdout.clone() + &added.stderr);
    assert_eq!(added.stdout.trim(), "1");

    // Then the secret holds them, the row only names them, and list shows the kind.
    let text = secret_text(&world, &secret_name).await.expect("the secret");
    assert!(text.contains("Pa55-basic-value") && text.contains("ci-bot"));
    let rows = listed(&world).await;
    assert_eq!(rows[0]["credentialsKind"], "basic");
    assert_eq!(rows[0]["credentialsExpireAt"], "2027-01-31T00:00:00.000Z");
    let table = world.run(&["connectors", "list"]).await.ok();
    assert!(table.stdout.lines().next().unwrap().contains("CREDENTIALS"));
    assert_eq!(
        table
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .nth(4),
        Some("basic")
    );
    shown += &(table.stdout + &table.stderr);

    // A change of another setting keeps them.
    world
        .run(&["connectors", "update", "1", "--name", "private-npm"])
        .await
        .ok();
    assert_eq!(listed(&world).await[0]["credentialsKind"], "basic");
    assert!(secret_text(&world, &secret_name).await.is_some());

    // A new expiry alone keeps the secret part.
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
    assert_eq!(
        listed(&world).await[0]["credentialsExpireAt"],
        "2027-06-30T00:00:00.000Z"
    );
    let text = secret_text(&world, &secret_name).await.unwrap();
    assert!(text.contains("Pa55-basic-value"), "the password stays");

    // A token, then a named header, replace them.
    let out = world
        .chadmin(&["connectors", "update", "1", "--token-stdin"])
        .input("Bearer-tok-value")
        .await
        .ok();
    shown += &(out.stdout + &out.stderr);
    assert_eq!(listed(&world).await[0]["credentialsKind"], "bearer");
    assert!(listed(&world).await[0].get("credentialsExpireAt").is_none());
    let out = world
        .chadmin(&[
            "connectors",
            "update",
            "1",
            "--header",
            "X-JFrog-Art-Api",
            "--header-value-stdin",
        ])
        .input("Hdr-api-value\n")
        .await
        .ok();
    shown += &(out.stdout + &out.stderr);
    assert_eq!(listed(&world).await[0]["credentialsKind"], "header");
    let text = secret_text(&world, &secret_name).await.unwrap();
    assert!(text.contains("Hdr-api-value") && !text.contains("Bearer-tok-value"));

    // Export leaves them out and says which connector has which kind.
    let export = world.run(&["connectors", "export"]).await.ok();
    assert!(
        export
            .stderr
            .contains("credentials of connector 1 (header) are not exported"),
        "{}",
        export.stderr
    );
    // Importing the export here keeps them.
    let file = std::env::temp_dir().join(format!("{}.json", world.table));
    std::fs::write(&file, &export.stdout).unwrap();
    world
        .run(&["connectors", "import", file.to_str().unwrap()])
        .await
        .ok();
    std::fs::remove_file(&file).ok();
    assert_eq!(listed(&world).await[0]["credentialsKind"], "header");
    shown += &(export.stdout + &export.stderr);

    // Clearing them deletes the secret.
    world
        .run(&["connectors", "update", "1", "--clear-credentials"])
        .await
        .ok();
    assert!(listed(&world).await[0].get("credentialsKind").is_none());
    assert_eq!(secret_text(&world, &secret_name).await, None);

    // Removing a connector deletes its credentials.
    world
        .chadmin(&["connectors", "update", "1", "--token-stdin"])
        .input("Bearer-tok-value")
        .await
        .ok();
    assert!(secret_text(&world, &secret_name).await.is_some());
    world.run(&["connectors", "remove", "1"]).await.ok();
    assert_eq!(secret_text(&world, &secret_name).await, None);

    for value in ["Pa55-basic-value", "Bearer-tok-value", "Hdr-api-value"] {
        assert!(!shown.contains(value), "{value} shown: {shown}");
    }
}

#[tokio::test]
async fn chadmin_refuses_unusable_credentials_and_writes_nothing() {
    let Some(world) = World::init().await else {
        return;
    };
    let add = |extra: &[&str]| {
        let mut args = vec![
            "connectors",
            "add",
            "--name",
            "private",
            "--url",
            "https://proget.example/feed/",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["--username", "u", "--password-stdin"],
            "\n",
            "error: --password-stdin: standard input is empty",
        ),
        (
            &["--header", "Host", "--header-value-stdin"],
            "Secret-value",
            "error: credentials: the header \"Host\" is set by the probe itself",
        ),
        (
            &["--username", "a:b", "--password-stdin"],
            "Secret-value",
            "error: credentials: the user name may not contain ':'",
        ),
        (
            &["--credentials-expire", "2027-01-01"],
            "",
            "error: --credentials-expire: give the credentials too",
        ),
        // A secret is never taken from the command line.
        (
            &["--username", "u", "--password", "Secret-value"],
            "",
            "error: unexpected argument '--password'",
        ),
        (
            &["--username", "u"],
            "Secret-value",
            "error: the following required arguments were not provided",
        ),
    ];
    for (extra, input, want) in cases {
        let args = add(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = world.chadmin(&args).input(input).await;
        assert!(!out.success, "{extra:?}");
        assert!(out.stderr.starts_with(want), "{extra:?}: {}", out.stderr);
        assert!(!out.stderr.contains("Secret-value"), "{}", out.stderr);
    }
    assert!(listed(&world).await.is_empty(), "no connector was added");
    let conflicting = world
        .run(&[
            "connectors",
            "update",
            "1",
            "--clear-credentials",
            "--token-stdin",
        ])
        .await;
    assert!(!conflicting.success);
    assert!(
        conflicting.stderr.contains("cannot be used with"),
        "{}",
        conflicting.stderr
    );
    let missing = world
        .chadmin(&["connectors", "update", "7", "--token-stdin"])
        .input("Secret-value")
        .await;
    assert_eq!(missing.stderr.trim(), "error: no connector with id 7");
    assert_eq!(
        secret_text(&world, &format!("{}7", credentials_prefix(&world.table))).await,
        None
    );
}

#[tokio::test]
async fn an_update_whose_credentials_cannot_be_stored_changes_nothing() {
    let Some(world) = World::init().await else {
        return;
    };
    world
        .run(&[
            "connectors",
            "add",
            "--name",
            "private",
            "--url",
            "https://proget.example/npm/private/",
            "--feed-type",
            "npm",
        ])
        .await
        .ok();
    let port = testkit::registry::refused_port()
        .await
        .expect("a refused port");
    let out = world
        .chadmin(&[
            "connectors",
            "update",
            "1",
            "--name",
            "renamed",
            "--timeout",
            "20",
            "--token-stdin",
        ])
        .env(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            &format!("http://127.0.0.1:{port}"),
        )
        .input("Secret-value")
        .await;
    assert!(!out.success, "{}", out.stderr);
    let last = out.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: Secrets Manager request failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("put the settings of connector 1 back as they were"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Secret-value"), "{}", out.stderr);
    let rows = listed(&world).await;
    assert_eq!(rows[0]["name"], "private", "the settings stay: {}", rows[0]);
    let export = world.run(&["connectors", "export"]).await.ok();
    assert!(
        !export.stdout.contains("probeTimeoutSeconds"),
        "{}",
        export.stdout
    );
    assert!(rows[0].get("credentialsKind").is_none(), "{}", rows[0]);

    // A connector added with credentials that cannot be stored goes again, said in one line.
    let out = world
        .chadmin(&[
            "connectors",
            "add",
            "--name",
            "other",
            "--url",
            "https://proget.example/npm/other/",
            "--token-stdin",
        ])
        .env(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            &format!("http://127.0.0.1:{port}"),
        )
        .input("Secret-value")
        .await;
    assert!(!out.success, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert_eq!(lines[0], "added connector 2 (\"other\")");
    assert!(
        lines[1].starts_with(
            "removed connector 2 (\"other\") again: its credentials could not be stored"
        ),
        "{}",
        out.stderr
    );
    assert!(
        lines[2].starts_with("error: Secrets Manager request failed"),
        "{}",
        out.stderr
    );
    assert_eq!(listed(&world).await.len(), 1);

    // With Secrets Manager there, the same command does it all.
    world
        .chadmin(&[
            "connectors",
            "update",
            "1",
            "--name",
            "renamed",
            "--timeout",
            "20",
            "--token-stdin",
        ])
        .input("Secret-value")
        .await
        .ok();
    let rows = listed(&world).await;
    assert_eq!(
        (&rows[0]["name"], &rows[0]["credentialsKind"]),
        (&serde_json::json!("renamed"), &serde_json::json!("bearer"))
    );
}
