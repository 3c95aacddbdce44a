//! The plan: what apply would change. [`compute`] is a pure function of the desired streams,
//! the live streams and what registries were observed to hold; it does no I/O and never asks a
//! registry itself. [`render`] turns a plan into text, Markdown or JSON. Executing a plan
//! belongs to `apply`; loading its inputs belongs to `reconcile`.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{
    ANNOTATION_REPOSITORY_CHECK, Annotations, ImageStream, KIND_IMAGE_STREAM_IMAGE,
    KIND_IMAGE_STREAM_TAG, LookupPolicy, StreamKey, TagEvent, TagReference,
};

/// The JSON format version of plans (additions bump the minor version).
pub const FORMAT_VERSION: &str = "1.2";

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A stream in the definitions but not in the live state.
    CreateStream,
    /// Stream annotations, labels, lookup policy or repository differ.
    UpdateStream,
    /// A stream in the live state but not in the definitions (only when pruning).
    DeleteStream,
    /// A new tag.
    AddTag,
    /// A tag whose source, annotations or policies differ.
    UpdateTag,
    /// A tag no longer defined: spec and history go (`oc tag -d`).
    RemoveTag,
    /// Resolve a DockerImage tag through its registry and record the event.
    Import,
}

impl Action {
    /// `create_stream`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateStream => "create_stream",
            Action::UpdateStream => "update_stream",
            Action::DeleteStream => "delete_stream",
            Action::AddTag => "add_tag",
            Action::UpdateTag => "update_tag",
            Action::RemoveTag => "remove_tag",
            Action::Import => "import",
        }
    }

    /// Which summary bucket it counts in.
    pub fn bucket(self) -> Bucket {
        match self {
            Action::CreateStream | Action::AddTag => Bucket::Add,
            Action::UpdateStream | Action::UpdateTag => Bucket::Change,
            Action::DeleteStream | Action::RemoveTag => Bucket::Remove,
            Action::Import => Bucket::Import,
        }
    }
}

/// Summary buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Created streams and added tags.
    Add,
    /// Updated streams and tags.
    Change,
    /// Deleted streams and removed tags.
    Remove,
    /// Imports.
    Import,
}

/// One change. `before` and `after` hold the stream fields ([`StreamFields`]), the tag
/// ([`TagReference`], normalised) or, for imports, the import source and current image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// Namespace of the stream.
    pub namespace: String,
    /// Stream name.
    pub stream: String,
    /// Tag name, for tag changes and imports.
    pub tag: Option<String>,
    /// The value now (null when it does not exist).
    pub before: Option<Value>,
    /// The value after apply (null when it goes away).
    pub after: Option<Value>,
    /// Why, in words.
    pub reason: String,
    /// With `plan --base`: whether the head introduces it (false: drift already pending on base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<bool>,
    /// The image (`sha256:…`) the tag holds now, when the change moves it (format 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_before: Option<String>,
    /// The image the tag holds after apply, when the plan knows it: the source tag's image
    /// in the live state, a pinned digest, or what a refresh observed (format 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_after: Option<String>,
}

impl Change {
    /// `namespace/stream`.
    pub fn key(&self) -> StreamKey {
        StreamKey::new(&self.namespace, &self.stream)
    }

    /// `namespace/stream` or `namespace/stream:tag`.
    pub fn target(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}/{}:{t}", self.namespace, self.stream),
            None => format!("{}/{}", self.namespace, self.stream),
        }
    }

    /// Identity used to match a change across two plans (`--base`).
    fn same_as(&self, other: &Change) -> bool {
        self.action == other.action
            && self.namespace == other.namespace
            && self.stream == other.stream
            && self.tag == other.tag
            && self.before == other.before
            && self.after == other.after
    }
}

