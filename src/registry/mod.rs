//! Talks to container registries: resolves tags to digests, records image metadata, lists
//! repository tags; owns authentication, transport, retries, rate limits and concurrency.
//! Knows nothing of definitions, plans or the state store: it answers [`ImportRequest`]s.
//!
//! [`RegistryClient`] is the real [`Resolver`]; its parts live in `client` (resolution, tag
//! lists), `transport` (HTTP, TLS, auth dance, retries, counting), `auth` (credentials and
//! their matching), `retry` (backoff and rate-limit rules) and `manifest` (parsing into
//! [`Image`]).
//!
//! Callers (apply, sync, `plan --refresh`, import) build one [`RegistryClient`] per run with
//! [`RegistryClient::new`]`(&config.registry, root, registry_config_flag)`, then pass all the
//! tags of a pass to one [`Resolver::resolve_all`] call (that is what lets it share digests,
//! tokens and rate-limit memory, and bound concurrency per host), with `known_digests`
//! answering whether `state/images/sha256/<hex>` already exists. [`Resolver::request_counts`]
//! is keyed by the host contacted (`registry-1.docker.io` for Docker Hub; a token service on
//! another host gets its own entry). The client must not be called from inside an async
//! runtime.

pub mod auth;
pub mod client;
pub mod manifest;
pub mod retry;
pub mod transport;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Image;

pub use auth::{AuthStore, Credential, Secret};
pub use client::{RegistryClient, docker_image_reference};
pub use transport::Timing;

/// Why a [`RegistryClient`] cannot be built (bad configuration, unreadable files). Messages
/// name files and keys, never credential values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `[registry]` value is not usable.
    #[error("[registry] {key}: {message}")]
    Config {
        /// The key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `ca_files` entry cannot be read or holds no certificate.
    #[error("[registry] ca_files: `{path}`: {message}")]
    CaFile {
        /// The file as configured.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The auth file cannot be read or parsed.
    #[error("registry auth file `{path}`: {message}")]
    AuthFile {
        /// The file.
        path: String,
        /// What went wrong (no value from the file).
        message: String,
    },
    /// A `docker-credential-*` program failed.
    #[error("credential helper `{helper}`: {message}")]
    CredentialHelper {
        /// The program.
        helper: String,
        /// What went wrong (never its output).
        message: String,
    },
    /// The HTTP client or runtime could not be set up.
    #[error("registry client: {message}")]
    Client {
        /// What went wrong.
        message: String,
    },
}

/// One tag to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The pull spec as written in the definition (`from.name`).
    pub pullspec: String,
    /// Insecure transport requested (stream annotation or tag import policy) and allowed.
    pub insecure: bool,
    /// `Legacy` or `PreserveOriginal` (already defaulted).
    pub import_mode: String,
    /// `importer.image.openshift.io/prefer-arch`.
    pub prefer_arch: Option<String>,
    /// `importer.image.openshift.io/prefer-os`.
    pub prefer_os: Option<String>,
    /// Only resolve the digest (HEAD); never fetch manifests or configs (`plan --refresh`).
    pub resolve_only: bool,
}

/// What a tag resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// `sha256:…` of the manifest (or of the index, with PreserveOriginal).
    pub digest: String,
    /// The pull spec as written with the digest in place of the tag (semantics spec §3.3).
    pub docker_image_reference: String,
    /// The Image object, when it was fetched (a digest not known before).
    pub image: Option<Image>,
    /// With PreserveOriginal, the Images of the index's platforms not known before (OpenShift
    /// creates "Image objects … plus sub-manifests in PreserveOriginal mode", spec §3.2).
    pub platform_images: Vec<Image>,
}

/// Why a tag could not be imported; becomes an `ImportSuccess=False` condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text())]
pub struct ImportFailure {
    /// The condition reason.
    pub reason: FailureReason,
    /// What happened (never carries a credential).
    pub message: String,
    /// How to fix it, when that is known: data, rendered by [`ImportFailure::text`] and
    /// collected with every other hint for the error printer, never searched for in `message`.
    pub hint: Option<String>,
}

impl ImportFailure {
    /// A failure.
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        ImportFailure {
            reason,
            message: message.into(),
            hint: None,
        }
    }

    /// The same failure with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The message with its hint, as a condition records it and a report shows it
    /// (`… (hint: …)`).
    pub fn text(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} (hint: {h})", self.message),
            None => self.message.clone(),
        }
    }

    /// Whether the registry simply could not be asked (exit code 3 rather than 1).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.reason,
            FailureReason::RateLimited | FailureReason::Unreachable
        )
    }
}

/// `ImportSuccess=False` reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FailureReason {
    /// The repository or tag does not exist.
    NotFound,
    /// Credentials missing or refused.
    Unauthorized,
    /// The registry said stop (429, `RateLimit-Remaining: 0`).
    RateLimited,
    /// No answer (connection refused, timeout, TLS failure).
    Unreachable,
    /// Anything else (5xx after retries, bad digest, malformed manifest).
    InternalError,
}

impl FailureReason {
    /// The reason as written in a condition.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::NotFound => "NotFound",
            FailureReason::Unauthorized => "Unauthorized",
            FailureReason::RateLimited => "RateLimited",
            FailureReason::Unreachable => "Unreachable",
            FailureReason::InternalError => "InternalError",
        }
    }
}

/// Requests made to one registry in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// HEAD requests.
    pub head: u64,
    /// GET requests.
    pub get: u64,
    /// PUT requests (pushes: `mirror`).
    #[serde(skip_serializing_if = "is_zero")]
    pub put: u64,
    /// POST requests (pushes: `mirror`).
    #[serde(skip_serializing_if = "is_zero")]
    pub post: u64,
    /// PATCH requests (pushes: `mirror`).
    #[serde(skip_serializing_if = "is_zero")]
    pub patch: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Tag-list pages read from one repository at most: far beyond any real one, but a registry
