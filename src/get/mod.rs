//! What `get` shows of the live state, as values: the rows of the streams table, a tag with
//! what its description needs, the OpenShift `ImageStreamTag` object (openshift/api
//! `image/v1`, built as the API server builds it), and an image with the history entry that
//! names it. The `get` operation (`ops::get`) finds them in the state; [`render`] turns them into tables,
//! descriptions, YAML and JSON. Nothing here reads a file or writes to a terminal.

pub mod render;

use serde::Serialize;

use crate::model::{
    Annotations, Image, ImageStream, LookupPolicy, TagEvent, TagEventCondition, TagReference,
};

/// What `get` found: one variant per question it answers.
#[derive(Debug, Clone)]
pub enum Found {
    /// `get streams`: every live stream.
    Streams(Streams),
    /// `get stream NAME`: one stream.
    Stream(Box<ImageStream>),
    /// `get tag STREAM:TAG`: one tag of a stream.
    Tag(Box<Tag>),
    /// `get image STREAM@ID` or `get image ID`: one image.
    Image(Box<FoundImage>),
}

/// Every live stream, in key order, and its row of the streams table.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    /// The streams, as a List of them prints.
    pub streams: Vec<ImageStream>,
    /// One row per stream, in the same order.
    pub rows: Vec<Row>,
}

/// A row of the streams table (as `oc get is`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The stream's namespace.
    pub namespace: String,
    /// The stream's name.
    pub name: String,
    /// Every tag name, spec and history, sorted.
    pub tags: Vec<String>,
    /// When the stream last changed (RFC 3339; empty when nothing says).
    pub updated: String,
}

impl Row {
    /// The row of `stream`.
    pub fn of(stream: &ImageStream) -> Row {
        let key = stream.key();
        Row {
            namespace: key.namespace,
            name: key.name,
            tags: tag_names(stream),
            updated: updated(stream),
        }
    }
}

/// One tag of a stream.
#[derive(Debug, Clone)]
pub struct Tag {
    /// The stream that has it.
    pub stream: ImageStream,
    /// The tag's name.
    pub tag: String,
    /// What the tag resolves to through its reference policy (none before its first image).
    pub pull_spec: Option<String>,
    /// The `ImageStreamTag` object, when it was asked for (YAML and JSON print it; a
    /// description does not need it, and a tag without an image has none).
    pub object: Option<ImageStreamTag>,
}

/// One image and the history entry it was found by.
#[derive(Debug, Clone)]
pub struct FoundImage {
    /// `stream@digest`, or the digest alone when it was looked up across streams.
    pub name: String,
    /// The stream's namespace; none when looked up across streams.
    pub namespace: Option<String>,
    /// The Image, its `dockerImageReference` set to where the history entry pulls it from.
    pub image: Image,
    /// The history entry that names it.
    pub event: TagEvent,
    /// Looked up across streams: every stream whose history holds it (`namespace/name`).
    pub streams: Option<Vec<String>>,
}

/// Every tag name of `stream`, its spec's and its history's, sorted, once each.
pub fn tag_names(stream: &ImageStream) -> Vec<String> {
    let mut names: Vec<String> = stream.spec.tags.iter().map(|t| t.name.clone()).collect();
    if let Some(st) = &stream.status {
        names.extend(st.tags.iter().map(|t| t.tag.clone()));
    }
    names.sort();
    names.dedup();
    names
}

/// The newest image's time, or the stream's creation when it has none.
fn updated(stream: &ImageStream) -> String {
    stream
        .status
        .iter()
        .flat_map(|st| st.tags.iter())
        .filter_map(|t| t.items.first().map(|i| i.created.clone()))
        .max()
        .or_else(|| stream.metadata.creation_timestamp.clone())
        .unwrap_or_default()
}

/// The metadata of an [`ImageStreamTag`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `stream:tag`.
    pub name: String,
    /// The stream's namespace.
    pub namespace: String,
    /// When the tag's newest image was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// The spec tag's annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// openshift/api `ImageStreamTag`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamTag {
    /// `image.openshift.io/v1`.
    pub api_version: &'static str,
    /// `ImageStreamTag`.
    pub kind: &'static str,
    /// Name, namespace, creation and annotations.
    pub metadata: Meta,
    /// The spec tag (none for a tag only in the history).
    pub tag: Option<TagReference>,
    /// The generation of the tag's newest image.
    pub generation: i64,
    /// The stream's lookup policy.
    pub lookup_policy: LookupPolicy,
    /// The tag's conditions (a failed import).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TagEventCondition>,
    /// The tag's newest image, with the resolved pull spec.
    pub image: Image,
}
