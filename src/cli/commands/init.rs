//! `init`: scaffold a repository or adopt a cluster's streams ([`crate::ops::init`]), and say
//! what was written, what was kept, and what to run next.

use std::io::Read as _;

use anyhow::{Context as _, Result};

use crate::cli::{ExitStatus, InitArgs, Printer};
use crate::ops::{self, Workspace};

/// Run `init`.
pub fn run(ws: &Workspace, args: &InitArgs, printer: &Printer) -> Result<ExitStatus> {
    let from = match &args.from {
        None => None,
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the export from standard input")?;
            Some(("<stdin>".to_owned(), text))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Some((path.display().to_string(), text))
        }
    };
    let adopting = from.is_some();
    let options = ops::init::Options {
        namespace: args.namespace.clone(),
        owner: args.action_owner.clone(),
        from,
    };
    let report = ops::init::run(ws, &options)?;
    if !report.conflicts.is_empty() {
        printer.error(
            &crate::error::Hinted::new(
                format!(
                    "these streams already have definitions, so nothing was adopted: {}",
                    report.conflicts.join(", ")
                ),
                "remove those streams from the export (or their definitions) and run `streamsync init --from` again",
            )
            .into(),
        );
        return Ok(ExitStatus::Failure);
    }
    for path in &report.created {
        printer.info(&format!("created {path}"));
    }
    for line in &report.gitignore_added {
        printer.info(&format!("added `{line}` to .gitignore"));
    }
    if let Some(state) = &report.state_seeded {
        for (stream, items) in &report.adopted {
            printer.info(&format!(
                "adopted {stream} ({items} history {})",
                if *items == 1 { "item" } else { "items" }
            ));
        }
        printer.info(&format!(
            "seeded the live state in {state}/ from the streams' status; `streamsync plan` should say \"No changes\""
        ));
    }
    if report.failed() {
        printer.error(
            &crate::error::Hinted::new(
                format!(
                    "already initialised: {} exist; nothing was changed",
                    report.kept.join(", ")
                ),
                "init never overwrites a file; remove the files to start them again",
            )
            .into(),
        );
        return Ok(ExitStatus::Failure);
    }
    for path in &report.kept {
        printer.info(&format!("kept {path} (it exists)"));
    }
    if !adopting {
        printer.info("next: streamsync validate && streamsync plan");
    }
    Ok(ExitStatus::Success)
}
