//! Turns the positioned YAML tree of one document into typed ImageStreams, checking each field
//! as it goes, so one pass reports every problem of the file with its exact line and column.

use std::collections::BTreeMap;

use super::node::{Key, Node, Pos, Value};
use super::{Definition, TagPositions};
use crate::diagnostic::{Diagnostic, Severity, did_you_mean};
use crate::model::{
    Annotations, ImageStream, ImageStreamSpec, LookupPolicy, ObjectMeta, ObjectReference,
    TagImportPolicy, TagReference, TagReferencePolicy,
};

/// Converts the documents of one file.
pub(super) struct Converter<'a> {
    pub file: &'a str,
    /// The namespace from the folder under `definitions/`, else the config default.
    pub fallback_namespace: &'a str,
    pub diags: Vec<Diagnostic>,
    pub out: Vec<Definition>,
}

const TOP_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const LIST_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "items"];
const SPEC_KEYS: &[&str] = &["lookupPolicy", "dockerImageRepository", "tags"];
const TAG_KEYS: &[&str] = &[
    "name",
    "annotations",
    "from",
    "reference",
    "generation",
    "importPolicy",
    "referencePolicy",
];
const FROM_KEYS: &[&str] = &[
    "kind",
    "name",
    "namespace",
    "apiVersion",
    "uid",
    "resourceVersion",
    "fieldPath",
];
const IMPORT_POLICY_KEYS: &[&str] = &["insecure", "scheduled", "importMode"];
/// `metadata` fields a definition uses.
const METADATA_KEYS: &[&str] = &["name", "namespace", "annotations", "labels"];
/// The rest of Kubernetes' ObjectMeta: set by the server (or meaningless in Git); a definition
/// exported with `oc get -o yaml` carries them, and they are ignored with a note.
const METADATA_IGNORED: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "clusterName",
    "generateName",
    "ownerReferences",
    "finalizers",
];
const REFERENCE_POLICY_KEYS: &[&str] = &["type"];
const LOOKUP_POLICY_KEYS: &[&str] = &["local"];

/// Whether a value holds nothing but nulls, empty strings and empty collections, as the
/// `creationTimestamp: null` and `status: {dockerImageRepository: ""}` of OpenShift's sample
/// library do: ignoring it loses nothing, so it gets no note.
fn carries_nothing(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        Value::Seq(items) => items.iter().all(carries_nothing),
        Value::Map(entries) => entries.iter().all(|(_, v)| carries_nothing(v)),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => false,
    }
}

/// The code of notes about server-owned fields.
const SERVER_FIELD_IGNORED: &str = "server-field-ignored";
const IGNORED_HINT: &str = "harmless: delete to keep the definition minimal, or add \"server-field-ignored\" to [lint] allow in a policy";

impl<'a> Converter<'a> {
    pub fn new(file: &'a str, fallback_namespace: &'a str) -> Self {
        Converter {
            file,
            fallback_namespace,
            diags: Vec::new(),
            out: Vec::new(),
        }
    }

    fn report(
        &mut self,
        severity: Severity,
        pos: Pos,
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(
            Diagnostic::error(self.file, pos.line, pos.column, code, message)
                .with_severity(severity),
        );
        self.diags.last_mut().expect("just pushed")
    }

    fn error(
        &mut self,
        pos: Pos,
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.report(Severity::Error, pos, code, message)
    }

    fn type_error(&mut self, node: &Node, what: &str, expected: &str) {
        let found = node.value.kind_name();
        let d = self.error(
            node.pos,
            "invalid-type",
            format!("{what} must be {expected}, found {found}"),
        );
        if expected == "a string"
            && matches!(node.value, Value::Int(_) | Value::Float(_) | Value::Bool(_))
        {
            d.hint = Some("quote the value, e.g. '2.0', so YAML reads it as text".to_owned());
        }
    }

    fn unknown_key(&mut self, key: &Key, context: &str, known: &[&str]) {
        let d = self.error(
            key.pos,
            "unknown-field",
            format!("unknown field `{}` in {context}", key.name),
        );
        d.hint = Some(match did_you_mean(&key.name, known.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("valid fields here: {}", known.join(", ")),
        });
    }

