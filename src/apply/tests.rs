use super::*;
use crate::model::{ImageMeta, ObjectReference};
use crate::plan::{Observations, Options, compute};
use crate::registry::{FailureReason, ImportFailure, RequestCounts, Resolved};

/// Resolves `host/repo:tag` to a digest derived from the pull spec; `down.example` is
/// unreachable and `missing.example` answers NotFound.
struct TestResolver {
    salt: &'static str,
}

impl Resolver for TestResolver {
    fn resolve_all(
        &self,
        requests: &[ImportRequest],
        _known: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<Resolved, ImportFailure>> {
        requests
            .iter()
            .map(|r| {
                if r.pullspec.starts_with("down.example") {
                    return Err(ImportFailure::new(
                        FailureReason::Unreachable,
                        "connection refused",
                    ));
                }
                if r.pullspec.starts_with("missing.example") {
                    return Err(ImportFailure::new(
                        FailureReason::NotFound,
                        "manifest unknown",
                    ));
                }
                let digest = format!(
                    "sha256:{}",
                    hex::encode(sha2::Sha256::digest(format!("{}{}", self.salt, r.pullspec)))
                );
                let repo = r
                    .pullspec
                    .rsplit_once(':')
                    .map_or(r.pullspec.as_str(), |(a, _)| a);
                Ok(Resolved {
                    platform_images: Vec::new(),
                    docker_image_reference: format!("{repo}@{digest}"),
                    image: Some(Image {
                        metadata: ImageMeta {
                            name: digest.clone(),
                            ..ImageMeta::default()
                        },
                        ..Image::default()
                    }),
                    digest,
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

use sha2::Digest as _;

fn tag(name: &str, kind: &str, from: &str) -> TagReference {
    TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: kind.into(),
            name: from.into(),
            namespace: None,
        }),
        ..TagReference::default()
    }
}

fn run(
    desired: &[ImageStream],
    live: &BTreeMap<StreamKey, ImageStream>,
    salt: &'static str,
) -> (BTreeMap<StreamKey, ImageStream>, Applied) {
    let p = compute(
        desired.iter(),
        live,
        &Observations::default(),
        &Options::default(),
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let resolver = TestResolver { salt };
    let env = Env {
        resolver: &resolver,
        image_known: &|_| false,
        now: "2026-01-01T00:00:00Z".into(),
        cluster: crate::model::Cluster::default(),
        on_image: None,
    };
    let applied = execute(live, &p.changes, &env);
    let mut next = live.clone();
    for (k, s) in &applied.streams {
        match s {
            Some(s) => next.insert(k.clone(), s.clone()),
            None => next.remove(k),
        };
    }
    let again = compute(
        desired.iter(),
        &next,
        &Observations::default(),
        &Options::default(),
    );
    // After a successful apply the plan is empty; what failed to import stays as a retry,
    // and nothing else.
    let failed: Vec<(StreamKey, Option<String>)> = applied
        .results
        .iter()
        .filter(|r| r.change.action == Action::Import && r.outcome != Outcome::Done)
        .map(|r| (r.change.key(), r.change.tag.clone()))
        .collect();
    assert!(
        again.changes.iter().all(|c| c.action == Action::Import
            && c.reason.starts_with(crate::plan::RETRY_PREFIX)
            && failed.contains(&(c.key(), c.tag.clone()))),
        "plan after apply: {:?}",
        again.changes
    );
    (next, applied)
}

fn app(tags: Vec<TagReference>) -> ImageStream {
    let mut s = ImageStream::new("demo", "app");
    s.spec.tags = tags;
    s
}

#[test]
fn history_rule_follows_openshift() {
    let mut st = ImageStreamStatus::default();
    let ev = |r: &str, i: &str, g: i64| TagEvent {
        created: "t".into(),
        docker_image_reference: r.into(),
        image: i.into(),
        generation: g,
    };
    assert!(add_tag_event(&mut st, "x", ev("r1", "i1", 1)));
    assert!(!add_tag_event(&mut st, "x", ev("r1", "i1", 1)));
    assert!(add_tag_event(&mut st, "x", ev("r1", "i1", 2)));
    assert_eq!(st.tags[0].items.len(), 1);
    assert_eq!(st.tags[0].items[0].generation, 2);
    assert!(add_tag_event(&mut st, "x", ev("r1", "i2", 2)));
    assert_eq!(
        (st.tags[0].items.len(), st.tags[0].items[0].image.as_str()),
        (1, "i2")
    );
    assert!(add_tag_event(&mut st, "x", ev("r2", "i2", 2)));
    assert_eq!(
        (
            st.tags[0].items.len(),
            st.tags[0].items[0].docker_image_reference.as_str()
        ),
        (1, "r2")
    );
    assert!(add_tag_event(&mut st, "x", ev("r3", "i3", 3)));
    assert_eq!(st.tags[0].items.len(), 2);
    assert_eq!(st.tags[0].items[0].image, "i3");
}

#[test]
fn imports_reference_copies_and_tracking_then_empty_plan() {
    let desired = vec![app(vec![
        tag("1.0", "DockerImage", "quay.io/x/app:1.0"),
        tag("latest", "ImageStreamTag", "app:1.0"),
        {
            let mut t = tag("ref", "DockerImage", "quay.io/x/app:ref");
            t.reference = true;
            t
        },
    ])];
    let (live, applied) = run(&desired, &BTreeMap::new(), "a");
    assert!(!applied.has_errors() && !applied.is_incomplete());
    assert_eq!(applied.images.len(), 1);
    let s = &live[&StreamKey::new("demo", "app")];
    let h10 = s.status_tag("1.0").unwrap().items[0].clone();
    assert!(
        h10.docker_image_reference
            .starts_with("quay.io/x/app@sha256:")
    );
    assert_eq!(s.status_tag("latest").unwrap().items[0].image, h10.image);
    let r = &s.status_tag("ref").unwrap().items[0];
    assert_eq!(
        (r.docker_image_reference.as_str(), r.image.as_str()),
        ("quay.io/x/app:ref", "")
    );
    assert_eq!(s.metadata.generation, Some(1));

    // Upstream moves and the source changes: a new event is prepended and `latest` follows.
    let desired2 = vec![app(vec![
        tag("1.0", "DockerImage", "quay.io/x/app:1.0.1"),
        tag("latest", "ImageStreamTag", "app:1.0"),
        {
            let mut t = tag("ref", "DockerImage", "quay.io/x/app:ref");
            t.reference = true;
            t
        },
    ])];
    let (live2, _) = run(&desired2, &live, "b");
    let s2 = &live2[&StreamKey::new("demo", "app")];
    assert_eq!(s2.status_tag("1.0").unwrap().items.len(), 2);
    assert_eq!(
        s2.status_tag("latest").unwrap().items[0].image,
        s2.status_tag("1.0").unwrap().items[0].image
    );
    assert_eq!(s2.status_tag("latest").unwrap().items.len(), 2);
    assert_eq!(s2.metadata.generation, Some(2));
    assert_eq!(s2.spec_tag("1.0").unwrap().generation, Some(2));
    assert_eq!(s2.spec_tag("latest").unwrap().generation, Some(1));
}

#[test]
fn failed_import_records_condition_and_keeps_history() {
    let (live, _) = run(
        &[app(vec![tag("1.0", "DockerImage", "quay.io/x/app:1.0")])],
        &BTreeMap::new(),
        "a",
    );
    let (live2, applied) = run(
        &[app(vec![tag(
            "1.0",
            "DockerImage",
            "down.example/x/app:1.0",
        )])],
        &live,
        "a",
    );
    assert!(applied.is_incomplete() && !applied.has_errors());
    let h = live2[&StreamKey::new("demo", "app")]
        .status_tag("1.0")
        .unwrap()
        .clone();
    assert_eq!(
        h.items,
        live[&StreamKey::new("demo", "app")]
            .status_tag("1.0")
            .unwrap()
            .items
    );
    assert_eq!(h.conditions[0].reason, "Unreachable");
    assert_eq!(h.conditions[0].status, "False");
    let (_, applied) = run(
        &[app(vec![tag(
            "1.0",
            "DockerImage",
            "missing.example/x/app:1.0",
        )])],
        &live,
        "a",
    );
    assert!(applied.has_errors());
}

#[test]
fn image_stream_image_pins_by_prefix_and_removal_drops_history() {
    let (live, _) = run(
        &[app(vec![tag("1.0", "DockerImage", "quay.io/x/app:1.0")])],
        &BTreeMap::new(),
        "a",
    );
    let digest = live[&StreamKey::new("demo", "app")]
        .status_tag("1.0")
        .unwrap()
        .items[0]
        .image
        .clone();
    let prefix = &digest["sha256:".len().."sha256:".len() + 7];
    let desired = vec![app(vec![
        tag("1.0", "DockerImage", "quay.io/x/app:1.0"),
        tag("pinned", "ImageStreamImage", &format!("app@{prefix}")),
    ])];
    let (live2, _) = run(&desired, &live, "a");
    let s = &live2[&StreamKey::new("demo", "app")];
    assert_eq!(s.status_tag("pinned").unwrap().items[0].image, digest);
    let (live3, _) = run(
        &[app(vec![tag("1.0", "DockerImage", "quay.io/x/app:1.0")])],
        &live2,
        "a",
    );
    assert!(
        live3[&StreamKey::new("demo", "app")]
            .status_tag("pinned")
            .is_none()
    );
    assert!(
        live3[&StreamKey::new("demo", "app")]
            .spec_tag("pinned")
            .is_none()
    );
}

#[test]
fn stale_changes_fail_without_stopping_the_rest() {
    let desired = vec![app(vec![tag("1.0", "DockerImage", "quay.io/x/app:1.0")])];
    let p = compute(
        desired.iter(),
        &BTreeMap::new(),
        &Observations::default(),
        &Options::default(),
    );
    let (live, _) = run(&desired, &BTreeMap::new(), "a");
    let resolver = TestResolver { salt: "a" };
    let env = Env {
        resolver: &resolver,
        image_known: &|_| false,
        now: "2026-01-01T00:00:00Z".into(),
        cluster: crate::model::Cluster::default(),
        on_image: None,
    };
    // Applying the same plan again: the stream exists, so its changes fail; nothing is written.
    let applied = execute(&live, &p.changes, &env);
    assert!(applied.has_errors());
    assert!(applied.streams.is_empty());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A tag of one of the kinds a definition can hold; `source` picks another tag of the
    /// same stream for ImageStreamTag sources.
    fn arb_tag(index: usize) -> impl Strategy<Value = (u8, u8, bool, Option<String>)> {
        let _ = index;
        (
            0u8..4,
            0u8..3,
            any::<bool>(),
            proptest::option::of("[a-c]{1,3}"),
        )
    }

    fn build(tags: &[(u8, u8, bool, Option<String>)], variant: u8) -> ImageStream {
        let mut s = ImageStream::new("demo", "app");
        for (i, (kind, version, scheduled, note)) in tags.iter().enumerate() {
            let name = format!("t{i}");
            let mut t = match kind {
                0 => tag(
                    &name,
                    "DockerImage",
                    &format!("quay.io/x/app:{version}.{variant}"),
                ),
                1 => {
                    let mut t = tag(&name, "DockerImage", &format!("quay.io/x/ref:{version}"));
                    t.reference = true;
                    t
                }
                // Follow an earlier tag (or the first): no cycles, like validated definitions.
                2 if i > 0 => tag(
                    &name,
                    "ImageStreamTag",
                    &format!("app:t{}", usize::from(*version) % i),
                ),
                _ => tag(
                    &name,
                    "DockerImage",
                    &format!("down.example/x/app:{version}"),
                ),
            };
            t.import_policy.scheduled = *scheduled && t.is_importable();
            if let Some(n) = note {
                t.annotations = Some([("description".to_owned(), n.clone())].into());
            }
            s.spec.tags.push(t);
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the live state was made from, applying the plan of new definitions leaves
        /// an empty plan behind (DESIGN.md: the invariant every scenario checks).
        #[test]
        fn a_plan_after_apply_is_empty(
            before in proptest::collection::vec(arb_tag(0), 0..6),
            after in proptest::collection::vec(arb_tag(0), 0..6),
            variant in 0u8..3,
        ) {
            let (live, _) = run(&[build(&before, 0)], &BTreeMap::new(), "a");
            let (next, applied) = run(&[build(&after, variant)], &live, "b");
            prop_assert!(!applied.has_errors());
            // Tracking tags hold their source's current image.
            let s = &next[&StreamKey::new("demo", "app")];
            for t in &s.spec.tags {
                let Some(from) = &t.from else { continue };
                if from.kind != "ImageStreamTag" { continue; }
                let src = from.name.split_once(':').map(|(_, t)| t).unwrap_or_default();
                let head = |n: &str| s.status_tag(n).and_then(|h| h.items.first()).map(|e| e.image.clone());
                if head(src).is_some() {
                    prop_assert_eq!(head(&t.name), head(src), "tag {} follows {}", t.name, src);
                }
            }
        }
    }
}

fn head_of(live: &BTreeMap<StreamKey, ImageStream>, stream: &str, tag: &str) -> Option<TagEvent> {
    live[&StreamKey::new("demo", stream)]
        .status_tag(tag)
        .and_then(|h| h.items.first().cloned())
}

#[test]
fn short_forms_chains_and_definition_order_all_resolve_on_create() {
    // `latest` is defined before what it tracks, in the short form the sample library uses,
    // and through a chain: latest → stable → 2.0 → DockerImage.
    let desired = vec![app(vec![
        tag("latest", "ImageStreamTag", "stable"),
        tag("stable", "ImageStreamTag", "2.0"),
        tag("2.0", "DockerImage", "quay.io/x/app:2.0"),
        tag("long", "ImageStreamTag", "app:2.0"),
    ])];
    let (live, _) = run(&desired, &BTreeMap::new(), "a");
    let source = head_of(&live, "app", "2.0").expect("2.0 imported");
    for t in ["latest", "stable", "long"] {
        let h = head_of(&live, "app", t).unwrap_or_else(|| panic!("{t} has no image"));
        assert_eq!(
            (&h.image, &h.docker_image_reference),
            (&source.image, &source.docker_image_reference),
            "{t}"
        );
    }
    // The source moves: every follower follows in the same apply.
    let (live2, _) = run(&desired, &live, "a");
    assert_eq!(live2, live, "an unchanged apply changes nothing");
    let moved = vec![app(vec![
        tag("latest", "ImageStreamTag", "stable"),
        tag("stable", "ImageStreamTag", "2.0"),
        tag("2.0", "DockerImage", "quay.io/x/app:2.0.1"),
        tag("long", "ImageStreamTag", "app:2.0"),
    ])];
    let (live3, _) = run(&moved, &live, "a");
    let source = head_of(&live3, "app", "2.0").unwrap();
    assert_ne!(Some(&source), head_of(&live, "app", "2.0").as_ref());
    for t in ["latest", "stable", "long"] {
        assert_eq!(
            head_of(&live3, "app", t).unwrap().image,
            source.image,
            "{t}"
        );
    }
}

#[test]
fn short_image_ids_pin_an_image_of_the_same_stream() {
    let (live, _) = run(
        &[app(vec![tag("2.0", "DockerImage", "quay.io/x/app:2.0")])],
        &BTreeMap::new(),
        "a",
    );
    let digest = head_of(&live, "app", "2.0").unwrap().image;
    let hex = digest.trim_start_matches("sha256:");
    let desired = vec![app(vec![
        tag("2.0", "DockerImage", "quay.io/x/app:2.0"),
        tag("by-digest", "ImageStreamImage", &digest),
        tag("by-prefix", "ImageStreamImage", &hex[..7]),
        tag("long", "ImageStreamImage", &format!("app@{digest}")),
    ])];
    let (live2, _) = run(&desired, &live, "a");
    for t in ["by-digest", "by-prefix", "long"] {
        assert_eq!(head_of(&live2, "app", t).unwrap().image, digest, "{t}");
    }
}

#[test]
fn another_streams_tag_is_copied_after_this_applys_imports_whatever_the_order() {
    // `aaa` sorts before `zzz`, whose import it copies.
    let mut first = ImageStream::new("demo", "aaa");
    first.spec.tags = vec![tag("copy", "ImageStreamTag", "zzz:1.0")];
    let mut source = ImageStream::new("demo", "zzz");
    source.spec.tags = vec![tag("1.0", "DockerImage", "quay.io/x/zzz:1.0")];
    let (live, _) = run(&[first, source], &BTreeMap::new(), "a");
    assert_eq!(
        head_of(&live, "aaa", "copy").map(|e| e.image),
        head_of(&live, "zzz", "1.0").map(|e| e.image)
    );
}

#[test]
fn a_tracking_tag_left_empty_by_an_older_state_is_repaired() {
    let desired = vec![app(vec![
        tag("2.0", "DockerImage", "quay.io/x/app:2.0"),
        tag("latest", "ImageStreamTag", "2.0"),
    ])];
    let (mut live, _) = run(&desired, &BTreeMap::new(), "a");
    let key = StreamKey::new("demo", "app");
    if let Some(st) = &mut live.get_mut(&key).unwrap().status {
        st.tags.retain(|t| t.tag != "latest");
    }
    let p = compute(
        desired.iter(),
        &live,
        &Observations::default(),
        &Options::default(),
    );
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(p.changes[0].action, Action::UpdateTag);
    assert!(
        p.changes[0].reason.contains("`2.0`"),
        "{}",
        p.changes[0].reason
    );
    let (live2, _) = run(&desired, &live, "a");
    assert_eq!(
        head_of(&live2, "app", "latest").unwrap().image,
        head_of(&live2, "app", "2.0").unwrap().image
    );
}