/// A problem that keeps one change out of the plan (the rest is still planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError {
    /// Namespace.
    pub namespace: String,
    /// Stream.
    pub stream: String,
    /// Tag, if the problem is a tag's.
    pub tag: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A tag a registry could not be asked about (`plan --refresh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unobserved {
    /// Namespace.
    pub namespace: String,
    /// Stream.
    pub stream: String,
    /// Tag.
    pub tag: String,
    /// Why.
    pub message: String,
}

/// Counts per bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Streams created and tags added.
    pub add: usize,
    /// Streams and tags updated.
    pub change: usize,
    /// Streams deleted and tags removed.
    pub remove: usize,
    /// Tags imported.
    pub import: usize,
    /// Containers of the repository's manifests to roll (format 1.1).
    #[serde(default)]
    pub rollout: usize,
}

impl Summary {
    /// Count `changes`.
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut s = Summary::default();
        for c in changes {
            match c.action.bucket() {
                Bucket::Add => s.add += 1,
                Bucket::Change => s.change += 1,
                Bucket::Remove => s.remove += 1,
                Bucket::Import => s.import += 1,
            }
        }
        s
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.add + self.change + self.remove + self.import + self.rollout == 0
    }
}

/// The spec of one stream before and after, normalised, for the unified diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamDiff {
    /// Live (None: does not exist).
    pub before: Option<ImageStream>,
    /// Planned (None: deleted).
    pub after: Option<ImageStream>,
}

/// A computed plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The changes, sorted by stream, stream-level first, then tag.
    pub changes: Vec<Change>,
    /// Streams in the live state but not in the definitions, kept because pruning is off.
    pub unmanaged: Vec<StreamKey>,
    /// Problems that kept a change out.
    pub errors: Vec<PlanError>,
    /// Tags a registry could not be asked about.
    pub unobserved: Vec<Unobserved>,
    /// Before and after of every stream with changes.
    pub diffs: BTreeMap<StreamKey, StreamDiff>,
    /// Whether `--base` marking was done.
    pub has_base: bool,
    /// The roll-outs of the repository's manifests this plan causes (set by the caller:
    /// computing them needs the manifests, which [`compute`] does not read).
    pub rollouts: crate::rollout::RolloutPlan,
}

impl Plan {
    /// Counts.
    pub fn summary(&self) -> Summary {
        Summary {
            rollout: self.rollouts.rollouts.len(),
            ..Summary::of(&self.changes)
        }
    }

    /// Whether apply would change nothing: no change and no roll-out.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.rollouts.is_empty()
    }

    /// Mark each change as introduced by the head or already pending on `base`.
    pub fn mark_introduced(&mut self, base: &Plan) {
        for c in &mut self.changes {
            c.introduced = Some(!base.changes.iter().any(|b| b.same_as(c)));
        }
        self.has_base = true;
    }
}

/// Stream-level fields compared by `update_stream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamFields {
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Annotations,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Annotations,
    /// `spec.lookupPolicy`.
    #[serde(default)]
    pub lookup_policy: LookupPolicy,
    /// `spec.dockerImageRepository`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_repository: String,
}

impl StreamFields {
    /// The fields of a (normalised) stream.
    pub fn of(s: &ImageStream) -> Self {
        StreamFields {
            labels: s.metadata.labels.clone().unwrap_or_default(),
            annotations: s.metadata.annotations.clone().unwrap_or_default(),
            lookup_policy: s.spec.lookup_policy.clone().unwrap_or_default(),
            docker_image_repository: s.spec.docker_image_repository.clone().unwrap_or_default(),
        }
    }

    /// Write these fields into `s`.
    pub fn set_on(&self, s: &mut ImageStream) {
        s.metadata.labels = non_empty(self.labels.clone());
        s.metadata.annotations = non_empty(self.annotations.clone());
        s.spec.lookup_policy = Some(self.lookup_policy.clone());
        s.spec.docker_image_repository =
            Some(self.docker_image_repository.clone()).filter(|r| !r.is_empty());
    }
}

fn non_empty(map: Annotations) -> Option<Annotations> {
    Some(map).filter(|m| !m.is_empty())
}

/// The tag as OpenShift stores it: defaults applied (`referencePolicy: Source`, import mode
/// `Legacy`), empty annotations dropped, `from.namespace` equal to the stream's dropped,
/// generation removed.
pub fn normalize_tag(tag: &TagReference, namespace: &str) -> TagReference {
    let mut t = tag.clone();
    t.generation = None;
    t.annotations = non_empty(t.annotations.take().unwrap_or_default());
    if t.reference_policy.kind.is_empty() {
        t.reference_policy.kind = "Source".into();
    }
    if t.import_policy.import_mode.is_empty() {
        t.import_policy.import_mode = "Legacy".into();
    }
    if let Some(from) = &mut t.from
        && from
            .namespace
            .as_deref()
            .is_some_and(|n| n.is_empty() || n == namespace)
    {
        from.namespace = None;
    }
    t
}

/// The stream as compared and stored: spec normalised, tags sorted by name, no status,
/// no server-owned metadata.
pub fn normalize(stream: &ImageStream) -> ImageStream {
    let key = stream.key();
    let mut out = ImageStream::new(&key.namespace, &key.name);
    let mut fields = StreamFields::of(stream);
    fields.annotations.remove(ANNOTATION_REPOSITORY_CHECK);
    fields.set_on(&mut out);
    let mut tags: Vec<TagReference> = stream
        .spec
        .tags
        .iter()
        .map(|t| normalize_tag(t, &key.namespace))
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    out.spec.tags = tags;
    out
}

/// OpenShift's `tagRefChanged`: only a different source (`from` namespace and name),
/// `reference` or import mode makes a tag changed, and so re-imported.
pub fn tag_ref_changed(old: &TagReference, new: &TagReference, namespace: &str) -> bool {
    let from_ns = |t: &TagReference| {
        t.from
            .as_ref()
            .and_then(|f| f.namespace.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| namespace.to_owned())
    };
    let from_name = |t: &TagReference| t.from.as_ref().map(|f| f.name.clone());
    from_ns(old) != from_ns(new)
        || from_name(old) != from_name(new)
        || old.reference != new.reference
        || old.import_policy.effective_import_mode() != new.import_policy.effective_import_mode()
}

/// Whether a live importable tag still waits for an import (OpenShift §3.5: the spec generation
/// is above both the newest event's and the failure condition's).
pub fn import_pending(live: &ImageStream, tag: &TagReference) -> bool {
    let generation = tag.generation.unwrap_or(0);
    let observed = live.status_tag(&tag.name).map_or(0, |h| {
        let item = h.items.first().map_or(0, |i| i.generation);
        let cond = h.conditions.iter().map(|c| c.generation).max().unwrap_or(0);
        item.max(cond)
    });
    generation > observed
        || live
            .status_tag(&tag.name)
            .is_none_or(|h| h.items.is_empty() && h.conditions.is_empty())
}

/// For a tag that tracks another tag of its own stream: that tag's name when its current image
/// is not the follower's (e.g. state written before short `from.name` forms were followed),
/// so the plan repairs it instead of reporting no changes while the tag is empty.
pub fn tracking_behind(live: &ImageStream, tag: &TagReference) -> Option<String> {
    let src = tag.from.as_ref()?.tracks_in(&live.key())?;
    let head = |name: &str| {
        live.status_tag(name)
            .and_then(|h| h.items.first())
            .map(|e| (e.docker_image_reference.as_str(), e.image.as_str()))
    };
    let source = head(src)?;
    (head(&tag.name) != Some(source)).then(|| src.to_owned())
}

/// How the reason of an import that retries a failed one begins (`retry: Unreachable: …`).
pub const RETRY_PREFIX: &str = "retry: ";

/// The `ImportSuccess=False` condition of a tag whose last import failed: forwards to
/// [`ImageStream::last_import_failure`], where the fact lives (the roll-outs read it too).
pub fn last_import_failure<'a>(
    live: &'a ImageStream,
    tag: &str,
) -> Option<&'a crate::model::TagEventCondition> {
    live.last_import_failure(tag)
}

