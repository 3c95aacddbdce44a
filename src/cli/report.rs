//! How the command line shows the reports operations return, where several commands show
//! the same kind: a refusal of invalid definitions, an apply's results, a plan in the chosen
//! format, an edit's diff and the plan it implies. Everything goes through the [`Printer`];
//! the text itself comes from the renderers beside each format (`plan::render`,
//! `apply::render`, `diagnostic`, the editor's diff).

use crate::apply::render as apply_render;
use crate::diagnostic;
use crate::edit;
use crate::ops::Invalid;
use crate::ops::apply::Applied;
use crate::ops::edits::Edited;
use crate::ops::plan::Offline;
use crate::plan::{Plan, render};

use super::{ExitStatus, Printer, ReportFormat};

/// Print the diagnostics of definitions that do not validate (like `validate`) and say that
/// nothing was done; then the manifests' problems the trigger check found.
pub fn refused(invalid: &Invalid, printer: &Printer, what: &str) -> ExitStatus {
    // Problems are people-talk on stderr, exactly as `validate` prints them.
    printer.diagnostics(&diagnostic::render_text(&invalid.diagnostics));
    printer.info(&format!(
        "error: {}; {what}",
        diagnostic::summary(&invalid.diagnostics, invalid.files)
    ));
    manifest_problems(&invalid.manifest_problems, printer, ExitStatus::Failure)
}

/// The manifests' problems an operation met (unreadable files, trigger errors and warnings),
/// shown after its report: they stopped neither the image streams nor the other manifests,
/// but an error among them fails the command (`status` otherwise).
pub fn manifest_problems(
    problems: &[diagnostic::Diagnostic],
    printer: &Printer,
    status: ExitStatus,
) -> ExitStatus {
    printer.diagnostics(&diagnostic::render_text(problems));
    if problems.iter().any(diagnostic::Diagnostic::is_error) {
        ExitStatus::Failure
    } else {
        status
    }
}

/// Print the errors of definitions or policies that do not validate and return the error
/// that stops a command which cannot work from them (`what`: "cannot write the catalog").
pub fn invalid_error(invalid: &Invalid, printer: &Printer, what: &str) -> anyhow::Error {
    let errors: Vec<_> = invalid
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    printer.diagnostics(&diagnostic::render_text(&errors));
    crate::error::Hinted::new(
        format!(
            "{what}: {} in the definitions or policies",
            diagnostic::plural(errors.len(), "1 error", &format!("{} errors", errors.len()))
        ),
        "fix the definitions and policies first; `streamsync validate` lists every problem",
    )
    .into()
}

