//! What `get` found as people and programs read it: the streams table (as `oc get is`), the
//! descriptions of a stream, a tag and an image (as `oc describe`), and the objects YAML and
//! JSON print (a `List` of streams, an `ImageStream`, an `ImageStreamTag`, an `Image`).
//! Formats only; decides nothing.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Found, FoundImage, Row, Tag, tag_names};
use crate::model::{ImageStream, TagEventCondition, TagReference};
use crate::state::dir::to_yaml;

/// How to show what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A table, or a description for one object.
    #[default]
    Table,
    /// The object as YAML.
    Yaml,
    /// The object as JSON.
    Json,
}

/// `found` in `format`; `now` dates the streams table. A tag shown as YAML or JSON needs its
/// object, which the `get` operation (`ops::get`) builds only when asked for objects.
pub fn show(found: &Found, format: Format, now: DateTime<Utc>) -> Result<String> {
    Ok(match (found, format) {
        (Found::Streams(s), Format::Table) => streams_table(&s.rows, now),
        (Found::Streams(s), format) => encode(
            &List {
                api_version: "v1",
                kind: "List",
                items: s.streams.iter().collect(),
            },
            format,
        )?,
        (Found::Stream(s), Format::Table) => describe(s),
        (Found::Stream(s), format) => encode(s, format)?,
        (Found::Tag(t), Format::Table) => describe_tag(t),
        (Found::Tag(t), format) => match &t.object {
            Some(object) => encode(object, format)?,
            None => bail!(
                "the ImageStreamTag of `{}:{}` was not built: ask for objects",
                t.stream.key(),
                t.tag
            ),
        },
        (Found::Image(i), Format::Table) => describe_image(i),
        (Found::Image(i), format) => encode(&i.image, format)?,
    })
}

fn encode<T: Serialize>(value: &T, format: Format) -> Result<String> {
    Ok(match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(value)?;
            s.push('\n');
            s
        }
        Format::Yaml | Format::Table => to_yaml(value)?,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<&'a ImageStream>,
}

/// How many tags a `get streams` row lists before `+N more…` (as `oc get is`).
const ROW_TAGS: usize = 3;

/// `3d`, `5h`, `12m`, `40s`: the age of an RFC 3339 time at `now`, as `oc get` prints ages.
fn age(time: &str, now: DateTime<Utc>) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(time) else {
        return String::new();
    };
    let secs = (now - t.with_timezone(&Utc)).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 365 * 86400 => format!("{}d", s / 86400),
        s => format!("{}y", s / (365 * 86400)),
    }
}

/// `a,b,c +2 more…`.
fn short_tags(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(ROW_TAGS)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    match names.len().saturating_sub(ROW_TAGS) {
        0 => shown,
        more => format!("{shown} +{more} more…"),
    }
}

/// The streams table: `NAMESPACE NAME TAGS UPDATED`, ages at `now`.
pub fn streams_table(rows: &[Row], now: DateTime<Utc>) -> String {
    let rows: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.namespace.clone(),
                r.name.clone(),
                short_tags(&r.tags),
                age(&r.updated, now),
            ]
        })
        .collect();
    table(&["NAMESPACE", "NAME", "TAGS", "UPDATED"], &rows)
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}   ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

fn source_text(t: &TagReference) -> String {
    let Some(f) = &t.from else {
        return "(no source)".into();
    };
    let ns = f
        .namespace
        .as_deref()
        .map(|n| format!("{n}/"))
        .unwrap_or_default();
    let what = match f.kind.as_str() {
        "DockerImage" if t.reference => format!("references {}", f.name),
        "DockerImage" => format!("tagged from {}", f.name),
        "ImageStreamTag" => format!("tagged from {ns}{}", f.name),
        "ImageStreamImage" => format!("tagged from {ns}{}", f.name),
        other => format!("{other} {}", f.name),
    };
    let mut extras = Vec::new();
    if f.kind == "ImageStreamTag" {
        extras.push("tracking".to_owned());
    }
    if t.import_policy.scheduled {
        extras.push("scheduled".to_owned());
    }
    if t.import_policy.insecure {
        extras.push("insecure".to_owned());
    }
    if t.reference_policy.effective() == "Local" {
        extras.push("reference policy Local".to_owned());
    }
    if t.import_policy.effective_import_mode() != "Legacy" {
        extras.push(format!(
            "import mode {}",
            t.import_policy.effective_import_mode()
        ));
    }
    if extras.is_empty() {
        what
    } else {
        format!("{what} ({})", extras.join("; "))
    }
}

fn describe_tag_into(out: &mut String, s: &ImageStream, tag: &str) {
    let _ = writeln!(out, "{tag}");
    match s.spec_tag(tag) {
        Some(t) => {
            let _ = writeln!(out, "  {}", source_text(t));
            if let Some(a) = &t.annotations {
                for (k, v) in a {
                    let _ = writeln!(out, "  {k}: {v}");
                }
            }
        }
        None => {
            let _ = writeln!(out, "  (history only: not in the spec)");
        }
    }
    let history = s.status_tag(tag);
    let items = history.map(|h| h.items.as_slice()).unwrap_or_default();
    if items.is_empty() {
        let _ = writeln!(out, "  no image yet");
    }
    for (i, e) in items.iter().enumerate() {
        let mark = if i == 0 { "*" } else { " " };
        // The digest once: the pull spec of an imported tag already ends in it.
        let image = if e.image.is_empty() || e.docker_image_reference.ends_with(&e.image) {
            String::new()
        } else {
            format!("  ({})", e.image)
        };
        let _ = writeln!(out, "  {mark} {}{image}", e.docker_image_reference);
        let _ = writeln!(out, "      {} (generation {})", e.created, e.generation);
    }
    for c in history.map(|h| h.conditions.as_slice()).unwrap_or_default() {
        let _ = writeln!(out, "  ! {}", condition_text(c));
    }
}

