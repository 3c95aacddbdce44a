//! The grammar of one trigger: the `image.openshift.io/triggers` annotation (a JSON array,
//! read as leniently as Go's `encoding/json` reads it for OpenShift: keys match
//! case-insensitively, unknown keys are ignored) and its `fieldPath` forms (library-go
//! `ContainerForObjectFieldPath`). Pure text in, values out; shared by roll-outs and by
//! prune's protection of used tags. It does not decide what a problem means to its caller.

use serde_json::{Map, Value};

/// The annotation holding image triggers.
pub const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

/// How an entry states `paused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paused {
    /// Not given (or `null`).
    Absent,
    /// A JSON boolean, as OpenShift reads it.
    Bool(bool),
    /// A string such as `"false"`: OpenShift fails to parse the whole annotation.
    Text(String),
    /// Any other type: OpenShift fails to parse the whole annotation too.
    Other,
}

impl Paused {
    /// Whether the trigger is paused, reading a string as the words it spells.
    pub fn is_paused(&self) -> bool {
        match self {
            Paused::Bool(b) => *b,
            Paused::Text(t) => t.trim().eq_ignore_ascii_case("true"),
            Paused::Absent | Paused::Other => false,
        }
    }
}

/// One entry of the annotation, with only the parts a caller may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Whether the entry is a JSON object at all.
    pub is_object: bool,
    /// `from.kind`.
    pub kind: Option<String>,
    /// `from.apiVersion` (OpenShift requires it empty).
    pub api_version: Option<String>,
    /// `from.name`.
    pub name: Option<String>,
    /// `from.namespace`, when not empty.
    pub namespace: Option<String>,
    /// `fieldPath`.
    pub field_path: Option<String>,
    /// `paused`.
    pub paused: Paused,
}

/// Why the annotation as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    /// The value is not a YAML string.
    #[error("the `{TRIGGERS_ANNOTATION}` annotation is not a string")]
    NotString,
    /// The JSON does not parse.
    #[error("the `{TRIGGERS_ANNOTATION}` annotation is not valid JSON ({0})")]
    Json(String),
    /// The JSON is not an array.
    #[error("the `{TRIGGERS_ANNOTATION}` annotation is not a JSON array")]
    NotArray,
}

/// Case-insensitive key lookup, as Go's `encoding/json` matches struct fields.
pub(crate) fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn get_str(map: &Map<String, Value>, key: &str) -> Option<String> {
    get(map, key).and_then(Value::as_str).map(str::to_owned)
}

/// Read the annotation's JSON text into its entries.
pub fn parse_annotation(text: &str) -> Result<Vec<Entry>, AnnotationError> {
    let entries = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(entries)) => entries,
        Ok(_) => return Err(AnnotationError::NotArray),
        Err(e) => return Err(AnnotationError::Json(e.to_string())),
    };
    Ok(entries.iter().map(entry).collect())
}

fn entry(value: &Value) -> Entry {
    let Some(map) = value.as_object() else {
        return Entry {
            is_object: false,
            kind: None,
            api_version: None,
            name: None,
            namespace: None,
            field_path: None,
            paused: Paused::Absent,
        };
    };
    let from = get(map, "from").and_then(Value::as_object);
    let from_str = |key: &str| from.and_then(|f| get_str(f, key));
    Entry {
        is_object: true,
        kind: from_str("kind"),
        api_version: from_str("apiVersion"),
        name: from_str("name"),
        namespace: from_str("namespace").filter(|n| !n.is_empty()),
        field_path: get_str(map, "fieldPath"),
        paused: match get(map, "paused") {
            None | Some(Value::Null) => Paused::Absent,
            Some(Value::Bool(b)) => Paused::Bool(*b),
            Some(Value::String(s)) => Paused::Text(s.clone()),
            Some(_) => Paused::Other,
        },
    }
}

/// `stream:tag`, both parts non-empty (OpenShift's `SplitImageStreamTag`): the shared
/// reference resolver's two-part form, since a trigger has no stream of its own to default to.
pub fn split_stream_tag(name: &str) -> Option<(&str, &str)> {
    match crate::model::split_source(crate::model::KIND_IMAGE_STREAM_TAG, name) {
        Ok(Some((Some(stream), tag))) => Some((stream, tag)),
        _ => None,
    }
}

/// The pod spec inside an object of `kind` (library-go `referencemutator.GetPodSpecV1`), or
/// `None` for a kind whose triggers OpenShift does not apply.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicaSet"
        | "ReplicationController"
        | "DeploymentConfig" => Some(&["spec", "template", "spec"]),
        _ => None,
    }
}

/// Which container a `fieldPath` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// By position.
    Index(usize),
    /// By name.
    Name(String),
}

