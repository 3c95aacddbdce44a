//! `get`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, GetArgs, Printer};

/// Run `get`.
pub fn run(_ctx: &Context, _args: &GetArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`get` is not built yet")
}
