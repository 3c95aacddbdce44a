//! Finding triggers: which files are manifests, and what each object of each document (and
//! each item of a `List`) asks for. Reads the positioned YAML tree of the definition loader
//! (JSON reads as YAML), so every trigger, container and problem has a line and column. Knows
//! nothing of definitions or live state; judging a trigger against them is [`super::plan`]'s
//! and [`super::validate`]'s work.

use std::path::Path;

use globset::{GlobBuilder, GlobSetBuilder};

use super::trigger::{self, FieldPath, Paused, Selector, TRIGGERS_ANNOTATION};
use crate::definition::node::{self, Node, Pos, Value};
use crate::diagnostic::Diagnostic;
use crate::edit::Step;
use crate::policy::RolloutConfig;

/// One manifest file: its path relative to the repository root and its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// `/`-separated path relative to the repository root.
    pub path: String,
    /// The file's text (empty when it could not be read).
    pub text: String,
    /// Why a file that names image triggers could not be read (not UTF-8, too large): it is
    /// reported as an unreadable manifest instead of being left out without a word.
    pub unreadable: Option<String>,
}

/// A file [`find_manifests`] or [`manifests_at_rev`] cannot read as text: kept, with why,
/// only when its bytes mention what a roll-out reads, so a large or binary file that holds
/// no trigger costs nothing and says nothing.
fn unreadable(path: String, bytes: &[u8], why: String) -> Option<Manifest> {
    let mentions = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    (mentions(TRIGGERS_ANNOTATION) || mentions("ImageChange")).then(|| Manifest {
        path,
        text: String::new(),
        unreadable: Some(why),
    })
}

/// Whether a file too large to keep mentions what a roll-out reads, read in bounded chunks
/// (a file of any size costs one chunk of memory).
fn streamed_mentions(path: &Path) -> std::io::Result<bool> {
    use std::io::Read as _;
    const CHUNK: usize = 1 << 20;
    let needles = [TRIGGERS_ANNOTATION.as_bytes(), b"ImageChange".as_slice()];
    let keep = needles.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut file = fs_err::File::open(path)?;
    let mut buf = vec![0u8; CHUNK + keep];
    let mut carried = 0;
    loop {
        let n = file.read(&mut buf[carried..])?;
        if n == 0 {
            return Ok(false);
        }
        let filled = carried + n;
        let window = &buf[..filled];
        if needles
            .iter()
            .any(|needle| window.windows(needle.len()).any(|w| w == *needle))
        {
            return Ok(true);
        }
        // The last bytes again, in case a needle spans two reads.
        carried = keep.min(filled);
        buf.copy_within(filled - carried..filled, 0);
    }
}

/// `text` cut to `max` characters, marked when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn too_large(len: usize) -> String {
    format!(
        "it is {len} bytes, more than the {} a manifest may have",
        crate::definition::source::MAX_FILE_BYTES
    )
}

/// A tag named by a trigger or produced by a build.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagName {
    /// Namespace as written, or the object's; `None` when neither names one (then the
    /// configured default applies).
    pub namespace: Option<String>,
    /// Stream.
    pub stream: String,
    /// Tag.
    pub tag: String,
}

/// Where a trigger came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// An entry of the `image.openshift.io/triggers` annotation.
    Annotation,
    /// A DeploymentConfig `ImageChange` trigger.
    DeploymentConfig,
}

/// One container a trigger rolls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The manifest.
    pub file: String,
    /// Document of the file (0-based).
    pub doc: usize,
    /// The object's kind.
    pub kind: String,
    /// The object's `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// Where the trigger is written (the annotation's value, or the DeploymentConfig trigger).
    pub pos: Pos,
    /// Annotation or DeploymentConfig.
    pub source: Source,
    /// The tag it follows.
    pub from: TagName,
    /// The `fieldPath` as written, or for a DeploymentConfig the OpenShift form for the
    /// container.
    pub field_path: String,
    /// The container's name (empty when it has none).
    pub container: String,
    /// Path from the document root to the container's mapping.
    pub container_path: Vec<Step>,
    /// The container's `image` now, `None` when the key is missing.
    pub image: Option<String>,
    /// Where the `image` value (else the container) is.
    pub image_pos: Pos,
    /// Paused (`paused: true`, or a DeploymentConfig trigger without `automatic: true`).
    pub paused: bool,
    /// For a DeploymentConfig trigger that has `imageChangeParams.lastTriggeredImage`: the
    /// path to its `imageChangeParams`, whose `lastTriggeredImage` a roll writes too.
    pub last_triggered: Option<Vec<Step>>,
}

/// A tag a BuildConfig of the repository produces (`spec.output.to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    /// The manifest.
    pub file: String,
    /// Where `spec.output.to` is.
    pub pos: Pos,
    /// The tag.
    pub tag: TagName,
}

/// Everything the manifests say about roll-outs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Triggers, one per container, in file order.
    pub triggers: Vec<Trigger>,
    /// Tags built by the repository's BuildConfigs.
    pub outputs: Vec<BuildOutput>,
    /// Problems found in the manifests themselves.
    pub diagnostics: Vec<Diagnostic>,
    /// Manifests read (the ones that could hold a trigger or a build output).
    pub files: usize,
    /// The streams this repository manages (those the definitions name, and those its
    /// BuildConfigs build), once [`super::mark_managed`] judged the scan against the
    /// definitions; a trigger on any other stream is skipped as external. `None`: not
    /// judged, every stream counts as managed.
    pub managed: Option<std::collections::BTreeSet<crate::model::StreamKey>>,
}

/// What one manifest may cost: as for definitions, bounded against alias bombs.
const LIMITS: node::Limits = node::Limits {
    max_nodes: 1_000_000,
    max_alias_nodes: 20_000,
    max_anchor_nodes: 100_000,
    max_depth: 64,
};

