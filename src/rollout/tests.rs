//! Library tests of roll-outs: scan, validate, plan and edit on small manifests and one
//! processed OpenShift template, each compared byte for byte with the expected text.

use std::collections::BTreeMap;

use super::*;
use crate::definition::source::SourceFile;
use crate::diagnostic::Severity;
use crate::policy::{Config, Policies};

const BBB: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Definitions: `shop/ruby` (tags 3.3 Source, local Local, gone with no import) and
/// `openshift/python` (3.11).
fn definitions() -> DefinitionSet {
    let text = r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: ruby, namespace: shop}
spec:
  tags:
  - name: "3.3"
    from: {kind: DockerImage, name: "quay.io/org/ruby:3.3"}
  - name: local
    from: {kind: DockerImage, name: "quay.io/org/ruby:local"}
    referencePolicy: {type: Local}
  - name: gone
    from: {kind: DockerImage, name: "quay.io/org/ruby:gone"}
---
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: python, namespace: openshift}
spec:
  tags:
  - name: "3.11"
    from: {kind: DockerImage, name: "quay.io/org/python:3.11"}
"#;
    let loaded = crate::definition::load_files(
        &[SourceFile {
            path: "definitions/streams.yaml".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        &Config::default(),
        &Policies::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.set
}

fn event(tag: &str, repo: &str, digest: &str) -> String {
    format!(
        "  - tag: \"{tag}\"\n    items:\n    - created: \"2026-01-01T00:00:00Z\"\n      dockerImageReference: \"{repo}@{digest}\"\n      image: \"{digest}\"\n      generation: 1\n"
    )
}

/// The live state: every defined tag imported at BBB except `gone`.
fn live() -> BTreeMap<StreamKey, ImageStream> {
    let ruby = format!(
        r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {{name: ruby, namespace: shop}}
spec:
  tags:
  - name: "3.3"
    from: {{kind: DockerImage, name: "quay.io/org/ruby:3.3"}}
  - name: local
    from: {{kind: DockerImage, name: "quay.io/org/ruby:local"}}
    referencePolicy: {{type: Local}}
  - name: gone
    from: {{kind: DockerImage, name: "quay.io/org/ruby:gone"}}
status:
  tags:
{}{}"#,
        event("3.3", "quay.io/org/ruby", BBB),
        event("local", "quay.io/org/ruby", BBB)
    );
    let python = format!(
        r#"
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {{name: python, namespace: openshift}}
spec:
  tags:
  - name: "3.11"
    from: {{kind: DockerImage, name: "quay.io/org/python:3.11"}}
status:
  tags:
{}"#,
        event("3.11", "quay.io/org/python", BBB)
    );
    [ruby, python]
        .iter()
        .map(|t| {
            let s: ImageStream = serde_saphyr::from_str(t).unwrap();
            (s.key(), s)
        })
        .collect()
}

fn cluster() -> Cluster {
    Cluster {
        internal_registry: "image-registry.openshift-image-registry.svc:5000".into(),
        public_registry: String::new(),
    }
}

fn manifest(path: &str, text: &str) -> Manifest {
    Manifest {
        path: path.into(),
        text: text.into(),
        unreadable: None,
    }
}

/// Scan, validate (expecting no errors), plan, and roll one file; the rolled text.
fn roll(path: &str, text: &str) -> (String, RolloutPlan, Vec<Diagnostic>) {
    let s = scan(&[manifest(path, text)]);
    let diags = validate(&s, &definitions(), "default");
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "{}",
        crate::diagnostic::render_text(&diags)
    );
    let p = plan(&s, &live(), &cluster(), "default");
    let out = apply_to_text(path, text, &p.rollouts).unwrap();
    (out, p, diags)
}

fn src(repo: &str) -> String {
    format!("{repo}@{BBB}")
}

const LOCAL: &str = "image-registry.openshift-image-registry.svc:5000/shop/ruby@";

#[test]
fn deployment_with_index_field_path_and_placeholder_image() {
    let text = r#"# the shop's web front
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]'
spec:
  template:
    spec:
      containers:
      - name: web   # keep me
        image: " "
        ports: [{containerPort: 8080}]
"#;
    let (out, p, diags) = roll("deploy/web.yaml", text);
    assert!(diags.is_empty());
    let expected = text.replace(
        "image: \" \"",
        &format!("image: \"{}\"", src("quay.io/org/ruby")),
    );
    assert_eq!(out, expected);
    assert_eq!(p.rollouts.len(), 1);
    let r = &p.rollouts[0];
    assert_eq!(
        (
            r.file.as_str(),
            r.line,
            r.kind.as_str(),
            r.namespace.as_str(),
            r.name.as_str()
        ),
        ("deploy/web.yaml", 14, "Deployment", "shop", "web")
    );
    assert_eq!(r.container, "web");
    assert_eq!(r.before.as_deref(), Some(" "));
    assert_eq!(r.from, "shop/ruby:3.3");
    let json = serde_json::to_value(r).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "file",
            "line",
            "kind",
            "namespace",
            "name",
            "container",
            "field_path",
            "before",
            "after",
            "from"
        ]
    );
    // Rolled once, nothing is left to roll.
    let again = plan(
        &scan(&[manifest("deploy/web.yaml", &out)]),
        &live(),
        &cluster(),
        "default",
    );
    assert!(again.is_empty() && again.skipped.is_empty());
}

