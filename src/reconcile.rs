//! The pipeline: where definitions, policies, live state and registry observations meet.
//!
//! `definition`, `state` and `registry` never call each other; this module loads the live
//! state, asks the registry what `plan --refresh` needs, calls the pure `plan::compute`, hands
//! a plan to `apply` and commits the result through the [`LiveState`] trait. It also owns the
//! saved-plan format and its staleness check. It prints nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Moved to [`crate::apply`] (the apply renders it); kept here for the callers that name it so.
pub use crate::apply::ApplyReport;
use crate::apply::{self, Applied};
use crate::model::{ANNOTATION_PREFER_ARCH, ANNOTATION_PREFER_OS, ImageStream, StreamKey};
use crate::plan::{self, Change, Observation, Observations, Options, Plan, PlanError, Summary};
use crate::registry::{ImportRequest, Resolver};
use crate::state::{self, Commit, LiveState, Memo, Meta, Snapshot};

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The live state could not be read or written.
    #[error(transparent)]
    State(#[from] state::Error),
    /// A saved plan no longer matches the live state.
    #[error("saved plan is stale: the live state changed since the plan was made ({detail})")]
    Stale {
        /// `serial 4 → 5`, `lineage a → b`, or what else moved.
        detail: String,
    },
    /// A saved plan file that cannot be used.
    #[error("cannot use saved plan: {0}")]
    BadPlan(String),
    /// The definitions, policies or config a saved plan was made from changed since.
    #[error(
        "saved plan is stale: the definitions, policies, config or roll-out manifests it was made from changed since the plan was made"
    )]
    StaleInputs,
    /// A saved plan whose changes are not what its inputs give: it was edited by hand.
    #[error(
        "saved plan does not match the definitions it was made from ({0}); it was changed after `streamsync plan --out` wrote it"
    )]
    Forged(String),
    /// The serial is at its maximum: one more apply cannot be counted.
    #[error("the live state's serial is at its maximum ({0}); no further apply can be recorded")]
    SerialExhausted(u64),
}

/// The largest serial `streamsync.toml` can hold (TOML integers are signed 64-bit).
pub const MAX_SERIAL: u64 = i64::MAX as u64;

/// A computed plan with what it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The live state it was computed against.
    pub snapshot: Snapshot,
}

/// Load the live state and plan `desired` against it. With a resolver, first ask the
/// registries what scheduled and about-to-be-imported tags resolve to now (`--refresh`).
pub fn plan(
    desired: &[&ImageStream],
    state: &dyn LiveState,
    options: &Options,
    refresh: Option<&dyn Resolver>,
) -> Result<Planned, Error> {
    let snapshot = state.load()?;
    Ok(plan_snapshot(desired, snapshot, state, options, refresh))
}

/// [`plan`] against a snapshot already loaded (e.g. by [`load_for_plan`]). Streams the
/// snapshot skipped are at rest with their definition, so they are left out on both sides.
pub fn plan_snapshot(
    desired: &[&ImageStream],
    snapshot: Snapshot,
    state: &dyn LiveState,
    options: &Options,
    refresh: Option<&dyn Resolver>,
) -> Planned {
    let desired = unskipped(desired, &snapshot);
    let plan = plan_against(&desired, &snapshot.streams, options, refresh, state);
    Planned { plan, snapshot }
}

/// The desired streams a snapshot did not skip.
pub fn unskipped<'a>(desired: &[&'a ImageStream], snapshot: &Snapshot) -> Vec<&'a ImageStream> {
    if snapshot.skipped.is_empty() {
        return desired.to_vec();
    }
    desired
        .iter()
        .copied()
        .filter(|s| !snapshot.skipped.contains_key(&s.key()))
        .collect()
}

/// Salt of every memo: the version and the source of what decides a plan (the model and the
/// plan computation). A memo written by any other build never matches, so a change in what
/// plans compare, even between two builds of one version, cannot make an old memo claim that
/// a stream is at rest; such a state is parsed in full until its next apply.
static MEMO_SALT: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for part in [
        env!("CARGO_PKG_VERSION"),
        include_str!("model/mod.rs"),
        include_str!("plan/mod.rs"),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
});

/// The memo of a stream: a digest of its spec as plans compare it. A live stream records it
/// only while it is at rest ([`at_rest`]); a definition whose memo equals the recorded one
/// then plans to nothing against it, so its state file need not be parsed.
pub fn memo(stream: &ImageStream) -> String {
    let mut hasher = Sha256::new();
    hasher.update(*MEMO_SALT);
    // Serializing these plain data types cannot fail (string keys, no custom serializers),
    // and neither can writing to a hasher.
    let _ = serde_json::to_writer(&mut hasher, &plan::normalize(stream));
    hex::encode(&hasher.finalize()[..16])
}

