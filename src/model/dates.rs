//! Dates inside tag names (`nightly-20240301`, `v2.0.1-may-2016`, `2024-03-01`,
//! `RELEASE.2024-03-01T12-00-00Z`), and the *series* a dated tag belongs to: the tag with its
//! date replaced by `*`. Pure string work; knows nothing of streams, policies or time "now".
//!
//! The recogniser prefers missing a date over inventing one, because a false date makes a tag
//! look stale: a number glued to other digits, a run inside a git sha, a month outside 1–12 or
//! a two-part version such as `v20.10` is not a date.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveTime};
use regex::{Captures, Regex};

/// How exact the date in the name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// A day (`20240301`, `2024-03-01`).
    Day,
    /// A month only (`may-2016`): the date is the first of that month.
    Month,
}

/// A date found in a tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedTag {
    /// The date (the first of the month for [`Precision::Month`]).
    pub date: NaiveDate,
    /// The time of day, when the name carries one (`20240301T120000Z`).
    pub time: Option<NaiveTime>,
    /// Day or month.
    pub precision: Precision,
    /// The tag with the date replaced by `*` (its series), e.g. `nightly-*`.
    pub series: String,
    /// Byte offset of the date's first character in the tag.
    pub start: usize,
    /// Byte offset just past the date (and time) in the tag.
    pub end: usize,
}

impl DatedTag {
    /// The last day the name can mean: the date itself, or the month's last day for a
    /// month-only name. Ages are counted from here, so a tag is never judged older than it is.
    pub fn latest_day(&self) -> NaiveDate {
        match self.precision {
            Precision::Day => self.date,
            Precision::Month => last_day_of_month(self.date),
        }
    }

    /// Sort key within a series: later dates (and times) sort greater.
    pub fn sort_key(&self) -> (NaiveDate, NaiveTime) {
        (self.latest_day(), self.time.unwrap_or(NaiveTime::MIN))
    }
}

fn last_day_of_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

/// Years a tag date may carry; outside this range a number is not taken for a date.
const YEARS: std::ops::RangeInclusive<i32> = 1980..=2099;

/// A hexadecimal run at least this long that holds a date-like part is a hash, not a date.
const HASH_RUN: usize = 12;

const TIME_SUFFIX_SEPARATED: &str =
    r"(?:[Tt](?P<hh>\d{2})[-:_]?(?P<mi>\d{2})(?:[-:_]?(?P<ss>\d{2}))?(?:\.\d{1,9})?[Zz]?)?";

static SEPARATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?P<y>\d{{4}})(?P<s1>[-._])(?P<m>\d{{2}})(?P<s2>[-._])(?P<d>\d{{2}}){TIME_SUFFIX_SEPARATED}"
    ))
    .expect("valid regex")
});
static COMPACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[Tt]?(?P<hh>\d{2})(?P<mi>\d{2})(?P<ss>\d{2})?[Zz]?)?",
    )
    .expect("valid regex")
});
static MONTH_YEAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<mon>[A-Za-z]+)[-._]?(?P<y>\d{4})").expect("valid regex"));
static YEAR_MONTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<y>\d{4})[-._]?(?P<mon>[A-Za-z]+)").expect("valid regex"));
static FULL_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+(?:\.\d+){2,}$").expect("valid regex"));

