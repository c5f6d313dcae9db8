//! Real registry software on 127.0.0.1, for the prober's tests: Verdaccio (npm), pypiserver
//! (PyPI) and the CNCF distribution registry (Docker), each open or behind htpasswd, each
//! on a port the kernel picks, in a directory of its own that is removed with it.
//!
//! `make integration` and `make test` install them: Verdaccio with the node tools
//! (`infra/devstack/scripts/node_modules`), pypiserver in the venv (`.venv`), and the
//! Debian package `docker-registry`. Where one is missing, a test that needs it says so in
//! one line ([`crate::guard::cannot_run`]): a failure when the emulators are required.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The one user of every htpasswd registry.
pub const USER: &str = "ci-bot";
/// Its password.
pub const PASSWORD: &str = "Pw-0f-the-ci-bot";
/// [`USER`] with the bcrypt hash (cost 5) of [`PASSWORD`]: the one format all three read.
const HTPASSWD: &str = "ci-bot:$2b$05$aVdwzo0jtFrQVE2rPOlE0.1TxH0bPadKRyOwHz.HanOQjhc975tA2\n";

/// What a test that needs the registries says when one is missing.
pub const HOW: &str = "needs Verdaccio, pypiserver and docker-registry: run make integration \
(it installs them), or make .venv/.installed infra/devstack/scripts/node_modules/.installed registries";

/// How long a registry may take to start on a busy machine.
const START: Duration = Duration::from_secs(60);

/// Who may read the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Open,
    /// Only [`USER`] with [`PASSWORD`].
    Htpasswd,
}

/// How pypiserver answers a project it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownProject {
    /// A redirect to pypi.org (pypiserver's default).
    RedirectToPypiOrg,
    /// 404: an index that holds only its own projects.
    NotFound,
}

/// A running registry; stopped, and its directory removed, when dropped.
pub struct RegistryProcess {
    child: Child,
    port: u16,
    dir: PathBuf,
    output: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for RegistryProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryProcess")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn node_tools() -> PathBuf {
    repo_root().join("infra/devstack/scripts")
}

/// `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The venv's Python when pypiserver is installed in it.
fn venv_python_with_pypiserver() -> Option<PathBuf> {
    let venv = repo_root().join(".venv");
    let python = venv.join("bin/python");
    let installed = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .any(|d| d.path().join("site-packages/pypiserver").is_dir());
    (python.is_file() && installed).then_some(python)
}

/// A fresh directory of its own under the system's temporary directory.
fn fresh_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "connector-health-{kind}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create the registry's directory");
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a directory for the registry");
    }
    std::fs::write(path, text).expect("write a file for the registry");
}

impl RegistryProcess {
    /// Verdaccio with no uplink (nothing leaves 127.0.0.1), holding the package `left-pad`
    /// (no versions). Open: anyone reads every package. Htpasswd: `/-/ping` stays public,
    /// as Verdaccio has it; packages need [`USER`], and packages named `secret-*` are kept
    /// to a group [`USER`] is not in (403 for it).
    pub async fn verdaccio(access: Access) -> Option<Self> {
        let verdaccio = node_tools().join("node_modules/verdaccio/package.json");
        let Some(node) = on_path("node").filter(|_| verdaccio.is_file()) else {
            return crate::guard::cannot_run(HOW);
        };
        let dir = fresh_dir("verdaccio");
        let who = match access {
            Access::Open => "$all",
            Access::Htpasswd => "$authenticated",
        };
        write(&dir.join("htpasswd"), HTPASSWD);
        write(
            &dir.join("storage/left-pad/package.json"),
            r#"{"name":"left-pad","versions":{},"dist-tags":{},"_attachments":{},"_uplinks":{},"_distfiles":{},"_rev":"1-0"}"#,
        );
        write(
            &dir.join("config.yaml"),
            &format!(
                "storage: {storage}\n\
                 auth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: -1\n\
                 packages:\n  'secret-*':\n    access: release-managers\n  '**':\n    access: {who}\n    publish: $authenticated\n\
                 log: {{ type: stdout, format: json, level: error }}\n",
                storage = dir.join("storage").display(),
                htpasswd = dir.join("htpasswd").display(),
            ),
        );
        let mut command = Command::new(node);
        command
            .arg(node_tools().join("serve_verdaccio.js"))
            .arg(dir.join("config.yaml"));
        Some(Self::start(command, dir).await)
    }

