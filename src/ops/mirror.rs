//! `mirror`: copy the images the live state holds for the definitions' tags to `[mirror]
//! registry`, by digest, with the source's tag names, signatures and referrers
//! ([`crate::mirror`] does the copying), and write the mirror sets file when it changes.
//! Reads the definitions of the working tree and the state; never writes the state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::{Invalid, Run, Workspace};
use crate::definition::DefinitionSet;
use crate::error::Hinted;
use crate::mirror::record::{Entry, Record};
use crate::mirror::{self, ImageResult, Mirror, Source, Status};
use crate::model::{ImageStream, StreamKey, reference};
use crate::policy::Config;
use crate::registry::{AuthStore, RequestCounts, Timing};

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Ask the mirror what it has; copy and write nothing.
    pub dry_run: bool,
    /// Ask the mirror about every image, whatever the record says.
    pub verify: bool,
    /// `--registry-config`: the auth file.
    pub registry_config: Option<PathBuf>,
    /// Retry timing (tests shorten it).
    pub timing: Option<Timing>,
}

/// The mirror sets file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetsFile {
    /// Where it is.
    pub path: PathBuf,
    /// Whether this run wrote it (it changed).
    pub written: bool,
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct Report {
    /// A dry run.
    pub dry_run: bool,
    /// `[mirror] registry`.
    pub mirror: String,
    /// One per image, sorted by source.
    pub images: Vec<ImageResult>,
    /// Requests per registry host.
    pub requests: BTreeMap<String, RequestCounts>,
    /// The mirror sets file, when configured.
    pub sets: Option<SetsFile>,
}

impl Report {
    /// Whether some image could not be copied.
    pub fn incomplete(&self) -> bool {
        self.images.iter().any(|i| i.status == Status::Failed)
    }
}

/// The mirror of `config`, when `[mirror] registry` is set.
pub fn mirror_of(config: &Config) -> Option<Mirror> {
    let (host, prefix) = config.mirror.host_and_prefix()?;
    Some(Mirror {
        host: host.to_owned(),
        prefix: prefix.to_owned(),
        insecure: config.registry.insecure_allowed(host),
    })
}

/// The source repository of a pull spec (`None` when it does not parse).
pub fn source_of(pullspec: &str, config: &Config) -> Option<Source> {
    let parsed = reference::parse(pullspec).ok()?;
    let defaults = parsed.docker_client_defaults();
    let host = parsed.registry_api_host();
    let insecure = config.registry.insecure_allowed(&host)
        || config.registry.insecure_allowed(&defaults.registry);
    Some(Source {
        registry: defaults.registry.clone(),
        host,
        repository: defaults.repository_name(),
        insecure,
    })
}

/// Source repositories that would share one mirror repository: `(mirror repository,
/// sources)` for each clash. Two sources must not, or one would overwrite the other's tags
/// and the mirror sets would send pulls of one to the other.
pub fn clashes<'a>(
    sources: impl IntoIterator<Item = &'a Source>,
    mirror: &Mirror,
) -> Vec<(String, Vec<String>)> {
    let mut by_mirror: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources {
        by_mirror
            .entry(mirror.name(&s.repository))
            .or_default()
            .insert(s.name());
    }
    by_mirror
        .into_iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(m, s)| (m, s.into_iter().collect()))
        .collect()
}

/// The sources the definitions import from (`DockerImage` tags), for `validate`.
pub fn definition_sources(set: &DefinitionSet, config: &Config) -> Vec<Source> {
    let mut out = BTreeSet::new();
    for stream in set.streams() {
        for tag in &stream.spec.tags {
            if let Some(from) = &tag.from
                && from.kind == "DockerImage"
                && let Some(s) = source_of(&from.name, config)
            {
                out.insert(s);
            }
        }
    }
    out.into_iter().collect()
}

