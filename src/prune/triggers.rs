//! Which image stream tags the repository's Kubernetes manifests use: the
//! `image.openshift.io/triggers` annotation (semantics spec §6) and `ImageStreamTag` sources
//! such as DeploymentConfig and BuildConfig triggers. Parses text it is given; finding the
//! files is the caller's work, and it never judges whether a tag is stale.
//!
//! Parsing is lenient, like Go's `encoding/json` that OpenShift uses: keys match
//! case-insensitively and unknown keys are ignored. Where OpenShift would reject a whole
//! annotation (a wrong type, duplicate field paths) the tags it names still count as used, with
//! a note, because recommending the removal of a tag a manifest names is the worse mistake.

use serde_json::Value;

/// The annotation holding image triggers.
pub use crate::rollout::trigger::TRIGGERS_ANNOTATION;
use crate::rollout::trigger::split_stream_tag;

/// How a manifest names a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UseKind {
    /// An entry of the `image.openshift.io/triggers` annotation.
    Annotation,
    /// Any other `{kind: ImageStreamTag, name: stream:tag}` (DeploymentConfig or BuildConfig
    /// triggers, build strategies).
    ImageStreamTag,
}

/// One tag a manifest uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagUse {
    /// The manifest, relative to the repository root.
    pub file: String,
    /// Namespace of the stream; `None` when neither the reference nor its object names one
    /// (then it matches the stream in every namespace).
    pub namespace: Option<String>,
    /// Stream name.
    pub stream: String,
    /// Tag name.
    pub tag: String,
    /// How it is named.
    pub kind: UseKind,
}

impl TagUse {
    /// Whether this use names tag `tag` of stream `namespace/stream`.
    pub fn names(&self, namespace: &str, stream: &str, tag: &str) -> bool {
        self.stream == stream
            && self.tag == tag
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

/// Something worth telling the user about a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// The manifest.
    pub file: String,
    /// What is odd.
    pub message: String,
}

/// Uses and notes found in manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Tags the manifests use.
    pub uses: Vec<TagUse>,
    /// Notes for the user.
    pub notes: Vec<Note>,
}

/// Scan one YAML (or JSON) file. A file that does not parse is skipped, with a note only when
/// it mentions the trigger annotation (a template, say), since then a use may be missed.
pub fn scan_manifest(file: &str, text: &str) -> Scan {
    let mut scan = Scan::default();
    let docs: Vec<Value> = match serde_saphyr::from_multiple(text) {
        Ok(docs) => docs,
        Err(_) => {
            if text.contains(TRIGGERS_ANNOTATION) {
                scan.notes.push(Note {
                    file: file.to_owned(),
                    message: format!(
                        "the file is not plain YAML, so its `{TRIGGERS_ANNOTATION}` annotation was not read; tags it names are not protected"
                    ),
                });
            }
            return scan;
        }
    };
    for doc in &docs {
        visit(file, doc, None, &mut scan);
    }
    scan.uses.sort();
    scan.uses.dedup();
    scan
}

/// A use of the image stream tag `stream:tag` that the reference `object` names (in its own
/// `namespace` when it gives one, else in `namespace`).
fn reference_use(
    file: &str,
    object: &serde_json::Map<String, Value>,
    name: &str,
    namespace: Option<&str>,
    scan: &mut Scan,
) {
    let Some((stream, tag)) = split_stream_tag(name) else {
        return;
    };
    let ns = object
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .or(namespace);
    scan.uses.push(TagUse {
        file: file.to_owned(),
        namespace: ns.map(str::to_owned),
        stream: stream.to_owned(),
        tag: tag.to_owned(),
        kind: UseKind::ImageStreamTag,
    });
}