#[test]
fn seed_guide_form_rolls_with_warnings() {
    let text = r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    image.openshift.io/triggers: |-
      [{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.containers[?(@.name='web')].image","paused":"false"}]
spec:
  containers:
  - name: sidecar
    image: busybox
  - name: web
    image: 'quay.io/org/ruby:3.3'
"#;
    let (out, p, diags) = roll("pod.yaml", text);
    assert_eq!(
        out,
        text.replace(
            "'quay.io/org/ruby:3.3'",
            &format!("'{}'", src("quay.io/org/ruby"))
        )
    );
    assert_eq!(p.rollouts[0].container, "web");
    assert_eq!(diags.len(), 3, "{diags:?}");
    assert!(
        diags
            .iter()
            .all(|d| d.severity == Severity::Warning && d.code == "trigger-ignored-by-openshift")
    );
    // The Pod itself (OpenShift never updates one), at the annotation; the two forms at the
    // entry's field path.
    assert_eq!((diags[0].line, diags[0].column), (8, 7));
    assert!(
        diags[0]
            .message
            .starts_with("Pod `web`: OpenShift's controller does not update")
    );
    assert!(diags[1..].iter().all(|d| (d.line, d.column) == (8, 73)));
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("ignores every trigger of Pod `web`"))
    );
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("`paused` is the string \"false\""))
    );
}

#[test]
fn every_kind_both_selectors_in_one_multi_document_file() {
    let ann = |path: &str| {
        format!(
            "  annotations:\n    image.openshift.io/triggers: >-\n      [{{\"from\":{{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:3.3\"}},\"fieldPath\":\"{}\"}}]\n",
            path.replace('"', "\\\"")
        )
    };
    let pod = |indent: &str| {
        format!(
            "{indent}containers:\n{indent}- name: app\n{indent}  image: old/app:1 # pinned by the trigger\n"
        )
    };
    let mut text = String::new();
    for (kind, spec) in [
        ("Deployment", "spec.template.spec"),
        ("StatefulSet", "spec.template.spec"),
        ("DaemonSet", "spec.template.spec"),
        ("Job", "spec.template.spec"),
        ("ReplicaSet", "spec.template.spec"),
        ("ReplicationController", "spec.template.spec"),
        ("CronJob", "spec.jobTemplate.spec.template.spec"),
        ("Pod", "spec"),
    ] {
        let selector = if kind.len() % 2 == 0 {
            "containers[0]"
        } else {
            r#"containers[?(@.name=="app")]"#
        };
        text.push_str(&format!(
            "---\nkind: {kind}\nmetadata:\n  name: {}\n  namespace: shop\n{}",
            kind.to_lowercase(),
            ann(&format!("{spec}.{selector}.image"))
        ));
        let parts: Vec<&str> = spec.split('.').collect();
        for (depth, part) in parts.iter().enumerate() {
            text.push_str(&format!("{}{part}:\n", "  ".repeat(depth)));
        }
        text.push_str(&pod(&"  ".repeat(parts.len())));
    }
    let (out, p, diags) = roll("all.yaml", &text);
    // OpenShift's controller updates none of these kinds: each is rolled, with a warning.
    let warned: Vec<&str> = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.code == "trigger-ignored-by-openshift")
        .map(|d| d.message.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        warned,
        ["Job", "ReplicaSet", "ReplicationController", "Pod"],
        "{diags:?}"
    );
    assert_eq!(diags.len(), 4, "{diags:?}");
    assert!(
        diags[0]
            .message
            .contains("a Job's or Pod's template cannot change once it is created"),
        "{diags:?}"
    );
    assert_eq!(p.rollouts.len(), 8);
    let expected = text.replace("old/app:1", &src("quay.io/org/ruby"));
    assert_eq!(out, expected);
    let kinds: BTreeSet<&str> = p.rollouts.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds.len(), 8);
}

