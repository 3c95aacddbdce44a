//! `plan`: desired vs live, offline unless asked to refresh from the registries; with a base
//! revision it marks what the difference from that base introduces; it can save the plan
//! for a later apply. Also the offline plan of definitions already loaded (an edit, written
//! or not).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::{Invalid, Run, Workspace};
use crate::definition::Loaded;
use crate::diagnostic::Diagnostic;
use crate::error::Hinted;
use crate::model::{ImageStream, KIND_IMAGE_STREAM_TAG, StreamKey};
use crate::plan::{self, Plan};
use crate::reconcile::{self, Planned, SavedPlan};
use crate::registry::RequestCounts;
use crate::rollout::{self, RolloutPlan};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// Ask the registries what new and scheduled tags resolve to now.
    pub refresh: bool,
    /// Mark which changes the difference from this base revision introduces.
    pub base: Option<String>,
    /// Also delete streams that are in the state but not in the definitions (the config's
    /// `apply.prune_streams` turns it on too).
    pub prune: bool,
    /// Registry auth file (docker config.json format).
    pub registry_config: Option<PathBuf>,
    /// Save the plan to this file for a later apply.
    pub out: Option<PathBuf>,
}

/// What [`run`] planned.
#[derive(Debug)]
pub struct Report {
    /// The plan and the live state it was made against.
    pub planned: Planned,
    /// What a refresh asked of the registries.
    pub refreshed: Option<Refreshed>,
    /// The file the plan was saved to.
    pub saved: Option<PathBuf>,
    /// The definitions the plan was made from.
    pub definitions: Loaded,
}

impl Run<Report> {
    /// The manifests' problems the plan met, made or refused (see [`super::Triggers`]).
    pub fn manifest_problems(&self) -> &[Diagnostic] {
        match self {
            Run::Done(done) => &done.planned.plan.rollouts.problems,
            Run::Invalid(invalid) => &invalid.manifest_problems,
        }
    }
}

/// What a refresh asked.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// Requests per registry host.
    pub requests: BTreeMap<String, RequestCounts>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Plan the definitions against the live state.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    let loaded = ws.load_definitions(options.rev.as_deref())?;
    run_loaded(ws, loaded, options)
}

/// [`run`] with the definitions already loaded (as `options.rev` names them): `watch` keeps
/// the files it parsed between rounds.
pub fn run_loaded(ws: &Workspace, loaded: Loaded, options: &Options) -> Result<Run<Report>> {
    let triggers = ws.check_triggers(&loaded, options.rev.as_deref())?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let scan = triggers.scan;
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    let base = match &options.base {
        Some(base) => Some(load_base(ws, base)?),
        None => None,
    };
    let base_desired: Option<Vec<&ImageStream>> = base.as_ref().map(|b| b.set.streams().collect());
    let config = ws.config()?.clone();
    // The base revision's manifests, to tell which roll-outs the head introduces.
    let base_scan = match &options.base {
        Some(rev) if !scan.triggers.is_empty() => {
            let manifests = rollout::manifests_at_rev(&ws.root, rev, &config.rollout)
                .with_context(|| format!("cannot read the manifests at base `{rev}`"))?;
            let mut base_scan = rollout::scan(&manifests);
            if let Some(base) = &base {
                rollout::mark_managed(&mut base_scan, &base.set, &config.default_namespace);
            }
            Some(base_scan)
        }
        _ => None,
    };
    // The streams triggers follow must be parsed even when at rest with their definitions.
    let followed: BTreeSet<StreamKey> = std::iter::once(&scan)
        .chain(base_scan.as_ref())
        .flat_map(|s| &s.triggers)
        .map(|t| t.from.key(&config.default_namespace))
        .collect();
    // Read after the definitions, not at the same time: both parse on every core, so running
    // them together gains little time and costs the sum of both peaks in memory. Knowing the
    // definitions first also lets the state leave unparsed what cannot differ from them.
    let state = ws.state()?;
    let snapshot = reconcile::load_for_plan(
        &state,
        &desired,
        base_desired.as_deref(),
        options.refresh,
        &followed,
    )?;
    let plan_options = plan::Options {
        prune: options.prune || config.apply.prune_streams,
    };
    // Only a refresh asks registries, so only a refresh builds the client.
    let registry = if options.refresh {
        Some(ws.registry(&config, options.registry_config.as_deref())?)
    } else {
        None
    };
    let refresh = registry
        .as_ref()
        .map(|r| &r.client as &dyn crate::registry::Resolver);
    let mut planned = reconcile::plan_snapshot(&desired, snapshot, &state, &plan_options, refresh);
    let base_plan = base_desired.as_ref().map(|base| {
        plan::compute(
            reconcile::unskipped(base, &planned.snapshot),
            &planned.snapshot.streams,
            &plan::Observations::default(),
            &plan_options,
        )
    });
    if let Some(base_plan) = &base_plan {
        planned.plan.mark_introduced(base_plan);
    }
    let refreshed = registry.as_ref().map(|r| Refreshed {
        requests: crate::registry::Resolver::request_counts(&r.client),
        elapsed: r.started.elapsed(),
    });
    // Roll-outs before saving, so a saved plan counts them too.
    planned.plan.rollouts = rollouts_of(ws, &config, &scan, &planned.plan, &planned.snapshot);
    if let (Some(base_plan), Some(base_scan)) = (&base_plan, &base_scan)
        && !planned.plan.rollouts.is_empty()
    {
        let base_rollouts = rollouts_of(ws, &config, base_scan, base_plan, &planned.snapshot);
        planned.plan.rollouts.mark_introduced(&base_rollouts);
    }
    // The manifests' problems stop nothing, but the plan (a pull request's comment) shows them.
    planned.plan.rollouts.problems = triggers.problems;
    let saved = match &options.out {
        Some(out) => {
            let mut saved = SavedPlan::new(&planned, &desired, &plan_options);
            saved.inputs_digest =
                ws.inputs_digest(&desired, &plan_options, options.rev.as_deref(), Some(out))?;
            saved.rev = options.rev.clone();
            let mut text = serde_json::to_string_pretty(&saved)?;
            text.push('\n');
            fs_err::write(out, text).context("cannot save the plan")?;
            Some(out.clone())
        }
        None => None,
    };
    drop(desired);
    Ok(Run::Done(Report {
        planned,
        refreshed,
        saved,
        definitions: loaded,
    }))
}