/// The month named `word` (English, full or three-letter, `sept` too), case-insensitive.
pub fn month_number(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.to_ascii_lowercase();
    if w == "sept" {
        return Some(9);
    }
    NAMES
        .iter()
        .position(|n| w == *n || (w.len() == 3 && n.starts_with(&w)))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Recognises dates with the built-in forms plus extra patterns from the policies.
#[derive(Debug, Clone, Default)]
pub struct Recognizer {
    extra: Vec<Regex>,
}

/// Why an extra date pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The regex does not compile.
    #[error("invalid regular expression: {0}")]
    Syntax(String),
    /// A required named group is missing.
    #[error("the pattern has no named group `{0}`")]
    MissingGroup(&'static str),
}

/// Compile one extra pattern: a regex with named groups `year` and `month` (and optionally
/// `day`); `month` may match a number or a month name.
pub fn compile_pattern(pattern: &str) -> Result<Regex, PatternError> {
    let re = Regex::new(pattern).map_err(|e| {
        PatternError::Syntax(
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        )
    })?;
    let names: Vec<&str> = re.capture_names().flatten().collect();
    for group in ["year", "month"] {
        if !names.contains(&group) {
            return Err(PatternError::MissingGroup(group));
        }
    }
    Ok(re)
}

impl Recognizer {
    /// The built-in forms only.
    pub fn new() -> Self {
        Recognizer::default()
    }

    /// The built-in forms plus `patterns` (see [`compile_pattern`]); tried before the built-ins.
    pub fn with_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, (usize, PatternError)> {
        let extra = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| compile_pattern(p.as_ref()).map_err(|e| (i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Recognizer { extra })
    }

    /// The date in `tag`, if it has one (the leftmost; the longest at the same place).
    pub fn find(&self, tag: &str) -> Option<DatedTag> {
        for re in &self.extra {
            if let Some(found) = extra_match(re, tag) {
                return Some(found);
            }
        }
        let mut best: Option<DatedTag> = None;
        for found in [
            scan(&SEPARATED, tag, separated),
            scan(&COMPACT, tag, compact),
            scan(&MONTH_YEAR, tag, month_name),
            scan(&YEAR_MONTH, tag, month_name),
        ]
        .into_iter()
        .flatten()
        {
            let better = best.as_ref().is_none_or(|b| {
                found.start < b.start || (found.start == b.start && found.end > b.end)
            });
            if better {
                best = Some(found);
            }
        }
        best
    }
}

/// The date in `tag` by the built-in forms, if it has one.
pub fn find_date(tag: &str) -> Option<DatedTag> {
    Recognizer::new().find(tag)
}

/// Whether `tag` carries a full `major.minor.patch` version outside its date: `v2.0.1-may-2016`
/// does, `2024.03.01` and `v2.0-20240301` do not.
pub fn has_full_version(tag: &str) -> bool {
    let undated = find_date(tag).map_or_else(|| tag.to_owned(), |d| d.series);
    full_version(&undated).is_some()
}

/// The first full version (`v2.0.1`, `1.2.3.4`) in `text`, with its `v` when it has one.
pub fn full_version(text: &str) -> Option<&str> {
    let mut start = 0;
    for part in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let at = start;
        start += part.len() + 1;
        if FULL_VERSION.is_match(part) {
            let from = if at > 0 && matches!(text.as_bytes()[at - 1], b'v' | b'V') {
                at - 1
            } else {
                at
            };
            return Some(&text[from..at + part.len()]);
        }
    }
    None
}

/// The moving tag a full version belongs under: `v2.0.1` → `v2.0`.
pub fn moving_version(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The moving tag a dated series stands for: `nightly-*` → `nightly`, `*` → `latest`.
pub fn moving_name(series: &str) -> String {
    let name = series
        .replace("-*", "")
        .replace("*-", "")
        .replace("_*", "")
        .replace("*_", "")
        .replace(".*", "")
        .replace("*.", "")
        .replace('*', "");
    if name.is_empty() {
        "latest".to_owned()
    } else {
        name
    }
}

/// The date as a person reads it: `2024-03-01`, or `2016-05` for a month-only name.
pub fn describe(d: &DatedTag) -> String {
    match d.precision {
        Precision::Day => d.date.format("%Y-%m-%d").to_string(),
        Precision::Month => d.date.format("%Y-%m").to_string(),
    }
}

/// The first acceptable match of `re` in `tag`, trying every start position so that a
/// rejected match does not hide a later one.
fn scan(
    re: &Regex,
    tag: &str,
    accept: fn(&Captures<'_>, &str) -> Option<DatedTag>,
) -> Option<DatedTag> {
    let mut at = 0;
    while at < tag.len() {
        let caps = re.captures_at(tag, at)?;
        let whole = caps.get(0)?;
        if let Some(found) = accept(&caps, tag) {
            return Some(found);
        }
        at = next_char(tag, whole.start());
    }
    None
}

fn next_char(s: &str, i: usize) -> usize {
    s[i..].chars().next().map_or(s.len(), |c| i + c.len_utf8())
}

fn num(caps: &Captures<'_>, name: &str) -> Option<u32> {
    caps.name(name)?.as_str().parse().ok()
}

fn digit_at(tag: &str, i: usize) -> bool {
    tag.as_bytes().get(i).is_some_and(u8::is_ascii_digit)
}

fn letter_at(tag: &str, i: usize) -> bool {
    tag.as_bytes().get(i).is_some_and(u8::is_ascii_alphabetic)
}

/// Whether `start..end` lies inside a long hexadecimal run with letters and digits (a sha).
fn inside_hash(tag: &str, start: usize, end: usize) -> bool {
    let b = tag.as_bytes();
    if !b[start..end].iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let mut lo = start;
    while lo > 0 && b[lo - 1].is_ascii_hexdigit() {
        lo -= 1;
    }
    let mut hi = end;
    while hi < b.len() && b[hi].is_ascii_hexdigit() {
        hi += 1;
    }
    let run = &b[lo..hi];
    run.len() >= HASH_RUN
        && run.iter().any(u8::is_ascii_digit)
        && run.iter().any(u8::is_ascii_alphabetic)
}

fn make(
    tag: &str,
    date: NaiveDate,
    time: Option<NaiveTime>,
    precision: Precision,
    start: usize,
    end: usize,
) -> Option<DatedTag> {
    if !YEARS.contains(&date.year()) || inside_hash(tag, start, end) {
        return None;
    }
    Some(DatedTag {
        date,
        time,
        precision,
        series: format!("{}*{}", &tag[..start], &tag[end..]),
        start,
        end,
    })
}

/// The time groups of a match: `Ok(None)` when absent, `Err` when present but impossible.
fn time_of(caps: &Captures<'_>) -> Result<Option<NaiveTime>, ()> {
    let Some(h) = num(caps, "hh") else {
        return Ok(None);
    };
    let m = num(caps, "mi").ok_or(())?;
    let s = num(caps, "ss").unwrap_or(0);
    NaiveTime::from_hms_opt(h, m, s).map(Some).ok_or(())
}

/// The end of the date part alone (without any time).
fn date_end(caps: &Captures<'_>) -> Option<usize> {
    Some(caps.name("d")?.end())
}

fn day_date(caps: &Captures<'_>, tag: &str) -> Option<DatedTag> {
    let whole = caps.get(0)?;
    let y = i32::try_from(num(caps, "y")?).ok()?;
    let date = NaiveDate::from_ymd_opt(y, num(caps, "m")?, num(caps, "d")?)?;
    if whole.start() > 0 && digit_at(tag, whole.start() - 1) {
        return None;
    }
    match time_of(caps) {
        Ok(time) if !digit_at(tag, whole.end()) => {
            make(tag, date, time, Precision::Day, whole.start(), whole.end())
        }
        // An impossible or glued-on time: the date alone may still stand, if no digit
        // follows it directly.
        _ => {
            let end = date_end(caps)?;
            if digit_at(tag, end) {
                return None;
            }
            make(tag, date, None, Precision::Day, whole.start(), end)
        }
    }
}

fn separated(caps: &Captures<'_>, tag: &str) -> Option<DatedTag> {
    // `2024-03.01` mixes separators: a version or a range, not a date.
    if caps.name("s1")?.as_str() != caps.name("s2")?.as_str() {
        return None;
    }
    day_date(caps, tag)
}

fn compact(caps: &Captures<'_>, tag: &str) -> Option<DatedTag> {
    day_date(caps, tag)
}

fn month_name(caps: &Captures<'_>, tag: &str) -> Option<DatedTag> {
    let whole = caps.get(0)?;
    let mon = caps.name("mon")?;
    let year = caps.name("y")?;
    let month = month_number(mon.as_str())?;
    // The month must be a whole word, and the year a whole number.
    if (mon.start() > 0 && letter_at(tag, mon.start() - 1)) || letter_at(tag, mon.end()) {
        return None;
    }
    if (year.start() > 0 && digit_at(tag, year.start() - 1)) || digit_at(tag, year.end()) {
        return None;
    }
    let y = year.as_str().parse().ok()?;
    let date = NaiveDate::from_ymd_opt(y, month, 1)?;
    make(
        tag,
        date,
        None,
        Precision::Month,
        whole.start(),
        whole.end(),
    )
}

fn extra_match(re: &Regex, tag: &str) -> Option<DatedTag> {
    let caps = re.captures(tag)?;
    let year = caps.name("year")?;
    let month = caps.name("month")?;
    let mut y: i32 = year.as_str().parse().ok()?;
    if year.as_str().len() == 2 {
        y += 2000;
    }
    let m = month
        .as_str()
        .parse()
        .ok()
        .or_else(|| month_number(month.as_str()))?;
    let day = caps.name("day");
    let (d, precision) = match day {
        Some(d) => (d.as_str().parse().ok()?, Precision::Day),
        None => (1, Precision::Month),
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let groups = [Some(year), Some(month), day];
    let start = groups.iter().flatten().map(regex::Match::start).min()?;
    let end = groups.iter().flatten().map(regex::Match::end).max()?;
    if !YEARS.contains(&date.year()) {
        return None;
    }
    Some(DatedTag {
        date,
        time: None,
        precision,
        series: format!("{}*{}", &tag[..start], &tag[end..]),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tag, expected date as `YYYY-MM-DD`, expected series); `None` for undated tags.
    const TABLE: &[(&str, Option<(&str, &str)>)] = &[
        // Compact and separated days.
        ("20240301", Some(("2024-03-01", "*"))),
        ("nightly-20240301", Some(("2024-03-01", "nightly-*"))),
        ("2024-03-01", Some(("2024-03-01", "*"))),
        ("2019-05-01", Some(("2019-05-01", "*"))),
        ("2024.03.01", Some(("2024-03-01", "*"))),
        ("build_2024_03_01", Some(("2024-03-01", "build_*"))),
        (
            "nightly-2024-03-01-amd64",
            Some(("2024-03-01", "nightly-*-amd64")),
        ),
        ("v1.2-20240301", Some(("2024-03-01", "v1.2-*"))),
        ("1.2.3-20231231", Some(("2023-12-31", "1.2.3-*"))),
        ("release20240229", Some(("2024-02-29", "release*"))),
        (
            "snapshot-20240301-a1b2c3d",
            Some(("2024-03-01", "snapshot-*-a1b2c3d")),
        ),
        // Timestamps.
        ("20240301T120000Z", Some(("2024-03-01", "*"))),
        ("20240301120000", Some(("2024-03-01", "*"))),
        ("202403011200", Some(("2024-03-01", "*"))),
        ("build-20240301T1200", Some(("2024-03-01", "build-*"))),
        (
            "RELEASE.2024-03-01T12-00-00Z",
            Some(("2024-03-01", "RELEASE.*")),
        ),
        ("2024-03-01T12-00-00Z-fips", Some(("2024-03-01", "*-fips"))),
        ("2024-03-01T12_00_00.123Z", Some(("2024-03-01", "*"))),
        ("20240301T999999", Some(("2024-03-01", "*T999999"))),
        // Month names with a year.
        ("v2.0.1-may-2016", Some(("2016-05-01", "v2.0.1-*"))),
        ("may-2016", Some(("2016-05-01", "*"))),
        ("2016-may", Some(("2016-05-01", "*"))),
        ("May2016", Some(("2016-05-01", "*"))),
        ("v1-SEPT-2021", Some(("2021-09-01", "v1-*"))),
        ("september.2021-rc", Some(("2021-09-01", "*-rc"))),
        ("2020dec", Some(("2020-12-01", "*"))),
        ("ubi8-jan_2023", Some(("2023-01-01", "ubi8-*"))),
        // The leftmost date wins.
        (
            "2023-01-01-to-2024-01-01",
            Some(("2023-01-01", "*-to-2024-01-01")),
        ),
        // Undated tags.
        ("latest", None),
        ("stable", None),
        ("v2.0", None),
        ("v2.0.1", None),
        ("v20.10", None),
        ("20.10.3", None),
        ("v2020.10", None),
        ("1.2024", None),
        ("3.11-ubi8", None),
        ("x86_64", None),
        // Impossible dates.
        ("20241301", None),
        ("20240332", None),
        ("2023-02-29", None),
        ("2024-13-01", None),
        ("2024.00.10", None),
        ("month-13-2024", None),
        // Numbers that only look like dates.
        ("4b825dc642cb6eb9a060e54bf8d69288fbee4904", None),
        ("a20240301b93c0a6e3d2f7e4c5b6a7d8e9f001122", None),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4", None),
        ("deadbeef2016dec4", None),
        ("build-1220240301", None),
        ("202403011", None),
        ("2024030112000", None),
        ("2024-03.01", None),
        ("19000101", None),
        ("marker2016", None),
        ("mayday2016", None),
        ("gmay2016", None),
        ("may20160", None),
        ("12345678", None),
    ];

    #[test]
    fn date_table() {
        assert!(TABLE.len() >= 40);
        let mut failures = Vec::new();
        for (tag, expected) in TABLE {
            let got = find_date(tag).map(|d| (d.date.to_string(), d.series));
            let want = expected.map(|(d, s)| (d.to_owned(), s.to_owned()));
            if got != want {
                failures.push(format!("{tag}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn times_and_precision() {
        let d = find_date("nightly-20240301T123456Z").unwrap();
        assert_eq!(d.time, NaiveTime::from_hms_opt(12, 34, 56));
        assert_eq!(d.precision, Precision::Day);
        assert_eq!((d.start, d.end), (8, 24));
        let m = find_date("v2.0.1-feb-2024").unwrap();
        assert_eq!(m.precision, Precision::Month);
        assert_eq!(m.latest_day().to_string(), "2024-02-29");
        let dec = find_date("dec-2023").unwrap();
        assert_eq!(dec.latest_day().to_string(), "2023-12-31");
        assert!(
            find_date("n-20240301T120000Z").unwrap().sort_key()
                > find_date("n-20240301T110000Z").unwrap().sort_key()
        );
    }

    #[test]
    fn full_versions() {
        for (tag, want) in [
            ("v2.0.1-may-2016", true),
            ("1.2.3-20240301", true),
            ("v2.0.1", true),
            ("10.0.19041.1234", true),
            ("2024.03.01", false),
            ("v2.0-20240301", false),
            ("RELEASE.2024-03-01T12-00-00Z", false),
            ("v20.10", false),
            ("latest", false),
            ("1..2.3", false),
        ] {
            assert_eq!(has_full_version(tag), want, "{tag}");
        }
        assert_eq!(full_version("v2.0.1-*"), Some("v2.0.1"));
        assert_eq!(full_version("build-1.2.3"), Some("1.2.3"));
        assert_eq!(moving_version("v2.0.1"), "v2.0");
        assert_eq!(moving_name("nightly-*"), "nightly");
        assert_eq!(moving_name("*"), "latest");
        assert_eq!(moving_name("RELEASE.*"), "RELEASE");
    }

    #[test]
    fn extra_patterns() {
        let r =
            Recognizer::with_patterns(&[r"^build(?P<year>\d{2})w(?P<month>\d{2})(?P<day>\d{2})$"])
                .unwrap();
        let d = r.find("build24w0301").unwrap();
        assert_eq!(d.date.to_string(), "2024-03-01");
        assert_eq!(d.series, "build*");
        // The built-ins still apply when the extra pattern does not match.
        assert_eq!(r.find("nightly-20240301").unwrap().series, "nightly-*");
        let named = Recognizer::with_patterns(&[r"(?P<month>[a-z]+)_(?P<year>\d{4})"]).unwrap();
        assert_eq!(
            named.find("x-march_2020").unwrap().date.to_string(),
            "2020-03-01"
        );
        assert_eq!(
            Recognizer::with_patterns(&["(?P<year>\\d{4})"]).unwrap_err(),
            (0, PatternError::MissingGroup("month"))
        );
        assert!(matches!(
            Recognizer::with_patterns(&["ok(?P<year>\\d{4})(?P<month>\\d\\d)", "("]).unwrap_err(),
            (1, PatternError::Syntax(_))
        ));
    }
}
