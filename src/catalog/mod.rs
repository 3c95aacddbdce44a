//! The developer-catalog preview: what OpenShift's developer catalog would show for these
//! streams, built from the definitions, the live state and the prune recommendations, and
//! written as one self-contained HTML page ([`html`]).
//!
//! [`build`] is a pure function of values: it reads no file and asks no registry (the caller
//! hands it the live streams and a way to look Images up). A card stands for a stream with at
//! least one `builder` tag; its versions are the builder tags, newest first; a tag whose `tags`
//! annotation says `hidden` is left out of everything, as the console leaves it out. It prints
//! nothing; rendering belongs to [`html`].

pub mod html;
pub use crate::model::icons;
pub mod image;

use std::cmp::Ordering;
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
    /// One card per stream with a visible builder tag, by display name.
    pub cards: Vec<Card>,
    /// Streams that have no visible builder tag, so the console does not list them.
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

/// One catalog card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The stream.
    pub key: StreamKey,
    /// The stream's `openshift.io/display-name`, else its name.
    pub display_name: String,
    /// `openshift.io/provider-display-name` of the stream or its newest version.
    pub provider: Option<String>,
    /// The `iconClass` of the newest version that has one.
    pub icon_class: String,
    /// Languages of every version (`supports` without the `:version`), in first-seen order.
    pub languages: Vec<String>,
    /// Categories of every version (`tags` other than `builder`/`hidden`), sorted.
    pub categories: Vec<String>,
    /// The versions, newest first; never empty.
    pub versions: Vec<Version>,
    /// Tags of the stream not shown (no `builder` tag), counted for the card's footnote.
    pub other_tags: usize,
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
    /// `sampleRepo`.
    pub sample_repo: Option<String>,
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

/// The `tags` annotation of a tag, split.
fn tag_categories(tag: &TagReference) -> Vec<String> {
    tag.annotation("tags").map(split_list).unwrap_or_default()
}

/// Whether the tag's `tags` annotation holds `word` (OpenShift's `HasAnnotationTag`).
fn has_tag(tag: &TagReference, word: &str) -> bool {
    tag_categories(tag).iter().any(|t| t == word)
}

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
    cards.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then_with(|| a.key.cmp(&b.key))
    });
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
    let visible: Vec<&TagReference> = stream
        .spec
        .tags
        .iter()
        .filter(|t| !has_tag(t, "hidden"))
        .collect();
    let builders: Vec<&TagReference> = visible
        .iter()
        .copied()
        .filter(|t| has_tag(t, "builder"))
        .collect();
    if builders.is_empty() {
        let hidden_builders = stream
            .spec
            .tags
            .iter()
            .any(|t| has_tag(t, "builder") && has_tag(t, "hidden"));
        let prune_candidates = stream
            .spec
            .tags
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
            } else if stream.spec.tags.is_empty() {
                "no tags".into()
            } else {
                "no tag is marked builder".into()
            },
        });
    }
    let live = inputs.live.get(key);
    // A tag and the tags that follow it share an image: read it once per stream.
    let facts = Facts::default();
    let mut versions: Vec<Version> = builders
        .iter()
        .map(|t| version(inputs, &facts, flags, key, stream, live, t))
        .collect();
    versions.sort_by(newest_first);
    Ok(card(key, stream, versions, visible.len() - builders.len()))
}

fn card(key: &StreamKey, stream: &ImageStream, versions: Vec<Version>, other_tags: usize) -> Card {
    let display_name = stream
        .annotation(ANNOTATION_DISPLAY_NAME)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&key.name)
        .to_owned();
    let provider = stream
        .annotation(ANNOTATION_PROVIDER)
        .map(str::to_owned)
        .or_else(|| {
            versions.iter().find_map(|v| {
                stream
                    .spec_tag(&v.tag)
                    .and_then(|t| t.annotation(ANNOTATION_PROVIDER))
                    .map(str::to_owned)
            })
        });
    let icon_class = versions
        .iter()
        .find_map(|v| v.icon_class.clone())
        .unwrap_or_default();
    // `nodejs:22` and `nodejs` are one language on the card; each version lists its own.
    let mut languages: Vec<String> = Vec::new();
    for lang in versions.iter().flat_map(|v| v.supports.iter()) {
        let base = lang.split(':').next().unwrap_or(lang).to_owned();
        if !languages.contains(&base) {
            languages.push(base);
        }
    }
    let categories: BTreeSet<String> = versions
        .iter()
        .flat_map(|v| v.categories.iter().cloned())
        .collect();
    Card {
        key: key.clone(),
        display_name,
        provider,
        icon_class,
        languages,
        categories: categories.into_iter().collect(),
        versions,
        other_tags,
    }
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
        sample_repo: text("sampleRepo"),
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

