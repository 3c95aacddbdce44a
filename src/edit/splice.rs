//! The text surgery: where a key, an entry or a value starts and ends in the bytes, and the
//! smallest splice that inserts, replaces or removes it. Every function here returns splices
//! and never rewrites anything it was not asked to.

use serde_saphyr::granit_parser::ScalarStyle;

use super::render::{self, Style};
use super::tree::{Kind, Node};
use super::{EditError, Val};

/// Replace `range` of the text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Splice {
    fn new(start: usize, end: usize, text: impl Into<String>) -> Self {
        Splice {
            start,
            end,
            text: text.into(),
        }
    }
}

/// Apply splices (non-overlapping, any order).
pub(crate) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for s in splices {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The start of the line holding `pos`.
pub(crate) fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Just past the newline ending the line that holds `pos` (or the end of the text).
pub(crate) fn line_end(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Past the comment lines at `pos` indented deeper than `col`: they belong to the entry
/// that ends just above them.
fn over_comments(text: &str, mut pos: usize, col: usize) -> usize {
    while pos < text.len() {
        let line = &text[pos..line_end(text, pos)];
        let body = line.trim_start_matches(' ');
        if body.starts_with('#') && line.len() - body.len() > col {
            pos += line.len();
        } else {
            break;
        }
    }
    pos
}

/// Column of `pos` in bytes.
pub(crate) fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// The whitespace that begins the line holding `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let rest = &text[start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

fn only_space_before(text: &str, pos: usize) -> bool {
    text[line_start(text, pos)..pos]
        .chars()
        .all(|c| c == ' ' || c == '\t')
}

/// The `:` after a mapping key.
fn colon_after(text: &str, key: &Node) -> Result<usize, EditError> {
    text[key.end..]
        .find(':')
        .map(|i| key.end + i)
        .ok_or_else(|| EditError::Internal("no `:` after a mapping key".into()))
}

/// Where the `-` of block sequence item `item` is.
fn dash_of(text: &str, item: &Node) -> Result<usize, EditError> {
    let bytes = text.as_bytes();
    let mut i = item.start;
    // Skip back over whitespace and at most a few node properties (`&anchor`, `!tag`).
    for _ in 0..4 {
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
            i -= 1;
        }
        if i > 0 && bytes[i - 1] == b'-' {
            let dash = i - 1;
            if only_space_before(text, dash) {
                return Ok(dash);
            }
            break;
        }
        while i > 0 && !matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
            i -= 1;
        }
    }
    Err(EditError::Unsupported(
        "a list entry that does not begin its own line (`- - x`)".into(),
    ))
}

/// Facts about the file that new text should copy.
pub(crate) fn style_of(text: &str, json: bool, docs: &[Option<Node>]) -> Style {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut step = None;
    let mut seq_offset = None;
    for root in docs.iter().flatten() {
        visit_block(text, root, &mut step, &mut seq_offset);
    }
    let (unit, colon) = json_facts(text, docs);
    let (mut single, mut double) = (0, 0);
    for root in docs.iter().flatten() {
        count_quotes(root, &mut single, &mut double);
    }
    Style {
        quote: if single > double {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        },
        nl,
        json,
        step: step.unwrap_or(2),
        seq_offset: seq_offset.unwrap_or(0),
        unit,
        colon,
    }
}

fn count_quotes(node: &Node, single: &mut usize, double: &mut usize) {
    match &node.kind {
        Kind::Scalar { style, .. } => match style {
            ScalarStyle::SingleQuoted => *single += 1,
            ScalarStyle::DoubleQuoted => *double += 1,
            _ => {}
        },
        Kind::Seq(items) => items.iter().for_each(|i| count_quotes(i, single, double)),
        Kind::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| count_quotes(v, single, double)),
        Kind::Alias => {}
    }
}

