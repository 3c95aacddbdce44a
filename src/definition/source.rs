//! Where definition files come from: the working tree, or a Git revision read through git2
//! straight from the object database (no checkout; bare repositories work).

use std::path::{Path, PathBuf};

/// Definition files live here, relative to the repository root.
pub const DEFINITIONS_DIR: &str = "definitions";

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Which definitions to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `<root>/definitions` on disk.
    WorkTree {
        /// Repository root.
        root: PathBuf,
    },
    /// `definitions/` as it is at `rev` in the Git repository holding `root`.
    Rev {
        /// Repository root (may be a subfolder of the Git work tree, or a bare repository).
        root: PathBuf,
        /// Any revision git understands (`HEAD~1`, `origin/main`, a sha).
        rev: String,
    },
}

/// One file read from a source.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Reading the source failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// What was read.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--rev` outside a Git repository.
    #[error("`{root}` is not inside a Git repository, so --rev cannot be used")]
    NotGit {
        /// The root.
        root: String,
        /// Why.
        #[source]
        source: git2::Error,
    },
    /// The revision names nothing in the repository.
    #[error("no such revision `{rev}`")]
    NoSuchRev {
        /// The revision.
        rev: String,
    },
    /// The revision does not resolve.
    #[error("cannot resolve revision `{rev}`: {message}")]
    Rev {
        /// The revision.
        rev: String,
        /// Why, without libgit2's class and code numbers.
        message: String,
    },
    /// The revision names a tree or a blob: definitions are read from commits.
    #[error("revision `{rev}` is a {kind}, not a commit")]
    NotACommit {
        /// The revision.
        rev: String,
        /// `tree`, `blob`, ...
        kind: String,
    },
    /// There is no definitions folder, so there is nothing to plan (never "0 streams").
    #[error("the definitions folder `{path}` does not exist{at}")]
    MissingDir {
        /// The folder, as the user would write it.
        path: String,
        /// ` at revision `REV`` or empty for the working tree.
        at: String,
    },
    /// Another git failure.
    #[error("cannot read `{path}` at revision `{rev}`")]
    Git {
        /// The path.
        path: String,
        /// The revision.
        rev: String,
        /// Why.
        #[source]
        source: git2::Error,
    },
}

fn is_definition_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")
}

/// Read every `definitions/**/*.{yaml,yml,json}` of the source, sorted by path.
pub fn read_files(source: &Source) -> Result<Vec<SourceFile>, SourceError> {
    let mut files = match source {
        Source::WorkTree { root } => read_worktree(root)?,
        Source::Rev { root, rev } => read_rev(root, rev, DEFINITIONS_DIR)?,
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn read_worktree(root: &Path) -> Result<Vec<SourceFile>, SourceError> {
    list_worktree(root)?
        .iter()
        .map(|rel| read_worktree_file(root, rel))
        .collect()
}

/// Every `definitions/**/*.{yaml,yml,json}` under `root`, relative and `/`-separated, sorted.
/// Hidden files and folders are skipped.
pub fn list_worktree(root: &Path) -> Result<Vec<String>, SourceError> {
    let dir = root.join(DEFINITIONS_DIR);
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let entries = fs_err::read_dir(&dir).map_err(|source| SourceError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| SourceError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|source| SourceError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if file_type.is_dir() {
                stack.push(path);
            } else if is_definition_file(&name) && path.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Read one file listed by [`list_worktree`].
pub fn read_worktree_file(root: &Path, rel: &str) -> Result<SourceFile, SourceError> {
    let bytes = read_limited(&root.join(rel)).map_err(|source| SourceError::Io {
        path: rel.to_owned(),
        source,
    })?;
    Ok(SourceFile {
        path: rel.to_owned(),
        bytes,
    })
}

/// Read a file, but no more than one byte past the limit (the parser reports it as too large).
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = fs_err::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The Git repository holding `root`, and `root`'s path inside its tree (`""` at the top).
pub fn open_repo(root: &Path) -> Result<(git2::Repository, String), SourceError> {
    let repo = git2::Repository::discover(root).map_err(|source| SourceError::NotGit {
        root: root.display().to_string(),
        source,
    })?;
    let prefix = match repo.workdir() {
        Some(workdir) => {
            let workdir = workdir
                .canonicalize()
                .unwrap_or_else(|_| workdir.to_path_buf());
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            root.strip_prefix(&workdir)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default()
        }
        None => String::new(),
    };
    Ok((repo, prefix))
}

/// The tree of the commit `rev` names (a tag is followed to its commit). A tree or a blob is
/// refused: reading definitions "at" one would silently skip the folder layout.
pub fn commit_tree<'r>(
    repo: &'r git2::Repository,
    rev: &str,
) -> Result<git2::Tree<'r>, SourceError> {
    let object = repo.revparse_single(rev).map_err(|e| match e.code() {
        git2::ErrorCode::NotFound | git2::ErrorCode::InvalidSpec => SourceError::NoSuchRev {
            rev: rev.to_owned(),
        },
        _ => SourceError::Rev {
            rev: rev.to_owned(),
            message: e.message().to_owned(),
        },
    })?;
    if let Ok(commit) = object.peel_to_commit() {
        return commit.tree().map_err(|e| SourceError::Rev {
            rev: rev.to_owned(),
            message: e.message().to_owned(),
        });
    }
    let mut target = object;
    while let Some(next) = target.as_tag().and_then(|t| t.target().ok()) {
        target = next;
    }
    Err(SourceError::NotACommit {
        rev: rev.to_owned(),
        kind: target.kind().map_or("object", |k| k.str()).to_owned(),
    })
}

/// Every definition-like file under `subdir` of the tree at `rev`.
pub fn read_rev(root: &Path, rev: &str, subdir: &str) -> Result<Vec<SourceFile>, SourceError> {
    let (repo, prefix) = open_repo(root)?;
    let tree = commit_tree(&repo, rev)?;
    let full = if prefix.is_empty() {
        subdir.to_owned()
    } else {
        format!("{prefix}/{subdir}")
    };
    let git_err = |source| SourceError::Git {
        path: full.clone(),
        rev: rev.to_owned(),
        source,
    };
    let entry = match tree.get_path(Path::new(&full)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Err(SourceError::MissingDir {
                path: full.clone(),
                at: format!(" at revision `{rev}`"),
            });
        }
        Err(e) => return Err(git_err(e)),
    };
    let sub = repo.find_tree(entry.id()).map_err(git_err)?;
    let mut out = Vec::new();
    let mut failure = None;
    sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') {
            return git2::TreeWalkResult::Skip;
        }
        if entry.kind() == Some(git2::ObjectType::Blob) && is_definition_file(name) {
            match repo.find_blob(entry.id()) {
                Ok(blob) => {
                    let content = blob.content();
                    let bytes = content[..content.len().min(MAX_FILE_BYTES + 1)].to_vec();
                    out.push(SourceFile {
                        path: format!("{subdir}/{dir}{name}"),
                        bytes,
                    });
                }
                Err(e) => {
                    failure = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(git_err)?;
    if let Some(e) = failure {
        return Err(git_err(e));
    }
    Ok(out)
}
