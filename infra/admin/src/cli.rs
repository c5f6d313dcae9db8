//! The command line, declared with clap's derive API.

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::domain::{parse_timestamp, ConnectorId};
use shared::keys::CONNECTOR_HEALTH_GRANT;
use std::net::IpAddr;

/// Administer a connector-health deployment, or run its API locally.
///
/// AWS credentials come from the usual chain (environment, profile, SSO, instance role).
#[derive(Debug, Parser)]
#[command(name = "chadmin", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Which table, secret, region and endpoint to work on.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Target (flag or environment variable)")]
pub struct TargetArgs {
    /// DynamoDB table holding the connectors.
    #[arg(long, env = "CONNECTORS_TABLE", global = true, value_name = "TABLE")]
    pub table: Option<String>,
    /// Secrets Manager secret (name or ARN) holding the API key document.
    #[arg(
        long,
        env = "API_KEYS_SECRET_ID",
        global = true,
        value_name = "SECRET_ID"
    )]
    pub secret: Option<String>,
    /// AWS region.
    #[arg(long, env = "AWS_REGION", global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator) instead of AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// A deployed CloudFormation stack: table, key secret, API URL and probe function come
    /// from its outputs (TableName, KeySecretArn, ApiUrl, ProbeFunctionName) unless given.
    #[arg(
        long,
        env = "CONNECTOR_HEALTH_STACK",
        global = true,
        value_name = "STACK"
    )]
    pub stack: Option<String>,
}

impl TargetArgs {
    /// Puts `--region` / `--endpoint-url` into the environment, where every AWS SDK client
    /// reads them (a client prefers `AWS_ENDPOINT_URL` from the environment over an endpoint
    /// set on the shared configuration, so setting the environment is what makes the flag
    /// win). Call it before any other thread exists.
    pub fn export_to_env(&self) {
        if let Some(region) = self.region.as_deref().filter(|r| !r.trim().is_empty()) {
            std::env::set_var("AWS_REGION", region.trim());
        }
        if let Some(url) = self
            .endpoint_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            std::env::set_var("AWS_ENDPOINT_URL", url.trim());
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the connector table and the API key secret (`{"keys": []}`); existing ones are kept.
    Init,
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Add, list and remove connectors.
    #[command(subcommand)]
    Connectors(ConnectorsCommand),
    /// Add demo connectors modelled on public feeds, in every state (skips those present).
    SeedDemo,
    /// Serve the API locally: /api/connector-health and /api/connector-health/{id}.
    Serve(ServeArgs),
    /// Probe now: invoke the deployment's probe function, or (--local, or an emulator
    /// endpoint) run the probe in this process; print the results.
    Probe(crate::commands::probe::ProbeArgs),
    /// Call the API and print each connector's state. Exit status: 0 every connector is
    /// healthy, 1 some connector is not (error or unknown), 2 the check itself failed.
    Health(crate::commands::health::HealthArgs),
    /// For `make dev`: init, start demo upstreams on 127.0.0.1 and register them as
    /// connectors, (re)create the key `demo`, print it, serve, and probe every connector
    /// at once and then every --probe-interval seconds.
    Dev(DevArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key, store only its SHA-256 digest, and print the key once on stdout.
    Create(CreateKeyArgs),
    /// List the keys: name, grants, impersonation, expiry, status (never keys or digests).
    List,
    /// Remove a key by name; requests with it are refused once the functions' caches refresh.
    Revoke {
        /// The key's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// A unique name for the key (who or what uses it).
    #[arg(long)]
    pub name: String,
    /// When the key stops working: RFC 3339 (2026-12-31T18:00:00Z) or a date
    /// (2026-12-31, meaning 00:00 UTC that day).
    #[arg(long, value_name = "WHEN", value_parser = parse_expiry)]
    pub expires: Option<DateTime<Utc>>,
    /// Grant direct access (repeatable). Default: connector-health, unless --impersonate is given.
    #[arg(long = "grant", value_name = "GRANT",
          value_parser = PossibleValuesParser::new([CONNECTOR_HEALTH_GRANT]))]
    pub grants: Vec<String>,
    /// The ProGet user the key impersonates.
    #[arg(long, value_name = "USER")]
    pub impersonate: Option<String>,
    /// A privilege of the impersonated user (repeatable); Feeds_Manage opens this API.
    #[arg(long = "privilege", value_name = "PRIVILEGE", requires = "impersonate")]
    pub privileges: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Add a connector (state unknown until it is probed).
    Add {
        #[command(flatten)]
        connector: AddConnectorArgs,
        #[command(flatten)]
        probe: ProbeSettingsArgs,
    },
    /// Change a connector's name, URL, feed type or probe settings (only what is given).
    Update(crate::commands::config::UpdateArgs),
    /// Print every connector's configuration (not its state) as JSON, for `import`.
    Export,
    /// Add or update connectors from a JSON or YAML file (as `export` writes it). Checks
    /// the whole file first; writes only what differs, so running it again changes nothing.
    Import {
        /// The file (`-` for standard input).
        file: std::path::PathBuf,
    },
    /// List the connectors, ordered by id.
    List {
        /// Print the API's JSON objects (plus feedType) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a connector by id.
    Remove {
        /// The connector's id.
        #[arg(value_parser = parse_id)]
        id: ConnectorId,
    },
}

#[derive(Debug, Args)]
pub struct AddConnectorArgs {
    /// The connector's unique name.
    #[arg(long)]
    pub name: String,
    /// The feed's URL (http or https).
    #[arg(long)]
    pub url: String,
    /// The id to use (default: one more than the largest id in use).
    #[arg(long, value_parser = parse_id)]
    pub id: Option<ConnectorId>,
    /// What kind of feed it is, which decides how it is probed.
    #[arg(long, value_enum, default_value_t = FeedType::Generic)]
    pub feed_type: FeedType,
}

/// A connector's own probe settings (`probeTimeoutSeconds`, `probePackage`).
#[derive(Debug, Clone, Default, Args)]
pub struct ProbeSettingsArgs {
    /// This connector's probe timeout in seconds (default: the probe function's).
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub timeout: Option<u32>,
    /// The package the probe asks for: a PyPI project, a gem, or Maven `group:artifact`.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
}

/// The feed types a connector can have (stored as the `feedType` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeedType {
    Npm,
    Nuget,
    Pypi,
    Maven,
    Docker,
    Chocolatey,
    Rubygems,
    Generic,
}

impl FeedType {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedType::Npm => "npm",
            FeedType::Nuget => "nuget",
            FeedType::Pypi => "pypi",
            FeedType::Maven => "maven",
            FeedType::Docker => "docker",
            FeedType::Chocolatey => "chocolatey",
            FeedType::Rubygems => "rubygems",
            FeedType::Generic => "generic",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Seconds between probe runs (the first runs at once). The probe settings are the
    /// probe function's variables (PROBE_TIMEOUT_SECONDS, PROBE_RETRIES, ...).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::probe_loop::DEFAULT_INTERVAL_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub probe_interval: u64,
}

/// `--expires`: RFC 3339, or a plain date meaning 00:00 UTC.
pub fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    if let Some(at) = parse_timestamp(text) {
        return Ok(at);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| "expected RFC 3339 (2026-12-31T18:00:00Z) or YYYY-MM-DD".to_owned())
}

