//! Opening the Git repository a command works in. A leaf: definitions (reading revisions) and
//! the state (committing) both open repositories this way, and neither may call the other.

use std::path::Path;

/// The Git repository holding `dir`, found as `git2::Repository::discover` finds it, with one
/// difference in libgit2's ownership check (git's `safe.directory`).
///
/// A repository owned by another user is opened only when `dir` is its top, the folder
/// streamsync was pointed at: an OpenShift volume is owned by another UID and writable through
/// group 0, and refusing it would make the container image useless there. A repository found by
/// walking up from `dir` (someone else's `/tmp/.git` above a working folder) is still refused,
/// as git refuses it. libgit2 runs no hooks or configured commands, but a foreign repository's
/// configuration is still not trusted implicitly.
// git2 exposes libgit2's ownership switch only as an unsafe process-wide setting.
#[allow(unsafe_code)]
pub fn discover_repo(dir: &Path) -> Result<git2::Repository, git2::Error> {
    // libgit2's switch is process-wide: it is turned off and back on only under this lock, and
    // every open here takes it, so no other open runs unchecked meanwhile.
    static OWNER_CHECK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = OWNER_CHECK.lock().unwrap_or_else(|e| e.into_inner());
    match git2::Repository::discover(dir) {
        Err(e) if e.code() == git2::ErrorCode::Owner && dir.join(".git").exists() => {
            // SAFETY: libgit2 reads this global when it opens a repository; every open in this
            // process goes through this function, which holds the lock.
            unsafe { git2::opts::set_verify_owner_validation(false) }?;
            let opened = git2::Repository::open_ext(
                dir,
                git2::RepositoryOpenFlags::NO_SEARCH,
                std::iter::empty::<&std::ffi::OsStr>(),
            );
            // SAFETY: as above.
            unsafe { git2::opts::set_verify_owner_validation(true) }?;
            opened.map_err(|_| e)
        }
        other => other,
    }
}