/// The images to copy: for every tag of the definitions (reference tags left out), the image
/// its newest live-state item holds, grouped by source repository and digest, with the
/// source tag names that point at it.
pub fn images_to_copy(
    set: &DefinitionSet,
    live: &BTreeMap<StreamKey, ImageStream>,
    config: &Config,
) -> Vec<mirror::Image> {
    let mut images: BTreeMap<(Source, String), BTreeSet<String>> = BTreeMap::new();
    for (key, def) in &set.streams {
        let Some(stream) = live.get(key) else {
            continue;
        };
        let Some(status) = &stream.status else {
            continue;
        };
        for tag in &def.stream.spec.tags {
            if tag.reference {
                continue;
            }
            let Some(item) = status
                .tags
                .iter()
                .find(|t| t.tag == tag.name)
                .and_then(|t| t.items.first())
            else {
                continue;
            };
            if item.image.is_empty() {
                continue;
            }
            let Some(source) = source_of(&item.docker_image_reference, config) else {
                continue;
            };
            let tags = images
                .entry((source.clone(), item.image.clone()))
                .or_default();
            // The source's own tag name, for tag mirror sets.
            if let Some(from) = &tag.from
                && from.kind == "DockerImage"
                && let Ok(parsed) = reference::parse(&from.name)
                && parsed.digest.is_empty()
                && !parsed.tag.is_empty()
                && source_of(&from.name, config).is_some_and(|s| s.name() == source.name())
            {
                tags.insert(parsed.tag.clone());
            }
        }
    }
    images
        .into_iter()
        .map(|((source, digest), tags)| mirror::Image {
            source,
            digest,
            tags,
        })
        .collect()
}

/// Copy the images and write the mirror sets.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    let loaded = ws.load_definitions(None)?;
    if let Some(invalid) = Invalid::of(&loaded) {
        return Ok(Run::Invalid(invalid));
    }
    let config = ws.load_config().unwrap_or_default();
    let state = ws.state()?;
    let live = state.load_streams()?;
    mirror_streams(ws, &config, &loaded.set, &live, options).map(Run::Done)
}

/// [`run`] on definitions and a live state already loaded (what `sync` calls after its
/// imports).
pub fn mirror_streams(
    ws: &Workspace,
    config: &Config,
    set: &DefinitionSet,
    live: &BTreeMap<StreamKey, ImageStream>,
    options: &Options,
) -> Result<Report> {
    let Some(target) = mirror_of(config) else {
        return Err(Hinted::new(
            "no mirror is configured",
            "set `[mirror] registry = \"HOST[:PORT][/PREFIX]\"` in streamsync.toml",
        )
        .into());
    };
    let images = images_to_copy(set, live, config);
    let mut sources: BTreeSet<Source> = definition_sources(set, config).into_iter().collect();
    sources.extend(images.iter().map(|i| i.source.clone()));
    let clash = clashes(&sources, &target);
    if let Some((repo, sources)) = clash.first() {
        return Err(Hinted::new(
            format!(
                "[mirror] {} and {} would share the mirror repository {repo}",
                sources[0], sources[1]
            ),
            "mirror to a registry with a prefix per source registry, or import these streams from one source",
        )
        .into());
    }
    // What the record says was verified on this mirror within the interval is not asked
    // about again (on the mirror or on the source).
    let registry = config.mirror.registry.clone().unwrap_or_default();
    let record = Record::load(&ws.state_dir, &registry);
    let now = ws.now;
    let interval = i64::try_from(config.mirror.verify_interval().as_secs()).unwrap_or(i64::MAX);
    let mut results: Vec<Option<ImageResult>> = Vec::with_capacity(images.len());
    let mut ask = Vec::new();
    for image in &images {
        let source = format!("{}@{}", image.source.name(), image.digest);
        let repo = target.name(&image.source.repository);
        match record.fresh(&source, &repo, &image.tags, now, interval) {
            // A dry run asks the mirror what it has, whatever the record says.
            Some(e) if !options.verify && !options.dry_run => {
                results.push(Some(recorded(source, &repo, image, e)));
            }
            _ => {
                results.push(None);
                ask.push(image.clone());
            }
        }
    }
    let auth = AuthStore::discover(options.registry_config.as_deref()).map_err(|e| {
        anyhow::Error::from(Hinted::new(
            e.to_string(),
            "fix the file, or point --registry-config at a usable one",
        ))
    })?;
    let outcome = mirror::run(
        &ask,
        &target,
        &config.registry,
        &ws.root,
        auth,
        options.timing.unwrap_or_default(),
        options.dry_run,
    )
    .map_err(|e| {
        anyhow::Error::from(Hinted::new(
            e.to_string(),
            "fix [registry] in streamsync.toml",
        ))
    })?;
    let mut asked = outcome.images.into_iter();
    let results: Vec<ImageResult> = results
        .into_iter()
        .filter_map(|r| r.or_else(|| asked.next()))
        .collect();
    if !options.dry_run {
        save_record(ws, &registry, &record, &results, now)?;
    }

    let sets = match &config.mirror.mirror_sets {
        Some(rel) => {
            let path = ws.root.join(rel);
            let map: BTreeMap<String, String> = images
                .iter()
                .map(|i| (i.source.name(), target.name(&i.source.repository)))
                .collect();
            let text = mirror::sets::render(&map);
            let same = fs_err::read_to_string(&path).is_ok_and(|old| old == text);
            let written = !same && !options.dry_run;
            if written {
                write_file(&path, &text)?;
            }
            Some(SetsFile { path, written })
        }
        None => None,
    };
    Ok(Report {
        dry_run: options.dry_run,
        mirror: config.mirror.registry.clone().unwrap_or_default(),
        images: results,
        requests: outcome.requests,
        sets,
    })
}

