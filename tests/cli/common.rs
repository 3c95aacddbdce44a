//! Test helpers for the CLI tests: thin names over the shared `tests/support` module (one way
//! to run the binary, hermetic environment, builders, snapshot settings).

#![allow(dead_code, unused_imports)]

use std::path::Path;

pub use crate::support::{
    Output, Stream, Tag, TestRepo, bin, commit_all, crate_path, insta_settings, stream,
};

/// Run streamsync with `-C root` and `args` at the fixed test "now".
pub fn run_in(root: &Path, args: &[&str]) -> Output {
    crate::support::run_at(root, crate::support::NOW, args)
}
