//! streamsync: a GitOps reconciler for OpenShift ImageStream definitions.
//!
//! Definitions (YAML in Git) are read by [`definition`], compared with the live state
//! ([`state`]) by the pure [`plan`] module, and applied by [`apply`], which imports tags through
//! [`registry`]. [`reconcile`] is the one place where those modules meet. [`ops`] holds the
//! use cases (validate, plan, apply, a sync pass, import, tag, get, prune) as functions of a
//! [`ops::Workspace`] and typed options returning typed reports; [`cli`] maps arguments to
//! them and is the only module that talks to the terminal.

pub mod apply;
pub mod catalog;
pub mod cli;
pub mod definition;
pub mod diagnostic;
pub mod edit;
pub mod error;
pub mod get;
pub mod init;
pub mod mirror;
pub mod model;
pub mod ops;
pub mod plan;
pub mod policy;
pub mod prune;
pub mod reconcile;
pub mod registry;
pub mod repo;
pub mod rollout;
pub mod state;
pub mod util;
pub mod watch;
