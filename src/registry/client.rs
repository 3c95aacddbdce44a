//! [`RegistryClient`], the real [`Resolver`]: turns import requests into HEADs (and, for
//! digests not seen before, one manifest and one config download each; after a streak of new
//! digests on a host, the manifest GET replaces the HEAD), builds
//! `dockerImageReference` as OpenShift does (semantics spec §3.3), chooses a platform for Legacy
//! index imports, and lists repository tags following `Link` pagination (bounded in pages and
//! tags, keeping only names that are tag names: a tag list is untrusted input). It owns a small tokio
//! runtime because the [`Resolver`] trait is synchronous; it never touches state or definitions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::Method;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::{OnceCell, Semaphore};

use super::auth::AuthStore;
use super::manifest::{self, Parsed};
use super::transport::{Target, Timing, Transport};
use super::{
    Error, FailureReason, ImportFailure, ImportRequest, MAX_LISTED_TAGS, MAX_TAG_PAGES,
    RequestCounts, Resolved, Resolver, TagList, is_tag_name,
};
use crate::model::Image;
use crate::model::reference::{self, Reference};
use crate::policy::RegistryConfig;

/// `PreserveOriginal` import mode.
pub const IMPORT_MODE_PRESERVE_ORIGINAL: &str = "PreserveOriginal";

/// Most platforms an index imported whole (`PreserveOriginal`) may list. Real multi-arch
/// images list a handful (OpenShift's release images list four or five).
pub const MAX_INDEX_PLATFORMS: usize = 64;

/// The registry client: one per run (its request counts and rate-limit memory are per run).
#[derive(Debug)]
pub struct RegistryClient {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
    /// Counts finished resolutions, for a caller's progress bar.
    progress: Option<Arc<AtomicU64>>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    /// Images built in this run, by digest: a digest shared by many tags is fetched once.
    images: Mutex<HashMap<String, Arc<OnceCell<Image>>>>,
    /// `n` for tag-list pages; `None` lets the registry choose.
    tag_page_size: Option<usize>,
    /// Per host: how many resolutions in a row found a new digest.
    streaks: Mutex<HashMap<String, Arc<Streak>>>,
    /// Per host: resolutions in progress, at most `max_concurrency` (each makes its requests
    /// one after the other, so this also bounds requests in flight, and a resolution decides
    /// HEAD or GET only when it starts, knowing how the ones before it went).
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    max_concurrency: usize,
}

/// New digests in a row after which a host's tags are fetched with GET directly: a HEAD only
/// pays off when the digest turns out to be known, and a run that keeps finding new digests
/// (an import into an empty state) would otherwise spend three requests per tag instead of two.
pub const GET_FIRST_AFTER: u32 = 16;

/// The run's record of whether HEADs pay off on one host. The first known digest switches
/// back to HEAD-first, so a run with nothing moved makes HEADs only.
#[derive(Debug, Default)]
struct Streak {
    new_in_a_row: AtomicU32,
}

impl Streak {
    fn get_first(&self) -> bool {
        self.new_in_a_row.load(Ordering::SeqCst) >= GET_FIRST_AFTER
    }

    fn note(&self, known: bool) {
        if known {
            self.new_in_a_row.store(0, Ordering::SeqCst);
        } else {
            self.new_in_a_row.fetch_add(1, Ordering::SeqCst);
        }
    }
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
        // One thread: every request's future is polled by the caller's `block_on` anyway, and
        // with the connections driven there too no response wakes another thread (a
        // thousand-image import spent a third of its system time on those wake-ups).
        let runtime = tokio::runtime::Builder::new_current_thread()
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
                streaks: Mutex::new(HashMap::new()),
                slots: Mutex::new(HashMap::new()),
                max_concurrency: config.max_concurrency.max(1),
            }),
            progress: None,
        })
    }

    /// Count every finished resolution in `counter` (a progress bar polls it from another
    /// thread while [`Resolver::resolve_all`] blocks).
    #[must_use]
    pub fn with_progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    /// Ask for tag lists in pages of `n` (the registry may still choose smaller pages).
    #[must_use]
    pub fn with_tag_page_size(mut self, n: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.tag_page_size = Some(n.max(1));
        }
        self
    }
}

