//! The three renderings of a prune [`Report`]: a text table for a terminal (ending with the
//! next step a person takes), Markdown for a pull-request or issue comment (within GitHub's
//! comment size, truncated with a note), and JSON for machines. Formats only; decides nothing.

use std::fmt::Write as _;

use super::{Entry, Kind, Report};

/// Markdown output stays within this many characters (GitHub allows 65,536 per comment).
pub const MARKDOWN_BUDGET: usize = 60_000;

/// What the renderings need beyond the report.
#[derive(Debug, Clone)]
pub struct Options {
    /// List the kept entries and why.
    pub explain: bool,
    /// `keep_tag_revisions` of `[prune]`, for the history command.
    pub keep_tag_revisions: u32,
    /// `keep_younger_than` of `[prune]`, for the history command.
    pub keep_younger_than: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn count(entries: &[Entry], kind: Kind) -> usize {
    entries.iter().filter(|e| e.kind == kind).count()
}

fn streams_of(entries: &[Entry]) -> usize {
    let mut keys: Vec<String> = entries.iter().map(Entry::stream_key).collect();
    keys.dedup();
    keys.len()
}

/// `3 candidates in 2 streams: 2 tags, 1 history item`.
fn summary(report: &Report) -> String {
    let c = &report.candidates;
    let mut parts = Vec::new();
    let tags = count(c, Kind::Tag);
    let history = count(c, Kind::History);
    if tags > 0 {
        parts.push(plural(tags, "tag", "tags"));
    }
    if history > 0 {
        parts.push(plural(history, "history item", "history items"));
    }
    format!(
        "{} in {}: {}",
        plural(c.len(), "prune candidate", "prune candidates"),
        plural(streams_of(c), "stream", "streams"),
        parts.join(", ")
    )
}

fn nothing(report: &Report) -> String {
    format!(
        "Nothing to prune: {} in {} checked",
        plural(report.dated_tags, "dated tag", "dated tags"),
        plural(report.streams, "stream", "streams")
    )
}

/// The image as a person reads it: digests shortened, pull specs whole.
fn short_image(image: &str) -> String {
    match image.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => image.to_owned(),
    }
}

fn tag_label(e: &Entry) -> String {
    match e.revision {
        Some(rev) => format!("{}#{}", e.tag, rev + 1),
        None => e.tag.clone(),
    }
}

fn location(e: &Entry) -> String {
    e.location
        .as_ref()
        .map(|(file, line)| format!(" ({file}:{line})"))
        .unwrap_or_default()
}

fn text_table(out: &mut String, entries: &[Entry]) {
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                match e.kind {
                    Kind::Tag => "tag".to_owned(),
                    Kind::History => "history".to_owned(),
                },
                e.stream_key(),
                tag_label(e),
                format!("{}d", e.age_days),
                short_image(&e.image),
            ]
        })
        .collect();
    let header = ["KIND", "STREAM", "TAG", "AGE", "IMAGE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        l.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(header));
    for (row, e) in rows.iter().zip(entries) {
        let _ = writeln!(out, "{}", line(row.each_ref().map(String::as_str)));
        let _ = writeln!(out, "    {}: {}{}", e.reason_code, e.reason, location(e));
    }
}

/// The `streamsync tag -d …` arguments for the tag candidates.
fn tag_args(report: &Report) -> Vec<String> {
    report
        .candidates
        .iter()
        .filter(|e| e.kind == Kind::Tag)
        .map(|e| format!("{}:{}", e.stream_key(), e.tag))
        .collect()
}

fn files(report: &Report) -> Vec<String> {
    let mut files: Vec<String> = report
        .candidates
        .iter()
        .filter_map(|e| e.location.as_ref().map(|(f, _)| f.clone()))
        .collect();
    files.sort();
    files.dedup();
    files
}

fn history_command(options: &Options) -> String {
    format!(
        "oc adm prune images --keep-tag-revisions={} --keep-younger-than={} --confirm",
        options.keep_tag_revisions, options.keep_younger_than
    )
}

