//! `plan`: desired vs live, offline unless `--refresh`; text, Markdown or JSON; `--base` marks
//! what a pull request introduces; `--out` saves the plan for `apply FILE`.

use anyhow::Result;

use crate::cli::{ExitStatus, PlanArgs, Printer, ReportFormat, report};
use crate::ops::{self, Run, Workspace};
use crate::plan::render;

/// Run `plan`.
pub fn run(ws: &Workspace, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::plan::Options {
        rev: args.rev.rev.clone(),
        refresh: args.refresh,
        base: args.base.clone(),
        prune: args.prune,
        registry_config: args.registry_config.clone(),
        out: args.out.clone(),
    };
    let done = match ops::plan::run(ws, &options)? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => return Ok(report::refused(&invalid, printer, "no plan was made")),
    };
    if let Some(refreshed) = &done.refreshed {
        let counts = &refreshed.requests;
        let total: u64 = counts.values().map(|c| c.head + c.get).sum();
        printer.info(&format!(
            "refreshed from {} {} in {:.1} s, {total} {}",
            counts.len(),
            crate::diagnostic::plural(counts.len(), "registry", "registries"),
            refreshed.elapsed.as_secs_f64(),
            crate::diagnostic::plural(total as usize, "request", "requests"),
        ));
    }
    let plan = &done.planned.plan;
    match args.format {
        ReportFormat::Text => printer.out(&render::text(plan, printer.color_stdout())),
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
    let rollouts = &done.rollouts;
    // Shown when something is due, with the paused and waiting triggers beside it.
    if args.format != ReportFormat::Json && !rollouts.is_empty() {
        let lines = crate::rollout::render::lines(rollouts);
        let summary = crate::rollout::render::summary(rollouts, true);
        printer.out(&match args.format {
            ReportFormat::Markdown => format!("\n### Roll-outs\n\n```\n{lines}```\n\n{summary}\n"),
            _ => format!("\nRoll-outs:\n{lines}{summary}\n"),
        });
    }
    if let Some(out) = &done.saved {
        printer.info(&format!(
            "Saved the plan to {}; apply exactly this plan with `streamsync apply {}`.",
            out.display(),
            out.display()
        ));
    }
    let mut status = ExitStatus::of_plan(plan, args.detailed_exitcode);
    if status == ExitStatus::Success && args.detailed_exitcode && !rollouts.is_empty() {
        status = ExitStatus::Changes;
    }
    // The process ends right after: freeing tens of thousands of small values one by one
    // would only add to the wall time of large plans.
    std::mem::forget(done);
    Ok(status)
}