/// Resolve an ImageStreamImage id (`sha256:3a33…`, `3a335d7`) against every image in a
/// stream's history (§3.6): the event of the one distinct match, or an error naming the
/// candidates.
pub fn resolve_image_id(stream: &ImageStream, id: &str) -> Result<TagEvent, String> {
    let mut found: BTreeMap<&str, &TagEvent> = BTreeMap::new();
    if let Some(status) = &stream.status {
        for list in &status.tags {
            for item in &list.items {
                if item.image.is_empty() {
                    continue;
                }
                let hex = item
                    .image
                    .split_once(':')
                    .map_or(item.image.as_str(), |(_, h)| h);
                if !id.is_empty() && (hex.starts_with(id) || item.image.starts_with(id)) {
                    // The last event naming the image wins, as upstream's loop keeps
                    // overwriting its match: it decides the pull spec when one image was
                    // recorded under several.
                    found.insert(item.image.as_str(), item);
                }
            }
        }
    }
    match found.len() {
        0 => Err(format!(
            "no image in stream `{}` matches `{id}`",
            stream.key()
        )),
        1 => Ok(found.into_values().next().cloned().unwrap_or_default()),
        _ => Err(format!(
            "multiple images match the prefix `{id}`: {}",
            found.keys().copied().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A tag a registry was asked about with `plan --refresh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// What the tag resolves to now.
    pub digest: String,
    /// The pull spec by digest.
    pub docker_image_reference: String,
}

/// What registries said, per `(stream, tag)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// Answers.
    pub resolved: BTreeMap<(StreamKey, String), Observation>,
    /// Tags that could not be asked, with why.
    pub unreachable: BTreeMap<(StreamKey, String), String>,
}

/// Options of [`compute`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Delete streams that are not in the definitions.
    pub prune: bool,
}

/// `sha256:ab12cd34…`: enough of a digest for a reason line (details carry it whole).
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}…", &hex[..12]),
        _ => digest.to_owned(),
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // Serializing these plain data types to a JSON value cannot fail (no maps with
    // non-string keys, no custom serializers).
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The image a tag of `live` holds now (`items[0].image`), if any.
fn head_image(live: &ImageStream, tag: &str) -> Option<String> {
    live.status_tag(tag)?
        .items
        .first()
        .map(|i| i.image.clone())
        .filter(|i| !i.is_empty())
}

fn head_value(live: &ImageStream, tag: &str) -> Option<Value> {
    let item = live.status_tag(tag)?.items.first()?;
    Some(serde_json::json!({
        "dockerImageReference": item.docker_image_reference,
        "image": item.image,
    }))
}

fn import_after(tag: &TagReference, obs: Option<&Observation>) -> Value {
    let mut v = serde_json::json!({
        "from": tag.from.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
        "importMode": tag.import_policy.effective_import_mode(),
    });
    if let (Some(o), Value::Object(map)) = (obs, &mut v) {
        map.insert("image".into(), Value::String(o.digest.clone()));
        map.insert(
            "dockerImageReference".into(),
            Value::String(o.docker_image_reference.clone()),
        );
    }
    v
}

struct Ctx<'a> {
    desired: &'a BTreeMap<StreamKey, ImageStream>,
    live: &'a BTreeMap<StreamKey, ImageStream>,
    observations: &'a Observations,
    plan: Plan,
}