    /// Each key of a mapping node, reporting unknown ones; `None` (and an error) when not a
    /// mapping. Null counts as an empty mapping.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: Option<&[&str]>,
    ) -> Option<Vec<(&'n Key, &'n Node)>> {
        match &node.value {
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
                for (k, v) in entries {
                    if let Some(first) = seen.get(k.name.as_str()) {
                        let first = *first;
                        self.error(
                            k.pos,
                            "duplicate-key",
                            format!("duplicate key `{}` in {what}", k.name),
                        )
                        .hint = Some(format!("it is also set at line {}", first.line));
                        continue;
                    }
                    seen.insert(&k.name, k.pos);
                    if let Some(known) = known
                        && !known.contains(&k.name.as_str())
                    {
                        self.unknown_key(k, what, known);
                        continue;
                    }
                    out.push((k, v));
                }
                Some(out)
            }
            Value::Null => Some(Vec::new()),
            _ => {
                self.type_error(node, what, "a mapping");
                None
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Null => Some(String::new()),
            _ => {
                self.type_error(node, what, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Null => Some(false),
            _ => {
                self.type_error(node, what, "true or false");
                None
            }
        }
    }

    /// A string-to-string mapping; `item` names one entry in messages ("tag annotation").
    fn string_map(&mut self, node: &Node, what: &str, item: &str) -> Option<Annotations> {
        let entries = self.entries(node, what, None)?;
        let mut map = Annotations::new();
        for (k, v) in entries {
            // The description is only needed for an error: most maps hold thousands of
            // plain strings, and formatting one per entry was a tenth of loading them.
            let s = match &v.value {
                Value::Str(s) => Some(s.clone()),
                _ => self.string(v, &format!("{item} `{}`", k.name)),
            };
            if let Some(s) = s {
                map.insert(k.name.clone(), s);
            }
        }
        Some(map)
    }

    /// Convert one YAML document (the root node).
    pub fn document(&mut self, root: &Node) {
        if root.value == Value::Null {
            return;
        }
        let Some(entries) = self.entries(root, "the document", None) else {
            return;
        };
        let get = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.name == name)
                .map(|(k, v)| (*k, *v))
        };
        let kind = match get("kind") {
            Some((_, v)) => self.string(v, "`kind`").unwrap_or_default(),
            None => {
                self.error(root.pos, "missing-kind", "document has no `kind`")
                    .hint =
                    Some("definitions are ImageStream objects: add `kind: ImageStream`".into());
                return;
            }
        };
        let kind_pos = get("kind").map_or(root.pos, |(_, v)| v.pos);
        match kind.as_str() {
            "ImageStream" => self.stream(root, &entries),
            "List" | "ImageStreamList" => {
                for (k, _) in &entries {
                    if !LIST_KEYS.contains(&k.name.as_str()) {
                        self.unknown_key(k, &format!("a {kind}"), LIST_KEYS);
                    }
                }
                if let Some((_, items)) = get("items") {
                    match &items.value {
                        Value::Seq(items) => {
                            for item in items {
                                self.document(item);
                            }
                        }
                        Value::Null => {}
                        _ => self.type_error(items, "`items`", "a list"),
                    }
                }
            }
            other => {
                self.error(
                    kind_pos,
                    "not-an-imagestream",
                    format!("`kind: {other}` is not an ImageStream"),
                )
                .hint = Some(
                    "definitions/ holds ImageStream objects (or a List of them); keep other manifests elsewhere"
                        .into(),
                );
            }
        }
    }

    fn stream(&mut self, root: &Node, entries: &[(&Key, &Node)]) {
        let mut stream = ImageStream::default();
        let mut name_pos = root.pos;
        let mut namespace_from_metadata = None;
        let mut tag_positions = Vec::new();
        let mut meta_seen = false;
        for (k, v) in entries {
            match k.name.as_str() {
                "apiVersion" => {
                    if let Some(api) = self.string(v, "`apiVersion`") {
                        if api != "image.openshift.io/v1" && api != "v1" {
                            self.error(
                                v.pos,
                                "invalid-api-version",
                                format!("`apiVersion: {api}` is not an ImageStream API version"),
                            )
                            .hint = Some("use `image.openshift.io/v1` (or the legacy `v1`)".into());
                        }
                        stream.api_version = api;
                    }
                }
                "kind" => stream.kind = "ImageStream".into(),
                "metadata" => {
                    meta_seen = true;
                    if let Some((meta, pos, ns)) = self.metadata(v) {
                        stream.metadata = meta;
                        name_pos = pos;
                        namespace_from_metadata = ns;
                    }
                }
                "spec" => {
                    if let Some((spec, tags)) = self.spec(v) {
                        stream.spec = spec;
                        tag_positions = tags;
                    }
                }
                // Server-owned; a definition copied from `oc get -o yaml` may carry it.
                "status" if carries_nothing(v) => {}
                "status" => {
                    self.report(
                        Severity::Note,
                        k.pos,
                        SERVER_FIELD_IGNORED,
                        "`status` is written by the server; ignored in a definition",
                    )
                    .hint = Some(IGNORED_HINT.to_owned());
                }
                _ => self.unknown_key(k, "an ImageStream", TOP_KEYS),
            }
        }
        if !meta_seen || stream.metadata.name.is_empty() {
            // A name of the wrong type was already reported where it stands.
            let reported = self.diags.iter().any(|d| {
                d.code == "invalid-type" && (d.line, d.column) == (name_pos.line, name_pos.column)
            });
            if reported {
                return;
            }
            self.error(
                name_pos,
                "missing-name",
                "ImageStream has no `metadata.name`",
            );
            return;
        }
        let namespace = match namespace_from_metadata {
            Some(ns) if !ns.is_empty() => ns,
            _ => self.fallback_namespace.to_owned(),
        };
        stream.metadata.namespace = Some(namespace);
        self.out.push(Definition {
            stream,
            file: self.file.to_owned(),
            pos: name_pos,
            tags: tag_positions,
        });
    }

    fn metadata(&mut self, node: &Node) -> Option<(ObjectMeta, Pos, Option<String>)> {
        let entries = self.entries(node, "`metadata`", None)?;
        let mut meta = ObjectMeta::default();
        let mut pos = node.pos;
        let mut namespace = None;
        let mut ignored: Vec<&Key> = Vec::new();
        for (k, v) in entries {
            match k.name.as_str() {
                "name" => {
                    pos = v.pos;
                    meta.name = self.string(v, "`metadata.name`").unwrap_or_default();
                }
                "namespace" => namespace = self.string(v, "`metadata.namespace`"),
                "annotations" => {
                    meta.annotations =
                        self.string_map(v, "`metadata.annotations`", "stream annotation")
                }
                "labels" => meta.labels = self.string_map(v, "`metadata.labels`", "stream label"),
                other if METADATA_IGNORED.contains(&other) => {
                    if !carries_nothing(v) {
                        ignored.push(k);
                    }
                }
                _ => {
                    // Kubernetes would drop an unknown field, but in Git `lables:` is a typo
                    // whose labels would silently never be applied: an error, as elsewhere.
                    let d = self.error(
                        k.pos,
                        "unknown-field",
                        format!("unknown field `{}` in `metadata`", k.name),
                    );
                    let known = METADATA_KEYS.iter().chain(METADATA_IGNORED).copied();
                    d.hint = Some(match did_you_mean(&k.name, known) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("valid fields here: {}", METADATA_KEYS.join(", ")),
                    });
                }
            }
        }
        if let Some(first) = ignored.first() {
            let names: Vec<String> = ignored.iter().map(|k| format!("`{}`", k.name)).collect();
            let noun = if names.len() == 1 { "field" } else { "fields" };
            self.report(
                Severity::Note,
                first.pos,
                SERVER_FIELD_IGNORED,
                format!(
                    "server-owned metadata {noun} {} ignored in a definition",
                    names.join(", ")
                ),
            )
            .hint = Some(IGNORED_HINT.to_owned());
        }
        Some((meta, pos, namespace))
    }

    fn spec(&mut self, node: &Node) -> Option<(ImageStreamSpec, Vec<TagPositions>)> {
        let entries = self.entries(node, "`spec`", Some(SPEC_KEYS))?;
        let mut spec = ImageStreamSpec::default();
        let mut positions = Vec::new();
        for (k, v) in entries {
            match k.name.as_str() {
                "lookupPolicy" => {
                    if let Some(e) =
                        self.entries(v, "`spec.lookupPolicy`", Some(LOOKUP_POLICY_KEYS))
                    {
                        let mut lp = LookupPolicy::default();
                        for (_, v) in e {
                            lp.local = self.boolean(v, "`lookupPolicy.local`").unwrap_or_default();
                        }
                        spec.lookup_policy = Some(lp);
                    }
                }
                "dockerImageRepository" => {
                    let repo = self
                        .string(v, "`spec.dockerImageRepository`")
                        .unwrap_or_default();
                    if !repo.is_empty() {
                        spec.docker_image_repository = Some(repo);
                    }
                    positions.push(TagPositions::repository(v.pos));
                }
                "tags" => match &v.value {
                    Value::Seq(items) => {
                        for item in items {
                            if let Some((tag, pos)) = self.tag(item) {
                                spec.tags.push(tag);
                                positions.push(pos);
                            }
                        }
                    }
                    Value::Null => {}
                    _ => self.type_error(v, "`spec.tags`", "a list"),
                },
                _ => unreachable!("filtered by entries"),
            }
        }
        Some((spec, positions))
    }

    fn tag(&mut self, node: &Node) -> Option<(TagReference, TagPositions)> {
        let entries = self.entries(node, "a tag", Some(TAG_KEYS))?;
        let mut tag = TagReference::default();
        let mut pos = TagPositions {
            entry: node.pos,
            ..TagPositions::default()
        };
        let mut has_name = false;
        for (k, v) in entries {
            match k.name.as_str() {
                "name" => {
                    has_name = true;
                    pos.name = v.pos;
                    tag.name = self.string(v, "tag `name`").unwrap_or_default();
                }
                "annotations" => {
                    pos.annotations = k.pos;
                    tag.annotations = self.string_map(v, "tag `annotations`", "tag annotation");
                }
                "from" => {
                    pos.from = v.pos;
                    if let Some(e) = self.entries(v, "`from`", Some(FROM_KEYS)) {
                        let mut from = ObjectReference::default();
                        for (k, v) in e {
                            match k.name.as_str() {
                                "kind" => {
                                    pos.from_kind = v.pos;
                                    from.kind = self.string(v, "`from.kind`").unwrap_or_default();
                                }
                                "name" => {
                                    pos.from_name = v.pos;
                                    from.name = self.string(v, "`from.name`").unwrap_or_default();
                                }
                                "namespace" => {
                                    from.namespace = self
                                        .string(v, "`from.namespace`")
                                        .filter(|s| !s.is_empty());
                                }
                                _ => {}
                            }
                        }
                        tag.from = Some(from);
                    }
                }
                "reference" => {
                    tag.reference = self.boolean(v, "`reference`").unwrap_or_default();
                }
                "generation" => {
                    // The server's counter: accepted (as `oc get` writes it) and ignored.
                    if !matches!(v.value, Value::Int(_) | Value::Null) {
                        self.type_error(v, "`generation`", "a number");
                    }
                }
                "importPolicy" => {
                    pos.import_policy = v.pos;
                    if let Some(e) = self.entries(v, "`importPolicy`", Some(IMPORT_POLICY_KEYS)) {
                        let mut ip = TagImportPolicy::default();
                        for (k, v) in e {
                            match k.name.as_str() {
                                "insecure" => {
                                    pos.insecure = v.pos;
                                    ip.insecure = self
                                        .boolean(v, "`importPolicy.insecure`")
                                        .unwrap_or_default();
                                }
                                "scheduled" => {
                                    pos.scheduled = v.pos;
                                    ip.scheduled = self
                                        .boolean(v, "`importPolicy.scheduled`")
                                        .unwrap_or_default();
                                }
                                "importMode" => {
                                    pos.import_mode = v.pos;
                                    ip.import_mode = self
                                        .string(v, "`importPolicy.importMode`")
                                        .unwrap_or_default();
                                }
                                _ => {}
                            }
                        }
                        tag.import_policy = ip;
                    }
                }
                "referencePolicy" => {
                    pos.reference_policy = v.pos;
                    if let Some(e) =
                        self.entries(v, "`referencePolicy`", Some(REFERENCE_POLICY_KEYS))
                    {
                        let mut rp = TagReferencePolicy::default();
                        for (_, v) in e {
                            pos.reference_policy = v.pos;
                            rp.kind = self.string(v, "`referencePolicy.type`").unwrap_or_default();
                        }
                        tag.reference_policy = rp;
                    }
                }
                _ => unreachable!("filtered by entries"),
            }
        }
        if !has_name || tag.name.is_empty() {
            self.error(node.pos, "missing-tag-name", "tag has no `name`");
            return None;
        }
        Some((tag, pos))
    }
}
