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
use shared::ports::{ConnectorCatalog, DependencyError};
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
