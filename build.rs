//! Build-time facts for `streamsync --version`: the commit the binary is built from and the
//! target it is built for.
//!
//! The commit comes from `STREAMSYNC_COMMIT` when set (release builds set it), else from the Git
//! repository the sources are in, else it is `unknown` (a build from the crate tarball has no
//! `.git`). Only the binary reads these, so a new commit rebuilds `src/main.rs`, not the library.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=STREAMSYNC_COMMIT");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=STREAMSYNC_TARGET={target}");

    let commit = match std::env::var("STREAMSYNC_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=STREAMSYNC_COMMIT={commit}");
}

/// The short hash of HEAD, when the sources are the top of a Git work tree (never a repository
/// further up, such as one a crate tarball was unpacked into).
fn git_commit() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    if !dir.join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).ok()?;
        Some(text.trim().to_owned())
    };
    // Rebuild when HEAD moves: HEAD itself, the branch it points at, and packed refs.
    for args in [
        &["rev-parse", "--git-path", "HEAD"][..],
        &["rev-parse", "--git-path", "packed-refs"][..],
    ] {
        if let Some(path) = git(args) {
            rerun_if_changed(&dir, &path);
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch])
    {
        rerun_if_changed(&dir, &path);
    }
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    (!hash.is_empty()).then_some(hash)
}

/// Cargo reruns a build script on every build when a watched file is missing: only watch files
/// that exist.
fn rerun_if_changed(dir: &Path, path: &str) {
    let path = dir.join(path);
    if path.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
