//! The `image.openshift.io/v1` types streamsync reads and writes, and pull-spec parsing.
//!
//! These are plain serde types shaped like OpenShift's own (`api` image/v1/types.go), so that
//! `oc get is -o yaml` output, the OpenShift sample library and the state files all share one
//! schema. Nothing here does I/O or knows where a value came from: positions and diagnostics
//! belong to `definition`.

pub mod cluster;
pub mod dates;
pub mod icons;
pub mod reference;

pub use cluster::Cluster;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `openshift.io/display-name`.
pub const ANNOTATION_DISPLAY_NAME: &str = "openshift.io/display-name";
/// `openshift.io/image.insecureRepository`: the stream allows insecure transport when `"true"`.
pub const ANNOTATION_INSECURE_REPOSITORY: &str = "openshift.io/image.insecureRepository";
/// `openshift.io/image.dockerRepositoryCheck`: written by the server on import; never diffed.
pub const ANNOTATION_REPOSITORY_CHECK: &str = "openshift.io/image.dockerRepositoryCheck";
/// Tag annotation choosing the architecture of a manifest list in Legacy import mode.
pub const ANNOTATION_PREFER_ARCH: &str = "importer.image.openshift.io/prefer-arch";
/// Tag annotation choosing the OS of a manifest list in Legacy import mode.
pub const ANNOTATION_PREFER_OS: &str = "importer.image.openshift.io/prefer-os";

/// A string map that may be written as `null`.
pub type Annotations = BTreeMap<String, String>;

/// An ImageStream as OpenShift holds it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStream {
    /// `image.openshift.io/v1` (or the legacy `v1`).
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Always `ImageStream`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Name, namespace, annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What the user asked for.
    #[serde(default)]
    pub spec: ImageStreamSpec,
    /// What happened (history of every tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageStreamStatus>,
}

fn default_api_version() -> String {
    "image.openshift.io/v1".to_owned()
}
fn default_kind() -> String {
    "ImageStream".to_owned()
}

impl ImageStream {
    /// A new, empty stream.
    pub fn new(namespace: &str, name: &str) -> Self {
        ImageStream {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata: ObjectMeta {
                name: name.to_owned(),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            spec: ImageStreamSpec::default(),
            status: None,
        }
    }

    /// The spec tag named `name`.
    pub fn spec_tag(&self, name: &str) -> Option<&TagReference> {
        self.spec.tags.iter().find(|t| t.name == name)
    }

    /// The status history of tag `name`.
    pub fn status_tag(&self, name: &str) -> Option<&NamedTagEventList> {
        self.status.as_ref()?.tags.iter().find(|t| t.tag == name)
    }

    /// The `ImportSuccess=False` condition of tag `tag` when its last import failed. A
    /// successful import clears the tag's conditions, so any such condition means the tag
    /// still waits for its image.
    pub fn last_import_failure(&self, tag: &str) -> Option<&TagEventCondition> {
        self.status_tag(tag)?
            .conditions
            .iter()
            .find(|c| c.kind == "ImportSuccess" && c.status == "False")
    }

    /// The stream annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    /// Whether the stream allows insecure transport for all its tags (the value must be `"true"`).
    pub fn insecure_repository(&self) -> bool {
        self.annotation(ANNOTATION_INSECURE_REPOSITORY) == Some("true")
    }

    /// `spec.dockerImageRepository` when it names a repository (trimmed, not empty).
    pub fn repository(&self) -> Option<&str> {
        self.spec
            .docker_image_repository
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }

    /// `namespace/name`.
    pub fn key(&self) -> StreamKey {
        StreamKey {
            namespace: self.metadata.namespace.clone().unwrap_or_default(),
            name: self.metadata.name.clone(),
        }
    }
}

/// `namespace/name` of a stream: the key every map of streams is sorted by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamKey {
    /// Namespace.
    pub namespace: String,
    /// Stream name.
    pub name: String,
}

impl StreamKey {
    /// A key from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        StreamKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The parts of Kubernetes object metadata streamsync keeps. Server-owned fields
/// (`uid`, `resourceVersion`, `managedFields`, ...) are accepted on input and dropped.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Stream name.
    #[serde(default)]
    pub name: String,
    /// Namespace; a definition without one takes it from its folder or the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub labels: Option<Annotations>,
    /// Annotations (display name, insecure repository, ...).
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub annotations: Option<Annotations>,
    /// Set in the state store when the stream was first applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Increments when the spec changes (state store only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

fn is_none_or_empty(map: &Option<Annotations>) -> bool {
    map.as_ref().is_none_or(BTreeMap::is_empty)
}

/// `spec` of an ImageStream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamSpec {
    /// `{local: bool}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_policy: Option<LookupPolicy>,
    /// Deprecated whole-repository source (bulk import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image_repository: Option<String>,
    /// The tags, compared as a set keyed by name.
    #[serde(default)]
    pub tags: Vec<TagReference>,
}

