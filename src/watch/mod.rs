//! Watches what a plan reads and calls back, debounced, whenever it changes: the definitions,
//! the policies, the config, the manifests roll-outs read (the folders of the repository Git
//! does not ignore, one watch each, so an ignored `node_modules/` or `target/` costs nothing
//! and starts no round) and the live state's commit file, which `apply` and `sync` write last
//! (from another terminal, too). Editors' temporary files (`.swp`, `~`, `4913`, `.#*`,
//! `*.tmp`) start no round. Knows nothing of plans: the caller decides what to redo.

pub mod session;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use crate::policy::RolloutConfig;

/// What the watcher reports.
#[derive(Debug)]
pub enum Event {
    /// Something relevant changed (the paths, relative to the root; an empty path when the
    /// system lost events, so anything may have changed).
    Changed(Vec<PathBuf>),
    /// Stop (Ctrl-C or SIGTERM).
    Stop,
}

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// notify could not set up a watch.
    #[error("cannot watch `{path}`")]
    Watch {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: notify::Error,
    },
}

/// What `watch` follows.
pub struct Sources<'a> {
    /// The repository.
    pub root: &'a Path,
    /// The config file.
    pub config: &'a Path,
    /// The live-state folder (its commit file is watched).
    pub state_dir: &'a Path,
    /// The `[rollout]` settings now (called again after the config changes).
    pub rollout: &'a dyn Fn() -> RolloutConfig,
}

/// The folders watched recursively, relative to the root.
const WATCHED_DIRS: &[&str] = &["definitions", "policies"];

/// Files editors write next to the real one while saving: hidden files (`.#ruby.yaml`,
/// `.ruby.yaml.swp`), backups (`ruby.yaml~`, `.bak`, `.orig`), vim's swap files (`.swp`,
/// `.swo`, `.swx`, `.swpx`) and its write probe (`4913`, or any all-digit name), Emacs
/// autosaves (`#ruby.yaml#`), Kate's (`.kate-swp`), JetBrains' safe-write files
/// (`___jb_tmp___`, `___jb_old___`) and `.tmp` files.
pub fn is_editor_temporary(name: &str) -> bool {
    name.starts_with('.') || editor_temporary(name)
}

/// [`is_editor_temporary`] but for the hidden-name rule, which the watcher applies itself
/// (a `.gitignore` is hidden and still matters).
fn editor_temporary(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "~",
        ".swp",
        ".swo",
        ".swx",
        ".swpx",
        ".bak",
        ".orig",
        ".tmp",
        ".kate-swp",
        "___jb_tmp___",
        "___jb_old___",
    ];
    name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Whether Git ignores `path` (under `root`): `.git/info/exclude`, then every `.gitignore`
/// from the root down to the path's folder, the deepest that has a say deciding, as Git does.
fn git_ignored(root: &Path, path: &Path, is_dir: bool) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut files = vec![(root.to_path_buf(), root.join(".git/info/exclude"))];
    let mut dir = root.to_path_buf();
    files.push((dir.clone(), dir.join(".gitignore")));
    if let Some(parent) = rel.parent() {
        for part in parent.components() {
            dir.push(part);
            files.push((dir.clone(), dir.join(".gitignore")));
        }
    }
    for (base, file) in files.iter().rev() {
        if !file.is_file() {
            continue;
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(base);
        builder.add(file);
        let Ok(matcher) = builder.build() else {
            continue;
        };
        match matcher.matched_path_or_any_parents(path, is_dir) {
            ignore::Match::Ignore(_) => return true,
            ignore::Match::Whitelist(_) => return false,
            ignore::Match::None => {}
        }
    }
    false
}

/// The watcher's view of the repository between rounds.
struct View<'a> {
    sources: &'a Sources<'a>,
    rollout: RolloutConfig,
    /// Folders watched one by one (not recursively): the root and those Git does not ignore.
    dirs: BTreeSet<PathBuf>,
    /// Folders watched recursively.
    trees: BTreeSet<PathBuf>,
}

