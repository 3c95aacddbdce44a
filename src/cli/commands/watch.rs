//! `watch`: print the plan, then re-validate and re-plan (offline) whenever the definitions,
//! the policies or the config change. An invalid edit shows its errors; the watcher goes on.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, WatchArgs, report};
use crate::ops::{self, Workspace};
use crate::watch::{self, Event};

/// Run `watch` until Ctrl-C (exit 0).
pub fn run(ws: &Workspace, args: &WatchArgs, printer: &Printer) -> Result<ExitStatus> {
    let show = |why: &str| {
        let started = Instant::now();
        let text = replan(ws);
        let stamp = chrono::Local::now().format("%H:%M:%S");
        printer.out(&format!(
            "── {stamp} {why} ({} ms) ──\n{text}",
            started.elapsed().as_millis()
        ));
    };
    watch::run(
        &ws.root,
        &ws.config_path,
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

/// The text shown after each change: the errors, or the plan.
fn replan(ws: &Workspace) -> String {
    match ops::plan::offline(ws) {
        Ok(offline) => report::offline_text(&offline),
        Err(err) => format!("error: {err:#}\n"),
    }
}