#[test]
fn paused_and_waiting_are_skipped() {
    let text = r#"kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image","paused":true},{"from":{"kind":"ImageStreamTag","name":"ruby:gone"},"fieldPath":"spec.template.spec.containers[1].image"}]'
spec:
  template:
    spec:
      containers:
      - {name: a, image: x}
      - {name: b, image: y}
"#;
    let (out, p, _) = roll("w.yaml", text);
    assert_eq!(out, text);
    assert!(p.rollouts.is_empty());
    let got: Vec<(&str, SkipReason, &str)> = p
        .skipped
        .iter()
        .map(|s| (s.container.as_str(), s.reason, s.from.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", SkipReason::Paused, "shop/ruby:3.3"),
            ("b", SkipReason::Waiting, "shop/ruby:gone")
        ]
    );
}

#[test]
fn deployment_config_automatic_and_not_local_and_source() {
    let text = r#"apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: web
  namespace: shop
spec:
  triggers:
  - type: ConfigChange
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [web, init]
      from: {kind: ImageStreamTag, name: "ruby:local"}
      lastTriggeredImage: "quay.io/org/ruby@sha256:0000"
  - type: ImageChange
    imageChangeParams:
      automatic: false
      containerNames: [worker]
      from: {kind: ImageStreamTag, name: "python:3.11", namespace: openshift}
  template:
    spec:
      initContainers:
      - name: init
        image: "quay.io/org/ruby:local"
      containers:
      - name: web
        image: "quay.io/org/ruby:local"
      - name: worker
        image: "quay.io/org/python:3.11"
"#;
    let (out, p, _) = roll("dc.yaml", text);
    let local = format!("{LOCAL}{BBB}");
    // The trigger records the image it rolled to, as OpenShift's controller writes it; the
    // paused trigger, without the key, gets none.
    let expected = text
        .replacen(
            "image: \"quay.io/org/ruby:local\"",
            &format!("image: \"{local}\""),
            2,
        )
        .replace("quay.io/org/ruby@sha256:0000", &local);
    assert_eq!(out, expected);
    assert_eq!(out.matches("lastTriggeredImage").count(), 1);
    assert_eq!(p.rollouts.len(), 2);
    assert_eq!(
        p.rollouts[1].field_path,
        r#"spec.template.spec.containers[?(@.name=="web")].image"#
    );
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(
        (
            p.skipped[0].container.as_str(),
            p.skipped[0].reason,
            p.skipped[0].from.as_str()
        ),
        ("worker", SkipReason::Paused, "openshift/python:3.11")
    );
}

#[test]
fn crlf_and_other_documents_keep_their_bytes() {
    let text = "# first\r\nkind: ConfigMap\r\nmetadata: {name: c}\r\ndata:\r\n  image: \"keep\"\r\n---\r\nkind: Deployment\r\nmetadata:\r\n  name: w\r\n  annotations:\r\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:3.3\",\"namespace\":\"shop\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - name: w\r\n        # the image\r\n        image: old   # trailing\r\n";
    let (out, p, _) = roll("crlf.yaml", text);
    assert_eq!(
        out,
        text.replace(
            "image: old ",
            &format!("image: {} ", src("quay.io/org/ruby"))
        )
    );
    assert_eq!(p.rollouts[0].namespace, "default");
    assert_eq!(p.rollouts[0].line, 18);
}

#[test]
fn json_list_from_oc_process_with_a_build_output_and_a_missing_image() {
    let text = r#"{
    "kind": "List",
    "apiVersion": "v1",
    "metadata": {},
    "items": [
        {
            "apiVersion": "build.openshift.io/v1",
            "kind": "BuildConfig",
            "metadata": {"name": "app", "namespace": "shop"},
            "spec": {
                "output": {"to": {"kind": "ImageStreamTag", "name": "app:latest"}},
                "strategy": {"sourceStrategy": {"from": {"kind": "ImageStreamTag", "name": "python:3.11", "namespace": "openshift"}}}
            }
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "app",
                "namespace": "shop",
                "annotations": {
                    "image.openshift.io/triggers": "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"},{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"python:3.11\",\"namespace\":\"openshift\"},\"fieldPath\":\"spec.template.spec.containers[1].image\"}]"
                }
            },
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": " "
                            },
                            {
                                "name": "tools",
                                "command": ["sleep"]
                            }
                        ]
                    }
                }
            }
        }
    ]
}
"#;
    let (out, p, _) = roll("rendered/app.json", text);
    let expected = text.replace(
        "\"command\": [\"sleep\"]\n",
        &format!(
            "\"command\": [\"sleep\"],\n                                \"image\": \"{}\"\n",
            src("quay.io/org/python")
        ),
    );
    assert_eq!(out, expected);
    assert_eq!(p.rollouts.len(), 1);
    assert_eq!(p.rollouts[0].before, None);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].reason, SkipReason::Waiting);
    assert_eq!(p.skipped[0].from, "shop/app:latest");
}

