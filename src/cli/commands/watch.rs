//! `watch`: print the plan, then re-validate and re-plan (offline) whenever the definitions,
//! the policies, the config, the manifests roll-outs read or the live state change. An invalid edit shows its errors; the watcher goes on.
//! Each round is `plan`'s own, roll-outs included: the manifests are read as they are then.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, WatchArgs};
use crate::ops::{self, Run, Workspace};
use crate::watch::{self, Event};

/// Run `watch` until Ctrl-C (exit 0).
pub fn run(ws: &Workspace, args: &WatchArgs, printer: &Printer) -> Result<ExitStatus> {
    let cache = std::cell::RefCell::new(watch::cache::Cache::default());
    let show = |why: &str| {
        let started = Instant::now();
        let text = replan(ws, &mut cache.borrow_mut());
        let stamp = chrono::Local::now().format("%H:%M:%S");
        printer.out(&format!(
            "── {stamp} {why} ({} ms) ──\n{text}",
            started.elapsed().as_millis()
        ));
    };
    // The `[rollout]` settings decide which files are manifests; a broken config is shown
    // by the round, and meanwhile every YAML or JSON file counts.
    let rollout = || ws.load_config().map(|c| c.rollout).unwrap_or_default();
    let sources = watch::Sources {
        root: &ws.root,
        config: &ws.config_path,
        state_dir: &ws.state_dir,
        rollout: &rollout,
    };
    watch::run(
        &sources,
        Duration::from_millis(args.debounce_ms),
        || show("plan"),
        |event| match event {
            Event::Changed(paths) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                show(&format!("changed {}", names.join(", ")));
                true
            }
            Event::Stop => false,
        },
    )?;
    printer.info("watch stopped");
    Ok(ExitStatus::Success)
}

/// The text shown after each change: the errors, or the plan (with the manifests that
/// could not be read, which stop nothing else).
fn replan(ws: &Workspace, cache: &mut watch::cache::Cache) -> String {
    // Each round reads the config and policies once, afresh; definitions come from the cache.
    let ws = &ws.fresh();
    let options = ops::plan::Options::default();
    let planned = cache
        .load(ws)
        .and_then(|loaded| ops::plan::run_loaded(ws, loaded, &options));
    let manifest_problems = planned
        .as_ref()
        .map_or(Vec::new(), |r| r.manifest_problems().to_vec());
    let mut text = match planned {
        Ok(Run::Done(done)) => crate::plan::render::text(&done.planned.plan, false),
        Ok(Run::Invalid(invalid)) => crate::diagnostic::render_text(&invalid.diagnostics),
        Err(err) => format!("error: {err:#}\n"),
    };
    text.push_str(&crate::diagnostic::render_text(&manifest_problems));
    text
}
