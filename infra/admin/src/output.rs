//! Output for scripts goes to stdout through here: written and flushed at once (so a
//! parent process reading line by line sees it), and a reader that went away (`| head`)
//! is not an error.

use crate::error::{AdminError, Result};
use std::io::{ErrorKind, Write};

pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(AdminError::Io(format!("cannot write to stdout: {e}"))),
    }
}

/// Like [`stdout`], but a closed pipe is an error too: for output that must not get lost
/// (a new key, shown only once).
pub fn stdout_strict(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| AdminError::Io(format!("cannot write to stdout: {e}")))
}