impl Resolver for RegistryClient {
    fn resolve_all(
        &self,
        requests: &[ImportRequest],
        known_digests: &dyn Fn(&str) -> bool,
    ) -> Vec<Result<Resolved, ImportFailure>> {
        self.resolve_each(requests, known_digests, &|_| {})
    }

    fn resolve_each(
        &self,
        requests: &[ImportRequest],
        known_digests: &dyn Fn(&str) -> bool,
        each: &dyn Fn(&Result<Resolved, ImportFailure>),
    ) -> Vec<Result<Resolved, ImportFailure>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // The trait is synchronous; blocking inside an async context would stall it.
            return requests
                .iter()
                .map(|_| {
                    Err(ImportFailure::new(
                        FailureReason::InternalError,
                        "registry resolution was called from inside an async runtime",
                    ))
                })
                .collect();
        }
        // Every request is one future, polled together on this thread (so `known_digests` need
        // not be `Send`); the per-host semaphore bounds what is in flight.
        let inner = &self.inner;
        let progress = self.progress.as_deref();
        self.runtime.block_on(async {
            let mut pending: FuturesUnordered<_> = requests
                .iter()
                .enumerate()
                .map(|(i, req)| async move { (i, inner.resolve(req, known_digests).await) })
                .collect();
            let mut out: Vec<Option<Result<Resolved, ImportFailure>>> =
                (0..requests.len()).map(|_| None).collect();
            while let Some((i, r)) = pending.next().await {
                each(&r);
                out[i] = Some(r);
                if let Some(p) = progress {
                    p.fetch_add(1, Ordering::Relaxed);
                }
            }
            out.into_iter()
                .map(|r| r.unwrap_or_else(|| Err(lost())))
                .collect()
        })
    }

    fn list_tags(&self, repository: &str, insecure: bool) -> Result<Vec<String>, ImportFailure> {
        self.list_repository(repository, insecure).map(|l| l.tags)
    }

    fn list_repository(&self, repository: &str, insecure: bool) -> Result<TagList, ImportFailure> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                "registry tag listing was called from inside an async runtime",
            ));
        }
        self.runtime
            .block_on(self.inner.list_repository(repository, insecure))
    }

    fn request_counts(&self) -> BTreeMap<String, RequestCounts> {
        self.inner.transport.counts()
    }
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
        Target {
            registry: defaults.registry.clone(),
            host,
            repository: defaults.repository_name(),
            insecure,
            push: false,
        }
    }

    /// Resolve one request: the digest (HEAD, or GET when HEADs stopped paying off), the
    /// platform of a Legacy index, and the Image of a digest not known before.
    async fn resolve(
        &self,
        req: &ImportRequest,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Resolved, ImportFailure> {
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
        let slot = self.slot(&target.host);
        let _slot = slot.acquire().await.map_err(|_| lost())?;
        let get_first = !req.resolve_only && self.streak(&target.host).get_first();
        let (digest, media_type, mut body) = self
            .first_answer(req, &target, &path, &accept, get_first)
            .await?;
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
        let mut digest = digest;
        if legacy && maybe_index {
            // Legacy mode records one platform of an index: read the index to choose it.
            if body.is_none() {
                body = Some(self.manifest(&target, &digest).await?);
            }
            if let Some((ct, bytes)) = &body {
                let (_, parsed_manifest) = manifest::parse(bytes, ct).map_err(|m| {
                    ImportFailure::new(
                        FailureReason::InternalError,
                        format!("{}: {m}", req.pullspec),
                    )
                })?;
                if let Parsed::Index(list) = parsed_manifest {
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
                    digest = pick.digest.clone();
                    body = None;
                }
            }
        }
        let reference = docker_image_reference(&parsed, &digest);
        let is_known = known(&digest);
        if !req.resolve_only {
            self.streak(&target.host).note(is_known);
        }
        if req.resolve_only || is_known {
            return Ok(Resolved {
                digest,
                docker_image_reference: reference,
                image: None,
                platform_images: Vec::new(),
            });
        }
        let image = self.image(&target, &digest, body, &reference).await?;
        // Each platform costs a manifest and a config request: an index from an untrusted
        // registry listing thousands would turn one import into thousands of requests.
        let platforms = image
            .docker_image_manifests
            .iter()
            .filter(|e| manifest::is_platform(e))
            .count();
        if platforms > MAX_INDEX_PLATFORMS {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                format!(
                    "{}: the image index lists {platforms} platforms, more than the {MAX_INDEX_PLATFORMS} an import keeps; refused",
                    req.pullspec
                ),
            ));
        }
        let platform_images = self
            .platform_images(req, &parsed, &target, &image, known)
            .await?;
        Ok(Resolved {
            digest,
            docker_image_reference: reference,
            image: Some(image),
            platform_images,
        })
    }

    /// The first answer for `path`: the manifest's digest and media type, and its body when
    /// it was downloaded (a GET first when the host's streak says so, else a HEAD, and a GET
    /// when the HEAD gives no digest). A body whose digest header disagrees is refused.
    async fn first_answer(
        &self,
        req: &ImportRequest,
        target: &Target,
        path: &str,
        accept: &str,
        get_first: bool,
    ) -> Result<(String, String, Option<(String, Vec<u8>)>), ImportFailure> {
        Ok(if get_first {
            let (headers, bytes) = self.transport.get_bytes(target, path, Some(accept)).await?;
            let computed = manifest::sha256_digest(&bytes);
            if let Some(h) = header_value(&headers, "docker-content-digest")
                && h != computed
            {
                return Err(ImportFailure::new(
                    FailureReason::InternalError,
                    format!(
                        "{}: manifest content does not match its digest: expected {h}, got {computed}",
                        req.pullspec
                    ),
                ));
            }
            let ct = header_value(&headers, "content-type").unwrap_or_default();
            (computed, ct.clone(), Some((ct, bytes)))
        } else {
            let resp = self
                .transport
                .send(target, Method::HEAD, path, Some(accept))
                .await?;
            let header_digest = header_value(resp.headers(), "docker-content-digest");
            let media_type = header_value(resp.headers(), "content-type").unwrap_or_default();
            drop(resp);
            match header_digest {
                Some(d) => (d, media_type, None),
                None => {
                    // No digest header: download the manifest and hash it ourselves.
                    let (headers, bytes) =
                        self.transport.get_bytes(target, path, Some(accept)).await?;
                    let ct = header_value(&headers, "content-type").unwrap_or_default();
                    (
                        manifest::sha256_digest(&bytes),
                        ct.clone(),
                        Some((ct, bytes)),
                    )
                }
            }
        })
    }

    /// The Images of an index's platforms not known before (PreserveOriginal), each fetched
    /// with its config.
    async fn platform_images(
        &self,
        req: &ImportRequest,
        parsed: &Reference,
        target: &Target,
        image: &Image,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Image>, ImportFailure> {
        let mut platform_images = Vec::new();
        for entry in &image.docker_image_manifests {
            // Attestations are listed on the index image but are not images themselves.
            if !manifest::is_platform(entry) || known(&entry.digest) {
                continue;
            }
            let sub_reference = docker_image_reference(parsed, &entry.digest);
            let sub = self
                .image(target, &entry.digest, None, &sub_reference)
                .await
                .map_err(|f| ImportFailure {
                    message: format!(
                        "{}: platform {}/{}: {}",
                        req.pullspec, entry.os, entry.architecture, f.message
                    ),
                    ..f
                })?;
            platform_images.push(sub);
        }
        Ok(platform_images)
    }

    fn slot(&self, host: &str) -> Arc<Semaphore> {
        let mut s = match self.slots.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        Arc::clone(
            s.entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_concurrency))),
        )
    }

    fn streak(&self, host: &str) -> Arc<Streak> {
        let mut s = match self.streaks.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        Arc::clone(s.entry(host.to_owned()).or_default())
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
    async fn image(
        &self,
        target: &Target,
        digest: &str,
        body: Option<(String, Vec<u8>)>,
        reference: &str,
    ) -> Result<Image, ImportFailure> {
        let cell = {
            let mut images = match self.images.lock() {
                Ok(i) => i,
                Err(p) => p.into_inner(),
            };
            Arc::clone(images.entry(digest.to_owned()).or_default())
        };
        cell.get_or_try_init(|| self.build_image(target, digest, body, reference))
            .await
            .cloned()
    }

    async fn build_image(
        &self,
        target: &Target,
        digest: &str,
        body: Option<(String, Vec<u8>)>,
        reference: &str,
    ) -> Result<Image, ImportFailure> {
        let (ct, bytes) = match body {
            Some(b) => b,
            None => self.manifest(target, digest).await?,
        };
        let bad = |m: String| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("{}/{}@{digest}: {m}", target.host, target.repository),
            )
        };
        let (media_type, parsed) = manifest::parse(&bytes, &ct).map_err(bad)?;
        match parsed {
            Parsed::Index(list) => Ok(manifest::image_from_index(
                digest,
                reference,
                &media_type,
                &list,
            )),
            Parsed::Image(parts) => {
                let path = format!("/v2/{}/blobs/{}", target.repository, parts.config_digest);
                let (_, config) = self.transport.get_bytes(target, &path, None).await?;
                manifest::verify(&parts.config_digest, &config)
                    .map_err(|m| bad(format!("config {m}")))?;
                manifest::image_from_parts(digest, reference, &parts, &config).map_err(bad)
            }
        }
    }

    async fn list_repository(
        &self,
        repository: &str,
        insecure: bool,
    ) -> Result<TagList, ImportFailure> {
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
        let mut list = TagList::default();
        let mut seen = HashSet::new();
        let mut seen_pages = HashSet::new();
        let mut pages = 0usize;
        let started = std::time::Instant::now();
        let deadline = self.transport.listing_deadline();
        loop {
            if !seen_pages.insert(path.clone()) {
                // A `Link` pointing back at a page already read would loop for ever.
                break;
            }
            pages += 1;
            let (headers, body) = self.transport.get_bytes(&target, &path, None).await?;
            let room = MAX_LISTED_TAGS.saturating_sub(list.tags.len());
            let mut de = serde_json::Deserializer::from_slice(&body);
            let page = PageSeed { room }
                .deserialize(&mut de)
                .and_then(|p| de.end().map(|()| p))
                .map_err(|_| {
                    ImportFailure::new(
                        FailureReason::InternalError,
                        format!("{repository}: the tag list is not valid JSON"),
                    )
                })?;
            for name in page.tags {
                if !is_tag_name(&name) {
                    list.skipped += 1;
                } else if seen.insert(name.clone()) {
                    list.tags.push(name);
                }
            }
            let next = headers
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            if page.dropped > 0 || (next.is_some() && list.tags.len() >= MAX_LISTED_TAGS) {
                list.cut = Some(format!("stopped at {MAX_LISTED_TAGS} tags"));
                break;
            }
            let Some(link) = next else { break };
            if pages >= MAX_TAG_PAGES {
                list.cut = Some(format!("stopped after {MAX_TAG_PAGES} pages"));
                break;
            }
            if started.elapsed() >= deadline {
                list.cut = Some(format!(
                    "stopped after {pages} pages: a listing may take {} s in all ([registry] request_timeout × 5)",
                    deadline.as_secs()
                ));
                break;
            }
            match same_host_path(&link, &target.host) {
                Some(p) => path = p,
                None => {
                    return Err(ImportFailure::new(
                        FailureReason::InternalError,
                        format!("{repository}: the next tag page is on another host"),
                    ));
                }
            }
        }
        if let Some(cut) = &list.cut {
            tracing::debug!(repository, pages, tags = list.tags.len(), cut = %cut, "tag list cut");
        }
        Ok(list)
    }
}

