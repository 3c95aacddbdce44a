//! The developer-catalog preview: what OpenShift's developer catalog would show for these
//! streams, built from the definitions, the live state and the prune recommendations, and
//! written as one self-contained HTML page ([`html`]).
//!
//! [`build`] is a pure function of values: it reads no file and asks no registry (the caller
//! hands it the live streams and a way to look Images up). It follows the console's own rules
//! (openshift/console `image-stream.tsx` and `useBuilderImages.tsx`): a builder tag has `builder`
//! and not `hidden` in its `tags` annotation (split on `/\s*,\s*/`, no other trimming) and a
//! status tag; tags are ordered by `semver.coerce` of their names, highest first, names that do
//! not coerce last in `localeCompare` order ([`order`]); the first is the default tag. A stream
//! with a tag marked `builder` (and not `hidden`) is a card; the console lists it only when the
//! stream is in the `openshift` namespace and one of those tags has a status tag, and the card
//! says why otherwise ([`Reason`]). A tag marked `hidden` is left out of everything. It prints
//! nothing; rendering belongs to [`html`] (the page) and [`json`] (`--format json`).

pub mod html;
pub use crate::model::icons;
pub mod image;
pub mod json;
pub mod order;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::definition::DefinitionSet;
use crate::model::{
    ANNOTATION_DISPLAY_NAME, Image, ImageStream, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_IMAGE,
    KIND_IMAGE_STREAM_TAG, StreamKey, TagReference,
};
use crate::policy::prune::CompiledPrune;
use crate::prune;

/// `openshift.io/provider-display-name`.
const ANNOTATION_PROVIDER: &str = "openshift.io/provider-display-name";

/// Everything a catalog depends on.
pub struct Inputs<'a> {
    /// The definitions.
    pub definitions: &'a DefinitionSet,
    /// The live streams with their history and import conditions.
    pub live: &'a BTreeMap<StreamKey, ImageStream>,
    /// The recorded Image of a digest, if any (called from several threads).
    pub image: &'a (dyn Fn(&str) -> Option<Image> + Sync),
    /// The prune recommendations for the same definitions and state.
    pub prune: &'a prune::Report,
    /// The prune policy (for the age limit that makes a kept dated tag stale).
    pub policy: &'a CompiledPrune,
    /// Where the definitions were read from (`working tree`, `revision main`), for the header.
    pub source: String,
    /// The time the page describes.
    pub now: DateTime<Utc>,
}

/// The page's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// One card per stream with a tag marked `builder` and not `hidden`, by namespace then
    /// name.
    pub cards: Vec<Card>,
    /// Streams that have no tag marked `builder` (and not `hidden`): no card at all.
    pub omitted: Vec<Omitted>,
    /// Every category of every card, sorted.
    pub categories: Vec<String>,
    /// Whether the live state holds any stream (anything was ever applied).
    pub applied: bool,
    /// Where the definitions were read from.
    pub source: String,
    /// The time the page describes.
    pub now: DateTime<Utc>,
}

/// A stream the catalog leaves out, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Omitted {
    /// The stream.
    pub key: StreamKey,
    /// Why it has no card.
    pub reason: String,
    /// How many of its tags `streamsync prune` recommends removing.
    pub prune_candidates: usize,
}

/// Why the console's developer catalog does not list a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The console lists builder image streams of the `openshift` namespace only.
    Namespace,
    /// None of the stream's builder tags has a status tag (nothing imported or tried yet).
    NoBuilderStatusTag,
}

impl Reason {
    /// The JSON value.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Namespace => "namespace",
            Reason::NoBuilderStatusTag => "no-builder-status-tag",
        }
    }

    /// The sentence on the page.
    pub fn sentence(self) -> &'static str {
        match self {
            Reason::Namespace => "Namespace: the console lists the openshift namespace only",
            Reason::NoBuilderStatusTag => {
                "Not imported: the console lists a builder tag once it has a status tag"
            }
        }
    }
}

