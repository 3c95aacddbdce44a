//! `tag`: `oc tag` done the GitOps way. It decides what `oc tag` would set (source kind,
//! permanent pin from live state, tracking alias, reference, scheduled, insecure, reference
//! policy) and has the editor write exactly that into the definition files. It reads live
//! state for a permanent tag's current image; it writes it only to record a forced re-import
//! (a destination tagged again with its own source, as `oc tag` does with generation 0), and
//! never asks a registry.
//!
//! An existing destination tag is updated in place to what `oc tag` leaves behind: `from`,
//! `reference`, `importPolicy.insecure`/`scheduled` and `referencePolicy` take the values of
//! the options (so re-tagging without `scheduled` turns scheduling off, as in `oc`), while
//! its annotations, `importMode` and everything else keep their bytes.

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::Workspace;
use super::edits::{
    self, Edited, Resolved, new_stream_slot, new_stream_text, resolve, set_import_mode, target_for,
};
use crate::definition::DefinitionSet;
use crate::edit::{self, Format, Session};
use crate::error::Hinted;
use crate::model::{
    ImageStream, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_IMAGE, KIND_IMAGE_STREAM_TAG,
    ObjectReference, StreamKey, TagReference, reference,
};

/// Options of [`run`]: `oc tag`'s arguments and flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// SOURCE DEST [DEST...], or with `delete` the tags to delete.
    pub args: Vec<String>,
    /// Delete the given tags.
    pub delete: bool,
    /// Source kind: imagestreamtag|istag|imagestreamimage|isimage|docker|dockerimage.
    pub source: Option<String>,
    /// Track the source tag (same stream only).
    pub alias: bool,
    /// Record the source without importing.
    pub reference: bool,
    /// `source` or `local`.
    pub reference_policy: Option<String>,
    /// Re-import periodically.
    pub scheduled: bool,
    /// Allow insecure transport.
    pub insecure: bool,
    /// `Legacy` (one platform of an index) or `PreserveOriginal` (the whole index).
    pub import_mode: Option<String>,
    /// Compute the edit and the plan it implies, and write nothing.
    pub dry_run: bool,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Report {
    /// The edited files, messages and implied plan.
    pub edited: Edited,
    /// Re-imports requested in the live state (or that would be, on a dry run).
    pub reimports: Vec<String>,
    /// Why requesting the re-imports failed; the definitions are edited already.
    pub reimport_error: Option<anyhow::Error>,
}