/// `spec.lookupPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LookupPolicy {
    /// Resolve short names in this namespace to this stream.
    #[serde(default)]
    pub local: bool,
}

/// One spec tag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagReference {
    /// Tag name.
    pub name: String,
    /// Display name, description, iconClass, supports, version, ...
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub annotations: Option<Annotations>,
    /// Where the tag comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ObjectReference>,
    /// Record the pull spec without importing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    /// Server-owned counter; ignored in definitions, kept in state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// insecure, scheduled, importMode.
    #[serde(default, skip_serializing_if = "TagImportPolicy::is_default")]
    pub import_policy: TagImportPolicy,
    /// Source or Local.
    #[serde(default, skip_serializing_if = "TagReferencePolicy::is_default")]
    pub reference_policy: TagReferencePolicy,
}

impl TagReference {
    /// The tag annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// Whether OpenShift would import this tag from a registry: a `DockerImage` source that is
    /// not `reference: true`.
    pub fn is_importable(&self) -> bool {
        !self.reference
            && self
                .from
                .as_ref()
                .is_some_and(|f| f.kind == KIND_DOCKER_IMAGE)
    }
}

/// `DockerImage`.
pub const KIND_DOCKER_IMAGE: &str = "DockerImage";
/// `ImageStreamTag`.
pub const KIND_IMAGE_STREAM_TAG: &str = "ImageStreamTag";
/// `ImageStreamImage`.
pub const KIND_IMAGE_STREAM_IMAGE: &str = "ImageStreamImage";

/// `from` of a tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// DockerImage, ImageStreamTag or ImageStreamImage.
    #[serde(default)]
    pub kind: String,
    /// The pull spec, `stream:tag` or `stream@id`.
    #[serde(default)]
    pub name: String,
    /// Namespace of an ImageStreamTag/Image source; empty means the stream's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ObjectReference {
    /// What an `ImageStreamTag` or `ImageStreamImage` source names, read from the stream
    /// `holder` that carries the tag: `<tag>` / `<id>` is in `holder` itself,
    /// `<stream>:<tag>` / `<stream>@<id>` is another stream, and an empty `from.namespace` is
    /// the holder's namespace (OpenShift's `parseFromReference`). `None` for a `DockerImage`
    /// or a malformed name (validation reports those).
    pub fn source(&self, holder: &StreamKey) -> Option<(StreamKey, &str)> {
        let (stream, rest) = split_source(&self.kind, &self.name).ok()??;
        let namespace = self
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&holder.namespace);
        let stream = stream.unwrap_or(&holder.name);
        Some((StreamKey::new(namespace, stream), rest))
    }

    /// Whether this source is a tag of `holder` itself (a tracking tag OpenShift keeps up to
    /// date), and which.
    pub fn tracks_in(&self, holder: &StreamKey) -> Option<&str> {
        if self.kind != KIND_IMAGE_STREAM_TAG {
            return None;
        }
        let (key, tag) = self.source(holder)?;
        (key == *holder).then_some(tag)
    }
}

/// Split the `from.name` of an `ImageStreamTag` (on `:`) or `ImageStreamImage` (on `@`) into
/// its optional stream and its tag or image id, as OpenShift's `parseFromReference` does.
/// `Ok(None)` for any other kind; `Err` with OpenShift's wording for a malformed name.
pub fn split_source<'a>(
    kind: &str,
    name: &'a str,
) -> Result<Option<(Option<&'a str>, &'a str)>, String> {
    let sep = match kind {
        KIND_IMAGE_STREAM_TAG => ':',
        KIND_IMAGE_STREAM_IMAGE => '@',
        _ => return Ok(None),
    };
    let parts: Vec<&str> = name.split(sep).collect();
    let form = if sep == ':' {
        "<tag> or <stream>:<tag>"
    } else {
        "<id> or <stream>@<id>"
    };
    match parts.as_slice() {
        [one] if !one.is_empty() => Ok(Some((None, one))),
        [stream, rest] if !stream.is_empty() && !rest.is_empty() => Ok(Some((Some(stream), rest))),
        _ => Err(format!("`{name}` must be of the form {form}")),
    }
}