/// The result of an image the record vouches for: present, nothing asked.
fn recorded(source: String, repo: &str, image: &mirror::Image, e: &Entry) -> ImageResult {
    ImageResult {
        source,
        mirror: format!("{repo}@{}", image.digest),
        tags: image.tags.iter().cloned().collect(),
        status: Status::Present,
        blobs_copied: 0,
        blobs_mounted: 0,
        blobs_skipped: 0,
        manifests_pushed: 0,
        bytes: 0,
        signatures: e.signatures.clone(),
        referrers: e.referrers.clone(),
        error: None,
        verified: false,
    }
}

/// Write the record of this run into the state folder (only a store that exists: a folder
/// holding only the record would not be taken for one): what the mirror answered for now,
/// what was taken from the record as it was; failed images and images no longer wanted
/// are left out.
fn save_record(
    ws: &Workspace,
    registry: &str,
    old: &Record,
    results: &[ImageResult],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if !ws.state_dir.join(crate::state::dir::META_FILE).exists() {
        return Ok(());
    }
    let mut record = Record {
        registry: registry.to_owned(),
        images: BTreeMap::new(),
    };
    for r in results {
        if r.status == Status::Failed {
            continue;
        }
        let entry = if r.verified {
            Entry {
                mirror: r.mirror.split('@').next().unwrap_or(&r.mirror).to_owned(),
                tags: r.tags.iter().cloned().collect(),
                signatures: r.signatures.clone(),
                referrers: r.referrers.clone(),
                verified: now,
            }
        } else {
            match old.images.get(&r.source) {
                Some(e) => e.clone(),
                None => continue,
            }
        };
        record.images.insert(r.source.clone(), entry);
    }
    record.save(&ws.state_dir).with_context(|| {
        format!(
            "cannot write `{}`",
            mirror::record::path(&ws.state_dir).display()
        )
    })?;
    Ok(())
}

/// Drop the mirror record (`sync` without `[mirror] registry`): a mirror set up again later
/// is asked about everything.
pub fn forget_record(ws: &Workspace) -> Result<()> {
    let path = mirror::record::path(&ws.state_dir);
    match fs_err::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove `{}`", path.display())),
    }
}

/// Write a file whole through a rename, creating its folder.
fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .context("the mirror sets file has no folder")?;
    fs_err::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}
