//! `prune`: recommend stale dated tags and history to remove, each with its reason. Reads the
//! definitions, the policies, the live state and the repository's Kubernetes manifests; writes
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::{Context, ExitStatus, Printer, PruneArgs, ReportFormat};
use crate::definition::source::{self, DEFINITIONS_DIR, SourceFile};
use crate::diagnostic;
use crate::error::Hinted;
use crate::model::{ImageStream, StreamKey};
use crate::prune::{self, render, triggers};
use crate::state::dir::DirState;

/// Run `prune`.
pub fn run(ctx: &Context, args: &PruneArgs, printer: &Printer) -> Result<ExitStatus> {
    if args.write && args.rev.rev.is_some() {
        return Err(Hinted::new(
            "prune --write edits the working tree and cannot be combined with --rev",
            "check out the revision first, or drop --rev",
        )
        .into());
    }
    let loaded = crate::cli::commands::load_definitions(ctx, &args.rev)?;
    if loaded.has_errors() {
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        printer.diagnostics(&diagnostic::render_text(&errors));
        return Err(Hinted::new(
            format!(
                "cannot recommend pruning: {} in the definitions or policies",
                diagnostic::plural(errors.len(), "1 error", &format!("{} errors", errors.len()))
            ),
            "fix the definitions and policies first; `streamsync validate` lists every problem",
        )
        .into());
    }
    let (_, policies, _) = ctx.load_settings();
    let policy = policies
        .prune
        .compile()
        .context("the [prune] policy cannot be used")?;
    let live = load_live(ctx)?;
    let manifests = match &args.rev.rev {
        Some(rev) => manifests_at_rev(&ctx.root, rev)?,
        None => manifests_in_worktree(ctx)?,
    };
    let mut uses = Vec::new();
    for file in &manifests {
        let Ok(text) = std::str::from_utf8(&file.bytes) else {
            continue;
        };
        let scan = triggers::scan_manifest(&file.path, text);
        for note in &scan.notes {
            printer.warn(&format!("{}: {}", note.file, note.message));
        }
        uses.extend(scan.uses);
    }
    let report = prune::recommend(&prune::Inputs {
        definitions: &loaded.set,
        live: &live,
        policy: &policy,
        uses: &uses,
        now: ctx.now,
    });
    let options = render::Options {
        explain: args.explain,
        keep_tag_revisions: policies.prune.keep_tag_revisions,
        keep_younger_than: policies.prune.keep_younger_than.clone(),
    };
    if args.write {
        return write(ctx, &report, args.dry_run, printer);
    }
    printer.out(&match args.format {
        ReportFormat::Text => render::text(&report, &options),
        ReportFormat::Markdown => render::markdown(&report, &options),
        ReportFormat::Json => render::json(&report),
    });
    Ok(if args.detailed_exitcode && !report.candidates.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// `prune --write`: remove the candidate tags from the definitions with the surgical editor,
/// print the diff and the plan it implies. History candidates are left to the state.
fn write(
    ctx: &Context,
    report: &prune::Report,
    dry_run: bool,
    printer: &Printer,
) -> Result<ExitStatus> {
    let tags: Vec<&prune::Entry> = report
        .candidates
        .iter()
        .filter(|c| c.kind == prune::Kind::Tag)
        .collect();
    if tags.is_empty() {
        printer.info("no tag to remove: the definitions stay as they are");
        return Ok(ExitStatus::Success);
    }
    let (config, policies, _) = ctx.load_settings();
    let mut session = crate::edit::Session::open(&ctx.root, config, policies)?;
    for c in &tags {
        let key = StreamKey::new(&c.namespace, &c.stream);
        session
            .remove_tag(&key, &c.tag)
            .with_context(|| format!("cannot remove tag `{}:{}`", key, c.tag))?;
    }
    super::tag::finish(&session, dry_run, false, printer)?;
    printer.info(&format!(
        "{} {} {} from the definitions; review the diff and commit it",
        if dry_run { "would remove" } else { "removed" },
        tags.len(),
        diagnostic::plural(tags.len(), "tag", "tags"),
    ));
    if !dry_run {
        let mut streams: Vec<StreamKey> = tags
            .iter()
            .map(|c| StreamKey::new(&c.namespace, &c.stream))
            .collect();
        streams.dedup();
        super::tag::print_implied_plan(ctx, &streams, printer);
    }
    Ok(ExitStatus::Success)
}

/// The live streams: `<state>/<namespace>/<name>.yaml`. A missing state folder is an empty
/// live state. (`images/` holds Image objects, dotfiles are the store's own.)
fn load_live(ctx: &Context) -> Result<BTreeMap<StreamKey, ImageStream>> {
    Ok(DirState::open(&ctx.state_dir)?.load_streams()?)
}

fn is_yaml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Folders at the root that hold no Kubernetes manifests of the user's.
fn skipped_top(name: &str) -> bool {
    name == DEFINITIONS_DIR || name == "state" || name == "policies" || name == "target"
}

/// Every YAML file of the working tree outside `definitions/`, the state and hidden folders
/// (semantics spec §6: any manifest may carry a trigger).
pub(super) fn manifests_in_worktree(ctx: &Context) -> Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut stack = vec![ctx.root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = fs_err::read_dir(&dir)?.collect::<std::io::Result<Vec<_>>>()?;
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || path == ctx.state_dir {
                continue;
            }
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if !(dir == ctx.root && skipped_top(&name)) {
                    stack.push(path);
                }
            } else if file_type.is_file() && is_yaml(&name) {
                let bytes = fs_err::read(&path)?;
                if bytes.len() > source::MAX_FILE_BYTES {
                    continue;
                }
                out.push(SourceFile {
                    path: ctx.display_path(&path),
                    bytes,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The same files as they are at `rev` (read through git2, no checkout).
pub(super) fn manifests_at_rev(root: &Path, rev: &str) -> Result<Vec<SourceFile>> {
    let (repo, prefix) = source::open_repo(root)?;
    let tree = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_tree())
        .with_context(|| format!("cannot resolve revision `{rev}`"))?;
    let tree = if prefix.is_empty() {
        tree
    } else {
        let entry = tree
            .get_path(Path::new(&prefix))
            .with_context(|| format!("`{prefix}` does not exist at `{rev}`"))?;
        repo.find_tree(entry.id())?
    };
    let mut out = Vec::new();
    let mut failure = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or_default();
        if name.starts_with('.') || (dir.is_empty() && skipped_top(name)) {
            return git2::TreeWalkResult::Skip;
        }
        if entry.kind() == Some(git2::ObjectType::Blob) && is_yaml(name) {
            match repo.find_blob(entry.id()) {
                Ok(blob) if blob.content().len() <= source::MAX_FILE_BYTES => {
                    out.push(SourceFile {
                        path: format!("{dir}{name}"),
                        bytes: blob.content().to_vec(),
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    failure = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
