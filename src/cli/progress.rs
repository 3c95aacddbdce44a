//! The progress bar of imports on a terminal: a scoped thread polls the registry client's
//! counters while the imports run on the calling thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::ops::{Progress, Registry};
use crate::registry::Resolver as _;

use super::Printer;

/// Draws a bar on stderr when it is a terminal and `-q` is off.
pub struct Bar<'a> {
    printer: &'a Printer,
}

impl<'a> Bar<'a> {
    /// A bar for this printer's terminal.
    pub fn new(printer: &'a Printer) -> Self {
        Bar { printer }
    }
}

impl Progress for Bar<'_> {
    fn imports(&self, total: u64, registry: &Registry, run: &mut dyn FnMut()) {
        let show = total > 0 && self.printer.stderr_is_terminal() && !self.printer.is_quiet();
        if !show {
            run();
            return;
        }
        let start = registry.done.load(Ordering::Relaxed);
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tags {elapsed}  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let stop = AtomicBool::new(false);
        // A scoped thread polls the counters, so it can read the client's per-registry
        // request counts while this thread resolves through it.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    pb.set_position(registry.done.load(Ordering::Relaxed).saturating_sub(start));
                    let per_host: Vec<String> = registry
                        .client
                        .request_counts()
                        .iter()
                        .map(|(host, c)| format!("{host} {}", c.head + c.get))
                        .collect();
                    pb.set_message(crate::util::escape_line(&per_host.join(" · ")).into_owned());
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
            run();
            stop.store(true, Ordering::Relaxed);
        });
        pb.finish_and_clear();
    }
}
