//! The surgical editor of definition files: add, replace and remove one stream's tag entries,
//! and set or remove single values, changing only the bytes the edit needs.
//!
//! Everything outside the edited span keeps its bytes (comments, blank lines, key order,
//! quoting, block scalars, anchors, flow collections, CRLF, other documents), and new text
//! copies the look of its siblings (block or flow, indentation, the gap after `-`, quoting;
//! JSON indentation including tabs). The functions here are pure text-to-text; [`session`]
//! reads and writes files, validates each result with `definition` and renders diffs. This
//! module must not decide *what* to change (that is the commands' job) and never reads live
//! state or registries.

mod render;
pub mod session;
mod splice;
mod tree;

use crate::model::TagReference;
use splice::Splice;
use tree::{Kind, Node};

pub use session::{
    FileChange, LineChange, Session, SessionError, changed_lines, unified_diff, write_atomic,
};

/// How a definition file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (any style).
    Yaml,
    /// JSON: new text is written as JSON too.
    Json,
}

impl Format {
    /// The format of a file by its name.
    pub fn of_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// A new value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A mapping, in the order to write it.
    Map(Vec<(String, Val)>),
    /// A sequence.
    Seq(Vec<Val>),
}

impl Val {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(s.into())
    }
}

/// Which stream of a file to edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The stream's namespace.
    pub namespace: String,
    /// The stream's name.
    pub name: String,
    /// The namespace a document without `metadata.namespace` gets in this file (its folder,
    /// else the configured default).
    pub file_namespace: String,
}

/// One step of a path from a stream's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// The entry of a sequence whose `name` is this (a tag of `spec.tags`).
    Named(String),
}

/// `["spec", "tags", <tag>, ...rest]`.
pub fn tag_path(tag: &str, rest: &[&str]) -> Vec<Seg> {
    let mut p = vec![
        Seg::Key("spec".into()),
        Seg::Key("tags".into()),
        Seg::Named(tag.into()),
    ];
    p.extend(rest.iter().map(|k| Seg::Key((*k).to_owned())));
    p
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text does not parse.
    #[error("cannot parse the file: {0}")]
    Parse(String),
    /// No document of the file defines the stream.
    #[error("the file does not define stream `{0}`")]
    StreamNotFound(String),
    /// The tag is not in `spec.tags`.
    #[error("stream `{stream}` has no tag `{tag}`")]
    TagNotFound {
        /// `namespace/name`.
        stream: String,
        /// The tag.
        tag: String,
    },
    /// Adding a tag that is already there.
    #[error("stream `{stream}` already has a tag `{tag}`")]
    TagExists {
        /// `namespace/name`.
        stream: String,
        /// The tag.
        tag: String,
    },
    /// A value on the path is not a mapping or list.
    #[error("`{0}` is not a mapping, so it cannot hold the new value")]
    NotAMapping(String),
    /// A layout the editor does not change by hand.
    #[error("cannot edit this layout: {0}")]
    Unsupported(String),
    /// A bug: the editor lost its way.
    #[error("internal editor error: {0}")]
    Internal(String),
}

/// A parsed file with the facts new text copies.
struct Doc<'t> {
    text: &'t str,
    docs: Vec<Option<Node>>,
    style: render::Style,
}

impl<'t> Doc<'t> {
    fn parse(text: &'t str, format: Format) -> Result<Self, EditError> {
        let docs = tree::parse(text)?;
        // A `.yaml` file written as JSON (a flow root with quoted keys) gets JSON too.
        let json_like = docs.first().and_then(Option::as_ref).is_some_and(|root| {
            root.flow
                && root
                    .entries()
                    .and_then(|e| e.first())
                    .and_then(|(k, _)| k.style())
                    == Some(serde_saphyr::granit_parser::ScalarStyle::DoubleQuoted)
        });
        let style = splice::style_of(text, format == Format::Json || json_like, &docs);
        Ok(Doc { text, docs, style })
    }

