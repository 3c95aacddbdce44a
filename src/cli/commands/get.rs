//! `get`: read the live state like `oc get is`, `oc describe is`, `oc get istag` and
//! `oc get isimage`, as a table or description, YAML or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::{ExitStatus, GetArgs, GetFormat, GetWhat, Printer};
use crate::error::Hinted;
use crate::model::{
    Image, ImageStream, LookupPolicy, StreamKey, TagEvent, TagEventCondition, TagReference,
};
use crate::ops::Workspace;
use crate::state::dir::DirState;
use crate::state::dir::to_yaml;

/// Run `get`.
pub fn run(ws: &Workspace, args: &GetArgs, printer: &Printer) -> Result<ExitStatus> {
    let state = DirState::open(&ws.state_dir)?;
    let streams = state.load_streams()?;
    let config = ws.load_config().unwrap_or_default();
    let default_ns = config.default_namespace.clone();
    let cluster = &config.cluster;
    let text = match &args.what {
        GetWhat::Streams if streams.is_empty() && args.output == GetFormat::Table => {
            // As `oc get is`: people-talk on stderr, no table at all.
            printer.info("No resources found");
            return Ok(ExitStatus::Success);
        }
        GetWhat::Streams => streams_out(&streams, args.output, ws.now)?,
        GetWhat::Image { name } if !name.contains('@') => {
            image_by_id(&state, &streams, name, args.output)?
        }
        GetWhat::Stream { name } => {
            let key = find_stream(&streams, name, &default_ns)?;
            let s = &streams[&key];
            match args.output {
                GetFormat::Table => describe(s),
                other => encode(s, other)?,
            }
        }
        GetWhat::Tag { name } => {
            let (stream, tag) = name.rsplit_once(':').ok_or_else(|| {
                Hinted::new(
                    format!("`{name}` is not of the form [namespace/]stream:tag"),
                    "name a tag, e.g. `get tag demo/app:latest`",
                )
            })?;
            let key = find_stream(&streams, stream, &default_ns)?;
            let s = &streams[&key];
            if s.spec_tag(tag).is_none() && s.status_tag(tag).is_none() {
                bail!(Hinted::new(
                    format!("stream `{key}` has no tag `{tag}`"),
                    format!("its tags: {}", tag_names(s).join(", ")),
                ));
            }
            match args.output {
                GetFormat::Table => describe_tag(s, tag, cluster),
                other => encode(&tag_object(&state, s, tag, cluster)?, other)?,
            }
        }
        GetWhat::Image { name } => {
            let (stream, id) = name.split_once('@').ok_or_else(|| {
                Hinted::new(
                    format!("`{name}` is not of the form [namespace/]stream@id"),
                    "ImageStreamImages must be retrieved with <name>@<id>",
                )
            })?;
            let key = find_stream(&streams, stream, &default_ns)?;
            let s = &streams[&key];
            let event = crate::plan::resolve_image_id(s, id).map_err(anyhow::Error::msg)?;
            let image = image_of(&state, &event.image, &event.docker_image_reference)?;
            match args.output {
                GetFormat::Table => describe_image(
                    &format!("{}@{}", key.name, image.metadata.name),
                    &key.namespace,
                    &image,
                    &event,
                ),
                other => encode(&image, other)?,
            }
        }
    };
    printer.out(&text);
    Ok(ExitStatus::Success)
}

/// `[namespace/]name` → the stream: a bare name matches any namespace, and must match one.
fn find_stream(
    streams: &BTreeMap<StreamKey, ImageStream>,
    arg: &str,
    default_ns: &str,
) -> Result<StreamKey> {
    if let Some((ns, name)) = arg.split_once('/') {
        let key = StreamKey::new(ns, name);
        if streams.contains_key(&key) {
            return Ok(key);
        }
        return Err(not_found(&key, streams));
    }
    let matches: Vec<&StreamKey> = streams.keys().filter(|k| k.name == arg).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(not_found(&StreamKey::new(default_ns, arg), streams)),
        many => Err(Hinted::new(
            format!(
                "stream `{arg}` exists in several namespaces: {}",
                many.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "name it with its namespace, e.g. `namespace/name`",
        )
        .into()),
    }
}

