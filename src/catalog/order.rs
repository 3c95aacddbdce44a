//! The console's order of builder tags (openshift/console `getBuilderTagsSortedByVersion`):
//! `semver.coerce` of each tag name, highest first; names that do not coerce after every name
//! that does, in `String.prototype.localeCompare` order; equal versions keep their order (the
//! sort is stable, and the spec tags come sorted by name, as OpenShift stores them).
//!
//! [`coerce`] is node-semver 7's `coerce` without options, exactly: the first
//! `(^|[^\d])(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?:$|[^\d])` match, missing parts 0,
//! and then `parse` of `major.minor.patch`, which fails (so the name does not coerce at all) when
//! a part has a leading zero (`01`, `1.02`) or is above `Number.MAX_SAFE_INTEGER`.
//!
//! [`locale_compare`] approximates `localeCompare` in a browser (ICU's root collation, as in an
//! English locale): white space, then ASCII punctuation and symbols in ICU's order
//! (`_-,;:!?.'"()[]{}@*/\&#%`^+<=>|~$`), then digits (one by one, not as numbers), then letters
//! ignoring case; on a tie, lower case before upper case at the first difference. Characters
//! outside ASCII come after all of these by code point (ICU would interleave accented letters
//! with their base letters); OpenShift tag names are ASCII (`[\w][\w.-]*`), so the difference
//! does not show for a valid tag.

use std::cmp::Ordering;

/// The largest integer JavaScript holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// `(major, minor, patch)`.
pub type Version = (u64, u64, u64);

/// `semver.coerce(name)`, or `None` when it returns `null`.
pub fn coerce(name: &str) -> Option<Version> {
    let b = name.as_bytes();
    let run = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    // The regex starts a match at the first digit run that follows a non-digit (or the start)
    // and is at most 16 digits long; a longer run cannot be followed by the closing `[^\d]`.
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let len = run(i);
        if len > 16 {
            i += len;
            continue;
        }
        let mut parts = vec![&name[i..i + len]];
        let mut at = i + len;
        // Each optional `\.(\d{1,16})` takes a whole run of at most 16 digits, or nothing.
        while parts.len() < 3 && at < b.len() && b[at] == b'.' {
            let n = run(at + 1);
            if n == 0 || n > 16 {
                break;
            }
            parts.push(&name[at + 1..at + 1 + n]);
            at += 1 + n;
        }
        // `parse` of the coerced version: numeric identifiers have no leading zero and fit.
        let mut out = [0u64; 3];
        for (slot, part) in out.iter_mut().zip(&parts) {
            if part.len() > 1 && part.starts_with('0') {
                return None;
            }
            let n: u64 = part.parse().ok()?;
            if n > MAX_SAFE_INTEGER {
                return None;
            }
            *slot = n;
        }
        return Some((out[0], out[1], out[2]));
    }
    None
}

/// The console's comparison of two builder tag names (negative: `a` comes first).
pub fn console_order(a: &str, b: &str) -> Ordering {
    match (coerce(a), coerce(b)) {
        (None, None) => locale_compare(a, b),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => y.cmp(&x),
    }
}

/// Sort tag names the console's way, stably (equal versions keep their order).
pub fn sort<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| console_order(name(a), name(b)));
}

/// The ICU order of the printable ASCII characters other than letters and digits.
const PUNCTUATION: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/// The primary weight of a character (case folded) and its case (0 lower or caseless, 1 upper).
fn weight(c: char) -> (u32, u8) {
    match c {
        c if c.is_whitespace() => (1, 0),
        c if c.is_ascii_digit() => (100 + (c as u32 - '0' as u32), 0),
        c if c.is_ascii_lowercase() => (200 + (c as u32 - 'a' as u32), 0),
        c if c.is_ascii_uppercase() => (200 + (c as u32 - 'A' as u32), 1),
        c => match PUNCTUATION.find(c) {
            Some(i) => (10 + i as u32, 0),
            None => (1000 + c as u32, 0),
        },
    }
}

