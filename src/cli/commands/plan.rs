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
        // `-q`: only errors; JSON was asked for by name and still prints.
        ReportFormat::Text | ReportFormat::Markdown if printer.is_quiet() => {}
        ReportFormat::Text => {
            printer.out_painted(&render::text_with(plan, printer.color_stdout(), args.diff));
        }
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
    if let Some(out) = &done.saved {
        printer.info(&format!(
            "Saved the plan to {}; apply exactly this plan with `streamsync apply {}`.",
            out.display(),
            out.display()
        ));
    }
    let status = ExitStatus::of_plan(plan, args.detailed_exitcode);
    let status = report::manifest_problems(&plan.rollouts.problems, printer, status);
    // The process ends right after: freeing tens of thousands of small values one by one
    // would only add to the wall time of large plans.
    std::mem::forget(done);
    Ok(status)
}
