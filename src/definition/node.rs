//! A generic YAML tree that remembers where every key and value came from.
//!
//! Definitions are read into this tree first, straight from the YAML parser's events
//! ([`parse_documents`], with budgets that refuse alias bombs and runaway nesting), and only then
//! converted into the typed model, so that every diagnostic can point at the exact line and
//! column of the offending key or value, and one file can report many problems at once. It knows
//! nothing of ImageStreams. (A serde `Deserialize` for [`Node`] is kept for callers that hold
//! another serde-saphyr deserializer.)

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    fn from_location(loc: &serde_saphyr::Location) -> Self {
        Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX).max(1),
        }
    }
}

/// One value of the tree with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub value: Value,
}

/// A scalar, sequence or mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (kept as its display text for messages).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, keys with their own positions.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// Where the key starts.
    pub pos: Pos,
    /// The key as text.
    pub name: String,
}

impl Value {
    /// What kind of value this is, for messages ("expected a string, found a number").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The value under `key` in a mapping, with the key itself.
    pub fn get(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

// --- deserialization -------------------------------------------------------------------------

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(node) = seq.next_element::<Node>()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((
                Key {
                    pos: Pos::from_location(&key.referenced),
                    name: key.value.0,
                },
                value,
            ));
        }
        Ok(Value::Map(entries))
    }
}

struct RawValue(Value);

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(RawValue)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<RawValue>::deserialize(d)?;
        Ok(Node {
            pos: Pos::from_location(&spanned.referenced),
            value: spanned.value.0,
        })
    }
}

