//! Roll-outs: what OpenShift's image-change triggers would do to the repository's workload
//! manifests when an ImageStreamTag moves, done to the files in Git instead of the cluster.
//!
//! [`scan`] finds the triggers (the `image.openshift.io/triggers` annotation on CronJobs,
//! Deployments, StatefulSets, DaemonSets, Jobs, ReplicaSets, ReplicationControllers and Pods;
//! DeploymentConfig `ImageChange` triggers) and the tags BuildConfigs produce; [`validate`]
//! judges them against the definitions and [`mark_managed`] records which streams the
//! repository manages (a trigger on any other is external); [`deciding`] picks, as OpenShift
//! does, the trigger that decides a container several select; [`plan`] is a pure function
//! from triggers, live state and cluster settings to the roll-outs due; [`apply_to_text`]
//! and [`write`] make them through the byte-preserving editor (the image, and a
//! DeploymentConfig trigger's `lastTriggeredImage` where it has one), and [`branch`] commits
//! [`rolled_texts`] to the roll-out branch of pull-request mode instead. This module never talks to registries or
//! the terminal and never writes the live state.

pub mod branch;
pub mod render;
pub mod scan;
pub mod trigger;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::definition::DefinitionSet;
use crate::diagnostic::Diagnostic;
use crate::edit::{self, EditError, Format};
use crate::model::{Cluster, ImageStream, StreamKey};

pub use scan::{
    BuildOutput, FindError, Manifest, RevError, Scan, Source, TagName, Trigger, find_manifests,
    is_manifest_path, manifests_at_rev, scan, walker,
};

impl TagName {
    /// The stream this names, the namespace defaulting to `default_namespace`.
    pub fn key(&self, default_namespace: &str) -> StreamKey {
        StreamKey::new(
            self.namespace.as_deref().unwrap_or(default_namespace),
            &self.stream,
        )
    }

    /// `namespace/stream:tag`.
    pub fn display(&self, default_namespace: &str) -> String {
        format!("{}:{}", self.key(default_namespace), self.tag)
    }
}

/// One container to roll: its `image` goes from `before` to `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// The manifest, relative to the repository root.
    pub file: String,
    /// Line of the container's `image` value (of the container when it has none).
    pub line: u32,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace (the configured default when it names none).
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The container.
    pub container: String,
    /// The trigger's `fieldPath` (for a DeploymentConfig, OpenShift's form for the container).
    pub field_path: String,
    /// The image now; `null` when the container has no `image` key.
    pub before: Option<String>,
    /// The tag's resolved pull spec.
    pub after: String,
    /// The tag followed, `namespace/stream:tag`.
    pub from: String,
    /// With `plan --base`: whether the pull request introduces this roll-out (`false`: it
    /// was already due on the base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<bool>,
    /// Where in the file the container is, for the editor.
    #[serde(skip)]
    pub doc: usize,
    /// Path from the document root to the container.
    #[serde(skip)]
    pub container_path: Vec<edit::Step>,
    /// Path to the DeploymentConfig trigger's `imageChangeParams` when it has a
    /// `lastTriggeredImage`, which the roll writes too.
    #[serde(skip)]
    pub last_triggered: Option<Vec<edit::Step>>,
}

/// Why a trigger rolls nothing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipReason {
    /// `paused: true`, or a DeploymentConfig trigger without `automatic: true`.
    Paused,
    /// The tag has no image to roll to yet: a build output not built, an import not done,
    /// or a last import that failed (nothing is rolled from a failed import).
    Waiting,
    /// The tag's stream is not one the definitions name (the cluster provides it, like
    /// `openshift/httpd`): this repository does not know its images.
    External,
}

impl SkipReason {
    /// `paused` / `waiting`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Paused => "paused",
            SkipReason::Waiting => "waiting",
            SkipReason::External => "external",
        }
    }
}

/// A trigger that rolls nothing now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The manifest.
    pub file: String,
    /// Line of the container's `image` value (of the container when it has none).
    pub line: u32,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The container.
    pub container: String,
    /// The trigger's `fieldPath`.
    pub field_path: String,
    /// The tag followed, `namespace/stream:tag`.
    pub from: String,
    /// Paused, waiting or external.
    pub reason: SkipReason,
    /// What the tag waits for, when more is known than "no image yet" (a failed import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The roll-outs due, and the triggers skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutPlan {
    /// Containers whose image changes, by file then line.
    pub rollouts: Vec<Rollout>,
    /// Paused, waiting and external triggers.
    pub skipped: Vec<Skipped>,
    /// The manifests' problems (trigger errors and warnings, unreadable files), which a
    /// plan's Markdown shows; they stop nothing.
    #[serde(skip)]
    pub problems: Vec<Diagnostic>,
}

