//! A private moto emulator, for tests that stop and restart their AWS dependencies.
//!
//! Started as `$EMULATOR_PYTHON $EMULATOR_SCRIPT --exit-on-stdin-eof [--port N]` (both
//! exported by `with-emulators.sh`); the port is the first line it prints. Its stdin stays
//! open while this value lives, so it also exits if the test process dies without running
//! destructors.

use crate::guard::emulator_var;
use shared::aws::is_local_endpoint;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct OwnEmulator {
    launcher: Launcher,
    child: Option<Child>,
    port: u16,
}

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start the emulator: the Python interpreter and the script.
#[derive(Debug, Clone)]
struct Launcher {
    python: String,
    script: String,
}

async fn spawn(launcher: &Launcher, port: u16) -> Result<(Child, u16), String> {
    let mut cmd = Command::new(&launcher.python);
    let script = &launcher.script;
    cmd.arg(script).arg("--exit-on-stdin-eof");
    if port != 0 {
        cmd.arg("--port").arg(port.to_string());
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start the emulator: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
        .await
        .map_err(|_| "the emulator printed no port in time".to_owned())?
        .map_err(|e| e.to_string())?
        .ok_or("the emulator exited before printing its port")?;
    let port: u16 = first
        .trim()
        .parse()
        .map_err(|_| format!("the emulator printed {first:?}, not a port"))?;
    // Keep draining stdout so the emulator never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, port))
}

impl OwnEmulator {
    /// Starts an emulator on a port the kernel picks; `None` (having said why, see
    /// [`crate::guard`]) when `with-emulators.sh` did not say how.
    pub async fn start() -> Option<Self> {
        let launcher = Launcher {
            python: emulator_var("EMULATOR_PYTHON")?,
            script: emulator_var("EMULATOR_SCRIPT")?,
        };
        let (child, port) = spawn(&launcher, 0).await.unwrap_or_else(|e| panic!("{e}"));
        Some(Self {
            launcher,
            child: Some(child),
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        let url = format!("http://127.0.0.1:{}", self.port);
        debug_assert!(is_local_endpoint(&url));
        url
    }

    /// Kills the emulator and waits until it is gone (its port refuses connections).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts a fresh emulator (empty state) on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match spawn(&self.launcher, self.port).await {
                Ok((child, port)) => {
                    assert_eq!(port, self.port, "the emulator came back on another port");
                    self.child = Some(child);
                    return;
                }
                // The port may take a moment to be released: poll until the deadline.
                Err(e) if Instant::now() < deadline => {
                    eprintln!(
                        "emulator restart on port {} failed ({e}); retrying",
                        self.port
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not restart the emulator on port {}: {e}", self.port),
            }
        }
    }
}

impl Drop for OwnEmulator {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
