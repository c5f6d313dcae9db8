//! The command line, declared with clap's derive API: every argument type of every
//! subcommand lives here, and this module uses nothing else of the crate.

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use shared::auth::CONNECTOR_HEALTH_GRANT;
use shared::config::api::SECRET_VAR;
use shared::config::TABLE_VAR;
use shared::domain::{parse_timestamp, ConnectorId, FeedType};

/// `--region`'s variable (the AWS SDK's own).
pub const REGION_VAR: &str = "AWS_REGION";
/// `--endpoint-url`'s variable (the AWS SDK's own).
pub const ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL";
/// `--stack`'s variable.
pub const STACK_VAR: &str = "CONNECTOR_HEALTH_STACK";

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
    #[arg(long, env = TABLE_VAR, global = true, value_name = "TABLE")]
    pub table: Option<String>,
    /// Secrets Manager secret (name or ARN) holding the API key document.
    #[arg(long, env = SECRET_VAR, global = true, value_name = "SECRET_ID")]
    pub secret: Option<String>,
    /// AWS region.
    #[arg(long, env = REGION_VAR, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator) instead of AWS.
    #[arg(long, env = ENDPOINT_URL_VAR, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// A deployed CloudFormation stack: tables, key secret, API URL and probe function come
    /// from its outputs (TableName, HistoryTableName, KeySecretArn, ApiUrl, ProbeFunctionName)
    /// unless given.
    #[arg(long, env = STACK_VAR, global = true, value_name = "STACK")]
    pub stack: Option<String>,
}

impl TargetArgs {
    /// Puts `--region` / `--endpoint-url` into the environment, where every AWS SDK client
    /// reads them (a client prefers `AWS_ENDPOINT_URL` from the environment over an endpoint
    /// set on the shared configuration, so setting the environment is what makes the flag
    /// win). Call it before any other thread exists.
    pub fn export_to_env(&self) {
        if let Some(region) = self.region.as_deref().filter(|r| !r.trim().is_empty()) {
            std::env::set_var(REGION_VAR, region.trim());
        }
        if let Some(url) = self
            .endpoint_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            std::env::set_var(ENDPOINT_URL_VAR, url.trim());
        }
    }

    /// Each target setting given (by flag or variable) and the variable it is bound to:
    /// what another process needs in its environment to work on the same target.
    pub fn env_vars(&self) -> Vec<(&'static str, &str)> {
        [
            (TABLE_VAR, &self.table),
            (SECRET_VAR, &self.secret),
            (REGION_VAR, &self.region),
            (ENDPOINT_URL_VAR, &self.endpoint_url),
            (STACK_VAR, &self.stack),
        ]
        .into_iter()
        .filter_map(|(var, value)| value.as_deref().map(|v| (var, v)))
        .collect()
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
    #[command(disable_help_flag = true)]
    SeedDemo(DevStackArgs),
    /// Serve the API locally: /api/connector-health and /api/connector-health/{id}.
    #[command(disable_help_flag = true)]
    Serve(DevStackArgs),
    /// Probe now: invoke the deployment's probe function, or (--local, or an emulator
    /// endpoint) run the probe in this process; print the results.
    Probe(ProbeArgs),
    /// Call the API and print each connector's state. Exit status: 0 every connector is
    /// healthy, 1 some connector is not (error or unknown), 2 the check itself failed.
    Health(HealthArgs),
    /// For `make dev`: init, start demo upstreams on 127.0.0.1 and register them as
    /// connectors, (re)create the key `demo`, print it, serve, and probe every connector
    /// at once and then every --probe-interval seconds.
    #[command(disable_help_flag = true)]
    Dev(DevStackArgs),
}

impl Command {
    /// For a command of the development stack (`chadmin-dev`): its name there and its
    /// arguments, passed on untouched.
    pub fn dev_stack(&self) -> Option<(&'static str, &[String])> {
        match self {
            Command::SeedDemo(a) => Some(("seed-demo", &a.args)),
            Command::Serve(a) => Some(("serve", &a.args)),
            Command::Dev(a) => Some(("dev", &a.args)),
            _ => None,
        }
    }
}