impl RolloutPlan {
    /// Whether nothing is to be rolled.
    pub fn is_empty(&self) -> bool {
        self.rollouts.is_empty()
    }

    /// Mark each roll-out as introduced, or as already due on `base` (drift): the same
    /// container of the same object in the same file, rolled to the same image.
    pub fn mark_introduced(&mut self, base: &RolloutPlan) {
        let key = |r: &Rollout| {
            (
                r.file.clone(),
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.container.clone(),
                r.after.clone(),
            )
        };
        let due: BTreeSet<_> = base.rollouts.iter().map(key).collect();
        for r in &mut self.rollouts {
            r.introduced = Some(!due.contains(&key(r)));
        }
    }

    /// The files the roll-outs change, sorted.
    pub fn files(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self.rollouts.iter().map(|r| r.file.as_str()).collect();
        set.into_iter().collect()
    }
}

/// The streams this repository manages: those `definitions` name and those its BuildConfigs
/// build. Recorded in `scan`, so [`plan`] skips a trigger on any other stream as external.
pub fn mark_managed(scan: &mut Scan, definitions: &DefinitionSet, default_namespace: &str) {
    let mut managed: BTreeSet<StreamKey> = definitions.streams.keys().cloned().collect();
    managed.extend(scan.outputs.iter().map(|o| o.tag.key(default_namespace)));
    scan.managed = Some(managed);
}

/// The triggers that decide each container's image, as indices into `scan.triggers` in file
/// order. When several triggers select one container, OpenShift applies them in order and
/// the last one that is not paused wins (a paused one changes nothing); on a
/// DeploymentConfig its own `ImageChange` triggers win over the annotation, which
/// OpenShift's controller does not read there. A container all of whose triggers are paused
/// keeps its last one, reported as paused.
pub fn deciding(scan: &Scan) -> Vec<usize> {
    let mut winner: BTreeMap<(&str, usize, &[edit::Step]), usize> = BTreeMap::new();
    let rank = |t: &Trigger| (t.source == scan::Source::DeploymentConfig, !t.paused);
    for (i, t) in scan.triggers.iter().enumerate() {
        let key = (t.file.as_str(), t.doc, t.container_path.as_slice());
        match winner.get(&key) {
            Some(&w) if rank(&scan.triggers[w]) > rank(t) => {}
            _ => {
                winner.insert(key, i);
            }
        }
    }
    let mut out: Vec<usize> = winner.into_values().collect();
    out.sort_unstable();
    out
}

/// Check the scanned triggers against the definitions: a trigger on a stream the definitions
/// have must name one of its tags (or one a BuildConfig of the repository produces, or any
/// tag when the stream imports a whole repository through `spec.dockerImageRepository`); a
/// trigger on a stream they do not name is external, not a problem. Warns where two
/// triggers select one container. Returns the scan's own diagnostics with these added,
/// sorted.
pub fn validate(
    scan: &Scan,
    definitions: &DefinitionSet,
    default_namespace: &str,
) -> Vec<Diagnostic> {
    let mut diags = scan.diagnostics.clone();
    let built: BTreeSet<(StreamKey, &str)> = scan
        .outputs
        .iter()
        .map(|o| (o.tag.key(default_namespace), o.tag.tag.as_str()))
        .collect();
    let mut reported = BTreeSet::new();
    for t in &scan.triggers {
        let key = t.from.key(default_namespace);
        if built.contains(&(key.clone(), t.from.tag.as_str())) {
            continue;
        }
        // A stream no definition names is the cluster's (external): skipped, not judged.
        let Some(definition) = definitions.streams.get(&key) else {
            continue;
        };
        let stream = &definition.stream;
        // Its tags appear only once imported: the trigger waits for them.
        if stream.spec_tag(&t.from.tag).is_some() || stream.repository().is_some() {
            continue;
        }
        // One error per trigger, not per container a DeploymentConfig trigger lists.
        if !reported.insert((t.file.clone(), t.pos, t.from.clone())) {
            continue;
        }
        let what = t.from.display(default_namespace);
        let tags: Vec<&str> = stream.spec.tags.iter().map(|t| t.name.as_str()).collect();
        let hint = match crate::diagnostic::did_you_mean(&t.from.tag, tags.iter().copied()) {
            Some(near) => format!(
                "did you mean `{}:{near}`? Or add tag `{}` to stream `{key}` in definitions/",
                t.from.stream, t.from.tag
            ),
            None if tags.is_empty() => format!(
                "add tag `{}` to stream `{key}` in definitions/ (it has no tags)",
                t.from.tag
            ),
            None => {
                let shown: Vec<String> = tags.iter().take(10).map(|t| format!("`{t}`")).collect();
                let more = if tags.len() > shown.len() {
                    format!(" and {} more", tags.len() - shown.len())
                } else {
                    String::new()
                };
                format!(
                    "name one of its tags ({}{more}), or add tag `{}` to stream `{key}` in definitions/",
                    shown.join(", "),
                    t.from.tag
                )
            }
        };
        diags.push(
            Diagnostic::error(
                &t.file,
                t.pos.line,
                t.pos.column,
                "trigger-unknown-tag",
                format!(
                    "{} `{}` follows `{what}`, but stream `{key}` has no tag `{}`",
                    t.kind, t.name, t.from.tag
                ),
            )
            .with_hint(hint),
        );
    }
    diags.extend(overlaps(scan, default_namespace));
    crate::diagnostic::bound(&mut diags);
    diags
}

