//! `validate`: load every definition, policy and the config and collect every problem; the
//! report is the loaded set with its diagnostics, rendered by whoever asked.

use anyhow::Result;

use super::Workspace;
use crate::definition::Loaded;

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions at this Git revision instead of the working tree.
    pub rev: Option<String>,
}

/// Load and check everything; diagnostics are in the result, not errors.
pub fn run(ws: &Workspace, options: &Options) -> Result<Loaded> {
    let mut loaded = ws.load_definitions(options.rev.as_deref())?;
    ws.check_triggers(&mut loaded, options.rev.as_deref())?;
    // Here an unreadable manifest is one more error to show.
    loaded.diagnostics.extend(ws.take_manifest_errors());
    crate::diagnostic::sort(&mut loaded.diagnostics);
    Ok(loaded)
}
