//! `[prune]` of the policy files: thresholds for stale dated tags and history, protected
//! globs, extra date patterns and per-stream overrides (`[[prune.stream]]`). Checks and
//! compiles the rules; deciding what to prune belongs to the `prune` module.

use std::time::Duration;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{Diagnostic, line_col};
use crate::model::StreamKey;
use crate::model::dates::{self, Recognizer};

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
    /// Extra date forms: regexes with named groups `year`, `month` and optionally `day`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date_patterns: Vec<String>,
    /// Per-stream overrides, `[[prune.stream]]`; the first whose `match` fits a stream wins.
    #[serde(default, rename = "stream", skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamOverride>,
}

/// One `[[prune.stream]]`: settings for the streams whose `namespace/name` matches a glob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOverride {
    /// Glob on `namespace/name`, e.g. `openshift/*`.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Replaces `max_age_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// Replaces `keep_per_series`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_per_series: Option<u32>,
    /// Replaces `keep_tag_revisions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_tag_revisions: Option<u32>,
    /// Replaces `keep_younger_than`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_younger_than: Option<String>,
    /// Added to the `[prune]` protect list (never removes protection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<String>,
}

impl StreamOverride {
    fn is_empty(&self) -> bool {
        self.max_age_days.is_none()
            && self.keep_per_series.is_none()
            && self.keep_tag_revisions.is_none()
            && self.keep_younger_than.is_none()
            && self.protect.is_empty()
    }
}