/// Walk every object; `namespace` is that of the nearest enclosing Kubernetes object.
fn visit(file: &str, value: &Value, namespace: Option<&str>, scan: &mut Scan) {
    match value {
        Value::Array(items) => {
            for item in items {
                visit(file, item, namespace, scan);
            }
        }
        Value::Object(map) => {
            let metadata = map.get("metadata").and_then(Value::as_object);
            let own_ns = metadata
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty());
            let namespace = own_ns.or(namespace);
            if let Some(annotation) = metadata
                .and_then(|m| m.get("annotations"))
                .and_then(Value::as_object)
                .and_then(|a| a.get(TRIGGERS_ANNOTATION))
            {
                annotation_uses(file, annotation, namespace, scan);
            }
            if map.get("kind").and_then(Value::as_str) == Some("ImageStreamTag")
                && let Some(name) = map.get("name").and_then(Value::as_str)
            {
                reference_use(file, map, name, namespace, scan);
            }
            // A DeploymentConfig trigger's `from` takes OpenShift's defaults: without `kind`
            // it is an ImageStreamTag, and `kind: ImageStream` names the stream's `latest`.
            if let Some(from) = map
                .get("imageChangeParams")
                .and_then(|p| p.get("from"))
                .and_then(Value::as_object)
                && let Some(name) = from.get("name").and_then(Value::as_str)
            {
                let name = match from.get("kind").and_then(Value::as_str) {
                    None => Some(name.to_owned()),
                    Some("ImageStream") if !name.contains(':') => Some(format!("{name}:latest")),
                    Some("ImageStream") => Some(name.to_owned()),
                    // `ImageStreamTag` is found below, like any other reference.
                    Some(_) => None,
                };
                if let Some(name) = &name {
                    reference_use(file, from, name, namespace, scan);
                }
            }
            for (key, child) in map {
                // The annotation was read above; its text is not walked again.
                if key != "metadata" {
                    visit(file, child, namespace, scan);
                }
            }
        }
        _ => {}
    }
}

