//! `validate`: every problem of every definition, policy and the config, at once.

use anyhow::Result;

use crate::cli::{DiagnosticFormat, ExitStatus, Printer, ValidateArgs};
use crate::diagnostic;
use crate::ops::{self, Workspace};

/// Run `validate`.
pub fn run(ws: &Workspace, args: &ValidateArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::validate::Options {
        rev: args.rev.rev.clone(),
    };
    let loaded = ops::validate::run(ws, &options)?;
    let diags = &loaded.diagnostics;
    match args.format {
        DiagnosticFormat::Text => {
            // `-q` means errors only: warnings and notes stay out of the text (not out of
            // json/github).
            let shown: Vec<_> = diags
                .iter()
                .filter(|d| !printer.is_quiet() || d.is_error())
                .cloned()
                .collect();
            printer.diagnostics(&diagnostic::render_text(&shown));
            if loaded.has_errors() {
                printer.info(&format!(
                    "error: {}",
                    diagnostic::summary(diags, loaded.files)
                ));
            } else {
                printer.info(&format!(
                    "{} {} valid in {} {}{}",
                    loaded.set.streams.len(),
                    diagnostic::plural(loaded.set.streams.len(), "stream", "streams"),
                    loaded.files,
                    diagnostic::plural(loaded.files, "file", "files"),
                    counts(diags)
                ));
            }
        }
        DiagnosticFormat::Json => printer.out(&diagnostic::render_json(diags)),
        DiagnosticFormat::Github => printer.out_commands(&diagnostic::render_github(diags)),
    }
    Ok(if loaded.has_errors() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// ` (1 warning, 2 notes)`, or nothing when there are neither.
fn counts(diags: &[diagnostic::Diagnostic]) -> String {
    let parts: Vec<String> = [
        (diagnostic::Severity::Warning, "warning", "warnings"),
        (diagnostic::Severity::Note, "note", "notes"),
    ]
    .into_iter()
    .filter_map(|(severity, one, many)| {
        let n = diagnostic::count(diags, severity);
        (n > 0).then(|| format!("{n} {}", diagnostic::plural(n, one, many)))
    })
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