/// Edit the definitions as `oc tag` would.
pub fn run(ws: &Workspace, args: &Options) -> Result<Report> {
    validate_flags(args)?;
    let (config, policies, _) = ws.load_settings();
    let mut session = Session::open(&ws.root, config, policies)?;
    let mut messages = Vec::new();
    let mut touched = Vec::new();
    // Destinations tagged again with the source they already import from.
    let mut reimport: Vec<(StreamKey, String)> = Vec::new();
    // What each edited tag must read back as: `None` for a deleted tag.
    let mut expected: Vec<(StreamKey, String, Option<TagReference>)> = Vec::new();
    if args.delete {
        for arg in &args.args {
            let dest = parse_dest(arg)?;
            let set = session.load().set;
            let key = match resolve(
                &set,
                dest.namespace.as_deref(),
                &dest.stream,
                default_ns(&session),
            )? {
                Resolved::Existing(key) => key,
                Resolved::New(key) => bail!(Hinted::new(
                    format!("image stream `{key}` does not exist"),
                    "`streamsync tag -d` removes tags of streams in definitions/",
                )),
            };
            let def = &set.streams[&key];
            if def.stream.spec_tag(&dest.tag).is_none() {
                bail!(
                    "destination tag {}/{}:{} does not exist",
                    key.namespace,
                    key.name,
                    dest.tag
                );
            }
            session.remove_tag(&key, &dest.tag)?;
            expected.push((key.clone(), dest.tag.clone(), None));
            messages.push(format!(
                "Deleted tag {}/{}:{}.",
                key.namespace, key.name, dest.tag
            ));
            touched.push(key);
        }
    } else {
        let (source_arg, dests) = match args.args.split_first() {
            Some((s, d)) if !d.is_empty() => (s, d),
            _ => bail!(Hinted::new(
                "at least a destination is required",
                "usage: streamsync tag SOURCE DEST [DEST...]",
            )),
        };
        let dests: Vec<Dest> = dests.iter().map(|d| parse_dest(d)).collect::<Result<_>>()?;
        let set = session.load().set;
        let source = resolve_source(ws, &set, source_arg, args, default_ns(&session))?;
        check_source_flags(&source, args, &dests, &set, default_ns(&session))?;
        // A new destination stream named without a namespace goes where its source stream
        // is (`oc tag` works in one namespace); with no source stream, `default_namespace`.
        let new_stream_ns = source
            .stream
            .as_ref()
            .map_or_else(|| default_ns(&session).to_owned(), |s| s.namespace.clone());
        for dest in &dests {
            let set = session.load().set;
            let resolved = resolve(
                &set,
                dest.namespace.as_deref(),
                &dest.stream,
                &new_stream_ns,
            )?;
            let key = match &resolved {
                Resolved::Existing(k) | Resolved::New(k) => k.clone(),
            };
            let tag = new_tag(&source, args, &dest.tag, &key);
            match resolved {
                Resolved::Existing(key) => {
                    let def = &set.streams[&key];
                    let file = def.file.clone();
                    let target = target_for(&key, &file, &session);
                    let format = Format::of_path(&file);
                    let exists = def.stream.spec_tag(&dest.tag).is_some();
                    if let Some(old) = def.stream.spec_tag(&dest.tag)
                        && tag.is_importable()
                        && !crate::plan::tag_ref_changed(old, &tag, &key.namespace)
                    {
                        reimport.push((key.clone(), dest.tag.clone()));
                    }
                    session.edit(&file, |text| {
                        if exists {
                            let text = edit::update_tag(text, format, &target, &tag)?;
                            set_import_mode(&text, format, &target, &tag)
                        } else {
                            edit::add_tag(text, format, &target, &tag)
                        }
                    })?;
                }
                Resolved::New(key) => {
                    let (file, target) = new_stream_slot(ws, &session, &key)?;
                    let text = edit::add_tag(&new_stream_text(&key), Format::Yaml, &target, &tag)?;
                    session.create(&file, text)?;
                    let why = match (&dest.namespace, &source.stream) {
                        (Some(_), _) => String::new(),
                        (None, Some(_)) => " (the source stream's namespace)".to_owned(),
                        (None, None) => " (default_namespace)".to_owned(),
                    };
                    messages.push(format!(
                        "Image stream `{key}` does not exist yet: creating it in namespace `{}`{why}, in `{file}`.",
                        key.namespace
                    ));
                }
            }
            messages.push(success_message(&source, args, dest, &key, &tag));
            expected.push((key.clone(), dest.tag.clone(), Some(tag)));
            touched.push(key);
        }
    }
    let loaded = session.check()?;
    verify_tags(&loaded.set, &expected)?;
    let files = edits::write(&session, args.dry_run, true)?;
    let (reimports, reimport_error) = match request_reimports(ws, &reimport, args.dry_run) {
        Ok(requested) => (requested, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    touched.dedup();
    let implied = reimport_error
        .is_none()
        .then(|| edits::implied_plan(ws, &loaded, &touched));
    Ok(Report {
        edited: Edited {
            files,
            dry_run: args.dry_run,
            messages,
            implied,
        },
        reimports,
        reimport_error,
    })
}

/// `oc tag` of a destination with the source it already has sets the tag's generation to 0,
/// which the server turns into a new generation that is not imported yet: a forced
/// re-import. The definitions cannot say that (they hold no generations), so the request is
/// recorded where the server would record it, in the live state: the stream's generation
/// goes up and the tag takes it, and the next plan lists the tag as an import until an apply
/// or sync imports it. A tag never applied yet is imported by the next apply anyway.
/// Returns the tags requested (on a dry run: that would be).
fn request_reimports(
    ws: &Workspace,
    tags: &[(StreamKey, String)],
    dry_run: bool,
) -> Result<Vec<String>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let state = ws.state()?;
    let _guard = if dry_run {
        None
    } else {
        Some(super::lock(&state, std::time::Duration::ZERO)?)
    };
    let snapshot = crate::state::LiveState::load(&state)?;
    let mut streams = std::collections::BTreeMap::new();
    let mut requested = Vec::new();
    for (key, name) in tags {
        let Some(live) = streams
            .get(key)
            .cloned()
            .flatten()
            .or_else(|| snapshot.streams.get(key).cloned())
        else {
            continue;
        };
        let mut live: ImageStream = live;
        let generation = live.metadata.generation.unwrap_or(0) + 1;
        let Some(t) = live.spec.tags.iter_mut().find(|t| t.name == *name) else {
            continue;
        };
        t.generation = Some(generation);
        live.metadata.generation = Some(generation);
        streams.insert(key.clone(), Some(live));
        requested.push(format!("{}/{}:{name}", key.namespace, key.name));
    }
    if requested.is_empty() || dry_run {
        return Ok(requested);
    }
    let meta = crate::state::Meta {
        lineage: snapshot
            .lineage()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
        serial: snapshot.serial() + 1,
    };
    crate::state::LiveState::commit(
        &state,
        &crate::state::Commit {
            streams,
            images: Vec::new(),
            meta: Some(meta),
            // The memo index is rebuilt without these streams' memos: a plan parses them.
            memos: Default::default(),
        },
    )?;
    Ok(requested)
}

/// oc's flag conflicts that need no source.
fn validate_flags(args: &Options) -> Result<()> {
    if args.delete && args.alias {
        bail!("--alias and --delete may not be both specified");
    }
    if let Some(p) = &args.reference_policy
        && !matches!(p.to_ascii_lowercase().as_str(), "source" | "local")
    {
        bail!("reference policy must be set to 'source' or 'local'");
    }
    if let Some(m) = &args.import_mode
        && !matches!(m.as_str(), "Legacy" | "PreserveOriginal")
    {
        bail!("valid ImportMode values are Legacy or PreserveOriginal");
    }
    if args.delete {
        if args.source.is_some() {
            bail!("cannot specify a source kind when deleting");
        }
        if args.scheduled || args.insecure {
            bail!("cannot set flags for importing images when deleting a tag");
        }
    }
    Ok(())
}

/// `[namespace/]stream:tag`.
struct Dest {
    namespace: Option<String>,
    stream: String,
    tag: String,
}

fn parse_dest(arg: &str) -> Result<Dest> {
    if arg.matches('/').count() > 1 {
        bail!("invalid image stream `{arg}`");
    }
    let (namespace, rest) = match arg.split_once('/') {
        Some((ns, rest)) => (Some(ns.to_owned()), rest),
        None => (None, arg),
    };
    let Some((stream, tag)) = rest.split_once(':') else {
        bail!(Hinted::new(
            format!("`{arg}` must be of the form <stream_name>:<tag>"),
            "name the tag to set, e.g. ruby:latest",
        ));
    };
    if stream.is_empty() || tag.is_empty() || tag.contains(':') || namespace.as_deref() == Some("")
    {
        bail!("`{arg}` must be of the form <stream_name>:<tag>");
    }
    Ok(Dest {
        namespace,
        stream: stream.to_owned(),
        tag: tag.to_owned(),
    })
}

/// What SOURCE resolved to.
#[derive(Debug, Clone)]
struct Source {
    /// DockerImage, ImageStreamTag or ImageStreamImage (after the permanent-tag pin).
    kind: &'static str,
    /// The kind before pinning (what the user named).
    named_kind: &'static str,
    /// `from.name`.
    name: String,
    /// The source stream (ImageStreamTag/Image sources).
    stream: Option<StreamKey>,
}

fn parse_kind(text: &str) -> Result<&'static str> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "imagestreamtag" | "istag" => KIND_IMAGE_STREAM_TAG,
        "imagestreamimage" | "isimage" => KIND_IMAGE_STREAM_IMAGE,
        "docker" | "dockerimage" => KIND_DOCKER_IMAGE,
        _ => bail!(Hinted::new(
            format!("invalid source kind `{text}`"),
            "use imagestreamtag (istag), imagestreamimage (isimage) or docker (dockerimage)",
        )),
    })
}

