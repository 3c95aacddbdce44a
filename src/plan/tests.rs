use super::*;
use crate::model::{NamedTagEventList, ObjectReference, TagEventCondition, TagImportPolicy};

fn docker(name: &str, from: &str) -> TagReference {
    TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: from.into(),
            namespace: None,
        }),
        ..TagReference::default()
    }
}

fn stream(tags: Vec<TagReference>) -> ImageStream {
    let mut s = ImageStream::new("demo", "app");
    s.spec.tags = tags;
    s
}

fn live_of(s: &ImageStream, generation: i64) -> ImageStream {
    let mut l = normalize(s);
    l.metadata.generation = Some(generation);
    for t in &mut l.spec.tags {
        t.generation = Some(generation);
    }
    l
}

fn plan(desired: &ImageStream, live: Option<ImageStream>) -> Plan {
    let live: BTreeMap<_, _> = live.into_iter().map(|l| (l.key(), l)).collect();
    compute(
        [desired],
        &live,
        &Observations::default(),
        &Options::default(),
    )
}

fn actions(p: &Plan) -> Vec<(Action, Option<String>)> {
    p.changes
        .iter()
        .map(|c| (c.action, c.tag.clone()))
        .collect()
}

#[test]
fn new_stream_creates_adds_and_imports() {
    let d = stream(vec![docker("1.0", "quay.io/x/app:1.0")]);
    let p = plan(&d, None);
    assert_eq!(
        actions(&p),
        vec![
            (Action::CreateStream, None),
            (Action::AddTag, Some("1.0".into())),
            (Action::Import, Some("1.0".into())),
        ]
    );
    assert_eq!(
        p.summary(),
        Summary {
            add: 2,
            change: 0,
            remove: 0,
            import: 1,
            rollout: 0
        }
    );
}

#[test]
fn defaults_and_empty_maps_are_not_differences() {
    let mut d = stream(vec![docker("1.0", "quay.io/x/app:1.0")]);
    let mut live = live_of(&d, 1);
    live.status = Some(crate::model::ImageStreamStatus {
        docker_image_repository: String::new(),
        public_docker_image_repository: String::new(),
        tags: vec![NamedTagEventList {
            tag: "1.0".into(),
            items: vec![TagEvent {
                created: "t".into(),
                docker_image_reference: "quay.io/x/app@sha256:aa".into(),
                image: "sha256:aa".into(),
                generation: 1,
            }],
            conditions: vec![],
        }],
    });
    d.spec.tags[0].annotations = Some(BTreeMap::new());
    d.spec.tags[0].reference_policy.kind = "Source".into();
    d.spec.tags[0].generation = Some(7);
    assert!(plan(&d, Some(live)).is_empty());
}

#[test]
fn only_tag_ref_changes_import_again() {
    let d = stream(vec![docker("1.0", "quay.io/x/app:1.0")]);
    let mut live = live_of(&d, 1);
    live.status = Some(crate::model::ImageStreamStatus {
        docker_image_repository: String::new(),
        public_docker_image_repository: String::new(),
        tags: vec![NamedTagEventList {
            tag: "1.0".into(),
            items: vec![TagEvent {
                created: "t".into(),
                docker_image_reference: "r".into(),
                image: "sha256:aa".into(),
                generation: 1,
            }],
            conditions: vec![],
        }],
    });
    // Scheduled and annotations: update only.
    let mut d2 = d.clone();
    d2.spec.tags[0].import_policy = TagImportPolicy {
        scheduled: true,
        ..TagImportPolicy::default()
    };
    assert_eq!(
        actions(&plan(&d2, Some(live.clone()))),
        vec![(Action::UpdateTag, Some("1.0".into()))]
    );
    // Import mode: update and import.
    let mut d3 = d.clone();
    d3.spec.tags[0].import_policy.import_mode = "PreserveOriginal".into();
    assert_eq!(
        actions(&plan(&d3, Some(live.clone()))),
        vec![
            (Action::UpdateTag, Some("1.0".into())),
            (Action::Import, Some("1.0".into()))
        ]
    );
    // A failed import recorded at the tag's generation stays pending as a retry, with the
    // failure's reason, until an import succeeds.
    let mut failed = live.clone();
    if let Some(s) = &mut failed.status {
        s.tags[0].items.clear();
        s.tags[0].conditions.push(TagEventCondition {
            kind: "ImportSuccess".into(),
            status: "False".into(),
            reason: "Unreachable".into(),
            message: "connection refused".into(),
            generation: 1,
            ..TagEventCondition::default()
        });
    }
    let retry = plan(&d, Some(failed));
    assert_eq!(actions(&retry), vec![(Action::Import, Some("1.0".into()))]);
    assert_eq!(
        retry.changes[0].reason,
        "retry: Unreachable: connection refused"
    );
    // A spec generation above what was observed is pending.
    let mut pending = live;
    pending.spec.tags[0].generation = Some(2);
    assert_eq!(
        actions(&plan(&d, Some(pending))),
        vec![(Action::Import, Some("1.0".into()))]
    );
}