/// Whether a live stream is at rest: a definition with its very spec would plan nothing for
/// it, and no tag of it has a failed import to report.
pub fn at_rest(stream: &ImageStream) -> bool {
    let failing = stream.status.as_ref().is_some_and(|s| {
        s.tags
            .iter()
            .any(|t| t.conditions.iter().any(|c| c.status == "False"))
    });
    if failing {
        return false;
    }
    let live = BTreeMap::from([(stream.key(), stream.clone())]);
    let own = plan::compute(
        [stream],
        &live,
        &Observations::default(),
        &Options::default(),
    );
    own.changes.is_empty() && own.errors.is_empty()
}

/// Streams whose plan may depend on another stream: those that name another stream in a tag
/// source, and the streams they name.
fn linked<'a>(streams: impl IntoIterator<Item = &'a ImageStream>) -> BTreeSet<StreamKey> {
    let mut out = BTreeSet::new();
    for s in streams {
        let key = s.key();
        for t in &s.spec.tags {
            if let Some((source, _)) = t.from.as_ref().and_then(|f| f.source(&key))
                && source != key
            {
                out.insert(source);
                out.insert(key.clone());
            }
        }
    }
    out
}

/// Load the live state for an offline plan of `desired` (and of `base`, for `plan --base`):
/// a stream file whose recorded memo equals the memo of its definition in every set is left
/// unparsed, unless its plan could depend on other streams or on registries (`refresh` and a
/// scheduled tag) or `also` names it (the streams roll-out triggers follow). Files edited
/// since their memo was recorded are always parsed.
pub fn load_for_plan(
    state: &dyn LiveState,
    desired: &[&ImageStream],
    base: Option<&[&ImageStream]>,
    refresh: bool,
    also: &BTreeSet<StreamKey>,
) -> Result<Snapshot, Error> {
    let sets: Vec<&[&ImageStream]> = std::iter::once(desired).chain(base).collect();
    let mut keep = linked(sets.iter().flat_map(|set| set.iter().copied()));
    keep.extend(also.iter().cloned());
    if refresh {
        keep.extend(
            sets.iter()
                .flat_map(|set| set.iter())
                .filter(|s| s.spec.tags.iter().any(|t| t.import_policy.scheduled))
                .map(|s| s.key()),
        );
    }
    let memos: Vec<BTreeMap<StreamKey, String>> = sets.iter().map(|set| memos(set)).collect();
    let wanted: BTreeMap<StreamKey, String> = memos[0]
        .iter()
        .filter(|(key, memo)| {
            !keep.contains(*key) && memos[1..].iter().all(|m| m.get(*key) == Some(*memo))
        })
        .map(|(k, m)| (k.clone(), m.clone()))
        .collect();
    load_wanted(state, wanted)
}

/// The memo of every stream of `streams` (in parallel).
pub fn memos(streams: &[&ImageStream]) -> BTreeMap<StreamKey, String> {
    streams.par_iter().map(|s| (s.key(), memo(s))).collect()
}

/// [`load_for_plan`] of definitions whose memos are known already (`watch` keeps them), with
/// no base and no refresh: `memos` holds each defined stream's memo, and `keep` the streams
/// that must be parsed all the same (both ends of a tag that follows another stream, those a
/// trigger follows).
pub fn load_for_plan_with(
    state: &dyn LiveState,
    memos: &BTreeMap<StreamKey, String>,
    keep: &BTreeSet<StreamKey>,
) -> Result<Snapshot, Error> {
    let wanted = memos
        .iter()
        .filter(|(key, _)| !keep.contains(*key))
        .map(|(k, m)| (k.clone(), m.clone()))
        .collect();
    load_wanted(state, wanted)
}

/// Load the state leaving unparsed the streams whose recorded memo `wanted` holds, but for
/// those a parsed stream names.
fn load_wanted(
    state: &dyn LiveState,
    mut wanted: BTreeMap<StreamKey, String>,
) -> Result<Snapshot, Error> {
    loop {
        let snapshot =
            state.load_skipping(&|key, memo| wanted.get(key).is_some_and(|m| m == memo))?;
        // A parsed stream whose live spec names a skipped one (a source being removed or
        // re-pointed) may need it after all: load again with it parsed.
        let needed: BTreeSet<StreamKey> = linked(snapshot.streams.values())
            .into_iter()
            .filter(|k| snapshot.skipped.contains_key(k))
            .collect();
        if needed.is_empty() {
            tracing::info!(
                "live state: {} of {} stream files at rest with their definitions, left unparsed",
                snapshot.skipped.len(),
                snapshot.hashes.len()
            );
            return Ok(snapshot);
        }
        wanted.retain(|k, _| !needed.contains(k));
    }
}

