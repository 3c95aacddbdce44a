//! `prune`: recommend stale dated tags and history to remove, each with its reason, from the
//! definitions, the policies, the live state and the repository's Kubernetes manifests (their
//! triggers keep tags in use). With `write` it removes the candidate tags from the
//! definitions through the editor, for review; it never touches the live state.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::edits::{self, Edited};
use super::{Invalid, Run, Workspace};
use crate::definition::source::{self, DEFINITIONS_DIR, SourceFile};
use crate::diagnostic;
use crate::error::Hinted;
use crate::model::{ImageStream, StreamKey};
use crate::prune::{self, triggers};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions and manifests at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// Remove the candidate tags from the definitions.
    pub write: bool,
    /// With `write`: compute the edit and write nothing.
    pub dry_run: bool,
}

/// What [`run`] found (and removed).
#[derive(Debug)]
pub struct Report {
    /// The recommendations.
    pub recommendations: prune::Report,
    /// What a manifest's trigger annotations held that could not be used, as
    /// `file: message`.
    pub notes: Vec<String>,
    /// The policy's `keep_tag_revisions`.
    pub keep_tag_revisions: u32,
    /// The policy's `keep_younger_than`.
    pub keep_younger_than: String,
    /// With `write`: the tags removed and the edit.
    pub written: Option<Removed>,
}

/// The candidate tags removed from the definitions.
#[derive(Debug)]
pub struct Removed {
    /// How many tags.
    pub tags: usize,
    /// The edit (empty when there was no tag to remove).
    pub edited: Edited,
}

/// Recommend, and with `write` remove.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    if options.write && options.rev.is_some() {
        return Err(Hinted::new(
            "prune --write edits the working tree and cannot be combined with --rev",
            "check out the revision first, or drop --rev",
        )
        .into());
    }
    let loaded = ws.load_definitions(options.rev.as_deref())?;
    if let Some(invalid) = Invalid::of(&loaded) {
        return Ok(Run::Invalid(invalid));
    }
    let (_, policies, _) = ws.load_settings();
    let policy = policies
        .prune
        .compile()
        .context("the [prune] policy cannot be used")?;
    let live = load_live(ws)?;
    let manifests = manifests(ws, options.rev.as_deref())?;
    let mut uses = Vec::new();
    let mut notes = Vec::new();
    for file in &manifests {
        let Ok(text) = std::str::from_utf8(&file.bytes) else {
            continue;
        };
        let scan = triggers::scan_manifest(&file.path, text);
        for note in &scan.notes {
            notes.push(format!("{}: {}", note.file, note.message));
        }
        uses.extend(scan.uses);
    }
    let recommendations = prune::recommend(&prune::Inputs {
        definitions: &loaded.set,
        live: &live,
        policy: &policy,
        uses: &uses,
        now: ws.now,
    });
    let written = if options.write {
        Some(write(ws, &recommendations, options.dry_run)?)
    } else {
        None
    };
    Ok(Run::Done(Report {
        recommendations,
        notes,
        keep_tag_revisions: policies.prune.keep_tag_revisions,
        keep_younger_than: policies.prune.keep_younger_than.clone(),
        written,
    }))
}

/// Remove the candidate tags from the definitions with the surgical editor; the plan it
/// implies is made only when the edit was written. History candidates are left to the state.
fn write(ws: &Workspace, report: &prune::Report, dry_run: bool) -> Result<Removed> {
    let tags: Vec<&prune::Entry> = report
        .candidates
        .iter()
        .filter(|c| c.kind == prune::Kind::Tag)
        .collect();
    if tags.is_empty() {
        return Ok(Removed {
            tags: 0,
            edited: Edited {
                files: Vec::new(),
                dry_run,
                messages: Vec::new(),
                implied: None,
            },
        });
    }
    let (config, policies, _) = ws.load_settings();
    let mut session = crate::edit::Session::open(&ws.root, config, policies)?;
    for c in &tags {
        let key = StreamKey::new(&c.namespace, &c.stream);
        session
            .remove_tag(&key, &c.tag)
            .with_context(|| format!("cannot remove tag `{}:{}`", key, c.tag))?;
    }
    let files = edits::write(&session, dry_run, false)?;
    let loaded = session.load();
    let message = format!(
        "{} {} {} from the definitions; review the diff and commit it",
        if dry_run { "would remove" } else { "removed" },
        tags.len(),
        diagnostic::plural(tags.len(), "tag", "tags"),
    );
    let implied = (!dry_run).then(|| {
        let mut streams: Vec<StreamKey> = tags
            .iter()
            .map(|c| StreamKey::new(&c.namespace, &c.stream))
            .collect();
        streams.dedup();
        edits::implied_plan(ws, &loaded, &streams)
    });
    Ok(Removed {
        tags: tags.len(),
        edited: Edited {
            files,
            dry_run,
            messages: vec![message],
            implied,
        },
    })
}

/// The repository's manifests that may carry triggers: the working tree's, or those at `rev`.
pub(super) fn manifests(ws: &Workspace, rev: Option<&str>) -> Result<Vec<SourceFile>> {
    match rev {
        Some(rev) => manifests_at_rev(&ws.root, rev),
        None => manifests_in_worktree(ws),
    }
}

/// The live streams: `<state>/<namespace>/<name>.yaml`. A missing state folder is an empty
/// live state. (`images/` holds Image objects, dotfiles are the store's own.)
fn load_live(ws: &Workspace) -> Result<BTreeMap<StreamKey, ImageStream>> {
    Ok(ws.state()?.load_streams()?)
}

fn is_yaml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Folders at the root that hold no Kubernetes manifests of the user's.
fn skipped_top(name: &str) -> bool {
    name == DEFINITIONS_DIR || name == "state" || name == "policies" || name == "target"
}

/// Every YAML file of the working tree outside `definitions/`, the state and hidden folders
/// (semantics spec §6: any manifest may carry a trigger).
fn manifests_in_worktree(ws: &Workspace) -> Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut stack = vec![ws.root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = fs_err::read_dir(&dir)?.collect::<std::io::Result<Vec<_>>>()?;
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || path == ws.state_dir {
                continue;
            }
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if !(dir == ws.root && skipped_top(&name)) {
                    stack.push(path);
                }
            } else if file_type.is_file() && is_yaml(&name) {
                let bytes = fs_err::read(&path)?;
                if bytes.len() > source::MAX_FILE_BYTES {
                    continue;
                }
                out.push(SourceFile {
                    path: ws.display_path(&path),
                    bytes,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The same files as they are at `rev` (read through git2, no checkout).
fn manifests_at_rev(root: &Path, rev: &str) -> Result<Vec<SourceFile>> {
    let (repo, prefix) = source::open_repo(root)?;
    let tree = source::commit_tree(&repo, rev)?;
    let tree = if prefix.is_empty() {
        tree
    } else {
        let entry = tree
            .get_path(Path::new(&prefix))
            .with_context(|| format!("`{prefix}` does not exist at `{rev}`"))?;
        repo.find_tree(entry.id())?
    };
    let mut out = Vec::new();
    let mut failure = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') || (dir.is_empty() && skipped_top(name)) {
            return git2::TreeWalkResult::Skip;
        }
        if entry.kind() == Some(git2::ObjectType::Blob) && is_yaml(name) {
            match repo.find_blob(entry.id()) {
                Ok(blob) if blob.content().len() <= source::MAX_FILE_BYTES => {
                    out.push(SourceFile {
                        path: format!("{dir}{name}"),
                        bytes: blob.content().to_vec(),
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    failure = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
