//! Manifest, index and image-config parsing into [`model::Image`](crate::model::Image): media
//! types, digest verification, platform choice for Legacy imports, and the config fields
//! OpenShift records. Works on bytes already downloaded; it sends nothing and knows no hosts.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::model::{
    ANNOTATION_LAYERS_ORDER, DOCKER_IMAGE_METADATA_VERSION, DockerConfig, DockerImage, Empty,
    Image, ImageLayer, ImageManifest, ImageMeta,
};

/// OCI image manifest.
pub const OCI_MANIFEST: &str = oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
/// OCI image index.
pub const OCI_INDEX: &str = oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE;
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE;
/// Docker manifest list.
pub const DOCKER_LIST: &str = oci_client::manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE;

/// The `Accept` header of every manifest request: both image kinds and both index kinds.
pub fn accept_header() -> String {
    [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST].join(", ")
}

/// Whether a media type names an index / manifest list.
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Check downloaded bytes against the digest they were asked by. Only sha256 is produced by
/// the registries streamsync talks to; anything else is refused rather than trusted.
pub fn verify(expected: &str, bytes: &[u8]) -> Result<(), String> {
    if !expected.starts_with("sha256:") {
        return Err(format!("unsupported digest algorithm in `{expected}`"));
    }
    let got = sha256_digest(bytes);
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "content does not match its digest: expected {expected}, got {got}"
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize, Default)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: i64,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An image manifest.
    Image(ImageManifestParts),
    /// An index or manifest list.
    Index(Vec<ImageManifest>),
}

/// The parts of an image manifest streamsync needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageManifestParts {
    /// Its media type.
    pub media_type: String,
    /// Config descriptor digest.
    pub config_digest: String,
    /// Config size.
    pub config_size: i64,
    /// Layers in order.
    pub layers: Vec<ImageLayer>,
}

/// Parse manifest bytes. `header_type` is the `Content-Type` the registry sent (used when the
/// document itself carries no `mediaType`).
pub fn parse(bytes: &[u8], header_type: &str) -> Result<(String, Parsed), String> {
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid JSON ({e})"))?;
    let header_type = header_type.split(';').next().unwrap_or("").trim();
    let media_type = raw
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| (!header_type.is_empty()).then(|| header_type.to_owned()))
        .unwrap_or_else(|| {
            if raw.manifests.is_some() {
                OCI_INDEX.to_owned()
            } else {
                OCI_MANIFEST.to_owned()
            }
        });
    if raw.schema_version == 1 || media_type.contains("distribution.manifest.v1") {
        return Err("schema 1 manifests are not supported".to_owned());
    }
    if let Some(manifests) = raw.manifests {
        let list = manifests
            .into_iter()
            .map(|d| {
                let p = d.platform.unwrap_or_default();
                ImageManifest {
                    digest: d.digest,
                    media_type: d.media_type,
                    manifest_size: d.size,
                    architecture: p.architecture,
                    os: p.os,
                    variant: p.variant.unwrap_or_default(),
                }
            })
            .collect();
        return Ok((media_type, Parsed::Index(list)));
    }
    let config = raw
        .config
        .ok_or_else(|| "manifest has no config descriptor".to_owned())?;
    let layers = raw
        .layers
        .unwrap_or_default()
        .into_iter()
        .map(|l| ImageLayer {
            name: l.digest,
            size: l.size,
            media_type: l.media_type,
        })
        .collect();
    Ok((
        media_type.clone(),
        Parsed::Image(ImageManifestParts {
            media_type,
            config_digest: config.digest,
            config_size: config.size,
            layers,
        }),
    ))
}

/// Whether an index entry is an image for a platform, not an attestation or other artifact
/// (BuildKit lists those as `unknown/unknown`).
pub fn is_platform(entry: &ImageManifest) -> bool {
    entry.os != "unknown" && entry.architecture != "unknown"
}

