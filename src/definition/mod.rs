//! Desired state: what the repository's `definitions/` says. Reads files from the working tree
//! or a Git revision, parses them with positions, converts them to the typed model and
//! validates them, reporting every problem at once. Never reads live state or registries.

pub mod convert;
pub mod incremental;
pub mod node;
pub mod source;
pub mod validate;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::diagnostic::{self, Diagnostic};
use crate::model::{ImageStream, StreamKey};
use crate::policy::{Config, Policies};
pub use node::Pos;
pub use source::{Source, SourceError, SourceFile};

/// Where the parts of one tag were written (0:0 when absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagPositions {
    /// The tag entry (`- name: …`).
    pub entry: Pos,
    /// The `name` value.
    pub name: Pos,
    /// The `annotations` key.
    pub annotations: Pos,
    /// The `from` value.
    pub from: Pos,
    /// `from.kind`.
    pub from_kind: Pos,
    /// `from.name`.
    pub from_name: Pos,
    /// `importPolicy`.
    pub import_policy: Pos,
    /// `importPolicy.insecure`.
    pub insecure: Pos,
    /// `importPolicy.scheduled`.
    pub scheduled: Pos,
    /// `importPolicy.importMode`.
    pub import_mode: Pos,
    /// `referencePolicy.type`.
    pub reference_policy: Pos,
    /// Marks the entry for `spec.dockerImageRepository` rather than a tag.
    pub is_repository: bool,
}

impl TagPositions {
    fn repository(pos: Pos) -> Self {
        TagPositions {
            entry: pos,
            is_repository: true,
            ..TagPositions::default()
        }
    }

    /// `p` if set, else the entry's position.
    pub fn or_entry(&self, p: Pos) -> Pos {
        if p.line == 0 { self.entry } else { p }
    }
}

/// One ImageStream as defined, with where it was defined.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The stream (namespace always set).
    pub stream: ImageStream,
    /// The file, relative to the root.
    pub file: String,
    /// Position of `metadata.name`.
    pub pos: Pos,
    /// Positions of the tags, in `spec.tags` order (plus one entry for
    /// `spec.dockerImageRepository` when present, marked `is_repository`).
    pub tags: Vec<TagPositions>,
}

impl Definition {
    /// Positions of tag `name` (the first tag of that name).
    pub fn tag_pos(&self, name: &str) -> Option<&TagPositions> {
        let idx = self.stream.spec.tags.iter().position(|t| t.name == name)?;
        self.tags.iter().filter(|p| !p.is_repository).nth(idx)
    }
}

/// All definitions, keyed by `namespace/name`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefinitionSet {
    /// The streams.
    pub streams: BTreeMap<StreamKey, Definition>,
}

impl DefinitionSet {
    /// The streams as plain values.
    pub fn streams(&self) -> impl Iterator<Item = &ImageStream> {
        self.streams.values().map(|d| &d.stream)
    }
}

/// The result of loading: the streams that could be read, and every problem found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The streams.
    pub set: DefinitionSet,
    /// Errors and warnings, sorted by file and line.
    pub diagnostics: Vec<Diagnostic>,
    /// How many files were read.
    pub files: usize,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Read, parse, convert and validate every definition of `source`.
pub fn load(source: &Source, config: &Config, policies: &Policies) -> Result<Loaded, SourceError> {
    match source {
        // Read and parse each file on the same worker: the reads overlap the parsing, and a
        // file's bytes are dropped as soon as it is converted.
        Source::WorkTree { root } => {
            if !root.join(source::DEFINITIONS_DIR).is_dir() {
                return Err(SourceError::MissingDir {
                    path: source::DEFINITIONS_DIR.to_owned(),
                    at: String::new(),
                });
            }
            let paths = source::list_worktree(root)?;
            let parsed = paths
                .par_iter()
                .map(|rel| {
                    let file = source::read_worktree_file(root, rel)?;
                    Ok((file.path.clone(), parse_file(&file, config)))
                })
                .collect::<Result<Vec<_>, SourceError>>()?;
            Ok(finish(parsed, config, policies))
        }
        // git2 repositories are not shared across threads: read the blobs first.
        Source::Rev { .. } => {
            let files = source::read_files(source)?;
            Ok(load_files(&files, config, policies))
        }
    }
}

/// Parse, convert and validate already-read files (parallel across files).
pub fn load_files(files: &[SourceFile], config: &Config, policies: &Policies) -> Loaded {
    let parsed: Vec<(String, incremental::Parsed)> = files
        .par_iter()
        .map(|f| (f.path.clone(), parse_file(f, config)))
        .collect();
    finish(parsed, config, policies)
}