// The arguments of `dev`, `serve` and `seed-demo`, for `chadmin-dev`, which reads them
// (`chadmin dev --help` shows its help). Plain comments: a doc comment here would become
// the three commands' description.
#[derive(Debug, Clone, Default, Args)]
pub struct DevStackArgs {
    /// Arguments for chadmin-dev (see `chadmin dev --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
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
        #[command(flatten)]
        credentials: CredentialsArgs,
    },
    /// Change a connector's name, URL, feed type, probe settings or credentials (only what is
    /// given).
    Update(UpdateArgs),
    /// Print every connector's configuration (not its state) as JSON, for `import`.
    Export,
    /// Add or update connectors from a JSON or YAML file (as `export` writes it), or from a
    /// ProGet server's connectors (`--from-proget URL`, its key in PROGET_API_KEY or on
    /// standard input). Checks everything first; writes only what differs, so running it
    /// again changes nothing.
    Import {
        /// The file (`-` for standard input).
        #[arg(
            required_unless_present = "from_proget",
            conflicts_with = "from_proget"
        )]
        file: Option<std::path::PathBuf>,
        /// Read the connectors of the ProGet server at this base URL (its Connectors
        /// management API) instead of a file.
        #[arg(long, value_name = "URL")]
        from_proget: Option<String>,
        /// Read the ProGet API key from standard input instead of PROGET_API_KEY.
        #[arg(long, requires = "from_proget")]
        proget_key_stdin: bool,
        /// Print what would change and write nothing.
        #[arg(long, requires = "from_proget")]
        dry_run: bool,
    },
    /// Move credentials kept in connectors' URLs (user-info) to their own Basic credentials
    /// in Secrets Manager, and drop them from the URLs. Running it again changes nothing.
    MigrateCredentials {
        /// Print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
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
    /// The id to use (default: one greater than every id the table ever handed out).
    #[arg(long, value_parser = parse_id)]
    pub id: Option<ConnectorId>,
    /// What kind of feed it is, which decides how it is probed.
    #[arg(long, value_parser = feed_type_parser(), default_value_t = FeedType::Generic)]
    pub feed_type: FeedType,
}

/// A connector's own probe settings (`probeTimeoutSeconds`, `probePackage`).
#[derive(Debug, Clone, Default, Args)]
pub struct ProbeSettingsArgs {
    /// This connector's probe timeout in seconds (default: the probe function's; at most
    /// what a probe run can start with its retry).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// The package the probe asks for: an npm package, a PyPI project, a gem, or Maven
    /// `group:artifact`.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
}

/// A connector's own credentials for a private feed. The secret part is read from
/// standard input (one line; a final line break is dropped), never from the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct CredentialsArgs {
    /// The user name of Basic credentials (the password or token comes from standard input).
    #[arg(
        long,
        value_name = "USER",
        requires = "password_stdin",
        conflicts_with_all = ["token_stdin", "header"]
    )]
    pub username: Option<String>,
    /// Read the Basic password or token from standard input (with --username).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Read a bearer token from standard input (sent as `Authorization: Bearer`).
    #[arg(long, conflicts_with = "header")]
    pub token_stdin: bool,
    /// The name of the header that carries the credentials (e.g. X-JFrog-Art-Api).
    #[arg(long, value_name = "NAME", requires = "header_value_stdin")]
    pub header: Option<String>,
    /// Read the header's value from standard input (with --header).
    #[arg(long, requires = "header")]
    pub header_value_stdin: bool,
    /// When the credentials expire (RFC 3339 or YYYY-MM-DD); the probe warns before.
    #[arg(long, value_name = "DATE", value_parser = parse_expiry)]
    pub credentials_expire: Option<DateTime<Utc>>,
}

/// `connectors update ID [--name] [--url] [--feed-type] [--timeout] [--package] ...`
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The connector's id.
    #[arg(value_parser = parse_id)]
    pub id: ConnectorId,
    /// A new unique name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new URL (http or https).
    #[arg(long)]
    pub url: Option<String>,
    /// A new feed type.
    #[arg(long, value_parser = feed_type_parser())]
    pub feed_type: Option<FeedType>,
    #[command(flatten)]
    pub probe: ProbeSettingsArgs,
    /// Remove the connector's own timeout (use the probe function's).
    #[arg(long, conflicts_with = "timeout")]
    pub clear_timeout: bool,
    /// Remove the connector's probe package (use the feed type's default).
    #[arg(long, conflicts_with = "package")]
    pub clear_package: bool,
    #[command(flatten)]
    pub credentials: CredentialsArgs,
    /// Remove the connector's credentials (and delete their secret).
    #[arg(
        long,
        conflicts_with_all = ["username", "token_stdin", "header", "credentials_expire"]
    )]
    pub clear_credentials: bool,
}

