//! `prune`: recommend stale dated tags and history to remove, each with its reason, through
//! [`crate::ops::prune`]; `--write` shows the edit that removes the candidate tags.

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, PruneArgs, ReportFormat, report};
use crate::ops::{self, Run, Workspace};
use crate::prune::render;

/// Run `prune`.
pub fn run(ws: &Workspace, args: &PruneArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::prune::Options {
        rev: args.rev.rev.clone(),
        write: args.write,
        dry_run: args.dry_run,
    };
    let done = match ops::prune::run(ws, &options)? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Err(report::invalid_error(
                &invalid,
                printer,
                "cannot recommend pruning",
            ));
        }
    };
    for note in &done.notes {
        printer.warn(note);
    }
    if let Some(removed) = &done.written {
        if removed.tags == 0 {
            printer.info("no tag to remove: the definitions stay as they are");
            return Ok(ExitStatus::Success);
        }
        report::edited(&removed.edited, printer);
        for m in &removed.edited.messages {
            printer.info(m);
        }
        report::implied(&removed.edited, printer);
        return Ok(ExitStatus::Success);
    }
    let options = render::Options {
        explain: args.explain,
        keep_tag_revisions: done.keep_tag_revisions,
        keep_younger_than: done.keep_younger_than.clone(),
    };
    let recommendations = &done.recommendations;
    printer.out(&match args.format {
        ReportFormat::Text => render::text(recommendations, &options),
        ReportFormat::Markdown => render::markdown(recommendations, &options),
        ReportFormat::Json => render::json(recommendations),
    });
    Ok(
        if args.detailed_exitcode && !recommendations.candidates.is_empty() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        },
    )
}