/// One tag-list page, keeping at most `room` names and counting the rest, so that a page of
/// millions of names costs no more memory than its (already bounded) bytes.
struct PageSeed {
    room: usize,
}

struct Page {
    tags: Vec<String>,
    dropped: usize,
}

impl<'de> DeserializeSeed<'de> for PageSeed {
    type Value = Page;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed {
    type Value = Page;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a tag list object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut page = Page {
            tags: Vec::new(),
            dropped: 0,
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == "tags" {
                page = map.next_value_seed(TagsSeed { room: self.room })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(page)
    }
}

/// The `tags` array of a page (`null` for a repository without tags).
struct TagsSeed {
    room: usize,
}

impl<'de> DeserializeSeed<'de> for TagsSeed {
    type Value = Page;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagsSeed {
    type Value = Page;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of tag names or null")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Page, E> {
        Ok(Page {
            tags: Vec::new(),
            dropped: 0,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Page, A::Error> {
        let mut page = Page {
            tags: Vec::new(),
            dropped: 0,
        };
        while let Some(name) = seq.next_element::<String>()? {
            if page.tags.len() < self.room {
                page.tags.push(name);
            } else {
                page.dropped += 1;
            }
        }
        Ok(page)
    }
}

fn header_value(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
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
            streaks: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            max_concurrency: 8,
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
