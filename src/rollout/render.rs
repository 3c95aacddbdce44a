//! Roll-outs as people and programs read them: `~ roll` lines (the form a plan shows too),
//! paused, waiting and external triggers, a summary line, and the `rollout` command's JSON.

use serde::Serialize;

use super::{Rollout, RolloutPlan, SkipReason, Skipped};

/// `~ roll deploy/web.yaml Deployment team/web container web: <before> → <after>`.
pub fn roll_line(r: &Rollout) -> String {
    format!(
        "~ roll {} {} {}/{} container {}: {} → {}",
        r.file,
        r.kind,
        r.namespace,
        r.name,
        container(&r.container, &r.field_path),
        shown(r.before.as_deref()),
        r.after
    )
}

/// A container by its name, or by its field path when it has none.
fn container(name: &str, field_path: &str) -> String {
    if name.is_empty() {
        format!("(unnamed, {field_path})")
    } else {
        name.to_owned()
    }
}

/// An image as shown: a placeholder such as OpenShift templates' `" "` is quoted, so it
/// stays visible.
fn shown(image: Option<&str>) -> String {
    match image {
        None => "(no image)".to_owned(),
        Some(i) if i.trim().is_empty() || i.contains(char::is_whitespace) => format!("{i:?}"),
        Some(i) => i.to_owned(),
    }
}

/// `  paused deploy/web.yaml Deployment team/web container web (follows team/ruby:latest)`
/// (`waiting`, `external` likewise), with what a waiting tag waits for when that is known.
pub fn skip_line(s: &Skipped) -> String {
    let mut line = format!(
        "  {} {} {} {}/{} container {} (follows {})",
        s.reason.as_str(),
        s.file,
        s.kind,
        s.namespace,
        s.name,
        container(&s.container, &s.field_path),
        s.from
    );
    if let Some(detail) = &s.detail {
        line.push_str(": ");
        line.push_str(detail);
    }
    line
}

/// Every roll-out line, then every skipped trigger, one per line.
pub fn lines(plan: &RolloutPlan) -> String {
    let mut out = String::new();
    for r in &plan.rollouts {
        out.push_str(&roll_line(r));
        out.push('\n');
    }
    for s in &plan.skipped {
        out.push_str(&skip_line(s));
        out.push('\n');
    }
    out
}

fn count(plan: &RolloutPlan, reason: SkipReason) -> usize {
    plan.skipped.iter().filter(|s| s.reason == reason).count()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `Rolled 2 containers in 1 file (1 paused, 1 waiting).`; `Would roll …` on a dry run;
/// `Nothing to roll …` when nothing is due.
pub fn summary(plan: &RolloutPlan, dry_run: bool) -> String {
    let mut skipped = Vec::new();
    for reason in [
        SkipReason::Paused,
        SkipReason::Waiting,
        SkipReason::External,
    ] {
        let n = count(plan, reason);
        if n > 0 {
            skipped.push(format!("{n} {}", reason.as_str()));
        }
    }
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!(" ({})", skipped.join(", "))
    };
    if plan.rollouts.is_empty() {
        return format!("Nothing to roll{skipped}.");
    }
    let verb = if dry_run { "Would roll" } else { "Rolled" };
    format!(
        "{verb} {} in {}{skipped}.",
        plural(plan.rollouts.len(), "container", "containers"),
        plural(plan.files().len(), "file", "files")
    )
}

/// Counts of a roll-out report.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Containers rolled (or due, on a dry run).
    pub rollout: usize,
    /// Paused triggers.
    pub paused: usize,
    /// Triggers waiting for their tag's first image.
    pub waiting: usize,
}

/// Counts of `plan`.
pub fn counts(plan: &RolloutPlan) -> Summary {
    Summary {
        rollout: plan.rollouts.len(),
        paused: count(plan, SkipReason::Paused),
        waiting: count(plan, SkipReason::Waiting),
    }
}

#[derive(Serialize)]
struct Json<'a> {
    format_version: &'static str,
    dry_run: bool,
    rollouts: &'a [Rollout],
    skipped: &'a [Skipped],
    written: &'a [String],
    summary: Summary,
}

/// The `rollout` command's JSON: the roll-outs, the skipped triggers, the files written.
pub fn json(plan: &RolloutPlan, written: &[String], dry_run: bool) -> String {
    let doc = Json {
        format_version: "1.1",
        dry_run,
        rollouts: &plan.rollouts,
        skipped: &plan.skipped,
        written,
        summary: counts(plan),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