/// SOURCE with oc's kind inference and, for a permanent tag, the image it points to now.
fn resolve_source(
    ws: &Workspace,
    set: &DefinitionSet,
    arg: &str,
    args: &Options,
    default_namespace: &str,
) -> Result<Source> {
    let mut r = reference::parse(arg).with_context(|| format!("invalid SOURCE `{arg}`"))?;
    let kind = match &args.source {
        Some(k) => parse_kind(k)?,
        None if !r.registry.is_empty() => KIND_DOCKER_IMAGE,
        None if !r.digest.is_empty() => KIND_IMAGE_STREAM_IMAGE,
        None if !r.tag.is_empty() => KIND_IMAGE_STREAM_TAG,
        None => KIND_DOCKER_IMAGE,
    };
    if kind == KIND_DOCKER_IMAGE {
        return Ok(Source {
            kind,
            named_kind: kind,
            name: r.exact(),
            stream: None,
        });
    }
    if !r.registry.is_empty() {
        bail!("server in SOURCE is only allowed when providing a container image");
    }
    if kind == KIND_IMAGE_STREAM_TAG && r.tag.is_empty() {
        bail!("--source=ImageStreamTag requires a valid <name>:<tag> in SOURCE");
    }
    if kind == KIND_IMAGE_STREAM_IMAGE && r.digest.is_empty() {
        bail!("--source=ImageStreamImage requires a valid <name>@<id> in SOURCE");
    }
    if r.namespace == "library" {
        // oc's quirk: `library/` is Docker Hub's, so it means the current namespace.
        r.namespace.clear();
    }
    let ns = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
    let stream = match resolve(set, ns, &r.name, default_namespace)? {
        Resolved::Existing(k) | Resolved::New(k) => k,
    };
    if kind == KIND_IMAGE_STREAM_IMAGE {
        return Ok(Source {
            kind,
            named_kind: kind,
            name: format!("{}@{}", r.name, r.digest),
            stream: Some(stream),
        });
    }
    let tracking = Source {
        kind,
        named_kind: kind,
        name: format!("{}:{}", r.name, r.tag),
        stream: Some(stream.clone()),
    };
    if args.alias {
        return Ok(tracking);
    }
    // Permanent: pin what the source tag points at now, read from live state.
    let live = read_live_stream(&ws.state_dir, &stream)?;
    let event = live
        .as_ref()
        .and_then(|s| s.status_tag(&r.tag))
        .and_then(|t| t.items.first());
    let Some(event) = event else {
        bail!(Hinted::new(
            format!(
                "`{arg}` is not currently pointing to an image, cannot use it as the source of a tag"
            ),
            "apply the definitions first so the tag is imported, or pass --alias to track it",
        ));
    };
    if event.image.is_empty() {
        // A reference tag has no image: oc copies its pull spec.
        return Ok(Source {
            kind: KIND_DOCKER_IMAGE,
            named_kind: kind,
            name: event.docker_image_reference.clone(),
            stream: None,
        });
    }
    Ok(Source {
        kind: KIND_IMAGE_STREAM_IMAGE,
        named_kind: kind,
        name: format!("{}@{}", r.name, event.image),
        stream: Some(stream),
    })
}

