//! `get`: read the live state as `oc get is`, `oc describe is`, `oc get istag` and
//! `oc get isimage` do: every stream, one stream, one tag, or one image by (short) id in one
//! stream or across every stream. A name that matches nothing, or more than one thing, is an
//! error with a hint. It reads the state and the config and writes nothing;
//! [`crate::get::render`] shows what it found.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::Workspace;
use crate::error::Hinted;
use crate::get::{Found, FoundImage, ImageStreamTag, Meta, Row, Streams, Tag, tag_names};
use crate::model::{Cluster, Image, ImageStream, StreamKey, TagEvent};
use crate::state::dir::DirState;

/// What to get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every stream.
    Streams,
    /// One stream: `[namespace/]name`.
    Stream(String),
    /// One tag: `[namespace/]stream:tag`.
    Tag(String),
    /// One image: `[namespace/]stream@id`, or `id` across every stream (`sha256:3a33…`,
    /// `3a335d7`).
    Image(String),
}

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct Options {
    /// What to get.
    pub query: Query,
    /// Build the API objects YAML and JSON print. Only a tag differs: its `ImageStreamTag`
    /// needs an image in its history (none is an error), where its description does not.
    pub objects: bool,
}

/// Find what `options` asks for in the live state.
pub fn run(ws: &Workspace, options: &Options) -> Result<Found> {
    let state = ws.state()?;
    let streams = state.load_streams()?;
    let config = ws.config()?.clone();
    let default_ns = &config.default_namespace;
    Ok(match &options.query {
        Query::Streams => Found::Streams(Streams {
            rows: streams.values().map(Row::of).collect(),
            streams: streams.into_values().collect(),
        }),
        Query::Image(name) if !name.contains('@') => {
            Found::Image(Box::new(image_by_id(&state, &streams, name)?))
        }
        Query::Stream(name) => {
            let key = find_stream(&streams, name, default_ns)?;
            Found::Stream(Box::new(streams[&key].clone()))
        }
        Query::Tag(name) => {
            let (stream, tag) = name.rsplit_once(':').ok_or_else(|| {
                Hinted::new(
                    format!("`{name}` is not of the form [namespace/]stream:tag"),
                    "name a tag, e.g. `get tag demo/app:latest`",
                )
            })?;
            let key = find_stream(&streams, stream, default_ns)?;
            let s = &streams[&key];
            if s.spec_tag(tag).is_none() && s.status_tag(tag).is_none() {
                bail!(Hinted::new(
                    format!("stream `{key}` has no tag `{tag}`"),
                    format!("its tags: {}", tag_names(s).join(", ")),
                ));
            }
            let object = if options.objects {
                Some(tag_object(&state, s, tag, &config.cluster)?)
            } else {
                None
            };
            Found::Tag(Box::new(Tag {
                pull_spec: config.cluster.resolve_tag(s, tag),
                stream: s.clone(),
                tag: tag.to_owned(),
                object,
            }))
        }
        Query::Image(name) => {
            let (stream, id) = name.split_once('@').ok_or_else(|| {
                Hinted::new(
                    format!("`{name}` is not of the form [namespace/]stream@id"),
                    "ImageStreamImages must be retrieved with <name>@<id>",
                )
            })?;
            let key = find_stream(&streams, stream, default_ns)?;
            let event =
                crate::plan::resolve_image_id(&streams[&key], id).map_err(anyhow::Error::msg)?;
            let image = image_of(&state, &event.image, &event.docker_image_reference)?;
            Found::Image(Box::new(FoundImage {
                name: format!("{}@{}", key.name, image.metadata.name),
                namespace: Some(key.namespace),
                image,
                event,
                streams: None,
            }))
        }
    })
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

/// `get image ID`: the image a (short) id names, looked up in every stream's history.
fn image_by_id(
    state: &DirState,
    streams: &BTreeMap<StreamKey, ImageStream>,
    id: &str,
) -> Result<FoundImage> {
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
    Ok(FoundImage {
        name: digest,
        namespace: None,
        image,
        event,
        streams: Some(users),
    })
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

/// The `ImageStreamTag` of `tag`, as the API server builds it (`newISTag`): the tag's newest
/// image, its pull spec resolved through the tag's reference policy, the tag's annotations on
/// it. A tag with no history yet is an error, as it is not found there; a reference tag (a pull
/// spec without an image id) shows that pull spec, where the server would say not found.
fn tag_object(
    state: &DirState,
    s: &ImageStream,
    tag: &str,
    cluster: &Cluster,
) -> Result<ImageStreamTag> {
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
        tag: spec.cloned(),
        generation: event.generation,
        lookup_policy: s.spec.lookup_policy.clone().unwrap_or_default(),
        conditions: status.map(|h| h.conditions.clone()).unwrap_or_default(),
        image,
    })
}