/// A `fieldPath` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// `initContainers` rather than `containers`.
    pub init: bool,
    /// The container.
    pub selector: Selector,
    /// Written in a form OpenShift's controller does not match (`[?(@.name='web')]`, a
    /// single `=`): streamsync reads it, the cluster would ignore the trigger.
    pub lenient: bool,
}

impl FieldPath {
    /// `containers` or `initContainers`.
    pub fn list(&self) -> &'static str {
        if self.init {
            "initContainers"
        } else {
            "containers"
        }
    }
}

/// Read `path` against the pod spec path of the object's kind. The error says what is wrong.
pub fn parse_field_path(path: &str, pod_spec: &[&str]) -> Result<FieldPath, String> {
    let prefix = format!("{}.", pod_spec.join("."));
    let expected = format!("{prefix}containers[0].image");
    let invalid = || {
        format!("field path `{path}` is not valid here; OpenShift expects the form `{expected}`")
    };
    let rest = path.strip_prefix(&prefix).ok_or_else(invalid)?;
    let (init, rest) = if let Some(r) = rest.strip_prefix("containers[") {
        (false, r)
    } else if let Some(r) = rest.strip_prefix("initContainers[") {
        (true, r)
    } else {
        return Err(invalid());
    };
    let (selector, tail) = rest.rsplit_once(']').ok_or_else(invalid)?;
    if tail != ".image" {
        return Err(invalid());
    }
    if !selector.is_empty() && selector.bytes().all(|b| b.is_ascii_digit()) {
        let index = selector.parse().map_err(|_| invalid())?;
        return Ok(FieldPath {
            init,
            selector: Selector::Index(index),
            lenient: false,
        });
    }
    let inner = selector
        .strip_prefix("?(@.name")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(invalid)?;
    let (strict_eq, quoted) = match inner.strip_prefix("==") {
        Some(q) => (true, q),
        None => (false, inner.strip_prefix('=').ok_or_else(invalid)?),
    };
    let (double, name) = if let Some(n) = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'))
    {
        (true, n)
    } else if let Some(n) = quoted.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
        (false, n)
    } else {
        return Err(invalid());
    };
    if name.is_empty() {
        return Err(invalid());
    }
    Ok(FieldPath {
        init,
        selector: Selector::Name(name.to_owned()),
        lenient: !(strict_eq && double),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &[&str] = &["spec", "template", "spec"];

    #[test]
    fn field_path_forms() {
        let p = parse_field_path("spec.template.spec.containers[2].image", DEPLOY).unwrap();
        assert_eq!(
            (p.init, p.selector, p.lenient),
            (false, Selector::Index(2), false)
        );
        let p = parse_field_path(
            r#"spec.template.spec.initContainers[?(@.name=="setup")].image"#,
            DEPLOY,
        )
        .unwrap();
        assert_eq!(
            (p.init, p.selector, p.lenient),
            (true, Selector::Name("setup".into()), false)
        );
        for quirky in [
            "spec.template.spec.containers[?(@.name='web')].image",
            "spec.template.spec.containers[?(@.name=='web')].image",
            r#"spec.template.spec.containers[?(@.name="web")].image"#,
        ] {
            let p = parse_field_path(quirky, DEPLOY).unwrap();
            assert_eq!(
                (p.selector, p.lenient),
                (Selector::Name("web".into()), true)
            );
        }
        for bad in [
            "spec.containers[0].image",
            "spec.template.spec.containers[0].name",
            "spec.template.spec.containers[x].image",
            "spec.template.spec.containers[?(@.name==web)].image",
            "spec.template.spec.volumes[0].image",
        ] {
            let e = parse_field_path(bad, DEPLOY).unwrap_err();
            assert!(e.contains("spec.template.spec.containers[0].image"), "{e}");
        }
        let cron = pod_spec_path("CronJob").unwrap();
        assert!(
            parse_field_path(
                "spec.jobTemplate.spec.template.spec.containers[0].image",
                cron
            )
            .is_ok()
        );
        assert!(pod_spec_path("Service").is_none());
    }

    #[test]
    fn annotation_entries_are_read_leniently() {
        let e = parse_annotation(
            r#"[{"FROM":{"Kind":"ImageStreamTag","NAME":"a:1","namespace":""},"fieldpath":"x","Paused":"false"}, 3]"#,
        )
        .unwrap();
        assert_eq!(e[0].kind.as_deref(), Some("ImageStreamTag"));
        assert_eq!(e[0].name.as_deref(), Some("a:1"));
        assert_eq!(e[0].namespace, None);
        assert_eq!(e[0].field_path.as_deref(), Some("x"));
        assert_eq!(e[0].paused, Paused::Text("false".into()));
        assert!(!e[0].paused.is_paused());
        assert!(!e[1].is_object);
        assert_eq!(parse_annotation("{}"), Err(AnnotationError::NotArray));
        assert!(matches!(
            parse_annotation("[{"),
            Err(AnnotationError::Json(_))
        ));
    }
}
