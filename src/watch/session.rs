//! What `watch` keeps between rounds, and its rounds. Everything a plan reads is loaded once
//! and kept: the config and policies (in the round's [`Workspace`]), the definitions (parsed,
//! validated, with each file's content hash), the manifests roll-outs read, and the live-state
//! snapshot (its stream files at rest with their definitions left unparsed, as `plan` leaves
//! them). A round starts from what changed: it re-reads only the definition files whose
//! paths the watcher reported (or that a listing shows new), parses only those whose bytes
//! changed, checks again only the streams the edit can affect, parses only the live streams
//! the new definitions no longer match, and plans. The manifests are listed again only after
//! a change outside the definitions, and the live state is read again after another process
//! committed it.
//!
//! The plan printed is the one a fresh `plan` prints. Whatever this cannot keep exact starts
//! from nothing: the config or a policy changed, the watcher lost events, a stream is defined
//! twice, a file cannot be read, a live stream file changed without a commit, or any error (a
//! fresh load then reports it, in its own words).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::definition::incremental::{Parsed, Tracker};
use crate::definition::{self, source};
use crate::diagnostic;
use crate::model::{ImageStream, StreamKey};
use crate::ops::{self, Run, Workspace};
use crate::policy::Config;
use crate::reconcile;
use crate::rollout;
use crate::state::Snapshot;

/// How the last round was made (shown with `-v`, and read by tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Everything was read afresh.
    pub full: bool,
    /// Definition files read.
    pub read: usize,
    /// Definition files parsed (their bytes changed).
    pub parsed: usize,
    /// Streams checked.
    pub checked: usize,
    /// Live stream files parsed this round.
    pub live_parsed: usize,
}

/// The definitions as kept: validated, with the hash of each file's bytes.
struct Definitions {
    tracker: Tracker,
    hashes: HashMap<String, [u8; 32]>,
}

/// `watch`'s memory between rounds.
#[derive(Default)]
pub struct Session {
    /// The round's workspace: its config and policies, read once until they change.
    ws: Option<Workspace>,
    definitions: Option<Definitions>,
    manifests: Option<Vec<rollout::Manifest>>,
    /// The live state as loaded for the plan, kept up to date with the definitions.
    live: Option<Snapshot>,
    /// The memo of each defined stream, as last computed.
    memos: BTreeMap<StreamKey, String>,
    /// How the last round was made.
    pub stats: Stats,
}

