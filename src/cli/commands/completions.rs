//! `completions SHELL`.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ExitStatus, Printer};

/// Print the completion script for the shell.
pub fn run(args: &CompletionsArgs, printer: &Printer) -> Result<ExitStatus> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "streamsync", &mut buf);
    printer.out_raw(&String::from_utf8_lossy(&buf));
    Ok(ExitStatus::Success)
}
