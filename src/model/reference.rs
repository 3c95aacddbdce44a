//! Docker pull specs with OpenShift's grammar and split (library-go `reference.Parse`):
//! `[registry/][namespace/]name[:tag][@digest]`, the Docker client defaults, and a canonical
//! key for deciding whether two pull specs name the same image.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The longest name (registry included) a pull spec may have.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Docker Hub as written by default.
pub const DOCKER_DEFAULT_REGISTRY: &str = "docker.io";
/// Docker Hub's v1 host.
pub const DOCKER_DEFAULT_V1_REGISTRY: &str = "index.docker.io";
/// Docker Hub's v2 API host.
pub const DOCKER_DEFAULT_V2_REGISTRY: &str = "registry-1.docker.io";

/// A parsed pull spec, split the way OpenShift splits it. Empty strings mean "absent".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Reference {
    /// `quay.io`, `localhost:5000`, or empty.
    pub registry: String,
    /// The first path component after the registry, or empty.
    pub namespace: String,
    /// The rest of the path (may contain `/`).
    pub name: String,
    /// The tag, or empty.
    pub tag: String,
    /// `sha256:…`, or empty.
    pub digest: String,
}

/// Why a pull spec does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The empty string.
    #[error("repository name must have at least one component")]
    Empty,
    /// Uppercase letters in the repository path.
    #[error("repository name must be lowercase")]
    Uppercase,
    /// Longer than 255 characters.
    #[error("repository name must not be more than 255 characters")]
    TooLong,
    /// Anything else the grammar refuses.
    #[error("invalid reference format")]
    Format,
    /// A digest whose hex part has the wrong length for its algorithm.
    #[error("invalid checksum digest length")]
    DigestLength,
    /// A digest with an algorithm streamsync does not know.
    #[error("unsupported digest algorithm")]
    DigestAlgorithm,
}

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let alnum = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]*)";
    let component = format!("{alnum}(?:{separator}{alnum})*");
    let host_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let hostname = format!("{host_component}(?:\\.{host_component})*(?::[0-9]+)?");
    let name = format!("(?:{hostname}/)?{component}(?:/{component})*");
    let tag = "[\\w][\\w.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    Regex::new(&format!("^({name})(?::({tag}))?(?:@({digest}))?$"))
        .expect("the reference grammar is a valid regex")
});

/// Parse a pull spec with OpenShift's grammar and split.
pub fn parse(spec: &str) -> Result<Reference, ParseError> {
    if spec.is_empty() {
        return Err(ParseError::Empty);
    }
    let Some(caps) = REFERENCE.captures(spec) else {
        if REFERENCE.is_match(&spec.to_lowercase()) {
            return Err(ParseError::Uppercase);
        }
        return Err(ParseError::Format);
    };
    let name = caps.get(1).map_or("", |m| m.as_str());
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ParseError::TooLong);
    }
    let tag = caps.get(2).map_or("", |m| m.as_str());
    let digest = caps.get(3).map_or("", |m| m.as_str());
    if !digest.is_empty() {
        validate_digest(digest)?;
    }

    let mut r = Reference::default();
    let slash = name.find('/');
    let registry_only = slash.is_none() && (name.contains('.') || name.starts_with("localhost"));
    let name_only = match slash {
        None => !registry_only,
        Some(i) => !name[..i].contains([':', '.']) && &name[..i] != "localhost",
    };
    if registry_only {
        // library-go keeps the whole reference as the registry (`localhost:5000` parses as
        // name `localhost`, tag `5000`).
        r.registry = named_string(name, tag, digest);
    } else if name_only {
        r.name = name.to_owned();
    } else if let Some(i) = slash {
        r.registry = name[..i].to_owned();
        r.name = name[i + 1..].to_owned();
    }
    if !registry_only {
        r.tag = tag.to_owned();
    }
    r.digest = digest.to_owned();
    if let Some(i) = r.name.find('/') {
        r.namespace = r.name[..i].to_owned();
        r.name = r.name[i + 1..].to_owned();
    }
    Ok(r)
}

fn named_string(name: &str, tag: &str, digest: &str) -> String {
    let mut s = name.to_owned();
    if !tag.is_empty() {
        s.push(':');
        s.push_str(tag);
    }
    if !digest.is_empty() {
        s.push('@');
        s.push_str(digest);
    }
    s
}

fn validate_digest(digest: &str) -> Result<(), ParseError> {
    let (algorithm, hex) = digest.split_once(':').ok_or(ParseError::Format)?;
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ParseError::DigestAlgorithm),
    };
    if hex.len() != want {
        return Err(ParseError::DigestLength);
    }
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ParseError::Format);
    }
    Ok(())
}

