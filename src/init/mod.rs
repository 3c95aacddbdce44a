//! Starting and adopting (`streamsync init`): the files a new repository starts with (built
//! from the templates in `templates/`), and the conversion of `oc get is -o yaml|json` output
//! into clean definitions and the live streams to seed the state with. Pure values: reading
//! and writing files, and the state, belong to `ops::init`.

use serde_json::Value;

use crate::model::{ANNOTATION_REPOSITORY_CHECK, ImageStream, StreamKey};

const CONFIG: &str = include_str!("templates/streamsync.toml");
const POLICIES: &str = include_str!("templates/policies-default.toml");
const EXAMPLE: &str = include_str!("templates/example.yaml");
const PLAN_WORKFLOW: &str = include_str!("templates/streamsync-plan.yml");
const COMMENT_WORKFLOW: &str = include_str!("templates/streamsync-comment.yml");
const SYNC_WORKFLOW: &str = include_str!("templates/streamsync-sync.yml");

/// Third-party actions the workflows use, pinned by commit (the version in a comment).
pub const CHECKOUT: &str = "11d5960a326750d5838078e36cf38b85af677262 # v4.4.0";
/// `actions/upload-artifact`, pinned.
pub const UPLOAD_ARTIFACT: &str = "ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2";

/// Lines `init` makes sure `.gitignore` has.
pub const GITIGNORE_LINES: &[&str] = &["catalog/"];