/// A warning for each trigger that selects a container another trigger decides (see
/// [`deciding`]).
fn overlaps(scan: &Scan, default_namespace: &str) -> Vec<Diagnostic> {
    let deciding = deciding(scan);
    let by_container: BTreeMap<(&str, usize, &[edit::Step]), &Trigger> = deciding
        .iter()
        .map(|&i| {
            let t = &scan.triggers[i];
            ((t.file.as_str(), t.doc, t.container_path.as_slice()), t)
        })
        .collect();
    let mut out = Vec::new();
    for (i, t) in scan.triggers.iter().enumerate() {
        if deciding.binary_search(&i).is_ok() {
            continue;
        }
        let Some(w) = by_container.get(&(t.file.as_str(), t.doc, t.container_path.as_slice()))
        else {
            continue;
        };
        let container = if t.container.is_empty() {
            format!("`{}`", t.field_path)
        } else {
            format!("`{}`", t.container)
        };
        let why = if w.source != t.source {
            "the DeploymentConfig's own `ImageChange` trigger decides, as OpenShift's controller does not read the annotation on a DeploymentConfig"
        } else if w.paused == t.paused {
            "OpenShift applies the triggers in order, so the last one wins"
        } else {
            "OpenShift applies the triggers in order and a paused one changes nothing, so the last one not paused wins"
        };
        out.push(
            Diagnostic::warning(
                &t.file,
                t.pos.line,
                t.pos.column,
                "trigger-overridden",
                format!(
                    "{} `{}`: the trigger on `{}` (`{}`) selects container {container}, which the trigger on `{}` (line {}) also selects; {why}",
                    t.kind,
                    t.name,
                    t.from.display(default_namespace),
                    t.field_path,
                    w.from.display(default_namespace),
                    w.pos.line
                ),
            )
            .with_hint("keep one trigger per container"),
        );
    }
    out
}

/// The roll-outs the triggers call for, given the live state's streams: pure, no I/O.
/// Each trigger's tag resolves through [`Cluster::resolve_tag`] (its `referencePolicy`
/// decides between the source pull spec and the integrated registry); a container that
/// already holds that value is left alone.
pub fn plan(
    scan: &Scan,
    live: &BTreeMap<StreamKey, ImageStream>,
    cluster: &Cluster,
    default_namespace: &str,
) -> RolloutPlan {
    plan_pending(scan, live, cluster, default_namespace, &BTreeSet::new())
}