#[test]
fn missing_image_key_is_added_in_the_containers_style() {
    let block = r#"kind: Deployment
metadata:
  name: w
  namespace: shop
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[1].image"}]'
spec:
  template:
    spec:
      containers:
      - name: a
        ports:
        - containerPort: 80
      - {name: b}
"#;
    let (out, _, _) = roll("w.yaml", block);
    let image = src("quay.io/org/ruby");
    let expected = block
        .replace(
            "        - containerPort: 80\n",
            &format!("        - containerPort: 80\n        image: {image}\n"),
        )
        .replace("{name: b}", &format!("{{name: b, image: {image}}}"));
    assert_eq!(out, expected);
}

fn errors(path: &str, text: &str) -> Vec<(u32, u32, &'static str, String)> {
    let s = scan(&[manifest(path, text)]);
    validate(&s, &definitions(), "default")
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| {
            assert!(d.hint.is_some(), "{d:?}");
            (d.line, d.column, d.code, d.message)
        })
        .collect()
}

fn deployment(annotation: &str) -> String {
    format!(
        "kind: Deployment\nmetadata:\n  name: w\n  namespace: shop\n  annotations:\n    image.openshift.io/triggers: '{annotation}'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: x\n"
    )
}

#[test]
fn each_validation_error_is_located_with_a_hint() {
    let fp = "spec.template.spec.containers[0].image";
    let cases = [
        ("[{not json".to_owned(), "trigger-json", "not valid JSON"),
        (
            format!(r#"[{{"from":{{"name":"ruby:3.3"}},"fieldPath":"{fp}"}}]"#),
            "trigger-kind",
            "has no `from.kind`",
        ),
        (
            format!(r#"[{{"from":{{"kind":"DockerImage","name":"ruby:3.3"}},"fieldPath":"{fp}"}}]"#),
            "trigger-kind",
            "`DockerImage`",
        ),
        (
            r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[3].image"}]"#.to_owned(),
            "trigger-field-path",
            "selects no container",
        ),
        (
            r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[?(@.name==\"api\")].image"}]"#.to_owned(),
            "trigger-field-path",
            "selects no container",
        ),
        (
            format!(r#"[{{"from":{{"kind":"ImageStreamTag","name":"ruby:3.3"}},"fieldPath":"{fp}"}},{{"from":{{"kind":"ImageStreamTag","name":"ruby:local"}},"fieldPath":"{fp}"}}]"#),
            "trigger-duplicate",
            "duplicate triggers are not allowed",
        ),
        (
            format!(r#"[{{"from":{{"kind":"ImageStreamTag","name":"ruby:9.9"}},"fieldPath":"{fp}"}}]"#),
            "trigger-unknown-tag",
            "stream `shop/ruby` has no tag `9.9`",
        ),
    ];
    for (annotation, code, message) in cases {
        let got = errors("w.yaml", &deployment(&annotation));
        assert_eq!(got.len(), 1, "{annotation}: {got:?}");
        // At the value of the entry's `fieldPath` (the duplicate: the second), else at the
        // annotation's opening quote, column 34.
        let key = r#""fieldPath":""#;
        let nth = usize::from(code == "trigger-duplicate");
        let column = annotation
            .match_indices(key)
            .nth(nth)
            .map_or(34, |(at, _)| 35 + at + key.len());
        let column = u32::try_from(column).unwrap();
        assert_eq!(
            (got[0].0, got[0].1, got[0].2),
            (6, column, code),
            "{annotation}"
        );
        assert!(got[0].3.contains(message), "{}", got[0].3);
    }
    let dc = "kind: DeploymentConfig\nmetadata: {name: d, namespace: shop}\nspec:\n  triggers:\n  - type: ImageChange\n    imageChangeParams:\n      automatic: true\n      containerNames: [nope]\n      from: {kind: ImageStreamTag, name: \"ruby:3.3\"}\n  template:\n    spec:\n      containers: [{name: web, image: x}]\n";
    // OpenShift ignores a container name that matches nothing: a warning, not an error.
    assert!(errors("dc.yaml", dc).is_empty());
    let s = scan(&[manifest("dc.yaml", dc)]);
    let got: Vec<_> = validate(&s, &definitions(), "default")
        .into_iter()
        .map(|d| (d.line, d.column, d.code, d.severity))
        .collect();
    assert_eq!(got, [(8, 24, "trigger-field-path", Severity::Warning)]);
}

#[test]
fn an_unreadable_manifest_is_an_error_and_the_others_still_roll() {
    let good = deployment(
        r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]"#,
    );
    let bad = "kind: Deployment\nmetadata:\n  annotations:\n    image.openshift.io/triggers: '[]'\n  bad: [\n";
    let s = scan(&[manifest("a/bad.yaml", bad), manifest("b/good.yaml", &good)]);
    let diags = validate(&s, &definitions(), "default");
    assert_eq!(diags.len(), 1);
    assert_eq!(
        (diags[0].file.as_str(), diags[0].code),
        ("a/bad.yaml", "manifest-parse")
    );
    let p = plan(&s, &live(), &cluster(), "default");
    assert_eq!(p.files(), ["b/good.yaml"]);
}

#[test]
fn find_and_write_touch_only_what_moves() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = deployment(
        r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]"#,
    );
    for (path, text) in [
        ("deploy/web.yaml", good.as_str()),
        ("deploy/notes.txt", good.as_str()),
        ("definitions/x.yaml", good.as_str()),
        ("state/x.yaml", good.as_str()),
        (".github/x.yaml", good.as_str()),
        ("other/x.yml", good.as_str()),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let all = find_manifests(root, &root.join("state"), &Default::default()).unwrap();
    let paths: Vec<&str> = all.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["deploy/web.yaml", "other/x.yml"]);
    let narrowed = crate::policy::RolloutConfig {
        paths: vec!["deploy/**".into()],
        ..Default::default()
    };
    let some = find_manifests(root, &root.join("state"), &narrowed).unwrap();
    assert_eq!(some.len(), 1);
    let p = plan(&scan(&some), &live(), &cluster(), "default");
    assert_eq!(write(root, &p.rollouts).unwrap(), ["deploy/web.yaml"]);
    let after = std::fs::read_to_string(root.join("deploy/web.yaml")).unwrap();
    assert_eq!(
        after,
        good.replace("image: x", &format!("image: {}", src("quay.io/org/ruby")))
    );
    let again = plan(
        &scan(&find_manifests(root, &root.join("state"), &narrowed).unwrap()),
        &live(),
        &cluster(),
        "default",
    );
    assert!(again.is_empty());
    assert!(write(root, &again.rollouts).unwrap().is_empty());
    let bad = crate::policy::RolloutConfig {
        paths: vec!["deploy/[".into()],
        ..Default::default()
    };
    assert!(find_manifests(root, &root.join("state"), &bad).is_err());
}

#[test]
fn the_example_repository_scans_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config: Config =
        toml::from_str(&std::fs::read_to_string(root.join("streamsync.toml")).unwrap()).unwrap();
    let manifests = find_manifests(root, &root.join("state"), &config.rollout).unwrap();
    let paths: Vec<&str> = manifests.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["deploy/ruby-hello.yaml"]);
    let loaded = crate::definition::load(
        &crate::definition::source::Source::WorkTree {
            root: root.to_path_buf(),
        },
        &config,
        &Policies::default(),
    );
    let s = scan(&manifests);
    assert_eq!(s.triggers.len(), 1);
    let diags = validate(&s, &loaded.unwrap().set, &config.default_namespace);
    assert!(diags.is_empty(), "{diags:?}");
}

