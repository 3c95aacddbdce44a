//! One file per command: `run(ctx, args, printer) -> Result<ExitStatus>`.

mod apply;
mod completions;
mod get;
mod import;
mod plan;
mod prune;
mod ref_;
mod sync;
mod tag;
mod validate;
mod watch;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::Result;

use crate::error::Hinted;

use super::{Cli, Command, Context, ExitStatus, Printer};

/// Run the command the user asked for.
pub fn run(cli: Cli, printer: &Printer) -> Result<ExitStatus> {
    // Commands that need no repository.
    match &cli.command {
        Command::Ref(args) => return ref_::run(args, printer),
        Command::Completions(args) => return completions::run(args, printer),
        _ => {}
    }
    let ctx = Context::resolve(&cli.global)?;
    match &cli.command {
        Command::Validate(args) => validate::run(&ctx, args, printer),
        Command::Plan(args) => plan::run(&ctx, args, printer),
        Command::Apply(args) => apply::run(&ctx, args, printer),
        Command::Sync(args) => sync::run(&ctx, args, printer),
        Command::Import(args) => import::run(&ctx, args, printer),
        Command::Tag(args) => tag::run(&ctx, args, printer),
        Command::Get(args) => get::run(&ctx, args, printer),
        Command::Prune(args) => prune::run(&ctx, args, printer),
        Command::Watch(args) => watch::run(&ctx, args, printer),
        Command::Ref(_) | Command::Completions(_) => unreachable!("handled above"),
    }
}

/// Load config, policies and definitions (working tree or `--rev`) with every diagnostic.
pub fn load_definitions(ctx: &Context, rev: &super::RevArgs) -> Result<crate::definition::Loaded> {
    load_source(ctx, rev).map_err(|e| source_error(ctx, e))
}

/// [`load_definitions`], with the source's own error for callers that treat some as normal.
pub fn load_source(
    ctx: &Context,
    rev: &super::RevArgs,
) -> Result<crate::definition::Loaded, crate::definition::SourceError> {
    let (config, policies, mut diags) = ctx.load_settings();
    let source = match &rev.rev {
        Some(rev) => crate::definition::Source::Rev {
            root: ctx.root.clone(),
            rev: rev.clone(),
        },
        None => crate::definition::Source::WorkTree {
            root: ctx.root.clone(),
        },
    };
    let mut loaded = crate::definition::load(&source, &config, &policies)?;
    diags.append(&mut loaded.diagnostics);
    crate::diagnostic::sort(&mut diags);
    loaded.diagnostics = diags;
    Ok(loaded)
}

/// A definitions source that cannot be read, with the hint that fixes it.
pub fn source_error(ctx: &Context, e: crate::definition::SourceError) -> anyhow::Error {
    use crate::definition::SourceError;
    match &e {
        SourceError::MissingDir { at, .. } if at.is_empty() && !ctx.root_found => Hinted::new(
            format!(
                "not inside a streamsync repository: neither `{}` nor a folder above it holds \
                 streamsync.toml, definitions/ or .git",
                ctx.root.display()
            ),
            "run streamsync inside the repository, or pass -C/--repo DIR",
        )
        .into(),
        SourceError::MissingDir { at, .. } if at.is_empty() => Hinted::new(
            format!("{e} in `{}`", ctx.root.display()),
            "keep ImageStream files in definitions/<namespace>/*.yaml at the repository root, \
             or pass -C/--repo to point at the repository",
        )
        .into(),
        SourceError::MissingDir { .. } => Hinted::new(
            e.to_string(),
            "check the revision and the folder's name in it",
        )
        .into(),
        SourceError::NoSuchRev { .. } => Hinted::new(
            e.to_string(),
            "name a branch, tag or commit of the repository (`git branch -a` lists them)",
        )
        .into(),
        SourceError::NotACommit { .. } => Hinted::new(
            e.to_string(),
            "--rev takes a commit: a branch, a tag or a commit id",
        )
        .into(),
        _ => e.into(),
    }
}

/// `sha256:…` over everything a plan is made from: the normalised definitions, the prune
/// option, the config and the policies. A saved plan records it; `apply FILE` refuses the
/// plan when it changed.
pub fn inputs_digest(
    ctx: &Context,
    desired: &[&crate::model::ImageStream],
    options: &crate::plan::Options,
) -> String {
    use sha2::Digest as _;
    let (config, policies, _) = ctx.load_settings();
    let mut hasher = sha2::Sha256::new();
    hasher.update(crate::plan::inputs_digest(desired.iter().copied(), options));
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(&config).unwrap_or_default());
    hasher.update(b"\n");
    // Policies are plain data (rules, patterns, numbers) whose Debug form is deterministic.
    hasher.update(format!("{policies:?}"));
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The registry client of one run, with what its progress bar and summary need.
pub struct Registry {
    /// The client: one per run, every pass sent as one `resolve_all`.
    pub client: crate::registry::RegistryClient,
    /// Resolutions finished so far (polled by the progress bar).
    pub done: Arc<AtomicU64>,
    /// When the run started asking (for the summary line).
    pub started: Instant,
    /// The cluster's integrated registry (`[cluster]`), which the state's streams point at.
    pub cluster: crate::model::Cluster,
}

/// The registry client every command uses: the one place that builds it. An auth file or CA
/// file that cannot be used is an error.
pub fn resolver(
    ctx: &Context,
    config: &crate::policy::Config,
    registry_config: Option<&Path>,
) -> Result<Registry> {
    let done = Arc::new(AtomicU64::new(0));
    let client = crate::registry::RegistryClient::new(&config.registry, &ctx.root, registry_config)
        .map_err(|e| {
            anyhow::Error::from(crate::error::Hinted::new(
                e.to_string(),
                "fix the file, or point --registry-config / [registry] in streamsync.toml \
                     at a usable one",
            ))
        })?
        .with_progress(Arc::clone(&done));
    Ok(Registry {
        client,
        done,
        started: Instant::now(),
        cluster: config.cluster.clone(),
    })
}

/// Print the diagnostics of definitions that do not validate (like `validate`) and say that
/// nothing was done; `Some(Failure)` when the command must stop.
pub fn refuse_invalid(
    loaded: &crate::definition::Loaded,
    printer: &Printer,
    what: &str,
) -> Option<ExitStatus> {
    if !loaded.has_errors() {
        return None;
    }
    // Problems are people-talk on stderr, exactly as `validate` prints them.
    printer.diagnostics(&crate::diagnostic::render_text(&loaded.diagnostics));
    printer.info(&format!(
        "error: {}; {what}",
        crate::diagnostic::summary(&loaded.diagnostics, loaded.files)
    ));
    Some(ExitStatus::Failure)
}
