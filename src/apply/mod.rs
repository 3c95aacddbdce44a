//! Executes a plan against live streams held in memory: spec changes, generations, the status
//! events OpenShift records without a registry (reference tags, ImageStreamTag copies,
//! ImageStreamImage pins, tracking tags) and imports through a [`Resolver`]. Produces the new
//! content of every stream it touched and one result per change; it never writes files (the
//! caller commits through `state`) and never decides what to change (that is `plan`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{
    ANNOTATION_PREFER_ARCH, ANNOTATION_PREFER_OS, ANNOTATION_REPOSITORY_CHECK, Image, ImageStream,
    ImageStreamStatus, KIND_IMAGE_STREAM_IMAGE, KIND_IMAGE_STREAM_TAG, NamedTagEventList,
    StreamKey, TagEvent, TagEventCondition, TagReference,
};
use crate::plan::{self, Action, Change, StreamFields};
use crate::registry::{ImportRequest, Resolver};

/// How one change went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Done,
    /// Failed; `unreachable` when only a registry could not be asked.
    Failed {
        /// What went wrong.
        message: String,
        /// A registry could not be asked (exit 3 rather than 1).
        unreachable: bool,
    },
}

/// The result of one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeResult {
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What was recorded (the image, for imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What executing a plan produced.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// New content of every stream that changed (`None`: deleted).
    pub streams: BTreeMap<StreamKey, Option<ImageStream>>,
    /// Images recorded for the first time.
    pub images: Vec<Image>,
    /// One result per change, in plan order.
    pub results: Vec<ChangeResult>,
}

impl Applied {
    /// Whether any change failed for a reason other than an unreachable registry.
    pub fn has_errors(&self) -> bool {
        self.results.iter().any(|r| {
            matches!(
                r.outcome,
                Outcome::Failed {
                    unreachable: false,
                    ..
                }
            )
        })
    }

    /// Whether a registry could not be asked.
    pub fn is_incomplete(&self) -> bool {
        self.results.iter().any(|r| {
            matches!(
                r.outcome,
                Outcome::Failed {
                    unreachable: true,
                    ..
                }
            )
        })
    }
}

/// Apply OpenShift's history rule (`AddTagEventToImageStream`, semantics §1.5) comparing
/// `next` with `items[0]`; clears the tag's conditions. Returns whether anything changed.
pub fn add_tag_event(status: &mut ImageStreamStatus, tag: &str, next: TagEvent) -> bool {
    let idx = match status.tags.iter().position(|t| t.tag == tag) {
        Some(i) => i,
        None => {
            status.tags.push(NamedTagEventList {
                tag: tag.to_owned(),
                items: Vec::new(),
                conditions: Vec::new(),
            });
            status.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
            status.tags.iter().position(|t| t.tag == tag).unwrap_or(0)
        }
    };
    let list = &mut status.tags[idx];
    let had_conditions = !list.conditions.is_empty();
    list.conditions.clear();
    let Some(prev) = list.items.first_mut() else {
        list.items.push(next);
        return true;
    };
    let same_ref = prev.docker_image_reference == next.docker_image_reference;
    let same_image = prev.image == next.image;
    let same_gen = prev.generation == next.generation;
    match (same_ref, same_image) {
        (true, true) if same_gen => return had_conditions,
        (true, true) => {}
        (true, false) => prev.image = next.image,
        (false, true) => prev.docker_image_reference = next.docker_image_reference,
        (false, false) => {
            list.items.insert(0, next);
            return true;
        }
    }
    prev.generation = next.generation;
    true
}

/// Record a failed import: an `ImportSuccess=False` condition; the history stays.
fn set_failure(status: &mut ImageStreamStatus, tag: &str, cond: TagEventCondition) {
    let list = match status.tags.iter_mut().position(|t| t.tag == tag) {
        Some(i) => &mut status.tags[i],
        None => {
            status.tags.push(NamedTagEventList {
                tag: tag.to_owned(),
                items: Vec::new(),
                conditions: Vec::new(),
            });
            status.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
            let i = status.tags.iter().position(|t| t.tag == tag).unwrap_or(0);
            &mut status.tags[i]
        }
    };
    let keep_time = list
        .conditions
        .iter()
        .find(|c| c.kind == cond.kind && c.status == cond.status && c.reason == cond.reason)
        .map(|c| c.last_transition_time.clone());
    list.conditions.retain(|c| c.kind != cond.kind);
    let mut cond = cond;
    if let Some(t) = keep_time {
        cond.last_transition_time = t;
    }
    list.conditions.push(cond);
}

