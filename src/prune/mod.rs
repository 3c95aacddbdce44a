//! Prune recommendations: stale dated tags and history beyond the kept revisions, each with
//! its reason, and the tags kept with why. A pure function of values (definitions, live
//! streams, the compiled policy, the tags manifests use, and "now"): it reads no file, asks no
//! registry and never changes a file or the state. A person decides; this only recommends.
//!
//! A dated tag is judged by the date in its name (semantics spec §5.4: such a tag holds one
//! revision forever, so `oc adm prune` never removes it); history items are judged like
//! `oc adm prune images` judges them (§5.3: `keep-tag-revisions`, `keep-younger-than`).

pub use crate::model::dates;
pub mod render;
pub mod triggers;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::definition::DefinitionSet;
use crate::model::{ImageStream, KIND_IMAGE_STREAM_IMAGE, KIND_IMAGE_STREAM_TAG, StreamKey};
use crate::policy::prune::{CompiledPrune, StreamRules};
use dates::DatedTag;
use triggers::{TagUse, UseKind};

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A spec tag of a definition.
    Tag,
    /// One item of a tag's history in the live state.
    History,
}

/// One candidate, or one kept tag or history item, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Tag or history item.
    pub kind: Kind,
    /// Namespace of the stream.
    pub namespace: String,
    /// Stream name.
    pub stream: String,
    /// Tag name.
    pub tag: String,
    /// For a tag: the image it points at in the live state, else its source pull spec; for a
    /// history item: its image digest.
    pub image: String,
    /// Age in days: by the date in the name for a tag, by `created` for a history item.
    pub age_days: i64,
    /// Stable machine code, e.g. `expired-dated-tag`.
    pub reason_code: &'static str,
    /// The reason as a sentence.
    pub reason: String,
    /// The definition file and line of a tag (not part of the JSON contract).
    #[serde(skip)]
    pub location: Option<(String, u32)>,
    /// The history position (0 = current) of a history item.
    #[serde(skip)]
    pub revision: Option<usize>,
}

impl Entry {
    /// `namespace/stream`.
    pub fn stream_key(&self) -> String {
        format!("{}/{}", self.namespace, self.stream)
    }

    fn sort_key(&self) -> (&str, &str, Kind, &str, Option<usize>) {
        (
            &self.namespace,
            &self.stream,
            self.kind,
            &self.tag,
            self.revision,
        )
    }
}

/// The recommendations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What a person may remove.
    pub candidates: Vec<Entry>,
    /// Dated tags (and history items past the kept revisions) that stay, with why.
    pub kept: Vec<Entry>,
    /// How many dated tags were judged.
    #[serde(skip)]
    pub dated_tags: usize,
    /// How many streams were looked at (definitions and live state together).
    #[serde(skip)]
    pub streams: usize,
}

/// Everything a recommendation depends on.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The definitions (desired state).
    pub definitions: &'a DefinitionSet,
    /// The live streams, with their history.
    pub live: &'a BTreeMap<StreamKey, ImageStream>,
    /// The compiled `[prune]` policy.
    pub policy: &'a CompiledPrune,
    /// Tags the repository's manifests use.
    pub uses: &'a [TagUse],
    /// The time ages are counted to.
    pub now: DateTime<Utc>,
}

/// Another definition's tag that names a tag or an image of a stream.
#[derive(Debug, Clone)]
struct Referrer {
    /// `ns/stream` or `stream` of the referring tag, for sentences.
    by: String,
    /// `ImageStreamTag` or `ImageStreamImage`.
    kind: &'static str,
    /// What was written in `from.name`.
    name: String,
}

/// What names a given tag or image, across all definitions.
#[derive(Debug, Default)]
struct References {
    /// `(namespace, stream, tag)` → referrers.
    tags: BTreeMap<(String, String, String), Vec<Referrer>>,
    /// `(namespace, stream)` → `(image id prefix, referrer)`.
    images: BTreeMap<(String, String), Vec<(String, Referrer)>>,
}

