//! `apply`: make the live state match the definitions, or apply a saved plan exactly. Holds
//! the state lock while it plans and writes, imports the repositories that are due, and
//! reports every change's result, keeping going past failures. Also what `sync` and `import`
//! share with it: listing repositories into imports, and executing changes under the lock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::{Invalid, Progress, Registry, Run, Triggers, Workspace, lock};
use crate::apply::ApplyReport;
use crate::diagnostic::Diagnostic;
use crate::error::Actionable;
use crate::model::{ANNOTATION_REPOSITORY_CHECK, ImageStream, StreamKey};
use crate::plan::{self, Action, Change, Plan, PlanError};
use crate::reconcile::{self, SavedPlan};
use crate::registry::{RequestCounts, Resolver as _};
use crate::state::{self, LiveState, dir::DirState};

/// OpenShift's `maxImagesBulkImportedPerRepository` default (§3.2).
pub const REPOSITORY_CAP: usize = 50;

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Apply exactly this saved plan (written by a plan with `out`).
    pub plan_file: Option<PathBuf>,
    /// Read the definitions at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// Delete streams that are in the state but not in the definitions.
    pub prune: bool,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Registry auth file (docker config.json format).
    pub registry_config: Option<PathBuf>,
}

/// What [`run`] did.
#[derive(Debug)]
pub enum Report {
    /// A dry run: the plan, nothing changed (`saved`: the plan came from a file).
    DryRun {
        /// The plan.
        plan: Plan,
        /// Whether it is a saved plan.
        saved: bool,
        /// The manifests' problems (see [`super::Triggers`]).
        manifest_problems: Vec<Diagnostic>,
    },
    /// Nothing to change in the live state: the (empty) plan; no lock was taken and the
    /// state was not written. The roll-outs that were still due were made (`rolled`).
    UpToDate {
        /// The plan, with no change.
        plan: Plan,
        /// The roll-outs made.
        rolled: Option<Box<super::rollout::Report>>,
        /// The manifests' problems (see [`super::Triggers`]).
        manifest_problems: Vec<Diagnostic>,
    },
    /// The approval was declined: nothing was changed.
    Cancelled {
        /// The manifests' problems (see [`super::Triggers`]).
        manifest_problems: Vec<Diagnostic>,
    },
    /// The changes ran.
    Applied(Applied),
}

/// The result of changes that ran.
#[derive(Debug)]
pub struct Applied {
    /// Per-change results, what was written, the serial.
    pub report: ApplyReport,
    /// Changes that could not be planned.
    pub errors: Vec<PlanError>,
    /// What listing repositories gave.
    pub repositories: RepositoryImports,
    /// Requests per registry host.
    pub requests: BTreeMap<String, RequestCounts>,
    /// Since the registry client was made.
    pub elapsed: Duration,
    /// The manifests rolled after the imports (none when no manifest has a trigger).
    pub rolled: Option<Box<super::rollout::Report>>,
    /// The manifests' problems (see [`super::Triggers`]); an import's are in its
    /// [`super::import::Imported`].
    pub manifest_problems: Vec<Diagnostic>,
}

impl Report {
    /// The manifests' problems the run met: they stopped nothing, the caller shows them.
    pub fn manifest_problems(&self) -> &[Diagnostic] {
        match self {
            Report::DryRun {
                manifest_problems, ..
            }
            | Report::UpToDate {
                manifest_problems, ..
            }
            | Report::Cancelled { manifest_problems } => manifest_problems,
            Report::Applied(applied) => &applied.manifest_problems,
        }
    }
}

impl Applied {
    /// Every error: the plan's and the repositories'.
    pub fn all_errors(&self) -> Vec<PlanError> {
        let mut all = self.errors.clone();
        all.extend(self.repositories.errors.iter().cloned());
        all
    }

    /// Something failed for a reason other than a registry that could not be asked.
    pub fn failed(&self) -> bool {
        let repos = &self.repositories;
        let repos_failed = !repos.errors.is_empty() && !repos.only_unreachable;
        self.report.applied.has_errors() || !self.errors.is_empty() || repos_failed
    }