fn visit_block(text: &str, node: &Node, step: &mut Option<usize>, seq_offset: &mut Option<usize>) {
    match &node.kind {
        Kind::Map(entries) if !node.flow => {
            for (k, v) in entries {
                match &v.kind {
                    Kind::Map(inner) if !v.flow && step.is_none() => {
                        if let Some((ik, _)) = inner.first() {
                            let kc = column(text, k.start);
                            let ic = column(text, ik.start);
                            if ic > kc && only_space_before(text, k.start) {
                                *step = Some(ic - kc);
                            }
                        }
                    }
                    Kind::Seq(items) if !v.flow && seq_offset.is_none() => {
                        if let Some(first) = items.first()
                            && let Ok(d) = dash_of(text, first)
                            && only_space_before(text, k.start)
                        {
                            let kc = column(text, k.start);
                            let dc = column(text, d);
                            if dc >= kc {
                                *seq_offset = Some(dc - kc);
                            }
                        }
                    }
                    _ => {}
                }
                visit_block(text, v, step, seq_offset);
            }
        }
        Kind::Seq(items) => {
            for i in items {
                visit_block(text, i, step, seq_offset);
            }
        }
        _ => {}
    }
}

/// The JSON indentation unit and key separator, read from the first nested key.
fn json_facts(text: &str, docs: &[Option<Node>]) -> (String, String) {
    let mut unit = "  ".to_owned();
    let mut colon = ": ".to_owned();
    if let Some(Some(root)) = docs.first()
        && let Some(entries) = root.entries()
        && let Some((k, v)) = entries.first()
    {
        if line_start(text, k.start) != line_start(text, root.start) {
            let ind = line_indent(text, k.start);
            let base = line_indent(text, root.start);
            if let Some(u) = ind.strip_prefix(base)
                && !u.is_empty()
            {
                unit = u.to_owned();
            }
        }
        colon = text[k.end..v.start].to_owned();
        if !colon.contains(':') || colon.contains('\n') {
            colon = ": ".to_owned();
        }
    }
    (unit, colon)
}

/// Whether a flow collection writes its items on their own lines.
fn multiline(text: &str, coll: &Node, first_item_start: Option<usize>) -> bool {
    match first_item_start {
        Some(s) => line_start(text, s) != line_start(text, coll.start),
        None => false,
    }
}

/// Whether the whole file is pretty-printed JSON (its root spans lines).
fn pretty_json(text: &str, docs: &[Option<Node>]) -> bool {
    docs.first()
        .and_then(Option::as_ref)
        .is_some_and(|r| text[r.start..r.end].contains('\n'))
}

/// Splices that insert `key: val` into mapping `map`. `hint` is a sibling mapping to copy.
pub(crate) fn insert_key(
    text: &str,
    docs: &[Option<Node>],
    style: &Style,
    map: &Node,
    key: &str,
    val: &Val,
    hint: Option<&Node>,
) -> Result<Vec<Splice>, EditError> {
    let entries = map
        .entries()
        .ok_or_else(|| EditError::Internal("inserting a key into a non-mapping".into()))?;
    if map.flow {
        let items: Vec<(usize, usize)> = entries
            .iter()
            .map(|(k, v)| (k.start, v.end.max(k.end)))
            .collect();
        let sibling_value = hint.and_then(|h| h.value(key));
        let new = if style.json {
            let pretty = pretty_json(text, docs);
            let indent = item_indent(text, map, &items, style);
            let sep = flow_sep(text, style, &items);
            format!(
                "{}{}{}",
                render::json(&Val::Str(key.to_owned()), style, "", false, ""),
                style.colon,
                render::json(
                    val,
                    style,
                    &indent,
                    pretty && multiline_or_empty(text, map, &items),
                    &sep
                )
            )
        } else {
            // A mapping that quotes every key (JSON pasted into YAML) gets a quoted key and
            // value too, in its quotes.
            let quoted = entries
                .first()
                .and_then(|(k, _)| k.style())
                .filter(|q| matches!(q, ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted))
                .filter(|q| entries.iter().all(|(k, _)| k.style() == Some(*q)));
            format!(
                "{}: {}",
                render::yaml_scalar(&Val::Str(key.to_owned()), quoted, true, style.quote),
                render::yaml_scalar(
                    val,
                    sibling_value.and_then(render::chosen_style).or(quoted),
                    true,
                    style.quote
                )
            )
        };
        return Ok(vec![flow_insert(text, docs, style, map, &items, &new)]);
    }
    let Some((first_key, _)) = entries.first() else {
        return Err(EditError::Internal("an empty block mapping".into()));
    };
    let col = column(text, first_key.start);
    if let Some((last_key, _)) = entries.last()
        && ends_in_unbroken_block_scalar(text, map)
    {
        // After it, the new entry would give the block scalar the line break it lacks (and
        // so change its value): the entry goes before the last key instead.
        let mut body = render::block_map(&[(key.to_owned(), val.clone())], col, "", style, hint);
        body.push_str(&" ".repeat(col));
        return Ok(vec![Splice::new(last_key.start, last_key.start, body)]);
    }
    let mut at = over_comments(text, line_end(text, map.end), col);
    let mut body = render::block_map(
        &[(key.to_owned(), val.clone())],
        col,
        &" ".repeat(col),
        style,
        hint,
    );
    if at == text.len() && !text.ends_with('\n') {
        body = format!("{}{body}", style.nl);
        // Keep the file's lack of a final newline.
        body.truncate(body.len() - style.nl.len());
        at = text.len();
    }
    Ok(vec![Splice::new(at, at, body)])
}

