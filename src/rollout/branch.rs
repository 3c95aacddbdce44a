//! The roll-out branch of pull-request mode (`[rollout] pull_request = true`): the rolled
//! manifests go into one commit on a branch of their own, on top of the default branch, so
//! that a team reviews every deployment as a pull request. The commit is made with git2
//! from the new file texts alone: the working tree, the index and HEAD stay as they are.
//! The branch is recreated on top of HEAD whenever what it should hold changes, and left
//! alone when it already holds exactly that, so a pass with nothing moved writes nothing.

use std::path::{Path, PathBuf};

use crate::state::commit::{DEFAULT_AUTHOR, parse_author, worktree};

/// Why the branch could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BranchError {
    /// No Git work tree around the repository.
    #[error("`{path}` is not inside a Git work tree, so roll-outs cannot go to a branch")]
    NotGit {
        /// Where the repository was looked for.
        path: String,
        /// Why.
        #[source]
        source: git2::Error,
    },
    /// `[rollout] branch` is no valid branch name.
    #[error("`[rollout] branch` in streamsync.toml is `{0}`, which is not a valid Git branch name")]
    Name(String),
    /// `[rollout] branch` is the branch checked out, which holds the state commits.
    #[error(
        "`[rollout] branch` in streamsync.toml is `{0}`, the branch checked out: roll-outs would overwrite the state commits"
    )]
    CheckedOut(String),
    /// `[rollout] branch` is the repository's default branch.
    #[error(
        "`[rollout] branch` in streamsync.toml is `{0}`, the repository's default branch: roll-outs would overwrite it"
    )]
    Default(String),
    /// `[rollout] branch` starts with a configured remote's name, so it reads as that
    /// remote's branch.
    #[error(
        "`[rollout] branch` in streamsync.toml is `{branch}`, which starts with the remote `{remote}`, so Git would read it as that remote's branch"
    )]
    Remote {
        /// The configured branch.
        branch: String,
        /// The remote.
        remote: String,
    },
    /// The branch exists and its tip is not a roll-out commit of streamsync's on HEAD's
    /// history: someone else's work, which a rewrite would destroy.
    #[error(
        "`{reference}` exists and its last commit is not a streamsync roll-out, so streamsync will not overwrite it"
    )]
    NotOurs {
        /// The reference (`refs/heads/…` or `refs/remotes/…`).
        reference: String,
    },
    /// HEAD names no commit yet.
    #[error("HEAD has no commit yet, so there is nothing to put the roll-out branch on")]
    Unborn,
    /// A rolled file is not inside the work tree.
    #[error("`{0}` is outside the Git work tree")]
    Outside(String),
    /// A rolled file on disk is not what HEAD has: the branch would carry edits nobody
    /// committed along with the roll-outs.
    #[error(
        "`{0}` differs from HEAD (changes not committed), so its roll-outs cannot go to the roll-out branch"
    )]
    Uncommitted(String),
    /// A rolled file is a symbolic link in HEAD: the branch would have to replace the link.
    #[error("`{0}` is a symbolic link in Git, so its roll-outs cannot go to the roll-out branch")]
    Link(String),
    /// `--author` is not `NAME <EMAIL>`.
    #[error(transparent)]
    Author(#[from] crate::state::commit::CommitError),
    /// Any other git failure.
    #[error("cannot write the roll-out branch")]
    Git(#[from] git2::Error),
}

impl BranchError {
    /// How to fix it, when that is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            BranchError::Name(_)
            | BranchError::CheckedOut(_)
            | BranchError::Default(_)
            | BranchError::Remote { .. } => Some(
                "set `[rollout] branch` to a branch of its own, e.g. `streamsync/rollout` (the default)",
            ),
            BranchError::Unborn => Some("commit the repository once before `sync --commit`"),
            BranchError::NotOurs { .. } => Some(
                "delete or rename that branch if it may go, or set `[rollout] branch` to another name",
            ),
            BranchError::Link(_) => Some(
                "commit the manifest itself in place of the link, or keep the link out of `[rollout] paths`",
            ),
            BranchError::Uncommitted(_) => {
                Some("commit or discard the changes to the manifest, then sync again")
            }
            _ => None,
        }
    }
}

