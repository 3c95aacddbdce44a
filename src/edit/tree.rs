//! A YAML tree with exact byte ranges, built from the parser's event stream.
//!
//! The typed loader in `definition` keeps lines and columns for messages; the editor needs byte
//! offsets, and the end of every node, to cut and splice text. Block collections report no end
//! of their own, so a block node ends where its last descendant's content ends (trailing
//! whitespace of block scalars excluded).

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

use super::EditError;

/// One node with where its text starts and where its content ends (exclusive).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// First byte of the node's content (the `{` or `[` of a flow collection, the first key
    /// of a block mapping, the quote of a quoted scalar, the text of a block scalar).
    pub start: usize,
    /// One past the last byte of content.
    pub end: usize,
    /// Column of `start` in bytes.
    pub col: usize,
    /// Flow (`{}` / `[]`) rather than block notation.
    pub flow: bool,
    /// Written with a tag (`!!binary …`, `!custom …`): its meaning is the tag's, so it is
    /// never rewritten as a plain value.
    pub tagged: bool,
    /// What the node is.
    pub kind: Kind,
}

/// Scalar, sequence, mapping or alias.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A scalar with its decoded value and style.
    Scalar { value: String, style: ScalarStyle },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping: key nodes (scalars) with their values.
    Map(Vec<(Node, Node)>),
    /// `*alias`.
    Alias,
}

impl Node {
    /// The scalar text of this node, when it is a scalar.
    pub fn str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The entries when this is a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The items when this is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(i) => Some(i),
            _ => None,
        }
    }

    /// The key node and value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The value of `key` in a mapping.
    pub fn value(&self, key: &str) -> Option<&Node> {
        self.get(key).map(|(_, v)| v)
    }

    /// Whether this is a null scalar (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar { value, style } => {
                *style == ScalarStyle::Plain
                    && matches!(value.as_str(), "~" | "null" | "Null" | "NULL" | "")
            }
            _ => false,
        }
    }

    /// The scalar style, when this is a scalar.
    pub fn style(&self) -> Option<ScalarStyle> {
        match &self.kind {
            Kind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }
}

type Events<'t> = std::iter::Peekable<Parser<'t, serde_saphyr::granit_parser::StrInput<'t>>>;

/// Parse every document of `text` into its root node (`None` for an empty document).
pub(crate) fn parse(text: &str) -> Result<Vec<Option<Node>>, EditError> {
    let mut events: Events<'_> = Parser::new_from_str(text).peekable();
    let mut docs = Vec::new();
    while let Some(next) = events.next() {
        let (event, _) = next.map_err(|e| EditError::Parse(e.to_string()))?;
        match event {
            Event::DocumentStart(..) => {
                let root = match events.peek() {
                    Some(Ok((Event::DocumentEnd, _))) => None,
                    _ => Some(node(text, &mut events)?),
                };
                docs.push(root);
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    Ok(docs)
}

fn next_event<'t>(
    events: &mut Events<'t>,
) -> Result<(Event<'t>, std::ops::Range<usize>), EditError> {
    loop {
        let (event, span) = events
            .next()
            .ok_or_else(|| EditError::Parse("unexpected end of the document".into()))?
            .map_err(|e| EditError::Parse(e.to_string()))?;
        let range = span
            .byte_range()
            .ok_or_else(|| EditError::Parse("the parser gave no byte offsets".into()))?;
        match event {
            // Presentation-only events carry no node.
            Event::Anchor(..) => continue,
            #[allow(unreachable_patterns)]
            _ => return Ok((event, range)),
        }
    }
}

fn col(text: &str, pos: usize) -> usize {
    pos - text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

fn node(text: &str, events: &mut Events<'_>) -> Result<Node, EditError> {
    let (event, range) = next_event(events)?;
    match event {
        Event::Scalar(value, style, _, tag) => {
            let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                // The span runs on to the next token's indentation; keep the content only.
                // With `+` (keep) the trailing blank lines are content too: end at the last
                // line break, so nothing is ever inserted between them and the text.
                let span = &text[range.clone()];
                let header_start = text[..range.start].rfind(['|', '>']).unwrap_or(range.start);
                let header = text[header_start..range.start].lines().next().unwrap_or("");
                match span.rfind('\n') {
                    Some(i) if header.contains('+') => range.start + i,
                    _ => range.start + span.trim_end_matches([' ', '\t', '\r', '\n']).len(),
                }
            } else {
                range.end
            };
            Ok(Node {
                start: range.start,
                end: end.max(range.start),
                col: col(text, range.start),
                flow: false,
                tagged: tag.is_some(),
                kind: Kind::Scalar {
                    value: value.into_owned(),
                    style,
                },
            })
        }
        Event::Alias(_) | Event::UnresolvedAlias(_) => Ok(Node {
            start: range.start,
            end: range.end,
            col: col(text, range.start),
            flow: false,
            tagged: false,
            kind: Kind::Alias,
        }),
        Event::SequenceStart(style, _, tag) => {
            let mut items = Vec::new();
            loop {
                if let Some(Ok((Event::SequenceEnd, _))) = events.peek() {
                    let (_, end_range) = next_event(events)?;
                    let flow = style == StructureStyle::Flow;
                    let end = if flow {
                        end_range.end
                    } else {
                        items
                            .iter()
                            .map(|n: &Node| n.end)
                            .max()
                            .unwrap_or(range.start)
                    };
                    return Ok(Node {
                        start: range.start,
                        end,
                        col: col(text, range.start),
                        flow,
                        tagged: tag.is_some(),
                        kind: Kind::Seq(items),
                    });
                }
                items.push(node(text, events)?);
            }
        }
        Event::MappingStart(style, _, tag) => {
            let mut entries: Vec<(Node, Node)> = Vec::new();
            loop {
                if let Some(Ok((Event::MappingEnd, _))) = events.peek() {
                    let (_, end_range) = next_event(events)?;
                    let flow = style == StructureStyle::Flow;
                    let end = if flow {
                        end_range.end
                    } else {
                        entries
                            .iter()
                            .map(|(k, v)| k.end.max(v.end))
                            .max()
                            .unwrap_or(range.start)
                    };
                    return Ok(Node {
                        start: range.start,
                        end,
                        col: col(text, range.start),
                        flow,
                        tagged: tag.is_some(),
                        kind: Kind::Map(entries),
                    });
                }
                let key = node(text, events)?;
                let value = node(text, events)?;
                entries.push((key, value));
            }
        }
        other => Err(EditError::Parse(format!(
            "unexpected YAML event {other:?} where a value was expected"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ends_are_content_ends() {
        let text = "a:\n  b: |\n    x\n\n  c: [1, 2]\nd: 1\n";
        let docs = parse(text).unwrap();
        let root = docs[0].as_ref().unwrap();
        let a = root.value("a").unwrap();
        assert_eq!(&text[a.start..a.end], "b: |\n    x\n\n  c: [1, 2]");
        let b = a.value("b").unwrap();
        assert_eq!(&text[b.start..b.end], "x");
        let keep = "a: |+\n  x\n\n\nb: 1\n";
        let docs = parse(keep).unwrap();
        let a = docs[0].as_ref().unwrap().value("a").unwrap();
        assert_eq!(&keep[a.start..a.end], "x\n\n");
    }
}
