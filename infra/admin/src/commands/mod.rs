//! What each subcommand does. Each returns `Ok` only when everything it set out to write
//! was written; output meant for scripts goes to stdout, everything else to stderr.

pub mod connectors;
pub mod health;
pub mod keys;
pub mod probe;

use crate::cli::{Cli, Command};
use crate::dev_stack;
use crate::error::{AdminError, Result};
use crate::target::Target;
use shared::ports::DependencyError;

pub async fn run(cli: Cli) -> Result<()> {
    let loaded = Target::load(&cli.target)
        .await
        .map_err(|e| explain(e, None));
    let target = match (loaded, &cli.command) {
        (Ok(target), _) => target,
        // `health`'s own failures end with status 2, finding its stack too.
        (Err(e), Command::Health(_)) => return Err(AdminError::WithStatus(2, Box::new(e))),
        (Err(e), _) => return Err(e),
    };
    let outcome = match cli.command {
        Command::Init => init(&target).await,
        Command::Keys(command) => keys::run(&target, command).await,
        Command::Connectors(command) => connectors::run(&target, command).await,
        Command::Probe(args) => probe::run(&target, &args).await,
        Command::Health(args) => health::run(&target, &args).await,
        // The binary hands these to chadmin-dev (`crate::dev_stack::forward`) instead.
        Command::SeedDemo(_) => Err(AdminError::Invalid(dev_stack::missing("seed-demo"))),
        Command::Serve(_) => Err(AdminError::Invalid(dev_stack::missing("serve"))),
        Command::Dev(_) => Err(AdminError::Invalid(dev_stack::missing("dev"))),
    };
    outcome.map_err(|e| explain(e, Some(&target)))
}

/// Words a failed AWS call with what only the command knows: a table or secret that does
/// not exist is named with the region it was looked for in. Every other kind is already
/// one plain sentence (see [`crate::error::describe`]): no credentials, access denied,
/// throttled, timed out. Decided by the error's kind, never by its text.
pub fn explain(e: AdminError, target: Option<&Target>) -> AdminError {
    let region = target
        .and_then(Target::region)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "(no region set)".to_owned());
    explain_in(e, &region)
}

fn explain_in(e: AdminError, region: &str) -> AdminError {
    match e {
        AdminError::Dependency(DependencyError::Missing { resource, .. }) => {
            AdminError::NotFound(format!("{resource} does not exist in region {region}"))
        }
        AdminError::WithStatus(code, inner) => {
            AdminError::WithStatus(code, Box::new(explain_in(*inner, region)))
        }
        other => other,
    }
}

/// Creates the connector table, the history table and the key secret; each step keeps what
/// already exists.
pub async fn init(target: &Target) -> Result<()> {
    // Check the settings before creating anything.
    target.table_name()?;
    target.secret_id()?;
    let store = target.connectors().await?;
    let history = target.history().await?;
    let secret = target.key_secret().await?;
    store.create_table().await?;
    eprintln!("table {} is ready", store.table());
    history.create_table().await?;
    eprintln!("history table {} is ready", history.table());
    if secret.ensure().await? {
        eprintln!("created key secret {} with no keys", secret.id());
    } else {
        eprintln!("key secret {} already exists; left unchanged", secret.id());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NO_CREDENTIALS;

    fn missing(service: &'static str, resource: &str) -> AdminError {
        AdminError::Dependency(DependencyError::Missing {
            service,
            resource: resource.to_owned(),
        })
    }

    #[test]
    fn a_missing_table_or_secret_is_named_with_its_region() {
        let e = explain_in(missing("DynamoDB", "table no-such-table"), "us-east-1");
        assert!(matches!(e, AdminError::NotFound(_)));
        assert_eq!(
            format!("error: {e}"),
            "error: table no-such-table does not exist in region us-east-1"
        );
        let e = explain_in(missing("Secrets Manager", "secret keys"), "eu-west-1");
        assert_eq!(
            e.to_string(),
            "secret keys does not exist in region eu-west-1"
        );
        let e = explain_in(
            AdminError::WithStatus(2, Box::new(missing("CloudFormation", "stack s"))),
            "r",
        );
        assert_eq!(
            (e.exit_status(), e.to_string()),
            (2, "stack s does not exist in region r".into())
        );
    }

    #[test]
    fn other_kinds_keep_their_own_sentence() {
        let e = explain_in(
            AdminError::Dependency(DependencyError::Credentials {
                service: "DynamoDB",
                detail: "the credential provider was not enabled".into(),
            }),
            "us-east-1",
        );
        assert_eq!(e.to_string(), NO_CREDENTIALS);
        for kind in [
            DependencyError::Denied {
                service: "DynamoDB",
                detail: "AccessDeniedException: no".into(),
            },
            DependencyError::Throttled {
                service: "DynamoDB",
                detail: "x".into(),
            },
            DependencyError::TimedOut {
                service: "DynamoDB",
                detail: "x".into(),
            },
            DependencyError::other("DynamoDB", "ResourceNotFoundException in the text only"),
        ] {
            let e = explain_in(AdminError::Dependency(kind.clone()), "us-east-1");
            assert!(matches!(&e, AdminError::Dependency(d) if *d == kind), "{e}");
            assert!(
                e.to_string().starts_with("DynamoDB request failed: "),
                "{e}"
            );
        }
        let e = explain_in(AdminError::NotFound("x".into()), "us-east-1");
        assert_eq!(e.to_string(), "x");
    }
}