/// A mapping key read as text whatever its YAML type (`2.0:` is the key "2.0").
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor)? {
            Value::Str(s) => Ok(KeyText(s)),
            Value::Null => Ok(KeyText(String::new())),
            Value::Bool(b) => Ok(KeyText(b.to_string())),
            Value::Int(i) => Ok(KeyText(i.to_string())),
            Value::Float(f) => Ok(KeyText(f.to_string())),
            Value::Seq(_) | Value::Map(_) => Err(de::Error::custom(
                "a mapping key must be a plain value, not a list or mapping",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_nodes: 10_000,
        max_alias_nodes: 100,
        max_anchor_nodes: 1_000,
        max_depth: 16,
    };

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text, LIMITS).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    fn val(text: &str) -> Value {
        one(&format!("v: {text}\n"))
            .get("v")
            .unwrap()
            .1
            .value
            .clone()
    }

    #[test]
    fn events_tree_positions() {
        let root = one("a: 1\nb:\n  - x\n  - {c: 2.0}\n");
        let (k, v) = root.get("b").unwrap();
        assert_eq!((k.pos.line, k.pos.column), (2, 1));
        let Value::Seq(items) = &v.value else {
            panic!("{v:?}")
        };
        assert_eq!((items[0].pos.line, items[0].pos.column), (3, 5));
        assert_eq!((items[1].pos.line, items[1].pos.column), (4, 5));
        let (ck, cv) = items[1].get("c").unwrap();
        assert_eq!((ck.pos.line, ck.pos.column), (4, 6));
        assert_eq!(cv.value, Value::Float(2.0));
    }

    #[test]
    fn a_block_scalar_ending_the_text_without_a_line_break_has_none() {
        let value = |text: &str| {
            parse_documents(text, LIMITS).unwrap()[0]
                .get("a")
                .unwrap()
                .1
                .value
                .clone()
        };
        let s = |v: &str| Value::Str(v.into());
        assert_eq!(value("a: |\n  s3cr3t"), s("s3cr3t"));
        assert_eq!(value("a: |+\n  s3cr3t"), s("s3cr3t"));
        assert_eq!(value("a: >\n  x\n  y"), s("x y"));
        assert_eq!(value("a: |\n  s3cr3t\n"), s("s3cr3t\n"));
        assert_eq!(value("a: |\r\n  s3cr3t\r\n"), s("s3cr3t\n"));
        assert_eq!(value("a: |\n  s3cr3t\n  "), s("s3cr3t\n"));
        assert_eq!(value("a: |+\n  s3cr3t\n\n  "), s("s3cr3t\n\n"));
        assert_eq!(value("a: |-\n  s3cr3t"), s("s3cr3t"));
        assert_eq!(value("a: |\n  s3cr3t\nb: 1"), s("s3cr3t\n"));
    }

    #[test]
    fn scalars_resolve_like_kubernetes_yaml() {
        assert_eq!(val("2.0"), Value::Float(2.0));
        assert_eq!(val("'2.0'"), Value::Str("2.0".into()));
        assert_eq!(val("!!str 2.0"), Value::Str("2.0".into()));
        assert_eq!(val("20"), Value::Int(20));
        assert_eq!(val("-3"), Value::Int(-3));
        assert_eq!(val("0x1f"), Value::Int(31));
        assert_eq!(val("1e3"), Value::Float(1000.0));
        assert_eq!(val("yes"), Value::Bool(true));
        assert_eq!(val("Off"), Value::Bool(false));
        assert_eq!(val("~"), Value::Null);
        assert_eq!(val(""), Value::Null);
        assert_eq!(val("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(val("20260101"), Value::Int(20_260_101));
        assert_eq!(
            val("nightly-20260101"),
            Value::Str("nightly-20260101".into())
        );
        assert_eq!(val("v2"), Value::Str("v2".into()));
        assert_eq!(val("\"true\""), Value::Str("true".into()));
        assert_eq!(val("|\n  text\n"), Value::Str("text\n".into()));
    }

    #[test]
    fn documents_and_empty_documents() {
        let docs = parse_documents("a: 1\n---\n---\nb: 2\n", LIMITS).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].value, Value::Null);
        assert!(parse_documents("", LIMITS).unwrap().is_empty());
    }

    #[test]
    fn aliases_and_merge_keys() {
        let root = one("a: &x {k: 1, j: 2}\nb: *x\nc:\n  <<: *x\n  k: 3\n");
        assert_eq!(
            root.get("b").unwrap().1.get("k").unwrap().1.value,
            Value::Int(1)
        );
        let c = root.get("c").unwrap().1;
        assert_eq!(c.get("k").unwrap().1.value, Value::Int(3));
        assert_eq!(c.get("j").unwrap().1.value, Value::Int(2));
    }

    #[test]
    fn budgets_stop_before_copying() {
        let mut text = String::from("a: &a [");
        text.push_str(&vec!["x"; 60].join(","));
        text.push_str("]\nb: [*a, *a]\n");
        let e = parse_documents(&text, LIMITS).unwrap_err();
        assert_eq!(e.limit, Some(LimitKind::Aliases));
        assert_eq!((e.pos.line, e.pos.column), (2, 9));
        let deep = format!("{}1{}", "[".repeat(20), "]".repeat(20));
        let e = parse_documents(&deep, LIMITS).unwrap_err();
        assert_eq!(e.limit, Some(LimitKind::Depth));
        // Nested anchors without a single alias: each level would hold a copy.
        let mut nested = vec!["1"; 2_000].join(",");
        for _ in 0..10 {
            nested = format!("&a [{nested}]");
        }
        let e = parse_documents(&nested, LIMITS).unwrap_err();
        assert_eq!(e.limit, Some(LimitKind::Anchors));
        let wide = format!("[{}]", vec!["1"; 20_000].join(","));
        let e = parse_documents(&wide, LIMITS).unwrap_err();
        assert_eq!(e.limit, Some(LimitKind::Nodes));
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = parse_documents("a:\n\tb: 1\n", LIMITS).unwrap_err();
        assert_eq!(e.limit, None);
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("tabs"), "{}", e.message);
        let e = parse_documents("a: [1, 2\n", LIMITS).unwrap_err();
        assert!(!e.message.contains(" at char "), "{}", e.message);
        let e = parse_documents("{[a]: 1}\n", LIMITS).unwrap_err();
        assert!(e.message.contains("mapping key must be a plain value"));
    }

    #[test]
    fn positions_of_keys_and_values() {
        let docs: Vec<Node> =
            serde_saphyr::from_multiple("a: 1\nb:\n  - x\n  - {c: 2.0}\n---\n").unwrap();
        let root = &docs[0];
        let (k, v) = root.get("b").unwrap();
        assert_eq!((k.pos.line, k.pos.column), (2, 1));
        let Value::Seq(items) = &v.value else {
            panic!()
        };
        assert_eq!((items[1].pos.line, items[1].pos.column), (4, 5));
        let (ck, cv) = items[1].get("c").unwrap();
        assert_eq!(ck.pos.line, 4);
        assert_eq!(cv.value, Value::Float(2.0));
    }

    #[test]
    fn tab_indented_json_reads_as_yaml() {
        let text = "{\n\t\"kind\": \"ImageStream\",\n\t\"spec\": {\n\t\t\"tags\": []\n\t}\n}\n";
        let docs: Vec<Node> = serde_saphyr::from_multiple(text).unwrap();
        let (_, v) = docs[0].get("spec").unwrap();
        assert_eq!(v.pos.line, 3);
    }
}

// --- building the tree straight from parser events ---------------------------------------------

