//! Small helpers shared by several modules: durations, and the one escaping of text that
//! comes from outside (a registry, a definition, a commit) before it reaches a terminal, a
//! commit message or Markdown.

use std::borrow::Cow;
use std::time::Duration;

/// Whether `c` must not reach a terminal, a commit message or Markdown as itself: control
/// characters (ESC, CR, TAB, BEL, …, also C1 and DEL) and the invisible direction marks,
/// embeddings, overrides and isolates that make text display in another order than it reads
/// (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 and the Arabic letter mark U+061C).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // The direction marks (all in the BMP) as JSON writes them, so that the escape also
        // keeps a JSON document that streamsync prints valid (serde_json leaves them as
        // they are, inside strings).
        c if !c.is_control() => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` with every unsafe character written as a visible escape (`\u{1b}`, `\r`, `\t`);
/// newlines are kept when `keep_newlines` (multi-line text streamsync lays out itself) and
/// escaped otherwise (one line: a commit-message line, a table cell, a code span).
pub fn escape_text(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A file name for a line of text output: escaped like [`escape_line`], and written as
/// `./NAME` when it starts with `:` or white space, so that no line of output can start with
/// `::` (a GitHub workflow command, which the runner reads after leading white space).
pub fn escape_path(name: &str) -> Cow<'_, str> {
    let escaped = escape_line(name);
    if escaped.starts_with(|c: char| c == ':' || c.is_whitespace()) {
        Cow::Owned(format!("./{escaped}"))
    } else {
        escaped
    }
}

/// `text` with every line that would start a GitHub workflow command (`::` after leading
/// white space) defused: its first `:` written as `\u{3a}`. Text output is read by workflow
/// logs, where such a line would act (set an output, stop commands, annotate).
pub fn defuse_workflow_commands(text: &str) -> Cow<'_, str> {
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !text.split('\n').any(starts_command) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if starts_command(line) {
            let at = line.len() - line.trim_start().len();
            out.push_str(&line[..at]);
            out.push_str("\\u{3a}");
            out.push_str(&line[at + 1..]);
        } else {
            out.push_str(line);
        }
    }
    Cow::Owned(out)
}

/// One line of outside text: every unsafe character, newlines included, escaped.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape_text(text, false)
}

/// Text for a terminal: like [`escape_text`] with newlines kept, except that the colour
/// sequences streamsync paints with (`ESC [ digits ; m`) pass when `colour` is on.
pub fn escape_terminal(text: &str, colour: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if colour && c == '\x1b' {
            let seq = rest[1..].strip_prefix('[').and_then(|r| {
                let n = r.find(|ch: char| !(ch.is_ascii_digit() || ch == ';'))?;
                r[n..].starts_with('m').then_some(n + 3)
            });
            if let Some(len) = seq {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if is_unsafe(c) && c != '\n' {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// A Markdown code span holding `text` verbatim: fenced with one backtick more than the
/// longest run inside it, padded when it starts or ends with a backtick (CommonMark), unsafe
/// characters and newlines escaped so that it stays one span on one line.
pub fn md_code(text: &str) -> String {
    let text = escape_line(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Outside text as plain Markdown: unsafe characters escaped, and every character Markdown
/// or HTML would act on backslash-escaped, so it renders as the text it is (no link, image,
/// mention markup, HTML or heading can be slipped in).
pub fn md_text(text: &str) -> String {
    // streamsync's own messages quote names in backticks: those spans stay code spans (with
    // their content made safe); text with an odd number of backticks is all plain text.
    if text.contains('`') && text.matches('`').count().is_multiple_of(2) {
        return text
            .split('`')
            .enumerate()
            .map(|(i, part)| {
                if i % 2 == 1 {
                    md_code(part)
                } else {
                    md_plain(part)
                }
            })
            .collect();
    }
    md_plain(text)
}

fn md_plain(text: &str) -> String {
    let text = escape_line(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Parse `0`, `30s`, `15m`, `2h`, `7d`, `1h30m`, `250ms`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86400)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_line("a\x1b[2Jb\r\tc\u{7}"),
            "a\\u{1b}[2Jb\\r\\tc\\u{7}"
        );
        assert_eq!(escape_line("x\nSigned-off-by: m"), "x\\nSigned-off-by: m");
        assert_eq!(escape_text("one\ntwo", true), "one\ntwo");
        assert_eq!(escape_line("\u{202e}evil"), "\\u202eevil");
        assert!(matches!(escape_line("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_terminal("\x1b[32mok\x1b[0m \x1b]0;title\x07", true),
            "\x1b[32mok\x1b[0m \\u{1b}]0;title\\u{7}"
        );
        assert_eq!(escape_terminal("\x1b[32mok", false), "\\u{1b}[32mok");
        assert_eq!(md_code("quay.io/a/b:1"), "`quay.io/a/b:1`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x``"), "``` `x`` ```");
        assert_eq!(md_code("a\n\nb"), "`a\\n\\nb`");
        assert_eq!(
            md_text("[x](http://e) <b> @o"),
            "\\[x\\](http://e) &lt;b&gt; \\@o"
        );
        assert_eq!(md_text("follows `a:b` *x*"), "follows `a:b` \\*x\\*");
        assert_eq!(md_text("odd ` one"), "odd \\` one");
    }
}
