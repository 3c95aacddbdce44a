//! Desired state: what the repository's `definitions/` says. Reads files from the working tree
//! or a Git revision, parses them with positions, converts them to the typed model and
//! validates them, reporting every problem at once. Never reads live state or registries.

pub mod convert;
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
    let files = source::read_files(source)?;
    Ok(load_files(&files, config, policies))
}

/// Parse, convert and validate already-read files (parallel across files).
pub fn load_files(files: &[SourceFile], config: &Config, policies: &Policies) -> Loaded {
    let parsed: Vec<(Vec<Definition>, Vec<Diagnostic>)> =
        files.par_iter().map(|f| parse_file(f, config)).collect();
    let mut diagnostics = Vec::new();
    let mut all = Vec::new();
    for (defs, diags) in parsed {
        all.extend(defs);
        diagnostics.extend(diags);
    }
    let mut set = DefinitionSet::default();
    for def in all {
        let key = def.stream.key();
        if let Some(first) = set.streams.get(&key) {
            diagnostics.push(
                Diagnostic::error(
                    &def.file,
                    def.pos.line,
                    def.pos.column,
                    "duplicate-stream",
                    format!("stream `{key}` is defined twice"),
                )
                .with_hint(format!(
                    "it is first defined at {}:{}:{}; keep one definition",
                    first.file, first.pos.line, first.pos.column
                )),
            );
            continue;
        }
        set.streams.insert(key, def);
    }
    diagnostics.extend(validate::validate(&set, config, policies));
    diagnostic::sort(&mut diagnostics);
    Loaded {
        set,
        diagnostics,
        files: files.len(),
    }
}

/// The namespace a file gets from its folder: `definitions/<ns>/...`.
fn folder_namespace(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("definitions/")?;
    let (ns, _) = rest.split_once('/')?;
    Some(ns)
}

/// Alias replays allowed per file. Definitions rarely use anchors at all; a few thousand
/// replayed events cover any honest reuse, and the cap is what stops the "billion laughs" and
/// the quadratic alias bomb within milliseconds and a few MiB.
const MAX_REPLAYED_EVENTS: usize = 20_000;
/// Nodes allowed per file: far above any real definitions file under the 16 MiB size cap
/// (the 5,000-stream benchmark holds ~2,000 nodes per file), low enough to bound memory.
const MAX_NODES: usize = 1_000_000;

fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = 2 * MAX_NODES;
    options.budget = Some(budget);
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.alias_limits = aliases;
    options
}

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
    let docs: Vec<node::Node> = match serde_saphyr::from_multiple_with_options(text, yaml_options())
    {
        Ok(d) => d,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| {
                (
                    u32::try_from(l.line()).unwrap_or(1).max(1),
                    u32::try_from(l.column()).unwrap_or(1).max(1),
                )
            });
            let message = yaml_error_message(&e);
            let hint = yaml_error_hint(&message, text, line);
            return fail(line, column, "invalid-yaml", message, hint);
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

fn yaml_error_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    match e {
        E::AliasReplayLimitExceeded { .. } | E::AliasReplayStackDepthExceeded { .. } => {
            return format!(
                "invalid YAML: anchors and aliases expand to more than {MAX_REPLAYED_EVENTS} values"
            );
        }
        E::Budget { breach, .. } => {
            let what = match breach {
                B::Nodes { .. } => format!("more than {MAX_NODES} values"),
                B::Events { .. } => format!("more than {} parser events", 2 * MAX_NODES),
                B::Aliases { .. } | B::AliasAnchorRatio { .. } => "too many aliases".to_owned(),
                B::Depth { .. } => "nesting that is too deep".to_owned(),
                B::Documents { .. } => "too many documents".to_owned(),
                other => format!("too much content ({other:?})"),
            };
            return format!("invalid YAML: the file holds {what}");
        }
        _ => {}
    }
    let text = e.to_string();
    // The first line holds the message; drop a trailing " at line X column Y".
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = match first.find(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    format!("invalid YAML: {first}")
}

fn yaml_error_hint(message: &str, text: &str, line: u32) -> Option<&'static str> {
    let line_text = text
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    if line_text.starts_with('\t') || message.contains("tab") {
        return Some("YAML indentation must use spaces, not tabs");
    }
    if message.contains("alias") || message.contains("anchor") || message.contains("the file holds")
    {
        return Some(
            "a definitions file this large is refused to protect the loader: the document expands too much through anchors and aliases; write the values out or split the file",
        );
    }
    None
}
