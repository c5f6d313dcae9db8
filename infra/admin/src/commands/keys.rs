//! `chadmin keys ...`: API keys in the key secret. Only SHA-256 digests are stored; a new
//! key is printed once, on stdout, and never written anywhere else.

use crate::cli::{CreateKeyArgs, KeysCommand};
use crate::error::{AdminError, Result};
use crate::key_secret::{digest_hex, generate_key, KeySecret};
use crate::output::{stdout, stdout_strict};
use crate::target::Target;
use crate::text_table;
use chrono::{DateTime, Utc};
use shared::auth::{Impersonation, KeyDocument, KeyEntry, CONNECTOR_HEALTH_GRANT, FEEDS_MANAGE};
use shared::domain::format_timestamp;

pub async fn run(target: &Target, command: KeysCommand) -> Result<()> {
    let secret = target.key_secret().await?;
    match command {
        KeysCommand::Create(args) => {
            let key = create(&secret, &args, Utc::now()).await?;
            eprintln!(
                "created API key {:?} ({}); it is shown once, below, and stored only as its SHA-256 digest",
                args.name.trim(),
                describe_access(&entry_for(&args, "")),
            );
            if let Err(e) = stdout_strict(&format!("{key}\n")) {
                // Nobody has the key: take it back rather than leave an unusable entry.
                revoke(&secret, args.name.trim()).await?;
                return Err(AdminError::Io(format!("{e}; the key was revoked again")));
            }
            Ok(())
        }
        KeysCommand::List => {
            let (doc, _) = secret.read().await?;
            stdout(&list_text(&doc, Utc::now()))
        }
        KeysCommand::Revoke { name } => {
            revoke(&secret, &name).await?;
            eprintln!(
                "revoked API key {name:?}; the functions stop accepting it when their key cache refreshes"
            );
            Ok(())
        }
    }
}

/// The entry `keys create` stores for these arguments and this digest.
pub fn entry_for(args: &CreateKeyArgs, digest: &str) -> KeyEntry {
    let mut grants = args.grants.clone();
    if grants.is_empty() && args.impersonate.is_none() {
        grants.push(CONNECTOR_HEALTH_GRANT.to_owned());
    }
    grants.dedup();
    KeyEntry {
        name: args.name.trim().to_owned(),
        sha256: Some(digest.to_owned()),
        key: None,
        grants,
        impersonate: args.impersonate.as_ref().map(|user| Impersonation {
            user: user.clone(),
            privileges: args.privileges.clone(),
        }),
        disabled: false,
        expires: args.expires,
    }
}

fn check_new_key(args: &CreateKeyArgs, now: DateTime<Utc>) -> Result<()> {
    if args.name.trim().is_empty() {
        return Err(AdminError::Invalid("the key name must not be empty".into()));
    }
    if args.expires.is_some_and(|e| e <= now) {
        return Err(AdminError::Invalid(
            "--expires is in the past; the key would never work".into(),
        ));
    }
    if args
        .impersonate
        .as_deref()
        .is_some_and(|u| u.trim().is_empty())
    {
        return Err(AdminError::Invalid(
            "--impersonate needs a user name".into(),
        ));
    }
    Ok(())
}

/// A fresh key and the entry that stores only its digest, after checking the arguments.
fn new_key(args: &CreateKeyArgs, now: DateTime<Utc>) -> Result<(String, KeyEntry)> {
    check_new_key(args, now)?;
    let key = generate_key();
    let entry = entry_for(args, &digest_hex(&key));
    Ok((key, entry))
}

/// Creates a key: adds its entry (refusing a name in use) and returns the key.
pub async fn create(
    secret: &KeySecret,
    args: &CreateKeyArgs,
    now: DateTime<Utc>,
) -> Result<String> {
    let (key, entry) = new_key(args, now)?;
    secret
        .update(|doc| {
            if let Some(existing) = doc.keys.iter().find(|k| k.name == entry.name) {
                // This very key (its digest is of a fresh random key): an earlier attempt
                // of this update was made, though its answer was lost and other writers'
                // changes followed it. Nothing left to do.
                if existing.sha256.is_some() && existing.sha256 == entry.sha256 {
                    return Ok(());
                }
                return Err(AdminError::AlreadyExists(format!(
                    "an API key named {:?} already exists; revoke it first or pick another name",
                    entry.name
                )));
            }
            doc.keys.push(entry.clone());
            Ok(())
        })
        .await?;
    warn_unless_it_opens_the_api(&entry, now);
    Ok(key)
}

/// A key that opens nothing is allowed (grants may come later), but said at once.
fn warn_unless_it_opens_the_api(entry: &KeyEntry, now: DateTime<Utc>) {
    if !entry.allows_connector_health(now) {
        eprintln!(
            "warning: this key does not open the Connector Health API (it needs --grant {CONNECTOR_HEALTH_GRANT} or an impersonated user with {FEEDS_MANAGE})"
        );
    }
}

