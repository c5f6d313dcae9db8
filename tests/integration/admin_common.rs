//! What the admin tool's integration tests share: a guard against real AWS, an isolated
//! world (own table and secret) per test, running `chadmin` commands, and a `chadmin serve`
//! child process that is killed when dropped.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CHADMIN: &str = env!("CARGO_BIN_EXE_chadmin");

/// The emulator's endpoint. Stops the test with a clear message when it is not set to a
/// loopback address: these tests create and delete resources and must never reach AWS.
pub fn emulator_endpoint() -> String {
    let Ok(url) = std::env::var("AWS_ENDPOINT_URL") else {
        panic!(
            "AWS_ENDPOINT_URL is not set. These tests need the local AWS emulator and never run \
             against real AWS; run them with `infra/dev/with-emulators.sh cargo test -p \
             connector-health-admin` or `make test`."
        );
    };
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    assert!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "AWS_ENDPOINT_URL={url} is not a local emulator (127.0.0.1 or localhost); refusing to run \
         tests that create and delete resources against it"
    );
    url
}

/// What a finished `chadmin` command left behind.
#[derive(Debug)]
pub struct Outcome {
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

/// One test's own table and key secret on the emulator.
#[derive(Debug, Clone)]
pub struct World {
    pub endpoint: String,
    pub table: String,
    pub secret: String,
}

impl World {
    /// A fresh, uniquely named table and secret, created with `chadmin init`.
    pub async fn new() -> Self {
        let endpoint = emulator_endpoint();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let world = Self {
            endpoint,
            table: format!("chadmin-test-{id}"),
            secret: format!("chadmin-test/{id}/api-keys"),
        };
        world.run(&["init"]).await.ok();
        world
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CHADMIN);
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("CONNECTORS_TABLE", &self.table)
            .env("API_KEYS_SECRET_ID", &self.secret)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "warn")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `chadmin ARGS` against this world and waits for it (at most 60 s).
    pub async fn run(&self, args: &[&str]) -> Outcome {
        let output = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("chadmin {args:?} did not finish within 60 s"))
            .expect("chadmin starts");
        Outcome {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
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
    pub async fn serve(&self) -> Server {
        let mut child = self
            .command(&["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("chadmin serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read chadmin's stdout") {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return addr.trim().to_owned();
                }
            }
            panic!("chadmin serve exited before printing its address");
        })
        .await
        .expect("chadmin serve prints `listening on ...` within 30 s");
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Server {
            base,
            http: reqwest::Client::new(),
            _child: child,
        }
    }
}

impl World {
    /// `chadmin dev --port 0 ARGS` with `vars` set, running until dropped; returns the
    /// server and the demo key it printed.
    pub async fn dev(&self, args: &[&str], vars: &[(&str, &str)]) -> (Server, String) {
        let mut all = vec!["dev", "--port", "0"];
        all.extend_from_slice(args);
        let mut cmd = self.command(&all);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("chadmin dev starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (key, base) = tokio::time::timeout(Duration::from_secs(60), async {
            let mut key = None;
            while let Some(line) = lines.next_line().await.expect("read chadmin's stdout") {
                if let Some(k) = line.strip_prefix("demo API key: ") {
                    key = Some(k.trim().to_owned());
                }
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return (
                        key.expect("the key is printed first"),
                        addr.trim().to_owned(),
                    );
                }
            }
            panic!("chadmin dev exited before printing its address");
        })
        .await
        .expect("chadmin dev prints its key and `listening on ...` within 60 s");
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert_eq!(key.len(), 64, "a 64-hex-digit key");
        (
            Server {
                base,
                http: reqwest::Client::new(),
                _child: child,
            },
            key,
        )
    }
}

/// A running `chadmin serve`; the process is killed when this is dropped.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    _child: Child,
}

impl Server {
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