/// One catalog card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The stream.
    pub key: StreamKey,
    /// The stream's `openshift.io/display-name` (as written, even empty), else its name.
    pub display_name: String,
    /// The stream's `openshift.io/provider-display-name`, as written.
    pub provider: Option<String>,
    /// The default tag's `iconClass`, as written.
    pub icon_class: Option<String>,
    /// Whether the console has a logo for [`Card::icon_class`].
    pub console_logo: bool,
    /// The default tag's `description`, as written.
    pub description: Option<String>,
    /// `sampleRepo` of the stream's first spec tag by name (whatever tag that is), as written.
    pub sample_repo: Option<String>,
    /// Why the console does not list the card; `None` when it does.
    pub reason: Option<Reason>,
    /// Languages of the default tag (`supports` without the `:version`), in order.
    pub languages: Vec<String>,
    /// Categories of the default tag (`tags` other than `builder`/`hidden`), sorted.
    pub categories: Vec<String>,
    /// The builder tags in the console's order, the default tag first; never empty. When no
    /// builder tag has a status tag, every tag marked `builder` (the order they will have).
    pub versions: Vec<Version>,
    /// Tags marked `builder` left out because they have no status tag yet, by name.
    pub unimported: Vec<String>,
    /// Tags of the stream not shown (no `builder` tag), counted for the card's footnote.
    pub other_tags: usize,
}

impl Card {
    /// Whether the console's developer catalog lists the card.
    pub fn in_console(&self) -> bool {
        self.reason.is_none()
    }

    /// The default tag: the first in the console's order.
    pub fn default_tag(&self) -> &Version {
        &self.versions[0]
    }
}

/// One entry of a card's version drop-down: a builder tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Tag name.
    pub tag: String,
    /// `openshift.io/display-name` of the tag, else `stream:tag`.
    pub display_name: String,
    /// `version`.
    pub version: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `iconClass`.
    pub icon_class: Option<String>,
    /// `supports`, split on `,`.
    pub supports: Vec<String>,
    /// Categories (`tags` other than `builder`/`hidden`).
    pub categories: Vec<String>,
    /// Where the tag comes from, in words.
    pub source: String,
    /// What the live state knows of it.
    pub live: Live,
    /// Prune and staleness flags.
    pub flags: Vec<Flag>,
}

/// What the live state knows about a tag.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Live {
    /// The current image, if one was ever recorded.
    pub current: Option<Current>,
    /// The latest import failure, if the last import failed.
    pub failure: Option<Failure>,
    /// The tag is not in the live state at all (not applied yet).
    pub pending: bool,
    /// For a tag that tracks another: the tag whose image is shown.
    pub via: Option<String>,
}

/// The current image of a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// `sha256:…`, empty for a reference tag.
    pub digest: String,
    /// The pull spec recorded.
    pub reference: String,
    /// `os/arch`, from the recorded Image.
    pub platform: Option<String>,
    /// Bytes, from the recorded Image.
    pub size: Option<u64>,
    /// When the image was built.
    pub built: Option<String>,
    /// When it was imported (the history event's time).
    pub imported: String,
}

/// A failed import.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// NotFound, Unauthorized, ...
    pub reason: String,
    /// What went wrong.
    pub message: String,
    /// When.
    pub time: String,
}

/// A flag on a version.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// What kind.
    pub kind: FlagKind,
    /// The sentence (the prune reason).
    pub text: String,
}

/// Kinds of flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `streamsync prune` recommends removing the tag.
    PruneCandidate,
    /// A dated tag past the age limit that prune keeps for a reason.
    Stale,
    /// History items of the tag that prune recommends removing.
    History,
}