/// Limits that bound the work and memory one file may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Values in the tree, aliases expanded.
    pub max_nodes: usize,
    /// Values copied by alias expansion.
    pub max_alias_nodes: usize,
    /// Values held as copies of anchored subtrees (nested anchors each hold one).
    pub max_anchor_nodes: usize,
    /// Nesting of sequences and mappings.
    pub max_depth: usize,
}

/// Why a file could not be read into a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// Where.
    pub pos: Pos,
    /// What, without the position.
    pub message: String,
    /// The limit that stopped the load, if any.
    pub limit: Option<LimitKind>,
}

/// Which limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// [`Limits::max_nodes`].
    Nodes,
    /// [`Limits::max_alias_nodes`].
    Aliases,
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_anchor_nodes`].
    Anchors,
}

/// A collection being built.
enum Open {
    Seq(Pos, Vec<Node>, Option<usize>),
    Map(Pos, Vec<(Key, Node)>, Option<Key>, Option<usize>),
}

/// Every document of `text` as a positioned tree (empty documents are `Null`).
///
/// Built from the parser's events rather than through serde: one pass, no intermediate
/// values, and explicit budgets. Aliases are expanded by copying the anchored subtree, counted
/// against [`Limits`] before the copy is made, so alias bombs stop early and cheaply.
pub fn parse_documents(text: &str, limits: Limits) -> Result<Vec<Node>, LoadError> {
    use granit_parser::{Event, Parser};

    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Anchored subtrees by anchor id, with their sizes.
    let mut anchors: Vec<Option<(Node, usize)>> = Vec::new();
    let mut nodes = 0usize;
    let mut alias_nodes = 0usize;
    // Values held as anchor copies: nested anchors would otherwise copy a large subtree once
    // per level.
    let mut anchored_nodes = 0usize;
    let mut root: Option<Node> = None;

    let limit = |pos: Pos, kind: LimitKind| limit_error(&limits, pos, kind);

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let text = e.to_string();
            let message = match text.find(" at char ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            LoadError {
                pos: Pos {
                    line: u32::try_from(m.line()).unwrap_or(u32::MAX).max(1),
                    column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                },
                message,
                limit: None,
            }
        })?;
        let pos = Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        };
        // A finished value, with its anchor id (0: none).
        let (node, anchor) = match event {
            Event::StreamStart | Event::StreamEnd => continue,
            Event::DocumentStart(..) => {
                root = None;
                anchors.clear();
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Node {
                    pos,
                    value: Value::Null,
                }));
                continue;
            }
            Event::SequenceStart(_, anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(limit(pos, LimitKind::Depth));
                }
                stack.push(Open::Seq(pos, Vec::new(), (anchor > 0).then_some(anchor)));
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(limit(pos, LimitKind::Depth));
                }
                stack.push(Open::Map(
                    pos,
                    Vec::new(),
                    None,
                    (anchor > 0).then_some(anchor),
                ));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(p, items, anchor)) => (
                    Node {
                        pos: p,
                        value: Value::Seq(items),
                    },
                    anchor,
                ),
                _ => continue,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(p, entries, _, anchor)) => (
                    Node {
                        pos: p,
                        value: Value::Map(merge_keys(entries)),
                    },
                    anchor,
                ),
                _ => continue,
            },
            Event::Scalar(mut value, style, anchor, tag) => {
                if value.ends_with('\n') && unbroken_last_line(text, style, span.end.byte_offset())
                {
                    // The parser adds a line break the text does not have.
                    value.to_mut().pop();
                }
                let value = scalar(&value, style, tag.as_deref());
                (Node { pos, value }, (anchor > 0).then_some(anchor))
            }
            Event::Alias(id) => {
                let Some(Some((target, size))) = anchors.get(id) else {
                    return Err(LoadError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                        limit: None,
                    });
                };
                alias_nodes += size;
                if alias_nodes > limits.max_alias_nodes {
                    return Err(limit(pos, LimitKind::Aliases));
                }
                nodes += size;
                if nodes > limits.max_nodes {
                    return Err(limit(pos, LimitKind::Nodes));
                }
                // The copy keeps the anchor's positions: errors point at the original text.
                (target.clone(), None)
            }
            _ => continue,
        };
        nodes += 1;
        if nodes > limits.max_nodes {
            return Err(limit(pos, LimitKind::Nodes));
        }
        if let Some(id) = anchor {
            let size = count(&node);
            anchored_nodes += size;
            if anchored_nodes > limits.max_anchor_nodes {
                return Err(limit(pos, LimitKind::Anchors));
            }
            if anchors.len() <= id {
                anchors.resize(id + 1, None);
            }
            anchors[id] = Some((node.clone(), size));
        }
        attach(&mut stack, &mut root, node)?;
    }
    Ok(docs)
}

/// The error for a document that passes one of `limits`.
fn limit_error(limits: &Limits, pos: Pos, kind: LimitKind) -> LoadError {
    let message = match kind {
        LimitKind::Nodes => format!("the file holds more than {} values", limits.max_nodes),
        LimitKind::Aliases => format!(
            "anchors and aliases expand to more than {} values",
            limits.max_alias_nodes
        ),
        LimitKind::Anchors => format!(
            "anchored values hold more than {} values",
            limits.max_anchor_nodes
        ),
        LimitKind::Depth => format!(
            "lists and mappings nest deeper than {} levels",
            limits.max_depth
        ),
    };
    LoadError {
        pos,
        message,
        limit: Some(kind),
    }
}

/// Put a finished value where it belongs: the document root, the open list's next item, or
/// the open mapping's next key (a plain value) or that key's value.
fn attach(stack: &mut [Open], root: &mut Option<Node>, node: Node) -> Result<(), LoadError> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Open::Seq(_, items, _)) => items.push(node),
        Some(Open::Map(_, entries, key, _)) => match key.take() {
            None => {
                let name = match node.value {
                    Value::Str(s) => s,
                    Value::Null => String::new(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(LoadError {
                            pos: node.pos,
                            message: "a mapping key must be a plain value, not a list or mapping"
                                .into(),
                            limit: None,
                        });
                    }
                };
                *key = Some(Key {
                    pos: node.pos,
                    name,
                });
            }
            Some(k) => entries.push((k, node)),
        },
    }
    Ok(())
}

/// Whether a block scalar (`|`, `>`) ends the text on a content line without a line break:
/// then its value has no final line break, as YAML (and Kubernetes' decoder) reads it, where
/// the parser reports one. `end` is the byte where the scalar ends.
fn unbroken_last_line(text: &str, style: granit_parser::ScalarStyle, end: Option<usize>) -> bool {
    use granit_parser::ScalarStyle;
    matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
        && end == Some(text.len())
        && !text.ends_with(['\n', '\r'])
        && text
            .rsplit(['\n', '\r'])
            .next()
            .is_some_and(|last| !last.trim().is_empty())
}

/// Values in a subtree (the node itself included).
fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + count(v)).sum(),
        _ => 0,
    }
}

/// YAML merge keys (`<<: *base` or `<<: [*a, *b]`): entries of the merged mappings that the
/// mapping does not set itself, in their order, after its own.
fn merge_keys(entries: Vec<(Key, Node)>) -> Vec<(Key, Node)> {
    if !entries.iter().any(|(k, _)| k.name == "<<") {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for (k, v) in entries {
        if k.name != "<<" {
            own.push((k, v));
            continue;
        }
        match v.value {
            Value::Map(m) => merged.extend(m),
            Value::Seq(items) => {
                for item in items {
                    if let Value::Map(m) = item.value {
                        merged.extend(m);
                    }
                }
            }
            // Not a mapping: keep it as an ordinary key, so the converter reports it.
            other => own.push((
                k,
                Node {
                    pos: v.pos,
                    value: other,
                },
            )),
        }
    }
    for (k, v) in merged {
        if !own.iter().any(|(o, _)| o.name == k.name) {
            own.push((k, v));
        }
    }
    own
}

/// Resolve a scalar the way Kubernetes' YAML reader does (YAML 1.1 booleans such as `yes` and
/// `on`, integers, floats, null); quoted and block scalars are strings.
fn scalar(
    text: &str,
    style: granit_parser::ScalarStyle,
    tag: Option<&granit_parser::Tag>,
) -> Value {
    if let Some(tag) = tag
        && tag.is_yaml_core_schema()
    {
        match tag.suffix() {
            "str" => return Value::Str(text.to_owned()),
            "null" => return Value::Null,
            _ => {}
        }
    }
    if style != granit_parser::ScalarStyle::Plain {
        return Value::Str(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let bytes = text.as_bytes();
    let first = bytes[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(text.to_owned());
    }
    let digits = text.trim_start_matches(['-', '+']);
    if let Some(hex) = digits.strip_prefix("0x")
        && let Ok(v) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(if text.starts_with('-') { -v } else { v });
    }
    if let Some(oct) = digits.strip_prefix("0o")
        && let Ok(v) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(if text.starts_with('-') { -v } else { v });
    }
    if bytes
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+'))
    {
        if let Ok(v) = text.parse::<i64>() {
            return Value::Int(v);
        }
        if let Ok(v) = text.parse::<f64>() {
            return Value::Float(v);
        }
    }
    let float_chars = bytes
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if float_chars
        && bytes.iter().any(u8::is_ascii_digit)
        && let Ok(v) = text.parse::<f64>()
    {
        return Value::Float(v);
    }
    Value::Str(text.to_owned())
}
