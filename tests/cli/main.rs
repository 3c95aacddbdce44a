//! Integration tests through the built binary.

mod common;
mod prune;
mod tag;
mod validate;
mod watch;
