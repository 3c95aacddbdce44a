//! [`RegistryClient`], the real [`Resolver`]: turns import requests into HEADs (and, for
//! digests not seen before, one manifest and one config download each), builds
//! `dockerImageReference` as OpenShift does (semantics spec §3.3), chooses a platform for Legacy
//! index imports, and lists repository tags following `Link` pagination. It owns a small tokio
//! runtime because the [`Resolver`] trait is synchronous; it never touches state or definitions.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use tokio::sync::OnceCell;

use super::auth::AuthStore;
use super::manifest::{self, Parsed};
use super::transport::{Target, Timing, Transport};
use super::{
    Error, FailureReason, ImportFailure, ImportRequest, RequestCounts, Resolved, Resolver,
};
use crate::model::Image;
use crate::model::reference::{self, Reference};
use crate::policy::RegistryConfig;

/// `PreserveOriginal` import mode.
pub const IMPORT_MODE_PRESERVE_ORIGINAL: &str = "PreserveOriginal";

/// The registry client: one per run (its request counts and rate-limit memory are per run).
#[derive(Debug)]
pub struct RegistryClient {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    /// Images built in this run, by digest: a digest shared by many tags is fetched once.
    images: Mutex<HashMap<String, Arc<OnceCell<Image>>>>,
    /// `n` for tag-list pages; `None` lets the registry choose.
    tag_page_size: Option<usize>,
}

/// What the first phase of a resolution learned.
struct Head {
    target: Target,
    parsed: Reference,
    /// The digest the tag resolves to (the platform's for a Legacy index).
    digest: String,
    /// The manifest bytes, when they were downloaded already.
    body: Option<(String, Vec<u8>)>,
}

impl RegistryClient {
    /// A client for this run. `root` is the repository root (relative `ca_files` are resolved
    /// against it); `auth_file` is `--registry-config`, falling back to `REGISTRY_AUTH_FILE`,
    /// `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`.
    pub fn new(
        config: &RegistryConfig,
        root: &Path,
        auth_file: Option<&Path>,
    ) -> Result<Self, Error> {
        let auth = AuthStore::discover(auth_file)?;
        Self::with_auth(config, root, auth, Timing::default())
    }

    /// A client with an already loaded auth store and explicit retry timing.
    pub fn with_auth(
        config: &RegistryConfig,
        root: &Path,
        auth: AuthStore,
        timing: Timing,
    ) -> Result<Self, Error> {
        let transport = Transport::new(config, root, auth, timing)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("streamsync-registry")
            .enable_all()
            .build()
            .map_err(|e| Error::Client {
                message: format!("cannot start the network runtime: {e}"),
            })?;
        Ok(RegistryClient {
            runtime,
            inner: Arc::new(Inner {
                transport,
                images: Mutex::new(HashMap::new()),
                tag_page_size: None,
            }),
        })
    }

    /// Ask for tag lists in pages of `n` (the registry may still choose smaller pages).
    #[must_use]
    pub fn with_tag_page_size(mut self, n: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.tag_page_size = Some(n.max(1));
        }
        self
    }

    /// Run a future on the client's runtime, also when called from inside another runtime.
    fn block_on<F: std::future::Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| self.runtime.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
        } else {
            self.runtime.block_on(f)
        }
    }
}