impl View<'_> {
    /// Whether a changed path matters.
    fn relevant(&self, path: &Path) -> bool {
        let s = self.sources;
        if path.as_os_str().is_empty() {
            // Events were lost: everything may have changed.
            return true;
        }
        if path == s.config {
            return true;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path == s.state_dir {
            // Created by a first apply: watched from now on.
            return true;
        }
        if path.parent() == Some(s.state_dir) {
            return name == crate::state::dir::META_FILE;
        }
        if editor_temporary(&name) {
            return false;
        }
        let Ok(rel) = path.strip_prefix(s.root) else {
            return false;
        };
        let rel_text = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let first = rel_text.split('/').next().unwrap_or_default();
        if WATCHED_DIRS.contains(&first) {
            // Editors' hidden files; a watched folder itself being created or removed counts.
            return !name.starts_with('.');
        }
        // A `.gitignore` changes the list of manifests.
        if name == ".gitignore" {
            return !git_ignored(s.root, path, false);
        }
        if rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            || path.starts_with(s.state_dir)
        {
            return false;
        }
        if path.is_dir() {
            // A folder created (or moved in) with manifests already in it.
            return !git_ignored(s.root, path, true)
                && crate::rollout::walker(path, s.state_dir)
                    .build()
                    .filter_map(Result::ok)
                    .any(|e| {
                        e.file_type().is_some_and(|t| t.is_file())
                            && e.path().strip_prefix(s.root).is_ok_and(|r| {
                                crate::rollout::is_manifest_path(
                                    &r.to_string_lossy(),
                                    &self.rollout,
                                )
                            })
                    });
        }
        if self.dirs.contains(path) {
            // A watched folder removed: its manifests are gone.
            return true;
        }
        crate::rollout::is_manifest_path(&rel_text, &self.rollout)
            && !git_ignored(s.root, path, false)
    }

    /// The paths of `paths` that matter. A folder created is watched before its content is
    /// looked at, so no file written into it in the meantime is missed.
    fn filter(&mut self, watcher: &mut dyn Watcher, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        let new_dir = |p: &PathBuf| {
            p.is_dir() && !self.dirs.contains(p) && !self.trees.iter().any(|t| p.starts_with(t))
        };
        if paths.iter().any(new_dir) {
            self.refresh(watcher);
        }
        paths.into_iter().filter(|p| self.relevant(p)).collect()
    }

    /// Watch every folder a plan reads that is not watched yet, and forget those gone.
    fn refresh(&mut self, watcher: &mut dyn Watcher) {
        let s = self.sources;
        for d in WATCHED_DIRS {
            let p = s.root.join(d);
            if p.is_dir()
                && !self.trees.contains(&p)
                && watcher.watch(&p, RecursiveMode::Recursive).is_ok()
            {
                self.trees.insert(p);
            }
        }
        self.trees.retain(|p| p.is_dir());
        let mut now = BTreeSet::new();
        for entry in crate::rollout::walker(s.root, s.state_dir)
            .build()
            .filter_map(Result::ok)
        {
            if entry.file_type().is_some_and(|t| t.is_dir()) {
                now.insert(entry.into_path());
            }
        }
        for extra in [
            s.state_dir.to_path_buf(),
            s.config.parent().map(Path::to_path_buf).unwrap_or_default(),
        ] {
            if extra.is_dir() {
                now.insert(extra);
            }
        }
        for gone in self.dirs.difference(&now) {
            let _ = watcher.unwatch(gone);
        }
        let mut watched = BTreeSet::new();
        for dir in now {
            if self.dirs.contains(&dir) || watcher.watch(&dir, RecursiveMode::NonRecursive).is_ok()
            {
                watched.insert(dir);
            }
        }
        self.dirs = watched;
    }
}

/// Watch what a plan of `sources` reads; run `on_event` for every debounced batch of changes
/// until it returns `false` or a stop signal arrives. `ready` runs once the watches are in
/// place (so a first plan printed there cannot miss an edit).
pub fn run(
    sources: &Sources<'_>,
    debounce: Duration,
    ready: impl FnOnce(),
    mut on_event: impl FnMut(Event) -> bool,
) -> Result<(), Error> {
    let root = sources.root;
    let (tx, rx) = mpsc::channel::<Option<Vec<PathBuf>>>();
    let tx_fs = tx.clone();
    // Reads are not changes: without this filter, re-reading the files after a change would
    // report them again, forever.
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        // The kernel's queue overflowed: what changed is unknown (an empty path says so).
        if event.need_rescan() {
            let _ = tx_fs.send(Some(vec![PathBuf::new()]));
            return;
        }
        if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
            return;
        }
        let _ = tx_fs.send(Some(event.paths));
    })
    .map_err(|source| Error::Watch {
        path: root.display().to_string(),
        source,
    })?;
    // The root itself, not recursively: sees definitions/ or policies/ being created and the
    // config file being written (editors replace files by rename, so watch its folder).
    watcher
        .watch(root, RecursiveMode::NonRecursive)
        .map_err(|source| Error::Watch {
            path: root.display().to_string(),
            source,
        })?;
    let mut view = View {
        sources,
        rollout: (sources.rollout)(),
        dirs: BTreeSet::from([root.to_path_buf()]),
        trees: BTreeSet::new(),
    };
    view.refresh(&mut watcher);
    spawn_signal_thread(tx);
    ready();
    while let Ok(first) = rx.recv() {
        let Some(first) = first else {
            let _ = on_event(Event::Stop);
            break;
        };
        let mut paths = view.filter(&mut watcher, first);
        if paths.is_empty() {
            continue;
        }
        // Debounce: an editor's save is several events; gather them until quiet.
        let mut stop = false;
        loop {
            match rx.recv_timeout(debounce) {
                Ok(Some(more)) => paths.extend(view.filter(&mut watcher, more)),
                Ok(None) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if paths.iter().any(|p| p == sources.config) {
            view.rollout = (sources.rollout)();
        }
        // Folders removed or newly ignored: watch what a plan now reads.
        view.refresh(&mut watcher);
        let mut shown: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p))
            .collect();
        shown.sort();
        shown.dedup();
        if !on_event(Event::Changed(shown)) || stop {
            break;
        }
    }
    Ok(())
}

/// Turn SIGINT/SIGTERM into a clean stop.
fn spawn_signal_thread(tx: mpsc::Sender<Option<Vec<PathBuf>>>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        });
        let _ = tx.send(None);
    });
}

#[cfg(test)]
mod tests {
    use super::is_editor_temporary;

    #[test]
    fn editor_temporary_files_are_recognised() {
        for temp in [
            "4913",
            "5036",
            ".ruby.yaml.swp",
            "ruby.yaml.swo",
            "ruby.yaml~",
            ".#ruby.yaml",
            "#ruby.yaml#",
            "ruby.yaml.kate-swp",
            "ruby.yaml___jb_tmp___",
            "ruby.yaml.bak",
        ] {
            assert!(is_editor_temporary(temp), "{temp}");
        }
        for real in [
            "ruby.yaml",
            "python.json",
            "default.toml",
            "v1.yaml",
            "2024.yaml",
        ] {
            assert!(!is_editor_temporary(real), "{real}");
        }
    }
}
