//! Integration tests through the built binary.

mod apply;
mod common;
mod get;
mod plan;
mod prune;
mod scenarios;
mod tag;
mod validate;
mod watch;