impl References {
    fn collect(set: &DefinitionSet) -> Self {
        let mut refs = References::default();
        for def in set.streams.values() {
            let s = &def.stream;
            let holder = s.key();
            let ns = holder.namespace.clone();
            for tag in &s.spec.tags {
                let Some(from) = &tag.from else { continue };
                let Some((source, rest)) = from.source(&holder) else {
                    continue;
                };
                let src_ns = source.namespace.clone();
                let by_ns = if src_ns == ns {
                    String::new()
                } else {
                    format!("{ns}/")
                };
                let referrer = Referrer {
                    by: format!("{by_ns}{}:{}", s.metadata.name, tag.name),
                    kind: if from.kind == KIND_IMAGE_STREAM_TAG {
                        KIND_IMAGE_STREAM_TAG
                    } else {
                        KIND_IMAGE_STREAM_IMAGE
                    },
                    name: from.name.clone(),
                };
                if from.kind == KIND_IMAGE_STREAM_TAG {
                    refs.tags
                        .entry((src_ns, source.name, rest.to_owned()))
                        .or_default()
                        .push(referrer);
                } else {
                    refs.images
                        .entry((src_ns, source.name))
                        .or_default()
                        .push((rest.to_owned(), referrer));
                }
            }
        }
        refs
    }

    fn tag(&self, ns: &str, stream: &str, tag: &str) -> &[Referrer] {
        self.tags
            .get(&(ns.to_owned(), stream.to_owned(), tag.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Referrers whose image id matches `image` (OpenShift's prefix rule, §3.6).
    fn image<'a>(&'a self, ns: &str, stream: &str, image: &str) -> Vec<&'a Referrer> {
        if image.is_empty() {
            return Vec::new();
        }
        self.images
            .get(&(ns.to_owned(), stream.to_owned()))
            .into_iter()
            .flatten()
            .filter(|(id, _)| {
                image.starts_with(id.as_str())
                    || image
                        .strip_prefix("sha256:")
                        .is_some_and(|hex| hex.starts_with(id.as_str()))
            })
            .map(|(_, r)| r)
            .collect()
    }
}

/// The code of a dated tag past its age limit.
pub const EXPIRED: &str = "expired-dated-tag";
/// The code of a history item beyond the kept revisions.
pub const HISTORY: &str = "history-beyond-revisions";

/// One reason a tag stays.
struct Keep {
    code: &'static str,
    reason: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

/// `" (from [[prune.stream]] `x`)"` when an override set the rules.
fn override_note(rules: &StreamRules) -> String {
    rules
        .matched_override
        .as_ref()
        .map(|m| format!(" (set by [[prune.stream]] `{m}`)"))
        .unwrap_or_default()
}

/// A dated tag with its place in its series.
struct Member<'a> {
    key: &'a StreamKey,
    tag: &'a str,
    dated: &'a DatedTag,
    series: &'a str,
    /// 0 for the newest.
    rank: usize,
    /// Tags in the series.
    size: usize,
    /// The newest tag of the series.
    newest: &'a str,
}

/// The inputs, plus what is derived from them once.
struct Judge<'a> {
    inputs: &'a Inputs<'a>,
    refs: References,
}

/// Compute the recommendations.
pub fn recommend(inputs: &Inputs<'_>) -> Report {
    let judge = Judge {
        inputs,
        refs: References::collect(inputs.definitions),
    };
    let mut report = Report::default();
    let removed = judge.tags(&mut report);
    judge.history(&removed, &mut report);

    let mut keys: Vec<&StreamKey> = inputs.definitions.streams.keys().collect();
    keys.extend(inputs.live.keys());
    keys.sort();
    keys.dedup();
    report.streams = keys.len();
    report
        .candidates
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    report.kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    report
}

impl Judge<'_> {
    /// Judge every dated tag of the definitions; returns the tags recommended for removal.
    fn tags(&self, report: &mut Report) -> BTreeSet<(StreamKey, String)> {
        let inputs = self.inputs;
        // Dated tags of every definition, grouped into series per stream.
        let mut series: BTreeMap<(&StreamKey, String), Vec<(&str, DatedTag)>> = BTreeMap::new();
        for (key, def) in &inputs.definitions.streams {
            for tag in &def.stream.spec.tags {
                if let Some(dated) = inputs.policy.dates().find(&tag.name) {
                    series
                        .entry((key, dated.series.clone()))
                        .or_default()
                        .push((tag.name.as_str(), dated));
                }
            }
        }
        let mut removed = BTreeSet::new();
        for ((key, series_name), members) in &mut series {
            // Newest first; equal dates by name, so the order never depends on the file.
            members.sort_by(|a, b| b.1.sort_key().cmp(&a.1.sort_key()).then(a.0.cmp(b.0)));
            let rules = inputs.policy.rules(key);
            for (rank, (tag, dated)) in members.iter().enumerate() {
                let member = Member {
                    key,
                    tag,
                    dated,
                    series: series_name,
                    rank,
                    size: members.len(),
                    newest: members[0].0,
                };
                report.dated_tags += 1;
                let entry = self.tag(&member, &rules);
                if entry.reason_code == EXPIRED {
                    removed.insert(((*key).clone(), (*tag).to_owned()));
                    report.candidates.push(entry);
                } else {
                    report.kept.push(entry);
                }
            }
        }
        removed
    }

