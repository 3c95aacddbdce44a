//! A run of edits over a repository's definition files: each edit applies on top of the last,
//! the whole set is parsed and validated again before anything is written, and each changed
//! file is written atomically (temporary file, flush, rename). Also renders the unified diff
//! and the changed line ranges that the commands print.
//!
//! Edits of one repository never interleave: a session holds an exclusive lock on the
//! repository folder from the moment it reads the files until it is dropped, so ten parallel
//! `tag` runs each see the one before. A file changed by anything else between the read and
//! the rename is refused, not overwritten. A file keeps its mode, a read-only file is refused,
//! and a file that is a link is edited at its target (inside the repository), never replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::definition::{self, Loaded, Source, SourceError, SourceFile};
use crate::diagnostic::Diagnostic;
use crate::policy::{Config, Policies};

use super::{EditError, Format, Target};
use crate::model::StreamKey;

/// Why a run of edits cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The definitions could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The file to edit is not among the definitions.
    #[error("`{0}` is not a definition file of this repository")]
    NoSuchFile(String),
    /// No definition file defines the stream.
    #[error("image stream `{0}` is not defined in definitions/")]
    NoSuchStream(String),
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
    /// Another edit of the repository holds the lock for too long.
    #[error("another streamsync edit of `{0}` is still running")]
    Locked(String),
    /// The file changed on disk after it was read: writing would lose that change.
    #[error("`{0}` changed on disk while it was being edited, so nothing was written to it")]
    Changed(String),
    /// The file has no write permission.
    #[error("`{0}` is read-only, so it was not edited")]
    ReadOnly(String),
    /// The file is a link leading outside the repository.
    #[error("`{0}` is a symbolic link leading outside the repository, so it was not edited")]
    LinkOutside(String),
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
    /// Errors the definitions had before any edit (file, code, message), computed once.
    known_errors: std::sync::OnceLock<BTreeSet<(String, &'static str, String)>>,
    /// The repository folder, locked for the session's lifetime (unlocked when dropped).
    _lock: std::fs::File,
}