/// Keep a snapshot [`load_for_plan`] loaded up to date with definitions edited since (what
/// `watch` does between rounds, instead of reading every stream file again): parse the stream
/// files it left unparsed that `needed` now asks for (given each one's recorded memo), and, as
/// [`load_for_plan`] does, those a newly parsed live stream names. Each file must still hold
/// the bytes the snapshot hashed: `Ok(false)` when one changed (the caller loads afresh). A
/// stream parsed stays parsed; its definition at rest with it plans to nothing all the same.
pub fn reparse(
    state: &state::dir::DirState,
    snapshot: &mut Snapshot,
    needed: impl Fn(&StreamKey, &str) -> bool,
) -> Result<bool, Error> {
    let mut want: BTreeSet<StreamKey> = snapshot
        .skipped
        .iter()
        .filter(|(key, memo)| needed(key, memo))
        .map(|(key, _)| key.clone())
        .collect();
    while !want.is_empty() {
        let mut next = BTreeSet::new();
        for key in want {
            let Some(sha256) = snapshot.hashes.get(&key) else {
                return Ok(false);
            };
            let Some(stream) = state.load_stream_as_hashed(&key, sha256)? else {
                return Ok(false);
            };
            next.extend(
                linked([&stream])
                    .into_iter()
                    .filter(|k| snapshot.skipped.contains_key(k) && *k != key),
            );
            snapshot.skipped.remove(&key);
            snapshot.streams.insert(key, stream);
        }
        want = next;
    }
    Ok(true)
}

/// Leave unparsed, in a snapshot, the streams that are at rest ([`at_rest`]) with a definition
/// of the same memo, as if the state had recorded their memos (a state written before memos
/// were recorded, or by hand): each plans to nothing, so a caller that plans again and again
/// (`watch`) need not compare them each time. `keep` names streams that must stay parsed;
/// so do the streams a parsed one names. Returns how many were left unparsed.
pub fn rest(
    snapshot: &mut Snapshot,
    memos: &BTreeMap<StreamKey, String>,
    keep: &BTreeSet<StreamKey>,
) -> usize {
    let mut resting: BTreeMap<StreamKey, String> = snapshot
        .streams
        .par_iter()
        .filter(|(key, _)| !keep.contains(*key))
        .filter_map(|(key, live)| {
            let wanted = memos.get(key)?;
            (at_rest(live) && memo(live) == *wanted).then(|| (key.clone(), wanted.clone()))
        })
        .collect();
    loop {
        let named: BTreeSet<StreamKey> = linked(
            snapshot
                .streams
                .iter()
                .filter(|(key, _)| !resting.contains_key(*key))
                .map(|(_, s)| s),
        );
        let before = resting.len();
        resting.retain(|key, _| !named.contains(key));
        if resting.len() == before {
            break;
        }
    }
    for (key, memo) in &resting {
        snapshot.streams.remove(key);
        snapshot.skipped.insert(key.clone(), memo.clone());
    }
    resting.len()
}

/// Plan against already-loaded live streams.
pub fn plan_against(
    desired: &[&ImageStream],
    live: &BTreeMap<StreamKey, ImageStream>,
    options: &Options,
    refresh: Option<&dyn Resolver>,
    state: &dyn LiveState,
) -> Plan {
    let offline = plan::compute(
        desired.iter().copied(),
        live,
        &Observations::default(),
        options,
    );
    let Some(resolver) = refresh else {
        return offline;
    };
    let observations = observe(desired, &offline, resolver, state);
    plan::compute(desired.iter().copied(), live, &observations, options)
}

/// Ask the registries (HEAD only) about the tags `plan --refresh` shows.
fn observe(
    desired: &[&ImageStream],
    offline: &Plan,
    resolver: &dyn Resolver,
    state: &dyn LiveState,
) -> Observations {
    let targets = plan::refresh_targets(desired.iter().copied(), offline);
    let by_key: BTreeMap<StreamKey, &ImageStream> = desired.iter().map(|s| (s.key(), *s)).collect();
    let mut keys = Vec::new();
    let mut requests = Vec::new();
    for (key, tag) in targets {
        let Some(stream) = by_key.get(&key) else {
            continue;
        };
        let Some(t) = stream.spec_tag(&tag) else {
            continue;
        };
        requests.push(ImportRequest {
            pullspec: t.from.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
            insecure: stream.insecure_repository() || t.import_policy.insecure,
            import_mode: t.import_policy.effective_import_mode().to_owned(),
            prefer_arch: t.annotation(ANNOTATION_PREFER_ARCH).map(str::to_owned),
            prefer_os: t.annotation(ANNOTATION_PREFER_OS).map(str::to_owned),
            resolve_only: true,
        });
        keys.push((key, tag));
    }
    let mut obs = Observations::default();
    if requests.is_empty() {
        return obs;
    }
    let known = |d: &str| state.has_image(d);
    for (key, result) in keys
        .into_iter()
        .zip(resolver.resolve_all(&requests, &known))
    {
        match result {
            Ok(r) => {
                obs.resolved.insert(
                    key,
                    Observation {
                        digest: r.digest,
                        docker_image_reference: r.docker_image_reference,
                    },
                );
            }
            Err(f) => {
                obs.unreachable
                    .insert(key, format!("{}: {}", f.reason.as_str(), f.text()));
            }
        }
    }
    obs
}

