//! Commits the state folder with git2 after a sync, so Git history is the audit log of
//! every import. The commit holds HEAD plus the state folder and nothing a person staged;
//! it touches no index entry outside the state folder and never pushes.

use std::path::Path;

use crate::util::escape_line;

/// Why the commit failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// No Git repository around the state folder.
    #[error("the state folder `{path}` is not inside a Git work tree, so --commit cannot be used")]
    NotGit {
        /// The state folder.
        path: String,
        /// Why.
        #[source]
        source: git2::Error,
    },
    /// `--author` is not `NAME <EMAIL>`.
    #[error("invalid author `{0}`: expected `NAME <EMAIL>`")]
    Author(String),
    /// Any other git failure.
    #[error("cannot commit the state folder")]
    Git(#[from] git2::Error),
}

/// The default author when neither `--author` nor the Git config gives one.
pub const DEFAULT_AUTHOR: (&str, &str) = ("streamsync", "streamsync@localhost");

/// Parse `Name <email>`.
pub fn parse_author(text: &str) -> Result<(String, String), CommitError> {
    let text = text.trim();
    let (name, rest) = text
        .split_once('<')
        .ok_or_else(|| CommitError::Author(text.to_owned()))?;
    let email = rest
        .strip_suffix('>')
        .ok_or_else(|| CommitError::Author(text.to_owned()))?;
    let name = name.trim();
    // A control character (a newline above all) would let the author forge commit lines.
    if name.is_empty()
        || email.trim().is_empty()
        || email.contains(['<', '>'])
        || text.chars().any(char::is_control)
    {
        return Err(CommitError::Author(text.to_owned()));
    }
    Ok((name.to_owned(), email.trim().to_owned()))
}

/// Commit exactly the state folder on HEAD with `message`: the new tree is HEAD's with the
/// folder replaced by what is on disk (never the lock file or the store's own `.tmp-` files),
/// so whatever else is staged stays staged and out of the commit. Afterwards the index holds
/// the committed versions of the state's paths and every other entry is untouched. Returns
/// the new commit, or `None` when the state folder matches HEAD (no empty commits); a state
/// left uncommitted by an earlier failure is committed by the next call.
pub fn commit_state(
    state_dir: &Path,
    author: Option<&str>,
    message: &str,
) -> Result<Option<git2::Oid>, CommitError> {
    commit_state_and(state_dir, &[], author, message)
}

/// [`commit_state`], with the files `extra` (paths on disk inside the same work tree: the
/// manifests a pass rolled) in the same commit.
pub fn commit_state_and(
    state_dir: &Path,
    extra: &[std::path::PathBuf],
    author: Option<&str>,
    message: &str,
) -> Result<Option<git2::Oid>, CommitError> {
    let (repo, workdir) = worktree(state_dir).map_err(|source| CommitError::NotGit {
        path: state_dir.display().to_string(),
        source,
    })?;
    let abs = state_dir
        .canonicalize()
        .unwrap_or_else(|_| state_dir.to_path_buf());
    let rel = abs
        .strip_prefix(&workdir)
        .map_err(|_| CommitError::NotGit {
            path: state_dir.display().to_string(),
            source: git2::Error::from_str("outside the work tree"),
        })?
        .to_string_lossy()
        .replace('\\', "/");
    // Checked before anything is written: a commit whose index cannot follow would leave
    // `git status` showing the committed state as changed.
    let index_lock = repo.path().join("index.lock");
    if index_lock.exists() {
        return Err(CommitError::Git(git2::Error::from_str(&format!(
            "the Git index is locked by another process (`{}` exists); the state stays uncommitted and the next `sync --commit` commits it",
            index_lock.display()
        ))));
    }

    // The lock file stays on disk between runs; ignoring it keeps the work tree clean for
    // the push that follows a scheduled sync.
    let ignore = state_dir.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        std::fs::write(&ignore, "/.lock\n").map_err(|e| {
            CommitError::Git(git2::Error::from_str(&format!(
                "cannot write `{}`: {e}",
                ignore.display()
            )))
        })?;
    }
    let mut files = state_files(&abs, &rel)?;
    for disk in extra {
        let canonical = disk.canonicalize().unwrap_or_else(|_| disk.clone());
        let path = canonical
            .strip_prefix(&workdir)
            .map_err(|_| CommitError::NotGit {
                path: disk.display().to_string(),
                source: git2::Error::from_str("outside the work tree"),
            })?
            .to_string_lossy()
            .replace('\\', "/");
        files.push((path, disk.clone()));
    }

    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };
    // The tree: HEAD's, with the state folder replaced, built in an index of its own.
    let mut tree_index = git2::Index::new()?;
    if let Some(parent) = &parent {
        tree_index.read_tree(&parent.tree()?)?;
    }
    remove_folder(&mut tree_index, &rel)?;
    let mut entries = Vec::with_capacity(files.len());
    for (path, disk) in &files {
        let bytes = std::fs::read(disk).map_err(|e| {
            CommitError::Git(git2::Error::from_str(&format!(
                "cannot read `{}`: {e}",
                disk.display()
            )))
        })?;
        let id = repo.blob(&bytes)?;
        let entry = index_entry(path, id, bytes.len(), disk);
        tree_index.add(&entry)?;
        entries.push(entry);
    }
    let tree_id = tree_index.write_tree_to(&repo)?;

    let mut oid = None;
    if parent.as_ref().is_none_or(|p| p.tree_id() != tree_id) {
        let tree = repo.find_tree(tree_id)?;
        let signature = match author {
            Some(text) => {
                let (name, email) = parse_author(text)?;
                git2::Signature::now(&name, &email)?
            }
            None => repo
                .signature()
                .or_else(|_| git2::Signature::now(DEFAULT_AUTHOR.0, DEFAULT_AUTHOR.1))?,
        };
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        oid = Some(repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )?);
    }
    // The index: the state's paths as committed, every other entry as it was.
    let mut index = repo.index()?;
    remove_folder(&mut index, &rel)?;
    for entry in &entries {
        index.add(entry)?;
    }
    index.write()?;
    Ok(oid)
}

