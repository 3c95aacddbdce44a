//! Integration tests through the built binary.

#![allow(clippy::print_stdout, clippy::print_stderr)] // diagnostics for a failing test
#![allow(unsafe_code)] // signals sent to the children a test started

#[path = "../support/mod.rs"]
mod support;

mod apply;
mod bad_input;
mod browser;
mod catalog;
mod circles;
mod common;
mod get;
mod hardening;
mod hardening22;
mod init;
mod memos;
mod opens;
mod plan;
mod prune;
mod readme;
mod ref_;
mod rollout;
mod scenarios;
mod sizes;
mod tag;
mod trust;
mod validate;
mod watch;
mod watch_rounds;
mod workflows;
