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
    /// A digest whose hex part is not lowercase hexadecimal.
    #[error("invalid checksum digest format")]
    DigestFormat,
    /// A digest cut short (`@sha256:abc`): the grammar wants the whole digest.
    #[error("digest `{digest}` is too short: {algorithm} takes {want} hex digits, it has {got}")]
    DigestTooShort {
        /// The digest as written.
        digest: String,
        /// `sha256`, ...
        algorithm: String,
        /// Hex digits the algorithm takes.
        want: usize,
        /// Hex digits written.
        got: usize,
    },
}

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let alnum = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]*)";
    let component = format!("{alnum}(?:{separator}{alnum})*");
    let host_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let hostname = format!("{host_component}(?:\\.{host_component})*(?::[0-9]+)?");
    let name = format!("(?:{hostname}/)?{component}(?:/{component})*");
    // `\w` in Go's RE2 is ASCII-only; Rust's is Unicode, so spell the class out.
    let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    Regex::new(&format!("^({name})(?::({tag}))?(?:@({digest}))?$"))
        .expect("the reference grammar is a valid regex")
});

/// Parse a pull spec with OpenShift's grammar and split.
pub fn parse(spec: &str) -> Result<Reference, ParseError> {
    if spec.is_empty() {
        return Err(ParseError::Empty);
    }
    // Matching alone is several times cheaper than capturing.
    if !REFERENCE.is_match(spec) {
        if REFERENCE.is_match(&spec.to_lowercase()) {
            return Err(ParseError::Uppercase);
        }
        return Err(short_digest(spec).unwrap_or(ParseError::Format));
    }
    let (name, tag, digest) = split(spec);
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ParseError::TooLong);
    }
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

/// Name, tag and digest of a spec that matches the grammar, which splits it only one way: no
/// part but the digest holds `@`, and a tag (holding neither `:` nor `/`) follows the last `:`
/// when no `/` comes after it (a registry port always has one after it).
fn split(spec: &str) -> (&str, &str, &str) {
    let (rest, digest) = spec.split_once('@').unwrap_or((spec, ""));
    match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], &rest[i + 1..], digest),
        _ => (rest, "", digest),
    }
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

/// The grammar refuses a digest under 32 hex digits outright; say that the digest is short
/// rather than "invalid reference format" when the rest of `spec` parses.
fn short_digest(spec: &str) -> Option<ParseError> {
    let (name, digest) = spec.rsplit_once('@')?;
    let (algorithm, hex) = digest.split_once(':')?;
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return None,
    };
    let is_hex = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex || hex.len() >= want || !REFERENCE.is_match(name) {
        return None;
    }
    Some(ParseError::DigestTooShort {
        digest: digest.to_owned(),
        algorithm: algorithm.to_owned(),
        want,
        got: hex.len(),
    })
}

