//! The operations: one module per use case — [`validate`], [`plan`], [`apply`], a [`sync`]
//! pass, [`import`], [`tag`] edits, [`prune`], the [`catalog`] page — each a function that takes a [`Workspace`] and
//! typed options and returns a typed report of what it planned, applied, imported, wrote or
//! committed. Locking, definition loading, registry setup, repository imports, commit
//! messages and the plan an edit implies live here, once, so a command, a test or a program
//! embedding streamsync runs the same work. [`rollout`] rolls the repository's manifests
//! to what their image-change triggers name, alone or after an import. [`get`] only reads
//! the live state, as `oc get` and `oc describe` do.
//!
//! Nothing here parses a command line or writes to a terminal: reports are values, and
//! whoever calls shows them. Long work reports progress through [`Progress`], which a caller
//! may implement (the command line draws a bar) or leave at [`NoProgress`].

pub mod apply;
pub mod catalog;
pub mod edits;
pub mod get;
pub mod import;
pub mod init;
pub mod mirror;
pub mod plan;
pub mod prune;
pub mod rollout;
pub mod sync;
pub mod tag;
pub mod validate;
mod workspace;

pub use workspace::{Registry, Triggers, Workspace, lock};

use crate::diagnostic::Diagnostic;

/// What an operation that needs valid definitions did.
#[derive(Debug)]
pub enum Run<T> {
    /// It ran.
    Done(T),
    /// The definitions (or policies, or config) do not validate: nothing was done.
    Invalid(Invalid),
}

/// Definitions that do not validate, with every diagnostic.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Every diagnostic, errors and the rest, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// How many definition files were read.
    pub files: usize,
    /// The manifests' problems the trigger check found, when it ran (see [`Triggers`]).
    pub manifest_problems: Vec<Diagnostic>,
}

impl Invalid {
    /// The config (or a policy) cannot be read: its located diagnostics, before anything is
    /// planned or applied, so a parse error is never replaced by defaults.
    pub fn of_settings(ws: &Workspace) -> Invalid {
        let diagnostics = ws.settings().diagnostics.clone();
        let files = diagnostics
            .iter()
            .map(|d| d.file.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Invalid {
            diagnostics,
            files,
            manifest_problems: Vec::new(),
        }
    }

    /// `Some` when `loaded` has errors.
    pub fn of(loaded: &crate::definition::Loaded) -> Option<Invalid> {
        loaded.has_errors().then(|| Invalid {
            diagnostics: loaded.diagnostics.clone(),
            files: loaded.files,
            manifest_problems: Vec::new(),
        })
    }

    /// `Some` when `loaded` has errors, with the manifests' problems `triggers` found.
    pub fn checked(loaded: &crate::definition::Loaded, triggers: &Triggers) -> Option<Invalid> {
        Invalid::of(loaded).map(|invalid| Invalid {
            manifest_problems: triggers.problems.clone(),
            ..invalid
        })
    }
}

/// Told about long work while it runs.
pub trait Progress {
    /// `total` imports are about to run through `registry`; `run` does them. An
    /// implementation calls `run` exactly once, and may watch `registry.done` meanwhile.
    fn imports(&self, total: u64, registry: &Registry, run: &mut dyn FnMut());
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn imports(&self, _total: u64, _registry: &Registry, run: &mut dyn FnMut()) {
        run();
    }
}

#[cfg(test)]
mod tests;
