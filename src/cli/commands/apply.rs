//! `apply`: make the live state match the definitions, or apply a saved plan exactly. Holds
//! the state lock while it plans and writes; reports every change's result and keeps going
//! past failures. Also holds what `sync` and `import` share with it: executing changes with a
//! progress bar, the import summary line with request counts, and the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::apply::{Applied, Outcome};
use crate::cli::commands::{Registry, load_definitions, refuse_invalid, resolver};
use crate::cli::settings::parse_duration;
use crate::cli::{ApplyArgs, Context, ExitStatus, Printer, ReportFormat};
use crate::error::Hinted;
use crate::model::{ImageStream, StreamKey};
use crate::plan::{self, Action, Change, Options, Plan, PlanError, render};
use crate::reconcile::{self, ApplyReport, SavedPlan};
use crate::registry::{RequestCounts, Resolver};
use crate::state::{self, LiveState, LockGuard, dir::DirState};

/// Run `apply`.
pub fn run(ctx: &Context, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let timeout = parse_duration(&args.lock_timeout)?;
    let config = ctx.load_config().unwrap_or_default();
    let state = DirState::open(&ctx.state_dir)?;
    let registry = resolver(ctx, &config, args.registry_config.as_deref())?;
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
        let report = execute(&state, &snapshot, &saved.changes, &registry, &now, printer)?;
        return Ok(finish(
            &report,
            &saved.errors,
            &RepositoryImports::default(),
            &registry,
            args.format,
            printer,
        ));
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
    // Plan without the lock first: unchanged inputs then take no lock and write nothing. This
    // plan only decides whether there is work, so what is at rest need not be parsed.
    let first = reconcile::load_for_plan(&state, &desired, None, false)?;
    let first = reconcile::plan_snapshot(&desired, first, &state, &options, None);
    if first.plan.is_empty() && first.plan.errors.is_empty() {
        print_plan(&first.plan, args.format, printer);
        return Ok(ExitStatus::Success);
    }
    let _guard = lock(&state, timeout)?;
    let planned = reconcile::plan(&desired, &state, &options, None)?;
    let mut changes = planned.plan.changes.clone();
    let errors = planned.plan.errors.clone();
    // A stream importing a whole repository does so when it is new or its repository changed.
    let fresh: Vec<&ImageStream> = desired
        .iter()
        .copied()
        .filter(|s| {
            changes.iter().any(|c| {
                c.key() == s.key()
                    && (c.action == Action::CreateStream
                        || (c.action == Action::UpdateStream
                            && c.before
                                .as_ref()
                                .and_then(|b| b.get("dockerImageRepository"))
                                != c.after
                                    .as_ref()
                                    .and_then(|a| a.get("dockerImageRepository"))))
            })
        })
        .collect();
    let mut repos =
        repository_changes(&fresh, &planned.snapshot.streams, &registry, REPOSITORY_CAP);
    changes.append(&mut repos.changes);
    let report = execute(
        &state,
        &planned.snapshot,
        &changes,
        &registry,
        &now,
        printer,
    )?;
    Ok(finish(
        &report,
        &errors,
        &repos,
        &registry,
        args.format,
        printer,
    ))
}

/// OpenShift's `maxImagesBulkImportedPerRepository` default (§3.2).
pub const REPOSITORY_CAP: usize = 50;

/// What listing the repositories of some streams gave.
#[derive(Debug, Default)]
pub(super) struct RepositoryImports {
    /// One import per repository tag.
    pub changes: Vec<Change>,
    /// Repositories that could not be listed.
    pub errors: Vec<PlanError>,
    /// Whether every one of `errors` is a registry that could not be asked (exit 3, not 1).
    pub only_unreachable: bool,
    /// Tags left out by the cap, per stream.
    pub left: BTreeMap<StreamKey, Vec<String>>,
}

/// Import changes for the repositories of `streams` (`spec.dockerImageRepository`): their
/// tags, capped at `max` each, plus an error per repository that could not be listed and the
/// tags left out by the cap.
pub(super) fn repository_changes(
    streams: &[&ImageStream],
    live: &BTreeMap<StreamKey, ImageStream>,
    registry: &Registry,
    max: usize,
) -> RepositoryImports {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    let mut only_unreachable = true;
    let mut left = BTreeMap::new();
    for s in streams {
        let Some(repo) = s.repository() else {
            continue;
        };
        let key = s.key();
        match registry.client.list_tags(repo, s.insecure_repository()) {
            Ok(tags) => {
                let (c, rest) = reconcile::repository_imports(s, live.get(&key), &tags, max);
                changes.extend(c);
                if !rest.is_empty() {
                    left.insert(key, rest);
                }
            }
            Err(f) => {
                only_unreachable &= f.is_unreachable();
                errors.push(PlanError {
                    namespace: key.namespace.clone(),
                    stream: key.name.clone(),
                    tag: None,
                    message: format!(
                        "cannot list the tags of `{repo}`: {}: {}",
                        f.reason.as_str(),
                        f.message
                    ),
                });
            }
        }
    }
    RepositoryImports {
        changes,
        errors,
        only_unreachable,
        left,
    }
}

