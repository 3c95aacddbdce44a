//! Copies images to a mirror registry, byte for byte: manifests and indexes by digest (an
//! index with every child), the source's tag names, cosign `.sig`/`.att`/`.sbom` tags and OCI
//! referrers (the referrers API, else the tag schema's `sha256-<hex>` index). Never copies
//! twice: a blob the mirror repository has is skipped (HEAD), one another mirror repository
//! holds is mounted, a manifest present by digest is not pushed again. Blobs stream through
//! in chunks of [`CHUNK`], at most [`BLOBS_IN_FLIGHT`] at a time, so memory stays bounded
//! whatever the layer size; a source that drops the connection is read on from where it
//! stopped (`Range`). Every request goes through [`crate::registry::transport`].
//!
//! It knows nothing of definitions or the state: [`run`] takes the images to copy
//! ([`Image`]) and answers with one [`ImageResult`] each. [`sets`] renders the mirror sets.

pub mod record;
pub mod render;
pub mod sets;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tokio::sync::{OnceCell, Semaphore};

use crate::policy::RegistryConfig;
use crate::registry::manifest::{accept_header, sha256_digest};
use crate::registry::transport::{MAX_DOCUMENT, Target, Transport};
use crate::registry::{AuthStore, Error, FailureReason, ImportFailure, RequestCounts, Timing};

/// A blob is sent in chunks of this size (one PATCH each; the last one, or a blob smaller
/// than this, goes with the closing PUT).
pub const CHUNK: usize = 8 * 1024 * 1024;
/// Blobs copied at once (each holds at most one chunk in memory).
pub const BLOBS_IN_FLIGHT: usize = 4;
/// A source that drops the connection while a blob is read is asked for the rest this many
/// times.
const RESUMES: u32 = 4;
/// Cosign's tag suffixes.
const COSIGN_SUFFIXES: [&str; 3] = [".sig", ".att", ".sbom"];

/// A source repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// The registry as written, defaulted (`docker.io`): names the repository in mirror sets
    /// and finds its credentials.
    pub registry: String,
    /// The host contacted (`registry-1.docker.io` for Docker Hub).
    pub host: String,
    /// The repository path (`library/mysql`).
    pub repository: String,
    /// Insecure transport allowed (`[registry] insecure_allowed`).
    pub insecure: bool,
}

impl Source {
    /// `registry/repository`, as a mirror set names it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// One image to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Where it comes from.
    pub source: Source,
    /// Its digest.
    pub digest: String,
    /// The source's tag names that point at it (set on the mirror too).
    pub tags: BTreeSet<String>,
}

/// The mirror: `HOST[:PORT][/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `HOST[:PORT]`.
    pub host: String,
    /// Path prefix, without slashes at either end; may be empty.
    pub prefix: String,
    /// Insecure transport allowed.
    pub insecure: bool,
}

impl Mirror {
    /// The mirror repository of a source repository path.
    pub fn repository(&self, source_repository: &str) -> String {
        if self.prefix.is_empty() {
            source_repository.to_owned()
        } else {
            format!("{}/{source_repository}", self.prefix)
        }
    }

    /// `HOST[:PORT][/PREFIX]/<path>`.
    pub fn name(&self, source_repository: &str) -> String {
        format!("{}/{}", self.host, self.repository(source_repository))
    }
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Dry run: something would be copied.
    Copy,
    /// Something was copied.
    Copied,
    /// The mirror had everything.
    Present,
    /// It could not be copied (or, in a dry run, asked about).
    Failed,
}

impl Status {
    /// As JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Copy => "copy",
            Status::Copied => "copied",
            Status::Present => "present",
            Status::Failed => "failed",
        }
    }
}

