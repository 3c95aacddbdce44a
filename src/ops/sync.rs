//! A `sync` pass: an apply plus a re-import of every scheduled tag and of the tags of every
//! stream's `spec.dockerImageRepository` that is due, sent to the registries as one batch
//! under the state lock; optionally the state folder is then committed with a message that
//! names every import and failure. The roll-outs the imports cause go into that commit, or,
//! in pull-request mode, into one commit on the roll-out branch on top of it. Repeating
//! passes on an interval is the caller's business.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::apply::{self, Applied, REPOSITORY_CAP, execute, repositories_due, repository_changes};
use super::{Invalid, Progress, Run, Workspace, lock};
use crate::apply::ApplyReport;
use crate::apply::Outcome;
use crate::model::ImageStream;
use crate::plan::{self, Action};
use crate::reconcile;
use crate::state::commit::{self, FailureLine, ImportLine};

/// Options of [`pass`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
    /// Registry auth file (docker config.json format).
    pub registry_config: Option<PathBuf>,
    /// Commit the state folder after the pass.
    pub commit: bool,
    /// Commit author, `NAME <EMAIL>` (default: Git's configured identity).
    pub author: Option<String>,
}

/// What a pass did.
#[derive(Debug)]
pub struct Report {
    /// What the pass applied and imported.
    pub applied: Applied,
    /// The commit made, when one was asked for and something was committed.
    pub committed: Option<Committed>,
    /// Why the commit asked for failed; the pass itself is done and written.
    pub commit_error: Option<anyhow::Error>,
    /// In pull-request mode, the roll-out branch when roll-outs are due.
    pub rollout_branch: Option<RolloutBranch>,
    /// With `[mirror] registry`: the mirror pass after the imports.
    pub mirror: Option<super::mirror::Report>,
    /// Why the mirror pass could not run; the imports are done and written.
    pub mirror_error: Option<anyhow::Error>,
}

/// The roll-out branch of pull-request mode (`[rollout] pull_request = true`): one commit of
/// the rolled manifests on top of HEAD, for the scheduled job to push and propose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RolloutBranch {
    /// The branch, `[rollout] branch`.
    pub branch: String,
    /// Its commit.
    pub commit: String,
    /// The commit's parent: HEAD after the state commit.
    pub parent: String,
    /// Whether this pass moved the branch (false: it already held these roll-outs on HEAD).
    pub updated: bool,
    /// The pull request's body, Markdown: every roll-out, each value from a manifest in a
    /// code span (no link, image, mention, HTML or hidden line can come from a manifest).
    pub body: String,
}

/// A commit of the state folder.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The commit id.
    pub id: String,
    /// The message's first line.
    pub subject: String,
}