/// Drop every index entry under `rel` (the whole index when `rel` is the top).
fn remove_folder(index: &mut git2::Index, rel: &str) -> Result<(), git2::Error> {
    if rel.is_empty() {
        index.clear()
    } else {
        index.remove_dir(Path::new(rel), 0)
    }
}

/// The files of the state folder to commit, as (path in the repository, path on disk),
/// sorted: everything but the lock file and the store's own temporary files (`.tmp-…`; a
/// stream called `app.tmpl` is state). Links are never followed.
fn state_files(abs: &Path, rel: &str) -> Result<Vec<(String, std::path::PathBuf)>, CommitError> {
    let mut out = Vec::new();
    let mut stack = vec![(abs.to_path_buf(), rel.to_owned())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(CommitError::Git(git2::Error::from_str(&format!(
                    "cannot read `{}`: {e}",
                    dir.display()
                ))));
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push((entry.path(), path));
            } else if kind.is_file() && name != ".lock" && !name.starts_with(".tmp-") {
                out.push((path, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// An index entry for a file written from `disk`, with its stat data so that `git status`
/// sees the work-tree file as unchanged.
fn index_entry(path: &str, id: git2::Oid, size: usize, disk: &Path) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(disk).ok();
    let time = |secs: i64, nanos: i64| git2::IndexTime::new(secs as i32, nanos as u32);
    let (ctime, mtime, dev, ino, uid, gid, mode) = match &meta {
        Some(m) => (
            time(m.ctime(), m.ctime_nsec()),
            time(m.mtime(), m.mtime_nsec()),
            m.dev() as u32,
            m.ino() as u32,
            m.uid(),
            m.gid(),
            if m.mode() & 0o111 != 0 {
                0o100755
            } else {
                0o100644
            },
        ),
        None => (time(0, 0), time(0, 0), 0, 0, 0, 0, 0o100644),
    };
    git2::IndexEntry {
        ctime,
        mtime,
        dev,
        ino,
        mode,
        uid,
        gid,
        file_size: size as u32,
        id,
        flags: (path.len().min(0xfff)) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// The repository holding `dir` and its work tree (canonical): commits are made from a
/// checkout, never in a bare repository.
pub fn worktree(dir: &Path) -> Result<(git2::Repository, std::path::PathBuf), git2::Error> {
    let repo = match crate::repo::discover_repo(dir) {
        // The state folder (`state/` by default) sits right under the repository's top, which
        // may be owned by another user (an OpenShift volume): that top is the folder named.
        Err(e) if e.code() == git2::ErrorCode::Owner => match dir.parent() {
            Some(top) if top.join(".git").exists() => {
                crate::repo::discover_repo(top).map_err(|_| e)?
            }
            _ => return Err(e),
        },
        other => other?,
    };
    let workdir = repo
        .workdir()
        .ok_or_else(|| git2::Error::from_str("bare repository"))?;
    let workdir = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    Ok((repo, workdir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_of_a_commit_message_can_be_forged() {
        let message = commit_message(
            &[ImportLine {
                stream: "web/ruby".into(),
                tag: "3.3\x1b[2J".into(),
                digest: "sha256:abc".into(),
                previous: None,
            }],
            &[FailureLine {
                stream: "web/ruby".into(),
                tag: "4.0".into(),
                reason: "Unreachable".into(),
                message: "gone\n\nSigned-off-by: Mallory <m@example.com>\r\t\x07".into(),
            }],
            &["update tag web/ruby:x\nCo-authored-by: m".into()],
        );
        assert!(
            !message
                .lines()
                .any(|l| l.starts_with("Signed-off-by") || l.starts_with("Co-authored-by")),
            "{message}"
        );
        assert!(
            !message.chars().any(|c| c.is_control() && c != '\n'),
            "{message:?}"
        );
        assert!(
            message.contains("gone\\n\\nSigned-off-by: Mallory"),
            "{message}"
        );
    }

    #[test]
    fn authors() {
        assert_eq!(
            parse_author("Sync Bot <bot@example.com>").unwrap(),
            ("Sync Bot".to_owned(), "bot@example.com".to_owned())
        );
        assert!(parse_author("nobody").is_err());
        assert!(parse_author("<a@b>").is_err());
        assert!(parse_author("Bot\nSigned-off-by: m <a@b>").is_err());
    }

    #[test]
    fn commits_only_state_changes_and_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join("README"), "x").unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(state.join("demo")).unwrap();
        std::fs::write(state.join("demo/ruby.yaml"), "a: 1\n").unwrap();
        std::fs::write(state.join(".lock"), "pid 1\n").unwrap();
        let first = commit_state(&state, Some("Bot <bot@x>"), "streamsync: first").unwrap();
        assert!(first.is_some());
        let commit = repo.find_commit(first.unwrap()).unwrap();
        let tree = commit.tree().unwrap();
        assert!(tree.get_path(Path::new("state/demo/ruby.yaml")).is_ok());
        assert!(tree.get_path(Path::new("state/.lock")).is_err());
        assert!(
            tree.get_path(Path::new("README")).is_err(),
            "only the state folder"
        );
        assert_eq!(commit.author().name().ok(), Some("Bot"));
        // Nothing changed: no commit.
        assert_eq!(commit_state(&state, None, "again").unwrap(), None);
        // A deletion is committed.
        std::fs::remove_file(state.join("demo/ruby.yaml")).unwrap();
        let third = commit_state(&state, None, "streamsync: delete")
            .unwrap()
            .unwrap();
        let tree = repo.find_commit(third).unwrap().tree().unwrap();
        assert!(tree.get_path(Path::new("state/demo/ruby.yaml")).is_err());
    }
}

/// One import to name in a commit message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// `namespace/stream`.
    pub stream: String,
    /// Tag.
    pub tag: String,
    /// The new digest.
    pub digest: String,
    /// The digest before, if any.
    pub previous: Option<String>,
}

/// One failure to name in a commit message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureLine {
    /// `namespace/stream`.
    pub stream: String,
    /// Tag.
    pub tag: String,
    /// Condition reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    if hex.len() > 8 {
        format!("sha256:{}…", &hex[..8])
    } else {
        d.to_owned()
    }
}

fn short_stream(stream: &str) -> &str {
    stream.rsplit_once('/').map_or(stream, |(_, n)| n)
}

/// `streamsync: import ruby:2.2 sha256:ab12cd34… (was sha256:99aa…), 3 more`, then a body
/// listing every import and failure. Every value is escaped onto its one line
/// ([`escape_line`]): a registry's error text cannot add a line (`Signed-off-by: …`) or a
/// control character to the commit.
pub fn commit_message(
    imports: &[ImportLine],
    failures: &[FailureLine],
    other: &[String],
) -> String {
    let imports: Vec<ImportLine> = imports
        .iter()
        .map(|i| ImportLine {
            stream: escape_line(&i.stream).into_owned(),
            tag: escape_line(&i.tag).into_owned(),
            digest: escape_line(&i.digest).into_owned(),
            previous: i.previous.as_deref().map(|p| escape_line(p).into_owned()),
        })
        .collect();
    let failures: Vec<FailureLine> = failures
        .iter()
        .map(|f| FailureLine {
            stream: escape_line(&f.stream).into_owned(),
            tag: escape_line(&f.tag).into_owned(),
            reason: escape_line(&f.reason).into_owned(),
            message: escape_line(&f.message).into_owned(),
        })
        .collect();
    let other: Vec<String> = other.iter().map(|o| escape_line(o).into_owned()).collect();
    let (imports, failures, other) = (&imports[..], &failures[..], &other[..]);
    let subject = match imports.first() {
        Some(first) => {
            let mut s = format!(
                "streamsync: import {}:{} {}",
                short_stream(&first.stream),
                first.tag,
                short_digest(&first.digest)
            );
            if let Some(prev) = &first.previous {
                s.push_str(&format!(" (was {})", short_digest(prev)));
            }
            if imports.len() > 1 {
                s.push_str(&format!(", {} more", imports.len() - 1));
            }
            s
        }
        None if !failures.is_empty() => format!(
            "streamsync: {} failed {}",
            failures.len(),
            if failures.len() == 1 {
                "import"
            } else {
                "imports"
            }
        ),
        None => "streamsync: update live state".to_owned(),
    };
    let mut body = String::new();
    if !imports.is_empty() {
        body.push_str("Imported:\n");
        for i in imports {
            body.push_str(&format!("- {}:{} {}", i.stream, i.tag, i.digest));
            if let Some(prev) = &i.previous {
                body.push_str(&format!(" (was {prev})"));
            }
            body.push('\n');
        }
    }
    if !failures.is_empty() {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str("Failed:\n");
        for f in failures {
            body.push_str(&format!(
                "- {}:{} {}: {}\n",
                f.stream, f.tag, f.reason, f.message
            ));
        }
    }
    if !other.is_empty() {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str("Changed:\n");
        for o in other {
            body.push_str(&format!("- {o}\n"));
        }
    }
    if body.is_empty() {
        format!("{subject}\n")
    } else {
        format!("{subject}\n\n{body}")
    }
}