/// `oc process -o json` output of OpenShift's nodejs-postgresql-example template: its own
/// build output (not built yet: waiting), and a DeploymentConfig whose container has no
/// `image` (OpenShift's controller fills it in: so does the roll-out).
#[test]
fn a_processed_template_rolls_as_it_is() {
    let path = "tests/fixtures/rollout/nodejs-postgresql.json";
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap();
    let defs = "kind: ImageStream\nmetadata: {name: postgresql, namespace: openshift}\nspec:\n  tags:\n  - name: 12-el8\n    from: {kind: DockerImage, name: registry.redhat.io/rhel8/postgresql-12}\n";
    let loaded = crate::definition::load_files(
        &[SourceFile {
            path: "definitions/postgresql.yaml".into(),
            bytes: defs.as_bytes().to_vec(),
        }],
        &Config::default(),
        &Policies::default(),
    );
    let status = format!(
        "status:\n  tags:\n{}",
        event("12-el8", "registry.redhat.io/rhel8/postgresql-12", BBB)
    );
    let stream: ImageStream = serde_saphyr::from_str(&format!("{defs}{status}")).unwrap();
    let live = BTreeMap::from([(stream.key(), stream)]);
    let s = scan(&[manifest(path, &text)]);
    assert_eq!(s.outputs.len(), 1);
    let diags = validate(&s, &loaded.set, "default");
    assert!(diags.is_empty(), "{diags:?}");
    let p = plan(&s, &live, &cluster(), "default");
    let got: Vec<(&str, &str, Option<&str>)> = p
        .rollouts
        .iter()
        .map(|r| (r.kind.as_str(), r.container.as_str(), r.before.as_deref()))
        .collect();
    assert_eq!(got, [("DeploymentConfig", "postgresql", None)]);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(
        (
            p.skipped[0].reason,
            p.skipped[0].from.as_str(),
            p.skipped[0].line
        ),
        (
            SkipReason::Waiting,
            "default/nodejs-postgresql-example:latest",
            134
        )
    );
    let out = apply_to_text(path, &text, &p.rollouts).unwrap();
    let ports = "                                        \"containerPort\": 5432\n                                    }\n                                ]\n";
    let expected = text.replacen(
        ports,
        &format!(
            "{}],\n                                \"image\": \"registry.redhat.io/rhel8/postgresql-12@{BBB}\"\n",
            ports.trim_end_matches("]\n")
        ),
        1,
    );
    assert_eq!(out, expected);
}