/// Run one pass.
pub fn pass(ws: &Workspace, options: &Options, progress: &dyn Progress) -> Result<Run<Report>> {
    let Ok(config) = ws.load_config() else {
        return Ok(Run::Invalid(Invalid::of_settings(ws)));
    };
    let registry = ws.registry(&config, options.registry_config.as_deref())?;
    let now = ws.now_text();
    let loaded = ws.load_definitions(options.rev.as_deref())?;
    let triggers = ws.check_triggers(&loaded, options.rev.as_deref())?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let plan_options = plan::Options {
        prune: config.apply.prune_streams,
    };
    let state = ws.state()?;
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    let _guard = lock(&state, options.lock_timeout)?;
    let planned = reconcile::plan(&desired, &state, &plan_options, None)?;
    let live = &planned.snapshot.streams;
    let mut changes = planned.plan.changes.clone();
    let errors = planned.plan.errors.clone();
    let scheduled = reconcile::scheduled_imports(&desired, live, &changes);
    changes.extend(scheduled);
    let due = repositories_due(&desired, &changes, live);
    let mut repos = repository_changes(&due, live, &registry, REPOSITORY_CAP);
    changes.append(&mut repos.changes);
    let report = execute(
        &state,
        &planned.snapshot,
        &changes,
        &registry,
        &now,
        progress,
    )?;
    let mut applied = apply::applied(report, errors, repos, &registry);
    applied.manifest_problems = triggers.problems;
    // Pull-request mode leaves the working tree alone: the roll-outs go to their branch
    // after the state commit. Without `--commit` there is no branch, so the tree is rolled.
    let to_branch = options.commit && config.rollout.pull_request;
    applied.rolled = if to_branch {
        super::rollout::planned_after_import(ws, &triggers.scan, options.rev.as_deref())?
    } else {
        super::rollout::after_import(ws, &triggers.scan, options.rev.as_deref())?
    };
    // The images the imports brought go to the mirror before the commit, so that the mirror
    // sets it writes are committed with the state.
    let (mut mirror, mut mirror_error) = (None, None);
    if config.mirror.registry.is_some() {
        let mirror_options = super::mirror::Options {
            dry_run: false,
            verify: false,
            registry_config: options.registry_config.clone(),
            timing: None,
        };
        match state
            .load_streams()
            .map_err(anyhow::Error::from)
            .and_then(|live| {
                super::mirror::mirror_streams(ws, &config, &loaded.set, &live, &mirror_options)
            }) {
            Ok(r) => mirror = Some(r),
            Err(e) => mirror_error = Some(e),
        }
    } else if let Err(e) = super::mirror::forget_record(ws) {
        mirror_error = Some(e);
    }
    let mut committed = None;
    let mut commit_error = None;
    let mut rollout_branch = None;
    // Also when this pass wrote nothing: a state an earlier pass could not commit (a locked
    // index) is committed now.
    if options.commit {
        let mut message = commit_message(&applied.report);
        let mut rolled_files = Vec::new();
        if let Some(rolled) = applied
            .rolled
            .as_ref()
            .filter(|r| !r.plan.is_empty() && !to_branch)
        {
            message.push_str(&rollout_lines(&rolled.plan));
            rolled_files = rolled.written.iter().map(|f| ws.root.join(f)).collect();
        }
        if let Some(sets) = mirror.as_ref().and_then(|m| m.sets.as_ref())
            && sets.path.exists()
        {
            rolled_files.push(sets.path.clone());
        }
        match commit::commit_state_and(
            &ws.state_dir,
            &rolled_files,
            options.author.as_deref(),
            &message,
        ) {
            Ok(Some(oid)) => {
                committed = Some(Committed {
                    id: oid.to_string(),
                    subject: message.lines().next().unwrap_or_default().to_owned(),
                });
            }
            Ok(None) => {}
            Err(e) => commit_error = Some(e.into()),
        }
        // On a failed state commit HEAD is not what the branch must sit on.
        if let Some(rolled) = applied.rolled.as_ref().filter(|r| !r.plan.is_empty())
            && to_branch
            && commit_error.is_none()
        {
            match branch(ws, &config.rollout.branch, &rolled.plan, options) {
                Ok(b) => rollout_branch = b,
                Err(e) => commit_error = Some(e),
            }
        }
    }
    Ok(Run::Done(Report {
        applied,
        committed,
        commit_error,
        rollout_branch,
        mirror,
        mirror_error,
    }))
}

/// Commit the roll-outs of `plan` to branch `name` on top of HEAD (see
/// [`crate::rollout::branch::commit_files`]); the message names every roll-out.
fn branch(
    ws: &Workspace,
    name: &str,
    plan: &crate::rollout::RolloutPlan,
    options: &Options,
) -> Result<Option<RolloutBranch>> {
    use anyhow::Context as _;
    let texts = crate::rollout::rolled_texts(&ws.root, &plan.rollouts)
        .context("cannot roll the manifests")?;
    let files: Vec<(PathBuf, Vec<u8>)> = texts
        .into_iter()
        .map(|(file, text)| (ws.root.join(file), text.into_bytes()))
        .collect();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let message = format!(
        "{}{} in {}\n{}",
        crate::rollout::branch::MESSAGE_PREFIX,
        plural(plan.rollouts.len(), "container", "containers"),
        plural(plan.files().len(), "file", "files"),
        rollout_lines(plan)
    );
    let done = crate::rollout::branch::commit_files(
        &ws.root,
        name,
        &files,
        options.author.as_deref(),
        &message,
    )
    .map_err(anyhow::Error::from)?;
    Ok(done.map(|b| RolloutBranch {
        branch: name.to_owned(),
        commit: b.commit.to_string(),
        parent: b.parent.to_string(),
        updated: b.updated,
        body: pull_request_body(plan),
    }))
}