/// `importPolicy` of a tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagImportPolicy {
    /// Allow insecure transport for this tag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Re-import periodically.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
    /// `""`, `Legacy` or `PreserveOriginal`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub import_mode: String,
}

impl TagImportPolicy {
    fn is_default(&self) -> bool {
        *self == TagImportPolicy::default()
    }

    /// The import mode with the default applied (`Legacy`).
    pub fn effective_import_mode(&self) -> &str {
        if self.import_mode.is_empty() {
            "Legacy"
        } else {
            &self.import_mode
        }
    }
}

/// `referencePolicy` of a tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TagReferencePolicy {
    /// `Source` (default, also when empty) or `Local`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl TagReferencePolicy {
    fn is_default(&self) -> bool {
        self.kind.is_empty()
    }

    /// The policy with the server's default applied.
    pub fn effective(&self) -> &str {
        if self.kind.is_empty() {
            "Source"
        } else {
            &self.kind
        }
    }
}

/// `status` of an ImageStream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamStatus {
    /// Where the stream's images can be pulled (integrated registry, or the spec repository).
    #[serde(default)]
    pub docker_image_repository: String,
    /// Where they can be pulled from outside the cluster (the registry's external route).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_docker_image_repository: String,
    /// The history of every tag, sorted by tag.
    #[serde(default)]
    pub tags: Vec<NamedTagEventList>,
}

/// The history of one tag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NamedTagEventList {
    /// Tag name.
    pub tag: String,
    /// Newest first; `items[0]` is the current image.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<TagEvent>,
    /// `ImportSuccess` conditions (only failures are recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TagEventCondition>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// One event in a tag's history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEvent {
    /// RFC 3339 time of the event.
    pub created: String,
    /// The pull spec, by digest for imported tags.
    pub docker_image_reference: String,
    /// `sha256:…` of the image, empty for reference tags.
    #[serde(default)]
    pub image: String,
    /// The stream generation that produced the event.
    #[serde(default)]
    pub generation: i64,
}

/// An `ImportSuccess` condition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEventCondition {
    /// Always `ImportSuccess`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `False` for a failure.
    pub status: String,
    /// When it last changed.
    #[serde(default)]
    pub last_transition_time: String,
    /// NotFound, Unauthorized, RateLimited, Unreachable, InternalError.
    #[serde(default)]
    pub reason: String,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// The generation it applies to.
    #[serde(default)]
    pub generation: i64,
}

/// `image.openshift.io/dockerLayersOrder`: in which order `dockerImageLayers` lists layers.
pub const ANNOTATION_LAYERS_ORDER: &str = "image.openshift.io/dockerLayersOrder";

/// An Image object (`state/images/sha256/<hex>.yaml`): what a digest is, field for field as
/// openshift/api `image/v1` `Image` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// `image.openshift.io/v1`.
    #[serde(
        default = "default_api_version",
        deserialize_with = "api_version_or_default"
    )]
    pub api_version: String,
    /// `Image`.
    #[serde(
        default = "default_image_kind",
        deserialize_with = "image_kind_or_default"
    )]
    pub kind: String,
    /// `metadata.name` is the digest.
    pub metadata: ImageMeta,
    /// The pull spec by digest it was first imported from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_reference: String,
    /// The image config as a docker10 `DockerImage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image_metadata: Option<DockerImage>,
    /// `1.0`, the version of `dockerImageMetadata`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_metadata_version: String,
    /// Layers, base first (see [`ANNOTATION_LAYERS_ORDER`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_image_layers: Vec<ImageLayer>,
    /// Manifest media type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_manifest_media_type: String,
    /// For an index imported with PreserveOriginal: the platforms it holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_image_manifests: Vec<ImageManifest>,
}

impl Default for Image {
    fn default() -> Self {
        Image {
            api_version: default_api_version(),
            kind: default_image_kind(),
            metadata: ImageMeta::default(),
            docker_image_reference: String::new(),
            docker_image_metadata: None,
            docker_image_metadata_version: String::new(),
            docker_image_layers: Vec::new(),
            docker_image_manifest_media_type: String::new(),
            docker_image_manifests: Vec::new(),
        }
    }
}

fn default_image_kind() -> String {
    "Image".to_owned()
}

