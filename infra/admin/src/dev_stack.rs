//! `chadmin dev`, `serve` and `seed-demo` belong to the development stack: they run the
//! executable `chadmin-dev` (crate connector-health-devstack), so this production tool
//! links none of the demo code.
//!
//! `chadmin-dev` is looked for next to the running executable, then on `PATH`. It gets the
//! command's name and arguments untouched, and the target given to `chadmin` (flags or
//! variables) through the variables those flags are bound to. On Unix it replaces this
//! process (same pid, signals and exit status go straight to it), so stopping `chadmin dev`
//! stops the server too.

use crate::cli::TargetArgs;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The development stack's executable.
pub const PROGRAM: &str = "chadmin-dev";

/// Runs `chadmin-dev NAME ARGS...` with the target in its environment and ends with its
/// exit status. Prints one line and returns 1 when it cannot be found or started.
pub fn forward(name: &str, args: &[String], target: &TargetArgs) -> ExitCode {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let Some(program) = locate(exe_dir.as_deref(), std::env::var_os("PATH").as_deref()) else {
        eprintln!("error: {}", missing(name));
        return ExitCode::from(1);
    };
    let mut command = std::process::Command::new(&program);
    command.arg(name).args(args);
    for (var, value) in target.env_vars() {
        command.env(var, value);
    }
    run(command, &program)
}

#[cfg(unix)]
fn run(mut command: std::process::Command, program: &Path) -> ExitCode {
    use std::os::unix::process::CommandExt;
    // Only returns when the program could not be started.
    let e = command.exec();
    eprintln!("error: cannot run {}: {e}", program.display());
    ExitCode::from(1)
}

#[cfg(not(unix))]
fn run(mut command: std::process::Command, program: &Path) -> ExitCode {
    match command.status() {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", program.display());
            ExitCode::from(1)
        }
    }
}

/// The one line for a missing `chadmin-dev`.
pub fn missing(name: &str) -> String {
    format!(
        "chadmin {name} is part of the development stack (binary {PROGRAM}); build it with \
         make dev or cargo build -p connector-health-devstack"
    )
}

/// `chadmin-dev` in `exe_dir`, else in the first directory of `path` that has it.
pub fn locate(exe_dir: Option<&Path>, path: Option<&OsStr>) -> Option<PathBuf> {
    let file = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    exe_dir
        .map(Path::to_path_buf)
        .into_iter()
        .chain(path.map(std::env::split_paths).into_iter().flatten())
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chadmin_dev_is_found_next_to_chadmin_first_then_on_the_path() {
        let root = std::env::temp_dir().join(format!("chadmin-locate-{}", std::process::id()));
        let (here, on_path, empty) = (root.join("here"), root.join("bin"), root.join("empty"));
        for dir in [&here, &on_path, &empty] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let file = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
        std::fs::write(here.join(&file), "").unwrap();
        std::fs::write(on_path.join(&file), "").unwrap();
        let path = std::env::join_paths([&empty, &on_path]).unwrap();

        assert_eq!(locate(Some(&here), Some(&path)), Some(here.join(&file)));
        assert_eq!(locate(Some(&empty), Some(&path)), Some(on_path.join(&file)));
        assert_eq!(locate(None, Some(&path)), Some(on_path.join(&file)));
        assert_eq!(locate(Some(&empty), Some(empty.as_os_str())), None);
        assert_eq!(locate(None, None), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_chadmin_dev_says_how_to_build_it() {
        assert_eq!(
            format!("error: {}", missing("dev")),
            "error: chadmin dev is part of the development stack (binary chadmin-dev); build it \
             with make dev or cargo build -p connector-health-devstack"
        );
    }
}
