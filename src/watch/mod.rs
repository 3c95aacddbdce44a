//! Watches the definitions, the policies and the config with notify and calls back, debounced,
//! whenever one of them changes. Knows nothing of plans: the caller decides what to redo.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

/// What the watcher reports.
#[derive(Debug)]
pub enum Event {
    /// Something relevant changed (the paths, relative to the root).
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

/// The folders and files `watch` follows, relative to the root.
const WATCHED_DIRS: &[&str] = &["definitions", "policies"];

/// Whether a changed path matters: under a watched folder, or the config file.
fn relevant(root: &Path, config: &Path, path: &Path) -> bool {
    if path == config {
        return true;
    }
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = rel.components();
    let first = parts
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_editor_temporary(&name) {
        return false;
    }
    first.is_some_and(|f| WATCHED_DIRS.contains(&f.as_str()))
}

/// Files editors write next to the real one while saving: hidden files (`.#ruby.yaml`,
/// `.ruby.yaml.swp`), backups (`ruby.yaml~`, `.bak`, `.orig`), vim's swap files (`.swp`,
/// `.swo`, `.swx`, `.swpx`) and its write probe (`4913`, or any all-digit name), Emacs
/// autosaves (`#ruby.yaml#`), Kate's (`.kate-swp`), JetBrains' safe-write files
/// (`___jb_tmp___`, `___jb_old___`) and `.tmp` files.
pub fn is_editor_temporary(name: &str) -> bool {
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
    name.starts_with('.')
        || (name.starts_with('#') && name.ends_with('#'))
        || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Watch `root`'s definitions, policies and `config`; run `on_event` for every debounced batch
/// of changes until it returns `false` or a stop signal arrives. `ready` runs once the watches
/// are in place (so a first plan printed there cannot miss an edit).
pub fn run(
    root: &Path,
    config: &Path,
    debounce: Duration,
    ready: impl FnOnce(),
    mut on_event: impl FnMut(Event) -> bool,
) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel::<Event>();
    let root_c = root.to_path_buf();
    let config_c = config.to_path_buf();
    let tx_fs = tx.clone();
    // Reads are not changes: without this filter, re-reading the files after a change would
    // report them again, forever.
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| relevant(&root_c, &config_c, p))
            .map(|p| p.strip_prefix(&root_c).map(Path::to_path_buf).unwrap_or(p))
            .collect();
        if !paths.is_empty() {
            let _ = tx_fs.send(Event::Changed(paths));
        }
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
    if let Some(dir) = config.parent()
        && dir != root
        && dir.is_dir()
    {
        let _ = watcher.watch(dir, RecursiveMode::NonRecursive);
    }
    let mut watched: Vec<PathBuf> = Vec::new();
    let add_dirs = |watcher: &mut dyn Watcher, watched: &mut Vec<PathBuf>| {
        for d in WATCHED_DIRS {
            let p = root.join(d);
            if p.is_dir()
                && !watched.contains(&p)
                && watcher.watch(&p, RecursiveMode::Recursive).is_ok()
            {
                watched.push(p);
            }
        }
    };
    add_dirs(&mut watcher, &mut watched);
    spawn_signal_thread(tx);
    ready();
    while let Ok(first) = rx.recv() {
        let Event::Changed(mut paths) = first else {
            let _ = on_event(Event::Stop);
            break;
        };
        // Debounce: an editor's save is several events; gather them until quiet.
        let mut stop = false;
        loop {
            match rx.recv_timeout(debounce) {
                Ok(Event::Changed(more)) => paths.extend(more),
                Ok(Event::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        paths.sort();
        paths.dedup();
        // A watched folder created after start: watch it now.
        if paths
            .iter()
            .any(|p| WATCHED_DIRS.iter().any(|d| p == Path::new(d)))
        {
            add_dirs(&mut watcher, &mut watched);
        }
        if !on_event(Event::Changed(paths)) || stop {
            break;
        }
    }
    Ok(())
}

/// Turn SIGINT/SIGTERM into a clean stop.
fn spawn_signal_thread(tx: mpsc::Sender<Event>) {
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
        let _ = tx.send(Event::Stop);
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