fn head(stream: &ImageStream, tag: &str) -> Option<TagEvent> {
    stream.status_tag(tag)?.items.first().cloned()
}

fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        unreachable: false,
    }
}

/// Everything [`execute`] needs besides the plan.
pub struct Env<'a> {
    /// Asks registries (or [`crate::registry::Offline`]).
    pub resolver: &'a dyn Resolver,
    /// Whether an Image is already recorded for a digest.
    pub image_known: &'a dyn Fn(&str) -> bool,
    /// RFC 3339 "now" for events and conditions.
    pub now: String,
    /// The integrated registry, for `status.dockerImageRepository`.
    pub cluster: crate::model::Cluster,
    /// Told about each new Image as soon as an import fetched it (the store writes its file
    /// ahead of the commit), when given.
    pub on_image: Option<&'a dyn Fn(&Image)>,
}

struct Work<'a> {
    live: &'a BTreeMap<StreamKey, ImageStream>,
    streams: BTreeMap<StreamKey, Option<ImageStream>>,
    /// Tags that are new or whose source changed: they get an event now.
    changed: BTreeMap<StreamKey, BTreeSet<String>>,
    /// Tracking tags whose spec source did not change but that take their source's image again
    /// (a plan repairing a tag that fell behind).
    retrack: BTreeSet<(StreamKey, String)>,
    created: BTreeSet<StreamKey>,
}