#[test]
fn unmanaged_unless_pruning() {
    let d = stream(vec![]);
    let mut other = ImageStream::new("demo", "old");
    other.spec.tags.push(docker("x", "quay.io/x/old:1"));
    let live: BTreeMap<_, _> = [(other.key(), live_of(&other, 1))].into();
    let p = compute(
        [&d],
        &live,
        &Observations::default(),
        &Options { prune: false },
    );
    assert_eq!(p.unmanaged, vec![StreamKey::new("demo", "old")]);
    assert!(!p.changes.iter().any(|c| c.action == Action::DeleteStream));
    let p = compute(
        [&d],
        &live,
        &Observations::default(),
        &Options { prune: true },
    );
    assert!(p.unmanaged.is_empty());
    assert!(
        p.changes
            .iter()
            .any(|c| c.action == Action::DeleteStream && c.stream == "old")
    );
}

#[test]
fn image_id_prefix_resolution() {
    let mut s = ImageStream::new("demo", "app");
    let ev = |img: &str| TagEvent {
        created: "t".into(),
        docker_image_reference: format!("q/app@{img}"),
        image: img.into(),
        generation: 1,
    };
    s.status = Some(crate::model::ImageStreamStatus {
        docker_image_repository: String::new(),
        public_docker_image_repository: String::new(),
        tags: vec![
            NamedTagEventList {
                tag: "a".into(),
                items: vec![ev("sha256:3a33aa"), ev("sha256:3a44bb")],
                conditions: vec![],
            },
            NamedTagEventList {
                tag: "b".into(),
                items: vec![ev("sha256:3a33aa")],
                conditions: vec![],
            },
        ],
    });
    assert_eq!(resolve_image_id(&s, "3a33").unwrap().image, "sha256:3a33aa");
    assert_eq!(
        resolve_image_id(&s, "sha256:3a4").unwrap().image,
        "sha256:3a44bb"
    );
    let err = resolve_image_id(&s, "3a").unwrap_err();
    assert!(err.contains("sha256:3a33aa, sha256:3a44bb"), "{err}");
    assert!(resolve_image_id(&s, "ff").unwrap_err().contains("no image"));
}

#[test]
fn base_marks_introduced_changes() {
    let base = stream(vec![docker("1.0", "quay.io/x/app:1.0")]);
    let head = stream(vec![
        docker("1.0", "quay.io/x/app:1.0"),
        docker("2.0", "quay.io/x/app:2.0"),
    ]);
    let mut p = plan(&head, None);
    p.mark_introduced(&plan(&base, None));
    let introduced: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.introduced == Some(true))
        .map(|c| (c.action, c.tag.clone()))
        .collect();
    assert_eq!(
        introduced,
        vec![
            (Action::AddTag, Some("2.0".into())),
            (Action::Import, Some("2.0".into()))
        ]
    );
}

#[test]
fn markdown_stays_within_budget() {
    let tags: Vec<TagReference> = (0..40)
        .map(|i| docker(&format!("t{i}"), &format!("quay.io/x/app:{i}")))
        .collect();
    let desired: Vec<ImageStream> = (0..300)
        .map(|i| {
            let mut s = ImageStream::new("demo", &format!("app{i:03}"));
            s.spec.tags = tags.clone();
            s
        })
        .collect();
    let p = compute(
        desired.iter(),
        &BTreeMap::new(),
        &Observations::default(),
        &Options::default(),
    );
    let md = render::markdown(&p);
    assert!(md.len() <= render::MARKDOWN_BUDGET, "{}", md.len());
    assert!(md.starts_with(render::MARKDOWN_MARKER));
    assert!(md.contains("_Truncated:"), "no truncation note");
    assert!(md.contains("Plan: 12300 to add, 0 to change, 0 to remove, 12000 to import."));
}