impl Default for PrunePolicy {
    fn default() -> Self {
        PrunePolicy {
            max_age_days: default_max_age_days(),
            keep_per_series: default_keep_per_series(),
            keep_tag_revisions: default_keep_tag_revisions(),
            keep_younger_than: default_keep_younger_than(),
            protect: default_protect(),
            date_patterns: Vec::new(),
            streams: Vec::new(),
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

/// A `[prune]` setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrunePolicyError {
    /// A glob does not compile.
    #[error("invalid glob `{glob}` in `{key}`: {message}")]
    Glob {
        /// The key, e.g. `prune.protect`.
        key: String,
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
    /// A duration does not parse.
    #[error("invalid duration `{value}` in `{key}`")]
    Duration {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A date pattern cannot be used.
    #[error("invalid date pattern `{pattern}` in `prune.date_patterns`: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: dates::PatternError,
    },
}

/// The rules that apply to one stream, overrides resolved.
#[derive(Debug, Clone)]
pub struct StreamRules {
    /// A dated tag older than this many days is a candidate.
    pub max_age_days: u32,
    /// Newest tags kept per series of two or more.
    pub keep_per_series: u32,
    /// History items kept per tag.
    pub keep_tag_revisions: u32,
    /// History younger than this is kept.
    pub keep_younger_than: Duration,
    /// `keep_younger_than` as written, for sentences.
    pub keep_younger_than_text: String,
    /// `match` of the `[[prune.stream]]` that applied, if one did.
    pub matched_override: Option<String>,
    protect: Vec<(String, GlobMatcher)>,
    /// How many of `protect` come from `[prune]` itself (the rest from the override).
    base_protect: usize,
}

impl StreamRules {
    /// The first protect glob that matches `tag`.
    pub fn protected_by(&self, tag: &str) -> Option<&str> {
        self.protection(tag).map(|(g, _)| g)
    }

    /// The first protect glob that matches `tag`, and whether the override added it.
    pub fn protection(&self, tag: &str) -> Option<(&str, bool)> {
        self.protect
            .iter()
            .position(|(_, m)| m.is_match(tag))
            .map(|i| (self.protect[i].0.as_str(), i >= self.base_protect))
    }
}

/// One `[[prune.stream]]`, compiled.
#[derive(Debug, Clone)]
struct CompiledOverride {
    matcher: GlobMatcher,
    settings: StreamOverride,
    keep_younger_than: Option<Duration>,
    protect: Vec<(String, GlobMatcher)>,
}

/// A checked, compiled `[prune]`.
#[derive(Debug, Clone)]
pub struct CompiledPrune {
    base: StreamRules,
    overrides: Vec<CompiledOverride>,
    dates: Recognizer,
}

impl CompiledPrune {
    /// The rules for the stream `key`.
    pub fn rules(&self, key: &StreamKey) -> StreamRules {
        let name = key.to_string();
        let Some(c) = self.overrides.iter().find(|c| c.matcher.is_match(&name)) else {
            return self.base.clone();
        };
        let o = &c.settings;
        let mut rules = self.base.clone();
        rules.max_age_days = o.max_age_days.unwrap_or(rules.max_age_days);
        rules.keep_per_series = o.keep_per_series.unwrap_or(rules.keep_per_series);
        rules.keep_tag_revisions = o.keep_tag_revisions.unwrap_or(rules.keep_tag_revisions);
        if let (Some(d), Some(text)) = (c.keep_younger_than, &o.keep_younger_than) {
            rules.keep_younger_than = d;
            rules.keep_younger_than_text.clone_from(text);
        }
        rules.protect.extend(c.protect.iter().cloned());
        rules.matched_override = Some(o.pattern.clone());
        rules
    }

    /// The date recogniser, with the policy's extra patterns.
    pub fn dates(&self) -> &Recognizer {
        &self.dates
    }
}

fn glob(key: &str, pattern: &str) -> Result<GlobMatcher, PrunePolicyError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| PrunePolicyError::Glob {
            key: key.to_owned(),
            glob: pattern.to_owned(),
            message: e.kind().to_string(),
        })
}

fn duration(key: &str, value: &str) -> Result<Duration, PrunePolicyError> {
    crate::util::parse_duration(value).ok_or_else(|| PrunePolicyError::Duration {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

fn globs(key: &str, patterns: &[String]) -> Result<Vec<(String, GlobMatcher)>, PrunePolicyError> {
    patterns
        .iter()
        .map(|p| glob(key, p).map(|m| (p.clone(), m)))
        .collect()
}

/// The layout of `[prune]` with the places of the values [`PrunePolicy::check`] judges.
#[derive(Debug, Default, Deserialize)]
struct SpanFile {
    #[serde(default)]
    prune: Option<SpanPrune>,
}

#[derive(Debug, Default, Deserialize)]
struct SpanPrune {
    #[serde(default)]
    keep_younger_than: Option<Spanned<String>>,
    #[serde(default)]
    protect: Vec<Spanned<String>>,
    #[serde(default)]
    date_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    stream: Vec<SpanOverride>,
}

#[derive(Debug, Default, Deserialize)]
struct SpanOverride {
    #[serde(default, rename = "match")]
    pattern: Option<Spanned<String>>,
    #[serde(default)]
    keep_younger_than: Option<Spanned<String>>,
    #[serde(default)]
    protect: Vec<Spanned<String>>,
}

const GLOB_HINT: &str = "globs use `*`, `?`, `[abc]` and `{a,b}`";
const DURATION_HINT: &str = "use a number with a unit, e.g. 60m, 2h or 7d";
const PATTERN_HINT: &str =
    "name the parts of the date, e.g. 'build(?P<year>\\d{4})(?P<month>\\d{2})(?P<day>\\d{2})'";

impl PrunePolicy {
    /// Compile the globs, durations and date patterns.
    pub fn compile(&self) -> Result<CompiledPrune, PrunePolicyError> {
        let base = StreamRules {
            max_age_days: self.max_age_days,
            keep_per_series: self.keep_per_series,
            keep_tag_revisions: self.keep_tag_revisions,
            keep_younger_than: duration("prune.keep_younger_than", &self.keep_younger_than)?,
            keep_younger_than_text: self.keep_younger_than.clone(),
            matched_override: None,
            protect: globs("prune.protect", &self.protect)?,
            base_protect: self.protect.len(),
        };
        let mut overrides = Vec::new();
        for o in &self.streams {
            let matcher = glob("prune.stream.match", &o.pattern)?;
            let younger = o
                .keep_younger_than
                .as_deref()
                .map(|v| duration("prune.stream.keep_younger_than", v))
                .transpose()?;
            let protect = globs("prune.stream.protect", &o.protect)?;
            overrides.push(CompiledOverride {
                matcher,
                settings: o.clone(),
                keep_younger_than: younger,
                protect,
            });
        }
        let dates = Recognizer::with_patterns(&self.date_patterns).map_err(|(i, source)| {
            PrunePolicyError::Pattern {
                pattern: self.date_patterns[i].clone(),
                source,
            }
        })?;
        Ok(CompiledPrune {
            base,
            overrides,
            dates,
        })
    }

    /// Semantic checks beyond the schema (bad globs, durations, date patterns, overrides that
    /// change nothing), each located in `text`, the policy file `file` holds.
    pub fn check(&self, file: &str, text: &str) -> Vec<Diagnostic> {
        let spans: SpanPrune = toml::from_str::<SpanFile>(text)
            .ok()
            .and_then(|f| f.prune)
            .unwrap_or_default();
        let at =
            |span: Option<std::ops::Range<usize>>| span.map_or((0, 0), |s| line_col(text, s.start));
        let mut out = Vec::new();
        let mut error =
            |span: Option<std::ops::Range<usize>>, code, message: String, hint: &str| {
                let (line, column) = at(span);
                out.push(Diagnostic::error(file, line, column, code, message).with_hint(hint));
            };
        let span_of = |list: &[Spanned<String>], i: usize| list.get(i).map(Spanned::span);

        if let Err(e) = duration("prune.keep_younger_than", &self.keep_younger_than) {
            let span = spans.keep_younger_than.as_ref().map(Spanned::span);
            error(span, "invalid-duration", e.to_string(), DURATION_HINT);
        }
        for (i, p) in self.protect.iter().enumerate() {
            if let Err(e) = glob("prune.protect", p) {
                error(
                    span_of(&spans.protect, i),
                    "invalid-glob",
                    e.to_string(),
                    GLOB_HINT,
                );
            }
        }
        for (i, p) in self.date_patterns.iter().enumerate() {
            if let Err(source) = dates::compile_pattern(p) {
                let e = PrunePolicyError::Pattern {
                    pattern: p.clone(),
                    source,
                };
                error(
                    span_of(&spans.date_patterns, i),
                    "invalid-date-pattern",
                    e.to_string(),
                    PATTERN_HINT,
                );
            }
        }
        let mut warnings = Vec::new();
        for (i, o) in self.streams.iter().enumerate() {
            let so = spans.stream.get(i);
            let match_span = so.and_then(|s| s.pattern.as_ref()).map(Spanned::span);
            if let Err(e) = glob("prune.stream.match", &o.pattern) {
                error(match_span.clone(), "invalid-glob", e.to_string(), GLOB_HINT);
            } else if !o.pattern.contains('/') && !o.pattern.contains("**") && o.pattern != "*" {
                warnings.push((
                    match_span.clone(),
                    "stream-match-without-namespace",
                    format!(
                        "`[[prune.stream]]` match `{}` is compared with `namespace/name`, so it matches only names with no namespace",
                        o.pattern
                    ),
                    format!("to match a namespace, write `{}/*`", o.pattern),
                ));
            }
            if let Some(v) = &o.keep_younger_than
                && let Err(e) = duration("prune.stream.keep_younger_than", v)
            {
                let span = so
                    .and_then(|s| s.keep_younger_than.as_ref())
                    .map(Spanned::span);
                error(span, "invalid-duration", e.to_string(), DURATION_HINT);
            }
            for (j, p) in o.protect.iter().enumerate() {
                if let Err(e) = glob("prune.stream.protect", p) {
                    let span = so.and_then(|s| span_of(&s.protect, j));
                    error(span, "invalid-glob", e.to_string(), GLOB_HINT);
                }
            }
            if o.is_empty() {
                warnings.push((
                    match_span,
                    "empty-stream-override",
                    format!("`[[prune.stream]]` for `{}` changes nothing", o.pattern),
                    "add max_age_days, keep_per_series, keep_tag_revisions, keep_younger_than or protect, or remove the section".to_owned(),
                ));
            }
        }
        for (span, code, message, hint) in warnings {
            let (line, column) = at(span);
            out.push(Diagnostic::warning(file, line, column, code, message).with_hint(hint));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyFile, parse_toml};

    fn load(text: &str) -> (PrunePolicy, Vec<Diagnostic>) {
        let file: PolicyFile = parse_toml(text, "policies/p.toml").unwrap();
        let p = file.prune.unwrap_or_default();
        let d = p.check("policies/p.toml", text);
        (p, d)
    }

    #[test]
    fn overrides_resolve_first_match_and_add_protection() {
        let (p, d) = load(
            r#"
[prune]
max_age_days = 30
protect = ["latest"]

[[prune.stream]]
match = "openshift/*"
max_age_days = 365
protect = ["release-*"]

[[prune.stream]]
match = "*"
keep_tag_revisions = 1
keep_younger_than = "2h"
"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let c = p.compile().unwrap();
        let os = c.rules(&StreamKey::new("openshift", "ruby"));
        assert_eq!(os.max_age_days, 365);
        assert_eq!(os.keep_tag_revisions, 3);
        assert_eq!(os.protected_by("latest"), Some("latest"));
        assert_eq!(os.protected_by("release-20240101"), Some("release-*"));
        assert_eq!(os.matched_override.as_deref(), Some("openshift/*"));
        let other = c.rules(&StreamKey::new("team", "app"));
        assert_eq!(other.max_age_days, 30);
        assert_eq!(other.keep_tag_revisions, 1);
        assert_eq!(other.keep_younger_than, Duration::from_secs(7200));
        assert_eq!(other.protected_by("release-20240101"), None);
    }

    #[test]
    fn bad_values_are_located() {
        let text = r#"[prune]
keep_younger_than = "an hour"
protect = ["latest", "[abc"]
date_patterns = ['(?P<year>\d{4})', "("]

[[prune.stream]]
match = "openshift"
keep_younger_than = "1y"
protect = ["x{"]

[[prune.stream]]
match = "team/*"
"#;
        let (_, d) = load(text);
        let got: Vec<(u32, u32, &str)> = d.iter().map(|d| (d.line, d.column, d.code)).collect();
        assert_eq!(
            got,
            vec![
                (2, 21, "invalid-duration"),
                (3, 22, "invalid-glob"),
                (4, 18, "invalid-date-pattern"),
                (4, 37, "invalid-date-pattern"),
                (8, 21, "invalid-duration"),
                (9, 12, "invalid-glob"),
                (7, 9, "stream-match-without-namespace"),
                (12, 9, "empty-stream-override"),
            ]
        );
        assert!(
            d[2].message.contains("no named group `month`"),
            "{}",
            d[2].message
        );
        assert!(d.iter().take(6).all(Diagnostic::is_error));
    }

    #[test]
    fn documented_defaults_match_the_code() {
        let text = include_str!("../../policies/default.toml");
        let file: PolicyFile = parse_toml(text, "policies/default.toml").unwrap();
        assert_eq!(file.prune, Some(PrunePolicy::default()));
        assert_eq!(file.lint.map(|l| l.allow), Some(Vec::new()));
        assert!(PrunePolicy::default().check("p", text).is_empty());
    }

    #[test]
    fn unknown_override_key_is_an_error() {
        let err = parse_toml::<PolicyFile>(
            "[[prune.stream]]\nmatch = \"a/*\"\nmax_age = 3\n",
            "policies/p.toml",
        )
        .unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert_eq!(err.hint.as_deref(), Some("did you mean `max_age_days`?"));
    }
}
