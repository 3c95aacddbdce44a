//! One scheduled `sync` pass through the library alone: a [`Workspace`] made from explicit
//! values, [`ops::sync::pass`], and the typed report turned into a few lines here, with no
//! part of streamsync's command line. An embedding program (a controller, a GitHub App) does
//! the same.
//!
//! ```text
//! cargo run --example sync_pass -- REPO [NOW]
//! ```
//!
//! `REPO` is the repository root (its `streamsync.toml`, `definitions/`, `state/`); `NOW`
//! (RFC 3339) fixes the time the imports record. Exit 0 when every change was done.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::process::ExitCode;

use streamsync::apply::Outcome;
use streamsync::ops::{self, NoProgress, Run, Workspace};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (code, text) = run(&args);
    print!("{text}");
    ExitCode::from(code)
}

/// Run one pass for `args` (`REPO [NOW]`): the exit code and what to print.
pub fn run(args: &[String]) -> (u8, String) {
    let Some(root) = args.first() else {
        return (1, "usage: sync_pass REPO [NOW]\n".to_owned());
    };
    let mut ws = Workspace::new(root);
    if let Some(now) = args.get(1) {
        match chrono::DateTime::parse_from_rfc3339(now) {
            Ok(now) => ws = ws.with_now(now.with_timezone(&chrono::Utc)),
            Err(e) => return (1, format!("error: NOW `{now}`: {e}\n")),
        }
    }
    let report = match ops::sync::pass(&ws, &ops::sync::Options::default(), &NoProgress) {
        Ok(Run::Done(report)) => report,
        Ok(Run::Invalid(invalid)) => {
            let errors = invalid.diagnostics.iter().filter(|d| d.is_error()).count();
            return (1, format!("error: the definitions have {errors} errors\n"));
        }
        Err(e) => return (1, format!("error: {e:#}\n")),
    };
    let applied = &report.applied;
    let mut text = String::new();
    for r in &applied.report.applied.results {
        let action = r.change.action.as_str();
        let target = r.change.target();
        let _ = match &r.outcome {
            Outcome::Done => writeln!(
                text,
                "{action} {target}: done{}",
                r.detail
                    .as_deref()
                    .map(|d| format!(" -> {d}"))
                    .unwrap_or_default()
            ),
            Outcome::Failed { message, .. } => {
                writeln!(text, "{action} {target}: failed: {message}")
            }
        };
    }
    for e in applied.all_errors() {
        let _ = writeln!(
            text,
            "{}/{}: not planned: {}",
            e.namespace, e.stream, e.message
        );
    }
    let _ = writeln!(text, "serial {}", applied.report.serial);
    let code = if applied.failed() {
        1
    } else if applied.incomplete() {
        3
    } else {
        0
    };
    (code, text)
}
