//! A run of edits over a repository's definition files: each edit applies on top of the last,
//! the whole set is parsed and validated again before anything is written, and each changed
//! file is written atomically (temporary file, flush, rename). Also renders the unified diff
//! and the changed line ranges that the commands print.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::definition::{self, Loaded, Source, SourceError, SourceFile};
use crate::diagnostic::Diagnostic;
use crate::policy::{Config, Policies};

use super::EditError;

/// Why a run of edits cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The definitions could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The file to edit is not among the definitions.
    #[error("`{0}` is not a definition file of this repository")]
    NoSuchFile(String),
    /// The file to create already exists.
    #[error("`{0}` already exists")]
    Exists(String),
    /// An edit could not be made.
    #[error("cannot edit `{file}`")]
    Edit {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: EditError,
    },
    /// The edited definitions do not validate; nothing was written.
    #[error("the edit would leave definitions that do not validate, so nothing was written:\n{}", render(.0))]
    Invalid(Vec<Diagnostic>),
    /// Writing failed.
    #[error("cannot write `{path}`")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn render(diags: &[Diagnostic]) -> String {
    crate::diagnostic::render_text(diags).trim_end().to_owned()
}

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the root.
    pub path: String,
    /// The text before (None for a new file).
    pub before: Option<String>,
    /// The text after.
    pub after: String,
}

/// Edits in progress over the working tree's definitions.
#[derive(Debug)]
pub struct Session {
    root: PathBuf,
    config: Config,
    policies: Policies,
    files: Vec<SourceFile>,
    original: BTreeMap<String, Vec<u8>>,
    created: BTreeSet<String>,
}

impl Session {
    /// Read every definition file of the working tree under `root`.
    pub fn open(root: &Path, config: Config, policies: Policies) -> Result<Session, SessionError> {
        let files = definition::source::read_files(&Source::WorkTree {
            root: root.to_path_buf(),
        })?;
        let original = files
            .iter()
            .map(|f| (f.path.clone(), f.bytes.clone()))
            .collect();
        Ok(Session {
            root: root.to_path_buf(),
            config,
            policies,
            files,
            original,
            created: BTreeSet::new(),
        })
    }

    /// The config the definitions are validated with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current text of `path` (with every edit so far).
    pub fn text(&self, path: &str) -> Option<&str> {
        let f = self.files.iter().find(|f| f.path == path)?;
        std::str::from_utf8(&f.bytes).ok()
    }

    /// Load and validate the definitions as they are now (edits included).
    pub fn load(&self) -> Loaded {
        definition::load_files(&self.files, &self.config, &self.policies)
    }

    /// Apply `edit` to the current text of `path`.
    pub fn edit(
        &mut self,
        path: &str,
        edit: impl FnOnce(&str) -> Result<String, EditError>,
    ) -> Result<(), SessionError> {
        let file = self
            .files
            .iter_mut()
            .find(|f| f.path == path)
            .ok_or_else(|| SessionError::NoSuchFile(path.to_owned()))?;
        let text = std::str::from_utf8(&file.bytes).map_err(|_| SessionError::Edit {
            file: path.to_owned(),
            source: EditError::Parse("the file is not UTF-8 text".into()),
        })?;
        let new = edit(text).map_err(|source| SessionError::Edit {
            file: path.to_owned(),
            source,
        })?;
        file.bytes = new.into_bytes();
        Ok(())
    }

    /// Add a new file (refused when it exists on disk or in the session).
    pub fn create(&mut self, path: &str, text: String) -> Result<(), SessionError> {
        if self.files.iter().any(|f| f.path == path) || self.root.join(path).exists() {
            return Err(SessionError::Exists(path.to_owned()));
        }
        self.created.insert(path.to_owned());
        self.files.push(SourceFile {
            path: path.to_owned(),
            bytes: text.into_bytes(),
        });
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(())
    }

    /// The files that differ from what was read.
    pub fn changes(&self) -> Vec<FileChange> {
        self.files
            .iter()
            .filter_map(|f| {
                let after = String::from_utf8_lossy(&f.bytes).into_owned();
                match self.original.get(&f.path) {
                    Some(before) if *before == f.bytes => None,
                    Some(before) => Some(FileChange {
                        path: f.path.clone(),
                        before: Some(String::from_utf8_lossy(before).into_owned()),
                        after,
                    }),
                    None => Some(FileChange {
                        path: f.path.clone(),
                        before: None,
                        after,
                    }),
                }
            })
            .collect()
    }

    /// Validate the edited definitions: every error that was not there before the edits
    /// refuses the whole run (errors that were already there do not block an unrelated edit).
    pub fn check(&self) -> Result<Loaded, SessionError> {
        let before_files: Vec<SourceFile> = self
            .original
            .iter()
            .map(|(path, bytes)| SourceFile {
                path: path.clone(),
                bytes: bytes.clone(),
            })
            .collect();
        let before = definition::load_files(&before_files, &self.config, &self.policies);
        let known: BTreeSet<(String, &str, String)> = before
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.file.clone(), d.code, d.message.clone()))
            .collect();
        let after = self.load();
        let new: Vec<Diagnostic> = after
            .diagnostics
            .iter()
            .filter(|d| {
                d.is_error() && !known.contains(&(d.file.clone(), d.code, d.message.clone()))
            })
            .cloned()
            .collect();
        if new.is_empty() {
            Ok(after)
        } else {
            Err(SessionError::Invalid(new))
        }
    }

    /// Validate, then write every changed file atomically. Returns what changed.
    pub fn commit(&self) -> Result<Vec<FileChange>, SessionError> {
        self.check()?;
        let changes = self.changes();
        for c in &changes {
            let path = self.root.join(&c.path);
            write_atomic(&path, c.after.as_bytes()).map_err(|source| SessionError::Io {
                path: c.path.clone(),
                source,
            })?;
        }
        Ok(changes)
    }
}

/// Write `bytes` to `path` through a temporary file in the same folder, flushed and renamed
/// over the target, so a reader sees the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".streamsync-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.flush()?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        // Keep the file's permissions.
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The unified diff of one change, `a/`/`b/` headers, three lines of context.
pub fn unified_diff(change: &FileChange) -> String {
    let before = change.before.as_deref().unwrap_or("");
    let old_header = if change.before.is_some() {
        format!("a/{}", change.path)
    } else {
        "/dev/null".to_owned()
    };
    let diff = similar::TextDiff::from_lines(before, &change.after);
    diff.unified_diff()
        .context_radius(3)
        .header(&old_header, &format!("b/{}", change.path))
        .missing_newline_hint(true)
        .to_string()
}

/// The 1-based inclusive line ranges a change touched: lines of the new file that were
/// added or rewritten, and for pure removals, the lines of the old file that went away
/// (`removed` is true).
pub fn changed_lines(change: &FileChange) -> Vec<(usize, usize, bool)> {
    let before = change.before.as_deref().unwrap_or("");
    let diff = similar::TextDiff::from_lines(before, &change.after);
    let mut out = Vec::new();
    for op in diff.ops() {
        let new = op.new_range();
        let old = op.old_range();
        match op.tag() {
            similar::DiffTag::Equal => {}
            similar::DiffTag::Delete => out.push((old.start + 1, old.end, true)),
            _ => out.push((new.start + 1, new.end, false)),
        }
    }
    out
}
