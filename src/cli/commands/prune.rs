//! `prune`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, Printer, PruneArgs};

/// Run `prune`.
pub fn run(_ctx: &Context, _args: &PruneArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`prune` is not built yet")
}
