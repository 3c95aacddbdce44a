//! `tag`: `oc tag` done the GitOps way, through [`crate::ops::tag`]: shows the diff of the
//! definition files, what was set, any re-import requested, and the plan the edit implies.

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, TagArgs, report};
use crate::ops::{self, Workspace};

/// Run `tag`.
pub fn run(ws: &Workspace, args: &TagArgs, printer: &Printer) -> Result<ExitStatus> {
    let options = ops::tag::Options {
        args: args.args.clone(),
        delete: args.delete,
        source: args.source.clone(),
        alias: args.alias,
        reference: args.reference,
        reference_policy: args.reference_policy.clone(),
        scheduled: args.scheduled,
        insecure: args.insecure,
        import_mode: args.import_mode.clone(),
        dry_run: args.dry_run,
    };
    let done = ops::tag::run(ws, &options)?;
    let edited = &done.edited;
    report::edited(edited, printer);
    if !edited.dry_run {
        for m in &edited.messages {
            printer.info(m);
        }
    }
    if let Some(e) = done.reimport_error {
        return Err(e);
    }
    if !done.reimports.is_empty() {
        let list = done.reimports.join(", ");
        printer.info(&if edited.dry_run {
            format!("would request a re-import of {list}")
        } else {
            format!("Requested a re-import of {list}: the next apply or sync imports it again.")
        });
    }
    report::implied(edited, printer);
    Ok(ExitStatus::Success)
}