#[test]
fn a_file_changed_since_the_plan_is_refused() {
    let text = deployment(
        r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]"#,
    );
    let p = plan(
        &scan(&[manifest("w.yaml", &text)]),
        &live(),
        &cluster(),
        "default",
    );
    let edited = text.replace("image: x", "image: hand-edited");
    let err = apply_to_text("w.yaml", &edited, &p.rollouts).unwrap_err();
    assert!(
        err.to_string()
            .contains("changed since the roll-out was planned"),
        "{err}"
    );
    // The editor's work is checked: a text the plan fits rolls.
    assert!(apply_to_text("w.yaml", &text, &p.rollouts).is_ok());
}

#[test]
fn compact_json_keeps_its_layout() {
    let text = r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"shop","annotations":{"image.openshift.io/triggers":"[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:local\"},\"fieldPath\":\"spec.template.spec.initContainers[0].image\"},{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:local\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]"}},"spec":{"template":{"spec":{"initContainers":[{"name":"init","image":"old"}],"containers":[{"name":"db"}]}}}}"#;
    let (out, p, _) = roll("db.json", text);
    let local = format!("{LOCAL}{BBB}");
    let expected = text
        .replace(r#""image":"old""#, &format!(r#""image":"{local}""#))
        .replace(
            r#"{"name":"db"}"#,
            &format!(r#"{{"name":"db","image":"{local}"}}"#),
        );
    assert_eq!(out, expected);
    assert_eq!(p.rollouts.len(), 2);
}

#[test]
fn manifests_at_a_revision_are_chosen_as_in_the_work_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = git2::Repository::init(root).unwrap();
    for (path, text) in [
        ("deploy/web.yaml", "kind: Deployment\n"),
        ("deploy/other.json", "{}\n"),
        ("definitions/x.yaml", "kind: ImageStream\n"),
        ("state/x.yaml", "kind: ImageStream\n"),
        (".hidden/x.yaml", "a: 1\n"),
        ("misc/x.yaml", "a: 1\n"),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "one", &tree, &[])
        .unwrap();
    std::fs::write(root.join("deploy/web.yaml"), "kind: Pod\n").unwrap();
    let narrowed = crate::policy::RolloutConfig {
        paths: vec!["deploy/**".into()],
        ..Default::default()
    };
    let at_head = manifests_at_rev(root, "HEAD", &narrowed).unwrap();
    let got: Vec<(&str, &str)> = at_head
        .iter()
        .map(|m| (m.path.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("deploy/other.json", "{}\n"),
            ("deploy/web.yaml", "kind: Deployment\n")
        ]
    );
    let all = manifests_at_rev(root, "HEAD", &Default::default()).unwrap();
    let worktree = find_manifests(root, &root.join("state"), &Default::default()).unwrap();
    let paths = |ms: &[Manifest]| ms.iter().map(|m| m.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&all), paths(&worktree));
    assert!(manifests_at_rev(root, "no-such-rev", &narrowed).is_err());
}

#[test]
fn an_entry_of_a_multi_line_annotation_is_pointed_at() {
    let text = r#"kind: Deployment
metadata:
  name: w
  namespace: shop
  annotations:
    image.openshift.io/triggers: |
      [
        {"from": {"kind": "ImageStreamTag", "name": "ruby:3.3"}, "fieldPath": "spec.template.spec.containers[?(@.name==\"web\")].image"},
        {"from": {"kind": "ImageStreamTag", "name": "ruby:nope"}, "fieldPath": "spec.template.spec.containers[1].image"}
      ]
spec:
  template:
    spec:
      containers:
      - {name: web, image: x}
      - {name: api, image: y}
"#;
    let got = errors("w.yaml", text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0, got[0].1, got[0].2),
        (9, 81, "trigger-unknown-tag")
    );
}

