//! `apply`: make the live state match the definitions, or apply a saved plan exactly; asks
//! for approval only of a person at a terminal. The work is [`crate::ops::apply`].

use anyhow::{Context as _, Result};

use crate::cli::progress::Bar;
use crate::cli::settings::parse_duration;
use crate::cli::{ApplyArgs, ExitStatus, Printer, ReportFormat, report};
use crate::ops::apply::Report;
use crate::ops::{self, Run, Workspace};
use crate::plan::Plan;

/// Run `apply`.
pub fn run(ws: &Workspace, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::apply::Options {
        plan_file: args.plan_file.clone(),
        rev: args.rev.rev.clone(),
        prune: args.prune,
        lock_timeout: parse_duration(&args.lock_timeout)?,
        dry_run: args.dry_run,
        registry_config: args.registry_config.clone(),
    };
    let mut ask = |plan: &Plan| -> Result<bool> {
        report::plan(plan, ReportFormat::Text, printer);
        let answer = printer
            .ask("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve (--auto-approve skips this).\n\n  Enter a value: ")
            .context("cannot read the answer")?;
        // Only `yes` approves, as with Terraform.
        Ok(answer.trim() == "yes")
    };
    let approve: Option<ops::apply::Approve<'_>> = if should_prompt(args) {
        Some(&mut ask)
    } else {
        None
    };
    let done = match ops::apply::run(ws, &options, approve, &Bar::new(printer))? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Ok(report::refused(&invalid, printer, "nothing was applied"));
        }
    };
    let problems = done.manifest_problems().to_vec();
    let status = match done {
        Report::DryRun { plan, saved, .. } => {
            report::plan(&plan, args.format, printer);
            if saved {
                ExitStatus::Success
            } else {
                ExitStatus::of_plan(&plan, false)
            }
        }
        Report::UpToDate {
            mut plan, rolled, ..
        } => {
            match rolled.filter(|r| !r.plan.is_empty()) {
                // JSON lists what rolled; text says the state is as desired, then what rolled.
                Some(rolled) if args.format == ReportFormat::Json => {
                    plan.rollouts = rolled.plan;
                    report::plan(&plan, args.format, printer);
                }
                Some(rolled) => {
                    plan.rollouts = Default::default();
                    report::plan(&plan, args.format, printer);
                    if !printer.is_quiet() {
                        printer.out(&crate::rollout::render::lines(&rolled.plan));
                    }
                    printer.info(&crate::rollout::render::summary(&rolled.plan, false));
                }
                None => report::plan(&plan, args.format, printer),
            }
            ExitStatus::Success
        }
        Report::Cancelled { .. } => {
            printer.diagnostics("Apply cancelled: nothing was changed.\n");
            ExitStatus::Failure
        }
        Report::Applied(applied) => report::applied(&applied, args.format, printer),
    };
    Ok(report::manifest_problems(&problems, printer, status))
}

/// Terraform's habit: ask before changing anything, but only a person at a terminal. Pipes,
/// scripts and CI (`CI` set, as every CI service does) never see a prompt.
fn should_prompt(args: &ApplyArgs) -> bool {
    use std::io::IsTerminal;
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    !args.auto_approve
        && !ci
        && args.format == ReportFormat::Text
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
}