/// Execute `changes` against `snapshot` (loaded under the lock) and commit the result:
/// images, then streams, then the meta with the serial +1. Nothing is written when nothing
/// changed.
pub fn execute(
    state: &dyn LiveState,
    snapshot: &Snapshot,
    changes: &[Change],
    resolver: &dyn Resolver,
    now: &str,
    cluster: &crate::model::Cluster,
) -> Result<ApplyReport, Error> {
    // Checked before anything runs: a serial that cannot move would leave written streams
    // under an unchanged serial, which a saved plan could not tell from no apply at all.
    let next = snapshot
        .serial()
        .checked_add(1)
        .filter(|n| *n <= MAX_SERIAL)
        .ok_or(Error::SerialExhausted(snapshot.serial()))?;
    let meta = Meta {
        lineage: snapshot
            .lineage()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        serial: next,
    };
    let known = |d: &str| state.has_image(d);
    let stage = |image: &crate::model::Image| state.stage_image(&meta, image);
    let env = apply::Env {
        resolver,
        image_known: &known,
        now: now.to_owned(),
        cluster: cluster.clone(),
        on_image: Some(&stage),
    };
    let applied = apply::execute(&snapshot.streams, changes, &env);
    let memos = memos_after(snapshot, &applied.streams);
    let mut images = applied.images.clone();
    images.extend(images_to_upgrade(state, &applied));
    let commit = Commit {
        streams: applied.streams.clone(),
        images,
        meta: Some(meta),
        memos,
    };
    let written = state.commit(&commit)?;
    let serial = if written.meta {
        next
    } else {
        snapshot.serial()
    };
    Ok(ApplyReport {
        applied,
        written,
        serial,
    })
}

