//! One file per command: `run(ctx, args, printer) -> Result<ExitStatus>`.

mod apply;
mod catalog;
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
        Command::Catalog(args) => catalog::run(&ctx, args, printer),
        Command::Watch(args) => watch::run(&ctx, args, printer),
        Command::Ref(_) | Command::Completions(_) => unreachable!("handled above"),
    }
}

/// Load config, policies and definitions (working tree or `--rev`) with every diagnostic.
pub fn load_definitions(ctx: &Context, rev: &super::RevArgs) -> Result<crate::definition::Loaded> {
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

/// The registry client of one run, with what its progress bar and summary need.
pub struct Registry {
    /// The client: one per run, every pass sent as one `resolve_all`.
    pub client: crate::registry::RegistryClient,
    /// Resolutions finished so far (polled by the progress bar).
    pub done: Arc<AtomicU64>,
    /// When the run started asking (for the summary line).
    pub started: Instant,
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