impl Work<'_> {
    fn get(&self, key: &StreamKey) -> Option<&ImageStream> {
        match self.streams.get(key) {
            Some(s) => s.as_ref(),
            None => self.live.get(key),
        }
    }

    fn get_mut(&mut self, key: &StreamKey) -> Option<&mut ImageStream> {
        if !self.streams.contains_key(key) {
            let live = self.live.get(key)?.clone();
            self.streams.insert(key.clone(), Some(live));
        }
        self.streams.get_mut(key)?.as_mut()
    }

    fn spec_change(&mut self, c: &Change) -> Result<(), String> {
        let key = c.key();
        let tag_name = c.tag.clone().unwrap_or_default();
        let after_tag = || -> Result<TagReference, String> {
            let v = c.after.clone().ok_or("the change has no `after` value")?;
            let t: TagReference =
                serde_json::from_value(v).map_err(|e| format!("bad tag in plan: {e}"))?;
            if t.name != tag_name {
                return Err(format!("tag `{}` in the plan is not `{tag_name}`", t.name));
            }
            Ok(plan::normalize_tag(&t, &key.namespace))
        };
        let fields = || -> Result<StreamFields, String> {
            let v = c.after.clone().ok_or("the change has no `after` value")?;
            serde_json::from_value(v).map_err(|e| format!("bad stream fields in plan: {e}"))
        };
        match c.action {
            Action::CreateStream => {
                if self.get(&key).is_some() {
                    return Err(format!("stream `{key}` already exists"));
                }
                let mut s = ImageStream::new(&key.namespace, &key.name);
                fields()?.set_on(&mut s);
                self.streams.insert(key.clone(), Some(s));
                self.created.insert(key);
            }
            Action::UpdateStream => {
                let f = fields()?;
                let s = self
                    .get_mut(&key)
                    .ok_or(format!("stream `{key}` does not exist"))?;
                // The server's record of the last repository import is not the user's to drop.
                let check = s.annotation(ANNOTATION_REPOSITORY_CHECK).map(str::to_owned);
                f.set_on(s);
                if let Some(check) = check {
                    s.metadata
                        .annotations
                        .get_or_insert_with(Default::default)
                        .insert(ANNOTATION_REPOSITORY_CHECK.to_owned(), check);
                }
            }
            Action::DeleteStream => {
                if self.get(&key).is_none() {
                    return Err(format!("stream `{key}` does not exist"));
                }
                self.streams.insert(key, None);
            }
            Action::AddTag => {
                let t = after_tag()?;
                let s = self
                    .get_mut(&key)
                    .ok_or(format!("stream `{key}` does not exist"))?;
                if s.spec_tag(&t.name).is_some() {
                    return Err(format!("tag `{}` already exists", t.name));
                }
                s.spec.tags.push(t);
                self.changed.entry(key).or_default().insert(tag_name);
            }
            Action::UpdateTag => {
                let t = after_tag()?;
                let s = self
                    .get_mut(&key)
                    .ok_or(format!("stream `{key}` does not exist"))?;
                let slot = s
                    .spec
                    .tags
                    .iter_mut()
                    .find(|x| x.name == t.name)
                    .ok_or(format!("tag `{}` does not exist", t.name))?;
                let changed = plan::tag_ref_changed(slot, &t, &key.namespace);
                let generation = slot.generation;
                *slot = t;
                slot.generation = if changed { None } else { generation };
                if changed {
                    self.changed.entry(key).or_default().insert(tag_name);
                } else if slot.from.as_ref().and_then(|f| f.tracks_in(&key)).is_some() {
                    self.retrack.insert((key, tag_name));
                }
            }
            Action::RemoveTag => {
                let s = self
                    .get_mut(&key)
                    .ok_or(format!("stream `{key}` does not exist"))?;
                let before = s.spec.tags.len();
                s.spec.tags.retain(|t| t.name != tag_name);
                let had_status = s.status_tag(&tag_name).is_some();
                if let Some(st) = &mut s.status {
                    st.tags.retain(|t| t.tag != tag_name);
                }
                if before == s.spec.tags.len() && !had_status {
                    return Err(format!("tag `{tag_name}` does not exist"));
                }
            }
            Action::Import => {}
        }
        Ok(())
    }

    /// Generations as the server sets them (§1.5): the stream's goes up when its spec changed;
    /// new and changed tags, and tags without one, take it.
    fn settle_generations(&mut self, cluster: &crate::model::Cluster) {
        let keys: Vec<StreamKey> = self.streams.keys().cloned().collect();
        for key in keys {
            let live_spec = self.live.get(&key).map(plan::normalize);
            let created = self.created.contains(&key);
            let changed = self.changed.get(&key).cloned().unwrap_or_default();
            let Some(Some(s)) = self.streams.get_mut(&key) else {
                continue;
            };
            s.spec.tags.sort_by(|a, b| a.name.cmp(&b.name));
            let spec_differs = live_spec.as_ref().is_none_or(|l| *l != plan::normalize(s));
            if created {
                s.metadata.generation = Some(1);
            } else if spec_differs {
                s.metadata.generation = Some(s.metadata.generation.unwrap_or(0) + 1);
            }
            let generation = s.metadata.generation.unwrap_or(1);
            for t in &mut s.spec.tags {
                if created || changed.contains(&t.name) || t.generation.unwrap_or(0) == 0 {
                    t.generation = Some(generation);
                }
            }
            let repo = cluster.docker_image_repository(s);
            let public = cluster.public_docker_image_repository(s);
            let status = s.status.get_or_insert_with(ImageStreamStatus::default);
            status.docker_image_repository = repo;
            status.public_docker_image_repository = public;
        }
    }

    /// The offline event of a tag whose source changed, if it can be made now.
    fn offline_event(
        &self,
        key: &StreamKey,
        tag: &TagReference,
        now: &str,
    ) -> Result<Option<TagEvent>, String> {
        let Some(from) = &tag.from else {
            return Ok(None);
        };
        let generation = tag.generation.unwrap_or(0);
        let source = from.source(key);
        let source_stream = |skey: &StreamKey| {
            self.get(skey)
                .ok_or(format!("source stream `{skey}` does not exist"))
        };
        match from.kind.as_str() {
            crate::model::KIND_DOCKER_IMAGE if tag.reference => Ok(Some(TagEvent {
                created: now.to_owned(),
                docker_image_reference: from.name.clone(),
                image: String::new(),
                generation,
            })),
            KIND_IMAGE_STREAM_TAG => {
                let Some((skey, stag)) = source else {
                    return Ok(None);
                };
                // A source tag without an image yet is allowed: nothing is recorded.
                Ok(head(source_stream(&skey)?, stag).map(|e| TagEvent {
                    created: now.to_owned(),
                    generation,
                    ..e
                }))
            }
            KIND_IMAGE_STREAM_IMAGE => {
                let Some((skey, id)) = source else {
                    return Ok(None);
                };
                let e = plan::resolve_image_id(source_stream(&skey)?, id)?;
                Ok(Some(TagEvent {
                    created: now.to_owned(),
                    generation,
                    ..e
                }))
            }
            _ => Ok(None),
        }
    }

    fn record(&mut self, key: &StreamKey, tag: &str, event: TagEvent) {
        if let Some(s) = self.get_mut(key) {
            let status = s.status.get_or_insert_with(ImageStreamStatus::default);
            add_tag_event(status, tag, event);
        }
    }

    /// `UpdateTrackingTags`: tags of the same stream that follow a tag whose head moved take
    /// the new head, transitively.
    fn follow_tracking(&mut self, key: &StreamKey, moved: &str, now: &str) {
        let mut queue = vec![moved.to_owned()];
        let mut seen = BTreeSet::new();
        while let Some(src) = queue.pop() {
            if !seen.insert(src.clone()) {
                continue;
            }
            let Some(s) = self.get(key) else { return };
            let Some(ev) = head(s, &src) else { continue };
            let followers: Vec<(String, i64)> = s
                .spec
                .tags
                .iter()
                .filter(|t| {
                    t.from
                        .as_ref()
                        .is_some_and(|f| f.tracks_in(key) == Some(src.as_str()))
                })
                .map(|t| (t.name.clone(), t.generation.unwrap_or(0)))
                .collect();
            for (follower, generation) in followers {
                let before = self.get(key).and_then(|s| head(s, &follower));
                let event = TagEvent {
                    created: now.to_owned(),
                    generation,
                    ..ev.clone()
                };
                let same = before.as_ref().is_some_and(|b| {
                    b.docker_image_reference == event.docker_image_reference
                        && b.image == event.image
                });
                if !same {
                    self.record(key, &follower, event);
                    queue.push(follower);
                }
            }
        }
    }
}