/// Image files in the shape older versions wrote (no `dockerImageMetadataVersion`, flat
/// metadata) that the streams this apply writes point at: they are written again in the
/// openshift/api shape with the streams, so state is upgraded as it is next written.
fn images_to_upgrade(state: &dyn LiveState, applied: &Applied) -> Vec<crate::model::Image> {
    let digests: std::collections::BTreeSet<&str> = applied
        .streams
        .values()
        .flatten()
        .filter_map(|s| s.status.as_ref())
        .flat_map(|st| st.tags.iter().flat_map(|t| t.items.iter()))
        .map(|e| e.image.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    digests
        .into_iter()
        .filter(|d| state.has_image(d))
        .filter_map(|d| state.load_image(d).ok().flatten())
        .filter(|img| {
            img.docker_image_metadata.is_some() && img.docker_image_metadata_version.is_empty()
        })
        .map(|mut img| {
            crate::model::DOCKER_IMAGE_METADATA_VERSION
                .clone_into(&mut img.docker_image_metadata_version);
            img
        })
        .collect()
}

/// The memo of every stream at rest once `written` replaced its streams in `snapshot`.
fn memos_after(
    snapshot: &Snapshot,
    written: &BTreeMap<StreamKey, Option<ImageStream>>,
) -> BTreeMap<StreamKey, Memo> {
    let old = snapshot
        .streams
        .par_iter()
        .filter(|(key, _)| !written.contains_key(*key))
        .filter_map(|(key, s)| {
            let file = snapshot.hashes.get(key)?.clone();
            at_rest(s).then(|| {
                let memo = memo(s);
                (
                    key.clone(),
                    Memo {
                        file: Some(file),
                        memo,
                    },
                )
            })
        });
    let new = written.par_iter().filter_map(|(key, s)| {
        let s = s.as_ref()?;
        at_rest(s).then(|| {
            let memo = memo(s);
            (key.clone(), Memo { file: None, memo })
        })
    });
    let skipped = snapshot
        .skipped
        .iter()
        .filter(|(key, _)| !written.contains_key(*key))
        .filter_map(|(key, memo)| {
            let file = snapshot.hashes.get(key)?.clone();
            Some((
                key.clone(),
                Memo {
                    file: Some(file),
                    memo: memo.clone(),
                },
            ))
        });
    let mut out: BTreeMap<StreamKey, Memo> = old.chain(new).collect();
    out.extend(skipped);
    out
}

/// Import changes for a scheduled pass (`sync`, semantics §3.4): every importable tag with
/// `importPolicy.scheduled` that `changes` does not already import. Its `before` is the
/// current head, so a report can say what moved.
pub fn scheduled_imports(
    desired: &[&ImageStream],
    live: &BTreeMap<StreamKey, ImageStream>,
    changes: &[Change],
) -> Vec<Change> {
    let mut out = Vec::new();
    for s in desired {
        let key = s.key();
        for t in &s.spec.tags {
            if !(t.is_importable() && t.import_policy.scheduled) {
                continue;
            }
            let already = changes.iter().any(|c| {
                c.action == plan::Action::Import
                    && c.key() == key
                    && c.tag.as_deref() == Some(t.name.as_str())
            });
            if !already {
                out.push(forced_import(
                    &key,
                    &t.name,
                    live.get(&key),
                    from_of(t),
                    "scheduled",
                ));
            }
        }
    }
    out
}

fn from_of(t: &crate::model::TagReference) -> &str {
    t.from.as_ref().map_or("", |f| f.name.as_str())
}

/// An import change made outside the plan (scheduled, `import`, repository tags).
pub fn forced_import(
    key: &StreamKey,
    tag: &str,
    live: Option<&ImageStream>,
    from: &str,
    reason: &str,
) -> Change {
    let before = live
        .and_then(|l| l.status_tag(tag))
        .and_then(|h| h.items.first())
        .map(|item| {
            serde_json::json!({
                "dockerImageReference": item.docker_image_reference,
                "image": item.image,
            })
        });
    Change {
        action: plan::Action::Import,
        namespace: key.namespace.clone(),
        stream: key.name.clone(),
        tag: Some(tag.to_owned()),
        before,
        after: Some(serde_json::json!({ "from": from, "importMode": "Legacy" })),
        reason: reason.to_owned(),
        introduced: None,
        image_before: None,
        image_after: None,
    }
}

/// The tags of a stream's `spec.dockerImageRepository` to import (§3.2 bulk import): tags
/// that are not spec tags, ordered by [`prioritize_tags`], at most `max` of them. Returns the
/// import changes and the tags left out by the cap.
pub fn repository_imports(
    stream: &ImageStream,
    live: Option<&ImageStream>,
    remote_tags: &[String],
    max: usize,
) -> (Vec<Change>, Vec<String>) {
    let Some(repo) = stream.repository() else {
        return (Vec::new(), Vec::new());
    };
    let key = stream.key();
    let mut tags: Vec<String> = remote_tags
        .iter()
        .map(|t| {
            if t.is_empty() {
                "latest".to_owned()
            } else {
                t.clone()
            }
        })
        .filter(|t| stream.spec_tag(t).is_none())
        .collect();
    tags.sort();
    tags.dedup();
    prioritize_tags(&mut tags);
    let rest = if tags.len() > max {
        tags.split_off(max)
    } else {
        Vec::new()
    };
    let changes = tags
        .iter()
        .map(|t| forced_import(&key, t, live, &format!("{repo}:{t}"), "repository tag"))
        .collect();
    (changes, rest)
}

/// OpenShift's `PrioritizeTags`: `latest` first, then minor versions (`5.1`, `v5.1`,
/// `v5.1-rc1`) newest first, then full versions (`1.2.3`) newest first, then every other tag
/// in lexicographic order.
pub fn prioritize_tags(tags: &mut [String]) {
    fn nums(text: &str, n: usize) -> Option<Vec<u64>> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != n {
            return None;
        }
        parts.iter().map(|p| p.parse::<u64>().ok()).collect()
    }
    // (class, version newest first, release before pre-release, name)
    fn rank(tag: &str) -> (u8, std::cmp::Reverse<Vec<u64>>, bool, String) {
        if tag == "latest" {
            return (0, std::cmp::Reverse(Vec::new()), false, String::new());
        }
        let bare = tag.strip_prefix('v').unwrap_or(tag);
        let (version, pre) = match bare.split_once('-') {
            Some((v, p)) => (v, !p.is_empty()),
            None => (bare, false),
        };
        if let Some(v) = nums(version, 2) {
            return (1, std::cmp::Reverse(v), pre, tag.to_owned());
        }
        if let Some(v) = nums(version, 3) {
            return (2, std::cmp::Reverse(v), pre, tag.to_owned());
        }
        (3, std::cmp::Reverse(Vec::new()), false, tag.to_owned())
    }
    tags.sort_by_cached_key(|t| rank(t));
}

/// The kind marker of a saved plan file.
pub const SAVED_PLAN_KIND: &str = "streamsync-plan";