/// One image's copy, its signatures, referrers and an index's children included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageResult {
    /// `registry/repository@digest`.
    pub source: String,
    /// `mirror/repository@digest`.
    pub mirror: String,
    /// Tags set on the mirror.
    pub tags: Vec<String>,
    /// The outcome.
    pub status: Status,
    /// Blobs uploaded (in a dry run: that would be).
    pub blobs_copied: u64,
    /// Blobs mounted from another mirror repository.
    pub blobs_mounted: u64,
    /// Blobs the mirror repository had.
    pub blobs_skipped: u64,
    /// Manifests pushed (the image, an index's children, signatures, referrers, tags).
    pub manifests_pushed: u64,
    /// Bytes of blobs uploaded.
    pub bytes: u64,
    /// Cosign tags copied along (`sha256-<hex>.sig`…).
    pub signatures: Vec<String>,
    /// Digests of the OCI referrers copied along.
    pub referrers: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Whether this run asked the mirror (false: taken from the record, verified within
    /// `[mirror] verify_interval`).
    pub verified: bool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One per image, in the order given.
    pub images: Vec<ImageResult>,
    /// Requests per host.
    pub requests: BTreeMap<String, RequestCounts>,
}

/// Copy `images` to `mirror` (or, with `dry_run`, ask the mirror what it has and copy
/// nothing). Failures are per image; the error is for a client that cannot be built.
pub fn run(
    images: &[Image],
    mirror: &Mirror,
    config: &RegistryConfig,
    root: &Path,
    auth: AuthStore,
    timing: Timing,
    dry_run: bool,
) -> Result<Outcome, Error> {
    let transport = Transport::new(config, root, auth, timing)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("streamsync-mirror")
        .enable_all()
        .build()
        .map_err(|e| Error::Client {
            message: format!("cannot start the network runtime: {e}"),
        })?;
    let engine = Engine {
        t: transport,
        mirror: mirror.clone(),
        dry_run,
        holders: Mutex::new(HashMap::new()),
        blob_slots: Semaphore::new(BLOBS_IN_FLIGHT),
        tag_lists: Mutex::new(HashMap::new()),
        referrers_api: Mutex::new(HashMap::new()),
        referrers_probe: tokio::sync::Mutex::new(()),
    };
    let results = runtime.block_on(async {
        let jobs = images.iter().map(|i| engine.image(i));
        futures_util::future::join_all(jobs).await
    });
    Ok(Outcome {
        images: results,
        requests: engine.t.counts(),
    })
}

#[derive(Debug, Default)]
struct Tally {
    copied: AtomicU64,
    mounted: AtomicU64,
    skipped: AtomicU64,
    manifests: AtomicU64,
    bytes: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::SeqCst);
}

type Shared<T> = Arc<OnceCell<T>>;

/// A manifest read from the source: its media type and bytes.
type Fetched = (String, Vec<u8>);

struct Engine {
    t: Transport,
    mirror: Mirror,
    dry_run: bool,
    /// Per blob digest, the mirror repository that holds it (or is getting it first).
    holders: Mutex<HashMap<String, Shared<String>>>,
    blob_slots: Semaphore,
    /// Per source repository, its tags (for cosign tags and the referrers tag schema).
    tag_lists: Mutex<HashMap<String, Shared<BTreeSet<String>>>>,
    /// Per host: whether it answers the referrers API.
    referrers_api: Mutex<HashMap<String, bool>>,
    /// Held while a host not known yet is asked for the referrers API, so that a host
    /// without it is asked once, not once per image.
    referrers_probe: tokio::sync::Mutex<()>,
}

fn source_target(s: &Source) -> Target {
    Target {
        registry: s.registry.clone(),
        host: s.host.clone(),
        repository: s.repository.clone(),
        insecure: s.insecure,
        push: false,
    }
}

fn failure(message: impl Into<String>) -> ImportFailure {
    ImportFailure::new(FailureReason::InternalError, message)
}