/// Legacy import mode's choice of one platform: the preferred arch/OS when given, then
/// linux/amd64, then the first entry (OpenShift's importer order). Attestation entries
/// (`unknown/unknown`) are never chosen while a real platform exists.
pub fn pick_platform<'a>(
    list: &'a [ImageManifest],
    prefer_arch: Option<&str>,
    prefer_os: Option<&str>,
) -> Option<&'a ImageManifest> {
    let real: Vec<&ImageManifest> = list.iter().filter(|m| is_platform(m)).collect();
    let candidates = if real.is_empty() {
        list.iter().collect()
    } else {
        real
    };
    if prefer_arch.is_some() || prefer_os.is_some() {
        let arch = prefer_arch.unwrap_or("amd64");
        let os = prefer_os.unwrap_or("linux");
        if let Some(m) = candidates
            .iter()
            .find(|m| m.architecture == arch && m.os == os)
        {
            return Some(m);
        }
    }
    if let Some(m) = candidates
        .iter()
        .find(|m| m.architecture == "amd64" && m.os == "linux")
    {
        return Some(m);
    }
    candidates.first().copied()
}

#[derive(Debug, Default, Deserialize)]
struct RawConfigFile {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    config: Option<RawRunConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRunConfig {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Build the Image of an image manifest from its config blob.
pub fn image_from_parts(
    digest: &str,
    docker_image_reference: &str,
    parts: &ImageManifestParts,
    config: &[u8],
) -> Result<Image, String> {
    let raw: RawConfigFile = serde_json::from_slice(config)
        .map_err(|e| format!("image config is not valid JSON ({e})"))?;
    let run = raw.config.unwrap_or_default();
    // OpenShift's size: the config blob plus each distinct layer once.
    let mut seen = BTreeSet::new();
    let mut size = i64::try_from(config.len()).unwrap_or(i64::MAX);
    for l in &parts.layers {
        if seen.insert(l.name.as_str()) {
            size = size.saturating_add(l.size);
        }
    }
    let config = DockerConfig {
        user: run.user.unwrap_or_default(),
        exposed_ports: run
            .exposed_ports
            .unwrap_or_default()
            .into_keys()
            .map(|p| (p, Empty {}))
            .collect(),
        env: run.env.unwrap_or_default(),
        cmd: run.cmd.unwrap_or_default(),
        working_dir: run.working_dir.unwrap_or_default(),
        entrypoint: run.entrypoint.unwrap_or_default(),
        labels: run.labels.unwrap_or_default(),
    };
    // OpenShift's importer: the image ID is the config digest, and layers are listed base
    // first, which the annotation records.
    let metadata = DockerImage {
        id: parts.config_digest.clone(),
        created: raw.created.unwrap_or_default(),
        author: raw.author.unwrap_or_default(),
        config: (config != DockerConfig::default()).then_some(config),
        architecture: raw.architecture,
        size,
        ..DockerImage::default()
    };
    let annotations = (!parts.layers.is_empty()).then(|| {
        [(ANNOTATION_LAYERS_ORDER.to_owned(), "ascending".to_owned())]
            .into_iter()
            .collect()
    });
    Ok(Image {
        metadata: ImageMeta {
            name: digest.to_owned(),
            creation_timestamp: None,
            annotations,
        },
        docker_image_reference: docker_image_reference.to_owned(),
        docker_image_manifest_media_type: parts.media_type.clone(),
        docker_image_layers: parts.layers.clone(),
        docker_image_manifests: Vec::new(),
        docker_image_metadata: Some(metadata),
        docker_image_metadata_version: DOCKER_IMAGE_METADATA_VERSION.to_owned(),
        ..Image::default()
    })
}

/// The Image of an index kept whole (PreserveOriginal): its platforms, no config.
pub fn image_from_index(
    digest: &str,
    docker_image_reference: &str,
    media_type: &str,
    list: &[ImageManifest],
) -> Image {
    Image {
        metadata: ImageMeta {
            name: digest.to_owned(),
            creation_timestamp: None,
            annotations: None,
        },
        docker_image_reference: docker_image_reference.to_owned(),
        docker_image_manifest_media_type: media_type.to_owned(),
        docker_image_manifests: list.to_vec(),
        ..Image::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, os: &str, d: &str) -> ImageManifest {
        ImageManifest {
            digest: d.into(),
            architecture: arch.into(),
            os: os.into(),
            ..ImageManifest::default()
        }
    }

    #[test]
    fn platform_choice() {
        let list = vec![
            entry("unknown", "unknown", "att"),
            entry("arm64", "linux", "arm"),
            entry("amd64", "linux", "amd"),
            entry("s390x", "linux", "s390"),
        ];
        assert_eq!(pick_platform(&list, None, None).unwrap().digest, "amd");
        assert_eq!(
            pick_platform(&list, Some("arm64"), None).unwrap().digest,
            "arm"
        );
        assert_eq!(
            pick_platform(&list, Some("ppc64le"), None).unwrap().digest,
            "amd"
        );
        let no_amd = vec![entry("arm64", "linux", "arm"), entry("s390x", "linux", "s")];
        assert_eq!(pick_platform(&no_amd, None, None).unwrap().digest, "arm");
        assert!(pick_platform(&[], None, None).is_none());
    }

    #[test]
    fn verify_detects_mismatch() {
        let d = sha256_digest(b"abc");
        assert!(verify(&d, b"abc").is_ok());
        assert!(verify(&d, b"abd").unwrap_err().contains("does not match"));
        assert!(verify("sha512:00", b"abc").is_err());
    }

    #[test]
    fn config_metadata_and_size() {
        let parts = ImageManifestParts {
            media_type: OCI_MANIFEST.into(),
            config_digest: "sha256:c".into(),
            config_size: 10,
            layers: vec![
                ImageLayer {
                    name: "sha256:a".into(),
                    size: 100,
                    media_type: "l".into(),
                },
                ImageLayer {
                    name: "sha256:a".into(),
                    size: 100,
                    media_type: "l".into(),
                },
                ImageLayer {
                    name: "sha256:b".into(),
                    size: 5,
                    media_type: "l".into(),
                },
            ],
        };
        let config = br#"{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z",
            "author":"me","config":{"User":"1001","WorkingDir":"/w","Env":["A=1"],"Cmd":["run"],
            "Entrypoint":["/e"],"ExposedPorts":{"8080/tcp":{}},"Labels":{"k":"v"}},
            "rootfs":{"type":"layers","diff_ids":[]}}"#;
        let img = image_from_parts("sha256:x", "r/a@sha256:x", &parts, config).unwrap();
        let m = img.docker_image_metadata.unwrap();
        assert_eq!(m.architecture, "amd64");
        assert_eq!(
            (m.kind.as_str(), m.api_version.as_str()),
            ("DockerImage", "1.0")
        );
        assert_eq!(m.id, "sha256:c");
        let run = m.run_config();
        assert_eq!(run.user, "1001");
        assert_eq!(run.exposed_ports.keys().collect::<Vec<_>>(), ["8080/tcp"]);
        assert_eq!(m.size, config.len() as i64 + 105);
        assert_eq!(img.docker_image_metadata_version, "1.0");
        assert_eq!(
            img.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("image.openshift.io/dockerLayersOrder"))
                .map(String::as_str),
            Some("ascending")
        );
        assert_eq!(img.docker_image_layers.len(), 3);
    }

    #[test]
    fn parse_kinds() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":3,
            "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
        let (mt, p) = parse(idx, "").unwrap();
        assert_eq!(mt, OCI_INDEX);
        let Parsed::Index(list) = p else {
            panic!("expected an index")
        };
        assert_eq!(list[0].variant, "v8");
        let v1 = br#"{"schemaVersion":1,"name":"x"}"#;
        assert!(parse(v1, "").is_err());
        assert!(parse(b"not json", "").is_err());
    }
}