/// Where a change was.
#[derive(Default)]
struct Touched {
    /// Start from nothing.
    everything: bool,
    settings: bool,
    /// Definition paths (relative, `/`-separated).
    definitions: Vec<String>,
    manifests: bool,
    state: bool,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Session {
    /// One round: the text `watch` shows, after `changed` (paths as the watcher reports them;
    /// `None` for the first round). An empty path means the watcher lost events.
    pub fn round(&mut self, base: &Workspace, changed: Option<&[PathBuf]>) -> String {
        let touched = classify(base, changed);
        if touched.everything || touched.settings {
            *self = Session::default();
        }
        if touched.state {
            self.live = None;
        }
        if touched.manifests {
            self.manifests = None;
        }
        let ws = self.ws.get_or_insert_with(|| base.fresh()).clone();
        match self.incremental(&ws, &touched.definitions) {
            Ok(Some(text)) => text,
            _ => {
                *self = Session::default();
                self.stats.full = true;
                fresh(&base.fresh())
            }
        }
    }

    /// The round from what is kept; `None` (or an error) when it must start from nothing.
    fn incremental(&mut self, ws: &Workspace, paths: &[String]) -> Result<Option<String>> {
        let Ok(config) = ws.config() else {
            return Ok(None);
        };
        self.stats = Stats::default();
        if !self.update_definitions(ws, config, paths)? {
            return Ok(None);
        }
        let Some(definitions) = &self.definitions else {
            return Ok(None);
        };
        let tracker = &definitions.tracker;
        let set = tracker.set();
        if self.manifests.is_none() {
            self.manifests = Some(ws.manifests(config, None)?);
        }
        let manifests = self.manifests.as_deref().unwrap_or_default();
        let triggers = ops::Triggers::judged(manifests, set, config);
        if tracker.has_errors() {
            let mut text = diagnostic::render_text(&tracker.diagnostics());
            text.push_str(&diagnostic::render_text(&triggers.problems));
            self.log();
            return Ok(Some(text));
        }
        let followed: BTreeSet<StreamKey> = triggers
            .scan
            .triggers
            .iter()
            .map(|t| t.from.key(&config.default_namespace))
            .collect();
        let missing: Vec<&ImageStream> = set
            .streams
            .iter()
            .filter(|(key, _)| !self.memos.contains_key(*key))
            .map(|(_, def)| &def.stream)
            .collect();
        self.memos.extend(reconcile::memos(&missing));
        let state = ws.state()?;
        // The streams that must stay parsed, as a fresh load keeps them: those a trigger
        // follows, and both ends of a tag that follows another stream.
        let mut keep = followed;
        for (key, sources) in tracker.sources() {
            keep.insert(key.clone());
            keep.extend(sources.iter().cloned());
        }
        let snapshot = match self.live.take() {
            None => {
                self.stats.full = true;
                let mut snapshot = reconcile::load_for_plan_with(&state, &self.memos, &keep)?;
                self.stats.live_parsed = snapshot.streams.len();
                reconcile::rest(&mut snapshot, &self.memos, &keep);
                snapshot
            }
            Some(mut snapshot) => {
                let before = snapshot.streams.len();
                let memos = &self.memos;
                let current = reconcile::reparse(&state, &mut snapshot, |key, recorded| {
                    keep.contains(key) || memos.get(key).is_none_or(|m| m != recorded)
                })?;
                if !current {
                    return Ok(None);
                }
                self.stats.live_parsed = snapshot.streams.len() - before;
                snapshot
            }
        };
        let planned = ops::plan::offline(ws, set, &triggers, snapshot)?;
        let mut text = crate::plan::render::text(&planned.plan, false);
        text.push_str(&diagnostic::render_text(&planned.plan.rollouts.problems));
        self.live = Some(planned.snapshot);
        self.log();
        Ok(Some(text))
    }

    fn log(&self) {
        let s = &self.stats;
        tracing::info!(
            "watch round: {} ({} definition files read, {} parsed, {} streams checked, {} live streams parsed)",
            if s.full {
                "from nothing"
            } else {
                "incremental"
            },
            s.read,
            s.parsed,
            s.checked,
            s.live_parsed
        );
    }

    /// Bring the definitions up to date with the files `paths` names (all of them, the first
    /// time); `false` when a fresh load must do it (it reports what went wrong).
    fn update_definitions(
        &mut self,
        ws: &Workspace,
        config: &Config,
        paths: &[String],
    ) -> Result<bool> {
        if !ws.root.join(source::DEFINITIONS_DIR).is_dir() {
            return Ok(false);
        }
        if self.definitions.is_some() && paths.is_empty() {
            return Ok(true);
        }
        let listed = source::list_worktree(&ws.root)?;
        let Some(kept) = &mut self.definitions else {
            let read = read_all(&ws.root, &listed, config)?;
            self.stats.full = true;
            self.stats.read = read.len();
            self.stats.parsed = read.len();
            let hashes = read.iter().map(|(p, h, _)| (p.clone(), *h)).collect();
            let parsed = read.into_iter().map(|(p, _, parsed)| (p, parsed)).collect();
            let settings = ws.settings();
            let tracker = Tracker::new(
                parsed,
                config,
                &settings.policies,
                settings.diagnostics.clone(),
            );
            self.stats.checked = tracker.set().streams.len();
            self.memos.clear();
            self.definitions = Some(Definitions { tracker, hashes });
            return Ok(true);
        };
        // A path the listing does not show as a file is a folder (created, renamed, removed):
        // everything under it is read again.
        let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        let folders: Vec<String> = paths
            .iter()
            .filter(|p| !listed_set.contains(p.as_str()))
            .map(|p| format!("{p}/"))
            .collect();
        let named: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
        let wanted: Vec<&String> = listed
            .iter()
            .filter(|p| {
                !kept.hashes.contains_key(*p)
                    || named.contains(p.as_str())
                    || folders.iter().any(|f| p.starts_with(f.as_str()))
            })
            .collect();
        let files = wanted
            .par_iter()
            .map(|rel| source::read_worktree_file(&ws.root, rel))
            .collect::<Result<Vec<_>, _>>()?;
        self.stats.read = files.len();
        let mut changes: Vec<(String, Option<Parsed>)> = files
            .par_iter()
            .filter_map(|file| {
                let hash = digest(&file.bytes);
                (kept.hashes.get(&file.path) != Some(&hash)).then(|| {
                    let parsed = definition::parse_file(file, config);
                    (file.path.clone(), Some(parsed), hash)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(path, parsed, hash)| {
                kept.hashes.insert(path.clone(), hash);
                (path, parsed)
            })
            .collect();
        self.stats.parsed = changes.len();
        let gone: Vec<String> = kept
            .hashes
            .keys()
            .filter(|p| !listed_set.contains(p.as_str()))
            .cloned()
            .collect();
        for path in gone {
            kept.hashes.remove(&path);
            changes.push((path, None));
        }
        if changes.is_empty() {
            return Ok(true);
        }
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        let policies = &ws.settings().policies;
        let Some(updated) = kept.tracker.update(changes, config, policies) else {
            // A stream defined twice: a fresh load says where.
            self.definitions = None;
            return self.update_definitions(ws, config, &[]);
        };
        self.stats.checked = updated.checked;
        for key in &updated.changed {
            self.memos.remove(key);
        }
        Ok(true)
    }
}

/// Read, hash and parse the files `paths` names, in parallel (in `paths`' order).
fn read_all(
    root: &Path,
    paths: &[String],
    config: &Config,
) -> Result<Vec<(String, [u8; 32], Parsed)>> {
    Ok(paths
        .par_iter()
        .map(|rel| {
            let file = source::read_worktree_file(root, rel)?;
            let hash = digest(&file.bytes);
            Ok((
                file.path.clone(),
                hash,
                definition::parse_file(&file, config),
            ))
        })
        .collect::<Result<Vec<_>, source::SourceError>>()?)
}

/// Sort the changed paths by what they can change.
fn classify(ws: &Workspace, changed: Option<&[PathBuf]>) -> Touched {
    let Some(changed) = changed else {
        return Touched {
            everything: true,
            ..Touched::default()
        };
    };
    let mut touched = Touched::default();
    let definitions = ws.root.join(source::DEFINITIONS_DIR);
    let policies = ws.root.join(crate::policy::POLICIES_DIR);
    for path in changed {
        if path.as_os_str().is_empty() {
            touched.everything = true;
            continue;
        }
        let abs = ws.root.join(path);
        if abs == ws.config_path || abs.starts_with(&policies) {
            touched.settings = true;
        } else if abs.starts_with(&ws.state_dir) {
            touched.state = true;
        } else if let Ok(rel) = abs.strip_prefix(&ws.root)
            && abs.starts_with(&definitions)
        {
            touched
                .definitions
                .push(rel.to_string_lossy().replace('\\', "/"));
        } else {
            touched.manifests = true;
        }
    }
    touched
}

/// A round from nothing, as `plan` makes it: what the session shows when it cannot keep
/// anything, errors included.
fn fresh(ws: &Workspace) -> String {
    let options = ops::plan::Options::default();
    let planned = ws
        .load_definitions(None)
        .and_then(|loaded| ops::plan::run_loaded(ws, loaded, &options));
    let problems = planned
        .as_ref()
        .map_or(Vec::new(), |r| r.manifest_problems().to_vec());
    let mut text = match planned {
        Ok(Run::Done(done)) => crate::plan::render::text(&done.planned.plan, false),
        Ok(Run::Invalid(invalid)) => diagnostic::render_text(&invalid.diagnostics),
        Err(err) => format!("error: {err:#}\n"),
    };
    text.push_str(&diagnostic::render_text(&problems));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_path_means_everything() {
        let ws = Workspace::new("/repo");
        let t = classify(&ws, Some(&[PathBuf::new()]));
        assert!(t.everything);
        let t = classify(
            &ws,
            Some(&[
                PathBuf::from("definitions/web/ruby.yaml"),
                PathBuf::from("deploy/app.yaml"),
                PathBuf::from("state/streamsync.toml"),
            ]),
        );
        assert_eq!(t.definitions, ["definitions/web/ruby.yaml"]);
        assert!(t.manifests && t.state && !t.settings && !t.everything);
    }
}