/// [`plan`], for a live state in which the tags of `pending` (stream, tag) still wait for an
/// import whose image is not known yet (a plan made without asking the registries): their
/// triggers wait too, whatever image the tag holds now, since the import will move it.
pub fn plan_pending(
    scan: &Scan,
    live: &BTreeMap<StreamKey, ImageStream>,
    cluster: &Cluster,
    default_namespace: &str,
    pending: &BTreeSet<(StreamKey, String)>,
) -> RolloutPlan {
    let mut out = RolloutPlan::default();
    for t in deciding(scan).into_iter().map(|i| &scan.triggers[i]) {
        let key = t.from.key(default_namespace);
        let namespace = t
            .namespace
            .as_deref()
            .unwrap_or(default_namespace)
            .to_owned();
        let from = t.from.display(default_namespace);
        let skip = |reason, detail| Skipped {
            file: t.file.clone(),
            line: t.image_pos.line,
            kind: t.kind.clone(),
            namespace: namespace.clone(),
            name: t.name.clone(),
            container: t.container.clone(),
            field_path: t.field_path.clone(),
            from: from.clone(),
            reason,
            detail,
        };
        if t.paused {
            out.skipped.push(skip(SkipReason::Paused, None));
            continue;
        }
        if scan.managed.as_ref().is_some_and(|m| !m.contains(&key)) {
            out.skipped.push(skip(SkipReason::External, None));
            continue;
        }
        if pending.contains(&(key.clone(), t.from.tag.clone())) {
            let detail =
                "an import is due first (`plan --refresh` asks the registry what it brings)";
            out.skipped
                .push(skip(SkipReason::Waiting, Some(detail.to_owned())));
            continue;
        }
        let stream = live.get(&key);
        // The image a tag keeps after a failed import is not the one its spec asks for (a
        // changed source) or not known to be current: roll nothing from it until an import
        // succeeds, which clears the condition.
        if let Some(failure) = stream.and_then(|s| s.last_import_failure(&t.from.tag)) {
            let detail = format!(
                "its last import failed: {}: {}",
                failure.reason, failure.message
            );
            out.skipped.push(skip(SkipReason::Waiting, Some(detail)));
            continue;
        }
        let Some(after) = stream
            .and_then(|s| cluster.resolve_tag(s, &t.from.tag))
            .filter(|a| !a.is_empty())
        else {
            out.skipped.push(skip(SkipReason::Waiting, None));
            continue;
        };
        if t.image.as_deref() == Some(after.as_str()) {
            continue;
        }
        out.rollouts.push(Rollout {
            file: t.file.clone(),
            line: t.image_pos.line,
            kind: t.kind.clone(),
            namespace,
            name: t.name.clone(),
            container: t.container.clone(),
            field_path: t.field_path.clone(),
            before: t.image.clone(),
            after,
            from,
            introduced: None,
            doc: t.doc,
            container_path: t.container_path.clone(),
            last_triggered: t.last_triggered.clone(),
        });
    }
    let order = |file: &str, line: u32, field: &str| (file.to_owned(), line, field.to_owned());
    out.rollouts
        .sort_by_key(|r| order(&r.file, r.line, &r.field_path));
    out.skipped
        .sort_by_key(|s| order(&s.file, s.line, &s.field_path));
    out
}