fn import_request(stream: &ImageStream, tag: &TagReference) -> ImportRequest {
    ImportRequest {
        pullspec: tag
            .from
            .as_ref()
            .map(|f| f.name.clone())
            .unwrap_or_default(),
        insecure: stream.insecure_repository() || tag.import_policy.insecure,
        import_mode: tag.import_policy.effective_import_mode().to_owned(),
        prefer_arch: tag.annotation(ANNOTATION_PREFER_ARCH).map(str::to_owned),
        prefer_os: tag.annotation(ANNOTATION_PREFER_OS).map(str::to_owned),
        resolve_only: false,
    }
}

/// The import of a repository tag (a tag of `spec.dockerImageRepository` that is not a spec
/// tag, §3.2 bulk import): its pull spec is the change's `after.from`, which must lie in the
/// stream's repository; the event takes the stream's generation.
fn repository_request(stream: &ImageStream, c: &Change) -> Option<(ImportRequest, i64)> {
    let repo = stream.repository()?;
    let from = c.after.as_ref()?.get("from")?.as_str()?;
    let tag = from.strip_prefix(repo)?.strip_prefix(':')?;
    if tag.is_empty() || tag.contains(['/', ':', '@']) {
        return None;
    }
    let request = ImportRequest {
        pullspec: from.to_owned(),
        insecure: stream.insecure_repository(),
        import_mode: "Legacy".to_owned(),
        prefer_arch: None,
        prefer_os: None,
        resolve_only: false,
    };
    Some((request, stream.metadata.generation.unwrap_or(0)))
}

