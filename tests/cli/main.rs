//! Integration tests through the built binary.

mod common;
mod tag;
mod validate;