/// The branch after [`commit_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchCommit {
    /// The branch's commit.
    pub commit: git2::Oid,
    /// Its parent: HEAD's commit.
    pub parent: git2::Oid,
    /// Whether this call moved the branch (false: it already held exactly this).
    pub updated: bool,
}

/// Point `refs/heads/<branch>` of the repository around `dir` at one commit whose parent is
/// HEAD's commit and whose tree is HEAD's with each of `files` (a path on disk inside the
/// work tree, and its new bytes) replaced. Nothing is written when the branch already holds
/// that tree on that parent; `None` (and nothing written) when the files hold what HEAD has.
/// Each file must be on disk as HEAD has it, so the branch carries the roll-outs and nothing
/// else.
pub fn commit_files(
    dir: &Path,
    branch: &str,
    files: &[(PathBuf, Vec<u8>)],
    author: Option<&str>,
    message: &str,
) -> Result<Option<BranchCommit>, BranchError> {
    let refname = format!("refs/heads/{branch}");
    if crate::policy::branch_problem(branch).is_some() {
        return Err(BranchError::Name(branch.to_owned()));
    }
    let (repo, workdir) = worktree(dir).map_err(|source| BranchError::NotGit {
        path: dir.display().to_string(),
        source,
    })?;
    let head = match repo.head() {
        Ok(head) => head,
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            return Err(BranchError::Unborn);
        }
        Err(e) => return Err(e.into()),
    };
    if head.name().ok() == Some(refname.as_str()) {
        return Err(BranchError::CheckedOut(branch.to_owned()));
    }
    let remotes: Vec<String> = repo
        .remotes()?
        .iter()
        .filter_map(|r| r.ok().flatten().map(str::to_owned))
        .collect();
    if let Some(remote) = remotes
        .iter()
        .find(|r| branch.split('/').next() == Some(r.as_str()))
    {
        return Err(BranchError::Remote {
            branch: branch.to_owned(),
            remote: remote.clone(),
        });
    }
    if default_branches(&repo, &remotes)
        .iter()
        .any(|d| d == branch)
    {
        return Err(BranchError::Default(branch.to_owned()));
    }
    let parent = head.peel_to_commit()?;
    let base = parent.tree()?;

    let mut index = git2::Index::new()?;
    index.read_tree(&base)?;
    for (disk, bytes) in files {
        let path = relative(&workdir, disk)?;
        let committed = base.get_path(Path::new(&path)).ok();
        if committed
            .as_ref()
            .is_some_and(|e| e.filemode() == i32::from(git2::FileMode::Link))
        {
            return Err(BranchError::Link(path));
        }
        let on_disk = std::fs::read(disk).ok();
        let same = committed
            .as_ref()
            .and_then(|e| repo.find_blob(e.id()).ok())
            .is_some_and(|b| on_disk.as_deref() == Some(b.content()));
        if !same {
            return Err(BranchError::Uncommitted(path));
        }
        // A manifest keeps its mode (an executable bit, say).
        let mode = committed.map_or(0o100644, |e| e.filemode() as u32);
        let id = repo.blob(bytes)?;
        index.add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode,
            uid: 0,
            gid: 0,
            file_size: bytes.len() as u32,
            id,
            flags: (path.len().min(0xfff)) as u16,
            flags_extended: 0,
            path: path.into_bytes(),
        })?;
    }
    let tree_id = index.write_tree_to(&repo)?;
    if tree_id == base.id() {
        return Ok(None);
    }
    let existing = repo
        .find_reference(&refname)
        .ok()
        .and_then(|r| r.peel_to_commit().ok());
    if let Some(existing) = existing
        && existing.tree_id() == tree_id
        && existing.parent_ids().eq([parent.id()])
    {
        return Ok(Some(BranchCommit {
            commit: existing.id(),
            parent: parent.id(),
            updated: false,
        }));
    }
    // Only a branch streamsync wrote is rewritten: here and on every remote that has it.
    let mut names = vec![refname.clone()];
    names.extend(remotes.iter().map(|r| format!("refs/remotes/{r}/{branch}")));
    for name in names {
        if let Ok(reference) = repo.find_reference(&name)
            && !written_by_streamsync(&reference)
        {
            return Err(BranchError::NotOurs { reference: name });
        }
    }
    let signature = match author {
        Some(text) => {
            let (name, email) = parse_author(text)?;
            git2::Signature::now(&name, &email)?
        }
        None => repo
            .signature()
            .or_else(|_| git2::Signature::now(DEFAULT_AUTHOR.0, DEFAULT_AUTHOR.1))?,
    };
    let tree = repo.find_tree(tree_id)?;
    let commit = repo.commit(None, &signature, &signature, message, &tree, &[&parent])?;
    // Forced: the branch is recreated on the new HEAD, whatever it held before.
    repo.reference(
        &refname,
        commit,
        true,
        "streamsync: roll-outs on top of HEAD",
    )?;
    Ok(Some(BranchCommit {
        commit,
        parent: parent.id(),
        updated: true,
    }))
}