    /// Some registry could not be asked, so only part of the work was done.
    pub fn incomplete(&self) -> bool {
        self.report.applied.is_incomplete() || !self.repositories.errors.is_empty()
    }
}

/// Asked before changing anything, with the plan; `Ok(false)` cancels.
pub type Approve<'a> = &'a mut dyn FnMut(&Plan) -> Result<bool>;

/// Apply the definitions (or `options.plan_file`). `approve`, when given, sees the plan
/// before anything changes.
pub fn run(
    ws: &Workspace,
    options: &Options,
    approve: Option<Approve<'_>>,
    progress: &dyn Progress,
) -> Result<Run<Report>> {
    let Ok(config) = ws.load_config() else {
        return Ok(Run::Invalid(Invalid::of_settings(ws)));
    };
    let state = ws.state()?;
    let registry = ws.registry(&config, options.registry_config.as_deref())?;
    let now = ws.now_text();

    if let Some(file) = &options.plan_file {
        let context = Context {
            state: &state,
            registry: &registry,
            now: &now,
            progress,
        };
        return apply_saved(ws, options, file, &context);
    }

    let loaded = ws.load_definitions(options.rev.as_deref())?;
    let triggers = ws.check_triggers(&loaded, options.rev.as_deref())?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let Triggers {
        scan,
        problems: manifest_problems,
    } = triggers;
    let plan_options = plan::Options {
        prune: options.prune || config.apply.prune_streams,
    };
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    if options.dry_run {
        let mut planned = reconcile::plan(&desired, &state, &plan_options, None)?;
        planned.plan.rollouts =
            super::plan::rollouts_of(ws, &config, &scan, &planned.plan, &planned.snapshot);
        return Ok(Run::Done(Report::DryRun {
            plan: planned.plan,
            saved: false,
            manifest_problems,
        }));
    }
    // Plan without the lock first: unchanged inputs then take no lock and write nothing. This
    // plan only decides whether there is work, so what is at rest need not be parsed, except
    // the streams triggers follow: the roll-outs are part of what is approved.
    let followed = scan
        .triggers
        .iter()
        .map(|t| t.from.key(&config.default_namespace))
        .collect();
    let first = reconcile::load_for_plan(&state, &desired, None, false, &followed)?;
    let mut first = reconcile::plan_snapshot(&desired, first, &state, &plan_options, None);
    first.plan.rollouts =
        super::plan::rollouts_of(ws, &config, &scan, &first.plan, &first.snapshot);
    if first.plan.changes.is_empty() && first.plan.errors.is_empty() {
        // The state is as desired; manifests behind it still roll, as `plan` said they would.
        let rolled = if first.plan.rollouts.is_empty() {
            None
        } else {
            super::rollout::after_import(ws, &scan, options.rev.as_deref())?
        };
        return Ok(Run::Done(Report::UpToDate {
            plan: first.plan,
            rolled,
            manifest_problems,
        }));
    }
    let approved = match approve {
        Some(approve) => {
            if !approve(&first.plan)? {
                return Ok(Run::Done(Report::Cancelled { manifest_problems }));
            }
            Some(first.plan.changes.clone())
        }
        None => None,
    };
    let _guard = lock(&state, options.lock_timeout)?;
    let planned = reconcile::plan(&desired, &state, &plan_options, None)?;
    if approved.is_some_and(|a| a != planned.plan.changes) {
        return Err(Actionable::PlanChanged {
            detail: "the plan changed while it waited for approval (another apply ran); nothing was changed".to_owned(),
            hint: "run `streamsync apply` again to review the new plan".to_owned(),
        }
        .into());
    }
    let mut changes = planned.plan.changes.clone();
    let errors = planned.plan.errors.clone();
    let fresh = repositories_due(&desired, &changes, &planned.snapshot.streams);
    let mut repos =
        repository_changes(&fresh, &planned.snapshot.streams, &registry, REPOSITORY_CAP);
    changes.append(&mut repos.changes);
    let report = execute(
        &state,
        &planned.snapshot,
        &changes,
        &registry,
        &now,
        progress,
    )?;
    let mut done = applied(report, errors, repos, &registry);
    done.rolled = super::rollout::after_import(ws, &scan, options.rev.as_deref())?;
    done.manifest_problems = manifest_problems;
    Ok(Run::Done(Report::Applied(done)))
}