/// Execute `changes` (under the lock the caller holds) through the run's registry client, with
/// a progress bar on a terminal.
pub(super) fn execute(
    state: &DirState,
    snapshot: &state::Snapshot,
    changes: &[Change],
    registry: &Registry,
    now: &str,
    printer: &Printer,
) -> Result<ApplyReport> {
    let total = changes
        .iter()
        .filter(|c| c.action == Action::Import)
        .count() as u64;
    let show = total > 0 && printer.stderr_is_terminal() && !printer.is_quiet();
    if !show {
        return Ok(reconcile::execute(
            state,
            snapshot,
            changes,
            &registry.client,
            now,
        )?);
    }
    let start = registry.done.load(Ordering::Relaxed);
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tags {elapsed}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let stop = AtomicBool::new(false);
    // A scoped thread polls the counters, so it can read the client's per-registry request
    // counts while the main thread resolves through it.
    let report = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                pb.set_position(registry.done.load(Ordering::Relaxed).saturating_sub(start));
                let per_host: Vec<String> = registry
                    .client
                    .request_counts()
                    .iter()
                    .map(|(host, c)| format!("{host} {}", c.head + c.get))
                    .collect();
                pb.set_message(per_host.join(" · "));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let report = reconcile::execute(state, snapshot, changes, &registry.client, now);
        stop.store(true, Ordering::Relaxed);
        report
    });
    pb.finish_and_clear();
    Ok(report?)
}

/// Import counts of a report, for the summary and the JSON report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(super) struct ImportCounts {
    imported: usize,
    /// Imports that found the image already recorded at the tag's head (a scheduled check
    /// with nothing moved).
    unchanged: usize,
    failed: usize,
    new_images: usize,
}

fn import_counts(report: &ApplyReport) -> ImportCounts {
    let mut counts = ImportCounts {
        new_images: report.applied.images.len(),
        ..ImportCounts::default()
    };
    for r in &report.applied.results {
        if r.change.action == Action::Import {
            match r.outcome {
                Outcome::Done => {
                    let before = r
                        .change
                        .before
                        .as_ref()
                        .and_then(|b| b.get("image"))
                        .and_then(|i| i.as_str());
                    if before.is_some() && before == r.detail.as_deref() {
                        counts.unchanged += 1;
                    } else {
                        counts.imported += 1;
                    }
                }
                Outcome::Failed { .. } => counts.failed += 1,
            }
        }
    }
    counts
}

/// `imported 12 tags (3 new images) from 2 registries in 1.4 s, 15 requests (host: 12 HEAD,
/// 3 GET)`, or `None` when nothing was imported and no registry was asked.
pub(super) fn summary_line(report: &ApplyReport, registry: &Registry) -> Option<String> {
    let counts = import_counts(report);
    let requests = registry.client.request_counts();
    if counts.imported + counts.unchanged + counts.failed == 0 && requests.is_empty() {
        return None;
    }
    let total: u64 = requests.values().map(|c| c.head + c.get).sum();
    let per_host: Vec<String> = requests
        .iter()
        .map(|(host, c)| format!("{host}: {} HEAD, {} GET", c.head, c.get))
        .collect();
    let plural = crate::diagnostic::plural;
    let mut line = format!(
        "imported {} {} ({} new {}) from {} {} in {:.1} s, {total} {}",
        counts.imported,
        plural(counts.imported, "tag", "tags"),
        counts.new_images,
        plural(counts.new_images, "image", "images"),
        requests.len(),
        plural(requests.len(), "registry", "registries"),
        registry.started.elapsed().as_secs_f64(),
        plural(total as usize, "request", "requests"),
    );
    if !per_host.is_empty() {
        let _ = write!(line, " ({})", per_host.join("; "));
    }
    if counts.unchanged > 0 {
        let _ = write!(line, "; {} unchanged", counts.unchanged);
    }
    if counts.failed > 0 {
        let _ = write!(line, "; {} failed", counts.failed);
    }
    Some(line)
}

pub(super) fn print_plan(plan: &Plan, format: ReportFormat, printer: &Printer) {
    match format {
        ReportFormat::Text => printer.out(&render::text(plan, printer.color_stdout())),
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
}

pub(super) fn lock(state: &DirState, timeout: std::time::Duration) -> Result<LockGuard> {
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
    imports: ImportCounts,
    /// Requests per registry host.
    requests: BTreeMap<String, RequestCounts>,
}

#[derive(Serialize)]
struct JsonWritten {
    streams: usize,
    images: usize,
}

pub(super) fn finish(
    report: &ApplyReport,
    plan_errors: &[PlanError],
    repos: &RepositoryImports,
    registry: &Registry,
    format: ReportFormat,
    printer: &Printer,
) -> ExitStatus {
    let applied = &report.applied;
    let mut all_errors = plan_errors.to_vec();
    all_errors.extend(repos.errors.iter().cloned());
    let errors = all_errors.as_slice();
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
                imports: import_counts(report),
                requests: registry.client.request_counts(),
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
    if let Some(line) = summary_line(report, registry) {
        printer.info(&line);
    }
    status_of(report, plan_errors, repos)
}

/// 1 when something failed, 3 when every failure is a registry that could not be asked.
pub(super) fn status_of(
    report: &ApplyReport,
    plan_errors: &[PlanError],
    repos: &RepositoryImports,
) -> ExitStatus {
    let applied = &report.applied;
    let repos_failed = !repos.errors.is_empty() && !repos.only_unreachable;
    if applied.has_errors() || !plan_errors.is_empty() || repos_failed {
        ExitStatus::Failure
    } else if applied.is_incomplete() || !repos.errors.is_empty() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Success
    }
}

pub(super) fn text_report(report: &ApplyReport, errors: &[PlanError], markdown: bool) -> String {
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
