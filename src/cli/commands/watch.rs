//! `watch`: print the plan, then re-validate and re-plan (offline) whenever the definitions,
//! the policies, the config, the manifests roll-outs read or the live state change. An invalid edit shows its errors; the watcher goes on.
//! Each round is `plan`'s own, roll-outs included: the manifests are read as they are then.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::{ExitStatus, Printer, WatchArgs};
use crate::ops::Workspace;
use crate::watch::{self, Event};

/// Run `watch` until Ctrl-C (exit 0).
pub fn run(ws: &Workspace, args: &WatchArgs, printer: &Printer) -> Result<ExitStatus> {
    let session = std::cell::RefCell::new(watch::session::Session::default());
    let show = |why: &str, changed: Option<&[std::path::PathBuf]>| {
        let started = Instant::now();
        let text = session.borrow_mut().round(ws, changed);
        let stamp = chrono::Local::now().format("%H:%M:%S");
        printer.out(&format!(
            "── {stamp} {why} ({} ms) ──\n{text}",
            started.elapsed().as_millis()
        ));
    };
    // The `[rollout]` settings decide which files are manifests; a broken config is shown
    // by the round, and meanwhile every YAML or JSON file counts.
    let rollout = || {
        ws.fresh()
            .load_config()
            .map(|c| c.rollout)
            .unwrap_or_default()
    };
    let sources = watch::Sources {
        root: &ws.root,
        config: &ws.config_path,
        state_dir: &ws.state_dir,
        rollout: &rollout,
    };
    watch::run(
        &sources,
        Duration::from_millis(args.debounce_ms),
        || show("plan", None),
        |event| match event {
            Event::Changed(paths) => {
                let names: Vec<String> = paths
                    .iter()
                    .map(|p| match p.as_os_str().is_empty() {
                        true => "everything (events were lost)".to_owned(),
                        false => p.display().to_string(),
                    })
                    .collect();
                show(&format!("changed {}", names.join(", ")), Some(&paths));
                true
            }
            Event::Stop => false,
        },
    )?;
    printer.info("watch stopped");
    Ok(ExitStatus::Success)
}
