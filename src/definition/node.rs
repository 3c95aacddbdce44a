//! A generic YAML tree that remembers where every key and value came from.
//!
//! Definitions are read into this tree first (through serde-saphyr, whose budgets refuse alias
//! bombs), and only then converted into the typed model, so that every diagnostic can point at
//! the exact line and column of the offending key or value, and one file can report many
//! problems at once.

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