#[test]
fn many_rollouts_keep_the_comment_within_budget() {
    let mut plan = Plan::default();
    for i in 0..3_000 {
        plan.rollouts.rollouts.push(crate::rollout::Rollout {
            file: format!("deploy/app{i:04}.yaml"),
            line: 12,
            kind: "Deployment".into(),
            namespace: "team".into(),
            name: format!("app{i:04}"),
            container: "web".into(),
            field_path: "spec.template.spec.containers[0].image".into(),
            before: Some(" ".into()),
            after: format!("quay.io/team/app{i:04}@sha256:{}", "a".repeat(64)),
            from: format!("team/app{i:04}:latest"),
            introduced: None,
            doc: 0,
            container_path: Vec::new(),
            last_triggered: None,
        });
    }
    let md = render::markdown(&plan);
    assert!(md.len() <= render::MARKDOWN_BUDGET, "{}", md.len());
    assert!(md.contains("### Roll-outs"), "{md}");
    assert!(md.contains(" more lines\n```"), "{md}");
    assert!(
        md.contains("Would roll 3000 containers in 3000 files."),
        "{md}"
    );
    assert!(md.contains("Not every line is shown"), "{md}");
    assert_eq!(plan.summary().rollout, 3_000);
    assert!(render::text(&plan, false).ends_with("0 to import, 3000 to roll.\n"));
}

#[test]
fn colour_is_streamsync_s_own_and_outside_escape_sequences_stay_visible() {
    let mut plan = Plan::default();
    plan.changes.push(Change {
        action: Action::Import,
        namespace: "team".into(),
        stream: "app".into(),
        tag: Some("v1".into()),
        before: None,
        after: Some(serde_json::json!({"from": "quay.io/org/app:v1", "importMode": "Legacy"})),
        // A registry's message, recorded in the state: it tries to hide what follows.
        reason: "retry: NotFound: \x1b[8mhidden\x1b[0m".into(),
        introduced: None,
    });
    plan.changes.push(Change {
        action: Action::RemoveTag,
        namespace: "team".into(),
        stream: "app".into(),
        tag: Some("old".into()),
        before: Some(serde_json::json!({"name": "old"})),
        after: None,
        reason: "not in the definitions".into(),
        introduced: None,
    });
    let painted = render::text(&plan, true);
    assert!(!painted.contains("\x1b[8m"), "{painted:?}");
    assert!(painted.contains("\\u{1b}[8mhidden"), "{painted:?}");
    // Its own colours are still there: the import marker in cyan, the removal in red.
    assert!(
        painted.contains("  \x1b[36m<= import team/app:v1\x1b[0m  (retry"),
        "{painted:?}"
    );
    assert!(
        painted.contains("  \x1b[31m- remove tag team/app:old\x1b[0m  (not in"),
        "{painted:?}"
    );
    // Without colour the text is the same, less the colour.
    let plain = render::text(&plan, false);
    assert_eq!(
        crate::util::escape_text(&plain, true),
        painted
            .replace("\x1b[36m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "")
    );
}

#[test]
fn an_image_recorded_under_two_pull_specs_resolves_to_the_last_as_upstream() {
    let mut s = ImageStream::new("demo", "app");
    let ev = |reference: &str| TagEvent {
        created: "t".into(),
        docker_image_reference: reference.into(),
        image: "sha256:3a33aa".into(),
        generation: 1,
    };
    s.status = Some(crate::model::ImageStreamStatus {
        docker_image_repository: String::new(),
        public_docker_image_repository: String::new(),
        tags: vec![
            NamedTagEventList {
                tag: "a".into(),
                items: vec![ev("quay.io/one/app@sha256:3a33aa")],
                conditions: vec![],
            },
            NamedTagEventList {
                tag: "b".into(),
                items: vec![ev("quay.io/two/app@sha256:3a33aa")],
                conditions: vec![],
            },
        ],
    });
    assert_eq!(
        resolve_image_id(&s, "3a33").unwrap().docker_image_reference,
        "quay.io/two/app@sha256:3a33aa"
    );
}
