//! `import`: `oc import-image`, through [`crate::ops::import`]: a re-import shows the apply
//! report (or, with `--dry-run`, the plan of it); `--from` shows the edit's diff and the plan
//! it implies, then (unless `--dry-run`) imports the tag and shows that report; a person at
//! a terminal approves the edit first unless `--auto-approve`.

use anyhow::{Context as _, Result};

use crate::cli::progress::Bar;
use crate::cli::settings::parse_duration;
use crate::cli::{ExitStatus, ImportArgs, Printer, ReportFormat, report};
use crate::ops::import::{Outcome, Report};
use crate::ops::{self, Run, Workspace};

/// Run `import`.
pub fn run(ws: &Workspace, args: &ImportArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::import::Options {
        target: args.target.clone(),
        all: args.all,
        max: args.max,
        from: args.from.clone(),
        confirm: args.confirm,
        scheduled: args.scheduled,
        insecure: args.insecure,
        reference_policy: args.reference_policy.clone(),
        import_mode: args.import_mode.clone(),
        dry_run: args.dry_run,
        lock_timeout: parse_duration(&args.lock_timeout)?,
        registry_config: args.registry_config.clone(),
    };
    // `--from` edits the definitions, then imports: a person at a terminal approves first,
    // from the diff and the plan it implies, as `apply` asks.
    if options.from.is_some() && !options.dry_run && should_prompt(args) {
        let preview = ops::import::Options {
            dry_run: true,
            ..options.clone()
        };
        if let Run::Done(Report::Edited(edited)) =
            ops::import::run(ws, &preview, &Bar::new(printer))?
        {
            report::edited(&edited, printer);
            report::implied(&edited, printer);
            let answer = printer
                .ask("\nDo you want to write this tag and import it?\n  Only 'yes' will be accepted to approve (--auto-approve skips this).\n\n  Enter a value: ")
                .context("cannot read the answer")?;
            if answer.trim() != "yes" {
                printer.diagnostics("Import cancelled: nothing was changed.\n");
                return Ok(ExitStatus::Failure);
            }
        }
    }
    let done = match ops::import::run(ws, &options, &Bar::new(printer))? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Ok(report::refused(&invalid, printer, "nothing was imported"));
        }
    };
    let imported = match done {
        Report::Edited(edited) => {
            report::edited(&edited, printer);
            if !edited.dry_run {
                for m in &edited.messages {
                    printer.info(m);
                }
            }
            report::implied(&edited, printer);
            return Ok(ExitStatus::Success);
        }
        Report::EditedImported(both) => {
            let (edited, imported) = *both;
            report::edited(&edited, printer);
            for m in &edited.messages {
                printer.info(m);
            }
            // What the edit implies, then what the import did.
            report::implied(&edited, printer);
            if !printer.is_quiet() {
                printer.out("\n");
            }
            imported
        }
        Report::Imported(imported) => imported,
    };
    for note in &imported.notes {
        printer.warn(note);
    }
    let status = match &imported.outcome {
        Outcome::DryRun(plan) => {
            report::plan(plan, ReportFormat::Text, printer);
            ExitStatus::Success
        }
        Outcome::Applied(applied) => report::applied(applied, ReportFormat::Text, printer),
    };
    if !imported.left_out.is_empty() {
        printer.info(&format!(
            "info: The remote repository contained {} additional tags which were not imported: {}",
            imported.left_out.len(),
            imported.left_out.join(", ")
        ));
    }
    if status == ExitStatus::Failure {
        printer.info("error: import completed with errors");
    }
    Ok(report::manifest_problems(
        &imported.manifest_problems,
        printer,
        status,
    ))
}

/// As `apply` decides: only a person at a terminal is asked; pipes, scripts and CI never are.
fn should_prompt(args: &ImportArgs) -> bool {
    use std::io::IsTerminal;
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    !args.auto_approve && !ci && std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}
