//! `completions SHELL`: the completion script, without the hidden flags (test hooks such as
//! `--now`), which clap's generators would otherwise offer.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ExitStatus, Printer};

/// Print the completion script for the shell.
pub fn run(args: &CompletionsArgs, printer: &Printer) -> Result<ExitStatus> {
    let mut buf = Vec::new();
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "streamsync", &mut buf);
    let mut hidden = Vec::new();
    hidden_flags(&Cli::command(), &mut hidden);
    let script = without_flags(&String::from_utf8_lossy(&buf), &hidden);
    printer.out_raw(&script);
    Ok(ExitStatus::Success)
}

/// The long names of every hidden flag of `cmd` and its subcommands.
fn hidden_flags(cmd: &clap::Command, out: &mut Vec<String>) {
    for arg in cmd.get_arguments().filter(|a| a.is_hide_set()) {
        if let Some(long) = arg.get_long()
            && !out.iter().any(|l| l == long)
        {
            out.push(long.to_owned());
        }
    }
    for sub in cmd.get_subcommands() {
        hidden_flags(sub, out);
    }
}

/// `script` with every mention of the `hidden` flags removed, in the forms the generators
/// write: bash's option lists and `--flag)` branches, zsh's `'--flag=[…]` specs, fish's
/// `-l flag` lines and argparse specs, elvish's `cand --flag` and PowerShell's
/// `CompletionResult`s.
fn without_flags(script: &str, hidden: &[String]) -> String {
    let mut out = String::with_capacity(script.len());
    let mut skipping_branch = false;
    for line in script.split_inclusive('\n') {
        let trimmed = line.trim();
        if skipping_branch {
            if trimmed == ";;" {
                skipping_branch = false;
            }
            continue;
        }
        let mut keep = line.to_owned();
        let mut drop = false;
        for flag in hidden {
            let dashed = format!("--{flag}");
            if trimmed == format!("{dashed})") {
                skipping_branch = true;
                drop = true;
            } else if trimmed.starts_with(&format!("'{dashed}="))
                || trimmed.starts_with(&format!("'{dashed}["))
                || trimmed.starts_with(&format!("cand {dashed} "))
                || trimmed.contains(&format!("::new('{dashed}'"))
                || (trimmed.starts_with("complete -c ")
                    && trimmed.contains(&format!(" -l {flag} ")))
            {
                drop = true;
            } else {
                // Option lists: bash's `opts="… --now …"`, fish's `string join … now= …`.
                for word in [format!(" {dashed}"), format!(" {flag}=")] {
                    while let Some(i) = keep.find(&word) {
                        let end = i + word.len();
                        let boundary = keep[end..]
                            .chars()
                            .next()
                            .is_none_or(|c| c == ' ' || c == '"' || c == '\n');
                        if !boundary {
                            break;
                        }
                        keep.replace_range(i..end, "");
                    }
                }
            }
        }
        if !drop {
            out.push_str(&keep);
        }
    }
    out
}