/// A connector id on the command line: 1 to 2147483647.
pub fn parse_id(text: &str) -> Result<ConnectorId, String> {
    ConnectorId::parse(text)
        .ok_or_else(|| format!("expected a whole number from 1 to {}", ConnectorId::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn expiry_takes_rfc3339_or_a_date() {
        assert_eq!(
            parse_expiry("2026-12-31").unwrap().to_rfc3339(),
            "2026-12-31T00:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("2026-12-31T18:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-31T16:00:00+00:00"
        );
        assert!(parse_expiry("31/12/2026").is_err());
        assert!(parse_expiry("2026-02-30").is_err());
    }

    #[test]
    fn privileges_need_a_user_and_grants_are_known_ones() {
        let ok = Cli::try_parse_from([
            "chadmin",
            "keys",
            "create",
            "--name",
            "n",
            "--impersonate",
            "admin",
            "--privilege",
            "Feeds_Manage",
        ]);
        assert!(ok.is_ok());
        assert!(Cli::try_parse_from([
            "chadmin",
            "keys",
            "create",
            "--name",
            "n",
            "--privilege",
            "Feeds_Manage"
        ])
        .is_err());
        assert!(Cli::try_parse_from([
            "chadmin", "keys", "create", "--name", "n", "--grant", "all"
        ])
        .is_err());
    }

    #[test]
    fn ids_and_feed_types_are_checked() {
        for bad in ["0", "-1", "abc", "2147483648"] {
            assert!(
                Cli::try_parse_from(["chadmin", "connectors", "remove", bad]).is_err(),
                "{bad}"
            );
        }
        let cli = Cli::try_parse_from([
            "chadmin",
            "connectors",
            "add",
            "--name",
            "n",
            "--url",
            "https://x",
            "--feed-type",
            "nuget",
        ])
        .unwrap();
        match cli.command {
            Command::Connectors(ConnectorsCommand::Add { connector: a, .. }) => {
                assert_eq!(a.feed_type, FeedType::Nuget);
                assert_eq!(a.id, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
