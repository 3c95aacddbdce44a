//! `apply`: make the live state match the definitions, or apply a saved plan exactly. Holds
//! the state lock while it plans and writes; reports every change's result and keeps going
//! past failures.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::apply::{Applied, Outcome};
use crate::cli::commands::{load_definitions, refuse_invalid, resolver};
use crate::cli::settings::parse_duration;
use crate::cli::{ApplyArgs, Context, ExitStatus, Printer, ReportFormat};
use crate::error::Hinted;
use crate::model::ImageStream;
use crate::plan::{self, Options, Plan, PlanError, render};
use crate::reconcile::{self, ApplyReport, SavedPlan};
use crate::state::{self, LiveState, LockGuard, dir::DirState};

/// Run `apply`.
pub fn run(ctx: &Context, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let timeout = parse_duration(&args.lock_timeout)?;
    let config = ctx.load_config().unwrap_or_default();
    let state = DirState::open(&ctx.state_dir)?;
    let registry = resolver(ctx, &config, args.registry_config.as_deref());
    let now = ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    if let Some(file) = &args.plan_file {
        let text = fs_err::read_to_string(file).context("cannot read the saved plan")?;
        let saved = SavedPlan::parse(&text)?;
        if args.dry_run {
            print_plan(&saved.to_plan(), args.format, printer);
            return Ok(ExitStatus::Success);
        }
        let _guard = lock(&state, timeout)?;
        let snapshot = state.load()?;
        saved.check_fresh(&snapshot).map_err(|e| {
            anyhow::Error::from(Hinted::new(
                e.to_string(),
                "run `streamsync plan --out FILE` again and apply the new plan",
            ))
        })?;
        let report =
            reconcile::execute(&state, &snapshot, &saved.changes, registry.as_ref(), &now)?;
        return Ok(finish(&report, &saved.errors, args.format, printer));
    }

    let loaded = load_definitions(ctx, &args.rev)?;
    if let Some(status) = refuse_invalid(&loaded, printer, "nothing was applied") {
        return Ok(status);
    }
    let options = Options {
        prune: args.prune || config.apply.prune_streams,
    };
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    if args.dry_run {
        let planned = reconcile::plan(&desired, &state, &options, None)?;
        print_plan(&planned.plan, args.format, printer);
        return Ok(super::plan::status(&planned.plan, false));
    }
    // Plan without the lock first: unchanged inputs then take no lock and write nothing.
    let first = reconcile::plan(&desired, &state, &options, None)?;
    if first.plan.is_empty() && first.plan.errors.is_empty() {
        print_plan(&first.plan, args.format, printer);
        return Ok(ExitStatus::Success);
    }
    let _guard = lock(&state, timeout)?;
    let planned = reconcile::plan(&desired, &state, &options, None)?;
    let report = reconcile::execute(
        &state,
        &planned.snapshot,
        &planned.plan.changes,
        registry.as_ref(),
        &now,
    )?;
    Ok(finish(&report, &planned.plan.errors, args.format, printer))
}

fn print_plan(plan: &Plan, format: ReportFormat, printer: &Printer) {
    match format {
        ReportFormat::Text => printer.out(&render::text(plan, printer.color_stdout())),
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
}

fn lock(state: &DirState, timeout: std::time::Duration) -> Result<LockGuard> {
    state.lock(timeout).map_err(|e| match e {
        state::Error::Locked { holder } => Hinted::new(
            format!("the live state is locked by another apply ({holder})"),
            "wait for it to finish, or pass --lock-timeout 5m to wait for it",
        )
        .into(),
        other => anyhow::Error::from(other),
    })
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: &'static str,
    summary: plan::Summary,
    serial: u64,
    written: JsonWritten,
    results: &'a [crate::apply::ChangeResult],
    errors: &'a [PlanError],
}

#[derive(Serialize)]
struct JsonWritten {
    streams: usize,
    images: usize,
}

fn finish(
    report: &ApplyReport,
    errors: &[PlanError],
    format: ReportFormat,
    printer: &Printer,
) -> ExitStatus {
    let applied = &report.applied;
    match format {
        ReportFormat::Json => {
            let doc = JsonReport {
                format_version: plan::FORMAT_VERSION,
                summary: plan::Summary::of(applied.results.iter().map(|r| &r.change)),
                serial: report.serial,
                written: JsonWritten {
                    streams: report.written.streams,
                    images: report.written.images,
                },
                results: &applied.results,
                errors,
            };
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            printer.out(&text);
        }
        ReportFormat::Text | ReportFormat::Markdown => {
            printer.out(&text_report(
                report,
                errors,
                format == ReportFormat::Markdown,
            ));
        }
    }
    if applied.has_errors() || !errors.is_empty() {
        ExitStatus::Failure
    } else if applied.is_incomplete() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Success
    }
}

fn text_report(report: &ApplyReport, errors: &[PlanError], markdown: bool) -> String {
    let applied: &Applied = &report.applied;
    let mut out = String::new();
    let bullet = if markdown { "- " } else { "  " };
    let (mut done, mut failed) = (0, 0);
    for r in &applied.results {
        let c = &r.change;
        let verb = c.action.as_str().replace('_', " ");
        match &r.outcome {
            Outcome::Done => {
                done += 1;
                let detail = r
                    .detail
                    .as_deref()
                    .map(|d| format!(" → {d}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "{bullet}{verb} {}: done{detail}", c.target());
            }
            Outcome::Failed { message, .. } => {
                failed += 1;
                let _ = writeln!(out, "{bullet}{verb} {}: failed: {message}", c.target());
            }
        }
    }
    for e in errors {
        failed += 1;
        let target = match &e.tag {
            Some(t) => format!("{}/{}:{t}", e.namespace, e.stream),
            None => format!("{}/{}", e.namespace, e.stream),
        };
        let _ = writeln!(out, "{bullet}{target}: not planned: {}", e.message);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let written = if report.written.any() {
        format!(
            "{} stream {} and {} {} written, serial {}",
            report.written.streams,
            crate::diagnostic::plural(report.written.streams, "file", "files"),
            report.written.images,
            crate::diagnostic::plural(report.written.images, "image", "images"),
            report.serial
        )
    } else {
        "nothing written".to_owned()
    };
    let head = if failed == 0 {
        "Apply complete"
    } else {
        "Apply incomplete"
    };
    let _ = writeln!(out, "{head}: {done} done, {failed} failed; {written}.");
    out
}