/// What both ways of applying use: the state, the registry client, the time of the run and
/// where progress goes.
struct Context<'a> {
    state: &'a DirState,
    registry: &'a Registry,
    now: &'a str,
    progress: &'a dyn Progress,
}

/// Apply a saved plan (`apply PLANFILE`), after checking it against what it was made from:
/// the same inputs, then the same state, then the same changes recomputed from both.
fn apply_saved(
    ws: &Workspace,
    options: &Options,
    file: &std::path::Path,
    context: &Context<'_>,
) -> Result<Run<Report>> {
    let Context {
        state,
        registry,
        now,
        progress,
    } = *context;
    let text = fs_err::read_to_string(file).context("cannot read the saved plan")?;
    let saved = SavedPlan::parse(&text)?;
    if options.dry_run {
        return Ok(Run::Done(Report::DryRun {
            plan: saved.to_plan(),
            saved: true,
            manifest_problems: Vec::new(),
        }));
    }
    let again = "run `streamsync plan --out FILE` again and apply the new plan";
    // The plan is checked against what it was made from: the same inputs, then the same
    // state, then the same changes recomputed from both.
    let loaded = ws.load_definitions(saved.rev.as_deref())?;
    let triggers = ws.check_triggers(&loaded, saved.rev.as_deref())?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let plan_options = plan::Options { prune: saved.prune };
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    saved
        .check_inputs(&ws.inputs_digest(
            &desired,
            &plan_options,
            saved.rev.as_deref(),
            Some(file),
        )?)
        .map_err(|e| stale(&e, again))?;
    let fresh =
        |snapshot: &state::Snapshot| saved.check_fresh(snapshot).map_err(|e| stale(&e, again));
    // Checked before the lock is taken: a refused plan touches nothing in the state
    // folder, not even the lock file.
    let unlocked = state.load()?;
    fresh(&unlocked)?;
    let recomputed = reconcile::plan_snapshot(&desired, unlocked, state, &plan_options, None);
    saved
        .check_changes(&recomputed.plan.changes, &desired)
        .map_err(|e| {
            anyhow::Error::from(Actionable::PlanChanged {
                detail: e.to_string(),
                hint: "apply only plans written by `streamsync plan --out`, unchanged; nothing was applied".to_owned(),
            })
        })?;
    let _guard = lock(state, options.lock_timeout)?;
    // The same digest under the lock means the same state the changes were checked on.
    let snapshot = state.load()?;
    fresh(&snapshot)?;
    let report = execute(state, &snapshot, &saved.changes, registry, now, progress)?;
    let mut done = applied(
        report,
        saved.errors.clone(),
        RepositoryImports::default(),
        registry,
    );
    done.rolled = super::rollout::after_import(ws, &triggers.scan, saved.rev.as_deref())?;
    done.manifest_problems = triggers.problems;
    Ok(Run::Done(Report::Applied(done)))
}

/// The report of changes that ran through `registry`.
pub fn applied(
    report: ApplyReport,
    errors: Vec<PlanError>,
    repositories: RepositoryImports,
    registry: &Registry,
) -> Applied {
    Applied {
        report,
        errors,
        repositories,
        requests: registry.client.request_counts(),
        elapsed: registry.started.elapsed(),
        rolled: None,
        manifest_problems: Vec::new(),
    }
}

