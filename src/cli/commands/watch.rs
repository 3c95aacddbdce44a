//! `watch`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, Printer, WatchArgs};

/// Run `watch`.
pub fn run(_ctx: &Context, _args: &WatchArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`watch` is not built yet")
}