fn not_found(key: &StreamKey, streams: &BTreeMap<StreamKey, ImageStream>) -> anyhow::Error {
    let names: Vec<String> = streams.keys().map(ToString::to_string).collect();
    let hint =
        match crate::diagnostic::did_you_mean(&key.to_string(), names.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None if streams.is_empty() => {
                "the live state is empty; run `streamsync apply` first".into()
            }
            None => "`streamsync get streams` lists them".into(),
        };
    Hinted::new(format!("stream `{key}` is not in the live state"), hint).into()
}

fn tag_names(s: &ImageStream) -> Vec<String> {
    let mut names: Vec<String> = s.spec.tags.iter().map(|t| t.name.clone()).collect();
    if let Some(st) = &s.status {
        names.extend(st.tags.iter().map(|t| t.tag.clone()));
    }
    names.sort();
    names.dedup();
    names
}

fn encode<T: Serialize>(value: &T, format: GetFormat) -> Result<String> {
    Ok(match format {
        GetFormat::Json => {
            let mut s = serde_json::to_string_pretty(value)?;
            s.push('\n');
            s
        }
        GetFormat::Yaml | GetFormat::Table => to_yaml(value)?,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<&'a ImageStream>,
}

fn updated(s: &ImageStream) -> String {
    s.status
        .iter()
        .flat_map(|st| st.tags.iter())
        .filter_map(|t| t.items.first().map(|i| i.created.clone()))
        .max()
        .or_else(|| s.metadata.creation_timestamp.clone())
        .unwrap_or_default()
}

/// How many tags a `get streams` row lists before `+N more…` (as `oc get is`).
const ROW_TAGS: usize = 3;

/// `3d`, `5h`, `12m`, `40s`: the age of an RFC 3339 time at `now`, as `oc get` prints ages.
fn age(time: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(time) else {
        return String::new();
    };
    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
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

/// `get image ID`: the image a (short) id names, looked up in every stream's history.
fn image_by_id(
    state: &DirState,
    streams: &BTreeMap<StreamKey, ImageStream>,
    id: &str,
    format: GetFormat,
) -> Result<String> {
    let mut found: BTreeMap<String, (TagEvent, Vec<String>)> = BTreeMap::new();
    for (key, s) in streams {
        if let Ok(event) = crate::plan::resolve_image_id(s, id) {
            let entry = found
                .entry(event.image.clone())
                .or_insert_with(|| (event.clone(), Vec::new()));
            entry.1.push(key.to_string());
        }
        // A prefix several images of one stream share is ambiguous across streams too.
        if let Err(e) = crate::plan::resolve_image_id(s, id)
            && e.starts_with("multiple images")
        {
            return Err(anyhow::Error::msg(e));
        }
    }
    let (digest, (event, users)) = match found.len() {
        0 => {
            return Err(Hinted::new(
                format!("no image in the live state matches `{id}`"),
                "`streamsync get stream NAME` lists each tag's images",
            )
            .into());
        }
        1 => found.into_iter().next().unwrap_or_default(),
        _ => {
            return Err(anyhow::Error::msg(format!(
                "multiple images match the prefix `{id}`: {}",
                found.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    };
    let image = image_of(state, &digest, &event.docker_image_reference)?;
    if format != GetFormat::Table {
        return encode(&image, format);
    }
    let mut out = describe_image(&digest, "", &image, &event);
    let _ = writeln!(out, "Streams:      {}", users.join(", "));
    Ok(out)
}

fn streams_out(
    streams: &BTreeMap<StreamKey, ImageStream>,
    format: GetFormat,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    if format != GetFormat::Table {
        return encode(
            &List {
                api_version: "v1",
                kind: "List",
                items: streams.values().collect(),
            },
            format,
        );
    }
    let rows: Vec<[String; 4]> = streams
        .iter()
        .map(|(k, s)| {
            let tags = short_tags(&tag_names(s));
            [
                k.namespace.clone(),
                k.name.clone(),
                tags,
                age(&updated(s), now),
            ]
        })
        .collect();
    Ok(table(&["NAMESPACE", "NAME", "TAGS", "UPDATED"], &rows))
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

fn describe(s: &ImageStream) -> String {
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

fn describe_tag(s: &ImageStream, tag: &str, cluster: &crate::model::Cluster) -> String {
    let mut out = format!("Stream:       {}\n", s.key());
    if let Some(pull) = cluster.resolve_tag(s, tag) {
        let _ = writeln!(out, "Pull spec:    {pull}");
    }
    out.push('\n');
    describe_tag_into(&mut out, s, tag);
    out
}

/// The Image recorded for `digest`, with `dockerImageReference` set to `pull_spec` (where this
/// stream pulls it from); a digest whose Image file is missing gets a bare one.
fn image_of(state: &DirState, digest: &str, pull_spec: &str) -> Result<Image> {
    let mut image = state.load_image(digest)?.unwrap_or_else(|| Image {
        metadata: crate::model::ImageMeta {
            name: digest.to_owned(),
            ..crate::model::ImageMeta::default()
        },
        ..Image::default()
    });
    pull_spec.clone_into(&mut image.docker_image_reference);
    // Image files written before the version was recorded hold version 1.0 metadata, which
    // is also the API's default for an empty version.
    if image.docker_image_metadata.is_some() && image.docker_image_metadata_version.is_empty() {
        crate::model::DOCKER_IMAGE_METADATA_VERSION
            .clone_into(&mut image.docker_image_metadata_version);
    }
    Ok(image)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: String,
    namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<crate::model::Annotations>,
}

/// openshift/api `ImageStreamTag`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageStreamTag<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Meta,
    tag: Option<&'a TagReference>,
    generation: i64,
    lookup_policy: LookupPolicy,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conditions: &'a [TagEventCondition],
    image: Image,
}

/// The `ImageStreamTag` of `tag`, as the API server builds it (`newISTag`): the tag's newest
/// image, its pull spec resolved through the tag's reference policy, the tag's annotations on
/// it. A tag with no history yet is an error, as it is not found there; a reference tag (a pull
/// spec without an image id) shows that pull spec, where the server would say not found.
fn tag_object<'a>(
    state: &DirState,
    s: &'a ImageStream,
    tag: &str,
    cluster: &crate::model::Cluster,
) -> Result<ImageStreamTag<'a>> {
    let key = s.key();
    let spec = s.spec_tag(tag);
    let status = s.status_tag(tag);
    let Some(event) = status.and_then(|h| h.items.first()) else {
        bail!(Hinted::new(
            format!("imagestreamtag `{}:{tag}` has no image yet", key.name),
            format!("`streamsync get tag {key}:{tag}` (as a table) shows its history and why"),
        ));
    };
    let annotations = spec
        .and_then(|t| t.annotations.clone())
        .filter(|a| !a.is_empty());
    let pull_spec = cluster.resolve_event(s, tag, event);
    let mut image = if event.image.is_empty() {
        Image {
            docker_image_reference: pull_spec,
            ..Image::default()
        }
    } else {
        image_of(state, &event.image, &pull_spec)?
    };
    if let Some(a) = &annotations {
        image
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .extend(a.clone());
    }
    Ok(ImageStreamTag {
        api_version: "image.openshift.io/v1",
        kind: "ImageStreamTag",
        metadata: Meta {
            name: format!("{}:{tag}", key.name),
            namespace: key.namespace.clone(),
            creation_timestamp: Some(event.created.clone()).filter(|c| !c.is_empty()),
            annotations,
        },
        tag: spec,
        generation: event.generation,
        lookup_policy: s.spec.lookup_policy.clone().unwrap_or_default(),
        conditions: status.map(|h| h.conditions.as_slice()).unwrap_or_default(),
        image,
    })
}

/// `name` is `stream@digest`, or the digest alone for an image found across streams.
fn describe_image(name: &str, namespace: &str, img: &Image, event: &TagEvent) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Name:         {name}");
    if !namespace.is_empty() {
        let _ = writeln!(out, "Namespace:    {namespace}");
    }
    let _ = writeln!(out, "Digest:       {}", img.metadata.name);
    let _ = writeln!(out, "Pull spec:    {}", event.docker_image_reference);
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
    out
}
