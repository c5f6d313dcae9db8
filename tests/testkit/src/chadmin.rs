//! `chadmin`, the operator CLI, run as a process against a test's [`World`]: one command
//! and what it left behind ([`Outcome`]), or a `chadmin serve` / `chadmin dev` that runs
//! until dropped ([`LocalServer`]). The binaries come from [`crate::binaries`].

use crate::binaries::binary;
use crate::world::World;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long one `chadmin` command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What a finished `chadmin` command left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit status (-1 when killed by a signal).
    pub code: i32,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Panics with the command's stderr unless it succeeded.
    pub fn ok(self) -> Self {
        assert!(self.success, "chadmin failed: {}", self.stderr);
        self
    }
}

/// A `chadmin` command line against a world, with the world's settings in its
/// environment and nothing of the operator's (profile, API key, URL, stack).
pub struct Chadmin {
    cmd: Command,
    what: String,
}

impl Chadmin {
    /// Sets (or, with an empty value, blanks) a variable for this command.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.cmd.env(name, value);
        self
    }

    /// Runs the command and waits for it.
    pub async fn output(mut self) -> Outcome {
        let output = tokio::time::timeout(COMMAND_TIMEOUT, self.cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{} did not finish within {COMMAND_TIMEOUT:?}", self.what))
            .unwrap_or_else(|e| panic!("{} did not start: {e}", self.what));
        Outcome {
            code: output.status.code().unwrap_or(-1),
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs the command with `input` as its standard input and waits for it.
    pub async fn input(mut self, input: &str) -> Outcome {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", self.what));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_owned();
        // The command may exit without reading it all (bad arguments): not a failure here.
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(input.as_bytes()).await;
        });
        let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{} did not finish within {COMMAND_TIMEOUT:?}", self.what))
            .unwrap_or_else(|e| panic!("{} failed: {e}", self.what));
        writer.await.ok();
        Outcome {
            code: output.status.code().unwrap_or(-1),
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts the command and reads its stdout, line by line, until `found` returns a
    /// value (within `within`); the rest of its stdout is read and dropped.
    async fn until<T>(
        mut self,
        within: Duration,
        mut found: impl FnMut(&str) -> Option<T>,
    ) -> (Child, T) {
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", self.what));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let what = &self.what;
        let value = tokio::time::timeout(within, async {
            while let Some(line) = lines.next_line().await.expect("read chadmin's stdout") {
                if let Some(value) = found(&line) {
                    return value;
                }
            }
            panic!("{what} exited before printing what it should");
        })
        .await
        .unwrap_or_else(|_| panic!("{what} printed nothing expected within {within:?}"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (child, value)
    }
}

impl World {
    /// A world on the moto emulator whose table and key secret `chadmin init` created;
    /// `None` without the emulators (see [`crate::guard`]).
    pub async fn init() -> Option<Self> {
        let world = Self::named(&crate::endpoint()?).await;
        world.run(&["init"]).await.ok();
        Some(world)
    }

    /// `chadmin ARGS` against this world, to be run.
    pub fn chadmin(&self, args: &[&str]) -> Chadmin {
        let mut cmd = Command::new(binary("chadmin"));
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("CONNECTORS_TABLE", &self.table)
            .env("API_KEYS_SECRET_ID", &self.secret_id)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "warn")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("CONNECTOR_HEALTH_API_KEY")
            .env_remove("CONNECTOR_HEALTH_URL")
            .env_remove("CONNECTOR_HEALTH_STACK")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        Chadmin {
            cmd,
            what: format!("chadmin {args:?}"),
        }
    }

    /// Runs `chadmin ARGS` against this world and waits for it.
    pub async fn run(&self, args: &[&str]) -> Outcome {
        self.chadmin(args).output().await
    }

    /// [`World::run`] with `vars` set as well.
    pub async fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
        vars.iter()
            .fold(self.chadmin(args), |c, (k, v)| c.env(k, v))
            .output()
            .await
    }

    /// `chadmin keys create --name NAME EXTRA...`; returns the printed key.
    pub async fn create_key(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["keys", "create", "--name", name];
        args.extend_from_slice(extra);
        let out = self.run(&args).await.ok();
        let key = out.stdout.trim().to_owned();
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "one line, the key: {:?}",
            out.stdout
        );
        assert_eq!(key.len(), 64, "a 64-hex-digit key");
        key
    }

    /// `chadmin serve --port 0`, running until dropped.
    pub async fn serve(&self) -> LocalServer {
        let (child, base) = self
            .chadmin(&["serve", "--port", "0"])
            .until(Duration::from_secs(30), |line| {
                line.strip_prefix("listening on ")
                    .map(|addr| addr.trim().to_owned())
            })
            .await;
        LocalServer::new(base, child)
    }

    /// `chadmin dev --port 0 ARGS` with `vars` set, running until dropped; returns the
    /// server and the demo key it printed.
    pub async fn dev(&self, args: &[&str], vars: &[(&str, &str)]) -> (LocalServer, String) {
        let mut all = vec!["dev", "--port", "0"];
        all.extend_from_slice(args);
        let command = vars
            .iter()
            .fold(self.chadmin(&all), |c, (k, v)| c.env(k, v));
        let mut key = None;
        let (child, (key, base)) = command
            .until(Duration::from_secs(60), |line| {
                if let Some(k) = line.strip_prefix("demo API key: ") {
                    key = Some(k.trim().to_owned());
                }
                line.strip_prefix("listening on ").map(|addr| {
                    (
                        key.clone().expect("the key is printed first"),
                        addr.trim().to_owned(),
                    )
                })
            })
            .await;
        assert_eq!(key.len(), 64, "a 64-hex-digit key");
        (LocalServer::new(base, child), key)
    }
}

/// A running `chadmin serve` or `chadmin dev`; the process is killed when this is dropped.
pub struct LocalServer {
    pub base: String,
    pub http: reqwest::Client,
    _child: Child,
}

impl LocalServer {
    fn new(base: String, child: Child) -> Self {
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Self {
            base,
            http: reqwest::Client::new(),
            _child: child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method.parse().expect("a method"), self.url(path))
    }
}