/// The text report.
pub fn text(report: &Report, options: &Options) -> String {
    let mut out = String::new();
    if report.candidates.is_empty() {
        let _ = writeln!(out, "{}.", nothing(report));
    } else {
        let _ = writeln!(out, "{}\n", summary(report));
        text_table(&mut out, &report.candidates);
    }
    if options.explain && !report.kept.is_empty() {
        let _ = writeln!(out, "\nKept ({}):\n", report.kept.len());
        text_table(&mut out, &report.kept);
    } else if !report.kept.is_empty() {
        let _ = writeln!(
            out,
            "{}{} kept; `streamsync prune --explain` shows why.",
            if report.candidates.is_empty() {
                ""
            } else {
                "\n"
            },
            plural(report.kept.len(), "entry", "entries")
        );
    }
    if report.candidates.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nNext step: nothing is removed until a person decides. Review the candidates, then:"
    );
    let args = tag_args(report);
    if !args.is_empty() {
        let _ = writeln!(
            out,
            "  - remove the tags from the definitions and open a pull request; `streamsync tag -d` edits the files for you:\n      streamsync tag -d {}\n    or delete the entries by hand in {}",
            args.join(" "),
            files(report).join(", ")
        );
    }
    if count(&report.candidates, Kind::History) > 0 {
        let _ = writeln!(
            out,
            "  - history items leave the cluster with the image pruner, which keeps the same revisions:\n      {}",
            history_command(options)
        );
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn md_row(e: &Entry) -> String {
    let image = if e.image.is_empty() {
        String::new()
    } else {
        format!("`{}`", md_cell(&short_image(&e.image)))
    };
    let at = e
        .location
        .as_ref()
        .map(|(f, l)| format!(" · `{}:{l}`", md_cell(f)))
        .unwrap_or_default();
    format!(
        "| {} | `{}` | `{}` | {} d | {} | {}<br>`{}`{at} |\n",
        match e.kind {
            Kind::Tag => "tag",
            Kind::History => "history",
        },
        md_cell(&e.stream_key()),
        md_cell(&tag_label(e)),
        e.age_days,
        image,
        md_cell(&e.reason),
        e.reason_code
    )
}

const MD_HEADER: &str =
    "| Kind | Stream | Tag | Age | Image | Reason |\n| --- | --- | --- | --- | --- | --- |\n";

/// The Markdown report, at most [`MARKDOWN_BUDGET`] characters.
pub fn markdown(report: &Report, options: &Options) -> String {
    let mut head = String::new();
    if report.candidates.is_empty() {
        let _ = writeln!(head, "### streamsync prune: nothing to prune\n");
        let _ = writeln!(head, "{}.", nothing(report));
    } else {
        let _ = writeln!(
            head,
            "### streamsync prune: {}\n",
            plural(report.candidates.len(), "candidate", "candidates")
        );
        let _ = writeln!(
            head,
            "{}. streamsync only recommends: nothing is removed until a person decides.",
            summary(report)
        );
    }
    let mut foot = String::new();
    if !report.candidates.is_empty() {
        let _ = write!(foot, "\n**Next step:**");
        let args = tag_args(report);
        if !args.is_empty() {
            let shown: Vec<&str> = args.iter().take(20).map(String::as_str).collect();
            let more = if args.len() > shown.len() { " …" } else { "" };
            let _ = write!(
                foot,
                " remove the tags from the definitions in a pull request (`streamsync tag -d {}{more}` edits the files).",
                shown.join(" ")
            );
        }
        if count(&report.candidates, Kind::History) > 0 {
            let _ = write!(
                foot,
                " History items leave the cluster with `{}`.",
                history_command(options)
            );
        }
        foot.push('\n');
    } else if !report.kept.is_empty() && !options.explain {
        let _ = writeln!(
            foot,
            "\n{} kept; `streamsync prune --explain` shows why.",
            plural(report.kept.len(), "entry", "entries")
        );
    }

    // Room for the tables: what the summary and the next step leave, less a truncation note.
    let note_room = 300;
    let mut budget = MARKDOWN_BUDGET.saturating_sub(head.len() + foot.len() + note_room);
    let mut body = String::new();
    let mut hidden = 0;
    let mut section = |title: String, open: bool, entries: &[Entry], body: &mut String| {
        if entries.is_empty() {
            return;
        }
        let opening = format!(
            "\n<details{}><summary>{title}</summary>\n\n{MD_HEADER}",
            if open { " open" } else { "" }
        );
        let closing = "\n</details>\n";
        if opening.len() + closing.len() > budget {
            hidden += entries.len();
            return;
        }
        budget -= opening.len() + closing.len();
        body.push_str(&opening);
        for (i, e) in entries.iter().enumerate() {
            let row = md_row(e);
            if row.len() > budget {
                hidden += entries.len() - i;
                break;
            }
            budget -= row.len();
            body.push_str(&row);
        }
        body.push_str(closing);
    };
    section(
        format!("Candidates ({})", report.candidates.len()),
        true,
        &report.candidates,
        &mut body,
    );
    if options.explain {
        section(
            format!("Kept ({}) and why", report.kept.len()),
            false,
            &report.kept,
            &mut body,
        );
    }
    let mut out = head;
    out.push_str(&body);
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n_{} not shown: a comment holds at most {MARKDOWN_BUDGET} characters. Run `streamsync prune` for the full list._",
            plural(hidden, "more entry", "more entries")
        );
    }
    out.push_str(&foot);
    out
}

/// `{"format_version": "1.0", "candidates": [...], "kept": [...]}`.
pub fn json(report: &Report) -> String {
    let value = serde_json::json!({
        "format_version": "1.0",
        "candidates": report.candidates,
        "kept": report.kept,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            kind: Kind::Tag,
            namespace: "team".into(),
            stream: format!("app{i:05}"),
            tag: format!("nightly-2024{:02}01", i % 12 + 1),
            image: format!("sha256:{:064x}", i),
            age_days: 400,
            reason_code: "expired-dated-tag",
            reason: "dated 2024-03-01, 671 days old: past the 90-day limit".into(),
            location: Some((format!("definitions/team/app{i:05}.yaml"), 7)),
            revision: None,
        }
    }

    fn options() -> Options {
        Options {
            explain: true,
            keep_tag_revisions: 3,
            keep_younger_than: "60m".into(),
        }
    }

    #[test]
    fn markdown_stays_within_budget_with_a_note() {
        let report = Report {
            candidates: (0..2000).map(entry).collect(),
            kept: (0..10).map(entry).collect(),
            dated_tags: 2010,
            streams: 2010,
        };
        let md = markdown(&report, &options());
        assert!(md.len() <= MARKDOWN_BUDGET, "{}", md.len());
        assert!(md.starts_with("### streamsync prune: 2000 candidates"));
        assert!(md.contains("more entries not shown"));
        assert!(md.trim_end().ends_with("edits the files)."), "{md}");
    }

    #[test]
    fn small_markdown_is_whole() {
        let report = Report {
            candidates: (0..3).map(entry).collect(),
            kept: Vec::new(),
            dated_tags: 3,
            streams: 3,
        };
        let md = markdown(&report, &options());
        assert!(!md.contains("not shown"));
        assert_eq!(md.matches("| tag |").count(), 3);
    }
}