/// The path and query of an upload `Location` (absolute or not).
fn location_path(location: &str) -> Result<String, ImportFailure> {
    if location.starts_with('/') {
        return Ok(location.to_owned());
    }
    let url = reqwest::Url::parse(location)
        .map_err(|_| failure("the mirror answered an upload location that is not a URL"))?;
    Ok(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    })
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A descriptor inside a manifest or index.
#[derive(Debug, Clone, serde::Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

fn check_digest(digest: &str) -> Result<&str, ImportFailure> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| failure(format!("`{digest}` is not a sha256 digest")))?;
    Ok(hex)
}

impl Engine {
    fn mirror_target(&self, source: &Source) -> Target {
        Target {
            registry: self.mirror.host.clone(),
            host: self.mirror.host.clone(),
            repository: self.mirror.repository(&source.repository),
            insecure: self.mirror.insecure,
            push: true,
        }
    }

    async fn image(&self, image: &Image) -> ImageResult {
        let tally = Tally::default();
        let mut signatures = Vec::new();
        let mut referrers = Vec::new();
        let result = self
            .image_inner(image, &tally, &mut signatures, &mut referrers)
            .await;
        let copied = tally.copied.load(Ordering::SeqCst);
        let mounted = tally.mounted.load(Ordering::SeqCst);
        let manifests = tally.manifests.load(Ordering::SeqCst);
        let anything = copied + mounted + manifests > 0;
        let (status, error) = match result {
            Err(f) => (Status::Failed, Some(f.message)),
            Ok(()) if !anything => (Status::Present, None),
            Ok(()) if self.dry_run => (Status::Copy, None),
            Ok(()) => (Status::Copied, None),
        };
        ImageResult {
            source: format!("{}@{}", image.source.name(), image.digest),
            mirror: format!(
                "{}@{}",
                self.mirror.name(&image.source.repository),
                image.digest
            ),
            tags: image.tags.iter().cloned().collect(),
            status,
            blobs_copied: copied,
            blobs_mounted: mounted,
            blobs_skipped: tally.skipped.load(Ordering::SeqCst),
            manifests_pushed: manifests,
            bytes: tally.bytes.load(Ordering::SeqCst),
            signatures,
            referrers,
            error,
            verified: true,
        }
    }

    async fn image_inner(
        &self,
        image: &Image,
        tally: &Tally,
        signatures: &mut Vec<String>,
        referrers: &mut Vec<String>,
    ) -> Result<(), ImportFailure> {
        let hex = check_digest(&image.digest)?.to_owned();
        let src = source_target(&image.source);
        let dst = self.mirror_target(&image.source);
        // A mirror tag that points at the digest already says the manifest is there (the
        // mirror accepted it, children and blobs included): one HEAD for the common case.
        let first_done = match image.tags.iter().next() {
            Some(t) => self.tag_digest(&dst, t).await?.as_deref() == Some(image.digest.as_str()),
            None => false,
        };
        let bytes = if first_done {
            None
        } else {
            self.manifest(&src, &dst, &image.digest, tally).await?
        };
        for (i, tag) in image.tags.iter().enumerate() {
            if i == 0 && first_done {
                continue;
            }
            self.tag(&dst, tag, &image.digest, bytes.as_ref(), &src, tally)
                .await?;
        }
        // Signatures, attestations and SBOMs (cosign's tags), and the referrers.
        let tags = self.source_tags(&image.source).await?;
        for suffix in COSIGN_SUFFIXES {
            let tag = format!("sha256-{hex}{suffix}");
            if tags.contains(&tag) {
                self.copy_tag(&src, &dst, &tag, tally).await?;
                signatures.push(tag);
            }
        }
        let api = self.referrers_of(&src, &image.digest).await?;
        let fallback = format!("sha256-{hex}");
        match api {
            Some(list) => {
                for d in &list {
                    self.manifest(&src, &dst, d, tally).await?;
                    referrers.push(d.clone());
                }
                if !list.is_empty() && !self.mirror_has_referrers_api(&dst, &image.digest).await {
                    self.push_referrers_tag(&dst, &fallback, &src, &list, tally)
                        .await?;
                }
            }
            None if tags.contains(&fallback) => {
                let children = self.copy_tag(&src, &dst, &fallback, tally).await?;
                referrers.extend(children);
            }
            None => {}
        }
        Ok(())
    }