/// The roll-out pull request's body (see [`RolloutBranch::body`]).
pub fn pull_request_body(plan: &crate::rollout::RolloutPlan) -> String {
    use crate::util::md_code;
    let mut out = String::from(
        "Roll-outs that OpenShift's image-change triggers call for after the latest imports. \
         Recreated by the scheduled sync on top of the default branch; commits pushed to this \
         branch are replaced.\n\n",
    );
    // GitHub takes bodies of up to 65,536 characters.
    const BUDGET: usize = 60_000;
    for (i, r) in plan.rollouts.iter().enumerate() {
        let line = format!(
            "- {} {} {} container {}: {} (from {})\n",
            md_code(&r.file),
            md_code(&r.kind),
            md_code(&format!("{}/{}", r.namespace, r.name)),
            md_code(&r.container),
            md_code(&r.after),
            md_code(&r.from)
        );
        if out.len() + line.len() > BUDGET {
            out.push_str(&format!(
                "- and {} more roll-outs, named in the branch's commit message\n",
                plan.rollouts.len() - i
            ));
            break;
        }
        out.push_str(&line);
    }
    out
}

/// The body lines naming every roll-out of a pass, each escaped onto its one line.
fn rollout_lines(plan: &crate::rollout::RolloutPlan) -> String {
    let mut out = String::from("\nRolled:\n");
    for r in &plan.rollouts {
        let line = format!(
            "- {} {} {}/{} container {}: {} ({})",
            r.file, r.kind, r.namespace, r.name, r.container, r.after, r.from
        );
        out.push_str(&crate::util::escape_line(&line));
        out.push('\n');
    }
    out
}

/// The commit message of a pass: every import that moved a tag, every failure, and the
/// other changes.
pub fn commit_message(report: &ApplyReport) -> String {
    let mut imports = Vec::new();
    let mut failures = Vec::new();
    let mut other = Vec::new();
    for r in &report.applied.results {
        let c = &r.change;
        let stream = format!("{}/{}", c.namespace, c.stream);
        let tag = c.tag.clone().unwrap_or_default();
        match (&r.outcome, c.action) {
            (Outcome::Done, Action::Import) => {
                let previous = c
                    .before
                    .as_ref()
                    .and_then(|b| b.get("image"))
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let digest = r.detail.clone().unwrap_or_default();
                if previous.as_deref() != Some(digest.as_str()) {
                    imports.push(ImportLine {
                        stream,
                        tag,
                        digest,
                        previous,
                    });
                }
            }
            (Outcome::Failed { message, .. }, Action::Import) => {
                let (reason, text) = message
                    .split_once(": ")
                    .unwrap_or(("Failed", message.as_str()));
                failures.push(FailureLine {
                    stream,
                    tag,
                    reason: reason.to_owned(),
                    message: text.to_owned(),
                });
            }
            (Outcome::Done, action) => {
                other.push(format!(
                    "{} {}",
                    action.as_str().replace('_', " "),
                    c.target()
                ));
            }
            (Outcome::Failed { message, .. }, action) => failures.push(FailureLine {
                stream,
                tag: format!("{} ({})", tag, action.as_str()),
                reason: "Failed".to_owned(),
                message: message.clone(),
            }),
        }
    }
    commit::commit_message(&imports, &failures, &other)
}