#[test]
fn a_container_written_as_an_alias_is_refused_clearly_and_a_merge_key_is_overridden() {
    let triggers = r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:local"},"fieldPath":"spec.template.spec.initContainers[0].image"}]"#;
    let text = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: shop\n  annotations:\n    image.openshift.io/triggers: '{triggers}'\nspec:\n  template:\n    spec:\n      initContainers:\n      - &c\n        name: a\n        image: old\n      containers:\n      - *c\n"
    );
    // Rolling one use of the anchor would roll the other too: an error naming the alias.
    let got = errors("j.yaml", &text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0, got[0].2), (7, "trigger-alias"));
    assert!(
        got[0]
            .3
            .contains("the YAML alias at `spec.template.spec.containers[0]`"),
        "{got:?}"
    );
    // Nothing rolls such a file; and the editor refuses to edit through an alias at all.
    let s = scan(&[manifest("j.yaml", &text)]);
    let p = plan(&s, &live(), &cluster(), "default");
    assert_eq!(p.rollouts.len(), 1);
    let err = apply_to_text("j.yaml", &text, &p.rollouts).unwrap_err();
    assert!(err.to_string().contains("YAML alias"), "{err}");
    let through_alias = ["spec", "template", "spec", "containers"]
        .map(|k| edit::Step::Key(k.into()))
        .into_iter()
        .chain([edit::Step::Index(0)])
        .collect::<Vec<_>>();
    let err = edit::set_in_document(&text, edit::Format::Yaml, 0, &through_alias, "image", "x")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`spec.template.spec.containers[0]` is a YAML alias"),
        "{err}"
    );

    // A merge key: the container's own `image` key overrides the merged one.
    let one = r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]"#;
    let text = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: shop\n  annotations:\n    image.openshift.io/triggers: '{one}'\nbase: &base\n  image: old\n  imagePullPolicy: Always\nspec:\n  template:\n    spec:\n      containers:\n      - <<: *base\n        name: a\n"
    );
    let (out, p, _) = roll("m.yaml", &text);
    assert_eq!(p.rollouts[0].before.as_deref(), Some("old"));
    assert_eq!(
        out,
        text.replace(
            "        name: a\n",
            &format!(
                "        name: a\n        image: {}\n",
                src("quay.io/org/ruby")
            )
        )
    );
}

#[test]
fn a_field_path_that_selects_nothing_is_told_what_it_could_select() {
    let hints = |text: &str| -> Vec<String> {
        scan(&[manifest("w.yaml", text)])
            .diagnostics
            .into_iter()
            .filter_map(|d| d.hint)
            .collect()
    };
    let text = deployment(
        r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[?(@.name==\"api\")].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.initContainers[0].image"}]"#,
    )
    .replace("        image: x\n", "        image: x\n      - ports: []\n");
    assert_eq!(
        hints(&text),
        [
            "the `containers` of Deployment `w` are [0] `web`, [1]; select one by index or by name",
            "Deployment `w` has no `initContainers`"
        ]
    );
    let dc = "kind: DeploymentConfig\nmetadata: {name: d, namespace: shop}\nspec:\n  template: {spec: {containers: [{name: web}, {name: db}]}}\n  triggers:\n  - type: ImageChange\n    imageChangeParams:\n      automatic: true\n      containerNames: [api]\n      from: {kind: ImageStreamTag, name: \"ruby:3.3\"}\n";
    assert_eq!(
        hints(dc),
        [
            "the `containers` of DeploymentConfig `d` are [0] `web`, [1] `db`; select one by index or by name"
        ]
    );
}

#[test]
fn an_edit_is_proven_to_change_the_images_and_nothing_else() {
    let before = "kind: Pod\nspec:\n  containers:\n  - name: a\n    args: [x]\n  - name: b\n    image: old\n---\nkind: Service\n";
    let path = |i| {
        vec![
            edit::Step::Key("spec".into()),
            edit::Step::Key("containers".into()),
            edit::Step::Index(i),
        ]
    };
    let (a, b) = (path(0), path(1));
    let rolled = [(0, a.as_slice(), "new-a"), (0, b.as_slice(), "new-b")];
    let good = "kind: Pod\nspec:\n  containers:\n  - name: a\n    args: [x]\n    image: new-a\n  - name: b\n    image: \"new-b\"\n---\nkind: Service\n";
    assert_eq!(scan::same_but_images(before, good, &rolled), Ok(()));
    // A sibling value, a lost key, another document: each is named.
    for (bad, line) in [
        (good.replace("args: [x]", "args: [y]"), 5),
        (good.replace("    args: [x]\n", ""), 4),
        (good.replace("kind: Service", "kind: Route"), 10),
    ] {
        assert_eq!(
            scan::same_but_images(before, &bad, &rolled),
            Err(format!("line {line} changed beyond the image values")),
            "{bad}"
        );
    }
    assert!(
        scan::same_but_images(before, &good.replace("---\nkind: Service\n", ""), &rolled).is_err()
    );
}

#[test]
fn an_image_added_to_a_json_like_flow_mapping_is_quoted_like_its_keys() {
    let triggers = r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.initContainers[0].image"}]"#;
    let text = format!(
        "kind: Deployment\nmetadata:\n  name: w\n  namespace: shop\n  annotations:\n    image.openshift.io/triggers: '{triggers}'\nspec:\n  template:\n    spec:\n      containers: [{{\"name\": \"web\", \"ports\": [{{\"containerPort\": 80}}]}}]\n      initContainers: [{{'name': 'init'}}]\n"
    );
    let (out, _, _) = roll("w.yaml", &text);
    let image = src("quay.io/org/ruby");
    assert_eq!(
        out,
        text.replace(
            "[{\"containerPort\": 80}]}",
            &format!("[{{\"containerPort\": 80}}], \"image\": \"{image}\"}}")
        )
        .replace(
            "{'name': 'init'}",
            &format!("{{'name': 'init', 'image': '{image}'}}")
        )
    );
}

