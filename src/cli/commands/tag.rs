//! `tag`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, Printer, TagArgs};

/// Run `tag`.
pub fn run(_ctx: &Context, _args: &TagArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`tag` is not built yet")
}
