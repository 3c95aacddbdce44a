//! `sync`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, Printer, SyncArgs};

/// Run `sync`.
pub fn run(_ctx: &Context, _args: &SyncArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`sync` is not built yet")
}