impl Resolver for RegistryClient {
    fn resolve_all(
        &self,
        requests: &[ImportRequest],
        known_digests: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<Resolved, ImportFailure>> {
        // Phase 1: digests (HEADs; a Legacy index also needs its body to pick a platform).
        let heads: Vec<Option<Result<Head, ImportFailure>>> = self.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, req) in requests.iter().enumerate() {
                let inner = Arc::clone(&self.inner);
                let req = req.clone();
                set.spawn(async move { (i, inner.head(&req).await) });
            }
            collect(set, requests.len()).await
        });
        // Phase 2: which digests are new (asked on the caller's thread: the closure need not
        // be `Send`).
        let mut out: Vec<Option<Result<Resolved, ImportFailure>>> = Vec::new();
        let mut fetch = Vec::new();
        for (i, (req, head)) in requests.iter().zip(heads).enumerate() {
            match head.unwrap_or_else(|| Err(lost())) {
                Err(e) => out.push(Some(Err(e))),
                Ok(h) => {
                    let reference = docker_image_reference(&h.parsed, &h.digest);
                    if req.resolve_only || known_digests(&h.digest) {
                        out.push(Some(Ok(Resolved {
                            digest: h.digest,
                            docker_image_reference: reference,
                            image: None,
                        })));
                    } else {
                        out.push(None);
                        fetch.push((i, h, reference));
                    }
                }
            }
        }
        // Phase 3: manifests and configs of new digests.
        let fetched = self.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, h, reference) in fetch {
                let inner = Arc::clone(&self.inner);
                set.spawn(async move {
                    let r = inner.image(&h, &reference).await.map(|image| Resolved {
                        digest: h.digest.clone(),
                        docker_image_reference: reference.clone(),
                        image: Some(image),
                    });
                    (i, r)
                });
            }
            collect(set, requests.len()).await
        });
        for (slot, r) in out.iter_mut().zip(fetched) {
            if slot.is_none() {
                *slot = r;
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(lost())))
            .collect()
    }

    fn list_tags(&self, repository: &str, insecure: bool) -> Result<Vec<String>, ImportFailure> {
        let inner = Arc::clone(&self.inner);
        let repository = repository.to_owned();
        self.block_on(async move { inner.list_tags(&repository, insecure).await })
    }

    fn request_counts(&self) -> BTreeMap<String, RequestCounts> {
        self.inner.transport.counts()
    }
}

/// Gather a JoinSet's `(index, value)` answers into slots; a task that panicked leaves its
/// slot empty (the caller turns that into an internal error rather than ending the run).
async fn collect<T: 'static>(
    mut set: tokio::task::JoinSet<(usize, T)>,
    n: usize,
) -> Vec<Option<T>> {
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, v)) = joined
            && let Some(slot) = slots.get_mut(i)
        {
            *slot = Some(v);
        }
    }
    slots
}

fn lost() -> ImportFailure {
    ImportFailure::new(
        FailureReason::InternalError,
        "resolving this tag failed unexpectedly",
    )
}

/// `dockerImageReference` (semantics spec §3.3): the pull spec as parsed, without defaults,
/// with the digest in place of the tag.
pub fn docker_image_reference(parsed: &Reference, digest: &str) -> String {
    let mut r = parsed.clone();
    r.digest = digest.to_owned();
    r.tag.clear();
    r.exact()
}

impl Inner {
    fn target(&self, parsed: &Reference, insecure: bool) -> Target {
        let defaults = parsed.docker_client_defaults();
        let host = parsed.registry_api_host();
        // The caller checked `insecure_allowed`; check again so no path can skip it.
        let insecure = insecure
            && (self.transport.insecure_allowed(&host)
                || self.transport.insecure_allowed(&defaults.registry));
        if !insecure {
            tracing::trace!(host = %host, "secure transport");
        }
        Target {
            registry: defaults.registry.clone(),
            host,
            repository: defaults.repository_name(),
            insecure,
        }
    }

