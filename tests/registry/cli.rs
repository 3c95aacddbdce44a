//! Running the built binary from the registry tests: thin names over the shared
//! `tests/support` module (hermetic environment: no colour, no log filter, no credentials of
//! the machine, a fixed "now").

#![allow(unused_imports)]

use std::path::Path;

pub use crate::support::{NOW, Output as Out, TestCommand, bin};

/// Run `args` in the repository at `root` at time `now`.
pub fn run_at(root: &Path, now: &str, args: &[&str]) -> Out {
    crate::support::run_at(root, now, args)
}

/// Run `args` in the repository at `root` at [`NOW`].
pub fn run(root: &Path, args: &[&str]) -> Out {
    run_at(root, NOW, args)
}