/// The streams whose `spec.dockerImageRepository` is imported now, as OpenShift's import
/// controller decides (`needsImport`): the stream is new, its repository changed, or the live
/// stream has no `openshift.io/image.dockerRepositoryCheck` yet (no import has succeeded).
/// Nothing else re-imports a repository; `import STREAM --all` does it on request.
pub fn repositories_due<'a>(
    desired: &[&'a ImageStream],
    changes: &[Change],
    live: &BTreeMap<StreamKey, ImageStream>,
) -> Vec<&'a ImageStream> {
    desired
        .iter()
        .copied()
        .filter(|s| s.repository().is_some())
        .filter(|s| {
            let key = s.key();
            let changed = changes.iter().any(|c| {
                c.key() == key
                    && (c.action == Action::CreateStream
                        || (c.action == Action::UpdateStream
                            && c.before
                                .as_ref()
                                .and_then(|b| b.get("dockerImageRepository"))
                                != c.after
                                    .as_ref()
                                    .and_then(|a| a.get("dockerImageRepository"))))
            });
            changed
                || live
                    .get(&key)
                    .is_some_and(|l| l.annotation(ANNOTATION_REPOSITORY_CHECK).is_none())
        })
        .collect()
}

/// What listing the repositories of some streams gave.
#[derive(Debug, Default)]
pub struct RepositoryImports {
    /// One import per repository tag.
    pub changes: Vec<Change>,
    /// Repositories that could not be listed.
    pub errors: Vec<PlanError>,
    /// Whether every one of `errors` is a registry that could not be asked (exit 3, not 1).
    pub only_unreachable: bool,
    /// Tags left out by the cap, per stream.
    pub left: BTreeMap<StreamKey, Vec<String>>,
    /// What a registry's tag list held that was not used: names that are not tag names, a
    /// listing cut at its bound. Warnings, one per repository and kind.
    pub notes: Vec<String>,
}

/// Import changes for the repositories of `streams` (`spec.dockerImageRepository`): their
/// tags, capped at `max` each, plus an error per repository that could not be listed and the
/// tags left out by the cap.
pub fn repository_changes(
    streams: &[&ImageStream],
    live: &BTreeMap<StreamKey, ImageStream>,
    registry: &Registry,
    max: usize,
) -> RepositoryImports {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    let mut only_unreachable = true;
    let mut left = BTreeMap::new();
    let mut notes = Vec::new();
    for s in streams {
        let Some(repo) = s.repository() else {
            continue;
        };
        let key = s.key();
        match registry
            .client
            .list_repository(repo, s.insecure_repository())
        {
            Ok(list) => {
                if list.skipped > 0 {
                    notes.push(format!(
                        "the tag list of `{repo}` holds {} {} that {} not valid tag names; skipped",
                        list.skipped,
                        crate::diagnostic::plural(list.skipped, "name", "names"),
                        if list.skipped == 1 { "is" } else { "are" }
                    ));
                }
                if let Some(cut) = &list.cut {
                    notes.push(format!(
                        "the tag list of `{repo}` was cut ({cut}): only the {} tags read were considered",
                        list.tags.len()
                    ));
                }
                let tags = list.tags;
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
                        f.text()
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
        notes,
    }
}

/// Execute `changes` (under the lock the caller holds) through the run's registry client,
/// telling `progress` about the imports.
pub fn execute(
    state: &DirState,
    snapshot: &state::Snapshot,
    changes: &[Change],
    registry: &Registry,
    now: &str,
    progress: &dyn Progress,
) -> Result<ApplyReport> {
    let total = changes
        .iter()
        .filter(|c| c.action == Action::Import)
        .count() as u64;
    let mut report = None;
    let mut run = || {
        report = Some(reconcile::execute(
            state,
            snapshot,
            changes,
            &registry.client,
            now,
            &registry.cluster,
        ));
    };
    if total == 0 {
        run();
    } else {
        progress.imports(total, registry, &mut run);
    }
    match report {
        Some(report) => Ok(report?),
        None => anyhow::bail!("internal error: the progress display did not run the imports"),
    }
}

/// A saved plan refused as stale, with how to go on.
fn stale(e: &reconcile::Error, again: &str) -> anyhow::Error {
    Actionable::StalePlan {
        detail: e.to_string(),
        hint: again.to_owned(),
    }
    .into()
}
