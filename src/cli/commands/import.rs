//! `import`: `oc import-image`, through [`crate::ops::import`]: a re-import shows the apply
//! report (or, with `--dry-run`, the plan of it); `--from` shows the edit's diff and the plan
//! it implies.

use anyhow::Result;

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
    Ok(status)
}