    /// pypiserver holding `sampleproject-1.0.tar.gz` when `with_sampleproject`, answering a
    /// project it lacks as `unknown` says.
    pub async fn pypiserver(
        access: Access,
        with_sampleproject: bool,
        unknown: UnknownProject,
    ) -> Option<Self> {
        let Some(python) = venv_python_with_pypiserver() else {
            return crate::guard::cannot_run(HOW);
        };
        let dir = fresh_dir("pypiserver");
        let packages = dir.join("packages");
        std::fs::create_dir_all(&packages).expect("create the packages directory");
        if with_sampleproject {
            write(
                &packages.join("sampleproject-1.0.tar.gz"),
                "not a real archive",
            );
        }
        let mut command = Command::new(python);
        command
            .arg(node_tools().join("serve_pypiserver.py"))
            .arg(&packages);
        if access == Access::Htpasswd {
            write(&dir.join("htpasswd"), HTPASSWD);
            command.arg("--htpasswd").arg(dir.join("htpasswd"));
        }
        if unknown == UnknownProject::NotFound {
            command.arg("--no-fallback");
        }
        Some(Self::start(command, dir).await)
    }

    /// The distribution registry (`docker-registry serve`), storing in its own directory.
    pub async fn distribution(access: Access) -> Option<Self> {
        let Some(registry) = on_path("docker-registry") else {
            return crate::guard::cannot_run(HOW);
        };
        let dir = fresh_dir("docker-registry");
        let auth = match access {
            Access::Open => String::new(),
            Access::Htpasswd => {
                write(&dir.join("htpasswd"), HTPASSWD);
                format!(
                    "auth:\n  htpasswd:\n    realm: connector-health-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            }
        };
        // `info`: the level of its `listening on ADDRESS` line, which names the port.
        write(
            &dir.join("config.yml"),
            &format!(
                "version: 0.1\n\
                 log:\n  level: info\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:0\n  secret: connector-health-test\n{auth}",
                dir.join("data").display()
            ),
        );
        let mut command = Command::new(registry);
        command.arg("serve").arg(dir.join("config.yml"));
        Some(Self::start(command, dir).await)
    }

    /// Starts `command` and waits for its `listening on 127.0.0.1:PORT` line (on standard
    /// output or error). Both streams are read to the end meanwhile and after, so the
    /// registry never blocks on a full pipe; their lines are kept for a failure's message.
    async fn start(mut command: Command, dir: PathBuf) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, mut port_rx) = tokio::sync::mpsc::channel(2);
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(read_lines(stdout, output.clone(), port_tx.clone()));
        tokio::spawn(read_lines(stderr, output.clone(), port_tx));
        let port = match tokio::time::timeout(START, port_rx.recv()).await {
            Ok(Some(port)) => port,
            waited => {
                let _ = child.start_kill();
                let _ = std::fs::remove_dir_all(&dir);
                let lines = output.lock().expect("output lock").join("\n");
                let why = if waited.is_err() {
                    "did not start in time"
                } else {
                    "stopped"
                };
                panic!("{command:?} {why}; its output:\n{lines}");
            }
        };
        Self {
            child,
            port,
            dir,
            output,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What it has printed so far, for a failing assertion's message.
    pub fn output(&self) -> String {
        self.output.lock().expect("output lock").join("\n")
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keeps `stream`'s lines, and sends the port of the first `listening on 127.0.0.1:PORT`.
async fn read_lines(
    stream: impl AsyncRead + Unpin,
    output: Arc<Mutex<Vec<String>>>,
    port: tokio::sync::mpsc::Sender<u16>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(p) = listening_port(&line) {
            let _ = port.try_send(p);
        }
        let mut kept = output.lock().expect("output lock");
        if kept.len() < 200 {
            kept.push(line);
        }
    }
}

/// The port in a `listening on 127.0.0.1:PORT` line.
fn listening_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on 127.0.0.1:")? + "listening on 127.0.0.1:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|p| *p != 0)
}