impl FlagKind {
    /// The short label.
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::PruneCandidate => "prune candidate",
            FlagKind::Stale => "stale dated tag",
            FlagKind::History => "old revisions to prune",
        }
    }

    /// A CSS-friendly name.
    pub fn class(self) -> &'static str {
        match self {
            FlagKind::PruneCandidate => "prune",
            FlagKind::Stale => "stale",
            FlagKind::History => "history",
        }
    }
}

/// Split a comma-separated annotation value into its trimmed, non-empty parts.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `tags` annotation of a tag split as the console splits it (`getAnnotationTags`: on
/// `/\s*,\s*/`, nothing else trimmed; no annotation is one empty word).
pub fn annotation_tags(tag: &TagReference) -> Vec<&str> {
    split_console(tag.annotation("tags").unwrap_or_default())
}

/// `value.split(/\s*,\s*/)`: commas with the whitespace around them separate; whitespace at
/// the ends stays (`" builder"` is not `builder`). Whitespace is JavaScript's `\s`.
pub fn split_console(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in value.match_indices(',') {
        out.push(value[start..i].trim_end_matches(js_space));
        let rest = &value[i + 1..];
        start = i + 1 + (rest.len() - rest.trim_start_matches(js_space).len());
    }
    out.push(&value[start..]);
    out
}

/// JavaScript's `\s`: Unicode white space without U+0085, and U+FEFF.
fn js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// Categories of a tag for the page: its `tags` words other than `builder`/`hidden`, trimmed,
/// without empty ones.
fn tag_categories(tag: &TagReference) -> Vec<String> {
    tag.annotation("tags").map(split_list).unwrap_or_default()
}

/// Whether the console's split of the tag's `tags` annotation holds `word`.
fn has_tag(tag: &TagReference, word: &str) -> bool {
    annotation_tags(tag).contains(&word)
}

/// The namespace whose builder image streams the console's developer catalog lists.
pub const CONSOLE_NAMESPACE: &str = "openshift";

/// Build the catalog.
pub fn build(inputs: &Inputs<'_>) -> Catalog {
    use rayon::prelude::*;
    let flags = Flags::collect(inputs);
    // Streams are independent, and each reads its images from the state: in parallel, in
    // the set's order.
    let streams: Vec<(&StreamKey, &ImageStream)> = inputs
        .definitions
        .streams
        .iter()
        .map(|(k, d)| (k, &d.stream))
        .collect();
    let built: Vec<Result<Card, Omitted>> = streams
        .par_iter()
        .map(|(key, stream)| stream_card(inputs, &flags, key, stream))
        .collect();
    let mut cards = Vec::new();
    let mut omitted = Vec::new();
    for b in built {
        match b {
            Ok(c) => cards.push(c),
            Err(o) => omitted.push(o),
        }
    }
    cards.sort_by(|a, b| a.key.cmp(&b.key));
    let categories: BTreeSet<String> = cards
        .iter()
        .flat_map(|c| c.categories.iter().cloned())
        .collect();
    Catalog {
        cards,
        omitted,
        categories: categories.into_iter().collect(),
        applied: !inputs.live.is_empty(),
        source: inputs.source.clone(),
        now: inputs.now,
    }
}