/// oc's checks that need the resolved source.
fn check_source_flags(
    source: &Source,
    args: &Options,
    dests: &[Dest],
    set: &DefinitionSet,
    default_namespace: &str,
) -> Result<()> {
    if source.kind != KIND_DOCKER_IMAGE && (args.scheduled || args.insecure) {
        bail!("only container images can have importing flags set");
    }
    if args.alias {
        if args.scheduled || args.insecure {
            bail!("cannot set a container image tag as an alias and also set import flags");
        }
        let Some(src) = source
            .stream
            .as_ref()
            .filter(|_| source.kind == KIND_IMAGE_STREAM_TAG)
        else {
            bail!(Hinted::new(
                "--alias needs an image stream tag as SOURCE",
                "name the tag to track as <stream>:<tag>",
            ));
        };
        for d in dests {
            let key = match resolve(set, d.namespace.as_deref(), &d.stream, default_namespace)? {
                Resolved::Existing(k) | Resolved::New(k) => k,
            };
            if key != *src {
                bail!(Hinted::new(
                    "cannot set alias across different image streams",
                    "a tracking tag only works within one stream; tag without --alias to pin the image",
                ));
            }
        }
    }
    Ok(())
}

/// The spec tag `oc tag` would write for `dest_tag` in stream `dest`.
fn new_tag(source: &Source, args: &Options, dest_tag: &str, dest: &StreamKey) -> TagReference {
    let namespace = source
        .stream
        .as_ref()
        .filter(|s| s.namespace != dest.namespace)
        .map(|s| s.namespace.clone());
    let mut tag = TagReference {
        name: dest_tag.to_owned(),
        from: Some(ObjectReference {
            kind: source.kind.to_owned(),
            name: source.name.clone(),
            namespace: if source.kind == KIND_DOCKER_IMAGE {
                None
            } else {
                namespace
            },
        }),
        reference: args.reference,
        ..TagReference::default()
    };
    super::edits::set_import_flags(
        &mut tag,
        args.insecure,
        args.scheduled,
        args.import_mode.as_deref(),
        args.reference_policy.as_deref(),
    );
    tag
}