/// Whether `node` ends with a block scalar (`|`, `>`) whose last line ends the text without a
/// line break.
fn ends_in_unbroken_block_scalar(text: &str, node: &Node) -> bool {
    let mut last = node;
    loop {
        last = match &last.kind {
            Kind::Map(entries) => match entries.last() {
                Some((_, v)) => v,
                None => return false,
            },
            Kind::Seq(items) => match items.last() {
                Some(item) => item,
                None => return false,
            },
            Kind::Scalar { .. } => break,
            Kind::Alias => return false,
        };
    }
    matches!(
        last.style(),
        Some(ScalarStyle::Literal | ScalarStyle::Folded)
    ) && !text.ends_with(['\n', '\r'])
        && text[last.end.min(text.len())..].trim().is_empty()
}

fn multiline_or_empty(text: &str, coll: &Node, items: &[(usize, usize)]) -> bool {
    items.is_empty() || multiline(text, coll, items.first().map(|i| i.0))
}

/// The indentation new items of a flow collection get (pretty JSON).
fn item_indent(text: &str, coll: &Node, items: &[(usize, usize)], style: &Style) -> String {
    match items.last() {
        Some((s, _)) if multiline(text, coll, Some(*s)) => line_indent(text, *s).to_owned(),
        _ => format!("{}{}", line_indent(text, coll.start), style.unit),
    }
}

/// The separator between single-line flow items, as the collection writes it.
fn flow_sep(text: &str, style: &Style, items: &[(usize, usize)]) -> String {
    if items.len() >= 2 {
        let (_, prev_end) = items[items.len() - 2];
        let (start, _) = items[items.len() - 1];
        let between = &text[prev_end..start];
        if !between.contains('\n') && between.trim() == "," {
            return between.to_owned();
        }
    }
    // With no two siblings to copy, compact JSON (`"a":1`) gets a compact separator too.
    if style.json && style.colon == ":" {
        ",".to_owned()
    } else {
        ", ".to_owned()
    }
}

/// Insert `new` (already rendered) as the last item of a flow collection.
fn flow_insert(
    text: &str,
    docs: &[Option<Node>],
    style: &Style,
    coll: &Node,
    items: &[(usize, usize)],
    new: &str,
) -> Splice {
    let close = coll.end - 1;
    match items.last() {
        None => {
            let pretty = style.json && pretty_json(text, docs);
            if pretty {
                let base = line_indent(text, coll.start);
                let nl = style.nl;
                Splice::new(
                    coll.start + 1,
                    close,
                    format!("{nl}{base}{}{new}{nl}{base}", style.unit),
                )
            } else {
                Splice::new(coll.start + 1, close, new.to_owned())
            }
        }
        Some(&(start, end)) => {
            if multiline(text, coll, items.first().map(|i| i.0)) {
                let indent = line_indent(text, start);
                Splice::new(end, end, format!(",{}{indent}{new}", style.nl))
            } else {
                Splice::new(end, end, format!("{}{new}", flow_sep(text, style, items)))
            }
        }
    }
}

