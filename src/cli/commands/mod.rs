//! One file per command: `run(ws, args, printer) -> Result<ExitStatus>` maps the command's
//! arguments to the options of one operation in [`crate::ops`], calls it, hands its report to
//! the printer and picks the exit status. A command never calls another command; what two
//! commands share lives in the operations or in [`crate::cli::report`].

mod apply;
mod catalog;
mod completions;
mod get;
mod import;
mod init;
mod mirror;
mod plan;
mod prune;
mod ref_;
mod rollout;
mod sync;
mod tag;
mod validate;
mod watch;

use anyhow::Result;

use super::{Cli, Command, ExitStatus, Printer, settings};

/// Run the command the user asked for.
pub fn run(cli: Cli, printer: &Printer) -> Result<ExitStatus> {
    // Commands that need no repository.
    match &cli.command {
        Command::Ref(args) => return ref_::run(args, printer),
        Command::Completions(args) => return completions::run(args, printer),
        _ => {}
    }
    if let Command::Init(args) = &cli.command {
        // The repository starts here (or at -C), not at a folder found upward.
        let mut global = cli.global.clone();
        if global.repo.is_none() {
            global.repo = Some(std::path::PathBuf::from("."));
        }
        let ws = settings::workspace(&global)?;
        return init::run(&ws, args, printer);
    }
    let ws = settings::workspace(&cli.global)?;
    dispatch(&cli, &ws, printer)
}

fn dispatch(cli: &Cli, ws: &crate::ops::Workspace, printer: &Printer) -> Result<ExitStatus> {
    match &cli.command {
        Command::Validate(args) => validate::run(ws, args, printer),
        Command::Plan(args) => plan::run(ws, args, printer),
        Command::Apply(args) => apply::run(ws, args, printer),
        Command::Sync(args) => sync::run(ws, args, printer),
        Command::Import(args) => import::run(ws, args, printer),
        Command::Tag(args) => tag::run(ws, args, printer),
        Command::Get(args) => get::run(ws, args, printer),
        Command::Prune(args) => prune::run(ws, args, printer),
        Command::Rollout(args) => rollout::run(ws, args, printer),
        Command::Catalog(args) => catalog::run(ws, args, printer),
        Command::Mirror(args) => mirror::run(ws, args, printer),
        Command::Watch(args) => watch::run(ws, args, printer),
        Command::Init(args) => init::run(ws, args, printer),
        Command::Ref(args) => ref_::run(args, printer),
        Command::Completions(args) => completions::run(args, printer),
    }
}