fn validate_digest(digest: &str) -> Result<(), ParseError> {
    let (algorithm, hex) = digest.split_once(':').ok_or(ParseError::Format)?;
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ParseError::DigestAlgorithm),
    };
    if hex.len() < want && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParseError::DigestTooShort {
            digest: digest.to_owned(),
            algorithm: algorithm.to_owned(),
            want,
            got: hex.len(),
        });
    }
    if hex.len() != want {
        return Err(ParseError::DigestLength);
    }
    if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ParseError::DigestFormat);
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

    /// The normalised pull spec shown by `streamsync ref`: the Docker client defaults applied
    /// (`docker.io`, `library/` on Docker Hub, `latest` unless a digest alone names the image).
    /// A registry-only reference stays the registry.
    pub fn normalized(&self) -> String {
        let r = self.docker_client_defaults();
        if r.name.is_empty() {
            return r.registry;
        }
        let mut s = format!("{}/{}", r.registry, r.repository_name());
        // A digest alone is more specific than the default tag: do not invent `:latest`.
        if self.digest.is_empty() || !self.tag.is_empty() {
            s.push(':');
            s.push_str(&r.tag);
        }
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

    const D256: &str = "sha256:3c87c572822935df60f0f5d3665bd376841a7fcfeb806b5f212de6a00e9a7b25";

    #[test]
    fn splitting_a_matching_spec_agrees_with_the_grammar_groups() {
        let digest = format!("@{D256}");
        let mut specs = Vec::new();
        for host in [
            "",
            "docker.io/",
            "localhost/",
            "localhost:5000/",
            "a-b.c:443/",
            "quay.io/",
        ] {
            for path in ["app", "ns/app", "a/b/c", "my_app.x__y-z", "localhost"] {
                for tag in ["", ":1", ":v1.2-rc_3", ":5000", ":latest"] {
                    for id in ["", digest.as_str()] {
                        specs.push(format!("{host}{path}{tag}{id}"));
                    }
                }
            }
        }
        for spec in &specs {
            let caps = REFERENCE.captures(spec).expect(spec);
            let group = |i| caps.get(i).map_or("", |m| m.as_str());
            assert_eq!(split(spec), (group(1), group(2), group(3)), "{spec}");
        }
    }

    /// One row of library-go's `TestParse` table: input, registry, namespace, name, tag, id.
    fn row(from: &str, registry: &str, namespace: &str, name: &str, tag: &str, id: &str) {
        let got = parse(from).unwrap_or_else(|e| panic!("{from}: unexpected error: {e}"));
        let want = Reference {
            registry: registry.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            tag: tag.to_owned(),
            digest: id.to_owned(),
        };
        assert_eq!(got, want, "{from}");
    }

    #[test]
    fn library_go_parse_table() {
        let hex = &D256[7..];
        row("foo", "", "", "foo", "", "");
        row("foo:tag", "", "", "foo", "tag", "");
        // A bare digest parses as name `sha256` with the hex as its tag (a quirk kept on purpose).
        row(D256, "", "", "sha256", hex, "");
        row(&format!("foo@{D256}"), "", "", "foo", "", D256);
        row("bar/foo", "", "bar", "foo", "", "");
        row("bar/foo:tag", "", "bar", "foo", "tag", "");
        row(&format!("bar/foo@{D256}"), "", "bar", "foo", "", D256);
        row("bar/foo/baz", "", "bar", "foo/baz", "", "");
        row("bar/library/baz", "", "bar", "library/baz", "", "");
        row("bar/foo/baz:tag", "", "bar", "foo/baz", "tag", "");
        row(
            &format!("bar/foo/baz@{D256}"),
            "",
            "bar",
            "foo/baz",
            "",
            D256,
        );
        row("bar:5000/foo/baz", "bar:5000", "foo", "baz", "", "");
        row("bar:5000/library/baz", "bar:5000", "library", "baz", "", "");
        row("bar:5000/baz", "bar:5000", "", "baz", "", "");
        row("bar:5000/foo/baz:tag", "bar:5000", "foo", "baz", "tag", "");
        row(
            &format!("bar:5000/foo/baz@{D256}"),
            "bar:5000",
            "foo",
            "baz",
            "",
            D256,
        );
        row("myregistry.io/foo", "myregistry.io", "", "foo", "", "");
        row("localhost/bar", "localhost", "", "bar", "", "");
        row(
            "docker.io/library/myapp",
            "docker.io",
            "library",
            "myapp",
            "",
            "",
        );
        row("docker.io/myapp", "docker.io", "", "myapp", "", "");
        row("docker.io/user/myapp", "docker.io", "user", "myapp", "", "");
        row(
            "docker.io/user/project/myapp",
            "docker.io",
            "user",
            "project/myapp",
            "",
            "",
        );
        row("index.docker.io/bar", "index.docker.io", "", "bar", "", "");
        let (a63, b182, b231) = ("a".repeat(63), "b".repeat(182), "b".repeat(231));
        // registry/namespace/name == 255 characters.
        row(
            &format!("bar:5000/{a63}/{b182}:tag"),
            "bar:5000",
            &a63,
            &b182,
            "tag",
            "",
        );
        row(
            &format!("docker.io/library/{b231}:tag"),
            "docker.io",
            "library",
            &b231,
            "tag",
            "",
        );
        row(
            &format!("docker.io/{b231}:tag"),
            "docker.io",
            "",
            &b231,
            "tag",
            "",
        );
        row("quay.io", "quay.io", "", "", "", "");
        row("quay.io/org", "quay.io", "", "org", "", "");
        row("localhost:5000", "localhost:5000", "", "", "", "");
        row("localhost:5000/org", "localhost:5000", "", "org", "", "");
        row("bar/foo/baz/biz", "", "bar", "foo/baz/biz", "", "");
    }

    #[test]
    fn library_go_parse_table_errors() {
        let cases = [
            (
                format!("bar:5000/{}/{}:tag", "a".repeat(63), "b".repeat(183)),
                ParseError::TooLong,
            ),
            (
                format!("docker.io/{}:tag", "b".repeat(246)),
                ParseError::TooLong,
            ),
            ("registry.io/foo/bar/:Tag".into(), ParseError::Format),
            ("https://bar:5000/foo/baz".into(), ParseError::Format),
            (format!("http://bar:5000/foo/baz@{D256}"), ParseError::Format),
            (
                "registry:3000/integration/imageStream:success".into(),
                ParseError::Uppercase,
            ),
            // library-go says "invalid checksum digest length" and "invalid reference
            // format" for these two; streamsync says the digest is too short.
            (
                "registry:5000/integration/test-image-stream@sha256:00000000000000000000000000000001"
                    .into(),
                ParseError::DigestTooShort {
                    digest: "sha256:00000000000000000000000000000001".into(),
                    algorithm: "sha256".into(),
                    want: 64,
                    got: 32,
                },
            ),
            ("abc@badid".into(), ParseError::Format),
            (
                "index.docker.io/mysql@sha256:bad".into(),
                ParseError::DigestTooShort {
                    digest: "sha256:bad".into(),
                    algorithm: "sha256".into(),
                    want: 64,
                    got: 3,
                },
            ),
            (format!("@{D256}"), ParseError::Format),
            (":tag".into(), ParseError::Format),
            ("bar/foo/baz////biz".into(), ParseError::Format),
            ("//foo/baz/biz".into(), ParseError::Format),
            ("ftp://baz/baz/biz".into(), ParseError::Format),
            (String::new(), ParseError::Empty),
        ];
        for (input, want) in cases {
            assert_eq!(parse(&input), Err(want), "{input}");
        }
    }

    /// The grammar table of the Docker reference package library-go vendors
    /// (`internal/reference`), checked through the OpenShift split.
    #[test]
    fn distribution_grammar_table() {
        let f64 = "f".repeat(64);
        let sha = format!("sha256:{f64}");
        row("test_com", "", "", "test_com", "", "");
        // No `/` but a `.`: the whole reference is a registry, tag included.
        row("test.com:tag", "test.com:tag", "", "", "", "");
        row("test.com:5000", "test.com:5000", "", "", "", "");
        row("test.com/repo:tag", "test.com", "", "repo", "tag", "");
        row("test:5000/repo", "test:5000", "", "repo", "", "");
        row("test:5000/repo:tag", "test:5000", "", "repo", "tag", "");
        row(
            &format!("test:5000/repo@{sha}"),
            "test:5000",
            "",
            "repo",
            "",
            &sha,
        );
        row(
            &format!("test:5000/repo:tag@{sha}"),
            "test:5000",
            "",
            "repo",
            "tag",
            &sha,
        );
        row("lowercase:Uppercase", "", "", "lowercase", "Uppercase", "");
        let long = format!("{}a", "a/".repeat(127));
        let got = parse(&format!("{long}:tag-puts-this-over-max")).unwrap();
        assert_eq!(got.tag, "tag-puts-this-over-max");
        assert_eq!(format!("{}/{}", got.namespace, got.name), long);
        row(
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com",
            "bar",
            "baz/quux",
            "",
            "",
        );
        row(
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com",
            "bar",
            "baz/quux",
            "some-long-tag",
            "",
        );
        row(
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io",
            "test.example.com",
            "my-app",
            "test.example.com",
            "",
        );
        row(
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com",
            "",
            "myimage",
            "xn--n3h.com",
            "",
        );
        let sha512 = format!("sha512:{}", "f".repeat(128));
        row(
            &format!("xn--7o8h.com/myimage:xn--7o8h.com@{sha512}"),
            "xn--7o8h.com",
            "",
            "myimage",
            "xn--7o8h.com",
            &sha512,
        );
        row("foo_bar.com:8080", "foo_bar.com:8080", "", "", "", "");
        row("foo/foo_bar.com:8080", "", "foo", "foo_bar.com", "8080", "");
        // Split-hostname cases.
        row("test_com/foo", "", "test_com", "foo", "", "");
        row("test.com:8080/foo", "test.com:8080", "", "foo", "", "");
        row("test-com:8080/foo", "test-com:8080", "", "foo", "", "");
        row(
            "xn--n3h.com:18080/foo",
            "xn--n3h.com:18080",
            "",
            "foo",
            "",
            "",
        );
        // library-go quirks: `localhostX` alone is a registry; an uppercase first component
        // without `.` or `:` is a namespace, not a registry.
        row("localhostx", "localhostx", "", "", "", "");
        row("MyReg/foo", "", "MyReg", "foo", "", "");

        let errors = [
            (String::new(), ParseError::Empty),
            (":justtag".into(), ParseError::Format),
            (format!("@{sha}"), ParseError::Format),
            (
                format!("repo@sha256:{}", "f".repeat(34)),
                ParseError::DigestTooShort {
                    digest: format!("sha256:{}", "f".repeat(34)),
                    algorithm: "sha256".into(),
                    want: 64,
                    got: 34,
                },
            ),
            (
                format!("repo@sha256:{}", "f".repeat(65)),
                ParseError::DigestLength,
            ),
            (
                format!("validname@invaliddigest:{f64}"),
                ParseError::DigestAlgorithm,
            ),
            ("Uppercase:tag".into(), ParseError::Uppercase),
            (
                "test:5000/Uppercase/lowercase:tag".into(),
                ParseError::Uppercase,
            ),
            (format!("{}a:tag", "a/".repeat(128)), ParseError::TooLong),
            ("aa/asdf$$^/aa".into(), ParseError::Format),
            (
                format!("foo@sha256:{}", "F".repeat(64)),
                ParseError::DigestFormat,
            ),
            // `\w` is ASCII in Go's RE2.
            ("foo:tagé".into(), ParseError::Format),
            (format!("foo:{}", "t".repeat(129)), ParseError::Format),
        ];
        for (input, want) in errors {
            assert_eq!(parse(&input), Err(want), "{input}");
        }
    }

    #[test]
    fn error_messages_match_openshift() {
        assert_eq!(
            parse("Foo/Bar").unwrap_err().to_string(),
            "repository name must be lowercase"
        );
        assert_eq!(
            parse("").unwrap_err().to_string(),
            "repository name must have at least one component"
        );
        assert_eq!(
            parse("a b").unwrap_err().to_string(),
            "invalid reference format"
        );
    }

    #[test]
    fn docker_client_defaults_and_equality() {
        let d = |s: &str| parse(s).unwrap().docker_client_defaults();
        assert_eq!(d("foobar"), d("docker.io/library/foobar:latest"));
        assert_eq!(d("quay.io/org").namespace, "");
        assert_eq!(d("index.docker.io/x").namespace, "library");
        // library-go does not canonicalise the host: these differ under `Equal`…
        assert_ne!(d("index.docker.io/x"), d("docker.io/x"));
        // …but streamsync's canonical key treats them as one image.
        let k = |s: &str| parse(s).unwrap().canonical_key();
        assert_eq!(k("index.docker.io/x"), k("x:latest"));
        assert_eq!(
            k("registry-1.docker.io/library/x"),
            "docker.io/library/x:latest"
        );
        assert_eq!(
            k(&format!("quay.io/a/b:1@{D256}")),
            k(&format!("quay.io/a/b@{D256}"))
        );
        assert_ne!(k("quay.io/a/b:1"), k("quay.io/a/b:2"));
    }

    #[test]
    fn normalized_forms() {
        let n = |s: &str| parse(s).unwrap().normalized();
        assert_eq!(n("ruby"), "docker.io/library/ruby:latest");
        assert_eq!(
            n("centos/ruby-27-centos7"),
            "docker.io/centos/ruby-27-centos7:latest"
        );
        assert_eq!(n("quay.io/org"), "quay.io/org:latest");
        assert_eq!(n("quay.io"), "quay.io");
        assert_eq!(n("localhost:5000"), "localhost:5000");
        assert_eq!(
            n(&format!("foo@{D256}")),
            format!("docker.io/library/foo@{D256}")
        );
        assert_eq!(
            n(&format!("foo:1@{D256}")),
            format!("docker.io/library/foo:1@{D256}")
        );
        assert_eq!(
            n("docker.io/user/project/myapp"),
            "docker.io/user/project/myapp:latest"
        );
    }

    #[test]
    fn exact_round_trips() {
        for s in [
            "foo",
            "bar/foo:tag",
            "bar:5000/foo/baz",
            "quay.io/org",
            "docker.io/user/project/myapp:v1",
        ] {
            assert_eq!(parse(s).unwrap().exact(), s);
        }
        // The digest wins over the tag, as library-go's `NameString` has it.
        assert_eq!(
            parse(&format!("quay.io/a/b:1@{D256}")).unwrap().exact(),
            format!("quay.io/a/b@{D256}")
        );
        assert_eq!(parse("quay.io").unwrap().exact(), "quay.io/");
        assert_eq!(
            parse("docker.io/x").unwrap().registry_api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(
            parse("x").unwrap().registry_api_host(),
            "registry-1.docker.io"
        );
        assert_eq!(parse("quay.io/x").unwrap().registry_api_host(), "quay.io");
    }
}