/// Splices that remove item `index` of a flow collection whose items span `items`.
fn flow_remove(coll: &Node, items: &[(usize, usize)], index: usize) -> Splice {
    let (start, end) = items[index];
    if items.len() == 1 {
        return Splice::new(coll.start + 1, coll.end - 1, "");
    }
    if index == 0 {
        Splice::new(start, items[1].0, "")
    } else {
        Splice::new(items[index - 1].1, end, "")
    }
}

/// Splices that append `val` to sequence `seq` (which may be a block or flow sequence).
/// `sibling` is an existing entry to copy the look of.
pub(crate) fn append_item(
    text: &str,
    docs: &[Option<Node>],
    style: &Style,
    seq: &Node,
    val: &Val,
) -> Result<Vec<Splice>, EditError> {
    let items = seq
        .items()
        .ok_or_else(|| EditError::Internal("appending to a non-sequence".into()))?;
    let sibling = items.last();
    if seq.flow {
        let spans: Vec<(usize, usize)> = items.iter().map(|i| (i.start, i.end)).collect();
        let new = if style.json {
            let pretty = pretty_json(text, docs) && multiline_or_empty(text, seq, &spans);
            let indent = item_indent(text, seq, &spans, style);
            render::json(val, style, &indent, pretty, &flow_sep(text, style, &spans))
        } else {
            let prefer = sibling
                .and_then(|s| s.value("name"))
                .and_then(render::chosen_style);
            render::flow_yaml(val, prefer, style.quote)
        };
        return Ok(vec![flow_insert(text, docs, style, seq, &spans, &new)]);
    }
    let last = sibling.ok_or_else(|| EditError::Internal("an empty block sequence".into()))?;
    let dash = dash_of(text, last)?;
    let dash_col = column(text, dash);
    let gap = if line_start(text, last.start) == line_start(text, dash) {
        last.start - dash - 1
    } else {
        1
    };
    let mut body = render::seq_entry(val, dash_col, gap, style, Some(last));
    let mut at = over_comments(text, line_end(text, seq.end), dash_col);
    if at == text.len() && !text.ends_with('\n') {
        body = format!("{}{body}", style.nl);
        body.truncate(body.len() - style.nl.len());
        at = text.len();
    }
    Ok(vec![Splice::new(at, at, body)])
}

/// Splices that turn an empty or null value of `key` (in block mapping `parent`) into a
/// block sequence holding `val`: `tags: []` becomes `tags:` and one entry.
pub(crate) fn seq_from_empty(
    text: &str,
    style: &Style,
    key: &Node,
    value: &Node,
    val: &Val,
) -> Result<Vec<Splice>, EditError> {
    let colon = colon_after(text, key)?;
    let col = column(text, key.start);
    let mut splices = Vec::new();
    // Drop ` []` / ` null` after the colon, keep any comment on the line.
    let token_end = if value.end > colon {
        value.end
    } else {
        colon + 1
    };
    splices.push(Splice::new(colon + 1, token_end, ""));
    let mut at = line_end(text, colon);
    let mut body = render::seq_entry(val, col + style.seq_offset, 1, style, None);
    if at == text.len() && !text.ends_with('\n') {
        body = format!("{}{body}", style.nl);
        body.truncate(body.len() - style.nl.len());
        at = text.len();
    }
    splices.push(Splice::new(at, at, body));
    Ok(splices)
}

/// Splices that remove item `index` of sequence `seq`; `key` is the mapping key holding the
/// sequence (a block sequence left empty becomes `[]`).
pub(crate) fn remove_item(
    text: &str,
    seq: &Node,
    key: Option<&Node>,
    index: usize,
) -> Result<Vec<Splice>, EditError> {
    let items = seq
        .items()
        .ok_or_else(|| EditError::Internal("removing from a non-sequence".into()))?;
    if seq.flow {
        let spans: Vec<(usize, usize)> = items.iter().map(|i| (i.start, i.end)).collect();
        return Ok(vec![flow_remove(seq, &spans, index)]);
    }
    let item = &items[index];
    let dash = dash_of(text, item)?;
    let mut start = line_start(text, dash);
    let end = over_comments(text, line_end(text, item.end), column(text, dash));
    if end == text.len() && !text.ends_with('\n') && start > 0 {
        // The entry ends the file without a newline: take the newline before it instead.
        start -= 1;
        if text[..start].ends_with('\r') {
            start -= 1;
        }
    }
    let mut splices = vec![Splice::new(start, end, "")];
    if items.len() == 1 {
        let key = key.ok_or_else(|| {
            EditError::Unsupported("removing the only entry of a top-level list".into())
        })?;
        let colon = colon_after(text, key)?;
        splices.push(Splice::new(colon + 1, colon + 1, " []"));
    }
    Ok(splices)
}