fn annotation_uses(file: &str, annotation: &Value, namespace: Option<&str>, scan: &mut Scan) {
    use crate::rollout::trigger::{self, AnnotationError, Paused};
    let note = |scan: &mut Scan, message: String| {
        scan.notes.push(Note {
            file: file.to_owned(),
            message,
        });
    };
    let entries = match annotation
        .as_str()
        .ok_or(AnnotationError::NotString)
        .and_then(trigger::parse_annotation)
    {
        Ok(entries) => entries,
        Err(e) => {
            note(scan, format!("{e}; it was ignored"));
            return;
        }
    };
    let mut field_paths = Vec::new();
    let mut rejected = None;
    for entry in &entries {
        if !entry.is_object {
            rejected.get_or_insert("an entry is not an object");
            continue;
        }
        match entry.paused {
            // Paused triggers are neither indexed nor applied by OpenShift.
            Paused::Bool(true) => continue,
            Paused::Bool(false) | Paused::Absent => {}
            Paused::Text(_) | Paused::Other => {
                rejected.get_or_insert("`paused` is not true or false");
            }
        }
        if let Some(path) = entry.field_path.as_deref() {
            if field_paths.contains(&path) {
                rejected.get_or_insert("duplicate triggers are not allowed");
            }
            field_paths.push(path);
        }
        if entry.kind.as_deref() != Some("ImageStreamTag")
            || entry.api_version.as_deref().is_some_and(|v| !v.is_empty())
        {
            continue;
        }
        let Some((stream, tag)) = entry.name.as_deref().and_then(split_stream_tag) else {
            continue;
        };
        let ns = entry.namespace.as_deref().or(namespace);
        scan.uses.push(TagUse {
            file: file.to_owned(),
            namespace: ns.map(str::to_owned),
            stream: stream.to_owned(),
            tag: tag.to_owned(),
            kind: UseKind::Annotation,
        });
    }
    if let Some(why) = rejected {
        note(
            scan,
            format!(
                "OpenShift rejects this `{TRIGGERS_ANNOTATION}` annotation ({why}); the tags it names are still treated as in use"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(text: &str) -> Vec<(Option<String>, String, String, UseKind)> {
        scan_manifest("deploy/web.yaml", text)
            .uses
            .into_iter()
            .map(|u| (u.namespace, u.stream, u.tag, u.kind))
            .collect()
    }

    #[test]
    fn annotation_with_lenient_keys_and_paused_entries() {
        let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    image.openshift.io/triggers: >-
      [{"FROM":{"Kind":"ImageStreamTag","NAME":"ruby:nightly-20240301"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image","pause":"false"},
       {"from":{"kind":"ImageStreamTag","name":"ruby:old","namespace":"other"},"fieldPath":"a","paused":true},
       {"from":{"kind":"ImageStreamTag","name":"ruby:v1","namespace":"lib"},"fieldPath":"b"},
       {"from":{"kind":"DockerImage","name":"ruby:x"},"fieldPath":"c"},
       {"from":{"kind":"ImageStreamTag","name":"no-colon"},"fieldPath":"d"},
       {"from":{"kind":"ImageStreamTag","name":"ruby:api","apiVersion":"v1"},"fieldPath":"e"}]
spec: {}
"#;
        let scan = scan_manifest("deploy/web.yaml", text);
        assert!(scan.notes.is_empty(), "{:?}", scan.notes);
        assert_eq!(
            uses(text),
            vec![
                (
                    Some("lib".into()),
                    "ruby".into(),
                    "v1".into(),
                    UseKind::Annotation
                ),
                (
                    Some("shop".into()),
                    "ruby".into(),
                    "nightly-20240301".into(),
                    UseKind::Annotation
                ),
            ]
        );
    }

    #[test]
    fn lists_multiple_documents_and_build_configs() {
        let text = r#"
kind: List
items:
- kind: BuildConfig
  metadata: {name: b}
  spec:
    strategy:
      sourceStrategy:
        from: {kind: ImageStreamTag, name: "python:3.11-20240101"}
---
kind: CronJob
metadata:
  name: c
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"tools:2024-01-01"},"fieldPath":"x"}]'
"#;
        let scan = scan_manifest("deploy/all.yaml", text);
        let got: Vec<(&str, &str, UseKind)> = scan
            .uses
            .iter()
            .map(|u| (u.stream.as_str(), u.tag.as_str(), u.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("python", "3.11-20240101", UseKind::ImageStreamTag),
                ("tools", "2024-01-01", UseKind::Annotation),
            ]
        );
        assert!(scan.uses[1].names("any", "tools", "2024-01-01"));
        assert!(!scan.uses[1].names("any", "tools", "2024-01-02"));
    }

    #[test]
    fn deployment_config_triggers_take_openshifts_defaults() {
        let text = r#"
kind: DeploymentConfig
metadata: {name: d, namespace: shop}
spec:
  triggers:
  - type: ImageChange
    imageChangeParams: {from: {name: "ruby:3.3"}, containerNames: [a]}
  - type: ImageChange
    imageChangeParams: {from: {kind: ImageStream, name: node}, containerNames: [a]}
  - type: ImageChange
    imageChangeParams: {from: {kind: ImageStreamTag, name: "perl:5"}, containerNames: [a]}
"#;
        let scan = scan_manifest("deploy/dc.yaml", text);
        let got: Vec<(&str, &str)> = scan
            .uses
            .iter()
            .map(|u| (u.stream.as_str(), u.tag.as_str()))
            .collect();
        assert_eq!(got, [("node", "latest"), ("perl", "5"), ("ruby", "3.3")]);
        assert!(scan.uses.iter().all(|u| u.names("shop", &u.stream, &u.tag)));
    }

    #[test]
    fn rejected_annotations_still_count_with_a_note() {
        let text = r#"
metadata:
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"a:1"},"fieldPath":"x"},{"from":{"kind":"ImageStreamTag","name":"a:2"},"fieldPath":"x","paused":"true"}]'
"#;
        let scan = scan_manifest("deploy/x.yaml", text);
        assert_eq!(scan.uses.len(), 2);
        assert_eq!(scan.notes.len(), 1);
        assert!(
            scan.notes[0]
                .message
                .contains("`paused` is not true or false")
        );
    }

    #[test]
    fn broken_files() {
        let bad_json = "metadata:\n  annotations:\n    image.openshift.io/triggers: '{not json'\n";
        let scan = scan_manifest("deploy/x.yaml", bad_json);
        assert!(scan.uses.is_empty());
        assert!(scan.notes[0].message.contains("not valid JSON"));
        let template =
            "metadata:\n  annotations: {{ .Values.x }}\n  # image.openshift.io/triggers\n: : :\n";
        let scan = scan_manifest("chart/t.yaml", template);
        assert_eq!(scan.notes.len(), 1, "{:?}", scan.notes);
        assert!(scan_manifest("chart/u.yaml", "a: [\n").notes.is_empty());
    }
}
