//! `mirror`: copy the streams' images through [`crate::ops::mirror`] and show what was
//! copied, mounted, skipped and failed, with requests per registry. Exit 3 when an image
//! failed.

use anyhow::Result;

use crate::cli::{ExitStatus, MirrorArgs, MirrorFormat, Printer, report};
use crate::mirror::render;
use crate::ops::{self, Run, Workspace};

/// Run `mirror`.
pub fn run(ws: &Workspace, args: &MirrorArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::mirror::Options {
        dry_run: args.dry_run,
        verify: args.verify,
        registry_config: args.registry_config.clone(),
        timing: None,
    };
    let done = match ops::mirror::run(ws, &options)? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Ok(report::refused(&invalid, printer, "nothing was mirrored"));
        }
    };
    show(ws, &done, args.format, printer);
    Ok(if done.incomplete() {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Success
    })
}

/// A mirror report in `format` (`sync` shows its mirror pass with it too).
pub fn show(ws: &Workspace, done: &ops::mirror::Report, format: MirrorFormat, printer: &Printer) {
    let sets = done
        .sets
        .as_ref()
        .map(|s| (ws.display_path(&s.path), s.written));
    match format {
        MirrorFormat::Json => printer.out(&render::json(
            &done.images,
            &done.requests,
            &done.mirror,
            done.dry_run,
            sets.as_ref().map(|(p, w)| (p.as_str(), *w)),
        )),
        MirrorFormat::Text => {
            if !printer.is_quiet() {
                printer.out(&render::lines(&done.images, done.dry_run));
            }
            printer.info(&render::requests(&done.requests));
            printer.info(&render::summary_line(
                &render::summary(&done.images),
                &done.mirror,
                done.dry_run,
            ));
            if let Some((path, written)) = &sets {
                printer.info(&if *written {
                    format!("Wrote the mirror sets to {path}.")
                } else {
                    format!("The mirror sets in {path} are up to date.")
                });
            }
        }
    }
}