/// A plan in `format`; with `-q` only JSON, which was asked for by name.
pub fn plan(plan: &Plan, format: ReportFormat, printer: &Printer) {
    match format {
        ReportFormat::Text | ReportFormat::Markdown if printer.is_quiet() => {}
        ReportFormat::Text => printer.out_painted(&render::text(plan, printer.color_stdout())),
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
}

/// The results of an apply (also an import) and the import summary line.
pub fn applied(applied: &Applied, format: ReportFormat, printer: &Printer) -> ExitStatus {
    show_applied(applied, None, format, printer)
}

/// A sync pass's results: [`applied`]'s, the JSON naming the roll-out branch too.
pub fn synced(
    applied: &Applied,
    rollout_branch: Option<&crate::ops::sync::RolloutBranch>,
    format: ReportFormat,
    printer: &Printer,
) -> ExitStatus {
    show_applied(applied, Some(rollout_branch), format, printer)
}

/// `sync`: `Some`, holding the roll-out branch if any.
fn show_applied(
    applied: &Applied,
    sync: Option<Option<&crate::ops::sync::RolloutBranch>>,
    format: ReportFormat,
    printer: &Printer,
) -> ExitStatus {
    for note in &applied.repositories.notes {
        printer.warn(note);
    }
    let report = &applied.report;
    let errors = applied.all_errors();
    // A sync pass that moved nothing says so in one line; `-v` shows every check.
    if sync.is_some() && format != ReportFormat::Json && printer.verbosity() == 0 && still(applied)
    {
        if !printer.is_quiet() {
            printer.info(&still_line(applied));
        }
        return status(applied);
    }
    match format {
        ReportFormat::Json => {
            let rolled = applied
                .rolled
                .as_deref()
                .map(|r| (&r.plan, r.written.as_slice()));
            printer.out(&match sync {
                None => apply_render::json(report, &errors, &applied.requests, rolled),
                Some(branch) => {
                    apply_render::sync_json(report, &errors, &applied.requests, rolled, branch)
                }
            });
        }
        ReportFormat::Text | ReportFormat::Markdown if printer.is_quiet() => {
            printer.diagnostics(&apply_render::failure_lines(report, &errors));
        }
        ReportFormat::Text | ReportFormat::Markdown => {
            printer.out(&apply_render::text(
                report,
                &errors,
                format == ReportFormat::Markdown,
            ));
        }
    }
    if let Some(line) = apply_render::summary_line(report, &applied.requests, applied.elapsed) {
        printer.info(&line);
    }
    // The roll-outs the imports caused, as `rollout` shows them (the JSON report has them).
    // Shown when something rolled or a failed import keeps a trigger waiting; paused triggers
    // alone stay quiet.
    let worth_showing = |r: &crate::ops::rollout::Report| {
        !r.plan.is_empty() || r.plan.skipped.iter().any(|s| s.detail.is_some())
    };
    if let Some(rolled) = applied.rolled.as_deref().filter(|r| worth_showing(r)) {
        if format != ReportFormat::Json && !printer.is_quiet() {
            printer.out(&crate::rollout::render::lines(&rolled.plan));
        }
        // On a roll-out branch nothing was rolled here; `sync` says where they went.
        if !matches!(sync, Some(Some(_))) {
            printer.info(&crate::rollout::render::summary(&rolled.plan, false));
        }
    }
    status(applied)
}

/// Whether a pass moved nothing: nothing written, nothing failed or left out, nothing
/// rolled and no trigger newly waiting on a failure.
fn still(applied: &Applied) -> bool {
    !applied.report.written.any()
        && applied.all_errors().is_empty()
        && !applied.failed()
        && !applied.incomplete()
        && applied.repositories.notes.is_empty()
        && applied
            .rolled
            .as_deref()
            .is_none_or(|r| r.plan.is_empty() && r.plan.skipped.iter().all(|s| s.detail.is_none()))
}

/// `sync: nothing moved; 3 tags checked, 3 requests (quay.io: 3 HEAD, 0 GET)`.
fn still_line(applied: &Applied) -> String {
    let plural = crate::diagnostic::plural;
    let checked = applied.report.applied.results.len();
    if checked == 0 && applied.requests.is_empty() {
        return "sync: nothing moved".to_owned();
    }
    let total: u64 = applied.requests.values().map(|c| c.head + c.get).sum();
    let per_host: Vec<String> = applied
        .requests
        .iter()
        .map(|(host, c)| format!("{host}: {} HEAD, {} GET", c.head, c.get))
        .collect();
    let mut line = format!(
        "sync: nothing moved; {checked} {} checked, {total} {}",
        plural(checked, "tag", "tags"),
        plural(total as usize, "request", "requests"),
    );
    if !per_host.is_empty() {
        line.push_str(&format!(" ({})", per_host.join("; ")));
    }
    line
}

/// 1 when something failed, 3 when every failure is a registry that could not be asked.
pub fn status(applied: &Applied) -> ExitStatus {
    if applied.failed() {
        ExitStatus::Failure
    } else if applied.incomplete() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Success
    }
}

/// Every changed file as a unified diff (stdout) with the lines it touched (stderr), and a
/// note when nothing was written.
pub fn edited(edited: &Edited, printer: &Printer) {
    // `-q`: nothing but errors.
    if !printer.is_quiet() {
        for change in &edited.files {
            printer.out(&edit::unified_diff(change));
        }
    }
    let dry_run = edited.dry_run;
    for change in &edited.files {
        let verb = match (change.before.is_some(), dry_run) {
            (true, false) => "edited",
            (true, true) => "would edit",
            (false, false) => "created",
            (false, true) => "would create",
        };
        let ranges: Vec<String> = edit::changed_lines(change)
            .iter()
            .map(ToString::to_string)
            .collect();
        if change.before.is_some() {
            printer.info(&format!("{verb} {}: {}", change.path, ranges.join("; ")));
        } else {
            printer.info(&format!("{verb} {}", change.path));
        }
    }
    if dry_run {
        printer.info("dry run: nothing was written");
    }
}

/// The plan an edit implies (not with `-q`).
pub fn implied(edited: &Edited, printer: &Printer) {
    if printer.is_quiet() {
        return;
    }
    match &edited.implied {
        None => {}
        Some(Ok(offline)) => printer.out(&format!("\n{}", offline_text(offline))),
        Some(Err(err)) => {
            printer.warn(&format!("cannot show the plan this edit implies: {err:#}"));
        }
    }
}

/// An offline plan as plain text, or the diagnostics that stop it.
pub fn offline_text(offline: &Offline) -> String {
    match offline {
        Offline::Plan(plan) => render::text(plan, false),
        Offline::Invalid(diagnostics) => diagnostic::render_text(diagnostics),
    }
}
