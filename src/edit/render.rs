//! Writing new values as text: YAML block, YAML flow and JSON, each in the shape the
//! surrounding file already uses (indentation, quoting, separators, line endings).

use serde_saphyr::granit_parser::ScalarStyle;

use super::Val;
use super::tree::Node;

/// How the file around an insertion point is written.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    /// `\n` or `\r\n`.
    pub nl: &'static str,
    /// A JSON file (keys quoted, no plain scalars).
    pub json: bool,
    /// Spaces from a block mapping key to its nested mapping's keys.
    pub step: usize,
    /// Spaces from a block mapping key to the `-` of its block sequence value.
    pub seq_offset: usize,
    /// One level of JSON indentation (`\t`, two or four spaces).
    pub unit: String,
    /// What separates a JSON key from its value (`": "` or `":"`).
    pub colon: String,
    /// The quotes this file uses most, for a new scalar that needs quoting.
    pub quote: ScalarStyle,
}

/// A scalar as YAML text: plain when it reads back as the same string, else quoted in
/// `prefer` style (single quotes when no preference is given).
pub(crate) fn yaml_scalar(
    val: &Val,
    prefer: Option<ScalarStyle>,
    flow: bool,
    fallback: ScalarStyle,
) -> String {
    match val {
        Val::Bool(b) => b.to_string(),
        Val::Str(s) => match prefer {
            Some(ScalarStyle::DoubleQuoted) => double_quoted(s),
            Some(ScalarStyle::SingleQuoted) if !has_control(s) => single_quoted(s),
            _ if plain_ok(s, flow) => s.clone(),
            _ if has_control(s) || fallback == ScalarStyle::DoubleQuoted => double_quoted(s),
            _ => single_quoted(s),
        },
        Val::Map(_) | Val::Seq(_) => flow_yaml(val, prefer, fallback),
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn double_quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
pub(crate) fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || has_control(s) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-x` and `:x` are plain in YAML 1.2, but quoting them is always safe.
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) {
        return false;
    }
    // Anything a YAML 1.1 or 1.2 reader could take for a number stays quoted.
    let numberish = s
        .trim_start_matches(['+', '-'])
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | '_' | 'x' | 'o' | ':'));
    if numberish && s.chars().any(|c| c.is_ascii_digit())
        || lower.ends_with("inf")
        || lower == ".nan"
    {
        return false;
    }
    true
}

/// A value in YAML flow notation: `{kind: DockerImage, name: x}`.
pub(crate) fn flow_yaml(val: &Val, prefer: Option<ScalarStyle>, fallback: ScalarStyle) -> String {
    match val {
        Val::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        yaml_scalar(&Val::Str(k.clone()), None, true, fallback),
                        flow_value(v, prefer, fallback)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Val::Seq(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|v| flow_value(v, prefer, fallback))
                .collect();
            format!("[{}]", inner.join(", "))
        }
        scalar => yaml_scalar(scalar, prefer, true, fallback),
    }
}

fn flow_value(v: &Val, prefer: Option<ScalarStyle>, fallback: ScalarStyle) -> String {
    match v {
        Val::Map(_) | Val::Seq(_) => flow_yaml(v, prefer, fallback),
        s => yaml_scalar(s, prefer, true, fallback),
    }
}

/// A value as JSON: compact on one line (`sep` between items) or pretty, each nested level
/// one `unit` deeper than `indent`.
pub(crate) fn json(val: &Val, style: &Style, indent: &str, pretty: bool, sep: &str) -> String {
    match val {
        Val::Bool(b) => b.to_string(),
        Val::Str(s) => double_quoted(s),
        Val::Map(entries) if entries.is_empty() => "{}".into(),
        Val::Seq(items) if items.is_empty() => "[]".into(),
        Val::Map(entries) => {
            let inner_indent = format!("{indent}{}", style.unit);
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| {
                    let value = json(v, style, &inner_indent, pretty, sep);
                    format!("{}{}{value}", double_quoted(k), style.colon)
                })
                .collect();
            wrap(&parts, '{', '}', style, indent, &inner_indent, pretty, sep)
        }
        Val::Seq(items) => {
            let inner_indent = format!("{indent}{}", style.unit);
            let parts: Vec<String> = items
                .iter()
                .map(|v| json(v, style, &inner_indent, pretty, sep))
                .collect();
            wrap(&parts, '[', ']', style, indent, &inner_indent, pretty, sep)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn wrap(
    parts: &[String],
    open: char,
    close: char,
    style: &Style,
    indent: &str,
    inner: &str,
    pretty: bool,
    sep: &str,
) -> String {
    if pretty {
        let nl = style.nl;
        let body: Vec<String> = parts.iter().map(|p| format!("{inner}{p}")).collect();
        format!(
            "{open}{nl}{}{nl}{indent}{close}",
            body.join(&format!(",{nl}"))
        )
    } else {
        format!("{open}{}{close}", parts.join(sep))
    }
}

/// Block YAML lines for a mapping: the first line starts with `first_prefix` (spaces, or
/// `  - ` for a sequence entry), the others with `col` spaces. Every line ends with `nl`.
/// `hint` is an existing sibling written the way the new value should look: its nested
/// flow collections stay flow and its quoted scalars stay quoted.
pub(crate) fn block_map(
    entries: &[(String, Val)],
    col: usize,
    first_prefix: &str,
    style: &Style,
    hint: Option<&Node>,
) -> String {
    let mut out = String::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        let prefix = if i == 0 {
            first_prefix.to_owned()
        } else {
            " ".repeat(col)
        };
        let sibling = hint.and_then(|h| h.value(key));
        out.push_str(&prefix);
        out.push_str(&yaml_scalar(
            &Val::Str(key.clone()),
            None,
            false,
            style.quote,
        ));
        out.push(':');
        out.push_str(&block_value(value, col, style, sibling));
    }
    out
}

/// The text after `key:` for a value in a block mapping whose keys sit at `col`: ` scalar` +
/// newline, or a newline and the nested lines.
pub(crate) fn block_value(value: &Val, col: usize, style: &Style, hint: Option<&Node>) -> String {
    let nl = style.nl;
    match value {
        Val::Str(_) | Val::Bool(_) => {
            format!(
                " {}{nl}",
                yaml_scalar(value, hint.and_then(chosen_style), false, style.quote)
            )
        }
        Val::Map(entries) if entries.is_empty() => format!(" {{}}{nl}"),
        Val::Seq(items) if items.is_empty() => format!(" []{nl}"),
        Val::Map(_) | Val::Seq(_) if hint.is_some_and(|h| h.flow) => {
            format!(" {}{nl}", flow_yaml(value, inner_style(hint), style.quote))
        }
        Val::Map(entries) => {
            // A sibling's nested mapping shows how deep this file nests.
            let step = hint
                .filter(|h| !h.flow && h.entries().is_some() && h.col > col)
                .map_or(style.step, |h| h.col - col);
            let inner = col + step;
            format!(
                "{nl}{}",
                block_map(entries, inner, &" ".repeat(inner), style, hint)
            )
        }
        Val::Seq(items) => {
            let dash = col + style.seq_offset;
            let mut out = nl.to_owned();
            let first_hint = hint.and_then(|h| h.items()).and_then(|i| i.first());
            for item in items {
                out.push_str(&seq_entry(item, dash, 1, style, first_hint));
            }
            out
        }
    }
}

/// One block sequence entry: `-` at `dash`, `gap` spaces, then the value.
pub(crate) fn seq_entry(
    item: &Val,
    dash: usize,
    gap: usize,
    style: &Style,
    hint: Option<&Node>,
) -> String {
    let prefix = format!("{}-{}", " ".repeat(dash), " ".repeat(gap));
    match item {
        Val::Map(entries) if !entries.is_empty() => {
            if hint.is_some_and(|h| h.flow) {
                format!(
                    "{prefix}{}{}",
                    flow_yaml(item, inner_style(hint), style.quote),
                    style.nl
                )
            } else {
                block_map(entries, dash + 1 + gap, &prefix, style, hint)
            }
        }
        other => format!(
            "{prefix}{}{}",
            yaml_scalar(other, None, false, style.quote),
            style.nl
        ),
    }
}

/// A sibling scalar's quoting when it was a choice (the value would read the same plain);
/// quotes that the value needs say nothing about the file's taste.
pub(crate) fn chosen_style(node: &Node) -> Option<ScalarStyle> {
    match node.style()? {
        s @ (ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted) => {
            node.str().filter(|v| plain_ok(v, false)).map(|_| s)
        }
        _ => None,
    }
}

/// The quoting style a flow sibling uses for its `name` (the scalar most likely quoted).
fn inner_style(hint: Option<&Node>) -> Option<ScalarStyle> {
    let h = hint?;
    h.value("name")
        .or_else(|| h.entries().and_then(|e| e.first()).map(|(_, v)| v))
        .and_then(chosen_style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_it_reads_back() {
        for s in [
            "latest",
            "ruby",
            "quay.io/a/b:1.0",
            "x@sha256:abc",
            "DockerImage",
        ] {
            assert!(plain_ok(s, false), "{s}");
        }
        for s in [
            "2.0", "true", "no", "", " x", "a: b", "#x", "1e3", "0x1F", "*a", "12",
        ] {
            assert!(!plain_ok(s, false), "{s}");
        }
        assert!(!plain_ok("a,b", true));
    }

    #[test]
    fn quoting_styles() {
        let v = Val::Str("2.0".into());
        assert_eq!(
            yaml_scalar(&v, None, false, ScalarStyle::SingleQuoted),
            "'2.0'"
        );
        assert_eq!(
            yaml_scalar(
                &v,
                Some(ScalarStyle::DoubleQuoted),
                false,
                ScalarStyle::SingleQuoted
            ),
            "\"2.0\""
        );
        assert_eq!(
            yaml_scalar(
                &Val::Str("it's".into()),
                Some(ScalarStyle::SingleQuoted),
                false,
                ScalarStyle::DoubleQuoted
            ),
            "'it''s'"
        );
        assert_eq!(
            yaml_scalar(
                &v,
                Some(ScalarStyle::Plain),
                false,
                ScalarStyle::DoubleQuoted
            ),
            "\"2.0\""
        );
    }
}