/// `a.localeCompare(b)`, approximated as the module says.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    let primary = |s: &str| s.chars().map(|c| weight(c).0).collect::<Vec<_>>();
    let tertiary = |s: &str| s.chars().map(|c| weight(c).1).collect::<Vec<_>>();
    primary(a)
        .cmp(&primary(b))
        .then_with(|| tertiary(a).cmp(&tertiary(b)))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coerce_matches_node_semver() {
        // Each value is what node-semver 7.8.5's `coerce(name).version` printed (or null).
        let cases: &[(&str, Option<Version>)] = &[
            ("01", None),
            ("1.02", None),
            ("v01.2", None),
            ("3.11", Some((3, 11, 0))),
            ("latest", None),
            ("1.12345678901234567", Some((1, 0, 0))),
            ("12345678901234567", None),
            ("9007199254740991", Some((9_007_199_254_740_991, 0, 0))),
            ("9007199254740992", None),
            ("1234567890123456", Some((1_234_567_890_123_456, 0, 0))),
            ("22-ubi9", Some((22, 0, 0))),
            ("8.0-el8", Some((8, 0, 0))),
            ("a01b2", None),
            ("1.2.3.4", Some((1, 2, 3))),
            ("x1.0", Some((1, 0, 0))),
            ("0", Some((0, 0, 0))),
            ("00", None),
            ("1.0-0", Some((1, 0, 0))),
            ("2-1.3", Some((2, 0, 0))),
            ("1.00", None),
            ("ubi9-3.12", Some((9, 0, 0))),
            ("1.", Some((1, 0, 0))),
            ("1..2", Some((1, 0, 0))),
        ];
        for (name, want) in cases {
            assert_eq!(coerce(name), *want, "{name}");
        }
    }

    #[test]
    fn locale_order_matches_a_browser() {
        // The order node 20's `localeCompare` (ICU) gives these names.
        let want = [
            "_x",
            "-x",
            "a",
            "A",
            "b",
            "B",
            "Latest",
            "latest-ubi",
            "stable",
            "x_y",
            "x-y",
            "xy",
            "z",
        ];
        let mut got = want.to_vec();
        got.reverse();
        got.sort_by(|a, b| locale_compare(a, b));
        assert_eq!(got, want);
        assert_eq!(locale_compare("aB", "Ab"), Ordering::Less);
        assert_eq!(locale_compare("ab", "Aa"), Ordering::Greater);
    }

    /// `tests/fixtures/catalog/node-order.tsv`: random names, each with a second name, the
    /// sign of node 20's `a.localeCompare(b)` and node-semver 7.8.5's `coerce(a)` (empty for
    /// null), as node printed them.
    #[test]
    fn random_names_match_node() {
        let text = include_str!("../../tests/fixtures/catalog/node-order.tsv");
        let mut lines = 0;
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let want = match f[2] {
                "-1" => Ordering::Less,
                "1" => Ordering::Greater,
                _ => Ordering::Equal,
            };
            assert_eq!(locale_compare(f[0], f[1]), want, "{line}");
            let got = coerce(f[0]).map(|(a, b, c)| format!("{a}.{b}.{c}"));
            assert_eq!(got.as_deref().unwrap_or(""), f[3], "{line}");
            lines += 1;
        }
        assert!(lines > 2000);
    }

    #[test]
    fn console_order_of_sample_library_names() {
        let mut tags = vec![
            "1.24-ubi8",
            "1.24-ubi9",
            "1.26-ubi9",
            "latest",
            "9.6-el8",
            "stable",
            "10",
            "3.3-ubi8",
            "3.11",
            "3.9",
        ];
        tags.sort();
        sort(&mut tags, |t| t);
        assert_eq!(
            tags,
            [
                "10",
                "9.6-el8",
                "3.11",
                "3.9",
                "3.3-ubi8",
                "1.26-ubi9",
                "1.24-ubi8",
                "1.24-ubi9",
                "latest",
                "stable"
            ]
        );
    }
}