/// Gather the parsed files (in path order) into a set, then validate it.
fn finish(
    parsed: Vec<(String, incremental::Parsed)>,
    config: &Config,
    policies: &Policies,
) -> Loaded {
    incremental::Tracker::new(parsed, config, policies, Vec::new()).into_loaded()
}

/// The namespace a file gets from its folder: `definitions/<ns>/...`.
fn folder_namespace(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("definitions/")?;
    let (ns, _) = rest.split_once('/')?;
    Some(ns)
}

/// What one file may cost. Definitions rarely use anchors at all; 20,000 values copied by
/// aliases (and 100,000 held by anchors) cover any honest reuse and stop the "billion laughs" and the quadratic alias bomb
/// within milliseconds and a few MiB. A million values is far above any real definitions file
/// under the 16 MiB size cap (the 5,000-stream benchmark holds ~1,500 values per file).
const LIMITS: node::Limits = node::Limits {
    max_nodes: 1_000_000,
    max_alias_nodes: 20_000,
    max_anchor_nodes: 100_000,
    max_depth: 64,
};

/// Parse one file into definitions and diagnostics.
pub fn parse_file(file: &SourceFile, config: &Config) -> (Vec<Definition>, Vec<Diagnostic>) {
    let path = file.path.as_str();
    let fail = |line, column, code, message: String, hint: Option<&str>| {
        let mut d = Diagnostic::error(path, line, column, code, message);
        d.hint = hint.map(str::to_owned);
        (Vec::new(), vec![d])
    };
    if file.bytes.len() > source::MAX_FILE_BYTES {
        return fail(
            0,
            0,
            "file-too-large",
            format!(
                "file is larger than {} MiB",
                source::MAX_FILE_BYTES / (1024 * 1024)
            ),
            Some("split the definitions into several files"),
        );
    }
    let text = match std::str::from_utf8(&file.bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = diagnostic::line_col(
                &String::from_utf8_lossy(&file.bytes[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            return fail(
                line,
                column,
                "not-text",
                "file is not UTF-8 text".into(),
                Some("definitions must be YAML or JSON text"),
            );
        }
    };
    if let Some(offset) = text.find('\0') {
        let (line, column) = diagnostic::line_col(text, offset);
        return fail(
            line,
            column,
            "not-text",
            "file contains a NUL byte: it is not text".into(),
            None,
        );
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = path.to_ascii_lowercase().ends_with(".json");
    if is_json && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(e.column()).unwrap_or(u32::MAX);
        if let Some((line, column)) = trailing_comma(text, e.line(), e.column()) {
            return fail(
                line,
                column,
                "invalid-json",
                "invalid JSON: trailing comma".into(),
                Some("JSON allows no comma after the last item of an object or list"),
            );
        }
        return fail(
            line,
            column,
            "invalid-json",
            format!("invalid JSON: {}", strip_json_position(&e.to_string())),
            None,
        );
    }
    let docs = match node::parse_documents(text, LIMITS) {
        Ok(d) => d,
        Err(e) => {
            let message = format!("invalid YAML: {}", e.message);
            let hint = yaml_error_hint(&e, text);
            return fail(e.pos.line, e.pos.column, "invalid-yaml", message, hint);
        }
    };
    let namespace = folder_namespace(path).unwrap_or(&config.default_namespace);
    let mut conv = convert::Converter::new(path, namespace);
    let mut documents = 0;
    for doc in &docs {
        if doc.value != node::Value::Null {
            documents += 1;
        }
        conv.document(doc);
    }
    if documents == 0 {
        conv.diags.push(
            Diagnostic::warning(path, 0, 0, "empty-file", "file holds no document")
                .with_hint("add an ImageStream or delete the file"),
        );
    }
    (conv.out, conv.diags)
}

/// When serde_json stops at a `}` or `]` that follows a comma, the position of that comma.
fn trailing_comma(text: &str, line: usize, column: usize) -> Option<(u32, u32)> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = text.get(line_start..)?.lines().next().unwrap_or("");
    let offset = line_start
        + line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
    let at = text.get(offset..)?.trim_start().chars().next()?;
    if at != '}' && at != ']' {
        return None;
    }
    let before = text.get(..offset)?.trim_end();
    if !before.ends_with(',') {
        return None;
    }
    Some(diagnostic::line_col(text, before.len() - 1))
}

fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn yaml_error_hint(e: &node::LoadError, text: &str) -> Option<&'static str> {
    match e.limit {
        Some(node::LimitKind::Aliases | node::LimitKind::Anchors | node::LimitKind::Nodes) => {
            return Some(
                "the file expands too much (an alias bomb?); write the values out or split the file",
            );
        }
        Some(node::LimitKind::Depth) => {
            return Some("definitions nest a few levels deep; check the indentation");
        }
        None => {}
    }
    let line_text = text
        .lines()
        .nth(e.pos.line.saturating_sub(1) as usize)
        .unwrap_or("");
    let indent = &line_text[..line_text.len() - line_text.trim_start().len()];
    if indent.contains('\t') || e.message.contains("tabs") {
        return Some("YAML indentation must use spaces, not tabs");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Loaded {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: (*p).to_owned(),
                bytes: t.as_bytes().to_vec(),
            })
            .collect();
        load_files(&files, &Config::default(), &Policies::default())
    }

    fn codes(l: &Loaded) -> Vec<(&'static str, u32, u32)> {
        l.diagnostics
            .iter()
            .map(|d| (d.code, d.line, d.column))
            .collect()
    }

    const IS: &str =
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\n";

    #[test]
    fn namespace_from_metadata_then_folder_then_default() {
        let with_ns = IS.replace("  name: ruby\n", "  name: ruby\n  namespace: team\n");
        let l = load(&[
            ("definitions/demo/a.yaml", &with_ns),
            ("definitions/demo/b.yaml", &IS.replace("ruby", "python")),
            ("definitions/c.yaml", &IS.replace("ruby", "nodejs")),
        ]);
        assert_eq!(codes(&l), vec![]);
        let keys: Vec<String> = l.set.streams.keys().map(ToString::to_string).collect();
        assert_eq!(keys, ["default/nodejs", "demo/python", "team/ruby"]);
    }

    #[test]
    fn several_documents_lists_and_empty_documents() {
        let text = format!(
            "{IS}---\nkind: List\napiVersion: v1\nitems:\n- {}\n---\n",
            "{apiVersion: v1, kind: ImageStream, metadata: {name: python}}"
        );
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert_eq!(codes(&l), vec![]);
        assert_eq!(l.set.streams.len(), 2);
        let l = load(&[(
            "definitions/d/b.json",
            "{\"kind\": \"ImageStreamList\", \"items\": [{\"kind\": \"ImageStream\", \"metadata\": {\"name\": \"x\"}}]}",
        )]);
        assert_eq!(codes(&l), vec![]);
        assert_eq!(l.set.streams.len(), 1);
        let l = load(&[("definitions/d/empty.yaml", "# nothing yet\n---\n")]);
        assert_eq!(codes(&l), vec![("empty-file", 0, 0)]);
        assert!(!l.has_errors());
    }

    #[test]
    fn server_fields_and_status_are_ignored() {
        let text = format!(
            "{IS}  uid: 1234\n  resourceVersion: \"9\"\n  creationTimestamp: 2020-01-01T00:00:00Z\n  generation: 3\n  managedFields: [{{manager: oc}}]\nspec:\n  tags:\n  - name: a\n    generation: 2\nstatus:\n  dockerImageRepository: x\n  tags: [{{tag: a, items: []}}]\n"
        );
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert!(!l.has_errors());
        // Ignored, each with a note: the metadata fields as one, at the first of them.
        assert_eq!(
            codes(&l),
            vec![
                ("server-field-ignored", 5, 3),
                ("server-field-ignored", 14, 1)
            ]
        );
        assert!(
            l.diagnostics[0].message.contains(
                "`uid`, `resourceVersion`, `creationTimestamp`, `generation`, `managedFields`"
            ),
            "{}",
            l.diagnostics[0].message
        );
        assert_eq!(l.set.streams.len(), 1);
        // Empty server fields (as OpenShift's sample library has them) carry nothing: no note.
        let text = format!(
            "{IS}  creationTimestamp: null\nspec:\n  tags: []\nstatus:\n  dockerImageRepository: \"\"\n"
        );
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert_eq!(codes(&l), vec![]);
        // A misspelt metadata field is an error, as unknown fields are everywhere.
        let text = format!("{IS}  lables: {{a: b}}\nspec: {{}}\n");
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert_eq!(codes(&l), vec![("unknown-field", 5, 3)]);
        assert!(l.has_errors());
        assert_eq!(
            l.diagnostics[0].hint.as_deref(),
            Some("did you mean `labels`?")
        );
    }

    #[test]
    fn unknown_fields_get_did_you_mean() {
        let text = format!("{IS}spec:\n  tag:\n  - name: a\n");
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert_eq!(codes(&l), vec![("unknown-field", 6, 3)]);
        assert_eq!(
            l.diagnostics[0].hint.as_deref(),
            Some("did you mean `tags`?")
        );
        let text = format!(
            "{IS}spec:\n  tags:\n  - name: a\n    importPolicy:\n      schedule: true\n    refrence: true\n"
        );
        let l = load(&[("definitions/d/a.yaml", &text)]);
        assert_eq!(
            codes(&l),
            vec![("unknown-field", 9, 7), ("unknown-field", 10, 5)]
        );
        assert_eq!(
            l.diagnostics[0].hint.as_deref(),
            Some("did you mean `scheduled`?")
        );
        assert_eq!(
            l.diagnostics[1].hint.as_deref(),
            Some("did you mean `reference`?")
        );
    }

    #[test]
    fn document_level_errors() {
        let l = load(&[("definitions/d/a.yaml", "metadata:\n  name: x\n")]);
        assert_eq!(codes(&l), vec![("missing-kind", 1, 1)]);
        let l = load(&[(
            "definitions/d/a.yaml",
            "kind: Deployment\nmetadata:\n  name: x\n",
        )]);
        assert_eq!(codes(&l), vec![("not-an-imagestream", 1, 7)]);
        let l = load(&[(
            "definitions/d/a.yaml",
            &IS.replace("image.openshift.io/v1", "apps/v1"),
        )]);
        assert_eq!(codes(&l), vec![("invalid-api-version", 1, 13)]);
        let l = load(&[("definitions/d/a.yaml", "kind: ImageStream\n")]);
        assert_eq!(codes(&l), vec![("missing-name", 1, 1)]);
        let l = load(&[(
            "definitions/d/a.yaml",
            &format!("{IS}spec:\n  tags:\n  - from: {{kind: DockerImage, name: x}}\n"),
        )]);
        assert_eq!(codes(&l), vec![("missing-tag-name", 7, 5)]);
        let l = load(&[("definitions/d/a.yaml", &format!("{IS}  name: other\n"))]);
        assert_eq!(codes(&l), vec![("duplicate-key", 5, 3)]);
        assert_eq!(
            l.diagnostics[0].message,
            "duplicate key `name` in `metadata`"
        );
        assert_eq!(
            l.diagnostics[0].hint.as_deref(),
            Some("it is also set at line 4")
        );
    }

    #[test]
    fn yaml_errors_are_located_with_hints() {
        let l = load(&[(
            "definitions/d/a.yaml",
            "kind: ImageStream\nmetadata:\n\tname: x\n",
        )]);
        assert_eq!(l.diagnostics[0].code, "invalid-yaml");
        assert_eq!(l.diagnostics[0].line, 3);
        assert_eq!(
            l.diagnostics[0].hint.as_deref(),
            Some("YAML indentation must use spaces, not tabs")
        );
        let l = load(&[("definitions/d/a.json", "{\"kind\": \"ImageStream\",\n}")]);
        assert_eq!(codes(&l), vec![("invalid-json", 1, 23)]);
        assert_eq!(l.diagnostics[0].message, "invalid JSON: trailing comma");
        let l = load(&[("definitions/d/a.json", "[1, 2,]")]);
        assert_eq!(codes(&l), vec![("invalid-json", 1, 6)]);
        let mut bytes = b"kind: ImageStream\nx: \xff\xfe\n".to_vec();
        bytes.push(b'\n');
        let files = [SourceFile {
            path: "definitions/d/bin.yaml".into(),
            bytes,
        }];
        let l = load_files(&files, &Config::default(), &Policies::default());
        assert_eq!(codes(&l), vec![("not-text", 2, 4)]);
    }

    #[test]
    fn alias_bombs_stop_on_budget() {
        let mut text = String::from("a: &a [");
        text.push_str(&vec!["x"; 1000].join(","));
        text.push_str("]\nb: [");
        text.push_str(&vec!["*a"; 1000].join(","));
        text.push_str("]\n");
        let l = load(&[("definitions/d/bomb.yaml", &text)]);
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].code, "invalid-yaml");
        assert!(l.diagnostics[0].message.contains("anchors and aliases"));
        // Honest reuse of an anchor still loads.
        let ok = format!(
            "{IS}spec:\n  tags:\n  - name: a\n    importPolicy: &p {{scheduled: true}}\n    from: {{kind: DockerImage, name: quay.io/o/x}}\n  - name: b\n    importPolicy: *p\n    from: {{kind: DockerImage, name: quay.io/o/y}}\n"
        );
        let l = load(&[("definitions/d/ok.yaml", &ok)]);
        assert_eq!(codes(&l), vec![]);
        let stream = l.set.streams().next().unwrap();
        assert!(stream.spec.tags[1].import_policy.scheduled);
    }
}