/// The card of one stream, or why it has none.
fn stream_card(
    inputs: &Inputs<'_>,
    flags: &Flags,
    key: &StreamKey,
    stream: &ImageStream,
) -> Result<Card, Omitted> {
    // The spec tags as OpenShift stores them: sorted by name.
    let mut spec: Vec<&TagReference> = stream.spec.tags.iter().collect();
    spec.sort_by(|a, b| a.name.cmp(&b.name));
    let visible = spec.iter().filter(|t| !has_tag(t, "hidden")).count();
    let marked: Vec<&TagReference> = spec
        .iter()
        .copied()
        .filter(|t| has_tag(t, "builder") && !has_tag(t, "hidden"))
        .collect();
    if marked.is_empty() {
        let hidden_builders = spec
            .iter()
            .any(|t| has_tag(t, "builder") && has_tag(t, "hidden"));
        let prune_candidates = spec
            .iter()
            .filter(|t| {
                flags
                    .of(key, &t.name)
                    .iter()
                    .any(|f| f.kind == FlagKind::PruneCandidate)
            })
            .count();
        return Err(Omitted {
            key: key.clone(),
            prune_candidates,
            reason: if hidden_builders {
                "every builder tag is hidden".into()
            } else if spec.is_empty() {
                "no tags".into()
            } else {
                "no tag is marked builder".into()
            },
        });
    }
    let live = inputs.live.get(key);
    // The console's builder tags: marked, and with a status tag (any entry, even one that
    // holds only a failed import's condition).
    let (mut builders, unimported): (Vec<&TagReference>, Vec<&TagReference>) = marked
        .iter()
        .partition(|t| live.is_some_and(|l| l.status_tag(&t.name).is_some()));
    let reason = if key.namespace != CONSOLE_NAMESPACE {
        Some(Reason::Namespace)
    } else if builders.is_empty() {
        Some(Reason::NoBuilderStatusTag)
    } else {
        None
    };
    let unimported: Vec<String> = if builders.is_empty() {
        // Nothing to list yet: show every marked tag, in the order it will have.
        builders = marked.clone();
        Vec::new()
    } else {
        unimported.iter().map(|t| t.name.clone()).collect()
    };
    order::sort(&mut builders, |t| t.name.as_str());
    // A tag and the tags that follow it share an image: read it once per stream.
    let facts = Facts::default();
    let versions: Vec<Version> = builders
        .iter()
        .map(|t| version(inputs, &facts, flags, key, stream, live, t))
        .collect();
    let default = builders[0];
    Ok(Card {
        key: key.clone(),
        display_name: stream
            .annotation(ANNOTATION_DISPLAY_NAME)
            .unwrap_or(&key.name)
            .to_owned(),
        provider: stream.annotation(ANNOTATION_PROVIDER).map(str::to_owned),
        icon_class: default.annotation("iconClass").map(str::to_owned),
        console_logo: default.annotation("iconClass").is_some_and(icons::is_known),
        description: default.annotation("description").map(str::to_owned),
        sample_repo: spec
            .first()
            .and_then(|t| t.annotation("sampleRepo"))
            .map(str::to_owned),
        reason,
        languages: {
            // `nodejs:22` and `nodejs` are one language on the card.
            let mut languages: Vec<String> = Vec::new();
            for lang in &versions[0].supports {
                let base = lang.split(':').next().unwrap_or(lang).to_owned();
                if !languages.contains(&base) {
                    languages.push(base);
                }
            }
            languages
        },
        categories: {
            let set: BTreeSet<String> = versions[0].categories.iter().cloned().collect();
            set.into_iter().collect()
        },
        versions,
        unimported,
        other_tags: visible - marked.len(),
    })
}