/// Execute `changes` against `live`. Continues past failing changes; each gets its result.
///
/// Six phases, one function each: spec changes, offline events, imports, ImageStreamTag
/// copies, tracking tags, then the streams that changed.
pub fn execute(
    live: &BTreeMap<StreamKey, ImageStream>,
    changes: &[Change],
    env: &Env<'_>,
) -> Applied {
    let mut work = Work {
        live,
        streams: BTreeMap::new(),
        changed: BTreeMap::new(),
        retrack: BTreeSet::new(),
        created: BTreeSet::new(),
    };
    let mut details: Vec<Option<String>> = vec![None; changes.len()];
    // 1. Spec changes, in plan order (stream-level before tags).
    let mut outcomes = spec_changes(&mut work, changes);
    work.settle_generations(&env.cluster);
    let now = env.now.clone();
    let heads_before = heads(&work);
    // 2. Offline events for reference and ImageStreamImage tags (no dependency on other tags).
    let copies = offline_events(&mut work, changes, &mut outcomes, &now);
    // 3. Imports through the resolver.
    let images = imports(&mut work, changes, env, &mut outcomes, &mut details);
    // 4. ImageStreamTag copies, sources first.
    copy_tags(&mut work, copies, changes, &mut outcomes, &now);
    // 5. Tracking tags follow every head that moved.
    follow_moved_heads(&mut work, &heads_before, &now);
    // 6. Empty status tags go (collapseEmptyStatusTags); unchanged streams are not written.
    let streams = written_streams(work.streams, live, &now);
    let results = changes
        .iter()
        .zip(outcomes)
        .zip(details)
        .map(|((c, outcome), detail)| ChangeResult {
            change: c.clone(),
            outcome,
            detail,
        })
        .collect();
    Applied {
        streams,
        images: images.into_values().collect(),
        results,
    }
}

/// The spec tag `name` of a stream as the work now has it.
fn tag_of(work: &Work<'_>, key: &StreamKey, name: &str) -> Option<TagReference> {
    work.get(key).and_then(|s| s.spec_tag(name).cloned())
}

/// The index of the change that added or updated tag `tag` of `key`.
fn change_index(changes: &[Change], key: &StreamKey, tag: &str) -> Option<usize> {
    changes.iter().position(|c| {
        matches!(c.action, Action::AddTag | Action::UpdateTag)
            && c.key() == *key
            && c.tag.as_deref() == Some(tag)
    })
}

/// Phase 1: the spec changes, in plan order. A change of a stream whose creation failed is
/// skipped.
fn spec_changes(work: &mut Work<'_>, changes: &[Change]) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(changes.len());
    let mut failed_streams: BTreeSet<StreamKey> = BTreeSet::new();
    for c in changes {
        let key = c.key();
        if failed_streams.contains(&key) && c.action != Action::CreateStream {
            outcomes.push(failed(format!(
                "skipped: an earlier change of `{key}` failed"
            )));
            continue;
        }
        match work.spec_change(c) {
            Ok(()) => outcomes.push(Outcome::Done),
            Err(message) => {
                if matches!(c.action, Action::CreateStream) {
                    failed_streams.insert(key);
                }
                outcomes.push(failed(message));
            }
        }
    }
    outcomes
}

/// The head event of every spec tag of every stream the work holds, before any event.
fn heads(work: &Work<'_>) -> BTreeMap<(StreamKey, String), Option<TagEvent>> {
    let mut heads = BTreeMap::new();
    for (key, s) in &work.streams {
        if let Some(s) = s {
            for t in &s.spec.tags {
                heads.insert((key.clone(), t.name.clone()), head(s, &t.name));
            }
        }
    }
    heads
}

/// Phase 2: the events of changed reference and ImageStreamImage tags. Returns the
/// ImageStreamTag copies (and re-tracked tags) for phase 4.
fn offline_events(
    work: &mut Work<'_>,
    changes: &[Change],
    outcomes: &mut [Outcome],
    now: &str,
) -> Vec<(StreamKey, String)> {
    let changed: Vec<(StreamKey, String)> = work
        .changed
        .iter()
        .flat_map(|(k, tags)| tags.iter().map(move |t| (k.clone(), t.clone())))
        .collect();
    let mut copies: Vec<(StreamKey, String)> = work.retrack.iter().cloned().collect();
    for (key, name) in &changed {
        let Some(tag) = tag_of(work, key, name) else {
            continue;
        };
        if tag
            .from
            .as_ref()
            .is_some_and(|f| f.kind == KIND_IMAGE_STREAM_TAG)
        {
            copies.push((key.clone(), name.clone()));
            continue;
        }
        record_offline(work, changes, outcomes, key, &tag, name, now);
    }
    copies
}

