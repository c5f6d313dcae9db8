//! The function binaries under test.
//!
//! They live beside this test executable's profile directory (`target/debug/deps/x` →
//! `target/debug`). The first call in a test process runs `cargo build` for them (through
//! `$CARGO`, which cargo sets when it runs tests), so a stale binary is never tested;
//! under `make test`, which builds every binary first, that build is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The packages whose binaries the end-to-end tests run (package, binary).
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("list-connectors", "list-connectors"),
    ("get-connector", "get-connector"),
    ("probe-connectors", "probe-connectors"),
];

/// `target/<profile>`, found from the test executable's own path.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe.parent().expect("the test executable has a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("deps has a parent");
    }
    dir.to_path_buf()
}

fn build(profile: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build").arg("--quiet");
    for (package, bin) in FUNCTIONS {
        cmd.args(["-p", package, "--bin", bin]);
    }
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
    let status = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build of the function binaries failed ({status})"
        ))
    }
}

/// The path of a function binary, built (once per process) if need be.
pub fn binary(name: &str) -> PathBuf {
    assert!(
        FUNCTIONS.iter().any(|(_, b)| *b == name),
        "{name} is not one of the function binaries"
    );
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let profile = profile_dir();
    if let Err(e) = BUILT.get_or_init(|| build(&profile)) {
        panic!("{e}");
    }
    let path = profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}