fn condition_text(c: &TagEventCondition) -> String {
    format!(
        "{}={} {}: {} ({}, generation {})",
        c.kind, c.status, c.reason, c.message, c.last_transition_time, c.generation
    )
}

/// A stream described: its metadata, where it pulls from, and every tag with its history.
pub fn describe(s: &ImageStream) -> String {
    let key = s.key();
    let mut out = String::new();
    let _ = writeln!(out, "Name:         {}", key.name);
    let _ = writeln!(out, "Namespace:    {}", key.namespace);
    let _ = writeln!(
        out,
        "Created:      {}",
        s.metadata.creation_timestamp.as_deref().unwrap_or("")
    );
    let map = |m: &Option<crate::model::Annotations>| {
        m.as_ref()
            .filter(|m| !m.is_empty())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("\n              ")
            })
            .unwrap_or_else(|| "<none>".into())
    };
    let _ = writeln!(out, "Labels:       {}", map(&s.metadata.labels));
    let _ = writeln!(out, "Annotations:  {}", map(&s.metadata.annotations));
    if let Some(r) = &s.spec.docker_image_repository {
        let _ = writeln!(out, "Repository:   {r}");
    }
    if let Some(st) = &s.status {
        if !st.docker_image_repository.is_empty() {
            let _ = writeln!(out, "Pull from:    {}", st.docker_image_repository);
        }
        if !st.public_docker_image_repository.is_empty() {
            let _ = writeln!(out, "Public:       {}", st.public_docker_image_repository);
        }
    }
    let _ = writeln!(
        out,
        "Lookup:       {}",
        if s.spec.lookup_policy.as_ref().is_some_and(|l| l.local) {
            "local"
        } else {
            "not local"
        }
    );
    let names = tag_names(s);
    let _ = writeln!(out, "Tags:         {}", names.len());
    for name in names {
        out.push('\n');
        describe_tag_into(&mut out, s, &name);
    }
    out
}

/// A tag described: its stream, what it resolves to, its source and its history.
pub fn describe_tag(t: &Tag) -> String {
    let mut out = format!("Stream:       {}\n", t.stream.key());
    if let Some(pull) = &t.pull_spec {
        let _ = writeln!(out, "Pull spec:    {pull}");
    }
    out.push('\n');
    describe_tag_into(&mut out, &t.stream, &t.tag);
    out
}

/// An image described: where it pulls from and what its metadata records; looked up across
/// streams, also the streams whose history holds it.
pub fn describe_image(found: &FoundImage) -> String {
    let img = &found.image;
    let mut out = String::new();
    let _ = writeln!(out, "Name:         {}", found.name);
    if let Some(namespace) = found.namespace.as_deref().filter(|n| !n.is_empty()) {
        let _ = writeln!(out, "Namespace:    {namespace}");
    }
    let _ = writeln!(out, "Digest:       {}", img.metadata.name);
    let _ = writeln!(out, "Pull spec:    {}", found.event.docker_image_reference);
    if !img.docker_image_manifest_media_type.is_empty() {
        let _ = writeln!(
            out,
            "Media type:   {}",
            img.docker_image_manifest_media_type
        );
    }
    if let Some(m) = &img.docker_image_metadata {
        if !m.architecture.is_empty() {
            let _ = writeln!(out, "Architecture: {}", m.architecture);
        }
        if !m.created.is_empty() {
            let _ = writeln!(out, "Built:        {}", m.created);
        }
        if !m.author.is_empty() {
            let _ = writeln!(out, "Author:       {}", m.author);
        }
        let _ = writeln!(out, "Size:         {} bytes", m.size);
        for (k, v) in &m.run_config().labels {
            let _ = writeln!(out, "Label:        {k}={v}");
        }
    }
    if !img.docker_image_layers.is_empty() {
        let _ = writeln!(out, "Layers:       {}", img.docker_image_layers.len());
        for l in &img.docker_image_layers {
            let _ = writeln!(out, "  {} {} bytes", l.name, l.size);
        }
    }
    if img.docker_image_layers.is_empty() && img.docker_image_metadata.is_none() {
        let _ = writeln!(
            out,
            "Metadata:     not recorded (a reference tag, or the import did not fetch it)"
        );
    }
    if let Some(streams) = &found.streams {
        let _ = writeln!(out, "Streams:      {}", streams.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn ages_read_as_oc_prints_them() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 10, 0, 0, 0)
            .single()
            .expect("time");
        let ago = |secs: i64| (now - chrono::Duration::seconds(secs)).to_rfc3339();
        assert_eq!(age(&ago(119), now), "119s");
        assert_eq!(age(&ago(120), now), "2m");
        assert_eq!(age(&ago(3600), now), "1h");
        assert_eq!(age(&ago(47 * 3600), now), "47h");
        assert_eq!(age(&ago(48 * 3600), now), "2d");
        assert_eq!(age(&ago(400 * 86400), now), "1y");
        // A clock behind the state is no negative age; a time that does not parse is none.
        assert_eq!(age(&ago(-30), now), "0s");
        assert_eq!(age("yesterday", now), "");
    }

    #[test]
    fn a_row_lists_three_tags_then_counts_the_rest() {
        let names = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(short_tags(&names(3)), "1,2,3");
        assert_eq!(short_tags(&names(5)), "1,2,3 +2 more…");
        let rows = [Row {
            namespace: "web".into(),
            name: "a-long-name".into(),
            tags: names(1),
            updated: String::new(),
        }];
        assert_eq!(
            streams_table(&rows, Utc::now()),
            "NAMESPACE   NAME          TAGS   UPDATED\nweb         a-long-name   1\n"
        );
    }
}
