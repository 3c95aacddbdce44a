//! The cluster a repository's streams are meant for (`[cluster]` in `streamsync.toml`) and
//! what it decides: where each stream can be pulled from (`status.dockerImageRepository`,
//! `status.publicDockerImageRepository`) and the pull spec a tag resolves to, as OpenShift's
//! `ResolveLatestTaggedImage` does. Plain values and pure functions: no I/O.

use serde::{Deserialize, Serialize};

use super::{ImageStream, TagEvent, reference};

/// `[cluster]`: the integrated registry, when the cluster has one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The registry's in-cluster address, e.g. `image-registry.openshift-image-registry.svc:5000`.
    #[serde(default, deserialize_with = "deserialize_registry_host")]
    pub internal_registry: String,
    /// The registry's external route, when it is exposed.
    #[serde(default)]
    pub public_registry: String,
}

/// A registry address, refused here (at its line in `streamsync.toml`) rather than turned into
/// pull specs nothing can pull: `host[:port]` as the distribution reference grammar reads a
/// domain (DNS labels separated by dots, or a bracketed IPv6 address), no scheme, no path.
fn deserialize_registry_host<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    if value.is_empty() || is_registry_host(&value) {
        return Ok(value);
    }
    Err(serde::de::Error::custom(format!(
        "`{}` is not a registry address `host[:port]` (for example `image-registry.openshift-image-registry.svc:5000`)",
        crate::util::escape_line(&value)
    )))
}

/// Whether `value` is `host[:port]`: a DNS name of labels (letters, digits, inner `-`) joined
/// by `.`, or a bracketed IPv6 address; the port 1 to 65535.
pub fn is_registry_host(value: &str) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match value.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (value, None),
        }
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = value.starts_with('[') || (host.len() <= 253 && host.split('.').all(label));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    });
    host_ok && port_ok
}

fn host(registry: &str) -> &str {
    registry.trim().trim_end_matches('/')
}

impl Cluster {
    /// `status.dockerImageRepository` (OpenShift's `PrepareForCreate`): the stream's
    /// repository in the integrated registry, else its `spec.dockerImageRepository`, else empty.
    pub fn docker_image_repository(&self, stream: &ImageStream) -> String {
        let key = stream.key();
        let internal = host(&self.internal_registry);
        if internal.is_empty() {
            stream.repository().unwrap_or_default().to_owned()
        } else {
            format!("{internal}/{}/{}", key.namespace, key.name)
        }
    }

    /// `status.publicDockerImageRepository`: the stream's repository on the registry's
    /// external route, or empty when it is not exposed.
    pub fn public_docker_image_repository(&self, stream: &ImageStream) -> String {
        let key = stream.key();
        let public = host(&self.public_registry);
        if public.is_empty() {
            String::new()
        } else {
            format!("{public}/{}/{}", key.namespace, key.name)
        }
    }

    /// The pull spec tag `tag` of `stream` resolves to now (`get tag`, triggers, roll-outs),
    /// or `None` while it has no image. `referencePolicy: Local` points at the stream's
    /// repository (see [`Cluster::docker_image_repository`]) by digest; `Source`, and `Local`
    /// without such a repository or without an image id, give the recorded pull spec.
    pub fn resolve_tag(&self, stream: &ImageStream, tag: &str) -> Option<String> {
        let latest = stream.status_tag(tag)?.items.first()?;
        Some(self.resolve_event(stream, tag, latest))
    }

    /// [`Cluster::resolve_tag`] for a given event of the tag's history.
    pub fn resolve_event(&self, stream: &ImageStream, tag: &str, event: &TagEvent) -> String {
        let local = stream
            .spec_tag(tag)
            .is_some_and(|t| t.reference_policy.effective() == "Local");
        if !local || event.image.is_empty() {
            return event.docker_image_reference.clone();
        }
        let repository = self.docker_image_repository(stream);
        match reference::parse(&repository) {
            Ok(mut r) if !repository.is_empty() => {
                r.tag.clear();
                r.digest = event.image.clone();
                r.exact()
            }
            _ => event.docker_image_reference.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ImageStreamStatus, NamedTagEventList, TagReference, TagReferencePolicy};

    fn stream(policy: &str, repository: Option<&str>) -> ImageStream {
        let mut s = ImageStream::new("demo", "ruby");
        s.spec.docker_image_repository = repository.map(str::to_owned);
        s.spec.tags = vec![TagReference {
            name: "2.0".into(),
            reference_policy: TagReferencePolicy {
                kind: policy.into(),
            },
            ..TagReference::default()
        }];
        s.status = Some(ImageStreamStatus {
            tags: vec![NamedTagEventList {
                tag: "2.0".into(),
                items: vec![TagEvent {
                    created: "t".into(),
                    docker_image_reference: "quay.io/org/ruby@sha256:aa".into(),
                    image: "sha256:aa".into(),
                    generation: 1,
                }],
                conditions: vec![],
            }],
            ..ImageStreamStatus::default()
        });
        s
    }

    #[test]
    fn registry_hosts_are_host_and_optional_port() {
        for ok in [
            "image-registry.openshift-image-registry.svc:5000",
            "localhost",
            "127.0.0.1:5000",
            "[::1]:5000",
            "[fe80::1]",
            "quay.io",
        ] {
            assert!(is_registry_host(ok), "{ok}");
        }
        for bad in [
            "https://registry.example.com",
            "registry.example.com/path",
            "registry example.com",
            "host:0",
            "host:65536",
            "host:",
            ":5000",
            "-bad.example.com",
            "a..b",
            "[::1",
            "[nope]:5000",
            "registry.example.com:5000:1",
            " registry.example.com",
        ] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }

    #[test]
    fn local_tags_resolve_into_the_integrated_registry_else_fall_back() {
        let cluster = Cluster {
            internal_registry: "image-registry.openshift-image-registry.svc:5000".into(),
            public_registry: "registry.apps.example.com".into(),
        };
        let none = Cluster::default();
        let local = stream("Local", None);
        assert_eq!(
            cluster.resolve_tag(&local, "2.0").as_deref(),
            Some("image-registry.openshift-image-registry.svc:5000/demo/ruby@sha256:aa")
        );
        assert_eq!(
            cluster.public_docker_image_repository(&local),
            "registry.apps.example.com/demo/ruby"
        );
        // No integrated registry and no repository: the imported pull spec, as Source.
        assert_eq!(
            none.resolve_tag(&local, "2.0").as_deref(),
            Some("quay.io/org/ruby@sha256:aa")
        );
        assert_eq!(none.public_docker_image_repository(&local), "");
        // No integrated registry, but a spec repository: that repository by digest.
        let repo = stream("Local", Some("mirror.example.com/org/ruby"));
        assert_eq!(
            none.docker_image_repository(&repo),
            "mirror.example.com/org/ruby"
        );
        assert_eq!(
            none.resolve_tag(&repo, "2.0").as_deref(),
            Some("mirror.example.com/org/ruby@sha256:aa")
        );
        // Source always gives the recorded pull spec.
        let source = stream("", None);
        assert_eq!(
            cluster.resolve_tag(&source, "2.0").as_deref(),
            Some("quay.io/org/ruby@sha256:aa")
        );
        assert_eq!(cluster.resolve_tag(&source, "3.0"), None);
    }
}
