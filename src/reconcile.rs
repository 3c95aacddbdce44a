//! The pipeline: where definitions, policies, live state and registry observations meet.
//!
//! `definition`, `state` and `registry` never call each other; this module loads the live
//! state, asks the registry what `plan --refresh` needs, calls the pure `plan::compute`, hands
//! a plan to `apply` and commits the result through the [`LiveState`] trait. It also owns the
//! saved-plan format and its staleness check. It prints nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::apply::{self, Applied};
use crate::model::{ANNOTATION_PREFER_ARCH, ANNOTATION_PREFER_OS, ImageStream, StreamKey};
use crate::plan::{self, Change, Observation, Observations, Options, Plan, PlanError, Summary};
use crate::registry::{ImportRequest, Resolver};
use crate::state::{self, Commit, LiveState, Meta, Snapshot, Written};

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
}

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

/// [`plan`] against a snapshot already loaded (e.g. while the definitions were being read).
pub fn plan_snapshot(
    desired: &[&ImageStream],
    snapshot: Snapshot,
    state: &dyn LiveState,
    options: &Options,
    refresh: Option<&dyn Resolver>,
) -> Planned {
    let plan = plan_against(desired, &snapshot.streams, options, refresh, state);
    Planned { plan, snapshot }
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
                    .insert(key, format!("{}: {}", f.reason.as_str(), f.message));
            }
        }
    }
    obs
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Per-change results.
    pub applied: Applied,
    /// What was written.
    pub written: Written,
    /// The serial after the apply.
    pub serial: u64,
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
) -> Result<ApplyReport, Error> {
    let known = |d: &str| state.has_image(d);
    let env = apply::Env {
        resolver,
        image_known: &known,
        now: now.to_owned(),
    };
    let applied = apply::execute(&snapshot.streams, changes, &env);
    let meta = Meta {
        lineage: snapshot
            .lineage()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        serial: snapshot.serial() + 1,
    };
    let commit = Commit {
        streams: applied.streams.clone(),
        images: applied.images.clone(),
        meta: Some(meta),
    };
    let written = state.commit(&commit)?;
    let serial = if written.meta {
        snapshot.serial() + 1
    } else {
        snapshot.serial()
    };
    Ok(ApplyReport {
        applied,
        written,
        serial,
    })
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
    /// Counts.
    pub summary: Summary,
    /// The changes, applied exactly.
    pub changes: Vec<Change>,
    /// Problems that kept changes out.
    #[serde(default)]
    pub errors: Vec<PlanError>,
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
            summary: planned.plan.summary(),
            changes: planned.plan.changes.clone(),
            errors: planned.plan.errors.clone(),
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
            ..Plan::default()
        }
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

#[cfg(test)]
mod tests {
    use super::*;
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
            tags: vec![event("a"), event("b")],
        });
        let commit = Commit {
            streams: [(live.key(), Some(live))].into(),
            images: vec![],
            meta: Some(Meta {
                lineage: "l".into(),
                serial: 1,
            }),
        };
        state.commit(&commit).unwrap();
        let options = Options::default();
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
            "scheduled: upstream moved from sha256:old to sha256:new"
        );
        assert_eq!(refreshed.plan.unobserved.len(), 1);
        assert_eq!(refreshed.plan.unobserved[0].tag, "b");
    }
}
