//! Integration tests through the built binary.

mod apply;
mod common;
mod get;
mod plan;
mod scenarios;
mod validate;
