//! Prune recommendations: stale dated tags and history beyond the kept revisions, each with
//! its reason. Recommends only; never changes a file or the state.

pub mod dates;
pub mod triggers;