// State written before the objects carried their type wrote `apiVersion: ""` and `kind: ""`.
fn api_version_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    Ok(if v.is_empty() {
        default_api_version()
    } else {
        v
    })
}

fn image_kind_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    Ok(if v.is_empty() {
        default_image_kind()
    } else {
        v
    })
}

/// `metadata` of an Image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageMeta {
    /// `sha256:<hex>`.
    pub name: String,
    /// When it was first recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// `image.openshift.io/dockerLayersOrder: ascending` when it has layers.
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub annotations: Option<Annotations>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageLayer {
    /// Layer digest.
    pub name: String,
    /// Compressed size in bytes.
    pub size: i64,
    /// Media type.
    pub media_type: String,
}

/// One platform of an index.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Manifest digest.
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub manifest_size: i64,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `linux`, ...
    pub os: String,
    /// `v8`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// `dockerImageMetadata`: openshift/api `image/docker10` `DockerImage`, the parts of an image
/// config streamsync records. Reads the flat shape older versions wrote too (`Env`, `Labels`,
/// ... beside `Architecture`, `ExposedPorts` as a list), so old state loads; it is written
/// back in this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawDockerImage")]
pub struct DockerImage {
    /// `DockerImage`.
    pub kind: String,
    /// `1.0`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The config digest (the image ID).
    #[serde(rename = "Id")]
    pub id: String,
    /// Build time.
    #[serde(rename = "Created", skip_serializing_if = "String::is_empty")]
    pub created: String,
    /// Author.
    #[serde(rename = "Author", skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// What a container of it runs with.
    #[serde(rename = "Config", skip_serializing_if = "Option::is_none")]
    pub config: Option<DockerConfig>,
    /// CPU architecture.
    #[serde(rename = "Architecture", skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    /// The config blob plus each distinct layer once.
    #[serde(rename = "Size", skip_serializing_if = "is_zero")]
    pub size: i64,
}

/// The `kind` of a [`DockerImage`].
pub const KIND_DOCKER_IMAGE_METADATA: &str = "DockerImage";
/// The `apiVersion` of a [`DockerImage`] and `Image.dockerImageMetadataVersion`.
pub const DOCKER_IMAGE_METADATA_VERSION: &str = "1.0";

impl Default for DockerImage {
    fn default() -> Self {
        DockerImage {
            kind: KIND_DOCKER_IMAGE_METADATA.to_owned(),
            api_version: DOCKER_IMAGE_METADATA_VERSION.to_owned(),
            id: String::new(),
            created: String::new(),
            author: String::new(),
            config: None,
            architecture: String::new(),
            size: 0,
        }
    }
}

impl DockerImage {
    /// The run config, empty when there is none.
    pub fn run_config(&self) -> DockerConfig {
        self.config.clone().unwrap_or_default()
    }
}

/// The name older code knew the image metadata by.
pub type ImageMetadata = DockerImage;

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// docker10 `DockerConfig`: the run configuration of an image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerConfig {
    /// User.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Exposed ports (`8080/tcp`), each mapped to an empty object as Docker writes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// Entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl DockerConfig {
    fn is_empty(&self) -> bool {
        *self == DockerConfig::default()
    }
}

/// `{}`: the value of a Docker set such as `ExposedPorts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty {}

/// Exposed ports as docker10 writes them (a map) or as older state did (a list).
#[derive(Deserialize)]
#[serde(untagged)]
enum Ports {
    Map(BTreeMap<String, serde::de::IgnoredAny>),
    List(Vec<String>),
}

