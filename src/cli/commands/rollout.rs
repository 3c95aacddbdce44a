//! `rollout`: roll the manifests from the live state through [`crate::ops::rollout`] and show
//! each roll-out, the paused and waiting triggers and a summary.

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, ReportFormat, RolloutArgs, report};
use crate::ops::{self, Run, Workspace};
use crate::rollout::render;

/// Run `rollout`.
pub fn run(ws: &Workspace, args: &RolloutArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::rollout::Options {
        dry_run: args.dry_run,
    };
    let done = match ops::rollout::run(ws, &options)? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Ok(report::refused(&invalid, printer, "nothing was rolled"));
        }
    };
    show(&done, args.format, printer);
    Ok(report::manifest_problems(
        &done.plan.problems,
        printer,
        ExitStatus::Success,
    ))
}

/// A roll-out report in `format` (markdown reads as text here).
pub fn show(done: &ops::rollout::Report, format: ReportFormat, printer: &Printer) {
    match format {
        ReportFormat::Json => printer.out(&render::json(&done.plan, &done.written, done.dry_run)),
        ReportFormat::Text | ReportFormat::Markdown => {
            if !printer.is_quiet() {
                printer.out(&render::lines(&done.plan));
            }
            printer.info(&render::summary(&done.plan, done.dry_run));
        }
    }
}