fn version(
    inputs: &Inputs<'_>,
    facts: &Facts,
    flags: &Flags,
    key: &StreamKey,
    stream: &ImageStream,
    live: Option<&ImageStream>,
    tag: &TagReference,
) -> Version {
    let hidden: BTreeSet<&str> = stream
        .spec
        .tags
        .iter()
        .filter(|t| has_tag(t, "hidden"))
        .map(|t| t.name.as_str())
        .collect();
    let text = |k: &str| {
        tag.annotation(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Version {
        tag: tag.name.clone(),
        display_name: text(ANNOTATION_DISPLAY_NAME)
            .unwrap_or_else(|| format!("{}:{}", key.name, tag.name)),
        version: text("version"),
        description: text("description"),
        icon_class: text("iconClass"),
        supports: tag
            .annotation("supports")
            .map(split_list)
            .unwrap_or_default(),
        categories: tag_categories(tag)
            .into_iter()
            .filter(|c| c != "builder" && c != "hidden")
            .collect(),
        source: source(key, tag, &hidden),
        live: {
            let mut l = live_of(inputs, facts, key, stream, live, &tag.name);
            if l.via.as_deref().is_some_and(|v| hidden.contains(v)) {
                l.via = Some(HIDDEN.to_owned());
            }
            l
        },
        flags: flags
            .of(key, &tag.name)
            .into_iter()
            .map(|f| Flag {
                text: conceal(f.text, &hidden),
                ..f
            })
            .collect(),
    }
}

/// What a hidden tag is called where a shown tag refers to it.
pub const HIDDEN: &str = "a hidden tag";

/// A prune reason without the names of the stream's hidden tags (it may name the tags that
/// keep another): a hidden tag appears nowhere on the page.
fn conceal(text: String, hidden: &BTreeSet<&str>) -> String {
    hidden
        .iter()
        .fold(text, |t, h| t.replace(&format!("`{h}`"), HIDDEN))
}

/// Where a tag comes from, in words; a hidden tag of the same stream is not named.
fn source(key: &StreamKey, tag: &TagReference, hidden: &BTreeSet<&str>) -> String {
    let Some(from) = &tag.from else {
        return "no source (pushed or built in the cluster)".into();
    };
    if from.kind == KIND_IMAGE_STREAM_TAG {
        let target = match from.source(key) {
            Some((k, t)) => (k == *key).then_some(t),
            None => Some(from.name.as_str()),
        };
        if target.is_some_and(|t| hidden.contains(t)) {
            return format!("tracks {HIDDEN} of this stream");
        }
    }
    let ns = from
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!("{n}/"))
        .unwrap_or_default();
    match from.kind.as_str() {
        KIND_DOCKER_IMAGE if tag.reference => format!("{} (reference, not imported)", from.name),
        KIND_DOCKER_IMAGE if tag.import_policy.scheduled => {
            format!("{} (re-imported on schedule)", from.name)
        }
        KIND_DOCKER_IMAGE => from.name.clone(),
        KIND_IMAGE_STREAM_TAG => format!("tracks {ns}{}", from.name),
        KIND_IMAGE_STREAM_IMAGE => format!("pinned to {ns}{}", from.name),
        other => format!("{other} {}", from.name),
    }
}

/// The live facts of a tag. A tag that tracks another tag of the same stream and has no
/// history of its own shows the image of the tag it tracks.
fn live_of(
    inputs: &Inputs<'_>,
    facts: &Facts,
    key: &StreamKey,
    stream: &ImageStream,
    live: Option<&ImageStream>,
    tag: &str,
) -> Live {
    let Some(live) = live else {
        return Live {
            pending: true,
            ..Live::default()
        };
    };
    let mut name = tag.to_owned();
    let mut via = None;
    let mut seen = BTreeSet::new();
    loop {
        let status = live.status_tag(&name);
        if status.is_some_and(|s| !s.items.is_empty()) || !seen.insert(name.clone()) {
            break;
        }
        let next = stream
            .spec_tag(&name)
            .and_then(|t| t.from.as_ref())
            .filter(|f| f.kind == KIND_IMAGE_STREAM_TAG)
            .and_then(|f| match f.source(key) {
                Some((k, t)) => (k == *key).then(|| t.to_owned()),
                // The short form (`name: '3.3'`) names a tag of the same stream.
                None => f
                    .namespace
                    .as_deref()
                    .is_none_or(|n| n.is_empty() || n == key.namespace)
                    .then(|| f.name.clone()),
            });
        match next {
            Some(n) => {
                via = Some(n.clone());
                name = n;
            }
            None => break,
        }
    }
    let status = live.status_tag(&name);
    let failure = live.status_tag(tag).and_then(|s| {
        s.conditions
            .iter()
            .find(|c| c.kind == "ImportSuccess" && c.status == "False")
            .map(|c| Failure {
                reason: c.reason.clone(),
                message: c.message.clone(),
                time: c.last_transition_time.clone(),
            })
    });
    let current = status.and_then(|s| s.items.first()).map(|item| {
        let (platform, size, built) = if item.image.is_empty() {
            (None, None, None)
        } else {
            facts.get(inputs, &item.image)
        };
        Current {
            digest: item.image.clone(),
            reference: item.docker_image_reference.clone(),
            platform,
            size,
            built,
            imported: item.created.clone(),
        }
    });
    let pending = current.is_none() && failure.is_none() && live.spec_tag(tag).is_none();
    Live {
        via: via.filter(|_| current.is_some()),
        current,
        failure,
        pending,
    }
}

/// Platform, size and build time per digest, within one stream.
#[derive(Default)]
struct Facts {
    seen: std::cell::RefCell<BTreeMap<String, ImageFacts>>,
}

type ImageFacts = (Option<String>, Option<u64>, Option<String>);

impl Facts {
    fn get(&self, inputs: &Inputs<'_>, digest: &str) -> ImageFacts {
        if let Some(f) = self.seen.borrow().get(digest) {
            return f.clone();
        }
        let img = (inputs.image)(digest);
        let f = (
            img.as_ref().and_then(image::platform),
            img.as_ref().and_then(image::size),
            img.as_ref().and_then(image::created).map(str::to_owned),
        );
        self.seen.borrow_mut().insert(digest.to_owned(), f.clone());
        f
    }
}

/// The prune report's entries, indexed by tag.
struct Flags {
    by_tag: BTreeMap<(StreamKey, String), Vec<Flag>>,
}

impl Flags {
    fn collect(inputs: &Inputs<'_>) -> Self {
        let mut by_tag: BTreeMap<(StreamKey, String), Vec<Flag>> = BTreeMap::new();
        let mut history: BTreeMap<(StreamKey, String), usize> = BTreeMap::new();
        for c in &inputs.prune.candidates {
            let key = (StreamKey::new(&c.namespace, &c.stream), c.tag.clone());
            match c.kind {
                prune::Kind::Tag => by_tag.entry(key).or_default().push(Flag {
                    kind: FlagKind::PruneCandidate,
                    text: c.reason.clone(),
                }),
                prune::Kind::History => *history.entry(key).or_default() += 1,
            }
        }
        for k in &inputs.prune.kept {
            if k.kind != prune::Kind::Tag {
                continue;
            }
            let key = StreamKey::new(&k.namespace, &k.stream);
            let limit = i64::from(inputs.policy.rules(&key).max_age_days);
            if k.age_days > limit {
                by_tag.entry((key, k.tag.clone())).or_default().push(Flag {
                    kind: FlagKind::Stale,
                    text: format!(
                        "{} days old, past the {limit}-day limit; kept: {}",
                        k.age_days, k.reason
                    ),
                });
            }
        }
        for (key, n) in history {
            by_tag.entry(key).or_default().push(Flag {
                kind: FlagKind::History,
                text: format!(
                    "{n} older {} of this tag can be pruned (`streamsync prune --explain`)",
                    if n == 1 { "revision" } else { "revisions" }
                ),
            });
        }
        Flags { by_tag }
    }

    fn of(&self, key: &StreamKey, tag: &str) -> Vec<Flag> {
        self.by_tag
            .get(&(key.clone(), tag.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_annotation_splits_as_the_console_does() {
        assert_eq!(split_console("builder,php"), ["builder", "php"]);
        assert_eq!(split_console("builder ,  php"), ["builder", "php"]);
        assert_eq!(split_console(" builder, php "), [" builder", "php "]);
        assert_eq!(split_console("a , , b"), ["a", "", "b"]);
        assert_eq!(split_console("a b ,c"), ["a b", "c"]);
        assert_eq!(split_console(""), [""]);
        assert_eq!(split_console("x,\u{feff}builder"), ["x", "builder"]);
        assert_eq!(split_console("x,\u{85}builder"), ["x", "\u{85}builder"]);
    }
}