impl Ports {
    fn into_map(self) -> BTreeMap<String, Empty> {
        match self {
            Ports::Map(m) => m.into_keys().map(|k| (k, Empty {})).collect(),
            Ports::List(l) => l.into_iter().map(|k| (k, Empty {})).collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawDockerImage {
    #[serde(default, rename = "kind")]
    kind: Option<String>,
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default, rename = "Id")]
    id: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    config: Option<RawDockerConfig>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    size: Option<i64>,
    // The flat shape of older state.
    #[serde(flatten)]
    legacy: RawDockerConfig,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawDockerConfig {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    exposed_ports: Option<Ports>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

impl From<RawDockerConfig> for DockerConfig {
    fn from(r: RawDockerConfig) -> Self {
        DockerConfig {
            user: r.user.unwrap_or_default(),
            exposed_ports: r.exposed_ports.map(Ports::into_map).unwrap_or_default(),
            env: r.env.unwrap_or_default(),
            cmd: r.cmd.unwrap_or_default(),
            working_dir: r.working_dir.unwrap_or_default(),
            entrypoint: r.entrypoint.unwrap_or_default(),
            labels: r.labels.unwrap_or_default(),
        }
    }
}

impl From<RawDockerImage> for DockerImage {
    fn from(r: RawDockerImage) -> Self {
        let config = match r.config {
            Some(c) => DockerConfig::from(c),
            None => DockerConfig::from(r.legacy),
        };
        let or = |v: Option<String>, d: &str| {
            v.filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_owned())
        };
        DockerImage {
            kind: or(r.kind, KIND_DOCKER_IMAGE_METADATA),
            api_version: or(r.api_version, DOCKER_IMAGE_METADATA_VERSION),
            id: r.id.unwrap_or_default(),
            created: r.created.unwrap_or_default(),
            author: r.author.unwrap_or_default(),
            config: (!config.is_empty()).then_some(config),
            architecture: r.architecture.unwrap_or_default(),
            size: r.size.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_source_forms_resolve_against_the_holder() {
        let holder = StreamKey::new("demo", "ruby");
        let r = |kind: &str, name: &str, ns: Option<&str>| ObjectReference {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(str::to_owned),
        };
        let ist = r(KIND_IMAGE_STREAM_TAG, "2.0", None);
        assert_eq!(ist.source(&holder), Some((holder.clone(), "2.0")));
        assert_eq!(ist.tracks_in(&holder), Some("2.0"));
        let long = r(KIND_IMAGE_STREAM_TAG, "ruby:2.0", Some(""));
        assert_eq!(long.tracks_in(&holder), Some("2.0"));
        let other = r(KIND_IMAGE_STREAM_TAG, "python:3.12", Some("openshift"));
        assert_eq!(
            other.source(&holder),
            Some((StreamKey::new("openshift", "python"), "3.12"))
        );
        assert_eq!(other.tracks_in(&holder), None);
        let id = r(KIND_IMAGE_STREAM_IMAGE, "sha256:3a33", None);
        assert_eq!(id.source(&holder), Some((holder.clone(), "sha256:3a33")));
        assert_eq!(id.tracks_in(&holder), None);
        let long_id = r(KIND_IMAGE_STREAM_IMAGE, "ruby@3a33", None);
        assert_eq!(long_id.source(&holder), Some((holder.clone(), "3a33")));
        assert_eq!(r(KIND_DOCKER_IMAGE, "ruby:2.0", None).source(&holder), None);
        for bad in ["a:b:c", ":x", "x:"] {
            assert!(split_source(KIND_IMAGE_STREAM_TAG, bad).is_err(), "{bad}");
        }
        assert!(split_source(KIND_IMAGE_STREAM_IMAGE, "a@b@c").is_err());
    }

    #[test]
    fn image_metadata_of_older_state_loads_in_the_docker10_shape() {
        let old = "apiVersion: ''\nkind: ''\nmetadata:\n  name: sha256:aa\ndockerImageMetadata:\n  Architecture: amd64\n  OS: linux\n  Env: [A=1]\n  ExposedPorts: [8080/tcp]\n  Labels: {k: v}\n  Size: 10\n";
        let img: Image = serde_saphyr::from_str(old).unwrap();
        assert_eq!(
            (img.api_version.as_str(), img.kind.as_str()),
            ("image.openshift.io/v1", "Image")
        );
        let m = img.docker_image_metadata.clone().unwrap();
        assert_eq!(
            (m.kind.as_str(), m.api_version.as_str()),
            ("DockerImage", "1.0")
        );
        let run = m.run_config();
        assert_eq!(run.env, ["A=1"]);
        assert_eq!(run.exposed_ports.keys().collect::<Vec<_>>(), ["8080/tcp"]);
        assert_eq!(run.labels["k"], "v");
        assert_eq!(m.size, 10);
        // Written back, it is the new shape, and reads back the same.
        let json = serde_json::to_value(&img).unwrap();
        assert_eq!(
            json["dockerImageMetadata"]["Config"]["ExposedPorts"]["8080/tcp"],
            serde_json::json!({})
        );
        assert!(json["dockerImageMetadata"].get("OS").is_none());
        assert!(json["dockerImageMetadata"].get("Env").is_none());
        let again: Image = serde_json::from_value(json).unwrap();
        assert_eq!(again, img);
    }
}