impl Ctx<'_> {
    fn change(
        &mut self,
        action: Action,
        key: &StreamKey,
        tag: Option<&str>,
        before: Option<Value>,
        after: Option<Value>,
        reason: impl Into<String>,
    ) {
        self.plan.changes.push(Change {
            action,
            namespace: key.namespace.clone(),
            stream: key.name.clone(),
            tag: tag.map(str::to_owned),
            before,
            after,
            reason: reason.into(),
            introduced: None,
            image_before: None,
            image_after: None,
        });
    }

    /// Set the image move of the change just added; nothing when neither end is known or
    /// the image stays.
    fn set_images(&mut self, before: Option<String>, after: Option<String>) {
        if before.is_some() && before == after {
            return;
        }
        if let Some(c) = self.plan.changes.last_mut() {
            c.image_before = before;
            c.image_after = after;
        }
    }

    /// The image `tag` would hold after apply, as far as the plan knows without a registry
    /// (or with what a refresh observed).
    fn image_of_source(&self, key: &StreamKey, tag: &TagReference) -> Option<String> {
        let from = tag.from.as_ref()?;
        match from.kind.as_str() {
            KIND_IMAGE_STREAM_TAG => {
                let (source, name) = from.source(key)?;
                head_image(self.live.get(&source)?, name)
            }
            KIND_IMAGE_STREAM_IMAGE => {
                let (source, id) = from.source(key)?;
                resolve_image_id(self.live.get(&source)?, id)
                    .ok()
                    .map(|e| e.image)
                    .filter(|i| !i.is_empty())
            }
            _ if tag.reference => None,
            _ => self
                .observations
                .resolved
                .get(&(key.clone(), tag.name.clone()))
                .map(|o| o.digest.clone())
                .or_else(|| {
                    from.name
                        .split_once('@')
                        .map(|(_, d)| d.to_owned())
                        .filter(|d| d.starts_with("sha256:"))
                }),
        }
    }

    fn error(&mut self, key: &StreamKey, tag: &str, message: String) {
        self.plan.errors.push(PlanError {
            namespace: key.namespace.clone(),
            stream: key.name.clone(),
            tag: Some(tag.to_owned()),
            message,
        });
    }

    /// Check what a new or re-pointed tag needs from other streams; `Err` keeps it out.
    fn check_source(&mut self, key: &StreamKey, tag: &TagReference) -> Result<Option<String>, ()> {
        let Some(from) = &tag.from else {
            return Ok(None);
        };
        let Some((source_key, rest)) = from.source(key) else {
            return Ok(None);
        };
        let source_live = self.live.get(&source_key);
        if source_live.is_none() && !self.desired.contains_key(&source_key) {
            self.error(
                key,
                &tag.name,
                format!(
                    "tag `{}`: source stream `{source_key}` does not exist",
                    tag.name
                ),
            );
            return Err(());
        }
        if from.kind == KIND_IMAGE_STREAM_IMAGE {
            let resolved = match source_live {
                Some(s) => resolve_image_id(s, rest),
                None => Err(format!(
                    "stream `{source_key}` has no images yet, so `{}` cannot be resolved",
                    from.name
                )),
            };
            return match resolved {
                Ok(event) => Ok(Some(format!("pins {}", event.image))),
                Err(message) => {
                    self.error(key, &tag.name, format!("tag `{}`: {message}", tag.name));
                    Err(())
                }
            };
        }
        Ok(None)
    }

    fn import(
        &mut self,
        key: &StreamKey,
        tag: &TagReference,
        live: Option<&ImageStream>,
        reason: &str,
    ) {
        let obs = self
            .observations
            .resolved
            .get(&(key.clone(), tag.name.clone()));
        let before = live.and_then(|l| head_value(l, &tag.name));
        let after = import_after(tag, obs);
        self.change(
            Action::Import,
            key,
            Some(&tag.name),
            before,
            Some(after),
            reason,
        );
        let image_before = live.and_then(|l| head_image(l, &tag.name));
        let image_after = self.image_of_source(key, tag);
        self.set_images(image_before, image_after);
    }

    fn stream(
        &mut self,
        key: &StreamKey,
        desired: Option<&ImageStream>,
        live: Option<&ImageStream>,
        prune: bool,
    ) {
        let start = self.plan.changes.len();
        let live_norm = live.map(normalize);
        match (desired, live) {
            (Some(d), None) => {
                self.change(
                    Action::CreateStream,
                    key,
                    None,
                    None,
                    Some(to_value(&StreamFields::of(d))),
                    "new stream in the definitions",
                );
                for tag in &d.spec.tags {
                    self.new_tag(key, tag, None);
                }
            }
            (None, Some(l)) => {
                if prune {
                    let norm = live_norm.as_ref().unwrap_or(l);
                    self.change(
                        Action::DeleteStream,
                        key,
                        None,
                        Some(to_value(&StreamFields::of(norm))),
                        None,
                        format!(
                            "not in the definitions; deleted with its {} {} and all history",
                            l.spec.tags.len(),
                            crate::diagnostic::plural(l.spec.tags.len(), "tag", "tags")
                        ),
                    );
                } else {
                    self.plan.unmanaged.push(key.clone());
                }
            }
            (Some(d), Some(l)) => {
                let Some(ln) = &live_norm else { return };
                let (df, lf) = (StreamFields::of(d), StreamFields::of(ln));
                if df != lf {
                    self.change(
                        Action::UpdateStream,
                        key,
                        None,
                        Some(to_value(&lf)),
                        Some(to_value(&df)),
                        "stream fields differ from the definition",
                    );
                }
                let live_tags: BTreeMap<&str, &TagReference> =
                    ln.spec.tags.iter().map(|t| (t.name.as_str(), t)).collect();
                let desired_names: BTreeSet<&str> =
                    d.spec.tags.iter().map(|t| t.name.as_str()).collect();
                // Tags in name order: desired and live merged.
                let mut names: BTreeSet<&str> = desired_names.clone();
                names.extend(live_tags.keys());
                for name in names {
                    let dt = d.spec.tags.iter().find(|t| t.name == name);
                    match (dt, live_tags.get(name)) {
                        (Some(dt), None) => self.new_tag(key, dt, Some(l)),
                        (None, Some(lt)) => self.change(
                            Action::RemoveTag,
                            key,
                            Some(name),
                            Some(to_value(*lt)),
                            None,
                            "not in the definition; its history goes too",
                        ),
                        (Some(dt), Some(lt)) => self.existing_tag(key, dt, lt, l),
                        (None, None) => {}
                    }
                }
            }
            (None, None) => {}
        }
        if self.plan.changes.len() > start {
            // Tags kept out by an error stay as they are live, so the diff shows only what
            // apply would do.
            let mut after = desired.cloned();
            if let Some(after) = &mut after {
                for e in self
                    .plan
                    .errors
                    .iter()
                    .filter(|e| e.namespace == key.namespace && e.stream == key.name)
                {
                    let Some(tag) = &e.tag else { continue };
                    let live_tag = live_norm.as_ref().and_then(|l| l.spec_tag(tag)).cloned();
                    after.spec.tags.retain(|t| t.name != *tag);
                    after.spec.tags.extend(live_tag);
                }
                after.spec.tags.sort_by(|a, b| a.name.cmp(&b.name));
            }
            self.plan.diffs.insert(
                key.clone(),
                StreamDiff {
                    before: live_norm,
                    after,
                },
            );
        }
    }

    fn new_tag(&mut self, key: &StreamKey, tag: &TagReference, live: Option<&ImageStream>) {
        let Ok(note) = self.check_source(key, tag) else {
            return;
        };
        let reason = match (&tag.from, note) {
            (_, Some(note)) => format!("new tag; {note}"),
            (Some(f), None) if tag.reference => {
                format!("new tag; records `{}` without importing", f.name)
            }
            (Some(f), None) if f.kind == KIND_IMAGE_STREAM_TAG => {
                let ns = f
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default();
                format!("new tag; follows `{ns}{}`", f.name)
            }
            _ => "new tag".to_owned(),
        };
        self.change(
            Action::AddTag,
            key,
            Some(&tag.name),
            None,
            Some(to_value(tag)),
            reason,
        );
        if !tag.is_importable() {
            let after = self.image_of_source(key, tag);
            self.set_images(None, after);
        }
        if tag.is_importable() {
            self.import(key, tag, live, "new tag");
        }
    }

    fn existing_tag(
        &mut self,
        key: &StreamKey,
        d: &TagReference,
        l: &TagReference,
        live: &ImageStream,
    ) {
        let changed_ref = tag_ref_changed(l, d, &key.namespace);
        let behind = if changed_ref {
            None
        } else {
            tracking_behind(live, d)
        };
        if *d != *l || behind.is_some() {
            if changed_ref && self.check_source(key, d).is_err() {
                return;
            }
            let reason = if changed_ref {
                "source changed".to_owned()
            } else if let Some(src) = &behind {
                format!("tracking tag does not hold the image of `{src}`; it takes it now")
            } else {
                "annotations or policies changed".to_owned()
            };
            self.change(
                Action::UpdateTag,
                key,
                Some(&d.name),
                Some(to_value(l)),
                Some(to_value(d)),
                reason,
            );
            // An import change carries the move of an importable tag.
            if (changed_ref || behind.is_some()) && !d.is_importable() {
                let before = head_image(live, &d.name);
                let after = self.image_of_source(key, d);
                self.set_images(before, after);
            }
        }
        if !d.is_importable() {
            return;
        }
        // The live spec tag carries the generation; `l` is normalised without it.
        let live_tag = live.spec_tag(&d.name);
        let pending = live_tag.is_some_and(|t| import_pending(live, t));
        let reason = if changed_ref {
            Some("source changed".to_owned())
        } else if pending {
            // A spec generation no import has observed: an interrupted apply, or a re-import
            // asked for (`tag` of a destination with its own source).
            Some(format!(
                "import requested: generation {} not imported yet",
                live_tag.and_then(|t| t.generation).unwrap_or(0)
            ))
        } else if let Some(failure) = last_import_failure(live, &d.name) {
            // Like a tainted resource: a failed import stays pending until one succeeds.
            Some(format!(
                "{RETRY_PREFIX}{}: {}",
                failure.reason, failure.message
            ))
        } else if d.import_policy.scheduled {
            let obs = self
                .observations
                .resolved
                .get(&(key.clone(), d.name.clone()));
            let head = live.status_tag(&d.name).and_then(|h| h.items.first());
            match (obs, head) {
                (Some(o), Some(h)) if o.digest != h.image => Some(format!(
                    "scheduled: tag {} would move from {} to {}",
                    d.name,
                    short_digest(&h.image),
                    short_digest(&o.digest)
                )),
                (Some(o), None) => Some(format!("scheduled: upstream holds {}", o.digest)),
                _ => None,
            }
        } else {
            None
        };
        if let Some(reason) = reason {
            self.import(key, d, Some(live), &reason);
        }
    }
}

