//! `apply`.

use anyhow::{Result, bail};

use crate::cli::{ApplyArgs, Context, ExitStatus, Printer};

/// Run `apply`.
pub fn run(_ctx: &Context, _args: &ApplyArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`apply` is not built yet")
}
