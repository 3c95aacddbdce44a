//! `plan`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, PlanArgs, Printer};

/// Run `plan`.
pub fn run(_ctx: &Context, _args: &PlanArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`plan` is not built yet")
}
