//! The apply report in each output format: text (and its Markdown list form), JSON, the
//! lines `-q` keeps, and the import summary line with request counts. Pure functions of the
//! report; they print nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::{Applied, ApplyReport, Outcome};
use crate::plan::{self, Action, PlanError};
use crate::registry::RequestCounts;

/// Import counts of a report, for the summary and the JSON report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ImportCounts {
    imported: usize,
    /// Imports that found the image already recorded at the tag's head (a scheduled check
    /// with nothing moved).
    unchanged: usize,
    failed: usize,
    new_images: usize,
}

/// Count the imports of `report`.
pub fn import_counts(report: &ApplyReport) -> ImportCounts {
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
pub fn summary_line(
    report: &ApplyReport,
    requests: &BTreeMap<String, RequestCounts>,
    elapsed: Duration,
) -> Option<String> {
    let counts = import_counts(report);
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
        elapsed.as_secs_f64(),
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

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: &'static str,
    summary: plan::Summary,
    serial: u64,
    written: JsonWritten,
    results: &'a [super::ChangeResult],
    errors: &'a [PlanError],
    imports: ImportCounts,
    /// Requests per registry host.
    requests: &'a BTreeMap<String, RequestCounts>,
    /// Containers rolled after the imports (1.1).
    rollouts: &'a [crate::rollout::Rollout],
    /// Triggers that rolled nothing: paused or waiting (1.1).
    rollouts_skipped: &'a [crate::rollout::Skipped],
    /// Manifests written by the roll-outs (1.1).
    rolled_files: &'a [String],
}

#[derive(Serialize)]
struct JsonWritten {
    streams: usize,
    images: usize,
}

/// The JSON report: summary, serial, what was written, every result and error, import and
/// request counts, and the roll-outs made after the imports with the files they wrote.
pub fn json(
    report: &ApplyReport,
    errors: &[PlanError],
    requests: &BTreeMap<String, RequestCounts>,
    rolled: Option<(&crate::rollout::RolloutPlan, &[String])>,
) -> String {
    to_json(&json_report(report, errors, requests, rolled))
}

/// A sync pass's JSON report: [`json`]'s, then `rollout_branch` (the branch pull-request
/// mode committed the roll-outs to, or `null`).
pub fn sync_json(
    report: &ApplyReport,
    errors: &[PlanError],
    requests: &BTreeMap<String, RequestCounts>,
    rolled: Option<(&crate::rollout::RolloutPlan, &[String])>,
    rollout_branch: Option<&impl Serialize>,
) -> String {
    #[derive(Serialize)]
    struct SyncReport<'a, B: Serialize> {
        #[serde(flatten)]
        report: JsonReport<'a>,
        rollout_branch: Option<&'a B>,
    }
    to_json(&SyncReport {
        report: json_report(report, errors, requests, rolled),
        rollout_branch,
    })
}

fn json_report<'a>(
    report: &'a ApplyReport,
    errors: &'a [PlanError],
    requests: &'a BTreeMap<String, RequestCounts>,
    rolled: Option<(&'a crate::rollout::RolloutPlan, &'a [String])>,
) -> JsonReport<'a> {
    let applied: &Applied = &report.applied;
    let (rollouts, rollouts_skipped, rolled_files) = match rolled {
        Some((plan, files)) => (&plan.rollouts[..], &plan.skipped[..], files),
        None => (&[][..], &[][..], &[][..]),
    };
    JsonReport {
        format_version: plan::FORMAT_VERSION,
        summary: plan::Summary {
            rollout: rollouts.len(),
            ..plan::Summary::of(applied.results.iter().map(|r| &r.change))
        },
        serial: report.serial,
        written: JsonWritten {
            streams: report.written.streams,
            images: report.written.images,
        },
        results: &applied.results,
        errors,
        imports: import_counts(report),
        requests,
        rollouts,
        rollouts_skipped,
        rolled_files,
    }
}

fn to_json(doc: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// What `-q` still says: one `error:` line per change that failed.
pub fn failure_lines(report: &ApplyReport, errors: &[PlanError]) -> String {
    let mut out = String::new();
    for r in &report.applied.results {
        if let Outcome::Failed { message, .. } = &r.outcome {
            let verb = r.change.action.as_str().replace('_', " ");
            let _ = writeln!(out, "error: {verb} {}: {message}", r.change.target());
        }
    }
    for e in errors {
        let target = match &e.tag {
            Some(t) => format!("{}/{}:{t}", e.namespace, e.stream),
            None => format!("{}/{}", e.namespace, e.stream),
        };
        let _ = writeln!(out, "error: {target}: not planned: {}", e.message);
    }
    out
}

/// One line per change and error, then `Apply complete|incomplete: …`; `markdown` makes the
/// lines a list.
pub fn text(report: &ApplyReport, errors: &[PlanError], markdown: bool) -> String {
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