/// The offline plan [`run`] makes without a revision, a base, a refresh or a saved file, of
/// inputs already loaded: definitions without errors, the manifests' triggers (judged against
/// them, with their problems) and a live-state snapshot loaded for them. `watch` keeps all
/// three between rounds and makes its plan here (the snapshot comes back with it).
pub fn offline(
    ws: &Workspace,
    set: &crate::definition::DefinitionSet,
    triggers: &super::Triggers,
    snapshot: crate::state::Snapshot,
) -> Result<Planned> {
    let desired: Vec<&ImageStream> = set.streams().collect();
    let config = ws.config()?;
    let state = ws.state()?;
    let plan_options = plan::Options {
        prune: config.apply.prune_streams,
    };
    let mut planned = reconcile::plan_snapshot(&desired, snapshot, &state, &plan_options, None);
    planned.plan.rollouts =
        rollouts_of(ws, config, &triggers.scan, &planned.plan, &planned.snapshot);
    planned.plan.rollouts.problems = triggers.problems.clone();
    Ok(planned)
}

/// The roll-outs `scan`'s triggers call for once `plan` is applied: its changes are made
/// in memory (imports only where a refresh resolved them), then the triggers are resolved
/// against the result. Triggers of tags still waiting for an import nobody asked about wait.
pub(super) fn rollouts_of(
    ws: &Workspace,
    config: &crate::policy::Config,
    scan: &rollout::Scan,
    plan: &Plan,
    snapshot: &crate::state::Snapshot,
) -> RolloutPlan {
    if scan.triggers.is_empty() {
        return RolloutPlan::default();
    }
    // The snapshot holds every stream a trigger follows (they are never left unparsed) and
    // every stream the plan changes.
    let mut pending = BTreeSet::new();
    let mut replay = Replay::default();
    let changes: Vec<plan::Change> = plan
        .changes
        .iter()
        .filter(|c| {
            if c.action != plan::Action::Import {
                return true;
            }
            let after = c.after.as_ref();
            let field = |name: &str| after.and_then(|a| a.get(name)?.as_str());
            match (field("from"), field("image"), field("dockerImageReference")) {
                (Some(from), Some(image), Some(reference)) => {
                    replay
                        .answers
                        .insert(from.to_owned(), (image.to_owned(), reference.to_owned()));
                    true
                }
                _ => {
                    pending.insert((c.key(), c.tag.clone().unwrap_or_default()));
                    false
                }
            }
        })
        .cloned()
        .collect();
    let mut changed = BTreeMap::new();
    if !changes.is_empty() {
        let env = crate::apply::Env {
            resolver: &replay,
            image_known: &|_| true,
            now: ws.now_text(),
            cluster: config.cluster.clone(),
            on_image: None,
        };
        changed = crate::apply::execute(&snapshot.streams, &changes, &env).streams;
    }
    // A tag that follows one with an import due waits for it too, through any chain.
    if !pending.is_empty() {
        let streams: Vec<&ImageStream> = snapshot
            .streams
            .iter()
            .filter(|(key, _)| !changed.contains_key(*key))
            .map(|(_, s)| s)
            .chain(changed.values().flatten())
            .collect();
        loop {
            let before = pending.len();
            for s in &streams {
                let key = s.key();
                for t in &s.spec.tags {
                    let follows = t.from.as_ref().filter(|f| f.kind == KIND_IMAGE_STREAM_TAG);
                    if let Some((source, tag)) = follows.and_then(|f| f.source(&key))
                        && pending.contains(&(source, tag.to_owned()))
                    {
                        pending.insert((key.clone(), t.name.clone()));
                    }
                }
            }
            if pending.len() == before {
                break;
            }
        }
    }
    // Only the streams the triggers follow, as the plan leaves them (a deleted one is gone).
    let live: BTreeMap<StreamKey, ImageStream> = scan
        .triggers
        .iter()
        .map(|t| t.from.key(&config.default_namespace))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|key| {
            let stream = match changed.get(&key) {
                Some(after) => after.clone(),
                None => snapshot.streams.get(&key).cloned(),
            };
            stream.map(|s| (key, s))
        })
        .collect();
    rollout::plan_pending(
        scan,
        &live,
        &config.cluster,
        &config.default_namespace,
        &pending,
    )
}