/// Record the offline event of one tag; a failure fails the change that touched it.
fn record_offline(
    work: &mut Work<'_>,
    changes: &[Change],
    outcomes: &mut [Outcome],
    key: &StreamKey,
    tag: &TagReference,
    name: &str,
    now: &str,
) {
    match work.offline_event(key, tag, now) {
        Ok(Some(ev)) => work.record(key, name, ev),
        Ok(None) => {}
        Err(message) => {
            if let Some(i) = change_index(changes, key, name) {
                outcomes[i] = failed(message);
            }
        }
    }
}

/// One import to make: the change's index, the stream, the tag, the event's generation.
type ImportTarget = (usize, StreamKey, String, i64);

/// Phase 3: the imports, through the resolver in one batch. Returns the new Images.
fn imports(
    work: &mut Work<'_>,
    changes: &[Change],
    env: &Env<'_>,
    outcomes: &mut [Outcome],
    details: &mut [Option<String>],
) -> BTreeMap<String, Image> {
    let mut images: BTreeMap<String, Image> = BTreeMap::new();
    let mut requests = Vec::new();
    let mut targets: Vec<ImportTarget> = Vec::new();
    let mut repository_targets: BTreeSet<usize> = BTreeSet::new();
    for (i, c) in changes.iter().enumerate() {
        if c.action != Action::Import || outcomes[i] != Outcome::Done {
            continue;
        }
        let key = c.key();
        let name = c.tag.clone().unwrap_or_default();
        match work
            .get(&key)
            .and_then(|s| s.spec_tag(&name).map(|t| (s, t)))
        {
            Some((s, t)) if t.is_importable() => {
                requests.push(import_request(s, t));
                targets.push((i, key, name, t.generation.unwrap_or(0)));
            }
            Some(_) => {
                outcomes[i] = failed(format!("tag `{name}` is not imported from a registry"))
            }
            None => match work.get(&key).and_then(|s| repository_request(s, c)) {
                Some((request, generation)) => {
                    repository_targets.insert(i);
                    requests.push(request);
                    targets.push((i, key, name, generation));
                }
                None => outcomes[i] = failed(format!("tag `{name}` does not exist")),
            },
        }
    }
    if requests.is_empty() {
        return images;
    }
    let results = match env.on_image {
        Some(on_image) => {
            // A resolver fetches only Images it does not know already.
            let each = |r: &Result<crate::registry::Resolved, crate::registry::ImportFailure>| {
                if let Ok(r) = r {
                    r.image.iter().chain(&r.platform_images).for_each(on_image);
                }
            };
            env.resolver.resolve_each(&requests, env.image_known, &each)
        }
        None => env.resolver.resolve_all(&requests, env.image_known),
    };
    for (target, result) in targets.into_iter().zip(results) {
        let i = target.0;
        match result {
            Ok(r) => {
                let repository = repository_targets.contains(&i);
                details[i] = Some(r.digest.clone());
                imported(work, env, &mut images, target, r, repository);
            }
            Err(f) => outcomes[i] = import_failed(work, &env.now, target, &f),
        }
    }
    images
}

/// Record a successful import: the tag's event and the Images not yet known.
fn imported(
    work: &mut Work<'_>,
    env: &Env<'_>,
    images: &mut BTreeMap<String, Image>,
    (_, key, name, generation): ImportTarget,
    r: crate::registry::Resolved,
    repository: bool,
) {
    let now = &env.now;
    if repository && let Some(s) = work.get_mut(&key) {
        // As the server records a repository import (`dockerRepositoryCheck`),
        // so a later pass knows the repository was imported.
        s.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ANNOTATION_REPOSITORY_CHECK.to_owned(), now.clone());
    }
    for img in r.image.into_iter().chain(r.platform_images) {
        if !(env.image_known)(&img.metadata.name) {
            images.entry(img.metadata.name.clone()).or_insert(img);
        }
    }
    work.record(
        &key,
        &name,
        TagEvent {
            created: now.clone(),
            docker_image_reference: r.docker_image_reference,
            image: r.digest,
            generation,
        },
    );
}