/// Why roll-outs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The editor refused an edit.
    #[error("cannot roll `{file}`")]
    Edit {
        /// The manifest.
        file: String,
        /// Why.
        #[source]
        source: EditError,
    },
    /// The edited text does not read back as the roll-outs say.
    #[error("rolling `{file}` would not leave it as planned: {message}")]
    Check {
        /// The manifest.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The file could not be read or written.
    #[error("cannot write `{file}`")]
    Io {
        /// The manifest.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The text of manifest `file` after its roll-outs (those of `rollouts` naming it), re-read
/// afterwards to prove every container now holds its new image and nothing else moved.
pub fn apply_to_text(file: &str, text: &str, rollouts: &[Rollout]) -> Result<String, WriteError> {
    let check = |message: String| WriteError::Check {
        file: file.to_owned(),
        message,
    };
    let scan_text = |text: &str| {
        let mut s = Scan::default();
        scan::scan_one(
            &Manifest {
                path: file.to_owned(),
                text: text.to_owned(),
                unreadable: None,
            },
            &mut s,
        );
        s
    };
    let before = scan_text(text);
    let mine: Vec<&Rollout> = rollouts.iter().filter(|r| r.file == file).collect();
    // The plan was made from an earlier read: refuse when the container moved or changed.
    let current: std::collections::HashMap<(usize, &[edit::Step], &str), &Trigger> = before
        .triggers
        .iter()
        .map(|t| {
            (
                (t.doc, t.container_path.as_slice(), t.field_path.as_str()),
                t,
            )
        })
        .collect();
    for r in &mine {
        let now = current.get(&(r.doc, r.container_path.as_slice(), r.field_path.as_str()));
        if now.is_none_or(|t| t.image != r.before) {
            return Err(check(format!(
                "container `{}` of {} `{}` changed since the roll-out was planned; plan again",
                r.container, r.kind, r.name
            )));
        }
    }
    let format = Format::of_path(file);
    // Every edit of the file in one pass over it; as OpenShift's controller does, a
    // trigger with `lastTriggeredImage` records the image it rolled to.
    let mut edits: Vec<edit::DocumentEdit> = Vec::with_capacity(mine.len());
    for r in &mine {
        edits.push(edit::DocumentEdit {
            doc: r.doc,
            path: r.container_path.clone(),
            key: "image".to_owned(),
            value: r.after.clone(),
        });
        if let Some(params) = &r.last_triggered {
            edits.push(edit::DocumentEdit {
                doc: r.doc,
                path: params.clone(),
                key: "lastTriggeredImage".to_owned(),
                value: r.after.clone(),
            });
        }
    }
    let out =
        edit::set_many_in_documents(text, format, &edits).map_err(|source| WriteError::Edit {
            file: file.to_owned(),
            source,
        })?;
    let after = scan_text(&out);
    // Problems the file already had (another object's broken trigger) stay as they were;
    // the edit must add none.
    let known: BTreeSet<(&str, &str)> = before
        .diagnostics
        .iter()
        .map(|d| (d.code, d.message.as_str()))
        .collect();
    if let Some(d) = after
        .diagnostics
        .iter()
        .find(|d| d.is_error() && !known.contains(&(d.code, d.message.as_str())))
    {
        return Err(check(format!("line {}: {}", d.line, d.message)));
    }
    if before.triggers.len() != after.triggers.len() {
        return Err(check("the edit changed the file's triggers".into()));
    }
    // The image each rolled container holds now (a later roll-out of one container wins).
    let rolled_to: std::collections::HashMap<(usize, &[edit::Step]), &str> = mine
        .iter()
        .map(|r| ((r.doc, r.container_path.as_slice()), r.after.as_str()))
        .collect();
    for (b, a) in before.triggers.iter().zip(&after.triggers) {
        let expected = rolled_to
            .get(&(b.doc, b.container_path.as_slice()))
            .map_or(b.image.clone(), |after| Some((*after).to_owned()));
        if a.image != expected || a.container_path != b.container_path {
            return Err(check(format!(
                "container `{}` of {} `{}` reads {:?} after the edit",
                a.container, a.kind, a.name, a.image
            )));
        }
    }
    let mut rolled: Vec<_> = mine
        .iter()
        .map(|r| {
            (
                r.doc,
                r.container_path.as_slice(),
                "image",
                r.after.as_str(),
            )
        })
        .collect();
    rolled.extend(mine.iter().filter_map(|r| {
        let params = r.last_triggered.as_deref()?;
        Some((r.doc, params, "lastTriggeredImage", r.after.as_str()))
    }));
    scan::same_but_values(text, &out, &rolled).map_err(|message| {
        // Say what in the file likely caused it (an alias shared with a rolled container).
        match before.diagnostics.iter().find(|d| d.is_error()) {
            Some(d) => check(format!("{message} (line {}: {})", d.line, d.message)),
            None => check(message),
        }
    })?;
    Ok(out)
}

/// The new text of every file under `root` the roll-outs change, as (file relative to
/// `root`, text), by file; nothing is written. Every file is edited and checked, so an
/// error leaves no partial result. A file whose bytes would not change is left out.
pub fn rolled_texts(
    root: &Path,
    rollouts: &[Rollout],
) -> Result<Vec<(String, String)>, WriteError> {
    let mut by_file: BTreeMap<&str, Vec<Rollout>> = BTreeMap::new();
    for r in rollouts {
        by_file.entry(r.file.as_str()).or_default().push(r.clone());
    }
    let mut new = Vec::new();
    for (file, rollouts) in by_file {
        let text = std::fs::read_to_string(root.join(file)).map_err(|source| WriteError::Io {
            file: file.to_owned(),
            source,
        })?;
        let out = apply_to_text(file, &text, &rollouts)?;
        if out != text {
            new.push((file.to_owned(), out));
        }
    }
    Ok(new)
}

/// Make the roll-outs in the files under `root`, each file written atomically (temporary
/// file, then rename) and only when its bytes change. Every file is edited and checked
/// before any is written. Returns the files written.
pub fn write(root: &Path, rollouts: &[Rollout]) -> Result<Vec<String>, WriteError> {
    let mut written = Vec::new();
    for (file, out) in rolled_texts(root, rollouts)? {
        edit::write_atomic(&root.join(&file), out.as_bytes()).map_err(|source| WriteError::Io {
            file: file.clone(),
            source,
        })?;
        written.push(file);
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