    /// The root mapping of the target stream (a document, or an item of a List).
    fn stream(&self, target: &Target) -> Result<&Node, EditError> {
        let mut candidates = Vec::new();
        for root in self.docs.iter().flatten() {
            let is_list = root
                .value("kind")
                .and_then(Node::str)
                .is_some_and(|k| k.ends_with("List"));
            match root.value("items").and_then(Node::items) {
                Some(items) if is_list => candidates.extend(items.iter()),
                _ => candidates.push(root),
            }
        }
        candidates
            .into_iter()
            .find(|c| {
                let meta = c.value("metadata");
                let name = meta.and_then(|m| m.value("name")).and_then(Node::str);
                let ns = meta
                    .and_then(|m| m.value("namespace"))
                    .and_then(Node::str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&target.file_namespace);
                name == Some(target.name.as_str()) && ns == target.namespace
            })
            .ok_or_else(|| StreamNotFound(target))
    }

    fn apply(&self, splices: Vec<Splice>) -> String {
        splice::apply(self.text, splices)
    }
}

#[allow(non_snake_case)]
fn StreamNotFound(target: &Target) -> EditError {
    EditError::StreamNotFound(format!("{}/{}", target.namespace, target.name))
}

fn stream_key(target: &Target) -> String {
    format!("{}/{}", target.namespace, target.name)
}

/// The entry of a sequence whose `name` is `name`.
fn named<'n>(seq: &'n Node, name: &str) -> Option<(usize, &'n Node)> {
    seq.items()?
        .iter()
        .enumerate()
        .find(|(_, i)| i.value("name").and_then(Node::str) == Some(name))
}

