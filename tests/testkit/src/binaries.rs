//! The workspace's binaries the tests and tools run as processes: the function binaries,
//! `chadmin` and `chadmin-dev` (which `chadmin dev`, `serve` and `seed-demo` start).
//!
//! They live in the running executable's profile directory (`target/debug/deps/x` →
//! `target/debug`). The first [`binary`] call in a process runs
//! `cargo build --workspace --bins` for that profile (through `$CARGO`, which cargo sets
//! when it runs tests), so a stale binary is never run; the whole workspace, as `make`
//! builds it, so features unify the same way and the build is a no-op under `make`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/<profile>`, found from the running executable's own path.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the executable's path");
    let mut dir = exe.parent().expect("the executable has a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("deps has a parent");
    }
    dir.to_path_buf()
}

fn file_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// `target/<profile>/<name>` beside this executable's profile (`release` for a tool run
/// from `target/debug`, say), if it has been built; nothing is built.
pub fn in_profile(profile: &str, name: &str) -> Option<PathBuf> {
    let path = profile_dir().parent()?.join(profile).join(file_name(name));
    path.is_file().then_some(path)
}

fn build(profile: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--workspace", "--bins"]);
    match profile.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => {
            return Err(format!(
                "unexpected profile directory {}",
                profile.display()
            ))
        }
    }
    if let Some(target) = profile.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    // Past the test harness's capture: a first build takes a while.
    let _ = writeln!(
        std::io::stderr(),
        "building the workspace's binaries (cargo build --workspace --bins) for the tests that run them"
    );
    let status = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build --workspace --bins failed ({status})"))
    }
}

/// The path of a workspace binary (`list-connectors`, `chadmin`, ...), the workspace's
/// binaries built first (once per process).
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let profile = profile_dir();
    if let Err(e) = BUILT.get_or_init(|| build(&profile)) {
        panic!("{e}");
    }
    let path = profile.join(file_name(name));
    assert!(
        path.is_file(),
        "{} does not exist: no workspace binary is called {name}",
        path.display()
    );
    path
}