/// Whether `registry` is Docker Hub under any of its names.
pub fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        DOCKER_DEFAULT_REGISTRY | DOCKER_DEFAULT_V1_REGISTRY | DOCKER_DEFAULT_V2_REGISTRY
    )
}

impl Reference {
    /// The reference with the Docker client's defaults: `docker.io`, `library/` only for
    /// Docker Hub, tag `latest` (library-go `DockerClientDefaults`).
    #[must_use]
    pub fn docker_client_defaults(&self) -> Reference {
        let mut r = self.clone();
        if r.registry.is_empty() {
            r.registry = DOCKER_DEFAULT_REGISTRY.to_owned();
        }
        if r.namespace.is_empty() && is_docker_hub(&r.registry) {
            r.namespace = "library".to_owned();
        }
        if r.tag.is_empty() {
            r.tag = "latest".to_owned();
        }
        r
    }

    /// Prefer the digest over the tag (library-go `MostSpecific`).
    #[must_use]
    pub fn most_specific(&self) -> Reference {
        let mut r = self.clone();
        if !r.digest.is_empty() {
            r.tag.clear();
        }
        r
    }

    /// The reference as written, without defaults (library-go `Exact`).
    pub fn exact(&self) -> String {
        let mut s = self.registry.clone();
        if !s.is_empty() {
            s.push('/');
        }
        if !self.namespace.is_empty() {
            s.push_str(&self.namespace);
            s.push('/');
        }
        if self.name.is_empty() {
            if self.registry.is_empty() {
                return String::new();
            }
            return s;
        }
        s.push_str(&self.name);
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        } else if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        s
    }

    /// `[namespace/]name`: the repository path on its registry.
    pub fn repository_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// The host actually contacted (`docker.io` → `registry-1.docker.io`).
    pub fn registry_api_host(&self) -> String {
        let registry = if self.registry.is_empty() {
            DOCKER_DEFAULT_REGISTRY
        } else {
            &self.registry
        };
        match registry {
            DOCKER_DEFAULT_REGISTRY | DOCKER_DEFAULT_V1_REGISTRY => {
                DOCKER_DEFAULT_V2_REGISTRY.to_owned()
            }
            other => other.to_owned(),
        }
    }

    /// The normalised pull spec shown by `streamsync ref`: defaults applied, rendered exactly.
    pub fn normalized(&self) -> String {
        let r = self.docker_client_defaults();
        if r.name.is_empty() {
            return r.registry;
        }
        let mut s = format!("{}/{}/{}", r.registry, r.namespace, r.name).replace("//", "/");
        if r.namespace.is_empty() {
            s = format!("{}/{}", r.registry, r.name);
        }
        s.push(':');
        s.push_str(&r.tag);
        if !r.digest.is_empty() {
            s.push('@');
            s.push_str(&r.digest);
        }
        s
    }

    /// A key under which two pull specs of the same image compare equal: defaults applied,
    /// every Docker Hub host spelled `docker.io`, and by digest alone when there is one.
    pub fn canonical_key(&self) -> String {
        let mut r = self.docker_client_defaults();
        if is_docker_hub(&r.registry) {
            r.registry = DOCKER_DEFAULT_REGISTRY.to_owned();
        }
        let repo = format!("{}/{}", r.registry, r.repository_name());
        if r.digest.is_empty() {
            format!("{repo}:{}", r.tag)
        } else {
            format!("{repo}@{}", r.digest)
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.exact())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(spec: &str) -> (String, String, String, String, String) {
        let r = parse(spec).unwrap();
        (r.registry, r.namespace, r.name, r.tag, r.digest)
    }

    #[test]
    fn openshift_split_examples() {
        let s = |a: &str, b: &str, c: &str, d: &str| {
            (
                a.to_owned(),
                b.to_owned(),
                c.to_owned(),
                d.to_owned(),
                String::new(),
            )
        };
        assert_eq!(split("foo"), s("", "", "foo", ""));
        assert_eq!(split("bar/foo:tag"), s("", "bar", "foo", "tag"));
        assert_eq!(split("bar:5000/foo/baz"), s("bar:5000", "foo", "baz", ""));
        assert_eq!(split("quay.io"), s("quay.io", "", "", ""));
        assert_eq!(split("localhost:5000"), s("localhost:5000", "", "", ""));
        assert_eq!(split("quay.io/org"), s("quay.io", "", "org", ""));
        assert_eq!(
            split("docker.io/user/project/myapp"),
            s("docker.io", "user", "project/myapp", "")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("Foo/bar"), Err(ParseError::Uppercase));
        assert_eq!(parse("https://quay.io/a"), Err(ParseError::Format));
        assert_eq!(
            parse("foo@sha256:00000000000000000000000000000001"),
            Err(ParseError::DigestLength)
        );
    }
}
