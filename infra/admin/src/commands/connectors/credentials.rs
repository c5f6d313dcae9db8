//! A connector's own credentials: read from standard input (never from the command line,
//! never printed), kept in their own Secrets Manager secret, and referenced from the row.
//!
//! The secret is written before the row points at it, and the row lets go of it before it
//! is deleted, so a row never names credentials that are not there (but for a moment a
//! secret may exist that no row names yet: a failed command says so, and running it again
//! puts things right).

use crate::cli::CredentialsArgs;
use crate::error::{AdminError, Result};
use crate::target::Target;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use shared::adapters::connector_credentials::{CredentialsStoreError, SecretsManagerCredentials};
use shared::adapters::dynamodb::DynamoConnectorStore;
use shared::domain::{ConnectorId, Credentials, Secret};
use shared::ports::ConnectorCatalog;
use std::io::Read;

impl From<CredentialsStoreError> for AdminError {
    fn from(e: CredentialsStoreError) -> Self {
        match e {
            CredentialsStoreError::Dependency(d) => AdminError::Dependency(d),
            CredentialsStoreError::Unusable { .. } => AdminError::Invalid(e.to_string()),
        }
    }
}

/// What the command line asks of a connector's credentials.
#[derive(Debug)]
pub enum Change {
    /// Nothing.
    Keep,
    /// New credentials (their secret read already).
    Set(Credentials),
    /// Only a new expiry for the credentials the connector has.
    Expire(DateTime<Utc>),
    /// None any more.
    Clear,
}

impl Change {
    pub fn is_keep(&self) -> bool {
        matches!(self, Change::Keep)
    }
}

/// Reads standard input to its end: the secret, less one final line break.
pub(super) fn read_secret(flag: &str, input: &mut dyn Read) -> Result<SecretString> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| AdminError::Io(format!("{flag}: cannot read standard input: {e}")))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(AdminError::Invalid(format!(
            "{flag}: standard input is empty; pipe the secret in (printf '%s' \"$SECRET\" | chadmin ...)"
        )));
    }
    Ok(SecretString::from(text))
}

/// The change `args` (and `clear`) ask for, reading the secret from `input` when they name
/// one. Checks the credentials; nothing is written.
pub fn requested(args: &CredentialsArgs, clear: bool, input: &mut dyn Read) -> Result<Change> {
    if clear {
        return Ok(Change::Clear);
    }
    let secret = if let Some(username) = &args.username {
        Secret::Basic {
            username: username.clone(),
            password: read_secret("--password-stdin", input)?,
        }
    } else if args.token_stdin {
        Secret::Bearer {
            token: read_secret("--token-stdin", input)?,
        }
    } else if let Some(name) = &args.header {
        Secret::Header {
            name: name.clone(),
            value: read_secret("--header-value-stdin", input)?,
        }
    } else {
        return Ok(args.credentials_expire.map_or(Change::Keep, Change::Expire));
    };
    let credentials = Credentials {
        secret,
        expire_at: args.credentials_expire,
    };
    credentials
        .check()
        .map_err(|e| AdminError::Invalid(format!("credentials: {e}")))?;
    Ok(Change::Set(credentials))
}

/// The connector's credential secrets, for the target's table.
pub async fn store(target: &Target) -> Result<SecretsManagerCredentials> {
    Ok(SecretsManagerCredentials::for_table(
        aws_sdk_secretsmanager::Client::new(target.aws().await),
        target.table_name()?,
    ))
}