/// Top-level folders that are never manifests: streamsync's own inputs and build output.
fn skipped_top(name: &str) -> bool {
    matches!(name, "definitions" | "policies" | "state" | "target")
}

fn is_manifest_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")
}

/// Why the manifests could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// A `[rollout] paths` glob does not parse.
    #[error("`[rollout] paths` entry `{glob}` is not a valid glob: {message}")]
    Glob {
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
    /// A folder or file could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// Which.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Every manifest of the working tree at `root`: YAML and JSON files outside `definitions/`,
/// `policies/`, `state/` (and `state_dir` wherever it is), `target/`, hidden folders and what
/// Git ignores (`.gitignore` files, `.git/info/exclude`; what Git ignores is not deployed from
/// Git, and an ignored `node_modules/` is never entered), narrowed to `config.paths` when
/// given. No symbolic link is followed: a manifest outside the repository is not its own.
/// Files that are not UTF-8 or are larger than the definition size cap are not manifests.
/// Sorted by path.
pub fn find_manifests(
    root: &Path,
    state_dir: &Path,
    config: &RolloutConfig,
) -> Result<Vec<Manifest>, FindError> {
    let globs = globs(config)?;
    let io = |path: &Path, source| FindError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    for entry in walker(root, state_dir).build() {
        let entry = entry.map_err(|e| walk_error(root, e))?;
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if !file_type.is_file() {
            continue;
        }
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel_path = rel_text(rel);
        let name = entry.file_name().to_string_lossy();
        if !is_manifest_name(&name) || !globs.as_ref().is_none_or(|g| g.is_match(&rel_path)) {
            continue;
        }
        let max = crate::definition::source::MAX_FILE_BYTES;
        let len = entry.metadata().map_err(|e| walk_error(root, e))?.len();
        if len > max as u64 {
            if streamed_mentions(path).map_err(|e| io(path, e))? {
                out.push(Manifest {
                    path: rel_path,
                    text: String::new(),
                    unreadable: Some(too_large(len as usize)),
                });
            }
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        match String::from_utf8(bytes) {
            Ok(text) => out.push(Manifest {
                path: rel_path,
                text,
                unreadable: None,
            }),
            Err(e) => out.extend(unreadable(
                rel_path,
                e.as_bytes(),
                format!("it is not UTF-8 text ({})", e.utf8_error()),
            )),
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The walk of the working tree that [`find_manifests`] and `watch` share: `.gitignore`
/// files (in the repository whether or not it is a Git checkout yet) and
/// `.git/info/exclude` are followed, the user's global excludes are not (the same
/// repository lists the same manifests for everyone), hidden entries and symbolic links are
/// skipped, and so are streamsync's own folders at the top (`definitions/`, `policies/`,
/// `state/`, `target/`) and `state_dir` wherever it is.
pub fn walker(root: &Path, state_dir: &Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b));
    let root_c = root.to_path_buf();
    let state_c = state_dir.to_path_buf();
    builder.filter_entry(move |entry| {
        let path = entry.path();
        if path == state_c {
            return false;
        }
        if entry.depth() == 1
            && entry.file_type().is_some_and(|t| t.is_dir())
            && path.parent() == Some(root_c.as_path())
        {
            return !skipped_top(&entry.file_name().to_string_lossy());
        }
        true
    });
    builder
}

fn rel_text(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A walk error as a [`FindError`]: the path it names, and the I/O error under it.
fn walk_error(root: &Path, e: ignore::Error) -> FindError {
    fn path_of(e: &ignore::Error) -> Option<&Path> {
        match e {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            _ => None,
        }
    }
    let path = path_of(&e).unwrap_or(root).display().to_string();
    let source = match e.io_error() {
        Some(io) => std::io::Error::new(io.kind(), io.to_string()),
        None => std::io::Error::other(e.to_string()),
    };
    FindError::Io { path, source }
}

/// Whether `rel` (a `/`-separated path under the root) is a file name roll-outs read and
/// `config.paths` admits: what `watch` asks of a changed file once it knows Git does not
/// ignore it.
pub fn is_manifest_path(rel: &str, config: &RolloutConfig) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let top = rel.split('/').next().unwrap_or(rel);
    if rel.contains('/') && skipped_top(top) {
        return false;
    }
    // A glob that does not parse admits everything: the round shows the error.
    is_manifest_name(name) && globs(config).map_or(true, |g| g.is_none_or(|g| g.is_match(rel)))
}

/// The manifests as they are at Git revision `rev` of the repository holding `root`, read
/// through git2 without a checkout, chosen as [`find_manifests`] chooses them (the state
/// folder is `state/` there). For `--base` and `--rev`: which roll-outs a change introduces.
pub fn manifests_at_rev(
    root: &Path,
    rev: &str,
    config: &RolloutConfig,
) -> Result<Vec<Manifest>, RevError> {
    use crate::definition::source;
    let globs = globs(config).map_err(RevError::Find)?;
    let (repo, prefix) = source::open_repo(root)?;
    let mut tree = source::commit_tree(&repo, rev)?;
    if !prefix.is_empty() {
        let Ok(entry) = tree.get_path(Path::new(&prefix)) else {
            return Ok(Vec::new());
        };
        tree = repo.find_tree(entry.id()).map_err(RevError::Git)?;
    }
    let mut out = Vec::new();
    let mut failure = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') || (dir.is_empty() && skipped_top(name)) {
            return git2::TreeWalkResult::Skip;
        }
        let path = format!("{dir}{name}");
        if entry.kind() == Some(git2::ObjectType::Blob)
            && is_manifest_name(name)
            && globs.as_ref().is_none_or(|g| g.is_match(&path))
        {
            match repo.find_blob(entry.id()) {
                Ok(blob) if blob.content().len() <= source::MAX_FILE_BYTES => {
                    match std::str::from_utf8(blob.content()) {
                        Ok(text) => out.push(Manifest {
                            path,
                            text: text.to_owned(),
                            unreadable: None,
                        }),
                        Err(e) => out.extend(unreadable(
                            path,
                            blob.content(),
                            format!("it is not UTF-8 text ({e})"),
                        )),
                    }
                }
                Ok(blob) => out.extend(unreadable(
                    path,
                    blob.content(),
                    too_large(blob.content().len()),
                )),
                Err(e) => {
                    failure = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(RevError::Git)?;
    if let Some(e) = failure {
        return Err(RevError::Git(e));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Why the manifests at a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RevError {
    /// The globs.
    #[error(transparent)]
    Find(FindError),
    /// The repository or revision.
    #[error(transparent)]
    Source(#[from] crate::definition::source::SourceError),
    /// Reading the tree.
    #[error("cannot read the Git tree")]
    Git(#[source] git2::Error),
}

fn globs(config: &RolloutConfig) -> Result<Option<globset::GlobSet>, FindError> {
    if config.paths.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in &config.paths {
        // `*` stays within one folder and `**` crosses folders, as in `.gitignore` and the
        // `paths` filters of GitHub workflows.
        let g = GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|e| FindError::Glob {
                glob: glob.clone(),
                message: e.kind().to_string(),
            })?;
        builder.add(g);
    }
    builder.build().map(Some).map_err(|e| FindError::Glob {
        glob: config.paths.join(", "),
        message: e.to_string(),
    })
}

/// Whether a text can hold anything a roll-out needs; the others are not parsed at all,
/// which keeps a repository of thousands of unrelated manifests cheap.
pub fn may_hold_triggers(text: &str) -> bool {
    text.contains(TRIGGERS_ANNOTATION)
        || text.contains("ImageChange")
        || text.contains("BuildConfig")
}

/// The code of a manifest that cannot be parsed: an error, which stops no other
/// manifest from rolling.
pub const UNREADABLE: &str = "manifest-parse";

/// Scan every manifest. Namespaces stay as written (`None` when neither the trigger nor its
/// object names one): defaulting them is the caller's, with the configured default.
pub fn scan(manifests: &[Manifest]) -> Scan {
    let mut out = Scan::default();
    for m in manifests {
        scan_one(m, &mut out);
    }
    out
}

/// Scan one manifest into `out`.
pub fn scan_one(manifest: &Manifest, out: &mut Scan) {
    if let Some(why) = &manifest.unreadable {
        out.files += 1;
        out.diagnostics.push(
            Diagnostic::error(
                &manifest.path,
                1,
                1,
                UNREADABLE,
                format!("cannot read this manifest, so its image triggers are not rolled: {why}"),
            )
            .with_hint("save it as UTF-8 text under the size limit, or leave the file out with `[rollout] paths` in streamsync.toml"),
        );
        return;
    }
    if !may_hold_triggers(&manifest.text) {
        return;
    }
    out.files += 1;
    let docs = match node::parse_documents(&manifest.text, LIMITS) {
        Ok(docs) => docs,
        Err(e) => {
            out.diagnostics.push(
                Diagnostic::error(
                    &manifest.path,
                    e.pos.line,
                    e.pos.column,
                    UNREADABLE,
                    format!(
                        "cannot read this manifest, so its image triggers are not rolled: {}",
                        e.message
                    ),
                )
                .with_hint("fix the YAML or JSON syntax, or leave the file out with `[rollout] paths` in streamsync.toml"),
            );
            return;
        }
    };
    // Byte ranges, for pointing at one entry of an annotation: parsed once per file, and
    // only when an annotation is read.
    let spans = std::cell::OnceCell::new();
    let lines = std::cell::OnceCell::new();
    let ctx = FileContext {
        manifest,
        spans: &spans,
        lines: &lines,
    };
    for (doc, root) in docs.iter().enumerate() {
        // Kubernetes reads the last of two equal keys, streamsync's reading the first: a
        // document with one is not rolled at all.
        let before = out.diagnostics.len();
        duplicate_keys(&manifest.path, root, &mut out.diagnostics);
        if out.diagnostics.len() > before {
            continue;
        }
        let is_list = root
            .get("kind")
            .and_then(|(_, k)| k.as_str())
            .is_some_and(|k| k.ends_with("List"));
        match root.get("items").map(|(_, n)| &n.value) {
            Some(Value::Seq(items)) if is_list => {
                for (i, item) in items.iter().enumerate() {
                    let path = vec![Step::Key("items".into()), Step::Index(i)];
                    object(&ctx, doc, item, path, out);
                }
            }
            _ => object(&ctx, doc, root, Vec::new(), out),
        }
    }
}

/// What the objects of one file share: the file, and what is parsed of it only when needed.
struct FileContext<'a> {
    manifest: &'a Manifest,
    spans: &'a std::cell::OnceCell<Option<crate::edit::Spans>>,
    lines: &'a std::cell::OnceCell<crate::diagnostic::LineIndex>,
}

/// Report every key a mapping of `node` repeats, at the repetition.
fn duplicate_keys(file: &str, node: &Node, out: &mut Vec<Diagnostic>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match &n.value {
            Value::Seq(items) => stack.extend(items.iter().rev()),
            Value::Map(entries) => {
                let mut first: std::collections::HashMap<&str, Pos> =
                    std::collections::HashMap::with_capacity(entries.len());
                for (k, v) in entries {
                    if let Some(earlier) = first.get(k.name.as_str()) {
                        out.push(
                            Diagnostic::error(
                                file,
                                k.pos.line,
                                k.pos.column,
                                "duplicate-key",
                                format!(
                                    "duplicate key `{}` (first at line {}): Kubernetes reads the last one, so nothing in this document is rolled",
                                    crate::util::escape_line(&k.name),
                                    earlier.line
                                ),
                            )
                            .with_hint("keep one of the two keys"),
                        );
                    } else {
                        first.insert(&k.name, k.pos);
                    }
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}

fn str_at<'n>(node: &'n Node, keys: &[&str]) -> Option<&'n str> {
    at(node, keys).and_then(Node::as_str)
}

fn at<'n>(node: &'n Node, keys: &[&str]) -> Option<&'n Node> {
    let mut n = node;
    for k in keys {
        n = n.get(k)?.1;
    }
    Some(n)
}

/// The tag of a `{kind: ImageStreamTag, name, namespace}` reference.
fn ist(node: &Node, namespace: Option<&str>) -> Option<TagName> {
    if node.get("kind").and_then(|(_, k)| k.as_str()) != Some("ImageStreamTag") {
        return None;
    }
    ist_named(node, node.get("name")?.1.as_str()?, namespace)
}

/// The tag `name` (`<stream>:<tag>`) of a reference, in its `namespace` (else `namespace`).
fn ist_named(node: &Node, name: &str, namespace: Option<&str>) -> Option<TagName> {
    let (stream, tag) = trigger::split_stream_tag(name)?;
    Some(TagName {
        namespace: node
            .get("namespace")
            .and_then(|(_, n)| n.as_str())
            .filter(|n| !n.is_empty())
            .or(namespace)
            .map(str::to_owned),
        stream: stream.to_owned(),
        tag: tag.to_owned(),
    })
}

/// Context of one object.
struct Object<'a> {
    file: &'a str,
    text: &'a str,
    spans: &'a std::cell::OnceCell<Option<crate::edit::Spans>>,
    lines: &'a std::cell::OnceCell<crate::diagnostic::LineIndex>,
    /// Container positions by name, per list, built on the first look-up by name.
    by_name: std::cell::RefCell<
        std::collections::HashMap<String, std::collections::HashMap<&'a str, usize>>,
    >,
    doc: usize,
    path: Vec<Step>,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    node: &'a Node,
}

impl Object<'_> {
    fn error(&self, pos: Pos, code: &'static str, message: String, hint: &str) -> Diagnostic {
        Diagnostic::error(self.file, pos.line, pos.column, code, message).with_hint(hint)
    }

    /// The bytes of this object's trigger annotation value.
    fn annotation_span(&self) -> Option<(usize, usize)> {
        let mut path = self.path.clone();
        path.extend(
            ["metadata", "annotations", TRIGGERS_ANNOTATION].map(|k| Step::Key(k.to_owned())),
        );
        self.spans
            .get_or_init(|| crate::edit::Spans::parse(self.text))
            .as_ref()?
            .value(self.doc, &path)
    }

    fn describe(&self) -> String {
        format!("{} `{}`", self.kind, self.name)
    }

    /// The container `list[selector]` of the pod spec, with its path and node.
    fn container(
        &self,
        pod_spec: &[&str],
        list: &str,
        selector: &Selector,
    ) -> Option<(Vec<Step>, &Node)> {
        let spec = at(self.node, pod_spec)?;
        let Value::Seq(items) = &spec.get(list)?.1.value else {
            return None;
        };
        let (index, node) = match selector {
            Selector::Index(i) => (*i, items.get(*i)?),
            Selector::Name(n) => {
                let mut by_name = self.by_name.borrow_mut();
                let names = by_name.entry(list.to_owned()).or_insert_with(|| {
                    let mut names = std::collections::HashMap::with_capacity(items.len());
                    for (i, c) in items.iter().enumerate() {
                        if let Some(name) = c.get("name").and_then(|(_, v)| v.as_str()) {
                            // The first container of a name, as a search in order finds it.
                            names.entry(name).or_insert(i);
                        }
                    }
                    names
                });
                let i = *names.get(n.as_str())?;
                (i, &items[i])
            }
        };
        let mut path = self.path.clone();
        path.extend(pod_spec.iter().map(|k| Step::Key((*k).to_owned())));
        path.push(Step::Key(list.to_owned()));
        path.push(Step::Index(index));
        Some((path, node))
    }

    /// Where the container at `path` is reached through a YAML alias, when it is: rolling it
    /// would change the anchor's other uses too.
    fn aliased(&self, path: &[Step]) -> Option<String> {
        let steps = self
            .spans
            .get_or_init(|| crate::edit::Spans::parse(self.text))
            .as_ref()?
            .alias_on(self.doc, path)?;
        Some(crate::edit::steps_text(&path[..steps]))
    }

    /// The error for a container whose `image` is written with a YAML tag, when it is: a
    /// tagged value means what its tag says, so it is never rewritten.
    fn tagged_image(&self, path: &[Step], container: &Node, which: &str) -> Option<Diagnostic> {
        let mut image = path.to_vec();
        image.push(Step::Key("image".to_owned()));
        let tagged = self
            .spans
            .get_or_init(|| crate::edit::Spans::parse(self.text))
            .as_ref()?
            .tagged(self.doc, &image);
        tagged.then(|| {
            let pos = container.get("image").map_or(container.pos, |(_, v)| v.pos);
            self.error(
                pos,
                "trigger-image-tagged",
                format!("{which}: the container's `image` is written with a YAML tag (`!…`), so streamsync does not rewrite it"),
                "write the image as a plain string, e.g. `image: registry.example.com/app:1`",
            )
        })
    }

    fn alias_error(&self, pos: Pos, which: &str, at: &str) -> Diagnostic {
        self.error(
            pos,
            "trigger-alias",
            format!("{which}: its container is reached through the YAML alias at `{at}`, so rolling it would change every use of the anchor"),
            "write the aliased value out in full where the trigger's container is",
        )
    }

    /// What a trigger that selects no container could select instead: the names (else the
    /// positions) of `list`, for the hint.
    fn choices(&self, pod_spec: &[&str], list: &str) -> String {
        let items = match at(self.node, pod_spec)
            .and_then(|spec| spec.get(list))
            .map(|(_, n)| &n.value)
        {
            Some(Value::Seq(items)) if !items.is_empty() => items,
            _ => return format!("{} has no `{list}`", self.describe()),
        };
        // A few choices and a count: a hint for each of thousands of triggers must not list
        // thousands of containers.
        const SHOWN: usize = 5;
        let names: Vec<String> = items
            .iter()
            .take(SHOWN)
            .enumerate()
            .map(|(i, c)| match c.get("name").and_then(|(_, v)| v.as_str()) {
                Some(name) => format!("[{i}] `{}`", crate::util::escape_line(&cut(name, 60))),
                None => format!("[{i}]"),
            })
            .collect();
        if items.len() <= SHOWN {
            return format!(
                "the `{list}` of {} are {}; select one by index or by name",
                self.describe(),
                names.join(", ")
            );
        }
        format!(
            "the {} `{list}` of {} include {} and {} more; select one by index or by name",
            items.len(),
            self.describe(),
            names.join(", "),
            items.len() - SHOWN
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn trigger(
        &self,
        pos: Pos,
        source: Source,
        from: TagName,
        field_path: String,
        container_path: Vec<Step>,
        container: &Node,
        paused: bool,
    ) -> Trigger {
        let image = container.get("image");
        Trigger {
            file: self.file.to_owned(),
            doc: self.doc,
            kind: self.kind.to_owned(),
            namespace: self.namespace.map(str::to_owned),
            name: self.name.to_owned(),
            pos,
            source,
            from,
            field_path,
            container: container
                .get("name")
                .and_then(|(_, n)| n.as_str())
                .unwrap_or_default()
                .to_owned(),
            container_path,
            // `image:` with no value reads as missing, as Kubernetes decodes it.
            image: image.and_then(|(_, v)| match &v.value {
                Value::Str(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(format!("<{}>", other.kind_name())),
            }),
            image_pos: image.map_or(container.pos, |(_, v)| v.pos),
            paused,
            last_triggered: None,
        }
    }
}

fn object(ctx: &FileContext<'_>, doc: usize, node: &Node, path: Vec<Step>, out: &mut Scan) {
    let (file, text) = (ctx.manifest.path.as_str(), ctx.manifest.text.as_str());
    let Some(kind) = node.get("kind").and_then(|(_, k)| k.as_str()) else {
        return;
    };
    let obj = Object {
        file,
        text,
        spans: ctx.spans,
        lines: ctx.lines,
        by_name: Default::default(),
        doc,
        path,
        kind,
        namespace: str_at(node, &["metadata", "namespace"]).filter(|n| !n.is_empty()),
        name: str_at(node, &["metadata", "name"]).unwrap_or_default(),
        node,
    };
    if kind == "BuildConfig" {
        if let Some(to) = at(node, &["spec", "output", "to"])
            && let Some(tag) = ist(to, obj.namespace)
        {
            out.outputs.push(BuildOutput {
                file: file.to_owned(),
                pos: to.pos,
                tag,
            });
        }
        return;
    }
    let Some(pod_spec) = trigger::pod_spec_path(kind) else {
        return;
    };
    if kind == "DeploymentConfig" {
        deployment_config(&obj, pod_spec, out);
    }
    if let Some((_, annotation)) = node
        .get("metadata")
        .and_then(|(_, m)| m.get("annotations"))
        .and_then(|(_, a)| a.get(TRIGGERS_ANNOTATION))
    {
        if let Some(why) = not_updated_by_openshift(kind) {
            out.diagnostics.push(
                obj.error(
                    annotation.pos,
                    "trigger-ignored-by-openshift",
                    format!("{}: {why}; streamsync rolls its manifest all the same", obj.describe()),
                    "roll it from a Deployment, StatefulSet, DaemonSet or CronJob (or a DeploymentConfig's own `ImageChange` triggers), which OpenShift updates",
                )
                .with_severity(crate::diagnostic::Severity::Warning),
            );
        }
        annotation_triggers(&obj, pod_spec, annotation, out);
    }
}

/// Why OpenShift's image trigger controller does not act on the trigger annotation of an
/// object of `kind`, when it does not: it reads the annotation only on Deployments,
/// StatefulSets, DaemonSets and CronJobs (openshift-controller-manager's image trigger
/// sources).
fn not_updated_by_openshift(kind: &str) -> Option<&'static str> {
    match kind {
        "DeploymentConfig" => Some(
            "OpenShift's controller does not read the trigger annotation on a DeploymentConfig, only its `spec.triggers` (`ImageChange`)",
        ),
        "Job" | "Pod" => Some(
            "OpenShift's controller does not update this kind from image triggers, and a Job's or Pod's template cannot change once it is created (a new image needs a new object)",
        ),
        "ReplicaSet" | "ReplicationController" => {
            Some("OpenShift's controller does not update this kind from image triggers")
        }
        _ => None,
    }
}

/// The annotation trigger's shape, for the hints of problems with it.
const TRIGGER_HINT: &str = "OpenShift reads `[{\"from\": {\"kind\": \"ImageStreamTag\", \"name\": \"<stream>:<tag>\"}, \"fieldPath\": \"spec.template.spec.containers[0].image\"}]`";

fn annotation_triggers(obj: &Object<'_>, pod_spec: &[&str], annotation: &Node, out: &mut Scan) {
    let pos = annotation.pos;
    let hint = TRIGGER_HINT;
    let Some(text) = annotation.as_str() else {
        out.diagnostics.push(obj.error(
            pos,
            "trigger-json",
            format!(
                "the `{TRIGGERS_ANNOTATION}` annotation of {} is not a string",
                obj.describe()
            ),
            hint,
        ));
        return;
    };
    let entries = match trigger::parse_annotation(text) {
        Ok(e) => e,
        Err(e) => {
            out.diagnostics.push(obj.error(
                pos,
                "trigger-json",
                format!("{e} in {}", obj.describe()),
                hint,
            ));
            return;
        }
    };
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut finder = FieldPathFinder::default();
    for (i, entry) in entries.iter().enumerate() {
        let which = format!("trigger {} of {}", i + 1, obj.describe());
        // Problems point at the entry's `fieldPath` when the annotation's text holds it as
        // written (not escaped), else at the annotation.
        let pos = match entry.field_path.as_deref().filter(|f| !f.is_empty()) {
            Some(field_path) => finder.position(obj, field_path, pos),
            None => pos,
        };
        let (field_path, from) = match entry_source(obj, entry, &which, pos, &mut seen) {
            Ok(source) => source,
            Err(d) => {
                out.diagnostics.push(d);
                continue;
            }
        };
        entry_target(obj, pod_spec, entry, &which, pos, field_path, from, out);
    }
}

/// Finds each annotation entry's `fieldPath` in the annotation's text. Entries appear in the
/// text in order: each search starts where the last one's field path was found, tries first
/// the quoting that found it, and all searches together read the annotation's text a bounded
/// number of times, so a huge annotation costs in proportion to its size (an entry not found
/// in budget points at the annotation).
#[derive(Default)]
struct FieldPathFinder {
    span: Option<Option<(usize, usize)>>,
    cursor: usize,
    preferred: usize,
    budget: usize,
}

impl FieldPathFinder {
    /// Where `field_path` is written, else `pos` (the annotation's).
    fn position(&mut self, obj: &Object<'_>, field_path: &str, pos: Pos) -> Pos {
        let budget = &mut self.budget;
        let span = *self.span.get_or_insert_with(|| {
            let s = obj.annotation_span();
            *budget = s.map_or(0, |(start, end)| 8 * (end - start) + 4096);
            s
        });
        // As JSON writes it (`\"` inside name selectors), that again inside a YAML
        // double-quoted string, inside a single-quoted one (`''`), else as decoded.
        let quote = |s: &str| {
            serde_json::to_string(s)
                .map(|q| q[1..q.len() - 1].to_owned())
                .unwrap_or_default()
        };
        let encoded = quote(field_path);
        let needles = [
            quote(&encoded),
            encoded.replace('\'', "''"),
            encoded.clone(),
            field_path.to_owned(),
        ];
        let order = std::iter::once(self.preferred)
            .chain((0..needles.len()).filter(|&n| n != self.preferred));
        let mut found = None;
        if let Some((start, end)) = span {
            let raw = &obj.text[start + self.cursor.min(end - start)..end];
            for n in order {
                if self.budget == 0 {
                    break;
                }
                let needle = needles[n].as_str();
                let hit = raw.find(needle);
                self.budget = self
                    .budget
                    .saturating_sub(hit.map_or(raw.len(), |h| h + needle.len()));
                if let Some(at) = hit {
                    found = Some(start + self.cursor + at);
                    self.cursor += at + needle.len();
                    self.preferred = n;
                    break;
                }
            }
        }
        found.map_or(pos, |at| {
            let (line, column) = obj
                .lines
                .get_or_init(|| crate::diagnostic::LineIndex::new(obj.text))
                .line_col(obj.text, at);
            Pos { line, column }
        })
    }
}

/// An annotation entry's field path and the tag it names, or the problem with them (not an
/// object, no or a repeated field path, a wrong kind, an `apiVersion`, a bad name).
fn entry_source<'e>(
    obj: &Object<'_>,
    entry: &'e trigger::Entry,
    which: &str,
    pos: Pos,
    seen: &mut std::collections::HashSet<&'e str>,
) -> Result<(&'e str, TagName), Diagnostic> {
    let hint = TRIGGER_HINT;
    if !entry.is_object {
        return Err(obj.error(
            pos,
            "trigger-json",
            format!("{which} is not a JSON object"),
            hint,
        ));
    }
    let Some(field_path) = entry.field_path.as_deref().filter(|f| !f.is_empty()) else {
        return Err(obj.error(
            pos,
            "trigger-field-path",
            format!("{which} has no `fieldPath`"),
            hint,
        ));
    };
    if seen.contains(field_path) {
        return Err(obj.error(
            pos,
            "trigger-duplicate",
            format!("{which} repeats field path `{field_path}`; OpenShift rejects the whole annotation (\"duplicate triggers are not allowed\")"),
            "keep one trigger per container",
        ));
    }
    seen.insert(field_path);
    match entry.kind.as_deref() {
        Some("ImageStreamTag") => {}
        None => {
            return Err(obj.error(
                pos,
                "trigger-kind",
                format!("{which} has no `from.kind`"),
                "set `\"kind\": \"ImageStreamTag\"` in `from`",
            ));
        }
        Some(other) => {
            return Err(obj.error(
                pos,
                "trigger-kind",
                format!(
                    "{which} has `from.kind` `{other}`; only `ImageStreamTag` triggers a roll-out"
                ),
                "set `\"kind\": \"ImageStreamTag\"` in `from`",
            ));
        }
    }
    if entry.api_version.as_deref().is_some_and(|v| !v.is_empty()) {
        return Err(obj.error(
            pos,
            "trigger-kind",
            format!("{which} sets `from.apiVersion`, so OpenShift ignores it"),
            "remove `apiVersion` from `from`",
        ));
    }
    let Some((stream, tag)) = entry.name.as_deref().and_then(trigger::split_stream_tag) else {
        return Err(obj.error(
            pos,
            "trigger-name",
            format!(
                "{which} names `{}`, which is not `<stream>:<tag>`",
                entry.name.as_deref().unwrap_or_default()
            ),
            "name the tag as `<stream>:<tag>` in `from.name`",
        ));
    };
    let from = TagName {
        namespace: entry
            .namespace
            .as_deref()
            .or(obj.namespace)
            .map(str::to_owned),
        stream: stream.to_owned(),
        tag: tag.to_owned(),
    };
    Ok((field_path, from))
}

/// The container an annotation entry's field path selects, checked (`paused`, an alias, an
/// image already pinned by a tag), becomes a trigger; each problem becomes a diagnostic.
#[allow(clippy::too_many_arguments)]
fn entry_target(
    obj: &Object<'_>,
    pod_spec: &[&str],
    entry: &trigger::Entry,
    which: &str,
    pos: Pos,
    field_path: &str,
    from: TagName,
    out: &mut Scan,
) {
    let parsed: FieldPath = match trigger::parse_field_path(field_path, pod_spec) {
        Ok(p) => p,
        Err(message) => {
            out.diagnostics.push(obj.error(
                pos,
                "trigger-field-path",
                format!("{which}: {message}"),
                "select a container by index, `containers[0]`, or by name, `containers[?(@.name==\"web\")]`",
            ));
            return;
        }
    };
    let Some((container_path, container)) =
        obj.container(pod_spec, parsed.list(), &parsed.selector)
    else {
        out.diagnostics.push(obj.error(
            pos,
            "trigger-field-path",
            format!("{which}: field path `{field_path}` selects no container"),
            &obj.choices(pod_spec, parsed.list()),
        ));
        return;
    };
    if parsed.lenient {
        out.diagnostics.push(
            obj.error(
                pos,
                "trigger-ignored-by-openshift",
                format!("{which}: OpenShift's controller does not match field path `{field_path}`, finds no container for it and so ignores every trigger of {} (it updates nothing in the object); streamsync rolls it as written", obj.describe()),
                "write the name selector as `[?(@.name==\"<name>\")]` (two `=`, double quotes)",
            )
            .with_severity(crate::diagnostic::Severity::Warning),
        );
    }
    if let Paused::Text(t) = &entry.paused {
        out.diagnostics.push(
            obj.error(
                pos,
                "trigger-ignored-by-openshift",
                format!("{which}: `paused` is the string \"{t}\"; OpenShift reads `paused` as a boolean, cannot read the annotation and so ignores every trigger of {}; streamsync reads it as {}", obj.describe(), entry.paused.is_paused()),
                "write `\"paused\": true` or `\"paused\": false` without quotes",
            )
            .with_severity(crate::diagnostic::Severity::Warning),
        );
    } else if entry.paused == Paused::Other {
        out.diagnostics.push(obj.error(
            pos,
            "trigger-json",
            format!("{which}: `paused` is neither true nor false"),
            "write `\"paused\": true` or `\"paused\": false`",
        ));
        return;
    }
    if let Some(at) = obj.aliased(&container_path) {
        out.diagnostics.push(obj.alias_error(pos, which, &at));
        return;
    }
    if let Some(d) = obj.tagged_image(&container_path, container, which) {
        out.diagnostics.push(d);
        return;
    }
    out.triggers.push(obj.trigger(
        pos,
        Source::Annotation,
        from,
        field_path.to_owned(),
        container_path,
        container,
        entry.paused.is_paused(),
    ));
}

fn deployment_config(obj: &Object<'_>, pod_spec: &[&str], out: &mut Scan) {
    let Some(Value::Seq(triggers)) = at(obj.node, &["spec", "triggers"]).map(|n| &n.value) else {
        return;
    };
    for (i, t) in triggers.iter().enumerate() {
        if t.get("type").and_then(|(_, v)| v.as_str()) != Some("ImageChange") {
            continue;
        }
        let which = format!("ImageChange trigger {} of {}", i + 1, obj.describe());
        let Some((_, params)) = t.get("imageChangeParams") else {
            out.diagnostics.push(obj.error(
                t.pos,
                "trigger-json",
                format!("{which} has no `imageChangeParams`"),
                "give it `imageChangeParams` with `from`, `containerNames` and `automatic`",
            ));
            continue;
        };
        let Some((_, from)) = params.get("from") else {
            out.diagnostics.push(obj.error(
                params.pos,
                "trigger-kind",
                format!("{which} has no `from`"),
                "set `from: {kind: ImageStreamTag, name: <stream>:<tag>}`",
            ));
            continue;
        };
        // OpenShift's defaults: no `kind` is an ImageStreamTag, and `kind: ImageStream`
        // follows the stream's `latest` (unless its name names a tag).
        let name = str_at(from, &["name"]);
        let tag = match from.get("kind").and_then(|(_, k)| k.as_str()) {
            Some("ImageStreamTag") | None => name.and_then(|n| ist_named(from, n, obj.namespace)),
            Some("ImageStream") => name.and_then(|n| {
                let n = if n.contains(':') {
                    n.to_owned()
                } else {
                    format!("{n}:latest")
                };
                ist_named(from, &n, obj.namespace)
            }),
            Some(k) => {
                out.diagnostics.push(obj.error(
                    from.pos,
                    "trigger-kind",
                    format!("{which} has `from.kind` `{k}`; only `ImageStreamTag` (or `ImageStream`, for its `latest`) triggers a roll-out"),
                    "set `kind: ImageStreamTag` in `from`",
                ));
                continue;
            }
        };
        let Some(tag) = tag else {
            out.diagnostics.push(obj.error(
                from.pos,
                "trigger-name",
                format!(
                    "{which} names `{}`, which is not `<stream>:<tag>`",
                    str_at(from, &["name"]).unwrap_or_default()
                ),
                "name the tag as `<stream>:<tag>` in `from.name`",
            ));
            continue;
        };
        // OpenShift's controller writes `lastTriggeredImage` with the image; where the
        // trigger has the key, a roll writes it too (where it has not, nobody manages it).
        let last_triggered = params.get("lastTriggeredImage").map(|_| {
            let mut path = obj.path.clone();
            path.extend([
                Step::Key("spec".to_owned()),
                Step::Key("triggers".to_owned()),
                Step::Index(i),
                Step::Key("imageChangeParams".to_owned()),
            ]);
            path
        });
        let automatic = matches!(
            params.get("automatic").map(|(_, v)| &v.value),
            Some(Value::Bool(true))
        );
        let names: Vec<&Node> = match params.get("containerNames").map(|(_, v)| &v.value) {
            Some(Value::Seq(names)) if !names.is_empty() => names.iter().collect(),
            _ => {
                out.diagnostics.push(obj.error(
                    params.pos,
                    "trigger-field-path",
                    format!("{which} has no `containerNames`"),
                    "list the containers the trigger updates in `containerNames`",
                ));
                continue;
            }
        };
        for name_node in names {
            let name = name_node.as_str().unwrap_or_default();
            let selector = Selector::Name(name.to_owned());
            let found = obj
                .container(pod_spec, "containers", &selector)
                .map(|c| (c, "containers"))
                .or_else(|| {
                    obj.container(pod_spec, "initContainers", &selector)
                        .map(|c| (c, "initContainers"))
                });
            // OpenShift ignores a name that matches no container and rolls the others.
            let Some(((container_path, container), list)) = found else {
                out.diagnostics.push(
                    obj.error(
                        name_node.pos,
                        "trigger-field-path",
                        format!(
                            "{which} names container `{name}`, which {} does not have; OpenShift ignores the name, and so does streamsync",
                            obj.describe()
                        ),
                        &obj.choices(pod_spec, "containers"),
                    )
                    .with_severity(crate::diagnostic::Severity::Warning),
                );
                continue;
            };
            if let Some(at) = obj.aliased(&container_path) {
                out.diagnostics
                    .push(obj.alias_error(name_node.pos, &which, &at));
                continue;
            }
            if let Some(d) = obj.tagged_image(&container_path, container, &which) {
                out.diagnostics.push(d);
                continue;
            }
            let field_path = format!("{}.{list}[?(@.name==\"{name}\")].image", pod_spec.join("."));
            let mut trigger = obj.trigger(
                t.pos,
                Source::DeploymentConfig,
                tag.clone(),
                field_path,
                container_path,
                container,
                !automatic,
            );
            trigger.last_triggered = last_triggered.clone();
            out.triggers.push(trigger);
        }
    }
}

/// Whether `after` holds the same documents as `before` once each container of `rolled`
/// (document, path to the container, new image) carries its new `image`: the proof that an
/// edit changed those values and nothing else (no sibling lost, no block scalar grown, no
/// anchor shared). The error says where the two first differ.
pub fn same_but_images(
    before: &str,
    after: &str,
    rolled: &[(usize, &[Step], &str)],
) -> Result<(), String> {
    let values: Vec<_> = rolled
        .iter()
        .map(|&(doc, path, image)| (doc, path, "image", image))
        .collect();
    same_but_values(before, after, &values)
}

/// [`same_but_images`] for any key: `edits` are (document, path to a mapping, key, new
/// string value), the key added at the mapping's end when it is missing.
pub fn same_but_values(
    before: &str,
    after: &str,
    edits: &[(usize, &[Step], &str, &str)],
) -> Result<(), String> {
    let parse = |text: &str| node::parse_documents(text, LIMITS).map_err(|e| e.message);
    let mut expected = parse(before)?;
    let actual = parse(after)?;
    for (doc, path, key, image) in edits {
        let container = expected
            .get_mut(*doc)
            .and_then(|root| node_at_mut(root, path))
            .ok_or_else(|| format!("document {} has no mapping at the planned path", doc + 1))?;
        let Value::Map(entries) = &mut container.value else {
            return Err(format!(
                "document {}: the planned path is not a mapping",
                doc + 1
            ));
        };
        let value = Node {
            pos: Pos::default(),
            value: Value::Str((*image).to_owned()),
        };
        match entries.iter_mut().find(|(k, _)| k.name == *key) {
            Some((_, v)) => *v = value,
            None => entries.push((
                node::Key {
                    pos: Pos::default(),
                    name: (*key).to_owned(),
                },
                value,
            )),
        }
    }
    if expected.len() != actual.len() {
        return Err(format!(
            "the file had {} documents and now has {}",
            expected.len(),
            actual.len()
        ));
    }
    for (e, a) in expected.iter().zip(&actual) {
        if let Some(pos) = first_difference(e, a) {
            return Err(format!("line {} changed beyond the image values", pos.line));
        }
    }
    Ok(())
}

fn node_at_mut<'n>(node: &'n mut Node, path: &[Step]) -> Option<&'n mut Node> {
    let mut n = node;
    for step in path {
        n = match (step, &mut n.value) {
            (Step::Key(k), Value::Map(entries)) => {
                &mut entries.iter_mut().find(|(key, _)| &key.name == k)?.1
            }
            (Step::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// Where two trees first differ in value (positions aside), as the position in `actual`.
fn first_difference(expected: &Node, actual: &Node) -> Option<Pos> {
    match (&expected.value, &actual.value) {
        (Value::Seq(e), Value::Seq(a)) => {
            if e.len() != a.len() {
                return Some(actual.pos);
            }
            e.iter().zip(a).find_map(|(e, a)| first_difference(e, a))
        }
        (Value::Map(e), Value::Map(a)) => {
            if e.len() != a.len() {
                return Some(actual.pos);
            }
            // Key order means nothing to Kubernetes (a new key may go before a block scalar
            // that ends the file); the last of equal keys is what it reads.
            let am: std::collections::HashMap<&str, &Node> =
                a.iter().map(|(k, v)| (k.name.as_str(), v)).collect();
            let em: std::collections::HashMap<&str, &Node> =
                e.iter().map(|(k, v)| (k.name.as_str(), v)).collect();
            if am.len() != em.len() {
                return Some(actual.pos);
            }
            e.iter().find_map(|(ek, _)| match am.get(ek.name.as_str()) {
                Some(av) => first_difference(em[ek.name.as_str()], av),
                None => Some(actual.pos),
            })
        }
        (Value::Float(e), Value::Float(a)) if e.to_bits() == a.to_bits() => None,
        (e, a) if e == a => None,
        _ => Some(actual.pos),
    }
}
