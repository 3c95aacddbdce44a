//! Integration tests through the built binary.

mod apply;
mod bad_input;
mod browser;
mod catalog;
mod common;
mod get;
mod hardening;
mod hardening22;
mod memos;
mod plan;
mod prune;
mod ref_;
mod rollout;
mod scenarios;
mod tag;
mod validate;
mod watch;
mod workflows;