/// Replaces the key with this name (or adds it) in one update; returns the new key.
pub async fn recreate(
    secret: &KeySecret,
    args: &CreateKeyArgs,
    now: DateTime<Utc>,
) -> Result<String> {
    let (key, entry) = new_key(args, now)?;
    secret
        .update(|doc| {
            doc.keys.retain(|k| k.name != entry.name);
            doc.keys.push(entry.clone());
            Ok(())
        })
        .await?;
    Ok(key)
}

/// Removes the key with this name; an unknown name is an error.
pub async fn revoke(secret: &KeySecret, name: &str) -> Result<()> {
    // Whether an earlier attempt of this update found the key: if a retry no longer does,
    // that attempt was made (its answer lost, other writers' changes on top), or someone
    // else revoked it meanwhile. Either way the key is gone, as asked.
    let mut found = false;
    secret
        .update(|doc| {
            let before = doc.keys.len();
            doc.keys.retain(|k| k.name != name);
            if doc.keys.len() == before {
                if found {
                    return Ok(());
                }
                return Err(AdminError::NotFound(format!("no API key named {name:?}")));
            }
            found = true;
            Ok(())
        })
        .await
}

fn describe_access(entry: &KeyEntry) -> String {
    let mut parts: Vec<String> = entry.grants.clone();
    if let Some(i) = &entry.impersonate {
        parts.push(format!(
            "impersonates {} [{}]",
            i.user,
            i.privileges.join(", ")
        ));
    }
    if parts.is_empty() {
        "no access".into()
    } else {
        parts.join("; ")
    }
}

/// The `keys list` table. It shows what each key may do and whether it works now; it has
/// no column that could show a key or a digest.
pub fn list_text(doc: &KeyDocument, now: DateTime<Utc>) -> String {
    let rows: Vec<Vec<String>> = doc
        .keys
        .iter()
        .map(|k| {
            let status = if k.disabled {
                "disabled"
            } else if k.expires.is_some_and(|e| e <= now) {
                "expired"
            } else if !k.allows_connector_health(now) {
                "no access"
            } else {
                "active"
            };
            vec![
                k.name.clone(),
                if k.grants.is_empty() {
                    "-".into()
                } else {
                    k.grants.join(",")
                },
                k.impersonate
                    .as_ref()
                    .map(|i| format!("{} [{}]", i.user, i.privileges.join(",")))
                    .unwrap_or_else(|| "-".into()),
                k.expires
                    .as_ref()
                    .map(format_timestamp)
                    .unwrap_or_else(|| "never".into()),
                if k.disabled { "yes" } else { "no" }.into(),
                status.into(),
            ]
        })
        .collect();
    text_table::render(
        &[
            "NAME",
            "GRANTS",
            "IMPERSONATES",
            "EXPIRES",
            "DISABLED",
            "STATUS",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str) -> CreateKeyArgs {
        CreateKeyArgs {
            name: name.into(),
            expires: None,
            grants: vec![],
            impersonate: None,
            privileges: vec![],
        }
    }

    #[test]
    fn a_plain_key_gets_the_connector_health_grant_and_only_its_digest_is_stored() {
        let e = entry_for(&args("ci"), &digest_hex("k"));
        assert_eq!(e.grants, vec![CONNECTOR_HEALTH_GRANT]);
        assert_eq!(e.key, None);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"name":"ci","sha256":"{}","grants":["connector-health"]}}"#,
                digest_hex("k")
            )
        );
    }

    #[test]
    fn an_impersonating_key_has_no_direct_grant_unless_asked() {
        let mut a = args("ops");
        a.impersonate = Some("admin".into());
        a.privileges = vec![FEEDS_MANAGE.into()];
        let e = entry_for(&a, "00");
        assert!(e.grants.is_empty());
        assert_eq!(e.impersonate.as_ref().unwrap().user, "admin");
    }

    #[test]
    fn past_expiry_and_empty_names_are_refused() {
        let now = Utc::now();
        let mut a = args("x");
        a.expires = Some(now - chrono::Duration::seconds(1));
        assert!(check_new_key(&a, now).is_err());
        assert!(check_new_key(&args("  "), now).is_err());
        assert!(check_new_key(&args("ok"), now).is_ok());
    }

    #[test]
    fn the_list_shows_status_and_never_a_digest() {
        let now = Utc::now();
        let mut expired = args("old");
        expired.expires = Some(now - chrono::Duration::days(1));
        let mut disabled = entry_for(&args("off"), &digest_hex("k2"));
        disabled.disabled = true;
        let doc = KeyDocument {
            keys: vec![
                entry_for(&args("ci"), &digest_hex("k1")),
                entry_for(&expired, &digest_hex("k3")),
                disabled,
            ],
        };
        let text = list_text(&doc, now);
        assert!(!text.contains(&digest_hex("k1")));
        assert!(!text.contains(&digest_hex("k2")));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME"));
        assert!(lines[1].starts_with("ci ") && lines[1].ends_with("active"));
        assert!(lines[2].ends_with("expired"));
        assert!(lines[3].ends_with("disabled"));
    }
}
