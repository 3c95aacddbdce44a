//! `catalog --format json`: the cards as data, one document on stdout. Field names and meaning
//! are DESIGN.md's "Catalog"; values from annotations are as written (not trimmed), as the
//! console reads them.

use serde::Serialize;

use super::Catalog;

/// The document's format version.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    cards: Vec<CardJson<'a>>,
}

#[derive(Serialize)]
struct CardJson<'a> {
    namespace: &'a str,
    name: &'a str,
    display_name: &'a str,
    in_console: bool,
    reason: Option<&'static str>,
    default_tag: &'a str,
    tags: Vec<&'a str>,
    icon_class: Option<&'a str>,
    console_logo: bool,
    description: Option<&'a str>,
    sample_repo: Option<&'a str>,
    provider: Option<&'a str>,
}

/// The catalog as pretty JSON with a final newline; cards by namespace then name.
pub fn render(catalog: &Catalog) -> String {
    let mut cards: Vec<CardJson<'_>> = catalog
        .cards
        .iter()
        .map(|c| CardJson {
            namespace: &c.key.namespace,
            name: &c.key.name,
            display_name: &c.display_name,
            in_console: c.in_console(),
            reason: c.reason.map(super::Reason::code),
            default_tag: &c.default_tag().tag,
            tags: c.versions.iter().map(|v| v.tag.as_str()).collect(),
            icon_class: c.icon_class.as_deref(),
            console_logo: c.console_logo,
            description: c.description.as_deref(),
            sample_repo: c.sample_repo.as_deref(),
            provider: c.provider.as_deref(),
        })
        .collect();
    cards.sort_by(|a, b| (a.namespace, a.name).cmp(&(b.namespace, b.name)));
    let mut out = serde_json::to_string_pretty(&Document {
        format_version: FORMAT_VERSION,
        cards,
    })
    .unwrap_or_default();
    out.push('\n');
    escape_bidi(&out)
}

/// Direction controls written as JSON escapes (`\u202e`), so that the document, valid as it
/// is, never shows text in another order than it reads. They can only be inside strings.
fn escape_bidi(json: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{61c}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn direction_controls_are_json_escapes() {
        let text = super::escape_bidi("{\"a\": \"x\u{202e}y\u{61c}\"}");
        assert_eq!(text, "{\"a\": \"x\\u202ey\\u061c\"}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["a"], "x\u{202e}y\u{61c}");
    }
}