/// A plan saved with `plan --out`, applied with `apply FILE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// `1.0`.
    pub format_version: String,
    /// Always `streamsync-plan`.
    pub kind: String,
    /// Lineage of the state it was made against (null: no state yet).
    pub lineage: Option<String>,
    /// Serial of that state (0: no state yet).
    pub serial: u64,
    /// Digest of that state's files.
    pub state_digest: String,
    /// Digest of the definitions and options it was made from.
    pub inputs_digest: String,
    /// Whether unmanaged streams were to be deleted.
    pub prune: bool,
    /// The Git revision the definitions were read from (`plan --rev`); none: the work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Counts.
    pub summary: Summary,
    /// The changes, applied exactly.
    pub changes: Vec<Change>,
    /// Problems that kept changes out.
    #[serde(default)]
    pub errors: Vec<PlanError>,
    /// The roll-outs the plan calls for (shown by `apply PLAN --dry-run`; applying rolls
    /// what the unchanged manifests call for after the imports).
    #[serde(default, skip_serializing_if = "no_rollouts")]
    pub rollouts: crate::rollout::RolloutPlan,
}

/// Whether a saved plan has no roll-out and no skipped trigger to keep.
fn no_rollouts(r: &crate::rollout::RolloutPlan) -> bool {
    r.rollouts.is_empty() && r.skipped.is_empty()
}

impl SavedPlan {
    /// Save `planned`, made from `desired` with `options`.
    pub fn new(planned: &Planned, desired: &[&ImageStream], options: &Options) -> Self {
        SavedPlan {
            format_version: plan::FORMAT_VERSION.to_owned(),
            kind: SAVED_PLAN_KIND.to_owned(),
            lineage: planned.snapshot.lineage().map(str::to_owned),
            serial: planned.snapshot.serial(),
            state_digest: planned.snapshot.digest.clone(),
            inputs_digest: plan::inputs_digest(desired.iter().copied(), options),
            prune: options.prune,
            rev: None,
            summary: planned.plan.summary(),
            changes: planned.plan.changes.clone(),
            errors: planned.plan.errors.clone(),
            rollouts: planned.plan.rollouts.clone(),
        }
    }

    /// Read a saved plan from JSON text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::BadPlan(format!("not JSON: {e}")))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(SAVED_PLAN_KIND) {
            return Err(Error::BadPlan(
                "it is not a plan saved by `streamsync plan --out`".into(),
            ));
        }
        let version = value
            .get("format_version")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if version.split('.').next() != Some("1") {
            return Err(Error::BadPlan(format!(
                "format version `{version}` is not supported (this streamsync reads 1.x)"
            )));
        }
        serde_json::from_value(value).map_err(|e| Error::BadPlan(e.to_string()))
    }

    /// The plan as a [`Plan`] (for rendering).
    pub fn to_plan(&self) -> Plan {
        Plan {
            changes: self.changes.clone(),
            errors: self.errors.clone(),
            rollouts: self.rollouts.clone(),
            ..Plan::default()
        }
    }

    /// Refuse when the inputs (digest from [`inputs_digest`]) changed since the plan was made.
    pub fn check_inputs(&self, digest: &str) -> Result<(), Error> {
        if self.inputs_digest == digest {
            Ok(())
        } else {
            Err(Error::StaleInputs)
        }
    }

    /// Refuse unless the saved changes are exactly `recomputed`, the changes the same inputs
    /// give against the same state now. A digest inside the plan cannot tell a hand-edited
    /// plan from a real one (a forger recomputes it); recomputing can. What a refresh adds is
    /// let through: the digests it observed (resolved again at apply) and re-imports of
    /// scheduled tags of `desired`.
    pub fn check_changes(
        &self,
        recomputed: &[Change],
        desired: &[&ImageStream],
    ) -> Result<(), Error> {
        // Each scheduled tag with the `after` its import carries (before a refresh fills in
        // the digest).
        let scheduled: BTreeMap<(StreamKey, &str), serde_json::Value> = desired
            .iter()
            .flat_map(|s| {
                s.spec
                    .tags
                    .iter()
                    .filter(|t| t.is_importable() && t.import_policy.scheduled)
                    .map(|t| {
                        let after = serde_json::json!({
                            "from": t.from.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
                            "importMode": t.import_policy.effective_import_mode(),
                        });
                        ((s.key(), t.name.as_str()), after)
                    })
            })
            .collect();
        let want: Vec<Change> = recomputed.iter().map(comparable).collect();
        let mut rest = want.clone();
        for change in &self.changes {
            let c = comparable(change);
            if let Some(at) = rest.iter().position(|w| *w == c) {
                rest.remove(at);
                continue;
            }
            let refreshed = c.action == plan::Action::Import
                && c.tag
                    .as_deref()
                    .and_then(|t| scheduled.get(&(c.key(), t)))
                    .is_some_and(|after| c.after.as_ref() == Some(after))
                && !want.contains(&c);
            if !refreshed {
                return Err(Error::Forged(format!(
                    "`{} {}` is not a change they give",
                    c.action.as_str(),
                    c.target()
                )));
            }
        }
        if let Some(missing) = rest.first() {
            return Err(Error::Forged(format!(
                "`{} {}` is missing",
                missing.action.as_str(),
                missing.target()
            )));
        }
        Ok(())
    }

    /// Refuse when the live state moved since the plan was made.
    pub fn check_fresh(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let lineage = snapshot.lineage().map(str::to_owned);
        if self.lineage.is_some() && self.lineage != lineage {
            return Err(Error::Stale {
                detail: format!(
                    "lineage {} → {}",
                    self.lineage.as_deref().unwrap_or("none"),
                    lineage.as_deref().unwrap_or("none")
                ),
            });
        }
        if self.serial != snapshot.serial() {
            return Err(Error::Stale {
                detail: format!("serial {} → {}", self.serial, snapshot.serial()),
            });
        }
        if self.state_digest != snapshot.digest {
            return Err(Error::Stale {
                detail: format!(
                    "serial {} unchanged, but the state files differ, e.g. after an interrupted apply",
                    self.serial
                ),
            });
        }
        Ok(())
    }
}