/// The registry as a refresh saw it: each pull spec's image, as the plan recorded it.
#[derive(Default)]
struct Replay {
    answers: BTreeMap<String, (String, String)>,
}

impl crate::registry::Resolver for Replay {
    fn resolve_all(
        &self,
        requests: &[crate::registry::ImportRequest],
        _known_digests: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<crate::registry::Resolved, crate::registry::ImportFailure>> {
        requests
            .iter()
            .map(|r| match self.answers.get(&r.pullspec) {
                Some((image, reference)) => Ok(crate::registry::Resolved {
                    digest: image.clone(),
                    docker_image_reference: reference.clone(),
                    image: None,
                    platform_images: Vec::new(),
                }),
                None => Err(not_refreshed(&r.pullspec)),
            })
            .collect()
    }

    fn list_tags(
        &self,
        repository: &str,
        _insecure: bool,
    ) -> Result<Vec<String>, crate::registry::ImportFailure> {
        Err(not_refreshed(repository))
    }

    fn request_counts(&self) -> BTreeMap<String, crate::registry::RequestCounts> {
        BTreeMap::new()
    }

    fn is_offline(&self) -> bool {
        true
    }
}

fn not_refreshed(what: &str) -> crate::registry::ImportFailure {
    crate::registry::ImportFailure::new(
        crate::registry::FailureReason::Unreachable,
        format!("`{what}` was not asked for this plan"),
    )
}

/// The definitions at the base revision, which must validate (none at all: the base is
/// before the first definition, as in the pull request adding them).
fn load_base(ws: &Workspace, base: &str) -> Result<Loaded> {
    let loaded = match ws.load_source(Some(base)) {
        Ok(loaded) => loaded,
        // A base before the first definition (the pull request adding them): everything
        // the head plans is introduced by it.
        Err(crate::definition::SourceError::MissingDir { .. }) => Default::default(),
        Err(e) => {
            return Err(ws.source_error(e))
                .with_context(|| format!("cannot read the definitions at base `{base}`"));
        }
    };
    if loaded.has_errors() {
        return Err(Hinted::new(
            format!(
                "the definitions at base `{base}` do not validate ({})",
                crate::diagnostic::summary(&loaded.diagnostics, loaded.files)
            ),
            format!("run `streamsync validate --rev {base}` to see the problems"),
        )
        .into());
    }
    Ok(loaded)
}

/// The offline plan of some definitions, or why there is none.
#[derive(Debug)]
pub enum Offline {
    /// The plan (only of the streams asked for).
    Plan(Plan),
    /// The definitions do not validate: their diagnostics.
    Invalid(Vec<Diagnostic>),
}

/// The offline plan of definitions already loaded, e.g. an edit not written yet, optionally
/// only for some streams (the plan an edit implies).
pub fn offline_of(ws: &Workspace, loaded: &Loaded, only: Option<&[StreamKey]>) -> Result<Offline> {
    if loaded.has_errors() {
        return Ok(Offline::Invalid(loaded.diagnostics.clone()));
    }
    let config = ws.config()?.clone();
    let options = plan::Options {
        prune: config.apply.prune_streams,
    };
    let state = ws.state()?;
    let desired: Vec<&ImageStream> = loaded
        .set
        .streams()
        .filter(|s| only.is_none_or(|keys| keys.contains(&s.key())))
        .collect();
    let mut planned = reconcile::plan(&desired, &state, &options, None)?;
    if let Some(keys) = only {
        let plan = &mut planned.plan;
        plan.changes.retain(|c| keys.contains(&c.key()));
        plan.diffs.retain(|k, _| keys.contains(k));
        plan.unmanaged.clear();
    }
    Ok(Offline::Plan(planned.plan))
}
