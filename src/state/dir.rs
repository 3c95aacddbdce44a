//! The embedded live-state store: plain YAML under one folder.
//!
//! ```text
//! <dir>/streamsync.toml           lineage and serial: written first when the store is
//!                                 created (serial 0), then last by every apply
//! <dir>/<namespace>/<name>.yaml   one ImageStream (spec as applied, status)
//! <dir>/images/sha256/<hex>.yaml  one Image, shared by every stream that holds the digest
//! <dir>/.lock                     OS lock held while an apply runs (holder pid and time inside)
//! ```
//!
//! Every file is written to a temporary file in the same folder, flushed to disk and renamed, so
//! a crash leaves each file old or new and every file loadable. Files whose bytes would not
//! change are not touched (bytes and mtimes stay). Owns only the layout; it decides nothing
//! about what the streams should contain.
//!
//! The store is a folder streamsync owns and nothing else: no symbolic link inside it is
//! followed, for reading or for writing (a link is an error naming it), and a folder with
//! other files but no `streamsync.toml` is not taken for a store, so an apply pointed at the
//! wrong folder writes nothing into it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{Commit, Error, LiveState, LockGuard, Meta, Snapshot, Written};
use crate::model::{Image, ImageStream, StreamKey};

/// The meta file.
pub const META_FILE: &str = "streamsync.toml";
/// The lock file.
pub const LOCK_FILE: &str = ".lock";
/// The folder of Image objects.
pub const IMAGES_DIR: &str = "images";
/// Prefix of temporary files; a crash may leave some behind, and they are never loaded.
const TMP_PREFIX: &str = ".tmp-";

/// The directory store.
#[derive(Debug, Clone)]
pub struct DirState {
    root: PathBuf,
    /// Where the parse cache lives (`None`: no cache).
    cache_dir: Option<PathBuf>,
    /// Below this many stream files the cache is not used: parsing is fast enough.
    cache_min_files: usize,
}

/// States with at least this many streams keep a parse cache.
const CACHE_MIN_FILES: usize = 256;

/// `$STREAMSYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/streamsync`, else `~/.cache/streamsync`;
/// `STREAMSYNC_NO_CACHE=1` turns the cache off.
fn default_cache_dir() -> Option<PathBuf> {
    if std::env::var_os("STREAMSYNC_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    if let Some(dir) = std::env::var_os("STREAMSYNC_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("streamsync"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("streamsync"))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.display().to_string();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// A Kubernetes-style name that is safe as one path component.
fn check_component(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

/// `sha256:<hex>` → `<hex>`, checked.
fn digest_hex(digest: &str) -> Result<&str, Error> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) => Ok(hex),
        _ => Err(Error::InvalidName(digest.to_owned())),
    }
}

/// Serialize a value the way every state file is written.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_saphyr::to_string(value).map_err(|e| Error::Damaged {
        path: "<serialize>".into(),
        message: e.to_string(),
    })
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Entries a store may hold before its `streamsync.toml` exists: what [`DirState::lock`] and
/// an interrupted first apply leave behind, and the placeholder that keeps an empty folder in
/// Git.
fn is_own_leftover(name: &str) -> bool {
    matches!(name, LOCK_FILE | ".gitignore" | ".gitkeep") || name.starts_with(TMP_PREFIX)
}

/// An error when `path` is a symbolic link (a missing path is fine: it is not a link).
fn refuse_link(path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::Symlink {
            path: path.display().to_string(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("read", path)(e)),
    }
}

/// Read a regular file without following a link at its last component (O_NOFOLLOW); the
/// folders above it are checked by the caller. `None` when it does not exist.
fn read_nofollow(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::Symlink {
                path: path.display().to_string(),
            });
        }
        Err(e) => return Err(io("read", path)(e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io("read", path))?;
    Ok(Some(bytes))
}