/// A change as compared between a saved plan and its recomputation: the words and the
/// `--base` mark do not act, and an import's observed digest is resolved again at apply.
fn comparable(c: &Change) -> Change {
    let mut c = c.clone();
    c.reason = String::new();
    c.introduced = None;
    if c.action == plan::Action::Import {
        c.image_after = None;
    }
    if c.action == plan::Action::Import
        && let Some(serde_json::Value::Object(after)) = &mut c.after
    {
        after.remove("image");
        after.remove("dockerImageReference");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_prioritized_as_openshift_does() {
        let mut tags: Vec<String> = [
            "a", "1.2.3", "v5.1-rc1", "latest", "5.1", "10.0", "1.10.0", "zz", "v2.0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        prioritize_tags(&mut tags);
        assert_eq!(
            tags,
            [
                "latest", "10.0", "5.1", "v5.1-rc1", "v2.0", "1.10.0", "1.2.3", "a", "zz"
            ]
        );
    }
    use crate::model::{
        ImageStreamStatus, NamedTagEventList, ObjectReference, TagEvent, TagReference,
    };
    use crate::registry::{FailureReason, ImportFailure, RequestCounts, Resolved};
    use crate::state::dir::DirState;

    /// Answers every HEAD with a fixed digest, except for `down.example`, which is unreachable.
    struct Moved;

    impl Resolver for Moved {
        fn resolve_all(
            &self,
            requests: &[ImportRequest],
            _known: &dyn Fn(&str) -> bool,
        ) -> Vec<Result<Resolved, ImportFailure>> {
            requests
                .iter()
                .map(|r| {
                    assert!(r.resolve_only, "refresh must only resolve");
                    if r.pullspec.starts_with("down.example") {
                        return Err(ImportFailure::new(
                            FailureReason::Unreachable,
                            "connection refused",
                        ));
                    }
                    Ok(Resolved {
                        platform_images: Vec::new(),
                        digest: "sha256:new".into(),
                        docker_image_reference: "quay.io/x/app@sha256:new".into(),
                        image: None,
                    })
                })
                .collect()
        }
        fn list_tags(&self, _: &str, _: bool) -> Result<Vec<String>, ImportFailure> {
            Ok(Vec::new())
        }
        fn request_counts(&self) -> BTreeMap<String, RequestCounts> {
            BTreeMap::new()
        }
    }

    fn scheduled(name: &str, from: &str) -> TagReference {
        let mut t = TagReference {
            name: name.into(),
            from: Some(ObjectReference {
                kind: "DockerImage".into(),
                name: from.into(),
                namespace: None,
            }),
            ..TagReference::default()
        };
        t.import_policy.scheduled = true;
        t
    }

    #[test]
    fn refresh_shows_upstream_moves_of_scheduled_tags_and_unreachable_registries() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path()).unwrap();
        let mut desired = ImageStream::new("demo", "app");
        desired.spec.tags = vec![
            scheduled("a", "quay.io/x/app:1"),
            scheduled("b", "down.example/x/app:1"),
        ];
        let mut live = plan::normalize(&desired);
        live.metadata.generation = Some(1);
        for t in &mut live.spec.tags {
            t.generation = Some(1);
        }
        let event = |tag: &str| NamedTagEventList {
            tag: tag.into(),
            items: vec![TagEvent {
                created: "t".into(),
                docker_image_reference: "quay.io/x/app@sha256:old".into(),
                image: "sha256:old".into(),
                generation: 1,
            }],
            conditions: vec![],
        };
        live.status = Some(ImageStreamStatus {
            docker_image_repository: String::new(),
            public_docker_image_repository: String::new(),
            tags: vec![event("a"), event("b")],
        });
        let commit = Commit {
            streams: [(live.key(), Some(live))].into(),
            images: vec![],
            meta: Some(Meta {
                lineage: "l".into(),
                serial: 1,
            }),
            ..Commit::default()
        };
        state.commit(&commit).unwrap();
        let options = Options::default();
        // At rest, offline: the file is left unparsed. A refresh asks about scheduled tags,
        // so it parses the stream whatever its memo says.
        let mut commit = Commit {
            meta: Some(Meta {
                lineage: "l".into(),
                serial: 2,
            }),
            ..Commit::default()
        };
        let snapshot = state.load().unwrap();
        commit.memos = memos_after(&snapshot, &BTreeMap::new());
        // Another stream, so that the commit writes something (and so the meta).
        commit.streams.insert(
            StreamKey::new("demo", "other"),
            Some(ImageStream::new("demo", "other")),
        );
        state.commit(&commit).unwrap();
        let offline = load_for_plan(&state, &[&desired], None, false, &BTreeSet::new()).unwrap();
        assert_eq!(offline.skipped.keys().collect::<Vec<_>>(), [&desired.key()]);
        let refreshing = load_for_plan(&state, &[&desired], None, true, &BTreeSet::new()).unwrap();
        assert!(refreshing.skipped.is_empty());
        assert_eq!(
            plan_snapshot(&[&desired], refreshing, &state, &options, Some(&Moved))
                .plan
                .changes
                .len(),
            1
        );
        // Offline, scheduled tags never make a plan non-empty.
        let offline = plan(&[&desired], &state, &options, None).unwrap();
        assert!(offline.plan.is_empty());
        let refreshed = plan(&[&desired], &state, &options, Some(&Moved)).unwrap();
        assert_eq!(refreshed.plan.changes.len(), 1);
        let c = &refreshed.plan.changes[0];
        assert_eq!(
            (c.action, c.tag.as_deref()),
            (plan::Action::Import, Some("a"))
        );
        assert_eq!(
            c.reason,
            "scheduled: tag a would move from sha256:old to sha256:new"
        );
        assert_eq!(refreshed.plan.unobserved.len(), 1);
        assert_eq!(refreshed.plan.unobserved[0].tag, "b");
    }
}

