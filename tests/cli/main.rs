//! Integration tests through the built binary.

mod common;
mod validate;
mod watch;
