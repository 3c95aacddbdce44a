//! Where definition files come from: the working tree, or a Git revision read through git2
//! straight from the object database (no checkout; bare repositories work).
//!
//! Both read the same files the same way: a file that is a symbolic link is read at its
//! target only when that target is a file inside the repository (a link leading out, a
//! dangling link or a link to a folder is an error naming it), and a Git submodule (or any
//! nested repository) under `definitions/` is an error in both.

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
    /// The Git repository holding the root belongs to another user and the root is not its top
    /// (see [`crate::repo::discover_repo`]).
    #[error(
        "the Git repository holding `{root}` belongs to another user; streamsync opens such a \
         repository only at its top folder: run it there (-C) or change the owner"
    )]
    NotOwned {
        /// The root.
        root: String,
        /// Why.
        #[source]
        source: git2::Error,
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
    /// A definition file or folder that is a symbolic link streamsync does not follow.
    #[error("`{path}` is a symbolic link {what}, so it is not read")]
    Link {
        /// The link, relative to the root.
        path: String,
        /// Where it leads, in words.
        what: String,
    },
    /// A submodule (or nested repository) under `definitions/`.
    #[error(
        "`{0}` is a Git submodule; definitions are read from this repository only (a --rev read could not see its files either)"
    )]
    Submodule(String),
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
    let rel_of = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(SourceError::Link {
            path: DEFINITIONS_DIR.to_owned(),
            what: "to a folder".to_owned(),
        });
    }
    if !dir.is_dir() {
        return Ok(out);
    }
    let canonical_root = root.canonicalize().map_err(|source| SourceError::Io {
        path: root.display().to_string(),
        source,
    })?;
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
            if file_type.is_symlink() {
                if !is_definition_file(&name) && !path.is_dir() {
                    continue;
                }
                let chained = std::fs::read_link(&path).is_ok_and(|t| {
                    let t = path.parent().unwrap_or(root).join(t);
                    std::fs::symlink_metadata(t).is_ok_and(|m| m.file_type().is_symlink())
                });
                let what = match path.canonicalize() {
                    Err(_) => Some("that leads nowhere"),
                    Ok(_) if chained => Some("to another link"),
                    Ok(target) if !target.starts_with(&canonical_root) => {
                        Some("leading outside the repository")
                    }
                    Ok(target) if target.is_dir() => Some("to a folder"),
                    Ok(_) => None,
                };
                if let Some(what) = what {
                    return Err(SourceError::Link {
                        path: rel_of(&path),
                        what: what.to_owned(),
                    });
                }
                out.push(rel_of(&path));
            } else if file_type.is_dir() {
                if path.join(".git").exists() {
                    return Err(SourceError::Submodule(rel_of(&path)));
                }
                stack.push(path);
            } else if is_definition_file(&name) && file_type.is_file() {
                out.push(rel_of(&path));
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
    let repo = crate::repo::discover_repo(root).map_err(|source| {
        let root = root.display().to_string();
        if source.code() == git2::ErrorCode::Owner {
            SourceError::NotOwned { root, source }
        } else {
            SourceError::NotGit { root, source }
        }
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
    if entry.filemode() == LINK_MODE {
        return Err(SourceError::Link {
            path: subdir.to_owned(),
            what: "to a folder".to_owned(),
        });
    }
    let sub = repo.find_tree(entry.id()).map_err(git_err)?;
    let mut out = Vec::new();
    let mut failure = None;
    let mut refused = None;
    sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') {
            return git2::TreeWalkResult::Skip;
        }
        let rel = format!("{subdir}/{dir}{name}");
        if entry.kind() == Some(git2::ObjectType::Commit) {
            refused = Some(SourceError::Submodule(rel));
            return git2::TreeWalkResult::Abort;
        }
        if entry.filemode() == LINK_MODE {
            // Resolved inside the tree at this revision, never on disk.
            match resolve_link(&repo, &tree, &prefix, &rel, entry.id()) {
                Ok(Some(bytes)) if is_definition_file(name) => {
                    out.push(SourceFile { path: rel, bytes })
                }
                Ok(_) => {}
                // A link of another name matters only when it is a folder (as on disk).
                Err(SourceError::Link { what, .. })
                    if !is_definition_file(name) && what != "to a folder" => {}
                Err(e) => {
                    refused = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
            return git2::TreeWalkResult::Ok;
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
    .or_else(|e| {
        if refused.is_some() {
            Ok(())
        } else {
            Err(git_err(e))
        }
    })?;
    if let Some(e) = refused {
        return Err(e);
    }
    if let Some(e) = failure {
        return Err(git_err(e));
    }
    Ok(out)
}

/// Git's file mode of a symbolic link.
const LINK_MODE: i32 = 0o120000;

/// The bytes of the file that the link `rel` (relative to the root, blob `id`) names in the
/// tree at a revision: `None` when it names a folder or a file that is not there; an error
/// when it leads outside the root or to another link.
fn resolve_link(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    rel: &str,
    id: git2::Oid,
) -> Result<Option<Vec<u8>>, SourceError> {
    let outside = || SourceError::Link {
        path: rel.to_owned(),
        what: "leading outside the repository".to_owned(),
    };
    let blob = repo.find_blob(id).map_err(|source| SourceError::Git {
        path: rel.to_owned(),
        rev: String::new(),
        source,
    })?;
    let target = String::from_utf8_lossy(blob.content()).into_owned();
    if target.starts_with('/') {
        return Err(outside());
    }
    // The link's folder, as a path in the whole tree, then the target's parts on top.
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    let root_depth = parts.len();
    parts.extend(rel.split('/'));
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.len() <= root_depth {
                    return Err(outside());
                }
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let path = parts.join("/");
    let entry = match tree.get_path(Path::new(&path)) {
        Ok(e) => e,
        Err(_) => {
            return Err(SourceError::Link {
                path: rel.to_owned(),
                what: "that leads nowhere".to_owned(),
            });
        }
    };
    let what = if entry.filemode() == LINK_MODE {
        "to another link"
    } else if entry.kind() != Some(git2::ObjectType::Blob) {
        "to a folder"
    } else {
        let blob = repo
            .find_blob(entry.id())
            .map_err(|source| SourceError::Git {
                path: path.clone(),
                rev: String::new(),
                source,
            })?;
        let content = blob.content();
        return Ok(Some(
            content[..content.len().min(MAX_FILE_BYTES + 1)].to_vec(),
        ));
    };
    Err(SourceError::Link {
        path: rel.to_owned(),
        what: what.to_owned(),
    })
}