#[cfg(test)]
mod saved_plan_tests {
    use super::*;
    use crate::model::{ObjectReference, TagReference};

    fn saved(changes: Vec<Change>) -> SavedPlan {
        SavedPlan {
            format_version: plan::FORMAT_VERSION.to_owned(),
            kind: SAVED_PLAN_KIND.to_owned(),
            lineage: None,
            serial: 0,
            state_digest: String::new(),
            inputs_digest: String::new(),
            prune: false,
            rev: None,
            summary: Summary::default(),
            changes,
            errors: Vec::new(),
            rollouts: Default::default(),
        }
    }

    fn import(from: &str) -> Change {
        Change {
            action: plan::Action::Import,
            namespace: "web".into(),
            stream: "ruby".into(),
            tag: Some("3.3".into()),
            before: None,
            after: Some(serde_json::json!({
                "from": from, "importMode": "Legacy", "image": "sha256:new",
                "dockerImageReference": "x@sha256:new"
            })),
            reason: "scheduled: upstream moved".into(),
            introduced: None,
            image_before: None,
            image_after: None,
        }
    }

    #[test]
    fn only_a_refresh_may_add_imports_and_only_of_scheduled_tags_as_defined() {
        let mut stream = ImageStream::new("web", "ruby");
        let mut tag = TagReference {
            name: "3.3".into(),
            from: Some(ObjectReference {
                kind: "DockerImage".into(),
                name: "quay.io/ruby:3.3".into(),
                namespace: None,
            }),
            ..TagReference::default()
        };
        tag.import_policy.scheduled = true;
        stream.spec.tags.push(tag);
        let desired = [&stream];
        assert!(
            saved(vec![import("quay.io/ruby:3.3")])
                .check_changes(&[], &desired)
                .is_ok()
        );
        let forged = saved(vec![import("evil.example.com/ruby:3.3")]);
        assert!(matches!(
            forged.check_changes(&[], &desired),
            Err(Error::Forged(_))
        ));
        // Not scheduled: no refresh adds it.
        stream.spec.tags[0].import_policy.scheduled = false;
        let desired = [&stream];
        assert!(matches!(
            saved(vec![import("quay.io/ruby:3.3")]).check_changes(&[], &desired),
            Err(Error::Forged(_))
        ));
    }
}
