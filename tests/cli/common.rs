//! Test helpers: temporary repositories and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary repository folder.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

impl TestRepo {
    pub fn new() -> Self {
        TestRepo {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `rel` (creating folders).
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Copy a file from the crate into the repository.
    pub fn copy(&self, from: impl AsRef<Path>, rel: &str) -> &Self {
        let text = std::fs::read(crate_path(from)).unwrap();
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Run streamsync with `-C <repo>` and the given arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.path(), args)
    }
}

/// A path inside the crate.
pub fn crate_path(rel: impl AsRef<Path>) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// What one run printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// `exit: N`, stdout and stderr in one snapshot-friendly text.
    pub fn snapshot(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn run_in(root: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_streamsync"))
        .arg("-C")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("STREAMSYNC_NOW", "2026-01-01T00:00:00Z")
        .output()
        .expect("run streamsync");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// insta settings that keep snapshots in the crate's `snapshots/` folder.
pub fn insta_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(crate_path("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    // Import summaries carry wall-clock time and retry-dependent request counts.
    s.add_filter(
        r"in \d+\.\d s, \d+ requests?( \([^)]*\))?",
        "in [time] s, [requests]",
    );
    s
}

/// Assert a snapshot stored under `snapshots/`.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {{
        let settings = $crate::common::insta_settings();
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}

/// Stage everything in the work tree (deletions too) and commit it on HEAD.
pub fn commit_all(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test", "test@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}