impl DirState {
    /// A store at `path` (it need not exist yet: the first commit creates it).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = path.into();
        refuse_link(&root)?;
        if root.exists() && !root.is_dir() {
            return Err(Error::Damaged {
                path: root.display().to_string(),
                message: "it is a file, not a folder".into(),
            });
        }
        Ok(DirState {
            root,
            cache_dir: default_cache_dir(),
            cache_min_files: CACHE_MIN_FILES,
        })
    }

    /// Use `dir` for the parse cache from `min_files` stream files on (`None`: no cache).
    pub fn with_cache(mut self, dir: Option<PathBuf>, min_files: usize) -> Self {
        self.cache_dir = dir;
        self.cache_min_files = min_files;
        self
    }

    /// The cache file of this state: one per state folder, named by its absolute path.
    fn cache_file(&self) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let root = std::fs::canonicalize(&self.root).ok()?;
        let id = hex::encode(Sha256::digest(root.to_string_lossy().as_bytes()));
        Some(dir.join(format!("state-{}.json", &id[..24])))
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a stream.
    pub fn stream_path(&self, key: &StreamKey) -> Result<PathBuf, Error> {
        check_component(&key.namespace)?;
        check_component(&key.name)?;
        Ok(self
            .root
            .join(&key.namespace)
            .join(format!("{}.yaml", key.name)))
    }

    /// The file of an image.
    pub fn image_path(&self, digest: &str) -> Result<PathBuf, Error> {
        let hex = digest_hex(digest)?;
        Ok(self
            .root
            .join(IMAGES_DIR)
            .join("sha256")
            .join(format!("{hex}.yaml")))
    }

    /// Refuse a link anywhere between the root (included) and `path`: a folder that is a
    /// link would carry a write out of the store even though the rename itself never
    /// follows one.
    fn refuse_links_to(&self, path: &Path) -> Result<(), Error> {
        refuse_link(&self.root)?;
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Ok(());
        };
        let mut at = self.root.clone();
        for part in rel.components() {
            at.push(part);
            refuse_link(&at)?;
        }
        Ok(())
    }

    /// A missing or empty folder is a store to be; one with `streamsync.toml` is a store;
    /// anything else is some other folder and is refused before it is read or written.
    fn check_store(&self) -> Result<(), Error> {
        refuse_link(&self.root)?;
        let meta = self.root.join(META_FILE);
        refuse_link(&meta)?;
        if meta.exists() {
            return Ok(());
        }
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("read", &self.root)(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !is_own_leftover(n))
            .collect();
        names.sort();
        match names.into_iter().next() {
            None => Ok(()),
            Some(entry) => Err(Error::NotAStore {
                path: self.root.display().to_string(),
                entry,
            }),
        }
    }

    fn read_meta(&self) -> Result<(Option<Meta>, Vec<u8>), Error> {
        let path = self.root.join(META_FILE);
        match read_nofollow(&path)? {
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let meta: Meta = toml::from_str(&text).map_err(|e| Error::Damaged {
                    path: path.display().to_string(),
                    message: e.message().to_owned(),
                })?;
                Ok((Some(meta), bytes))
            }
            None => Ok((None, Vec::new())),
        }
    }

    /// Every stream file, as (key, path), sorted.
    fn stream_files(&self) -> Result<Vec<(StreamKey, PathBuf)>, Error> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("read", &self.root)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io("read", &self.root))?;
            let ns = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(io("read", &entry.path()))?;
            if kind.is_symlink() && !is_own_leftover(&ns) {
                return Err(Error::Symlink {
                    path: entry.path().display().to_string(),
                });
            }
            if is_hidden(&ns) || !kind.is_dir() {
                continue;
            }
            let dir = entry.path();
            for file in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
                let file = file.map_err(io("read", &dir))?;
                let fname = file.file_name().to_string_lossy().into_owned();
                let kind = file.file_type().map_err(io("read", &file.path()))?;
                if kind.is_symlink() {
                    return Err(Error::Symlink {
                        path: file.path().display().to_string(),
                    });
                }
                // `images/sha256/` is a folder, so it never looks like a stream file.
                let Some(name) = fname.strip_suffix(".yaml") else {
                    continue;
                };
                if is_hidden(&fname) || !kind.is_file() {
                    continue;
                }
                out.push((StreamKey::new(ns.clone(), name), file.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every stream.
    pub fn load_streams(&self) -> Result<BTreeMap<StreamKey, ImageStream>, Error> {
        Ok(self.load()?.streams)
    }

    /// The Image recorded for `digest`.
    /// The Image recorded for `digest`: the file named by the digest must hold the Image of
    /// that digest (its `metadata.name`), else it is damaged and an error, never another
    /// image's data under this id.
    pub fn load_image(&self, digest: &str) -> Result<Option<Image>, Error> {
        let path = self.image_path(digest)?;
        self.refuse_links_to(&path)?;
        let Some(bytes) = read_nofollow(&path)? else {
            return Ok(None);
        };
        let damaged = |message: String| Error::Damaged {
            path: path.display().to_string(),
            message,
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| damaged(e.to_string()))?;
        let image: Image =
            serde_saphyr::from_str(text).map_err(|e| damaged(first_line(&e.to_string())))?;
        if image.metadata.name != digest {
            return Err(damaged(format!(
                "it holds image `{}`, not `{digest}`",
                image.metadata.name
            )));
        }
        Ok(Some(image))
    }

    /// Whether the file of `digest` holds that image intact; a damaged or mismatched file
    /// counts as missing, so the next import of the digest fetches and rewrites it.
    fn image_intact(&self, digest: &str) -> bool {
        matches!(self.load_image(digest), Ok(Some(_)))
    }

    /// Write `bytes` to `path` atomically unless it already holds exactly them.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<bool, Error> {
        self.refuse_links_to(path)?;
        if let Ok(Some(existing)) = read_nofollow(path)
            && existing == bytes
        {
            return Ok(false);
        }
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        // create_dir_all follows links; check again now the folders exist.
        self.refuse_links_to(path)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(dir)
            .map_err(io("create a temporary file in", dir))?;
        tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
        tmp.as_file().sync_all().map_err(io("flush", path))?;
        tmp.persist(path)
            .map_err(|e| io("rename onto", path)(e.error))?;
        Ok(true)
    }

    /// Write new image files, several at once: each is fsynced before its rename, and a
    /// filesystem joins concurrent fsyncs into one journal commit, where one after the other
    /// an import of a thousand images spends most of its time waiting on the disk. Returns
    /// the paths written, in the order given.
    fn write_images<'a>(&self, images: &'a [(PathBuf, &Image)]) -> Result<Vec<&'a Path>, Error> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const WRITERS: usize = 16;
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, image)) = images.get(i) else {
                    return Ok(done);
                };
                if self.write_atomic(path, to_yaml(image)?.as_bytes())? {
                    done.push(i);
                }
            }
        };
        let writers = WRITERS.min(images.len());
        let mut written: Vec<usize> = if writers <= 1 {
            work()?
        } else {
            let results: Vec<Result<Vec<usize>, Error>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..writers).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let mut all = Vec::new();
            for r in results {
                all.extend(r?);
            }
            all
        };
        written.sort_unstable();
        Ok(written.into_iter().map(|i| images[i].0.as_path()).collect())
    }

    /// Remove temporary files a killed apply left behind (called with the lock held).
    fn remove_leftovers(&self) {
        let mut dirs = vec![self.root.clone(), self.root.join(IMAGES_DIR).join("sha256")];
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            dirs.extend(
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            if self.refuse_links_to(&dir).is_err() {
                continue;
            }
            for entry in entries.filter_map(Result::ok) {
                if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Parse one stream file and check that it holds the stream its path names.
fn parse_stream(key: &StreamKey, path: &Path, bytes: &[u8]) -> Result<ImageStream, Error> {
    let damaged = |message: String| Error::Damaged {
        path: path.display().to_string(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| damaged(e.to_string()))?;
    let stream: ImageStream =
        serde_saphyr::from_str(text).map_err(|e| damaged(first_line(&e.to_string())))?;
    if stream.metadata.name != key.name
        || stream.metadata.namespace.as_deref() != Some(key.namespace.as_str())
    {
        return Err(damaged(format!(
            "it holds stream `{}/{}`, not `{key}`",
            stream.metadata.namespace.as_deref().unwrap_or(""),
            stream.metadata.name
        )));
    }
    Ok(stream)
}

/// A parse cache for large states: the streams as JSON, keyed by file identity (device,
/// inode, size, modification and change times), so an unchanged file is not parsed again.
/// Every write of a state file is a rename, which gives it a new inode, so a changed file
/// never matches. Entries younger than two seconds are not cached (a file rewritten in place
/// within the same clock tick could otherwise look unchanged). Any cache problem just means
/// parsing: the cache is never a source of truth.
mod cache {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Serialize};

    use crate::model::{ImageStream, StreamKey};

    const VERSION: u32 = 1;

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FileId {
        dev: u64,
        ino: u64,
        size: u64,
        mtime_ns: i128,
        ctime_ns: i128,
    }

    impl FileId {
        #[cfg(unix)]
        pub fn of(path: &Path) -> Option<FileId> {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(FileId {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            })
        }

        /// Without inode numbers a file's identity is not reliable: no cache.
        #[cfg(not(unix))]
        pub fn of(_path: &Path) -> Option<FileId> {
            None
        }

        fn settled(&self) -> bool {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_nanos();
            let now = i128::try_from(now).unwrap_or(i128::MAX);
            self.dev != 0 && self.mtime_ns.max(self.ctime_ns) < now - 2_000_000_000
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct Entry {
        pub id: FileId,
        pub sha256: String,
        pub stream: ImageStream,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Cache {
        version: u32,
        pub entries: BTreeMap<String, Entry>,
    }

    pub fn read(path: &Path) -> Cache {
        let Ok(bytes) = std::fs::read(path) else {
            return Cache::default();
        };
        match serde_json::from_slice::<Cache>(&bytes) {
            Ok(c) if c.version == VERSION => c,
            _ => Cache::default(),
        }
    }

    /// Rewrite the cache (the caller knows it changed); failures are ignored.
    pub fn write(path: &Path, entries: &BTreeMap<StreamKey, Entry>) {
        let keep: BTreeMap<String, &Entry> = entries
            .iter()
            .filter(|(_, e)| e.id.settled())
            .map(|(k, e)| (k.to_string(), e))
            .collect();
        #[derive(Serialize)]
        struct Out<'a> {
            version: u32,
            entries: BTreeMap<String, &'a Entry>,
        }
        let Ok(json) = serde_json::to_vec(&Out {
            version: VERSION,
            entries: keep,
        }) else {
            return;
        };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir) {
            use std::io::Write as _;
            if tmp.write_all(&json).is_ok() {
                let _ = tmp.persist(path);
            }
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

fn sync_dir(dir: &Path) {
    // Makes the renames durable; a failure here only weakens durability, never correctness.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The lock file, locked; unlocked on drop. Its holder text stays behind: emptying the file
/// on release would truncate whatever the path names by then.
struct HeldLock {
    file: File,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

fn holder_text(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    let mut pid = None;
    let mut started = None;
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').to_owned();
            match k.trim() {
                "pid" => pid = Some(v),
                "started" => started = Some(v),
                _ => {}
            }
        }
    }
    match (pid, started) {
        (Some(p), Some(s)) => format!("pid {p}, started {s}"),
        (Some(p), None) => format!("pid {p}"),
        _ => "holder unknown".to_owned(),
    }
}

impl LiveState for DirState {
    fn load(&self) -> Result<Snapshot, Error> {
        self.check_store()?;
        let (meta, meta_bytes) = self.read_meta()?;
        let files = self.stream_files()?;
        let cache_file = (files.len() >= self.cache_min_files)
            .then(|| self.cache_file())
            .flatten();
        let mut cache = cache_file.as_deref().map(cache::read).unwrap_or_default();
        let cached = cache.entries.len();
        let ids: Vec<Option<cache::FileId>> = files
            .par_iter()
            .map(|(_, path)| cache::FileId::of(path))
            .collect();
        // Hits are moved out of the cache, not copied: large states are mostly hits.
        let mut slots: Vec<Option<cache::Entry>> = files
            .iter()
            .zip(&ids)
            .map(
                |((key, _), id)| match (id, cache.entries.remove(&key.to_string())) {
                    (Some(id), Some(hit)) if hit.id == *id => Some(hit),
                    _ => None,
                },
            )
            .collect();
        drop(cache);
        let hits = slots.iter().filter(|s| s.is_some()).count();
        slots
            .par_iter_mut()
            .zip(files.par_iter())
            .zip(ids.par_iter())
            .try_for_each(|((slot, (key, path)), id)| {
                if slot.is_some() {
                    return Ok(());
                }
                let bytes = read_nofollow(path)?
                    .ok_or_else(|| io("read", path)(std::io::ErrorKind::NotFound.into()))?;
                let stream = parse_stream(key, path, &bytes)?;
                *slot = Some(cache::Entry {
                    id: id.unwrap_or_default(),
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    stream,
                });
                Ok::<(), Error>(())
            })?;
        // The digest covers the meta and every stream file's bytes (through its hash).
        let mut hasher = Sha256::new();
        hasher.update(META_FILE.as_bytes());
        hasher.update([0]);
        hasher.update(&meta_bytes);
        hasher.update([0]);
        let mut entries = BTreeMap::new();
        for ((key, _), entry) in files.iter().zip(slots) {
            let Some(entry) = entry else { continue };
            hasher.update(key.to_string().as_bytes());
            hasher.update([0]);
            hasher.update(entry.sha256.as_bytes());
            hasher.update([0]);
            entries.insert(key.clone(), entry);
        }
        if let Some(file) = &cache_file
            && !(hits == entries.len() && hits == cached)
        {
            cache::write(file, &entries);
        }
        Ok(Snapshot {
            meta,
            streams: entries.into_iter().map(|(k, e)| (k, e.stream)).collect(),
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        })
    }

    fn load_image(&self, digest: &str) -> Result<Option<Image>, Error> {
        DirState::load_image(self, digest)
    }

    fn has_image(&self, digest: &str) -> bool {
        self.image_intact(digest)
    }

    fn lock(&self, timeout: Duration) -> Result<LockGuard, Error> {
        self.check_store()?;
        std::fs::create_dir_all(&self.root).map_err(io("create", &self.root))?;
        refuse_link(&self.root)?;
        let path = self.root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    Error::Symlink {
                        path: path.display().to_string(),
                    }
                } else {
                    io("open", &path)(e)
                }
            })?;
        let is_file = file.metadata().map_err(io("open", &path))?.is_file();
        if !is_file {
            return Err(Error::Damaged {
                path: path.display().to_string(),
                message: "it is not a regular file".into(),
            });
        }
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Locked {
                            holder: holder_text(&mut file),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
            }
        }
        let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let info = format!("pid = {}\nstarted = \"{started}\"\n", std::process::id());
        file.set_len(0).map_err(io("write", &path))?;
        file.seek(SeekFrom::Start(0)).map_err(io("write", &path))?;
        file.write_all(info.as_bytes())
            .map_err(io("write", &path))?;
        let _ = file.flush();
        self.remove_leftovers();
        Ok(LockGuard::new(Box::new(HeldLock { file })))
    }

    fn commit(&self, commit: &Commit) -> Result<Written, Error> {
        let mut written = Written::default();
        let mut dirs = std::collections::BTreeSet::new();
        // Images first: a stream written later may point at them. An existing file is
        // rewritten only when its bytes differ (an Image upgraded to the current shape).
        let mut images = Vec::new();
        for image in &commit.images {
            let path = self.image_path(&image.metadata.name)?;
            self.refuse_links_to(&path)?;
            // write_atomic leaves identical bytes alone, so an intact file costs a read; an
            // old-shape or damaged one is rewritten.
            images.push((path, image));
        }
        // A new store gets its meta first (serial 0), so an apply interrupted before its
        // end leaves a folder that is still recognised as a store and repaired next time.
        if let Some(meta) = &commit.meta
            && self.read_meta()?.0.is_none()
        {
            self.write_meta(&Meta {
                lineage: meta.lineage.clone(),
                serial: 0,
            })?;
        }
        for path in self.write_images(&images)? {
            written.images += 1;
            dirs.insert(path.parent().map(Path::to_path_buf));
        }
        for (key, stream) in &commit.streams {
            let path = self.stream_path(key)?;
            match stream {
                Some(stream) => {
                    if self.write_atomic(&path, to_yaml(stream)?.as_bytes())? {
                        written.streams += 1;
                        dirs.insert(path.parent().map(Path::to_path_buf));
                    }
                }
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {
                        written.streams += 1;
                        if let Some(dir) = path.parent() {
                            // Only succeeds when the namespace folder is now empty.
                            let _ = std::fs::remove_dir(dir);
                            dirs.insert(Some(self.root.clone()));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io("remove", &path)(e)),
                },
            }
        }
        for dir in dirs.into_iter().flatten() {
            sync_dir(&dir);
        }
        // The meta goes last, and only when something changed: unchanged inputs write nothing.
        if let Some(meta) = &commit.meta
            && written.any()
        {
            written.meta = self.write_meta(meta)?;
        }
        Ok(written)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

impl DirState {
    /// Write `streamsync.toml` (and the `.gitignore` beside it on first use).
    fn write_meta(&self, meta: &Meta) -> Result<bool, Error> {
        let ignore = self.root.join(".gitignore");
        refuse_link(&ignore)?;
        if !ignore.exists() {
            // The lock and leftovers of a killed apply are not part of the committed state.
            self.write_atomic(&ignore, b".lock\n.tmp-*\n")?;
        }
        let text = format!(
            "# streamsync live state: written by `streamsync apply`, do not edit\n{}",
            toml::to_string(meta).map_err(|e| Error::Damaged {
                path: META_FILE.into(),
                message: e.to_string(),
            })?
        );
        let written = self.write_atomic(&self.root.join(META_FILE), text.as_bytes())?;
        sync_dir(&self.root);
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(ns: &str, name: &str) -> ImageStream {
        ImageStream::new(ns, name)
    }

    #[test]
    fn commit_then_load_round_trips_and_skips_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path().join("state")).unwrap();
        let empty = state.load().unwrap();
        assert!(empty.meta.is_none() && empty.streams.is_empty());
        let key = StreamKey::new("demo", "app");
        let mut commit = Commit::default();
        commit
            .streams
            .insert(key.clone(), Some(stream("demo", "app")));
        commit.meta = Some(Meta {
            lineage: "l".into(),
            serial: 1,
        });
        let w = state.commit(&commit).unwrap();
        assert_eq!((w.streams, w.meta), (1, true));
        let snap = state.load().unwrap();
        assert_eq!(snap.serial(), 1);
        assert_eq!(snap.streams[&key], stream("demo", "app"));
        // Same content again: nothing is written, not even the meta.
        commit.meta = Some(Meta {
            lineage: "l".into(),
            serial: 2,
        });
        assert!(!state.commit(&commit).unwrap().any());
        let again = state.load().unwrap();
        assert_eq!(again.serial(), 1);
        assert_eq!(again.digest, snap.digest);
        // Delete.
        commit.streams.insert(key.clone(), None);
        assert_eq!(state.commit(&commit).unwrap().streams, 1);
        let after = state.load().unwrap();
        assert!(after.streams.is_empty());
        assert_ne!(after.digest, snap.digest);
    }

    #[test]
    fn leftover_temporary_files_are_ignored_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path()).unwrap();
        std::fs::write(dir.path().join(META_FILE), "lineage = \"l\"\nserial = 1\n").unwrap();
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::write(dir.path().join("demo/.tmp-abc"), "garbage: [").unwrap();
        assert!(state.load().unwrap().streams.is_empty());
        let guard = state.lock(Duration::ZERO).unwrap();
        assert!(!dir.path().join("demo/.tmp-abc").exists());
        drop(guard);
    }

    #[test]
    fn second_lock_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path()).unwrap();
        let guard = state.lock(Duration::ZERO).unwrap();
        let err = state.lock(Duration::from_millis(60)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(guard);
        assert!(state.lock(Duration::ZERO).is_ok());
    }

    #[test]
    fn mismatched_file_is_damaged_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path()).unwrap();
        std::fs::write(dir.path().join(META_FILE), "lineage = \"l\"\nserial = 1\n").unwrap();
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::write(
            dir.path().join("demo/app.yaml"),
            to_yaml(&stream("demo", "other")).unwrap(),
        )
        .unwrap();
        assert!(matches!(state.load(), Err(Error::Damaged { .. })));
        assert!(state.stream_path(&StreamKey::new("..", "x")).is_err());
        assert!(state.image_path("sha256:../x").is_err());
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_parse_cache_gives_the_same_snapshot_and_sees_every_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let state = DirState::open(dir.path().join("state"))
            .unwrap()
            .with_cache(Some(cache_dir.clone()), 0);
        let mut commit = Commit::default();
        for i in 0..5 {
            let name = format!("app{i}");
            commit.streams.insert(
                StreamKey::new("demo", &name),
                Some(ImageStream::new("demo", &name)),
            );
        }
        commit.meta = Some(Meta {
            lineage: "l".into(),
            serial: 1,
        });
        state.commit(&commit).unwrap();
        let first = state.load().unwrap();
        // Fresh files are not cached yet (younger than two seconds); age them.
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        for i in 0..5 {
            let f = File::options()
                .write(true)
                .open(dir.path().join(format!("state/demo/app{i}.yaml")))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        let second = state.load().unwrap();
        assert_eq!(second.streams, first.streams);
        let cache_files: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().collect();
        assert_eq!(cache_files.len(), 1);
        // Served from the cache: same values and digest.
        let third = state.load().unwrap();
        assert_eq!(third.streams, second.streams);
        assert_eq!(third.digest, second.digest);
        // A rewrite (a rename, so a new inode) is seen at once.
        let key = StreamKey::new("demo", "app3");
        let mut changed = ImageStream::new("demo", "app3");
        changed.metadata.generation = Some(9);
        let mut commit = Commit::default();
        commit.streams.insert(key.clone(), Some(changed.clone()));
        state.commit(&commit).unwrap();
        let fourth = state.load().unwrap();
        assert_eq!(fourth.streams[&key], changed);
        assert_ne!(fourth.digest, third.digest);
        // A damaged cache is only a cache.
        std::fs::write(cache_files[0].as_ref().unwrap().path(), "{not json").unwrap();
        assert_eq!(state.load().unwrap().streams, fourth.streams);
    }
}