/// Compare desired with live: the changes apply would make, in a stable order.
pub fn compute<'a>(
    desired: impl IntoIterator<Item = &'a ImageStream>,
    live: &BTreeMap<StreamKey, ImageStream>,
    observations: &Observations,
    options: &Options,
) -> Plan {
    let desired: BTreeMap<StreamKey, ImageStream> = desired
        .into_iter()
        .map(|s| (s.key(), normalize(s)))
        .collect();
    let mut keys: BTreeSet<&StreamKey> = desired.keys().collect();
    keys.extend(live.keys());
    let mut ctx = Ctx {
        desired: &desired,
        live,
        observations,
        plan: Plan::default(),
    };
    for key in keys {
        ctx.stream(key, desired.get(key), live.get(key), options.prune);
    }
    for ((key, tag), message) in &observations.unreachable {
        ctx.plan.unobserved.push(Unobserved {
            namespace: key.namespace.clone(),
            stream: key.name.clone(),
            tag: tag.clone(),
            message: message.clone(),
        });
    }
    ctx.plan
}

/// `sha256:…` of the normalised desired streams and options: what a saved plan was made from.
pub fn inputs_digest<'a>(
    desired: impl IntoIterator<Item = &'a ImageStream>,
    options: &Options,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(if options.prune {
        b"prune\n" as &[u8]
    } else {
        b"keep\n"
    });
    for s in desired {
        hasher.update(serde_json::to_vec(&normalize(s)).unwrap_or_default());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Tags that `plan --refresh` asks the registries about: every importable tag that is
/// scheduled or about to be imported.
pub fn refresh_targets<'a>(
    desired: impl IntoIterator<Item = &'a ImageStream>,
    plan: &Plan,
) -> BTreeSet<(StreamKey, String)> {
    let mut out: BTreeSet<(StreamKey, String)> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Import)
        .filter_map(|c| Some((c.key(), c.tag.clone()?)))
        .collect();
    for s in desired {
        for t in &s.spec.tags {
            if t.is_importable() && t.import_policy.scheduled {
                out.insert((s.key(), t.name.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