/// whose `Link: next` never ends must not keep a run (and the state lock) for ever.
pub const MAX_TAG_PAGES: usize = 100;
/// Tags read from one repository at most (OpenShift imports at most 50 of them anyway).
pub const MAX_LISTED_TAGS: usize = 10_000;

/// A repository's tag list as read, with what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagList {
    /// Valid tag names, without duplicates, in the registry's order.
    pub tags: Vec<String>,
    /// Names the registry listed that do not match OpenShift's tag grammar
    /// (`[\w][\w.-]{0,127}`): skipped, never imported or written anywhere.
    pub skipped: usize,
    /// Why the listing stopped early (page or tag bound), when it did.
    pub cut: Option<String>,
}

/// Whether `name` matches OpenShift's tag grammar, `[\w][\w.-]{0,127}` with ASCII `\w`
/// (semantics spec: `TagRegexp`).
pub fn is_tag_name(name: &str) -> bool {
    let b = name.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(&b[0])
        && b[1..].iter().all(|c| word(c) || *c == b'.' || *c == b'-')
}

/// Something that resolves tags: the real registry client, or [`Offline`].
pub trait Resolver: Send + Sync {
    /// Resolve every request (concurrently where the implementation can); one result per
    /// request, in order. `known_digests` are digests whose Image is already recorded, so
    /// their manifest and config need not be fetched again.
    fn resolve_all(
        &self,
        requests: &[ImportRequest],
        known_digests: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<Resolved, ImportFailure>>;

    /// [`Resolver::resolve_all`], handing each result to `each` as soon as it is known (on
    /// the calling thread, in any order, so it must be quick), while the others are still in
    /// flight: an apply writes each new Image's file then. The default hands them over at
    /// the end.
    fn resolve_each(
        &self,
        requests: &[ImportRequest],
        known_digests: &dyn Fn(&str) -> bool,
        each: &dyn Fn(&Result<Resolved, ImportFailure>),
    ) -> Vec<Result<Resolved, ImportFailure>> {
        let out = self.resolve_all(requests, known_digests);
        out.iter().for_each(each);
        out
    }

    /// Every tag of a repository (`quay.io/org/app`), following pagination.
    fn list_tags(&self, repository: &str, insecure: bool) -> Result<Vec<String>, ImportFailure>;

    /// The tags of a repository with what was left out of them: names that are not tag names,
    /// and whether the listing was cut at [`MAX_TAG_PAGES`] / [`MAX_LISTED_TAGS`]. The default
    /// filters [`Resolver::list_tags`] and trusts it to be complete.
    fn list_repository(&self, repository: &str, insecure: bool) -> Result<TagList, ImportFailure> {
        let all = self.list_tags(repository, insecure)?;
        let listed = all.len();
        let tags: Vec<String> = all.into_iter().filter(|t| is_tag_name(t)).collect();
        Ok(TagList {
            skipped: listed - tags.len(),
            tags,
            cut: None,
        })
    }

    /// Requests made so far, per registry host.
    fn request_counts(&self) -> BTreeMap<String, RequestCounts>;

    /// Whether this resolver never asks a registry ([`Offline`]); `plan --refresh` then says
    /// so and plans offline instead of reporting every tag as unreachable.
    fn is_offline(&self) -> bool {
        false
    }
}

/// A resolver that asks no registry: every request fails as unreachable.
#[derive(Debug, Default, Clone, Copy)]
pub struct Offline;

impl Resolver for Offline {
    fn resolve_all(
        &self,
        requests: &[ImportRequest],
        _known_digests: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<Resolved, ImportFailure>> {
        requests
            .iter()
            .map(|_| {
                Err(ImportFailure::new(
                    FailureReason::Unreachable,
                    "registry access is not available",
                ))
            })
            .collect()
    }

    fn list_tags(&self, _repository: &str, _insecure: bool) -> Result<Vec<String>, ImportFailure> {
        Err(ImportFailure::new(
            FailureReason::Unreachable,
            "registry access is not available",
        ))
    }

    fn request_counts(&self) -> BTreeMap<String, RequestCounts> {
        BTreeMap::new()
    }

    fn is_offline(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_grammar() {
        for ok in ["latest", "1.0", "v2.0.1-rc_1", "_x", &"a".repeat(128)] {
            assert!(is_tag_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a b",
            "a\u{1b}[31m",
            "a\nb",
            "a/b",
            "a:b",
            "é",
            &"a".repeat(129),
        ] {
            assert!(!is_tag_name(bad), "{bad:?}");
        }
    }

    /// A resolver that lists what it was given.
    struct Listing(Vec<String>);

    impl Resolver for Listing {
        fn resolve_all(
            &self,
            requests: &[ImportRequest],
            known: &dyn Fn(&str) -> bool,
        ) -> Vec<Result<Resolved, ImportFailure>> {
            Offline.resolve_all(requests, known)
        }

        fn list_tags(&self, _: &str, _: bool) -> Result<Vec<String>, ImportFailure> {
            Ok(self.0.clone())
        }

        fn request_counts(&self) -> BTreeMap<String, RequestCounts> {
            BTreeMap::new()
        }
    }

    #[test]
    fn every_resolver_s_tag_list_is_filtered() {
        let names = ["1.0", "\u{1b}[2J", "ok", "a\nSigned-off-by: x"];
        let r = Listing(names.iter().map(|s| (*s).to_owned()).collect());
        let list = r.list_repository("r.io/a/b", false).unwrap();
        assert_eq!(list.tags, ["1.0", "ok"]);
        assert_eq!(list.skipped, 2);
        assert_eq!(list.cut, None);
    }
}