    /// The source repository's tags, listed once per run.
    async fn source_tags(&self, source: &Source) -> Result<BTreeSet<String>, ImportFailure> {
        let cell = {
            let mut m = self.tag_lists.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(m.entry(source.name()).or_default())
        };
        cell.get_or_try_init(|| self.list_tags(source))
            .await
            .cloned()
    }

    async fn list_tags(&self, source: &Source) -> Result<BTreeSet<String>, ImportFailure> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let target = source_target(source);
        let mut tags = BTreeSet::new();
        let mut path = format!("/v2/{}/tags/list?n=1000", source.repository);
        for _ in 0..crate::registry::MAX_TAG_PAGES {
            let resp = match self
                .t
                .send_with(&target, Method::GET, &path, &[], None)
                .await
            {
                Ok(r) => r,
                // A repository with no tags at all is no error.
                Err(f) if f.reason == FailureReason::NotFound => return Ok(tags),
                Err(f) => return Err(f),
            };
            let next = header(&resp, "link").and_then(|l| crate::registry::client::next_link(&l));
            let body = read_document(resp, &source.host).await?;
            let page: Page = serde_json::from_slice(&body)
                .map_err(|_| failure(format!("{}: a tag list that is not JSON", source.host)))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => path = location_path(&n)?,
                None => break,
            }
        }
        Ok(tags)
    }

    /// The referrers of `digest` by the referrers API: `None` when the source has no API.
    async fn referrers_of(
        &self,
        src: &Target,
        digest: &str,
    ) -> Result<Option<Vec<String>>, ImportFailure> {
        let known = self
            .referrers_api
            .lock()
            .ok()
            .and_then(|m| m.get(&src.host).copied());
        if known == Some(false) {
            return Ok(None);
        }
        let _probing = match known {
            None => Some(self.referrers_probe.lock().await),
            Some(_) => None,
        };
        if known.is_none()
            && self
                .referrers_api
                .lock()
                .ok()
                .and_then(|m| m.get(&src.host).copied())
                == Some(false)
        {
            return Ok(None);
        }
        let path = format!("/v2/{}/referrers/{digest}", src.repository);
        let accept = [("accept", crate::registry::manifest::OCI_INDEX.to_owned())];
        let resp = match self
            .t
            .send_with(src, Method::GET, &path, &accept, None)
            .await
        {
            Ok(r) => r,
            Err(f) if f.reason == FailureReason::NotFound || f.message.contains("405") => {
                if let Ok(mut m) = self.referrers_api.lock() {
                    m.entry(src.host.clone()).or_insert(false);
                }
                return Ok(None);
            }
            Err(f) => return Err(f),
        };
        let body = read_document(resp, &src.host).await?;
        let doc: Document = serde_json::from_slice(&body).map_err(|_| {
            failure(format!(
                "{}: a referrers answer that is not an index",
                src.host
            ))
        })?;
        if let Ok(mut m) = self.referrers_api.lock() {
            m.insert(src.host.clone(), true);
        }
        Ok(Some(
            doc.manifests
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.digest)
                .collect(),
        ))
    }

    async fn mirror_has_referrers_api(&self, dst: &Target, digest: &str) -> bool {
        let path = format!("/v2/{}/referrers/{digest}", dst.repository);
        let accept = [("accept", crate::registry::manifest::OCI_INDEX.to_owned())];
        self.t
            .send_with(dst, Method::GET, &path, &accept, None)
            .await
            .is_ok()
    }

    /// A mirror without the referrers API finds them by the tag schema: an index of their
    /// descriptors at `sha256-<hex>`.
    async fn push_referrers_tag(
        &self,
        dst: &Target,
        tag: &str,
        src: &Target,
        list: &[String],
        tally: &Tally,
    ) -> Result<(), ImportFailure> {
        let mut manifests = Vec::new();
        for d in list {
            let (media_type, bytes) = self.get_manifest(src, d).await?;
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let mut desc = serde_json::json!({
                "mediaType": media_type, "digest": d, "size": bytes.len(),
            });
            if let Some(a) = doc
                .get("artifactType")
                .or_else(|| doc.get("config").and_then(|c| c.get("mediaType")))
            {
                desc["artifactType"] = a.clone();
            }
            if let Some(a) = doc.get("annotations") {
                desc["annotations"] = a.clone();
            }
            manifests.push(desc);
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": crate::registry::manifest::OCI_INDEX,
            "manifests": manifests,
        });
        let body = serde_json::to_vec(&index).map_err(|e| failure(e.to_string()))?;
        let digest = sha256_digest(&body);
        if self.tag_digest(dst, tag).await?.as_deref() == Some(digest.as_str()) {
            return Ok(());
        }
        if !self.dry_run {
            self.put_manifest(dst, tag, crate::registry::manifest::OCI_INDEX, &body)
                .await?;
        }
        add(&tally.manifests, 1);
        Ok(())
    }

    /// Copy the manifest a source tag points at (with what it references), and set the tag
    /// on the mirror. Returns the digests of an index's children.
    async fn copy_tag(
        &self,
        src: &Target,
        dst: &Target,
        tag: &str,
        tally: &Tally,
    ) -> Result<Vec<String>, ImportFailure> {
        let path = format!("/v2/{}/manifests/{tag}", src.repository);
        let accept = [("accept", accept_header())];
        let resp = self
            .t
            .send_with(src, Method::GET, &path, &accept, None)
            .await?;
        let media_type = header(&resp, "content-type").unwrap_or_default();
        let bytes = read_document(resp, &src.host).await?;
        let digest = sha256_digest(&bytes);
        let doc: Document = serde_json::from_slice(&bytes)
            .map_err(|_| failure(format!("{}:{tag}: not a manifest", src.repository)))?;
        let children: Vec<String> = doc
            .manifests
            .as_ref()
            .map(|m| m.iter().map(|d| d.digest.clone()).collect())
            .unwrap_or_default();
        let media_type = doc.media_type.clone().unwrap_or(media_type);
        if self.tag_digest(dst, tag).await?.as_deref() == Some(digest.as_str()) {
            return Ok(children);
        }
        self.push_document(src, dst, &digest, &media_type, &bytes, &doc, tally)
            .await?;
        if !self.dry_run {
            self.put_manifest(dst, tag, &media_type, &bytes).await?;
        }
        add(&tally.manifests, 1);
        Ok(children)
    }

    /// The digest a mirror tag points at, if it exists.
    async fn tag_digest(&self, dst: &Target, tag: &str) -> Result<Option<String>, ImportFailure> {
        let path = format!("/v2/{}/manifests/{tag}", dst.repository);
        let accept = [("accept", accept_header())];
        match self
            .t
            .send_with(dst, Method::HEAD, &path, &accept, None)
            .await
        {
            Ok(r) => Ok(header(&r, "docker-content-digest")),
            Err(f) if f.reason == FailureReason::NotFound => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// Point `tag` at `digest` on the mirror, pushing the manifest's bytes when it points
    /// elsewhere.
    async fn tag(
        &self,
        dst: &Target,
        tag: &str,
        digest: &str,
        bytes: Option<&(String, Vec<u8>)>,
        src: &Target,
        tally: &Tally,
    ) -> Result<(), ImportFailure> {
        if self.tag_digest(dst, tag).await?.as_deref() == Some(digest) {
            return Ok(());
        }
        if !self.dry_run {
            let (media_type, body) = match bytes {
                Some((m, b)) => (m.clone(), b.clone()),
                None => self.get_manifest(src, digest).await?,
            };
            self.put_manifest(dst, tag, &media_type, &body).await?;
        }
        add(&tally.manifests, 1);
        Ok(())
    }

    /// GET a manifest by digest and check its bytes against it.
    async fn get_manifest(
        &self,
        src: &Target,
        digest: &str,
    ) -> Result<(String, Vec<u8>), ImportFailure> {
        let path = format!("/v2/{}/manifests/{digest}", src.repository);
        let accept = [("accept", accept_header())];
        let resp = self
            .t
            .send_with(src, Method::GET, &path, &accept, None)
            .await?;
        let media_type = header(&resp, "content-type").unwrap_or_default();
        let bytes = read_document(resp, &src.host).await?;
        if sha256_digest(&bytes) != digest {
            return Err(failure(format!(
                "{}/{}: the manifest's bytes do not match {digest}",
                src.host, src.repository
            )));
        }
        let declared = serde_json::from_slice::<Document>(&bytes)
            .ok()
            .and_then(|d| d.media_type);
        Ok((declared.unwrap_or(media_type), bytes))
    }

    async fn manifest_present(&self, dst: &Target, digest: &str) -> Result<bool, ImportFailure> {
        Ok(self.tag_digest(dst, digest).await?.is_some())
    }

    /// Copy the manifest `digest` (and what it references) unless the mirror has it. Returns
    /// its media type and bytes when they were read.
    fn manifest<'a>(
        &'a self,
        src: &'a Target,
        dst: &'a Target,
        digest: &'a str,
        tally: &'a Tally,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Fetched>, ImportFailure>> {
        Box::pin(async move {
            check_digest(digest)?;
            if self.manifest_present(dst, digest).await? {
                return Ok(None);
            }
            let (media_type, bytes) = self.get_manifest(src, digest).await?;
            let doc: Document = serde_json::from_slice(&bytes).map_err(|_| {
                failure(format!(
                    "{}/{}@{digest}: not a manifest",
                    src.host, src.repository
                ))
            })?;
            self.push_document(src, dst, digest, &media_type, &bytes, &doc, tally)
                .await?;
            Ok(Some((media_type, bytes)))
        })
    }

    /// Copy what a manifest references (an index's children, a manifest's blobs), then push
    /// it by digest.
    #[allow(clippy::too_many_arguments)]
    async fn push_document(
        &self,
        src: &Target,
        dst: &Target,
        digest: &str,
        media_type: &str,
        bytes: &[u8],
        doc: &Document,
        tally: &Tally,
    ) -> Result<(), ImportFailure> {
        if let Some(children) = &doc.manifests {
            for child in children {
                self.manifest(src, dst, &child.digest, tally).await?;
            }
        } else {
            let blobs: Vec<&Descriptor> = doc
                .config
                .iter()
                .chain(doc.layers.iter())
                // Foreign layers are fetched from their URLs, not from the registry.
                .filter(|d| d.urls.is_empty())
                .collect();
            let copies = blobs.iter().map(|d| self.blob(src, dst, d, tally));
            for r in futures_util::future::join_all(copies).await {
                r?;
            }
        }
        let media_type = if media_type.is_empty() || !media_type.contains('/') {
            if doc.manifests.is_some() {
                crate::registry::manifest::OCI_INDEX
            } else {
                crate::registry::manifest::OCI_MANIFEST
            }
        } else {
            media_type
        };
        if !self.dry_run {
            self.put_manifest(dst, digest, media_type, bytes).await?;
        }
        add(&tally.manifests, 1);
        Ok(())
    }

    async fn put_manifest(
        &self,
        dst: &Target,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), ImportFailure> {
        let path = format!("/v2/{}/manifests/{reference}", dst.repository);
        let headers = [("content-type", media_type.to_owned())];
        self.t
            .send_with(
                dst,
                Method::PUT,
                &path,
                &headers,
                Some(bytes::Bytes::copy_from_slice(bytes)),
            )
            .await?;
        Ok(())
    }

    async fn blob_present(&self, dst: &Target, digest: &str) -> Result<bool, ImportFailure> {
        let path = format!("/v2/{}/blobs/{digest}", dst.repository);
        match self.t.send_with(dst, Method::HEAD, &path, &[], None).await {
            Ok(_) => Ok(true),
            Err(f) if f.reason == FailureReason::NotFound => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// Make the mirror repository hold a blob: skipped when it has it, mounted when another
    /// mirror repository has it, else copied (once per run, whichever image needs it first).
    async fn blob(
        &self,
        src: &Target,
        dst: &Target,
        desc: &Descriptor,
        tally: &Tally,
    ) -> Result<(), ImportFailure> {
        check_digest(&desc.digest)?;
        let cell = {
            let mut m = self.holders.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(m.entry(desc.digest.clone()).or_default())
        };
        if self.blob_present(dst, &desc.digest).await? {
            add(&tally.skipped, 1);
            let _ = cell.set(dst.repository.clone());
            return Ok(());
        }
        let ours = AtomicBool::new(false);
        let holder = cell
            .get_or_try_init(|| async {
                ours.store(true, Ordering::SeqCst);
                self.upload(src, dst, desc, None, tally).await?;
                Ok::<_, ImportFailure>(dst.repository.clone())
            })
            .await?;
        if ours.load(Ordering::SeqCst) {
            return Ok(());
        }
        if holder == &dst.repository {
            add(&tally.skipped, 1);
            return Ok(());
        }
        // Another mirror repository has it: mount it from there.
        if self.dry_run {
            add(&tally.mounted, 1);
            return Ok(());
        }
        let path = format!(
            "/v2/{}/blobs/uploads/?mount={}&from={holder}",
            dst.repository, desc.digest
        );
        let resp = self
            .t
            .send_with(dst, Method::POST, &path, &[], None)
            .await?;
        if resp.status() == reqwest::StatusCode::CREATED {
            add(&tally.mounted, 1);
            return Ok(());
        }
        // The mirror would not mount (no access to the other repository): it opened an
        // upload instead.
        let location = header(&resp, "location")
            .ok_or_else(|| failure("the mirror opened an upload without a location"))?;
        self.upload(src, dst, desc, Some(location), tally).await
    }

    /// Stream a blob from the source into an upload on the mirror, a chunk at a time.
    async fn upload(
        &self,
        src: &Target,
        dst: &Target,
        desc: &Descriptor,
        location: Option<String>,
        tally: &Tally,
    ) -> Result<(), ImportFailure> {
        if self.dry_run {
            add(&tally.copied, 1);
            add(&tally.bytes, desc.size);
            return Ok(());
        }
        let _slot = self
            .blob_slots
            .acquire()
            .await
            .map_err(|_| failure("the mirror run is shutting down"))?;
        let mut location = match location {
            Some(l) => location_path(&l)?,
            None => {
                let path = format!("/v2/{}/blobs/uploads/", dst.repository);
                let resp = self
                    .t
                    .send_with(dst, Method::POST, &path, &[], None)
                    .await?;
                let l = header(&resp, "location")
                    .ok_or_else(|| failure("the mirror opened an upload without a location"))?;
                location_path(&l)?
            }
        };
        let blob_path = format!("/v2/{}/blobs/{}", src.repository, desc.digest);
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mut sent: u64 = 0;
        // One buffer for the whole blob: each chunk is sent as a view of it and the space is
        // reclaimed once sent, so a long copy does not leave freed chunks behind.
        let mut buf = bytes::BytesMut::with_capacity(CHUNK.min(desc.size as usize));
        let mut resumes = 0u32;
        let mut resp = self.open_blob(src, &blob_path, 0).await?;
        let mut skip: u64 = 0;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let mut chunk = &chunk[..];
                    if skip > 0 {
                        let n = (skip as usize).min(chunk.len());
                        chunk = &chunk[n..];
                        skip -= n as u64;
                    }
                    hasher.update(chunk);
                    received += chunk.len() as u64;
                    if desc.size > 0 && received > desc.size {
                        return Err(failure(format!(
                            "{}/{}: blob {} is larger than its manifest says",
                            src.host, src.repository, desc.digest
                        )));
                    }
                    // The buffer never grows past one chunk: a full chunk goes out first.
                    while !chunk.is_empty() {
                        let n = (CHUNK - buf.len()).min(chunk.len());
                        buf.extend_from_slice(&chunk[..n]);
                        chunk = &chunk[n..];
                        if buf.len() == CHUNK && (!chunk.is_empty() || received < desc.size) {
                            let full = buf.split().freeze();
                            sent += full.len() as u64;
                            location = self
                                .patch(dst, &location, sent - full.len() as u64, full)
                                .await?;
                            buf.reserve(CHUNK);
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    resumes += 1;
                    if resumes > RESUMES {
                        return Err(ImportFailure::new(
                            FailureReason::Unreachable,
                            format!(
                                "reading blob {} from {}: {} ({received} of {} bytes read)",
                                desc.digest,
                                src.host,
                                crate::registry::transport::error_chain(&e),
                                desc.size
                            ),
                        ));
                    }
                    tracing::debug!(digest = %desc.digest, received, "source dropped the blob: reading on from there");
                    resp = self.open_blob(src, &blob_path, received).await?;
                    if resp.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                        // The source ignored the range: skip what arrived already.
                        skip = received;
                    }
                }
            }
        }
        let got = format!("sha256:{}", hex::encode(hasher.finalize()));
        if got != desc.digest {
            return Err(failure(format!(
                "{}/{}: blob {} arrived with digest {got}; not pushed",
                src.host, src.repository, desc.digest
            )));
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let path = format!("{location}{sep}digest={}", desc.digest);
        let headers = [("content-type", "application/octet-stream".to_owned())];
        self.t
            .send_with(dst, Method::PUT, &path, &headers, Some(buf.freeze()))
            .await?;
        add(&tally.copied, 1);
        add(&tally.bytes, received);
        Ok(())
    }

    async fn open_blob(
        &self,
        src: &Target,
        path: &str,
        from: u64,
    ) -> Result<reqwest::Response, ImportFailure> {
        let range = [("range", format!("bytes={from}-"))];
        let headers: &[(&'static str, String)] = if from == 0 { &[] } else { &range };
        self.t
            .send_with(src, Method::GET, path, headers, None)
            .await
    }

    /// Send one chunk of an upload; returns the next location.
    async fn patch(
        &self,
        dst: &Target,
        location: &str,
        offset: u64,
        chunk: bytes::Bytes,
    ) -> Result<String, ImportFailure> {
        let end = offset + chunk.len() as u64 - 1;
        let headers = [
            ("content-type", "application/octet-stream".to_owned()),
            ("content-range", format!("{offset}-{end}")),
        ];
        let resp = self
            .t
            .send_with(dst, Method::PATCH, location, &headers, Some(chunk))
            .await?;
        match header(&resp, "location") {
            Some(l) => location_path(&l),
            None => Ok(location.to_owned()),
        }
    }
}

/// Read a document body whole, refusing one over [`MAX_DOCUMENT`].
async fn read_document(mut resp: reqwest::Response, host: &str) -> Result<Vec<u8>, ImportFailure> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_DOCUMENT {
                    return Err(failure(format!(
                        "{host}: a document larger than {} MiB; refused",
                        MAX_DOCUMENT / (1024 * 1024)
                    )));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(ImportFailure::new(
                    FailureReason::Unreachable,
                    format!(
                        "reading from {host}: {}",
                        crate::registry::transport::error_chain(&e)
                    ),
                ));
            }
        }
    }
}
