//! `import`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, ImportArgs, Printer};

/// Run `import`.
pub fn run(_ctx: &Context, _args: &ImportArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`import` is not built yet")
}
