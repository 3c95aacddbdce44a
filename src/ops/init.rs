//! `init`: scaffold a repository from `crate::init`'s templates, or adopt an
//! `oc get is -o yaml|json` export as definitions plus a live state seeded from its status.
//! Never overwrites a file: every file is written whole to a temporary name and moved into
//! place only where no file exists.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::{Workspace, lock};
use crate::error::Hinted;
use crate::init::{self, Adopted};
use crate::state::{Commit, LiveState as _, Meta};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Namespace of the example stream (`definitions/<namespace>/`), and of adopted streams
    /// without one.
    pub namespace: Option<String>,
    /// GitHub owner of the streamsync repository whose action the workflows use.
    pub owner: Option<String>,
    /// The export to adopt: its text and its name for messages.
    pub from: Option<(String, String)>,
}

/// What [`run`] did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written, relative to the root.
    pub created: Vec<String>,
    /// Files that existed and were kept as they are.
    pub kept: Vec<String>,
    /// `.gitignore` lines added.
    pub gitignore_added: Vec<String>,
    /// Adopted streams (`namespace/name`) with the number of history items seeded.
    pub adopted: Vec<(String, usize)>,
    /// Streams of the export that already have definitions (nothing was written then).
    pub conflicts: Vec<String>,
    /// The state folder, when it was seeded.
    pub state_seeded: Option<String>,
}

impl Report {
    /// Whether `init` failed (exit 1): a scaffold file existed, or an adopted stream already
    /// has a definition.
    pub fn failed(&self) -> bool {
        !self.conflicts.is_empty() || (!self.kept.is_empty() && self.created.is_empty())
    }
}

/// Scaffold or adopt.
pub fn run(ws: &Workspace, options: &Options) -> Result<Report> {
    let owner = options.owner.clone().unwrap_or_else(init::default_owner);
    if !init::valid_owner(&owner) {
        return Err(Hinted::new(
            format!("`{owner}` is not a GitHub user or organisation name"),
            "pass --action-owner OWNER: letters, digits and single hyphens",
        )
        .into());
    }
    if let Some(ns) = &options.namespace
        && !valid_namespace(ns)
    {
        return Err(Hinted::new(
            format!("`{ns}` is not a valid namespace name"),
            "use lowercase letters, digits and '-', starting and ending with a letter or digit",
        )
        .into());
    }
    match &options.from {
        Some((name, text)) => adopt(ws, options, name, text),
        None => scaffold(ws, options, &owner),
    }
}

fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-')
}

fn scaffold(ws: &Workspace, options: &Options, owner: &str) -> Result<Report> {
    let namespace = options.namespace.as_deref().unwrap_or("default");
    let mut report = Report::default();
    let has_definitions = dir_has_files(&ws.root.join("definitions"));
    for (path, content) in init::scaffold(namespace, owner) {
        let example = path.starts_with("definitions/");
        let full = ws.root.join(&path);
        if full.exists() || full.is_symlink() {
            report.kept.push(path);
            continue;
        }
        // An example beside streams of one's own would only add noise to their plan.
        if example && has_definitions {
            continue;
        }
        write_new(&full, content.as_bytes()).with_context(|| format!("cannot write `{path}`"))?;
        report.created.push(path);
    }
    report.gitignore_added = ensure_gitignore(&ws.root)?;
    Ok(report)
}

fn dir_has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Add the missing [`init::GITIGNORE_LINES`] to `.gitignore` (created when absent).
fn ensure_gitignore(root: &Path) -> Result<Vec<String>> {
    let path = root.join(".gitignore");
    if path.is_symlink() {
        return Ok(Vec::new());
    }
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("cannot read `.gitignore`"),
    };
    let text = existing.clone().unwrap_or_default();
    let missing: Vec<String> = init::GITIGNORE_LINES
        .iter()
        .filter(|line| {
            !text
                .lines()
                .any(|l| l.trim() == **line || l.trim() == format!("/{line}"))
        })
        .map(|l| (*l).to_owned())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# streamsync: the catalog page `streamsync catalog` writes\n");
    for line in &missing {
        new.push_str(line);
        new.push('\n');
    }
    match existing {
        None => write_new(&path, new.as_bytes()),
        Some(_) => replace(&path, new.as_bytes()),
    }
    .context("cannot write `.gitignore`")?;
    Ok(missing)
}

fn adopt(ws: &Workspace, options: &Options, name: &str, text: &str) -> Result<Report> {
    let config = ws.load_config().unwrap_or_default();
    let fallback = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let adopted = init::adopt(text, &fallback).map_err(|e| {
        Hinted::new(
            format!("cannot adopt `{name}`: {e}"),
            "pass the output of `oc get is -A -o yaml` (or `-o json`): a List or ImageStream documents",
        )
    })?;
    if adopted.is_empty() {
        return Err(Hinted::new(
            format!("`{name}` holds no ImageStream"),
            "pass the output of `oc get is -A -o yaml` (or `-o json`)",
        )
        .into());
    }
    let mut report = Report::default();
    let existing = existing_streams(ws)?;
    for a in &adopted {
        let path = definition_path(a);
        if existing.contains(&a.key) || ws.root.join(&path).exists() {
            report.conflicts.push(a.key.to_string());
        }
    }
    if !report.conflicts.is_empty() {
        return Ok(report);
    }
    let mut files = Vec::new();
    for a in &adopted {
        let text = init::definition_text(&a.definition)
            .map_err(|e| anyhow::anyhow!("cannot write the definition of `{}`: {e}", a.key))?;
        files.push((definition_path(a), text));
    }
    // The state first: a definition without its seeded state would plan a re-import.
    let state = ws.state()?;
    let _guard = lock(&state, std::time::Duration::ZERO)?;
    let snapshot = state.load()?;
    let meta = Meta {
        lineage: snapshot
            .lineage()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        serial: snapshot.serial() + 1,
    };
    let commit = Commit {
        streams: adopted
            .iter()
            .map(|a| (a.key.clone(), Some(a.live.clone())))
            .collect(),
        images: Vec::new(),
        meta: Some(meta),
        memos: Default::default(),
    };
    state.commit(&commit)?;
    report.state_seeded = Some(ws.display_path(&ws.state_dir));
    for (path, text) in files {
        write_new(&ws.root.join(&path), text.as_bytes())
            .with_context(|| format!("cannot write `{path}`"))?;
        report.created.push(path);
    }
    report.adopted = adopted
        .iter()
        .map(|a| {
            let items = a
                .live
                .status
                .as_ref()
                .map_or(0, |s| s.tags.iter().map(|t| t.items.len()).sum());
            (a.key.to_string(), items)
        })
        .collect();
    Ok(report)
}

fn definition_path(a: &Adopted) -> String {
    format!("definitions/{}/{}.yaml", a.key.namespace, a.key.name)
}

/// Streams the definitions already hold (their files may be invalid; what parses counts).
fn existing_streams(ws: &Workspace) -> Result<std::collections::BTreeSet<crate::model::StreamKey>> {
    if !ws.root.join("definitions").is_dir() {
        return Ok(Default::default());
    }
    let loaded = ws.load_definitions(None)?;
    Ok(loaded.set.streams.keys().cloned().collect())
}

/// Write `bytes` to `path`, which must not exist: a temporary file in the same folder, moved
/// into place without replacing anything.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".streamsync-init-")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// Replace `path` with `bytes` through a temporary file and a rename.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".streamsync-init-")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    path.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
