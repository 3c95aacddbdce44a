//! Integration tests through the built binary.

mod common;
mod prune;
mod validate;
mod watch;