/// The owner of streamsync's own repository on GitHub, whose action the workflows use: from
/// the crate's `repository` URL, else `streamsync`.
pub fn default_owner() -> String {
    option_env!("CARGO_PKG_REPOSITORY")
        .and_then(|url| url.strip_prefix("https://github.com/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|o| !o.is_empty())
        .unwrap_or("streamsync")
        .to_owned()
}

/// `<owner>/streamsync/.github/actions/streamsync@v<version>`.
pub fn action_ref(owner: &str) -> String {
    format!(
        "{owner}/streamsync/.github/actions/streamsync@v{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// A GitHub owner name: letters, digits and single hyphens, at most 39 characters.
pub fn valid_owner(owner: &str) -> bool {
    !owner.is_empty()
        && owner.len() <= 39
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--")
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The files of a new repository: `(path relative to the root, content)`. The example
/// definition goes to `definitions/<namespace>/example.yaml`.
pub fn scaffold(namespace: &str, owner: &str) -> Vec<(String, String)> {
    let fill = |t: &str| {
        t.replace("{{ACTION}}", &action_ref(owner))
            .replace("{{CHECKOUT}}", CHECKOUT)
            .replace("{{UPLOAD_ARTIFACT}}", UPLOAD_ARTIFACT)
    };
    vec![
        ("streamsync.toml".into(), CONFIG.into()),
        (
            format!("definitions/{namespace}/example.yaml"),
            EXAMPLE.into(),
        ),
        ("policies/default.toml".into(), POLICIES.into()),
        (
            ".github/workflows/streamsync-plan.yml".into(),
            fill(PLAN_WORKFLOW),
        ),
        (
            ".github/workflows/streamsync-comment.yml".into(),
            fill(COMMENT_WORKFLOW),
        ),
        (
            ".github/workflows/streamsync-sync.yml".into(),
            fill(SYNC_WORKFLOW),
        ),
    ]
}

/// One stream of an export: its clean definition and the live stream to seed.
#[derive(Debug, Clone)]
pub struct Adopted {
    /// `namespace/name`.
    pub key: StreamKey,
    /// The definition: only what a person writes.
    pub definition: ImageStream,
    /// The live stream: the definition as applied (generations, creation time) with the
    /// export's `status`.
    pub live: ImageStream,
}

/// Annotations the server or a client writes, never a person.
const SERVER_ANNOTATIONS: &[&str] = &[
    ANNOTATION_REPOSITORY_CHECK,
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// The ImageStream objects of an `oc get is -o yaml|json` export: a `List` (or
/// `ImageStreamList`), one object, or several YAML documents. `fallback_namespace` is used for
/// objects without `metadata.namespace`.
pub fn adopt(text: &str, fallback_namespace: &str) -> Result<Vec<Adopted>, String> {
    let docs: Vec<Value> = if text.trim_start().starts_with('{') {
        vec![serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?]
    } else {
        serde_saphyr::from_multiple::<Value>(text).map_err(|e| format!("not valid YAML: {e}"))?
    };
    let mut objects = Vec::new();
    for doc in docs {
        collect(doc, &mut objects)?;
    }
    let mut out: Vec<Adopted> = Vec::new();
    for (i, obj) in objects.into_iter().enumerate() {
        let a = adopt_one(obj, fallback_namespace).map_err(|e| format!("object {}: {e}", i + 1))?;
        if out.iter().any(|o| o.key == a.key) {
            return Err(format!("image stream `{}` appears twice", a.key));
        }
        out.push(a);
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn collect(doc: Value, out: &mut Vec<Value>) -> Result<(), String> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "" if doc.is_null() => Ok(()),
        "List" | "ImageStreamList" => {
            let Some(Value::Array(items)) = doc.get("items").cloned() else {
                return Ok(());
            };
            for item in items {
                collect(item, out)?;
            }
            Ok(())
        }
        "ImageStream" => {
            out.push(doc);
            Ok(())
        }
        other => Err(format!(
            "`{other}` is not an ImageStream (expected `oc get is -o yaml` or `-o json` output)"
        )),
    }
}

fn adopt_one(obj: Value, fallback_namespace: &str) -> Result<Adopted, String> {
    let mut exported: ImageStream =
        serde_json::from_value(obj).map_err(|e| format!("not an ImageStream: {e}"))?;
    if exported.metadata.name.is_empty() {
        return Err("an ImageStream without `metadata.name`".into());
    }
    if exported
        .metadata
        .namespace
        .as_deref()
        .is_none_or(str::is_empty)
    {
        exported.metadata.namespace = Some(fallback_namespace.to_owned());
    }
    let key = exported.key();
    for part in [&key.namespace, &key.name] {
        if !valid_name(part) {
            return Err(format!(
                "`{part}` is not a valid name for a namespace or stream"
            ));
        }
    }
    let definition = clean(&exported);
    let mut live = definition.clone();
    // The server's mark that the stream's repository was imported: kept in the live state
    // (plans ignore it), so a `spec.dockerImageRepository` is not imported again.
    if let Some(check) = exported.annotation(ANNOTATION_REPOSITORY_CHECK) {
        live.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ANNOTATION_REPOSITORY_CHECK.to_owned(), check.to_owned());
    }
    live.metadata.creation_timestamp = exported.metadata.creation_timestamp.clone();
    live.metadata.generation = exported.metadata.generation;
    for tag in &mut live.spec.tags {
        tag.generation = exported.spec_tag(&tag.name).and_then(|t| t.generation);
    }
    let mut status = exported.status.clone().unwrap_or_default();
    status
        .tags
        .retain(|t| !t.items.is_empty() || !t.conditions.is_empty());
    status.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
    live.status = Some(status);
    Ok(Adopted {
        key,
        definition,
        live,
    })
}

/// A DNS-1123 subdomain, as OpenShift requires of namespace and stream names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The stream as a person writes it: no status, no server-owned metadata, and none of the
/// values the API server fills in by default (openshift/api `image/v1` defaults and the
/// image stream strategy): `lookupPolicy: {local: false}`, `referencePolicy: {type: Source}`,
/// `importPolicy: {importMode: Legacy}`, tag `generation`, empty annotations.
pub fn clean(stream: &ImageStream) -> ImageStream {
    let key = stream.key();
    let mut out = ImageStream::new(&key.namespace, &key.name);
    out.api_version.clone_from(&stream.api_version);
    if out.api_version == "v1" {
        "image.openshift.io/v1".clone_into(&mut out.api_version);
    }
    out.metadata.labels = stream.metadata.labels.clone().filter(|l| !l.is_empty());
    let mut annotations = stream.metadata.annotations.clone().unwrap_or_default();
    for a in SERVER_ANNOTATIONS {
        annotations.remove(*a);
    }
    out.metadata.annotations = Some(annotations).filter(|a| !a.is_empty());
    out.spec.lookup_policy = stream.spec.lookup_policy.clone().filter(|l| l.local);
    out.spec
        .docker_image_repository
        .clone_from(&stream.spec.docker_image_repository);
    out.spec.docker_image_repository = out
        .spec
        .docker_image_repository
        .take()
        .filter(|r| !r.is_empty());
    out.spec.tags = stream
        .spec
        .tags
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.generation = None;
            t.annotations = t.annotations.filter(|a| !a.is_empty());
            if t.reference_policy.kind == "Source" {
                t.reference_policy.kind.clear();
            }
            if t.import_policy.import_mode == "Legacy" {
                t.import_policy.import_mode.clear();
            }
            if let Some(from) = &mut t.from
                && from
                    .namespace
                    .as_deref()
                    .is_some_and(|n| n.is_empty() || n == key.namespace)
            {
                from.namespace = None;
            }
            t
        })
        .collect();
    out
}

/// A definition file's text: a comment naming where it came from, then the stream.
pub fn definition_text(stream: &ImageStream) -> Result<String, String> {
    let yaml = serde_saphyr::to_string(stream).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Adopted from the cluster by `streamsync init --from`.\n{yaml}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_and_defaults_go_and_status_is_kept() {
        let export = r#"
apiVersion: v1
kind: List
items:
- apiVersion: image.openshift.io/v1
  kind: ImageStream
  metadata:
    annotations:
      openshift.io/image.dockerRepositoryCheck: "2026-01-01T00:00:00Z"
      openshift.io/display-name: Ruby
    creationTimestamp: "2026-01-01T00:00:00Z"
    generation: 2
    name: ruby
    namespace: team
    resourceVersion: "123"
    uid: 0b0b0b0b-0000-0000-0000-000000000000
  spec:
    lookupPolicy:
      local: false
    tags:
    - annotations: null
      from:
        kind: DockerImage
        name: quay.io/org/ruby:3.3
      generation: 2
      importPolicy:
        importMode: Legacy
      name: "3.3"
      referencePolicy:
        type: Source
  status:
    dockerImageRepository: image-registry.openshift-image-registry.svc:5000/team/ruby
    tags:
    - items:
      - created: "2026-01-01T00:00:00Z"
        dockerImageReference: quay.io/org/ruby@sha256:aa
        generation: 2
        image: sha256:aa
      - created: "2025-01-01T00:00:00Z"
        dockerImageReference: quay.io/org/ruby@sha256:bb
        generation: 1
        image: sha256:bb
      tag: "3.3"
"#;
        let adopted = adopt(export, "default").unwrap();
        assert_eq!(adopted.len(), 1);
        let a = &adopted[0];
        let text = definition_text(&a.definition).unwrap();
        for gone in [
            "status",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "dockerRepositoryCheck",
            "lookupPolicy",
            "referencePolicy",
            "importMode",
            "annotations: null",
        ] {
            assert!(!text.contains(gone), "{gone} in\n{text}");
        }
        assert!(text.contains("openshift.io/display-name: Ruby"), "{text}");
        let status = a.live.status.as_ref().unwrap();
        assert_eq!(status.tags[0].items.len(), 2);
        assert_eq!(a.live.spec.tags[0].generation, Some(2));
        assert!(
            a.live
                .annotation(ANNOTATION_REPOSITORY_CHECK)
                .is_some_and(|c| c.starts_with("2026")),
            "the live state keeps the repository check"
        );
    }

    #[test]
    fn other_kinds_are_refused() {
        let err = adopt("kind: Deployment\nmetadata: {name: x}\n", "default").unwrap_err();
        assert!(err.contains("not an ImageStream"), "{err}");
    }
}
