//! `validate`: every problem of every definition, policy and the config, at once.

use anyhow::Result;

use crate::cli::{Context, DiagnosticFormat, ExitStatus, Printer, ValidateArgs};
use crate::diagnostic;

/// Run `validate`.
pub fn run(ctx: &Context, args: &ValidateArgs, printer: &Printer) -> Result<ExitStatus> {
    let loaded = crate::cli::commands::load_definitions(ctx, &args.rev)?;
    let diags = &loaded.diagnostics;
    match args.format {
        DiagnosticFormat::Text => {
            // `-q` means errors only: warnings stay out of the text (not out of json/github).
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
                    match diags.len() {
                        0 => String::new(),
                        n => format!(" ({n} {})", diagnostic::plural(n, "warning", "warnings")),
                    }
                ));
            }
        }
        DiagnosticFormat::Json => printer.out(&diagnostic::render_json(diags)),
        DiagnosticFormat::Github => printer.out(&diagnostic::render_github(diags)),
    }
    Ok(if loaded.has_errors() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
