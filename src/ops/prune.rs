//! `prune`: recommend stale dated tags and history to remove, each with its reason, from the
//! definitions, the policies, the live state and the repository's Kubernetes manifests (their
//! triggers keep tags in use). With `write` it removes the candidate tags from the
//! definitions through the editor, for review; it never touches the live state.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};

use super::edits::{self, Edited};
use super::{Invalid, Run, Workspace};
use crate::diagnostic;
use crate::error::Hinted;
use crate::model::{ImageStream, StreamKey};
use crate::prune::{self, triggers};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions and manifests at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// Remove the candidate tags from the definitions.
    pub write: bool,
    /// With `write`: compute the edit and write nothing.
    pub dry_run: bool,
}

/// What [`run`] found (and removed).
#[derive(Debug)]
pub struct Report {
    /// The recommendations.
    pub recommendations: prune::Report,
    /// What a manifest's trigger annotations held that could not be used, as
    /// `file: message`.
    pub notes: Vec<String>,
    /// The policy's `keep_tag_revisions`.
    pub keep_tag_revisions: u32,
    /// The policy's `keep_younger_than`.
    pub keep_younger_than: String,
    /// With `write`: the tags removed and the edit.
    pub written: Option<Removed>,
}

/// The candidate tags removed from the definitions.
#[derive(Debug)]
pub struct Removed {
    /// How many tags.
    pub tags: usize,
    /// The edit (empty when there was no tag to remove).
    pub edited: Edited,
}

/// Recommend, and with `write` remove.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    if options.write && options.rev.is_some() {
        return Err(Hinted::new(
            "prune --write edits the working tree and cannot be combined with --rev",
            "check out the revision first, or drop --rev",
        )
        .into());
    }
    let loaded = ws.load_definitions(options.rev.as_deref())?;
    if let Some(invalid) = Invalid::of(&loaded) {
        return Ok(Run::Invalid(invalid));
    }
    let (_, policies, _) = ws.load_settings();
    let policy = policies
        .prune
        .compile()
        .context("the [prune] policy cannot be used")?;
    let live = load_live(ws)?;
    let config = ws.config()?.clone();
    let manifests = ws.manifests(&config, options.rev.as_deref())?;
    let mut uses = Vec::new();
    let mut notes = Vec::new();
    for file in &manifests {
        let scan = triggers::scan_manifest(&file.path, &file.text);
        for note in &scan.notes {
            notes.push(format!("{}: {}", note.file, note.message));
        }
        uses.extend(scan.uses);
    }
    let recommendations = prune::recommend(&prune::Inputs {
        definitions: &loaded.set,
        live: &live,
        policy: &policy,
        uses: &uses,
        now: ws.now,
    });
    let written = if options.write {
        Some(write(ws, &recommendations, options.dry_run)?)
    } else {
        None
    };
    Ok(Run::Done(Report {
        recommendations,
        notes,
        keep_tag_revisions: policies.prune.keep_tag_revisions,
        keep_younger_than: policies.prune.keep_younger_than.clone(),
        written,
    }))
}

/// Remove the candidate tags from the definitions with the surgical editor; the plan it
/// implies is made only when the edit was written. History candidates are left to the state.
fn write(ws: &Workspace, report: &prune::Report, dry_run: bool) -> Result<Removed> {
    let tags: Vec<&prune::Entry> = report
        .candidates
        .iter()
        .filter(|c| c.kind == prune::Kind::Tag)
        .collect();
    if tags.is_empty() {
        return Ok(Removed {
            tags: 0,
            edited: Edited {
                files: Vec::new(),
                dry_run,
                messages: Vec::new(),
                implied: None,
            },
        });
    }
    let (config, policies, _) = ws.load_settings();
    let mut session = crate::edit::Session::open(&ws.root, config, policies)?;
    for c in &tags {
        let key = StreamKey::new(&c.namespace, &c.stream);
        session
            .remove_tag(&key, &c.tag)
            .with_context(|| format!("cannot remove tag `{}:{}`", key, c.tag))?;
    }
    let files = edits::write(&session, dry_run, false)?;
    let loaded = session.load();
    let message = format!(
        "{} {} {} from the definitions; review the diff and commit it",
        if dry_run { "would remove" } else { "removed" },
        tags.len(),
        diagnostic::plural(tags.len(), "tag", "tags"),
    );
    let implied = (!dry_run).then(|| {
        let mut streams: Vec<StreamKey> = tags
            .iter()
            .map(|c| StreamKey::new(&c.namespace, &c.stream))
            .collect();
        streams.dedup();
        edits::implied_plan(ws, &loaded, &streams)
    });
    Ok(Removed {
        tags: tags.len(),
        edited: Edited {
            files,
            dry_run,
            messages: vec![message],
            implied,
        },
    })
}

/// The live streams: `<state>/<namespace>/<name>.yaml`. A missing state folder is an empty
/// live state. (`images/` holds Image objects, dotfiles are the store's own.)
fn load_live(ws: &Workspace) -> Result<BTreeMap<StreamKey, ImageStream>> {
    Ok(ws.state()?.load_streams()?)
}
