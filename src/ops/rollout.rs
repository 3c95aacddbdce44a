//! `rollout`: roll the repository's workload manifests to what their image-change triggers
//! name in the live state, offline (no registry is asked, the state is only read); also the
//! roll after an import, which apply, sync and import share.

use anyhow::{Context as _, Result};

use super::{Invalid, Run, Workspace};
use crate::rollout::{self, RolloutPlan, Scan};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show what would roll and write nothing.
    pub dry_run: bool,
}

/// What [`run`] rolled (or would roll).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The roll-outs due and the triggers skipped.
    pub plan: RolloutPlan,
    /// The manifests written, relative to the root (none on a dry run).
    pub written: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Roll the manifests from the live state alone.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    let loaded = ws.load_definitions(None)?;
    let triggers = ws.check_triggers(&loaded, None)?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let scan = triggers.scan;
    let config = ws.config()?.clone();
    let live = followed(ws, &scan, &config)?;
    let mut plan = rollout::plan(&scan, &live, &config.cluster, &config.default_namespace);
    plan.problems = triggers.problems;
    let written = if options.dry_run {
        Vec::new()
    } else {
        write(ws, &plan)?
    };
    Ok(Run::Done(Report {
        plan,
        written,
        dry_run: options.dry_run,
    }))
}

/// Roll what `scan` calls for against the state as it is now, after an import wrote it.
/// `None` when the definitions came from Git revision `rev` (its manifests are not the
/// working tree's) or no manifest has a trigger.
pub fn after_import(ws: &Workspace, scan: &Scan, rev: Option<&str>) -> Result<Option<Box<Report>>> {
    let Some(mut report) = planned_after_import(ws, scan, rev)? else {
        return Ok(None);
    };
    report.written = write(ws, &report.plan)?;
    Ok(Some(report))
}

/// What [`after_import`] would roll, with nothing written: pull-request mode commits it to
/// the roll-out branch instead of the working tree.
pub fn planned_after_import(
    ws: &Workspace,
    scan: &Scan,
    rev: Option<&str>,
) -> Result<Option<Box<Report>>> {
    if rev.is_some() || scan.triggers.is_empty() {
        return Ok(None);
    }
    let config = ws.config()?.clone();
    let live = followed(ws, scan, &config)?;
    let plan = rollout::plan(scan, &live, &config.cluster, &config.default_namespace);
    Ok(Some(Box::new(Report {
        plan,
        written: Vec::new(),
        dry_run: false,
    })))
}

/// The live streams the triggers follow, and no other: a state of thousands of streams is
/// not parsed for a handful of triggers.
fn followed(
    ws: &Workspace,
    scan: &Scan,
    config: &crate::policy::Config,
) -> Result<std::collections::BTreeMap<crate::model::StreamKey, crate::model::ImageStream>> {
    let keys = scan
        .triggers
        .iter()
        .map(|t| t.from.key(&config.default_namespace))
        .collect();
    Ok(ws.state()?.load_streams_of(&keys)?)
}

fn write(ws: &Workspace, plan: &RolloutPlan) -> Result<Vec<String>> {
    rollout::write(&ws.root, &plan.rollouts).context("cannot roll the manifests")
}