/// Splices that remove `key` (entry `index`) from mapping `map`.
pub(crate) fn remove_key(text: &str, map: &Node, index: usize) -> Result<Vec<Splice>, EditError> {
    let entries = map
        .entries()
        .ok_or_else(|| EditError::Internal("removing a key from a non-mapping".into()))?;
    let (k, v) = &entries[index];
    if map.flow {
        let spans: Vec<(usize, usize)> = entries
            .iter()
            .map(|(k, v)| (k.start, v.end.max(k.end)))
            .collect();
        return Ok(vec![flow_remove(map, &spans, index)]);
    }
    if only_space_before(text, k.start) {
        let start = line_start(text, k.start);
        let end = over_comments(
            text,
            line_end(text, v.end.max(k.end)),
            column(text, k.start),
        );
        return Ok(vec![Splice::new(start, end, "")]);
    }
    // The key shares its line with a `- `: the next key moves up to take its place.
    match entries.get(index + 1) {
        Some((next, _)) if index == 0 => Ok(vec![Splice::new(k.start, next.start, "")]),
        _ => Err(EditError::Unsupported(
            "removing the only key of a list entry".into(),
        )),
    }
}

/// Splices that replace the value of `key` in `map` by `val`.
pub(crate) fn replace_value(
    text: &str,
    docs: &[Option<Node>],
    style: &Style,
    map: &Node,
    key: &Node,
    value: &Node,
    val: &Val,
) -> Result<Vec<Splice>, EditError> {
    let is_scalar_val = matches!(val, Val::Str(_) | Val::Bool(_));
    if style.json {
        let pretty = pretty_json(text, docs);
        let indent = line_indent(text, key.start).to_owned();
        let rendered = render::json(val, style, &indent, pretty, ", ");
        return Ok(vec![Splice::new(value.start, value.end, rendered)]);
    }
    match (&value.kind, is_scalar_val) {
        (Kind::Scalar { style: s, .. }, true)
            if !matches!(s, ScalarStyle::Literal | ScalarStyle::Folded) =>
        {
            let prefer = if value.is_null() && value.start == value.end {
                None
            } else {
                Some(*s)
            };
            let mut rendered = render::yaml_scalar(val, prefer, map.flow, style.quote);
            if value.start == value.end {
                // An empty value right after the colon.
                let colon = colon_after(text, key)?;
                rendered = format!(" {rendered}");
                return Ok(vec![Splice::new(colon + 1, colon + 1, rendered)]);
            }
            Ok(vec![Splice::new(value.start, value.end, rendered)])
        }
        _ if map.flow || value.flow && !is_scalar_val => {
            let rendered = render::flow_yaml(val, None, style.quote);
            let start = if value.start == value.end {
                colon_after(text, key)? + 1
            } else {
                value.start
            };
            let rendered = if value.start == value.end {
                format!(" {rendered}")
            } else {
                rendered
            };
            Ok(vec![Splice::new(start, value.end, rendered)])
        }
        _ => {
            // Block value replaced by a block rendering after the colon.
            let colon = colon_after(text, key)?;
            let col = column(text, key.start);
            let end = line_end(text, value.end.max(key.end));
            let rendered = render::block_value(val, col, style, None);
            let end_nl = end == text.len() && !text.ends_with('\n');
            let mut rendered = rendered;
            if end_nl {
                rendered.truncate(rendered.len() - style.nl.len());
            }
            Ok(vec![Splice::new(colon + 1, end, rendered)])
        }
    }
}