    /// The entry of one dated tag: a candidate (code [`EXPIRED`]) or kept with every reason.
    fn tag(&self, m: &Member<'_>, rules: &StreamRules) -> Entry {
        let today = self.inputs.now.date_naive();
        let age = (today - m.dated.latest_day()).num_days();
        let limit = i64::from(rules.max_age_days);
        let keeps = self.keeps(m, rules, age);
        // Members are collected from the definitions, so the stream is there.
        let def = &self.inputs.definitions.streams[m.key];
        let live_tag = self
            .inputs
            .live
            .get(m.key)
            .and_then(|s| s.status_tag(m.tag));
        // What the tag points at: its current image if it was applied, else its source.
        let image = live_tag
            .and_then(|t| t.items.first())
            .map(|i| {
                if i.image.is_empty() {
                    i.docker_image_reference.clone()
                } else {
                    i.image.clone()
                }
            })
            .or_else(|| {
                def.stream
                    .spec_tag(m.tag)
                    .and_then(|t| t.from.as_ref())
                    .map(|f| f.name.clone())
            })
            .unwrap_or_default();
        let location = def
            .tag_pos(m.tag)
            .map(|p| (def.file.clone(), p.or_entry(p.name).line));
        let (reason_code, reason) = if keeps.is_empty() {
            let company = if m.size == 1 {
                format!("; the only tag of series `{}`", m.series)
            } else {
                format!("; newer in series `{}`: `{}`", m.series, m.newest)
            };
            (
                EXPIRED,
                format!(
                    "dated {}, {} old: past the {limit}-day limit{}{company}",
                    dates::describe(m.dated),
                    days(age),
                    override_note(rules)
                ),
            )
        } else {
            (
                keeps[0].code,
                keeps
                    .iter()
                    .map(|k| k.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        };
        Entry {
            kind: Kind::Tag,
            namespace: m.key.namespace.clone(),
            stream: m.key.name.clone(),
            tag: m.tag.to_owned(),
            image,
            age_days: age,
            reason_code,
            reason,
            location,
            revision: None,
        }
    }

    /// Every reason a dated tag stays, most decisive first.
    fn keeps(&self, m: &Member<'_>, rules: &StreamRules, age: i64) -> Vec<Keep> {
        let (key, tag) = (m.key, m.tag);
        let mut keeps = Vec::new();
        if let Some((glob, from_override)) = rules.protection(tag) {
            let note = if from_override {
                override_note(rules)
            } else {
                String::new()
            };
            keeps.push(Keep {
                code: "protected",
                reason: format!("protected by `{glob}`{note}"),
            });
        }
        let referrers = self.refs.tag(&key.namespace, &key.name, tag);
        if !referrers.is_empty() {
            let names: Vec<String> = referrers.iter().map(|r| format!("`{}`", r.by)).collect();
            keeps.push(Keep {
                code: "referenced",
                reason: format!("referenced by {}", names.join(", ")),
            });
        }
        let mut image_referrers: Vec<String> = self
            .inputs
            .live
            .get(key)
            .and_then(|s| s.status_tag(tag))
            .into_iter()
            .flat_map(|t| t.items.iter())
            .flat_map(|item| self.refs.image(&key.namespace, &key.name, &item.image))
            .map(|r| format!("`{}` ({} `{}`)", r.by, r.kind, r.name))
            .collect();
        image_referrers.dedup();
        if !image_referrers.is_empty() {
            keeps.push(Keep {
                code: "referenced",
                reason: format!("its image is referenced by {}", image_referrers.join(", ")),
            });
        }
        for (kind, code, what) in [
            (
                UseKind::Annotation,
                "trigger",
                "named by the `image.openshift.io/triggers` annotation in",
            ),
            (
                UseKind::ImageStreamTag,
                "manifest",
                "used as an ImageStreamTag in",
            ),
        ] {
            let mut files: Vec<String> = self
                .inputs
                .uses
                .iter()
                .filter(|u| u.kind == kind && u.names(&key.namespace, &key.name, tag))
                .map(|u| format!("`{}`", u.file))
                .collect();
            files.dedup();
            if !files.is_empty() {
                keeps.push(Keep {
                    code,
                    reason: format!("{what} {}", files.join(", ")),
                });
            }
        }
        let keep_n = rules.keep_per_series as usize;
        // A series of one protects nothing: a lone dated tag is the stale tag itself.
        if m.size >= 2 && m.rank < keep_n {
            let place = if m.rank == 0 {
                "the newest".to_owned()
            } else {
                format!("number {} by date", m.rank + 1)
            };
            keeps.push(Keep {
                code: "newest-of-series",
                reason: format!(
                    "{place} of series `{}` ({}; keep_per_series = {keep_n}{})",
                    m.series,
                    plural(m.size, "tag", "tags"),
                    override_note(rules)
                ),
            });
        }
        let limit = i64::from(rules.max_age_days);
        if age <= limit {
            let when = if age < 0 {
                "dated in the future".to_owned()
            } else {
                format!("{} old", days(age))
            };
            keeps.push(Keep {
                code: "too-young",
                reason: format!(
                    "dated {}, {when}: within the {limit}-day limit{}",
                    dates::describe(m.dated),
                    override_note(rules)
                ),
            });
        }
        keeps
    }

    /// History beyond the kept revisions (semantics spec §5.3), from the live state. Tags in
    /// `removed` are skipped: their whole history goes with them.
    fn history(&self, removed: &BTreeSet<(StreamKey, String)>, report: &mut Report) {
        let inputs = self.inputs;
        for (key, stream) in inputs.live {
            let Some(status) = &stream.status else {
                continue;
            };
            let rules = inputs.policy.rules(key);
            let younger = chrono::Duration::from_std(rules.keep_younger_than)
                .unwrap_or(chrono::Duration::MAX);
            // `oc adm prune` leaves a stream younger than keep-younger-than alone entirely.
            let stream_young = stream
                .metadata
                .creation_timestamp
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| inputs.now - t.with_timezone(&Utc) < younger);
            for list in &status.tags {
                if removed.contains(&(key.clone(), list.tag.clone())) {
                    continue;
                }
                let kept_revisions = rules.keep_tag_revisions as usize;
                let in_use = !self
                    .refs
                    .tag(&key.namespace, &key.name, &list.tag)
                    .is_empty()
                    || inputs
                        .uses
                        .iter()
                        .any(|u| u.names(&key.namespace, &key.name, &list.tag));
                let total = list.items.len();
                for (rev, item) in list.items.iter().enumerate().skip(kept_revisions) {
                    let created = DateTime::parse_from_rfc3339(&item.created)
                        .ok()
                        .map(|t| t.with_timezone(&Utc));
                    let what = format!("revision {} of {total} of `{}`", rev + 1, list.tag);
                    let keep = if stream_young {
                        Some((
                            "stream-too-young",
                            format!(
                                "{what}: the stream was created less than {} ago",
                                rules.keep_younger_than_text
                            ),
                        ))
                    } else if created.is_none() {
                        Some((
                            "unknown-age",
                            format!(
                                "{what}: its creation time `{}` cannot be read",
                                item.created
                            ),
                        ))
                    } else if created.is_some_and(|c| inputs.now - c < younger) {
                        Some((
                            "history-too-young",
                            format!(
                                "{what}: younger than {}{}",
                                rules.keep_younger_than_text,
                                override_note(&rules)
                            ),
                        ))
                    } else if rev == 0 && in_use {
                        Some((
                            "in-use",
                            format!("{what}: the tag's current image, and the tag is in use"),
                        ))
                    } else {
                        self.refs
                            .image(&key.namespace, &key.name, &item.image)
                            .first()
                            .map(|r| {
                                (
                                    "referenced",
                                    format!(
                                        "{what}: its image is referenced by `{}` ({} `{}`)",
                                        r.by, r.kind, r.name
                                    ),
                                )
                            })
                    };
                    let (reason_code, reason) = keep.unwrap_or_else(|| {
                        (
                            HISTORY,
                            format!(
                                "{what}, created {}: beyond the {kept_revisions} kept revisions and older than {}{}",
                                created.map_or_else(String::new, |c| c.format("%Y-%m-%d").to_string()),
                                rules.keep_younger_than_text,
                                override_note(&rules)
                            ),
                        )
                    });
                    let entry = Entry {
                        kind: Kind::History,
                        namespace: key.namespace.clone(),
                        stream: key.name.clone(),
                        tag: list.tag.clone(),
                        image: if item.image.is_empty() {
                            item.docker_image_reference.clone()
                        } else {
                            item.image.clone()
                        },
                        age_days: created.map_or(0, |c| (inputs.now - c).num_days()),
                        reason_code,
                        reason,
                        location: None,
                        revision: Some(rev),
                    };
                    if reason_code == HISTORY {
                        report.candidates.push(entry);
                    } else {
                        report.kept.push(entry);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{SourceFile, load_files};
    use crate::model::{ImageStreamStatus, NamedTagEventList, TagEvent};
    use crate::policy::{Config, Policies, PrunePolicy};

    fn definitions(yaml: &str) -> DefinitionSet {
        let loaded = load_files(
            &[SourceFile {
                path: "definitions/team/app.yaml".into(),
                bytes: yaml.as_bytes().to_vec(),
            }],
            &Config::default(),
            &Policies::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.set
    }

    fn stream(tags: &[&str]) -> String {
        let mut s = "kind: ImageStream\nmetadata:\n  name: app\nspec:\n  tags:\n".to_owned();
        for t in tags {
            s.push_str(&format!(
                "  - name: \"{t}\"\n    from: {{kind: DockerImage, name: \"quay.io/a/app:{t}\"}}\n"
            ));
        }
        s
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn run(
        set: &DefinitionSet,
        live: &BTreeMap<StreamKey, ImageStream>,
        policy: &PrunePolicy,
        uses: &[TagUse],
    ) -> Report {
        let compiled = policy.compile().unwrap();
        recommend(&Inputs {
            definitions: set,
            live,
            policy: &compiled,
            uses,
            now: now(),
        })
    }

    fn codes(entries: &[Entry]) -> Vec<(&str, &str)> {
        entries
            .iter()
            .map(|e| (e.tag.as_str(), e.reason_code))
            .collect()
    }

    #[test]
    fn future_dates_and_month_names_are_kept_until_the_month_ends() {
        let set = definitions(&stream(&[
            "2027-01-01",
            "v1.0.0-oct-2025",
            "v1.0.0-sep-2025",
        ]));
        let r = run(&set, &BTreeMap::new(), &PrunePolicy::default(), &[]);
        // Sep 2025 ends on the 30th: 93 days before now; October ends 62 days before.
        assert_eq!(codes(&r.candidates), [("v1.0.0-sep-2025", EXPIRED)]);
        assert_eq!(
            codes(&r.kept),
            [
                ("2027-01-01", "too-young"),
                ("v1.0.0-oct-2025", "newest-of-series")
            ]
        );
        assert!(r.kept[0].reason.contains("dated in the future"));
        assert!(r.kept[1].reason.contains("within the 90-day limit"));
        assert_eq!(r.dated_tags, 3);
    }

    #[test]
    fn all_reasons_are_listed_most_decisive_first() {
        let set = definitions(&stream(&["latest-20200101", "nightly-20200101"]));
        let policy = PrunePolicy {
            protect: vec!["latest*".into()],
            ..PrunePolicy::default()
        };
        let uses = [TagUse {
            file: "deploy/a.yaml".into(),
            namespace: None,
            stream: "app".into(),
            tag: "latest-20200101".into(),
            kind: UseKind::Annotation,
        }];
        let r = run(&set, &BTreeMap::new(), &policy, &uses);
        assert_eq!(codes(&r.kept), [("latest-20200101", "protected")]);
        assert_eq!(
            r.kept[0].reason,
            "protected by `latest*`; named by the `image.openshift.io/triggers` annotation in `deploy/a.yaml`"
        );
        assert_eq!(codes(&r.candidates), [("nightly-20200101", EXPIRED)]);
        // A use in another namespace does not count.
        let other = [TagUse {
            namespace: Some("elsewhere".into()),
            tag: "nightly-20200101".into(),
            ..uses[0].clone()
        }];
        let r = run(&set, &BTreeMap::new(), &policy, &other);
        assert_eq!(codes(&r.candidates), [("nightly-20200101", EXPIRED)]);
    }

    fn live_with_history(
        created: &[&str],
        creation: Option<&str>,
    ) -> BTreeMap<StreamKey, ImageStream> {
        let mut s = ImageStream::new("team", "app");
        s.metadata.creation_timestamp = creation.map(str::to_owned);
        s.status = Some(ImageStreamStatus {
            tags: vec![NamedTagEventList {
                tag: "latest".into(),
                items: created
                    .iter()
                    .enumerate()
                    .map(|(i, c)| TagEvent {
                        created: (*c).to_owned(),
                        docker_image_reference: format!("quay.io/a/app@sha256:{i:x}{:063x}", 0),
                        image: format!("sha256:{i:x}{:063x}", 0),
                        generation: 1,
                    })
                    .collect(),
                conditions: Vec::new(),
            }],
            ..ImageStreamStatus::default()
        });
        BTreeMap::from([(s.key(), s)])
    }

    #[test]
    fn history_rules() {
        let set = definitions(&stream(&["latest"]));
        let old = "2025-01-01T00:00:00Z";
        let live = live_with_history(&[old, old, "not a time", old], None);
        let policy = PrunePolicy {
            keep_tag_revisions: 1,
            ..PrunePolicy::default()
        };
        let r = run(&set, &live, &policy, &[]);
        let revs: Vec<(Option<usize>, &str)> = r
            .candidates
            .iter()
            .chain(&r.kept)
            .map(|e| (e.revision, e.reason_code))
            .collect();
        assert_eq!(
            revs,
            [
                (Some(1), HISTORY),
                (Some(3), HISTORY),
                (Some(2), "unknown-age")
            ]
        );
        assert_eq!(r.candidates[0].age_days, 365);

        // With no revisions kept, the current image of a tag in use stays.
        let policy = PrunePolicy {
            keep_tag_revisions: 0,
            ..PrunePolicy::default()
        };
        let uses = [TagUse {
            file: "deploy/a.yaml".into(),
            namespace: Some("team".into()),
            stream: "app".into(),
            tag: "latest".into(),
            kind: UseKind::ImageStreamTag,
        }];
        let live = live_with_history(&[old, old], None);
        let r = run(&set, &live, &policy, &uses);
        assert_eq!(codes(&r.kept), [("latest", "in-use")]);
        assert_eq!(r.candidates.len(), 1);

        // A stream younger than keep_younger_than is left alone.
        let live = live_with_history(&[old, old, old, old], Some("2025-12-31T23:30:00Z"));
        let r = run(&set, &live, &PrunePolicy::default(), &[]);
        assert!(r.candidates.is_empty());
        assert_eq!(codes(&r.kept), [("latest", "stream-too-young")]);
    }

    #[test]
    fn short_image_ids_reference_history_like_openshift() {
        let yaml = format!(
            "{}  - name: pinned\n    from: {{kind: ImageStreamImage, name: \"app@{}\"}}\n",
            stream(&["latest"]),
            &format!("3{:063x}", 0)[..10]
        );
        let set = definitions(&yaml);
        let old = "2025-01-01T00:00:00Z";
        let live = live_with_history(&[old, old, old, old, old], None);
        let r = run(&set, &live, &PrunePolicy::default(), &[]);
        assert_eq!(
            r.kept
                .iter()
                .map(|e| (e.revision, e.reason_code))
                .collect::<Vec<_>>(),
            [(Some(3), "referenced")]
        );
        assert_eq!(r.candidates.len(), 1);
    }
}