/// The first line of every roll-out commit (see `ops::sync`).
pub const MESSAGE_PREFIX: &str = "streamsync: roll ";

/// The repository's default branches as far as it knows them: what each remote's `HEAD`
/// points at, `init.defaultBranch`, and `main` and `master` by convention.
fn default_branches(repo: &git2::Repository, remotes: &[String]) -> Vec<String> {
    let mut out = vec!["main".to_owned(), "master".to_owned()];
    for remote in remotes {
        let head = format!("refs/remotes/{remote}/HEAD");
        if let Ok(r) = repo.find_reference(&head)
            && let Ok(Some(target)) = r.symbolic_target()
            && let Some(name) = target.strip_prefix(&format!("refs/remotes/{remote}/"))
        {
            out.push(name.to_owned());
        }
    }
    if let Ok(name) = repo
        .config()
        .and_then(|c| c.get_string("init.defaultBranch"))
    {
        out.push(name);
    }
    out
}

/// Whether the commit `reference` points at is one streamsync wrote: a roll-out message on a
/// commit with a single parent (the state commit it was made on, which the sync workflow may
/// have rebased since). Anything else (a reviewer's fix on top, a merge, an unrelated branch
/// of that name) is someone's work.
fn written_by_streamsync(reference: &git2::Reference<'_>) -> bool {
    let Ok(commit) = reference.peel_to_commit() else {
        return false;
    };
    commit
        .message_raw_bytes()
        .starts_with(MESSAGE_PREFIX.as_bytes())
        && commit.parent_count() == 1
}