/// Record a failed import as the tag's `ImportSuccess` condition; returns the change's
/// outcome.
fn import_failed(
    work: &mut Work<'_>,
    now: &str,
    (_, key, name, generation): ImportTarget,
    f: &crate::registry::ImportFailure,
) -> Outcome {
    if let Some(s) = work.get_mut(&key) {
        let status = s.status.get_or_insert_with(ImageStreamStatus::default);
        set_failure(
            status,
            &name,
            TagEventCondition {
                kind: "ImportSuccess".into(),
                status: "False".into(),
                last_transition_time: now.to_owned(),
                reason: f.reason.as_str().into(),
                message: f.text(),
                generation,
            },
        );
    }
    Outcome::Failed {
        message: format!("{}: {}", f.reason.as_str(), f.text()),
        unreachable: f.is_unreachable(),
    }
}

/// Phase 4: ImageStreamTag copies, sources first: a copy waits while its source is itself
/// waiting to be copied (bounded by the number of copies, so cycles end).
fn copy_tags(
    work: &mut Work<'_>,
    copies: Vec<(StreamKey, String)>,
    changes: &[Change],
    outcomes: &mut [Outcome],
    now: &str,
) {
    let mut pending = copies;
    for _ in 0..=pending.len() {
        if pending.is_empty() {
            break;
        }
        let waiting: BTreeSet<(StreamKey, String)> = pending.iter().cloned().collect();
        let mut next = Vec::new();
        for (key, name) in pending {
            let Some(tag) = tag_of(work, &key, &name) else {
                continue;
            };
            let source = tag
                .from
                .as_ref()
                .and_then(|f| f.source(&key))
                .map(|(s, t)| (s, t.to_owned()));
            if source
                .as_ref()
                .is_some_and(|s| waiting.contains(s) && *s != (key.clone(), name.clone()))
            {
                next.push((key, name));
                continue;
            }
            record_offline(work, changes, outcomes, &key, &tag, &name, now);
        }
        if next.len() == waiting.len() {
            break;
        }
        pending = next;
    }
}

/// Phase 5: tracking tags follow every head that moved since `heads_before`.
fn follow_moved_heads(
    work: &mut Work<'_>,
    heads_before: &BTreeMap<(StreamKey, String), Option<TagEvent>>,
    now: &str,
) {
    let moved: Vec<(StreamKey, String)> = work
        .streams
        .iter()
        .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
        .flat_map(|(k, s)| {
            s.spec
                .tags
                .iter()
                .filter(|t| {
                    heads_before
                        .get(&(k.clone(), t.name.clone()))
                        .cloned()
                        .flatten()
                        != head(s, &t.name)
                })
                .map(|t| (k.clone(), t.name.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    for (key, tag) in moved {
        work.follow_tracking(&key, &tag, now);
    }
}

/// Phase 6: the streams to write. Empty status tags go (collapseEmptyStatusTags), a new
/// stream gets its creation time, and a stream equal to its live self is left out.
fn written_streams(
    streams: BTreeMap<StreamKey, Option<ImageStream>>,
    live: &BTreeMap<StreamKey, ImageStream>,
    now: &str,
) -> BTreeMap<StreamKey, Option<ImageStream>> {
    let mut out = BTreeMap::new();
    for (key, s) in streams {
        match s {
            Some(mut s) => {
                if let Some(st) = &mut s.status {
                    st.tags
                        .retain(|t| !t.items.is_empty() || !t.conditions.is_empty());
                }
                if s.metadata.creation_timestamp.is_none() {
                    s.metadata.creation_timestamp = Some(now.to_owned());
                }
                if live.get(&key) != Some(&s) {
                    out.insert(key, Some(s));
                }
            }
            None => {
                if live.contains_key(&key) {
                    out.insert(key, None);
                }
            }
        }
    }
    out
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Per-change results.
    pub applied: Applied,
    /// What was written.
    pub written: crate::state::Written,
    /// The serial after the apply.
    pub serial: u64,
}

pub mod render;

#[cfg(test)]
mod tests;