// `probe [--id] [--local | --function NAME] [--json]`
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Probe only this connector.
    #[arg(long, value_parser = parse_id)]
    pub id: Option<ConnectorId>,
    /// Run the probe in this process against the table (default when AWS_ENDPOINT_URL
    /// is a loopback address).
    #[arg(long, conflicts_with = "function")]
    pub local: bool,
    /// The probe function's name or ARN (default: the stack's ProbeFunctionName output).
    #[arg(long, env = "PROBE_FUNCTION_NAME", value_name = "NAME")]
    pub function: Option<String>,
    /// Print the run's summary as JSON.
    #[arg(long)]
    pub json: bool,
}

// `health [--id] [--url BASE] [--key KEY] [--json]`
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Check only this connector.
    #[arg(long, value_parser = parse_id)]
    pub id: Option<ConnectorId>,
    /// The API's base URL (default: the stack's ApiUrl output).
    #[arg(long, env = "CONNECTOR_HEALTH_URL", value_name = "BASE")]
    pub url: Option<String>,
    /// The API key (or set CONNECTOR_HEALTH_API_KEY; the environment keeps it out of
    /// the process list).
    #[arg(long, env = "CONNECTOR_HEALTH_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How often the stack probes (seconds): a connector last checked more than three
    /// intervals ago counts as stale, as does one the API marks `"stale": true`.
    #[arg(
        long,
        env = "PROBE_INTERVAL_SECONDS",
        default_value_t = 300,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub probe_interval_seconds: u64,
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

/// `--feed-type`: exactly one of the canonical names of [`FeedType::ALL`] (listed in
/// `--help` and in the error for anything else).
pub fn feed_type_parser() -> impl TypedValueParser<Value = FeedType> {
    PossibleValuesParser::new(FeedType::ALL.map(FeedType::as_str)).try_map(|name| {
        FeedType::from_name(&name).ok_or_else(|| format!("unknown feed type {name:?}"))
    })
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
                assert_eq!(a.feed_type, FeedType::NuGet);
                assert_eq!(a.id, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn feed_types_are_the_canonical_names_listed_in_the_help() {
        let add = |feed: &str| {
            Cli::try_parse_from([
                "chadmin",
                "connectors",
                "add",
                "--name",
                "n",
                "--url",
                "https://x",
                "--feed-type",
                feed,
            ])
        };
        for t in FeedType::ALL {
            match add(t.as_str()).unwrap().command {
                Command::Connectors(ConnectorsCommand::Add { connector: a, .. }) => {
                    assert_eq!(a.feed_type, t)
                }
                other => panic!("{other:?}"),
            }
        }
        for bad in ["cargo", "NuGet", "oci", ""] {
            assert!(add(bad).is_err(), "{bad:?}");
        }
        let e = add("cargo").unwrap_err().to_string();
        assert!(
            e.contains(
                "[possible values: npm, nuget, pypi, maven, docker, chocolatey, rubygems, generic]"
            ),
            "{e}"
        );
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("connectors")
            .and_then(|c| c.find_subcommand_mut("add"))
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        assert!(
            help.contains(
                "[default: generic] [possible values: npm, nuget, pypi, maven, docker, chocolatey, rubygems, generic]"
            ),
            "{help}"
        );
        let default = Cli::try_parse_from([
            "chadmin",
            "connectors",
            "add",
            "--name",
            "n",
            "--url",
            "https://x",
        ]);
        match default.unwrap().command {
            Command::Connectors(ConnectorsCommand::Add { connector: a, .. }) => {
                assert_eq!(a.feed_type, FeedType::Generic)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dev_stack_commands_take_every_argument_for_chadmin_dev() {
        let cli = Cli::try_parse_from([
            "chadmin",
            "--table",
            "t",
            "dev",
            "--port",
            "0",
            "--help",
            "--probe-interval",
            "5",
        ])
        .unwrap();
        let (name, args) = cli.command.dev_stack().unwrap();
        assert_eq!(name, "dev");
        assert_eq!(args, ["--port", "0", "--help", "--probe-interval", "5"]);
        assert!(cli.target.env_vars().contains(&(TABLE_VAR, "t")));
        for (command, name) in [("serve", "serve"), ("seed-demo", "seed-demo")] {
            let cli = Cli::try_parse_from(["chadmin", command, "--help"]).unwrap();
            let (n, args) = cli.command.dev_stack().unwrap();
            assert_eq!((n, args), (name, &["--help".to_owned()][..]));
        }
        let cli = Cli::try_parse_from(["chadmin", "serve"]).unwrap();
        assert_eq!(cli.command.dev_stack(), Some(("serve", &[][..])));
        let cli = Cli::try_parse_from(["chadmin", "init"]).unwrap();
        assert_eq!(cli.command.dev_stack(), None);
    }
}