#[test]
fn a_name_selector_is_pointed_at_in_either_yaml_quoting() {
    // Single-quoted YAML doubles the JSONPath's own single quotes; double-quoted YAML escapes
    // the JSON's `\"` again.
    let single = deployment(
        r#"[{"from":{"kind":"ImageStreamTag","name":"ruby:nope"},"fieldPath":"spec.template.spec.containers[?(@.name=''web'')].image"}]"#,
    );
    let column = |text: &str| {
        let line = text.lines().nth(5).unwrap();
        u32::try_from(line.find("spec.template").unwrap() + 1).unwrap()
    };
    let got = errors("w.yaml", &single);
    assert_eq!(
        (got[0].0, got[0].1, got[0].2),
        (6, column(&single), "trigger-unknown-tag")
    );
    let double = deployment("x").replace(
        "'x'",
        r#""[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:nope\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"web\\\")].image\"}]""#,
    );
    let got = errors("w.yaml", &double);
    assert_eq!(
        (got[0].0, got[0].1, got[0].2),
        (6, column(&double), "trigger-unknown-tag")
    );
}

#[test]
fn a_single_star_in_rollout_paths_stays_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for path in [
        "deploy/web.yaml",
        "deploy/prod/web.yaml",
        "web.yaml",
        "other/web.yaml",
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "kind: Deployment\n").unwrap();
    }
    let found = |globs: &[&str]| -> Vec<String> {
        let config = crate::policy::RolloutConfig {
            paths: globs.iter().map(|g| (*g).to_owned()).collect(),
            ..Default::default()
        };
        find_manifests(root, &root.join("state"), &config)
            .unwrap()
            .into_iter()
            .map(|m| m.path)
            .collect()
    };
    assert_eq!(found(&["deploy/*.yaml"]), ["deploy/web.yaml"]);
    assert_eq!(found(&["*.yaml"]), ["web.yaml"]);
    assert_eq!(
        found(&["deploy/**"]),
        ["deploy/prod/web.yaml", "deploy/web.yaml"]
    );
    assert_eq!(
        found(&["**/web.yaml"]),
        [
            "deploy/prod/web.yaml",
            "deploy/web.yaml",
            "other/web.yaml",
            "web.yaml"
        ]
    );
}

#[test]
fn an_unnamed_container_is_shown_by_its_field_path() {
    let r = Rollout {
        file: "deploy/job.yaml".into(),
        line: 9,
        kind: "Job".into(),
        namespace: "team".into(),
        name: "once".into(),
        container: String::new(),
        field_path: "spec.template.spec.containers[0].image".into(),
        before: None,
        after: "quay.io/team/app@sha256:aa".into(),
        from: "team/app:latest".into(),
        introduced: None,
        doc: 0,
        container_path: Vec::new(),
        last_triggered: None,
    };
    assert_eq!(
        render::roll_line(&r),
        "~ roll deploy/job.yaml Job team/once container (unnamed, spec.template.spec.containers[0].image): (no image) → quay.io/team/app@sha256:aa"
    );
}

#[test]
fn a_stream_no_definition_names_is_external_and_a_typo_of_a_defined_tag_an_error() {
    let fp = "spec.template.spec.containers[0].image";
    let text = deployment(&format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"httpd:latest","namespace":"openshift"}},"fieldPath":"{fp}"}}]"#
    ));
    let mut s = scan(&[manifest("w.yaml", &text)]);
    assert!(validate(&s, &definitions(), "default").is_empty());
    // Unjudged, every stream counts as managed: the trigger waits for an image.
    let p = plan(&s, &live(), &cluster(), "default");
    assert_eq!(p.skipped[0].reason, SkipReason::Waiting);
    mark_managed(&mut s, &definitions(), "default");
    let p = plan(&s, &live(), &cluster(), "default");
    assert!(p.rollouts.is_empty());
    assert_eq!(
        (p.skipped[0].reason, p.skipped[0].from.as_str()),
        (SkipReason::External, "openshift/httpd:latest")
    );

    let typo = deployment(&format!(
        r#"[{{"from":{{"kind":"ImageStreamTag","name":"ruby:loca"}},"fieldPath":"{fp}"}}]"#
    ));
    let diags = validate(
        &scan(&[manifest("w.yaml", &typo)]),
        &definitions(),
        "default",
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, "trigger-unknown-tag");
    assert!(
        diags[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean `ruby:local`?")),
        "{diags:?}"
    );
}