/// How long a session waits for another edit of the same repository to finish.
const EDIT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Lock `root` exclusively (an advisory lock on the folder itself: it exists before any edit
/// and is never replaced, unlike the files a rename swaps).
fn lock_root(root: &Path) -> Result<std::fs::File, SessionError> {
    let io = |source| SessionError::Io {
        path: root.display().to_string(),
        source,
    };
    let dir = std::fs::File::open(root).map_err(io)?;
    let deadline = std::time::Instant::now() + EDIT_LOCK_TIMEOUT;
    loop {
        match dir.try_lock() {
            Ok(()) => return Ok(dir),
            Err(std::fs::TryLockError::WouldBlock) => {
                if std::time::Instant::now() >= deadline {
                    return Err(SessionError::Locked(root.display().to_string()));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
}

impl Session {
    /// Read every definition file of the working tree under `root`.
    pub fn open(root: &Path, config: Config, policies: Policies) -> Result<Session, SessionError> {
        let lock = lock_root(root)?;
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
            known_errors: std::sync::OnceLock::new(),
            _lock: lock,
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

    /// The editor's target for stream `key` written in `file`: documents without
    /// `metadata.namespace` take the file's folder under `definitions/`, else the default.
    pub fn target(&self, key: &StreamKey, file: &str) -> Target {
        let folder = file
            .strip_prefix("definitions/")
            .and_then(|r| r.split_once('/'))
            .map(|(ns, _)| ns.to_owned());
        Target {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            file_namespace: folder.unwrap_or_else(|| self.config.default_namespace.clone()),
        }
    }

    /// The file that defines stream `key` now, and the editor's target for it.
    pub fn locate(&self, key: &StreamKey) -> Option<(String, Target)> {
        let loaded = self.load();
        let file = loaded.set.streams.get(key)?.file.clone();
        let target = self.target(key, &file);
        Some((file, target))
    }

    /// Remove tag `tag` from the definition of stream `key` (as `tag -d` and
    /// `prune --write` do).
    pub fn remove_tag(&mut self, key: &StreamKey, tag: &str) -> Result<(), SessionError> {
        let (file, target) = self
            .locate(key)
            .ok_or_else(|| SessionError::NoSuchStream(key.to_string()))?;
        let format = Format::of_path(&file);
        self.edit(&file, |text| super::remove_tag(text, format, &target, tag))
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
        let known = self.known_errors.get_or_init(|| {
            let before_files: Vec<SourceFile> = self
                .original
                .iter()
                .map(|(path, bytes)| SourceFile {
                    path: path.clone(),
                    bytes: bytes.clone(),
                })
                .collect();
            definition::load_files(&before_files, &self.config, &self.policies)
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| (d.file.clone(), d.code, d.message.clone()))
                .collect()
        });
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
        self.write_checked()
    }

    /// Write every changed file atomically, for a caller that has just run [`Session::check`]
    /// on the same edits.
    pub fn write_checked(&self) -> Result<Vec<FileChange>, SessionError> {
        let changes = self.changes();
        // Every file is checked before the first is written, so a refusal writes nothing.
        let mut targets = Vec::with_capacity(changes.len());
        for c in &changes {
            targets.push(self.target_of(c)?);
        }
        for (c, path) in changes.iter().zip(&targets) {
            write_atomic(path, c.after.as_bytes()).map_err(|source| SessionError::Io {
                path: c.path.clone(),
                source,
            })?;
        }
        Ok(changes)
    }

    /// The file to write for `change`: the file itself, or the target of a link inside the
    /// repository; refused when read-only, or changed since it was read.
    fn target_of(&self, change: &FileChange) -> Result<PathBuf, SessionError> {
        let path = self.root.join(&change.path);
        let io = |source| SessionError::Io {
            path: change.path.clone(),
            source,
        };
        let link = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta.file_type().is_symlink(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io(e)),
        };
        let target = if link {
            let target = std::fs::canonicalize(&path).map_err(io)?;
            let root = std::fs::canonicalize(&self.root).map_err(io)?;
            if !target.starts_with(&root) {
                return Err(SessionError::LinkOutside(change.path.clone()));
            }
            target
        } else {
            path
        };
        let Some(original) = self.original.get(&change.path) else {
            // A new file: `create` refused it if it existed when the session began.
            if std::fs::symlink_metadata(&target).is_ok() {
                return Err(SessionError::Exists(change.path.clone()));
            }
            return Ok(target);
        };
        let meta = std::fs::metadata(&target).map_err(io)?;
        if meta.permissions().readonly() {
            return Err(SessionError::ReadOnly(change.path.clone()));
        }
        let now = std::fs::read(&target).map_err(io)?;
        if now != *original {
            return Err(SessionError::Changed(change.path.clone()));
        }
        Ok(target)
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

/// One changed region of a file: 1-based line ranges, `start > end` when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineChange {
    /// Lines of the old file that went away or were rewritten (first, last).
    pub old: (usize, usize),
    /// Lines of the new file that were added or rewritten (first, last).
    pub new: (usize, usize),
}

impl std::fmt::Display for LineChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let span = |(s, e): (usize, usize)| {
            if s == e {
                format!("line {s}")
            } else {
                format!("lines {s}-{e}")
            }
        };
        match (self.old.0 <= self.old.1, self.new.0 <= self.new.1) {
            (true, false) => write!(f, "removed {}", span(self.old)),
            (false, true) => write!(f, "added {}", span(self.new)),
            _ => write!(f, "{} replacing {}", span(self.new), span(self.old)),
        }
    }
}

/// The regions a change touched, in file order.
pub fn changed_lines(change: &FileChange) -> Vec<LineChange> {
    let before = change.before.as_deref().unwrap_or("");
    let diff = similar::TextDiff::from_lines(before, &change.after);
    diff.ops()
        .iter()
        .filter(|op| op.tag() != similar::DiffTag::Equal)
        .map(|op| {
            let (o, n) = (op.old_range(), op.new_range());
            LineChange {
                old: (o.start + 1, o.end),
                new: (n.start + 1, n.end),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUBY: &str = "kind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: a\n    from:\n      kind: DockerImage\n      name: quay.io/x/a:1\n  - name: b\n    from:\n      kind: ImageStreamTag\n      name: a\n";

    fn session(dir: &Path) -> Session {
        std::fs::create_dir_all(dir.join("definitions/web")).unwrap();
        std::fs::write(dir.join("definitions/web/ruby.yaml"), RUBY).unwrap();
        Session::open(dir, Config::default(), Policies::default()).unwrap()
    }

    #[test]
    fn edits_stack_and_commit_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(dir.path());
        let key = StreamKey::new("web", "ruby");
        s.remove_tag(&key, "b").unwrap();
        s.remove_tag(&key, "a").unwrap();
        let changes = s.commit().unwrap();
        assert_eq!(changes.len(), 1);
        let text = std::fs::read_to_string(dir.path().join("definitions/web/ruby.yaml")).unwrap();
        assert_eq!(
            text,
            "kind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags: []\n"
        );
        let lines: Vec<String> = changed_lines(&changes[0])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines, ["line 5 replacing lines 5-13"]);
        assert!(
            unified_diff(&changes[0])
                .starts_with("--- a/definitions/web/ruby.yaml\n+++ b/definitions/web/ruby.yaml\n")
        );
    }

    #[test]
    fn an_invalid_result_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(dir.path());
        // `b` tracks `a`: removing `a` leaves `b` pointing at nothing.
        s.remove_tag(&StreamKey::new("web", "ruby"), "a").unwrap();
        let err = s.commit().unwrap_err();
        assert!(
            matches!(err, SessionError::Invalid(ref d) if d.len() == 1),
            "{err}"
        );
        let text = std::fs::read_to_string(dir.path().join("definitions/web/ruby.yaml")).unwrap();
        assert_eq!(text, RUBY);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("definitions/web"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
