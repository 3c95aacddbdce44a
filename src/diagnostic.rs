//! Located problems (`path:line:column: error: message`) shared by definitions, policies and
//! the config, and their three renderings: text, JSON and GitHub annotations.

use std::fmt::Write as _;

use serde::Serialize;

/// Error, warning or note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Makes validation fail.
    Error,
    /// Likely a mistake; reported, never fails.
    Warning,
    /// Information about how the input is read (e.g. a field that is ignored); never fails.
    Note,
}

impl Severity {
    /// `error` / `warning` / `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    /// The GitHub workflow command: `error`, `warning` or `notice`.
    fn github(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        }
    }
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Path relative to the repository root, `/`-separated.
    pub file: String,
    /// 1-based line (0 when the whole file is meant).
    pub line: u32,
    /// 1-based column (0 when the whole file is meant).
    pub column: u32,
    /// Error or warning.
    pub severity: Severity,
    /// Stable machine code, e.g. `invalid-tag-name`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(
        file: impl Into<String>,
        line: u32,
        column: u32,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            severity: Severity::Error,
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning.
    pub fn warning(
        file: impl Into<String>,
        line: u32,
        column: u32,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, column, code, message)
        }
    }

    /// The same at another severity.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The same with a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sort by file, line, column, then severity and message, so output is deterministic.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.severity, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.severity, &b.message))
    });
}

fn location(d: &Diagnostic) -> String {
    let file = crate::util::escape_path(&d.file);
    if d.line == 0 {
        file.into_owned()
    } else {
        format!("{file}:{}:{}", d.line, d.column)
    }
}

/// `path:line:column: error: message` then `  hint: …`, one problem after another.
pub fn render_text(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            location(d),
            d.severity.as_str(),
            d.message
        );
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "  hint: {hint}");
        }
    }
    out
}

/// How many diagnostics have `severity`.
pub fn count(diags: &[Diagnostic], severity: Severity) -> usize {
    diags.iter().filter(|d| d.severity == severity).count()
}

/// `{"format_version": "1.0", "valid": bool, "errors": n, "warnings": n, "notes": n,
/// "diagnostics": [...]}`.
pub fn render_json(diags: &[Diagnostic]) -> String {
    let errors = count(diags, Severity::Error);
    let value = serde_json::json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "errors": errors,
        "warnings": count(diags, Severity::Warning),
        "notes": count(diags, Severity::Note),
        "diagnostics": diags,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// GitHub workflow commands: `::error file=PATH,line=N,col=C::message`.
pub fn render_github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let mut message = d.message.clone();
        if let Some(hint) = &d.hint {
            message.push_str(" (hint: ");
            message.push_str(hint);
            message.push(')');
        }
        let _ = write!(
            out,
            "::{} file={}",
            d.severity.github(),
            escape_property(&d.file)
        );
        if d.line > 0 {
            let _ = write!(out, ",line={},col={}", d.line, d.column);
        }
        let _ = writeln!(out, "::{}", escape_data(&message));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A one-line summary for stderr: `2 errors, 1 warning in 3 files` (notes are not counted).
pub fn summary(diags: &[Diagnostic], files: usize) -> String {
    let errors = count(diags, Severity::Error);
    let warnings = count(diags, Severity::Warning);
    format!(
        "{} {}, {} {} in {} {}",
        errors,
        plural(errors, "error", "errors"),
        warnings,
        plural(warnings, "warning", "warnings"),
        files,
        plural(files, "file", "files")
    )
}

/// `one` when n is 1, else `many`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// "did you mean `x`?" for a misspelt name among `candidates`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The most problems of one kind (code and severity) one file reports; the rest are counted
/// in one summary line, so a hostile file cannot flood the output.
pub const MAX_PER_KIND: usize = 20;

/// The most characters a message or hint keeps (text from a file can be long).
pub const MAX_TEXT_CHARS: usize = 600;

/// Bound `diags`: at most [`MAX_PER_KIND`] of one kind per file (the first in file order),
/// then one problem of the same kind saying how many more there are; every message and hint
/// cut to [`MAX_TEXT_CHARS`]. Sorted afterwards.
pub fn bound(diags: &mut Vec<Diagnostic>) {
    use std::collections::BTreeMap;
    sort(diags);
    let mut seen: BTreeMap<(String, &'static str, Severity), (usize, Option<Diagnostic>)> =
        BTreeMap::new();
    let mut kept = Vec::with_capacity(diags.len().min(1024));
    for mut d in diags.drain(..) {
        let entry = seen
            .entry((d.file.clone(), d.code, d.severity))
            .or_insert((0, None));
        entry.0 += 1;
        if entry.0 > MAX_PER_KIND {
            if entry.1.is_none() {
                entry.1 = Some(d);
            }
            continue;
        }
        cut(&mut d.message);
        if let Some(h) = &mut d.hint {
            cut(h);
        }
        kept.push(d);
    }
    for ((_, code, _), (count, first_dropped)) in seen {
        let Some(first) = first_dropped else {
            continue;
        };
        let more = count - MAX_PER_KIND;
        kept.push(Diagnostic {
            message: format!(
                "{more} more `{code}` {} in this file from here on, not shown (each file shows the first {MAX_PER_KIND} of a kind)",
                plural(more, "problem", "problems"),
            ),
            hint: Some("fix the ones shown and run again".to_owned()),
            ..first
        });
    }
    *diags = kept;
    sort(diags);
}

/// Cut `text` to [`MAX_TEXT_CHARS`] characters, marking the cut.
fn cut(text: &mut String) {
    if let Some((i, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
        text.truncate(i);
        text.push('…');
    }
}

/// Line and column of byte offsets of one text, from an index of its line starts built once:
/// each look-up costs a binary search, not a scan of the text before it.
pub struct LineIndex {
    starts: Vec<usize>,
    /// The last answer (offset, line, column): a later offset on the same line counts only
    /// the characters in between, so walking forward along one long line stays linear.
    last: std::cell::Cell<(usize, u32, u32)>,
}

impl LineIndex {
    /// Index `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            starts,
            last: std::cell::Cell::new((0, 1, 1)),
        }
    }

    /// As [`line_col`], for the `text` this index was built from.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        let (last_offset, last_line, last_column) = self.last.get();
        let (from, base) = if last_line == line && last_offset >= start && last_offset <= offset {
            (last_offset, last_column)
        } else {
            (start, 1)
        };
        let counted = String::from_utf8_lossy(&text.as_bytes()[from..offset])
            .chars()
            .count();
        let column = base.saturating_add(u32::try_from(counted).unwrap_or(u32::MAX));
        self.last.set((offset, line, column));
        (line, column)
    }
}