/// Applies `change` to connector `id`.
pub async fn apply(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    id: ConnectorId,
    change: Change,
) -> Result<()> {
    let gone = || AdminError::NotFound(format!("no connector with id {id}"));
    let credentials = match change {
        Change::Keep => return Ok(()),
        Change::Clear => {
            if !rows.set_credentials(id, None).await? {
                return Err(gone());
            }
            secrets.delete(id).await?;
            eprintln!("removed the credentials of connector {id}");
            return Ok(());
        }
        Change::Set(credentials) => credentials,
        Change::Expire(at) => {
            let Some(current) = rows.credentials(id).await? else {
                return Err(AdminError::Invalid(format!(
                    "--credentials-expire: connector {id} has no credentials; give them with --username and --password-stdin, --token-stdin, or --header and --header-value-stdin"
                )));
            };
            let mut credentials = secrets.get(&current).await?;
            credentials.expire_at = Some(at);
            credentials
        }
    };
    if rows.settings(id).await?.is_some() {
        let reference = secrets.put(id, &credentials).await?;
        if rows.set_credentials(id, Some(&reference)).await? {
            eprintln!(
                "set {} credentials of connector {id}",
                reference.kind.as_str()
            );
            return Ok(());
        }
        // Removed meanwhile: its secret goes too.
        secrets.delete(id).await?;
    }
    Err(gone())
}

/// Removes connector `id` (named `name`), added a moment ago, whose credentials could not
/// be stored, so no connector is left without the credentials it needs; its secret goes
/// too, if one was written. Says so on stderr, in one line.
pub async fn undo_add(
    rows: &DynamoConnectorStore,
    secrets: &SecretsManagerCredentials,
    id: ConnectorId,
    name: &str,
) -> Result<()> {
    rows.remove(id).await?;
    let why = "its credentials could not be stored";
    match secrets.delete(id).await {
        Ok(()) => eprintln!("removed connector {id} ({name:?}) again: {why}"),
        Err(_) => eprintln!(
            "removed connector {id} ({name:?}) again: {why} (if its secret {} is left, `chadmin connectors remove {id}` deletes it)",
            secrets.secret_id(id)
        ),
    }
    Ok(())
}

/// Deletes the credentials of a connector that is being (or was) removed.
pub async fn remove(secrets: &SecretsManagerCredentials, id: ConnectorId) -> Result<()> {
    secrets.delete(id).await.map_err(|e| {
        AdminError::WithStatus(
            1,
            Box::new(AdminError::Io(format!(
                "connector {id} is removed, but its credentials secret {} is not ({}); run `chadmin connectors remove {id}` again",
                secrets.secret_id(id),
                AdminError::from(e)
            ))),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn args() -> CredentialsArgs {
        CredentialsArgs::default()
    }

    #[test]
    fn the_secret_is_standard_input_less_one_line_break() {
        let basic = CredentialsArgs {
            username: Some("ci".into()),
            password_stdin: true,
            ..args()
        };
        for (input, want) in [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw", "pw"),
            ("pw\n\n", "pw\n"),
        ] {
            match requested(&basic, false, &mut input.as_bytes()) {
                Ok(Change::Set(Credentials {
                    secret: Secret::Basic { password, .. },
                    ..
                })) => assert_eq!(password.expose_secret(), want),
                Ok(other) => panic!("{other:?}"),
                // A line break inside the secret is refused, without showing it.
                Err(e) => {
                    assert_eq!(want, "pw\n");
                    assert!(!e.to_string().contains("pw"), "{e}");
                }
            }
        }
        let e = requested(&basic, false, &mut "\n".as_bytes()).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("--password-stdin: standard input is empty"));
    }

    #[test]
    fn nothing_asked_keeps_and_an_expiry_alone_changes_only_the_expiry() {
        assert!(requested(&args(), false, &mut "unread".as_bytes())
            .unwrap()
            .is_keep());
        let at = Utc::now();
        let only = CredentialsArgs {
            credentials_expire: Some(at),
            ..args()
        };
        assert!(matches!(
            requested(&only, false, &mut "".as_bytes()),
            Ok(Change::Expire(t)) if t == at
        ));
        assert!(matches!(
            requested(&args(), true, &mut "".as_bytes()),
            Ok(Change::Clear)
        ));
    }

    #[test]
    fn a_header_must_be_a_header_name_the_probe_does_not_set() {
        let header = |name: &str| CredentialsArgs {
            header: Some(name.into()),
            header_value_stdin: true,
            ..args()
        };
        assert!(requested(&header("X-JFrog-Art-Api"), false, &mut "v".as_bytes()).is_ok());
        let e = requested(&header("Host"), false, &mut "v".as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials: the header \"Host\" is set by the probe itself and cannot carry credentials"
        );
    }
}
