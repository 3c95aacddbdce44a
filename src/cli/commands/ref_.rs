//! `ref PULLSPEC`.

use anyhow::{Result, bail};

use crate::cli::{ExitStatus, Printer, RefArgs};

/// Print how the pull spec parses, as JSON.
pub fn run(_args: &RefArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`ref` is not built yet")
}