    async fn head(&self, req: &ImportRequest) -> Result<Head, ImportFailure> {
        let parsed = reference::parse(&req.pullspec).map_err(|e| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("invalid pull spec `{}`: {e}", req.pullspec),
            )
        })?;
        if parsed.name.is_empty() {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                format!("pull spec `{}` names no repository", req.pullspec),
            ));
        }
        let target = self.target(&parsed, req.insecure);
        let defaults = parsed.docker_client_defaults();
        let wanted = if parsed.digest.is_empty() {
            defaults.tag.clone()
        } else {
            parsed.digest.clone()
        };
        let path = format!("/v2/{}/manifests/{wanted}", target.repository);
        let accept = manifest::accept_header();
        let resp = self
            .transport
            .send(&target, Method::HEAD, &path, Some(&accept))
            .await?;
        let header_digest = header(&resp, "docker-content-digest");
        let media_type = header(&resp, "content-type").unwrap_or_default();
        drop(resp);
        let (digest, mut body) = match header_digest {
            Some(d) => (d, None),
            None => {
                // No digest header: download the manifest and hash it ourselves.
                let (headers, bytes) = self
                    .transport
                    .get_bytes(&target, &path, Some(&accept))
                    .await?;
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                (manifest::sha256_digest(&bytes), Some((ct, bytes)))
            }
        };
        if !parsed.digest.is_empty() && digest != parsed.digest {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                format!(
                    "{}: asked for {} but the registry answered {digest}",
                    req.pullspec, parsed.digest
                ),
            ));
        }
        let legacy = req.import_mode != IMPORT_MODE_PRESERVE_ORIGINAL;
        let maybe_index = manifest::is_index(&media_type)
            || body
                .as_ref()
                .is_some_and(|(_, b)| matches!(manifest::parse(b, ""), Ok((_, Parsed::Index(_)))));
        if !(legacy && maybe_index) {
            return Ok(Head {
                target,
                parsed,
                digest,
                body,
            });
        }
        // Legacy mode records one platform of an index: read the index to choose it.
        if body.is_none() {
            body = Some(self.manifest(&target, &digest).await?);
        }
        let Some((ct, bytes)) = body else {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                "the manifest was lost",
            ));
        };
        let (_, parsed_manifest) = manifest::parse(&bytes, &ct).map_err(|m| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("{}: {m}", req.pullspec),
            )
        })?;
        match parsed_manifest {
            Parsed::Index(list) => {
                let pick = manifest::pick_platform(
                    &list,
                    req.prefer_arch.as_deref(),
                    req.prefer_os.as_deref(),
                )
                .ok_or_else(|| {
                    ImportFailure::new(
                        FailureReason::InternalError,
                        format!("{}: the image index lists no manifests", req.pullspec),
                    )
                })?;
                Ok(Head {
                    target,
                    parsed,
                    digest: pick.digest.clone(),
                    body: None,
                })
            }
            Parsed::Image(_) => Ok(Head {
                target,
                parsed,
                digest,
                body: Some((ct, bytes)),
            }),
        }
    }

    /// GET a manifest by digest and verify it.
    async fn manifest(
        &self,
        target: &Target,
        digest: &str,
    ) -> Result<(String, Vec<u8>), ImportFailure> {
        let path = format!("/v2/{}/manifests/{digest}", target.repository);
        let (headers, bytes) = self
            .transport
            .get_bytes(target, &path, Some(&manifest::accept_header()))
            .await?;
        manifest::verify(digest, &bytes).map_err(|m| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("{}/{} manifest {m}", target.host, target.repository),
            )
        })?;
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok((ct, bytes))
    }

    /// The Image of a new digest, built once per run.
    async fn image(&self, head: &Head, reference: &str) -> Result<Image, ImportFailure> {
        let cell = {
            let mut images = match self.images.lock() {
                Ok(i) => i,
                Err(p) => p.into_inner(),
            };
            Arc::clone(images.entry(head.digest.clone()).or_default())
        };
        cell.get_or_try_init(|| self.build_image(head, reference))
            .await
            .cloned()
    }

    async fn build_image(&self, head: &Head, reference: &str) -> Result<Image, ImportFailure> {
        let target = &head.target;
        let (ct, bytes) = match &head.body {
            Some(b) => b.clone(),
            None => self.manifest(target, &head.digest).await?,
        };
        let bad = |m: String| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("{}/{}@{}: {m}", target.host, target.repository, head.digest),
            )
        };
        let (media_type, parsed) = manifest::parse(&bytes, &ct).map_err(bad)?;
        match parsed {
            Parsed::Index(list) => Ok(manifest::image_from_index(
                &head.digest,
                reference,
                &media_type,
                &list,
            )),
            Parsed::Image(parts) => {
                let path = format!("/v2/{}/blobs/{}", target.repository, parts.config_digest);
                let (_, config) = self.transport.get_bytes(target, &path, None).await?;
                manifest::verify(&parts.config_digest, &config)
                    .map_err(|m| bad(format!("config {m}")))?;
                manifest::image_from_parts(&head.digest, reference, &parts, &config).map_err(bad)
            }
        }
    }

    async fn list_tags(
        &self,
        repository: &str,
        insecure: bool,
    ) -> Result<Vec<String>, ImportFailure> {
        let parsed = reference::parse(repository).map_err(|e| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("invalid repository `{repository}`: {e}"),
            )
        })?;
        if !parsed.tag.is_empty() || !parsed.digest.is_empty() || parsed.name.is_empty() {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                format!("`{repository}` must name a repository without a tag or digest"),
            ));
        }
        let target = self.target(&parsed, insecure);
        let mut path = format!("/v2/{}/tags/list", target.repository);
        if let Some(n) = self.tag_page_size {
            path.push_str(&format!("?n={n}"));
        }
        let mut tags = Vec::new();
        let mut seen_pages = std::collections::HashSet::new();
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        loop {
            if !seen_pages.insert(path.clone()) {
                // A `Link` pointing back at a page already read would loop for ever.
                break;
            }
            let (headers, body) = self.transport.get_bytes(&target, &path, None).await?;
            let page: Page = serde_json::from_slice(&body).map_err(|_| {
                ImportFailure::new(
                    FailureReason::InternalError,
                    format!("{}: the tag list is not valid JSON", repository),
                )
            })?;
            tags.extend(page.tags.unwrap_or_default());
            let next = headers
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            match next {
                Some(link) => match same_host_path(&link, &target.host) {
                    Some(p) => path = p,
                    None => {
                        return Err(ImportFailure::new(
                            FailureReason::InternalError,
                            format!("{}: the next tag page is on another host", repository),
                        ));
                    }
                },
                None => break,
            }
        }
        let mut seen = std::collections::HashSet::new();
        tags.retain(|t| seen.insert(t.clone()));
        Ok(tags)
    }
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The `rel="next"` target of a `Link` header value (`</v2/x/tags/list?last=a&n=5>; rel="next"`).
pub fn next_link(value: &str) -> Option<String> {
    for part in value.split(',') {
        let part = part.trim();
        let (url, params) = part.split_once(';').unwrap_or((part, ""));
        let url = url.trim();
        let is_next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        if is_next && url.starts_with('<') && url.ends_with('>') {
            return Some(url[1..url.len() - 1].to_owned());
        }
    }
    None
}