fn path_text(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Named(n) => format!("[{n}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `rest` (keys only) wrapped around `val`: `[a, b]` and `v` give `{a: {b: v}}`.
fn nest(rest: &[Seg], val: &Val, target: &Target) -> Result<Val, EditError> {
    let mut out = val.clone();
    for seg in rest.iter().rev() {
        match seg {
            Seg::Key(k) => out = Val::Map(vec![(k.clone(), out)]),
            Seg::Named(n) => {
                return Err(EditError::TagNotFound {
                    stream: stream_key(target),
                    tag: n.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Whether the scalar `node` already reads as `val`.
fn same_scalar(node: &Node, val: &Val) -> bool {
    use serde_saphyr::granit_parser::ScalarStyle;
    match (&node.kind, val) {
        (Kind::Scalar { value, style }, Val::Str(s)) => {
            value == s && (*style != ScalarStyle::Plain || render::plain_ok(s, false))
        }
        (Kind::Scalar { value, style }, Val::Bool(b)) => {
            *style == ScalarStyle::Plain && *value == b.to_string()
        }
        _ => false,
    }
}

/// Set the value at `path` (from the stream's root) to `val`, creating missing mappings on
/// the way. A mapping value merges key by key into an existing mapping.
pub fn set(
    text: &str,
    format: Format,
    target: &Target,
    path: &[Seg],
    val: &Val,
) -> Result<String, EditError> {
    let doc = Doc::parse(text, format)?;
    let mut node = doc.stream(target)?;
    for (i, seg) in path.iter().enumerate() {
        let rest = &path[i + 1..];
        match seg {
            Seg::Key(k) => {
                if node.entries().is_none() {
                    return Err(EditError::NotAMapping(path_text(&path[..i])));
                }
                let Some((kn, vn)) = node.get(k) else {
                    let new = nest(rest, val, target)?;
                    let splices =
                        splice::insert_key(text, &doc.docs, &doc.style, node, k, &new, None)?;
                    return Ok(doc.apply(splices));
                };
                if rest.is_empty() {
                    if let (Val::Map(entries), Kind::Map(_)) = (val, &vn.kind) {
                        let mut out = text.to_owned();
                        for (ck, cv) in entries {
                            let mut p = path.to_vec();
                            p.push(Seg::Key(ck.clone()));
                            out = set(&out, format, target, &p, cv)?;
                        }
                        return Ok(out);
                    }
                    if same_scalar(vn, val) {
                        return Ok(text.to_owned());
                    }
                    let splices =
                        splice::replace_value(text, &doc.docs, &doc.style, node, kn, vn, val)?;
                    return Ok(doc.apply(splices));
                }
                if vn.is_null() && matches!(rest.first(), Some(Seg::Key(_))) {
                    let new = nest(rest, val, target)?;
                    let splices =
                        splice::replace_value(text, &doc.docs, &doc.style, node, kn, vn, &new)?;
                    return Ok(doc.apply(splices));
                }
                node = vn;
            }
            Seg::Named(n) => {
                let (_, item) = named(node, n).ok_or_else(|| EditError::TagNotFound {
                    stream: stream_key(target),
                    tag: n.clone(),
                })?;
                node = item;
            }
        }
    }
    Err(EditError::Internal("an empty path".into()))
}

/// Remove the value at `path` (a mapping key, or a named sequence entry). A missing key is
/// no change; a missing named entry is an error.
pub fn remove(
    text: &str,
    format: Format,
    target: &Target,
    path: &[Seg],
) -> Result<String, EditError> {
    let doc = Doc::parse(text, format)?;
    let mut node = doc.stream(target)?;
    let mut holder: Option<&Node> = None;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match seg {
            Seg::Key(k) => {
                let Some(entries) = node.entries() else {
                    return Ok(text.to_owned());
                };
                let Some(idx) = entries.iter().position(|(kn, _)| kn.str() == Some(k)) else {
                    // A missing key is already removed, but a missing tag is a mistake.
                    if let Some(Seg::Named(n)) =
                        path[i..].iter().find(|s| matches!(s, Seg::Named(_)))
                    {
                        return Err(EditError::TagNotFound {
                            stream: stream_key(target),
                            tag: n.clone(),
                        });
                    }
                    return Ok(text.to_owned());
                };
                if last {
                    return Ok(doc.apply(splice::remove_key(text, node, idx)?));
                }
                holder = Some(&entries[idx].0);
                node = &entries[idx].1;
            }
            Seg::Named(n) => {
                let (idx, item) = named(node, n).ok_or_else(|| EditError::TagNotFound {
                    stream: stream_key(target),
                    tag: n.clone(),
                })?;
                if last {
                    return Ok(doc.apply(splice::remove_item(text, node, holder, idx)?));
                }
                holder = None;
                node = item;
            }
        }
    }
    Err(EditError::Internal("an empty path".into()))
}

/// One step from a document's root towards a value, for files that are not stream
/// definitions (workload manifests).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence entry by position.
    Index(usize),
}

/// Set string `key` of the mapping reached by `path` from the root of document `doc`
/// (0-based) to `value`: the old value is replaced in its own quoting, or the key is added in
/// the mapping's own layout. A value that already reads as `value` is no change.
pub fn set_in_document(
    text: &str,
    format: Format,
    doc: usize,
    path: &[Step],
    key: &str,
    value: &str,
) -> Result<String, EditError> {
    let parsed = Doc::parse(text, format)?;
    match document_splices(text, &parsed, doc, path, key, value)? {
        Some(splices) => Ok(parsed.apply(splices)),
        None => Ok(text.to_owned()),
    }
}

/// One edit of [`set_many_in_documents`]: set string `key` of the mapping at `path` of
/// document `doc` to `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentEdit {
    /// The document, 0-based.
    pub doc: usize,
    /// The mapping, from the document's root.
    pub path: Vec<Step>,
    /// The key to set.
    pub key: String,
    /// Its new string value.
    pub value: String,
}

/// [`set_in_document`] for many edits at once: the text is parsed once and every edit
/// spliced in one pass, so a file of thousands of edits costs in proportion to its size.
/// When two edits touch overlapping text (the same value twice, say), they are made one
/// after another instead, the later winning.
pub fn set_many_in_documents(
    text: &str,
    format: Format,
    edits: &[DocumentEdit],
) -> Result<String, EditError> {
    let parsed = Doc::parse(text, format)?;
    let mut all = Vec::new();
    for e in edits {
        if let Some(splices) = document_splices(text, &parsed, e.doc, &e.path, &e.key, &e.value)? {
            all.extend(splices);
        }
    }
    all.sort_by_key(|s| (s.start, s.end));
    let overlapping = all
        .windows(2)
        .any(|w| w[1].start < w[0].end || (w[1].start == w[0].start && w[0].start == w[0].end));
    if !overlapping {
        return Ok(parsed.apply(all));
    }
    let mut out = text.to_owned();
    for e in edits {
        out = set_in_document(&out, format, e.doc, &e.path, &e.key, &e.value)?;
    }
    Ok(out)
}

/// The splices that set `key` of the mapping at `path` of document `doc` to `value`; `None`
/// when it already reads so.
fn document_splices(
    text: &str,
    parsed: &Doc<'_>,
    doc: usize,
    path: &[Step],
    key: &str,
    value: &str,
) -> Result<Option<Vec<Splice>>, EditError> {
    let mut node = parsed
        .docs
        .get(doc)
        .and_then(Option::as_ref)
        .ok_or_else(|| EditError::Internal(format!("the file has no document {}", doc + 1)))?;
    for (i, step) in path.iter().enumerate() {
        let next = match step {
            Step::Key(k) => node.value(k),
            Step::Index(n) => node.items().and_then(|items| items.get(*n)),
        };
        node = next.ok_or_else(|| EditError::NotAMapping(step_text(&path[..=i])))?;
        // An alias's value is written at its anchor, where other uses share it: changing it
        // there would change them too.
        if matches!(node.kind, tree::Kind::Alias) {
            return Err(EditError::Unsupported(format!(
                "`{}` is a YAML alias (`*…`) of a value written elsewhere; write it out in full so it can change alone",
                step_text(&path[..=i])
            )));
        }
    }
    if node.entries().is_none() {
        return Err(EditError::NotAMapping(step_text(path)));
    }
    let val = Val::str(value);
    if let Some((_, vn)) = node.get(key)
        && vn.tagged
    {
        return Err(EditError::Unsupported(format!(
            "`{}.{key}` is written with a YAML tag (`!…`), so its value is the tag's to read; write it as a plain string",
            step_text(path)
        )));
    }
    Ok(Some(match node.get(key) {
        Some((_, vn)) if same_scalar(vn, &val) => return Ok(None),
        Some((kn, vn)) => {
            splice::replace_value(text, &parsed.docs, &parsed.style, node, kn, vn, &val)?
        }
        None => splice::insert_key(text, &parsed.docs, &parsed.style, node, key, &val, None)?,
    }))
}

/// A file's values with their byte ranges as written (quotes and block indentation
/// included), for pointing into them.
pub struct Spans(Vec<Option<Node>>);

impl Spans {
    /// Parse `text`; `None` when it does not parse.
    pub fn parse(text: &str) -> Option<Spans> {
        tree::parse(text).ok().map(Spans)
    }

    /// The byte range of the value reached by `path` from the root of document `doc`.
    pub fn value(&self, doc: usize, path: &[Step]) -> Option<(usize, usize)> {
        let mut node = self.0.get(doc)?.as_ref()?;
        for step in path {
            node = match step {
                Step::Key(k) => node.value(k)?,
                Step::Index(n) => node.items()?.get(*n)?,
            };
        }
        Some((node.start, node.end))
    }

    /// Whether the value reached by `path` from the root of document `doc` is written with a
    /// YAML tag (`!!binary …`).
    pub fn tagged(&self, doc: usize, path: &[Step]) -> bool {
        let mut node = match self.0.get(doc) {
            Some(Some(n)) => n,
            _ => return false,
        };
        for step in path {
            let next = match step {
                Step::Key(k) => node.value(k),
                Step::Index(n) => node.items().and_then(|i| i.get(*n)),
            };
            match next {
                Some(n) => node = n,
                None => return false,
            }
        }
        node.tagged
    }

    /// How many steps of `path` lead to a YAML alias (`*name`) on the way, when one does: a
    /// value reached through an alias is written at its anchor, shared with its other uses,
    /// so it cannot change alone.
    pub fn alias_on(&self, doc: usize, path: &[Step]) -> Option<usize> {
        let mut node = self.0.get(doc)?.as_ref()?;
        for (i, step) in path.iter().enumerate() {
            node = match step {
                Step::Key(k) => node.value(k)?,
                Step::Index(n) => node.items()?.get(*n)?,
            };
            if matches!(node.kind, tree::Kind::Alias) {
                return Some(i + 1);
            }
        }
        None
    }
}

/// A path as YAML-path text, `spec.containers[0]`.
pub fn steps_text(path: &[Step]) -> String {
    step_text(path)
}

fn step_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// A tag as a new entry writes it: `name`, `annotations`, `from` and only the fields that
/// differ from their defaults.
pub fn tag_value(tag: &TagReference) -> Val {
    let mut m = vec![("name".to_owned(), Val::str(&tag.name))];
    if let Some(a) = tag.annotations.as_ref().filter(|a| !a.is_empty()) {
        m.push((
            "annotations".into(),
            Val::Map(a.iter().map(|(k, v)| (k.clone(), Val::str(v))).collect()),
        ));
    }
    if let Some(from) = &tag.from {
        let mut f = vec![
            ("kind".to_owned(), Val::str(&from.kind)),
            ("name".to_owned(), Val::str(&from.name)),
        ];
        if let Some(ns) = from.namespace.as_ref().filter(|n| !n.is_empty()) {
            f.push(("namespace".into(), Val::str(ns)));
        }
        m.push(("from".into(), Val::Map(f)));
    }
    if tag.reference {
        m.push(("reference".into(), Val::Bool(true)));
    }
    let ip = &tag.import_policy;
    let mut p = Vec::new();
    if ip.insecure {
        p.push(("insecure".to_owned(), Val::Bool(true)));
    }
    if ip.scheduled {
        p.push(("scheduled".to_owned(), Val::Bool(true)));
    }
    if !ip.import_mode.is_empty() {
        p.push(("importMode".to_owned(), Val::str(&ip.import_mode)));
    }
    if !p.is_empty() {
        m.push(("importPolicy".into(), Val::Map(p)));
    }
    if !tag.reference_policy.kind.is_empty() {
        m.push((
            "referencePolicy".into(),
            Val::Map(vec![("type".into(), Val::str(&tag.reference_policy.kind))]),
        ));
    }
    Val::Map(m)
}

/// Append a new entry for `tag` to the stream's `spec.tags` (created when absent, `null` or
/// `[]`). Refused when a tag of that name exists.
pub fn add_tag(
    text: &str,
    format: Format,
    target: &Target,
    tag: &TagReference,
) -> Result<String, EditError> {
    let doc = Doc::parse(text, format)?;
    let root = doc.stream(target)?;
    let entry = tag_value(tag);
    let (t, d, s) = (text, &doc.docs, &doc.style);
    let Some((spec_key, spec)) = root.get("spec") else {
        let v = Val::Map(vec![("tags".into(), Val::Seq(vec![entry]))]);
        return Ok(doc.apply(splice::insert_key(t, d, s, root, "spec", &v, None)?));
    };
    if spec.entries().is_none() {
        if !spec.is_null() {
            return Err(EditError::NotAMapping("spec".into()));
        }
        let v = Val::Map(vec![("tags".into(), Val::Seq(vec![entry]))]);
        return Ok(doc.apply(splice::replace_value(t, d, s, root, spec_key, spec, &v)?));
    }
    let Some((tags_key, tags)) = spec.get("tags") else {
        let v = Val::Seq(vec![entry]);
        return Ok(doc.apply(splice::insert_key(t, d, s, spec, "tags", &v, None)?));
    };
    if named(tags, &tag.name).is_some() {
        return Err(EditError::TagExists {
            stream: stream_key(target),
            tag: tag.name.clone(),
        });
    }
    let empty = tags.is_null() || tags.items().is_some_and(<[Node]>::is_empty);
    if empty && !spec.flow && !doc.style.json {
        return Ok(doc.apply(splice::seq_from_empty(t, s, tags_key, tags, &entry)?));
    }
    if tags.is_null() {
        let v = Val::Seq(vec![entry]);
        return Ok(doc.apply(splice::replace_value(t, d, s, spec, tags_key, tags, &v)?));
    }
    if tags.items().is_none() {
        return Err(EditError::NotAMapping("spec.tags".into()));
    }
    Ok(doc.apply(splice::append_item(t, d, s, tags, &entry)?))
}

/// Remove tag `name` from the stream's `spec.tags`.
pub fn remove_tag(
    text: &str,
    format: Format,
    target: &Target,
    name: &str,
) -> Result<String, EditError> {
    remove(text, format, target, &tag_path(name, &[]))
}

/// Whether the stream has a tag `name` in this file.
pub fn has_tag(text: &str, format: Format, target: &Target, name: &str) -> Result<bool, EditError> {
    let doc = Doc::parse(text, format)?;
    let root = doc.stream(target)?;
    Ok(root
        .value("spec")
        .and_then(|s| s.value("tags"))
        .and_then(|t| named(t, name))
        .is_some())
}

/// Update the existing entry of `tag.name` in place to say what `tag` says about `from`,
/// `reference`, `importPolicy.insecure`/`scheduled` and `referencePolicy` (what `oc tag`
/// sets), leaving its other keys (annotations, importMode, comments) as they are. A field
/// that is present keeps its place and gets the new value; a field that is absent is added
/// only when the new value is not its default.
pub fn update_tag(
    text: &str,
    format: Format,
    target: &Target,
    tag: &TagReference,
) -> Result<String, EditError> {
    let doc = Doc::parse(text, format)?;
    let root = doc.stream(target)?;
    let entry = root
        .value("spec")
        .and_then(|s| s.value("tags"))
        .and_then(|t| named(t, &tag.name))
        .map(|(_, e)| e.clone())
        .ok_or_else(|| EditError::TagNotFound {
            stream: stream_key(target),
            tag: tag.name.clone(),
        })?;
    let has = |keys: &[&str]| {
        let mut n = Some(&entry);
        for k in keys {
            n = n.and_then(|x| x.value(k));
        }
        n.is_some_and(|x| !x.is_null())
    };
    let name = tag.name.as_str();
    let mut out = text.to_owned();
    if let Some(from) = &tag.from {
        if has(&["from"]) {
            out = set(
                &out,
                format,
                target,
                &tag_path(name, &["from", "kind"]),
                &Val::str(&from.kind),
            )?;
            out = set(
                &out,
                format,
                target,
                &tag_path(name, &["from", "name"]),
                &Val::str(&from.name),
            )?;
            match from.namespace.as_ref().filter(|n| !n.is_empty()) {
                Some(ns) => {
                    out = set(
                        &out,
                        format,
                        target,
                        &tag_path(name, &["from", "namespace"]),
                        &Val::str(ns),
                    )?;
                }
                None => {
                    out = remove(
                        &out,
                        format,
                        target,
                        &tag_path(name, &["from", "namespace"]),
                    )?
                }
            }
        } else if let Val::Map(m) = tag_value(tag)
            && let Some((_, f)) = m.iter().find(|(k, _)| k == "from")
        {
            out = set(&out, format, target, &tag_path(name, &["from"]), f)?;
        }
    }
    let flags = [
        (&["reference"][..], tag.reference),
        (
            &["importPolicy", "insecure"][..],
            tag.import_policy.insecure,
        ),
        (
            &["importPolicy", "scheduled"][..],
            tag.import_policy.scheduled,
        ),
    ];
    for (keys, on) in flags {
        if on || has(keys) {
            out = set(&out, format, target, &tag_path(name, keys), &Val::Bool(on))?;
        }
    }
    let rp = &tag.reference_policy.kind;
    if !rp.is_empty() || has(&["referencePolicy", "type"]) {
        let v = if rp.is_empty() { "Source" } else { rp.as_str() };
        out = set(
            &out,
            format,
            target,
            &tag_path(name, &["referencePolicy", "type"]),
            &Val::str(v),
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
