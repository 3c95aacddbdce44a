//! `catalog`: write the developer-catalog preview page through [`crate::ops::catalog`] and
//! say what it holds, or print the cards as JSON (`--format json`).

use anyhow::Result;

use crate::catalog;
use crate::cli::{CatalogArgs, CatalogFormat, ExitStatus, Printer, report};
use crate::diagnostic;
use crate::ops::{self, Run, Workspace};

/// Run `catalog`.
pub fn run(ws: &Workspace, args: &CatalogArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::catalog::Options {
        rev: args.rev.rev.clone(),
        out: args.out.clone(),
        json: args.format == CatalogFormat::Json,
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
    if let Some(json) = &written.json {
        printer.out(json);
        return Ok(ExitStatus::Success);
    }
    let path = written.path.as_deref().unwrap_or(ws.root.as_path());
    printer.info(&format!(
        "Wrote {} ({}, {} in the developer catalog, {}, {} flagged; {} without a builder tag left out; {}).",
        ws.display_path(path),
        diagnostic::plural(written.cards, "1 card", &format!("{} cards", written.cards)),
        written.in_console,
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