/// `disk` relative to the work tree, with `/` separators. The file itself may be missing
/// (only its folder is resolved), so a link in the path is judged by where it leads.
fn relative(workdir: &Path, disk: &Path) -> Result<String, BranchError> {
    let outside = || BranchError::Outside(disk.display().to_string());
    let name = disk.file_name().ok_or_else(outside)?;
    let folder = disk.parent().ok_or_else(outside)?;
    let folder = folder.canonicalize().map_err(|_| outside())?;
    let rel = folder.join(name);
    let rel = rel.strip_prefix(workdir).map_err(|_| outside())?;
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_all(repo: &git2::Repository, message: &str) -> git2::Oid {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@e").unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    fn blob_at(repo: &git2::Repository, commit: git2::Oid, path: &str) -> Vec<u8> {
        let tree = repo.find_commit(commit).unwrap().tree().unwrap();
        let entry = tree.get_path(Path::new(path)).unwrap();
        repo.find_blob(entry.id()).unwrap().content().to_vec()
    }

    #[test]
    fn the_branch_holds_head_plus_the_rolled_files_and_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
        std::fs::write(dir.path().join("deploy/web.yaml"), "image: old\n").unwrap();
        std::fs::write(dir.path().join("README"), "x\n").unwrap();
        let head = commit_all(&repo, "base");
        let files = vec![(dir.path().join("deploy/web.yaml"), b"image: new\n".to_vec())];

        let first = commit_files(
            dir.path(),
            "roll/out",
            &files,
            Some("Bot <b@x>"),
            "streamsync: roll it",
        )
        .unwrap()
        .unwrap();
        assert!(first.updated);
        assert_eq!(first.parent, head);
        let commit = repo.find_commit(first.commit).unwrap();
        assert_eq!(commit.parent_ids().collect::<Vec<_>>(), [head]);
        assert_eq!(commit.message().ok(), Some("streamsync: roll it"));
        assert_eq!(commit.author().name().ok(), Some("Bot"));
        assert_eq!(
            blob_at(&repo, first.commit, "deploy/web.yaml"),
            b"image: new\n"
        );
        assert_eq!(blob_at(&repo, first.commit, "README"), b"x\n");
        assert_eq!(
            repo.refname_to_id("refs/heads/roll/out").unwrap(),
            first.commit
        );
        // HEAD, the index and the work tree are untouched.
        assert_eq!(repo.head().unwrap().target(), Some(head));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("deploy/web.yaml")).unwrap(),
            "image: old\n"
        );
        assert!(repo.statuses(None).unwrap().is_empty());

        // The same roll-out on the same HEAD: nothing written.
        let again = commit_files(dir.path(), "roll/out", &files, None, "other message")
            .unwrap()
            .unwrap();
        assert_eq!(again.commit, first.commit);
        assert!(!again.updated);

        // HEAD moves: the branch is recreated on it.
        std::fs::write(dir.path().join("README"), "y\n").unwrap();
        let moved = commit_all(&repo, "moved");
        let third = commit_files(dir.path(), "roll/out", &files, None, "streamsync: roll it")
            .unwrap()
            .unwrap();
        assert!(third.updated);
        assert_eq!(third.parent, moved);
        assert_eq!(
            repo.find_commit(third.commit)
                .unwrap()
                .parent_ids()
                .collect::<Vec<_>>(),
            [moved]
        );

        // Files that hold what HEAD has: no commit, the branch stays.
        let same = vec![(dir.path().join("deploy/web.yaml"), b"image: old\n".to_vec())];
        assert_eq!(
            commit_files(dir.path(), "roll/out", &same, None, "x").unwrap(),
            None
        );
        assert_eq!(
            repo.refname_to_id("refs/heads/roll/out").unwrap(),
            third.commit
        );
    }

    #[test]
    fn refuses_bad_names_the_checked_out_branch_and_an_unborn_head() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        let files = vec![(dir.path().join("a.yaml"), b"a: 2\n".to_vec())];
        assert!(matches!(
            commit_files(dir.path(), "x", &files, None, "m"),
            Err(BranchError::Unborn)
        ));
        commit_all(&repo, "base");
        for bad in ["", "a..b", "bad name", "x.lock", "a//b"] {
            let err = commit_files(dir.path(), bad, &files, None, "m").unwrap_err();
            assert!(matches!(err, BranchError::Name(_)), "{bad}: {err}");
            assert!(err.hint().is_some());
        }
        let current = repo.head().unwrap().shorthand().unwrap().to_owned();
        let err = commit_files(dir.path(), &current, &files, None, "m").unwrap_err();
        assert!(matches!(err, BranchError::CheckedOut(_)), "{err}");
        // A manifest with changes not committed, or not committed at all.
        std::fs::write(dir.path().join("a.yaml"), "a: 1 # edited\n").unwrap();
        let err = commit_files(dir.path(), "x", &files, None, "m").unwrap_err();
        assert!(
            matches!(err, BranchError::Uncommitted(ref p) if p == "a.yaml"),
            "{err}"
        );
        std::fs::write(dir.path().join("new.yaml"), "n: 1\n").unwrap();
        let new = vec![(dir.path().join("new.yaml"), b"n: 2\n".to_vec())];
        assert!(matches!(
            commit_files(dir.path(), "x", &new, None, "m"),
            Err(BranchError::Uncommitted(_))
        ));
        assert!(repo.find_reference("refs/heads/x").is_err());
        // A link in Git is not replaced by a file.
        std::os::unix::fs::symlink("a.yaml", dir.path().join("link.yaml")).unwrap();
        commit_all(&repo, "link");
        let linked = vec![(dir.path().join("link.yaml"), b"a: 2\n".to_vec())];
        assert!(matches!(
            commit_files(dir.path(), "x", &linked, None, "m"),
            Err(BranchError::Link(ref p)) if p == "link.yaml"
        ));
        let outside = tempfile::tempdir().unwrap();
        let elsewhere = vec![(outside.path().join("b.yaml"), b"b".to_vec())];
        assert!(matches!(
            commit_files(dir.path(), "x", &elsewhere, None, "m"),
            Err(BranchError::Outside(_))
        ));
    }
}