fn success_message(
    source: &Source,
    args: &Options,
    dest: &Dest,
    key: &StreamKey,
    tag: &TagReference,
) -> String {
    let dest_text = format!("{}/{}:{}", key.namespace, key.name, dest.tag);
    let src = match source
        .stream
        .as_ref()
        .filter(|s| s.namespace != key.namespace)
    {
        Some(s) if source.kind != KIND_DOCKER_IMAGE => format!("{}/{}", s.namespace, source.name),
        _ => source.name.clone(),
    };
    if args.alias {
        format!("Tag {dest_text} set up to track {src}.")
    } else if tag.import_policy.scheduled {
        format!("Tag {dest_text} set to import {src} periodically.")
    } else {
        let _ = source.named_kind;
        format!("Tag {dest_text} set to {src}.")
    }
}

/// After the edits, each touched tag must read back as what was meant (the fields `oc tag`
/// sets, or its absence); otherwise the editor went wrong and nothing is written.
fn verify_tags(
    set: &DefinitionSet,
    expected: &[(StreamKey, String, Option<TagReference>)],
) -> Result<()> {
    // Later edits of the same tag win.
    let mut last: std::collections::BTreeMap<(&StreamKey, &str), Option<&TagReference>> =
        std::collections::BTreeMap::new();
    for (key, name, tag) in expected {
        last.insert((key, name.as_str()), tag.as_ref());
    }
    for ((key, name), want) in last {
        let got = set.streams.get(key).and_then(|d| d.stream.spec_tag(name));
        let same = match (got, want) {
            (None, None) => true,
            (Some(got), Some(want)) => {
                let norm = |f: &Option<ObjectReference>| {
                    f.as_ref().map(|f| {
                        let ns = f.namespace.clone().filter(|n| !n.is_empty());
                        (f.kind.clone(), f.name.clone(), ns)
                    })
                };
                norm(&got.from) == norm(&want.from)
                    && got.reference == want.reference
                    && got.import_policy.insecure == want.import_policy.insecure
                    && got.import_policy.scheduled == want.import_policy.scheduled
                    && got.reference_policy.effective() == want.reference_policy.effective()
            }
            _ => false,
        };
        if !same {
            bail!(
                "internal error: the edit of `{key}:{name}` did not read back as intended, so nothing was written"
            );
        }
    }
    Ok(())
}

/// The live state of one stream, `state/<namespace>/<name>.yaml`, if it was applied.
/// (Read here directly until the state module provides its reader.)
fn read_live_stream(state_dir: &Path, key: &StreamKey) -> Result<Option<ImageStream>> {
    let mut streams = crate::state::dir::DirState::open(state_dir)?.load_streams()?;
    Ok(streams.remove(key))
}

fn default_ns(session: &Session) -> &str {
    &session.config().default_namespace
}
