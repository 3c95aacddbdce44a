//! `sync`: the scheduled job. One pass ([`crate::ops::sync`]) is an apply plus a re-import of
//! every scheduled tag and of the tags of every stream's `spec.dockerImageRepository`, sent to
//! the registries as one batch under the state lock; `--commit` then commits the state
//! folder (and, in pull-request mode, the roll-outs to their branch). Without `--once` it
//! repeats every `--interval` and stops on SIGINT/SIGTERM once the pass in flight is done.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::cli::progress::Bar;
use crate::cli::settings::parse_duration;
use crate::cli::{ExitStatus, Printer, SyncArgs, report};
use crate::ops::{self, Run, Workspace};
use crate::state::commit;

/// Run `sync`.
pub fn run(ws: &Workspace, args: &SyncArgs, printer: &Printer) -> Result<ExitStatus> {
    let interval = parse_duration(&args.interval)?;
    let timeout = parse_duration(&args.lock_timeout)?;
    if let Some(author) = &args.author {
        commit::parse_author(author)?;
    }
    if args.once {
        return pass(ws, args, timeout, printer);
    }
    if interval.is_zero() {
        bail!("--interval must be longer than 0s");
    }
    let stop = stop_signal()?;
    loop {
        // Each pass reads its inputs once, afresh.
        let ws = &ws.fresh();
        let status = match pass(ws, args, timeout, printer) {
            Ok(status) => status,
            Err(e) => {
                // One bad pass (a held lock, an unreadable file) does not end the loop.
                printer.error(&e);
                ExitStatus::Failure
            }
        };
        match stop.recv_timeout(interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                printer.info("sync stopped");
                return Ok(status);
            }
        }
    }
}

/// A channel that receives once SIGINT or SIGTERM arrives. The handlers are installed before
/// this returns, so a signal during the first pass is not lost; a signal during a pass is
/// seen when the pass is done.
fn stop_signal() -> Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal handler")?;
    let (mut int, mut term) = {
        let _enter = runtime.enter();
        (
            signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        )
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        });
        let _ = tx.send(());
    });
    Ok(rx)
}

/// One scheduled pass, shown.
fn pass(
    ws: &Workspace,
    args: &SyncArgs,
    timeout: Duration,
    printer: &Printer,
) -> Result<ExitStatus> {
    let options = ops::sync::Options {
        rev: args.rev.rev.clone(),
        lock_timeout: timeout,
        registry_config: args.registry_config.clone(),
        commit: args.commit,
        author: args.author.clone(),
    };
    let done = match ops::sync::pass(ws, &options, &Bar::new(printer))? {
        Run::Done(done) => done,
        Run::Invalid(invalid) => {
            return Ok(report::refused(&invalid, printer, "nothing was synced"));
        }
    };
    let status = report::synced(
        &done.applied,
        done.rollout_branch.as_ref(),
        args.format,
        printer,
    );
    let mut status = status;
    if let Some(m) = &done.mirror {
        // The pass's JSON document stays alone on stdout; the mirror's lines join it in text.
        if args.format != crate::cli::ReportFormat::Json && !printer.is_quiet() {
            printer.out(&crate::mirror::render::lines(&m.images, false));
        }
        printer.info(&crate::mirror::render::summary_line(
            &crate::mirror::render::summary(&m.images),
            &m.mirror,
            false,
        ));
        if m.incomplete() && status == ExitStatus::Success {
            status = ExitStatus::Incomplete;
        }
    }
    if let Some(e) = done.mirror_error {
        printer.error(&e);
        status = ExitStatus::Failure;
    }
    // The manifests' problems are reported with the pass that met them.
    let problems = &done.applied.manifest_problems;
    if let Some(e) = done.commit_error {
        report::manifest_problems(problems, printer, status);
        return Err(e);
    }
    if let Some(c) = &done.committed {
        printer.info(&format!(
            "committed {}: {}",
            &c.id[..c.id.len().min(12)],
            c.subject
        ));
    }
    if let Some(b) = &done.rollout_branch {
        let short = |id: &str| id[..id.len().min(12)].to_owned();
        let n = done
            .applied
            .rolled
            .as_ref()
            .map_or(0, |r| r.plan.rollouts.len());
        let what = format!("{n} {}", if n == 1 { "roll-out" } else { "roll-outs" });
        printer.info(&if b.updated {
            format!(
                "committed {what} to branch {} as {} on top of {} (the working tree is not rolled)",
                b.branch,
                short(&b.commit),
                short(&b.parent)
            )
        } else {
            format!(
                "branch {} already holds the {what} due, on top of {}",
                b.branch,
                short(&b.parent)
            )
        });
    }
    Ok(report::manifest_problems(problems, printer, status))
}
