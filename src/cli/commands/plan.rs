//! `plan`.

use anyhow::{Result, bail};

use crate::cli::{Context, ExitStatus, PlanArgs, Printer};

/// Run `plan`.
pub fn run(_ctx: &Context, _args: &PlanArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("`plan` is not built yet")
}

/// The offline plan as text, or the validation errors (used by `watch`).
pub fn offline_text(ctx: &Context) -> Result<String> {
    let loaded = super::load_definitions(ctx, &crate::cli::RevArgs::default())?;
    if loaded.has_errors() {
        return Ok(crate::diagnostic::render_text(&loaded.diagnostics));
    }
    Ok(format!("{} streams valid\n", loaded.set.streams.len()))
}
