//! `sync`: the scheduled job. One pass is an apply plus a re-import of every scheduled tag and
//! of the tags of every stream's `spec.dockerImageRepository`, sent to the registries as one
//! batch under the state lock; `--commit` then commits the state folder. Without `--once` it
//! repeats every `--interval` and stops on SIGINT/SIGTERM once the pass in flight is done.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use super::apply::{REPOSITORY_CAP, execute, finish, lock, repositories_due, repository_changes};
use crate::apply::Outcome;
use crate::cli::commands::{load_definitions, refuse_invalid, resolver};
use crate::cli::settings::parse_duration;
use crate::cli::{Context, ExitStatus, Printer, SyncArgs};
use crate::model::ImageStream;
use crate::plan::{Action, Options};
use crate::reconcile::{self, ApplyReport};
use crate::state::commit::{self, FailureLine, ImportLine};
use crate::state::dir::DirState;

/// Run `sync`.
pub fn run(ctx: &Context, args: &SyncArgs, printer: &Printer) -> Result<ExitStatus> {
    let interval = parse_duration(&args.interval)?;
    let timeout = parse_duration(&args.lock_timeout)?;
    if let Some(author) = &args.author {
        commit::parse_author(author)?;
    }
    if args.once {
        return pass(ctx, args, timeout, printer);
    }
    if interval.is_zero() {
        bail!("--interval must be longer than 0s");
    }
    let stop = stop_signal()?;
    loop {
        let status = match pass(ctx, args, timeout, printer) {
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

/// One scheduled pass.
fn pass(
    ctx: &Context,
    args: &SyncArgs,
    timeout: Duration,
    printer: &Printer,
) -> Result<ExitStatus> {
    let config = ctx.load_config().unwrap_or_default();
    let registry = resolver(ctx, &config, args.registry_config.as_deref())?;
    let now = ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let loaded = load_definitions(ctx, &args.rev)?;
    if let Some(status) = refuse_invalid(&loaded, printer, "nothing was synced") {
        return Ok(status);
    }
    let options = Options {
        prune: config.apply.prune_streams,
    };
    let state = DirState::open(&ctx.state_dir)?;
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    let _guard = lock(&state, timeout)?;
    let planned = reconcile::plan(&desired, &state, &options, None)?;
    let live = &planned.snapshot.streams;
    let mut changes = planned.plan.changes.clone();
    let errors = planned.plan.errors.clone();
    let scheduled = reconcile::scheduled_imports(&desired, live, &changes);
    changes.extend(scheduled);
    let due = repositories_due(&desired, &changes, live);
    let mut repos = repository_changes(&due, live, &registry, REPOSITORY_CAP);
    changes.append(&mut repos.changes);
    let report = execute(
        &state,
        &planned.snapshot,
        &changes,
        &registry,
        &now,
        printer,
    )?;
    let status = finish(&report, &errors, &repos, &registry, args.format, printer);
    // Also when this pass wrote nothing: a state an earlier pass could not commit (a locked
    // index) is committed now.
    if args.commit {
        let message = commit_message(&report);
        let oid = commit::commit_state(&ctx.state_dir, args.author.as_deref(), &message)?;
        if let Some(oid) = oid {
            let subject = message.lines().next().unwrap_or_default();
            let id = oid.to_string();
            printer.info(&format!("committed {}: {subject}", &id[..id.len().min(12)]));
        }
    }
    Ok(status)
}

/// The commit message of a pass: every import that moved a tag, every failure, and the
/// other changes.
fn commit_message(report: &ApplyReport) -> String {
    let mut imports = Vec::new();
    let mut failures = Vec::new();
    let mut other = Vec::new();
    for r in &report.applied.results {
        let c = &r.change;
        let stream = format!("{}/{}", c.namespace, c.stream);
        let tag = c.tag.clone().unwrap_or_default();
        match (&r.outcome, c.action) {
            (Outcome::Done, Action::Import) => {
                let previous = c
                    .before
                    .as_ref()
                    .and_then(|b| b.get("image"))
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let digest = r.detail.clone().unwrap_or_default();
                if previous.as_deref() != Some(digest.as_str()) {
                    imports.push(ImportLine {
                        stream,
                        tag,
                        digest,
                        previous,
                    });
                }
            }
            (Outcome::Failed { message, .. }, Action::Import) => {
                let (reason, text) = message
                    .split_once(": ")
                    .unwrap_or(("Failed", message.as_str()));
                failures.push(FailureLine {
                    stream,
                    tag,
                    reason: reason.to_owned(),
                    message: text.to_owned(),
                });
            }
            (Outcome::Done, action) => {
                other.push(format!(
                    "{} {}",
                    action.as_str().replace('_', " "),
                    c.target()
                ));
            }
            (Outcome::Failed { message, .. }, action) => failures.push(FailureLine {
                stream,
                tag: format!("{} ({})", tag, action.as_str()),
                reason: "Failed".to_owned(),
                message: message.clone(),
            }),
        }
    }
    commit::commit_message(&imports, &failures, &other)
}
