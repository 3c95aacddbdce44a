//! `catalog`: write the developer-catalog preview page through [`crate::ops::catalog`] and
//! say what it holds.

use anyhow::Result;

use crate::catalog;
use crate::cli::{CatalogArgs, ExitStatus, Printer};
use crate::diagnostic;
use crate::error::Hinted;
use crate::ops::{self, Run, Workspace};

/// Run `catalog`.
pub fn run(ws: &Workspace, args: &CatalogArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::catalog::Options {
        rev: args.rev.rev.clone(),
        out: args.out.clone(),
    };
    let written =
        match ops::catalog::run(ws, &options)? {
            Run::Done(written) => written,
            Run::Invalid(invalid) => {
                let errors: Vec<_> = invalid
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .cloned()
                    .collect();
                printer.diagnostics(&diagnostic::render_text(&errors));
                return Err(Hinted::new(
                format!(
                    "cannot write the catalog: {} in the definitions or policies",
                    diagnostic::plural(errors.len(), "1 error", &format!("{} errors", errors.len()))
                ),
                "fix the definitions and policies first; `streamsync validate` lists every problem",
            )
            .into());
            }
        };
    printer.info(&format!(
        "Wrote {} ({}, {}, {} flagged; {} without a builder tag left out; {}).",
        ws.display_path(&written.path),
        diagnostic::plural(written.cards, "1 card", &format!("{} cards", written.cards)),
        diagnostic::plural(
            written.versions,
            "1 version",
            &format!("{} versions", written.versions)
        ),
        written.flagged,
        diagnostic::plural(
            written.omitted,
            "1 stream",
            &format!("{} streams", written.omitted)
        ),
        catalog::html::human_size(written.bytes),
    ));
    Ok(ExitStatus::Success)
}