/// A `Link` target as a path on `host`: relative links as they are, absolute ones only when
/// they point at the same host (never follow a page onto another host with our credentials).
fn same_host_path(link: &str, host: &str) -> Option<String> {
    if link.starts_with('/') {
        return Some(link.to_owned());
    }
    let url = reqwest::Url::parse(link).ok()?;
    if super::auth::host_port(&url) != host {
        return None;
    }
    let mut p = url.path().to_owned();
    if let Some(q) = url.query() {
        p.push('?');
        p.push_str(q);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_reference_as_written() {
        let d = "sha256:9586aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let cases = [
            ("test:tag", format!("test@{d}")),
            ("mysql", format!("mysql@{d}")),
            (
                "quay.io/openshift/test:1.2",
                format!("quay.io/openshift/test@{d}"),
            ),
            (
                "docker.io/openshift/ruby-20-centos7",
                format!("docker.io/openshift/ruby-20-centos7@{d}"),
            ),
            ("127.0.0.1:5000/a/b:v1", format!("127.0.0.1:5000/a/b@{d}")),
        ];
        for (spec, want) in cases {
            let r = reference::parse(spec).unwrap();
            assert_eq!(docker_image_reference(&r, d), want, "{spec}");
        }
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=x&n=5>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=x&n=5")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(
            same_host_path("https://r.io/v2/a/tags/list?last=x", "r.io").as_deref(),
            Some("/v2/a/tags/list?last=x")
        );
        assert_eq!(same_host_path("https://evil.io/v2/a", "r.io"), None);
    }

    #[test]
    fn hub_targets_use_the_v2_host_and_library() {
        let inner = Inner {
            transport: Transport::new(
                &RegistryConfig::default(),
                Path::new("."),
                AuthStore::default(),
                Timing::default(),
            )
            .unwrap(),
            images: Mutex::new(HashMap::new()),
            tag_page_size: None,
        };
        let t = inner.target(&reference::parse("mysql:8").unwrap(), true);
        assert_eq!(t.host, "registry-1.docker.io");
        assert_eq!(t.repository, "library/mysql");
        assert_eq!(t.registry, "docker.io");
        // Not in insecure_allowed: the request's insecure flag is not trusted.
        assert!(!t.insecure);
        let t = inner.target(&reference::parse("docker.io/user/app").unwrap(), false);
        assert_eq!(t.repository, "user/app");
    }
}