/// Newest first: by the semantic order of `version` (the tag name when there is none),
/// then by tag name. A name with no digit at all (`latest`, `stable`) is a moving tag that
/// follows the newest version, so it comes first, and first among tags of its version.
fn newest_first(a: &Version, b: &Version) -> Ordering {
    let ka = a.version.as_deref().unwrap_or(&a.tag);
    let kb = b.version.as_deref().unwrap_or(&b.tag);
    let moving = |k: &str| !k.chars().any(|c| c.is_ascii_digit());
    moving(kb)
        .cmp(&moving(ka))
        .then_with(|| compare_versions(kb, ka))
        .then_with(|| moving(&b.tag).cmp(&moving(&a.tag)))
        .then_with(|| compare_versions(&b.tag, &a.tag))
        .then_with(|| a.tag.cmp(&b.tag))
}

/// Compare two version strings part by part: digit runs as numbers, other runs as text. When
/// one is a prefix of the other, a longer numeric tail is newer (`3.12.1` > `3.12`) and a
/// text tail is older (`22-minimal` < `22`, as a semver pre-release is).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let pa = parts(a.strip_prefix(['v', 'V']).unwrap_or(a));
    let pb = parts(b.strip_prefix(['v', 'V']).unwrap_or(b));
    for i in 0..pa.len().max(pb.len()) {
        match (pa.get(i), pb.get(i)) {
            (Some(x), Some(y)) => {
                let o = match (x, y) {
                    (Part::Num(x), Part::Num(y)) => x.cmp(y),
                    (Part::Num(_), Part::Text(_)) => Ordering::Greater,
                    (Part::Text(_), Part::Num(_)) => Ordering::Less,
                    (Part::Text(x), Part::Text(y)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(x), None) => return tail(x),
            (None, Some(y)) => return tail(y).reverse(),
            (None, None) => break,
        }
    }
    Ordering::Equal
}

fn tail(p: &Part<'_>) -> Ordering {
    match p {
        Part::Num(_) => Ordering::Greater,
        Part::Text(_) => Ordering::Less,
    }
}

#[derive(Debug)]
enum Part<'a> {
    Num(u128),
    Text(&'a str),
}

/// Digit runs and letter runs; separators (`.`, `-`, `_`, `+`) only split.
fn parts(s: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = s[start..i].trim_start_matches('0');
            // Absurdly long digit runs saturate rather than fail.
            out.push(Part::Num(if digits.is_empty() {
                0
            } else {
                digits.parse().unwrap_or(u128::MAX)
            }));
        } else if bytes[i].is_ascii_alphanumeric() || !bytes[i].is_ascii() {
            while i < bytes.len() && !bytes[i].is_ascii_digit() && !b".-_+".contains(&bytes[i]) {
                i += 1;
            }
            out.push(Part::Text(&s[start..i]));
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<Version> = keys
            .iter()
            .map(|k| Version {
                tag: (*k).to_owned(),
                ..sample()
            })
            .collect();
        v.sort_by(newest_first);
        v.into_iter().map(|v| v.tag).collect()
    }

    #[test]
    fn versions_sort_newest_first() {
        assert_eq!(
            sorted(&["3.9", "3.11", "latest", "3.12", "2.7"]),
            ["latest", "3.12", "3.11", "3.9", "2.7"]
        );
        assert_eq!(
            sorted(&["22-minimal-ubi8", "22-ubi9", "20-ubi8", "22-ubi8"]),
            ["22-ubi9", "22-ubi8", "22-minimal-ubi8", "20-ubi8"]
        );
        assert_eq!(compare_versions("v2.0.1", "2.0"), Ordering::Greater);
        assert_eq!(compare_versions("22-minimal", "22"), Ordering::Less);
        assert_eq!(compare_versions("010", "9"), Ordering::Greater);
        assert_eq!(compare_versions("3.0", "3.3"), Ordering::Less);
        assert_eq!(compare_versions("3.0", "3"), Ordering::Greater);
        assert_eq!(
            compare_versions("99999999999999999999999999999999999999999", "1"),
            Ordering::Greater
        );
    }

    #[test]
    fn version_annotation_orders_before_tag_name() {
        let mk = |tag: &str, version: &str| Version {
            tag: tag.into(),
            version: Some(version.into()),
            ..sample()
        };
        let mut v = [
            mk("b", "1.0"),
            mk("a", "2.0"),
            mk("c", "2.0"),
            mk("2.0-el8", "2.0"),
            mk("latest", "2.0"),
        ];
        v.sort_by(newest_first);
        let tags: Vec<&str> = v.iter().map(|v| v.tag.as_str()).collect();
        // Among tags of one version, names without digits move with it and come first.
        assert_eq!(tags, ["latest", "c", "a", "2.0-el8", "b"]);
    }

    fn sample() -> Version {
        Version {
            tag: String::new(),
            display_name: String::new(),
            version: None,
            description: None,
            icon_class: None,
            sample_repo: None,
            supports: vec![],
            categories: vec![],
            source: String::new(),
            live: Live::default(),
            flags: vec![],
        }
    }
}
