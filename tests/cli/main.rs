//! Integration tests through the built binary.

mod bad_input;
mod common;
mod ref_;
mod validate;
mod workflows;
