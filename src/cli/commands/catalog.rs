//! `catalog`: write the developer-catalog preview page through [`crate::ops::catalog`] and
//! say what it holds.

use anyhow::Result;

use crate::catalog;
use crate::cli::{CatalogArgs, ExitStatus, Printer, report};
use crate::diagnostic;
use crate::ops::{self, Run, Workspace};

/// Run `catalog`.
pub fn run(ws: &Workspace, args: &CatalogArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::catalog::Options {
        rev: args.rev.rev.clone(),
        out: args.out.clone(),
    };
    let written = match ops::catalog::run(ws, &options)? {
        Run::Done(written) => written,
        Run::Invalid(invalid) => {
            return Err(report::invalid_error(
                &invalid,
                printer,
                "cannot write the catalog",
            ));
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
