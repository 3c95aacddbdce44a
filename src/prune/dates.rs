//! Dates inside tag names (`nightly-20240301`, `v2.0.1-may-2016`, `2024-03-01`).

use chrono::NaiveDate;

/// A date found in a tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedTag {
    /// The date.
    pub date: NaiveDate,
    /// The tag with the date replaced by `*` (its series).
    pub series: String,
}

/// The date in `tag`, if it has one.
pub fn find_date(tag: &str) -> Option<DatedTag> {
    let bytes = tag.as_bytes();
    for start in 0..bytes.len() {
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            continue;
        }
        for (len, fmt) in [(10, "%Y-%m-%d"), (10, "%Y.%m.%d"), (8, "%Y%m%d")] {
            let Some(s) = tag.get(start..start + len) else {
                continue;
            };
            if tag
                .as_bytes()
                .get(start + len)
                .is_some_and(u8::is_ascii_digit)
            {
                continue;
            }
            if let Ok(date) = NaiveDate::parse_from_str(s, fmt) {
                return Some(DatedTag {
                    date,
                    series: format!("{}*{}", &tag[..start], &tag[start + len..]),
                });
            }
        }
    }
    None
}

/// Whether `tag` carries a full `major.minor.patch` version.
pub fn has_full_version(tag: &str) -> bool {
    tag.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|part| {
            part.split('.').filter(|p| !p.is_empty()).count() >= 3 && !part.starts_with('.')
        })
}
