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
use serde::Serialize;
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
    /// Set once the images folder was found free of links: an import asks about every
    /// digest it meets, and walking the same three folders each time was most of its
    /// system calls.
    images_folder_checked: std::sync::OnceLock<()>,
}

/// `streamsync.toml` as written: the meta, then the memo index (`[memos]`, one line per stream
/// file: `"<namespace>/<name>" = ["<file hash>", "<memo>"]`). Hashes are cut to 128 bits:
/// enough to tell two files apart, and half the width a reviewer scrolls past.
#[derive(Debug, Serialize)]
struct MetaFile<'a> {
    #[serde(flatten)]
    meta: &'a Meta,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    memos: MemoIndex,
}

/// The key of the memo index in `streamsync.toml`.
const MEMOS_KEY: &str = "memos";

/// Hex digits of a file hash kept in the memo index.
const MEMO_HASH_LEN: usize = 32;

/// `namespace/name` → (file hash, memo).
type MemoIndex = BTreeMap<String, (String, String)>;

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
            images_folder_checked: std::sync::OnceLock::new(),
        })
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

    /// Refuse a link between the root and the folder of the image file `path` (checked
    /// once per store value), then at the file itself (by the caller's O_NOFOLLOW read).
    fn check_images_folder(&self, path: &Path) -> Result<(), Error> {
        if self.images_folder_checked.get().is_some() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        self.refuse_links_to(dir)?;
        // Remembered even while the folder is missing (an empty store asks about every digest
        // it imports): the one that creates it later, `write_images`, checks it again itself.
        let _ = self.images_folder_checked.set(());
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

    /// The meta, the file's bytes and its memo index (`None`, empty, empty before the first
    /// apply).
    fn read_meta(&self) -> Result<(Option<Meta>, Vec<u8>, MemoIndex), Error> {
        let path = self.root.join(META_FILE);
        match read_nofollow(&path)? {
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let damaged = |e: toml::de::Error| Error::Damaged {
                    path: path.display().to_string(),
                    message: e.message().to_owned(),
                };
                // The index is taken out first, so the meta keeps refusing unknown keys.
                let mut table: toml::Table = toml::from_str(&text).map_err(damaged)?;
                let memos = match table.remove(MEMOS_KEY) {
                    Some(memos) => memos.try_into().map_err(damaged)?,
                    None => MemoIndex::new(),
                };
                let meta: Meta = table.try_into().map_err(damaged)?;
                Ok((Some(meta), bytes, memos))
            }
            None => Ok((None, Vec::new(), MemoIndex::new())),
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

    /// Only the streams `keys` names, those stored (what roll-outs read: the streams their
    /// triggers follow, not a whole state of thousands). Links are refused as [`Self::load`]
    /// refuses them; a name no stream file could have is simply not stored.
    pub fn load_streams_of(
        &self,
        keys: &std::collections::BTreeSet<StreamKey>,
    ) -> Result<BTreeMap<StreamKey, ImageStream>, Error> {
        self.check_store()?;
        let mut out = BTreeMap::new();
        for key in keys {
            if let Some((path, bytes)) = self.read_stream_file(key)? {
                out.insert(key.clone(), parse_stream(key, &path, &bytes)?);
            }
        }
        Ok(out)
    }

    /// The stream `key` names, parsed, if its file still holds the bytes whose sha256 (hex)
    /// is `sha256`, as a snapshot recorded it: for a caller that keeps a snapshot and parses
    /// a stream it left unparsed later (`watch`). `None` when the file changed or is gone.
    pub fn load_stream_as_hashed(
        &self,
        key: &StreamKey,
        sha256: &str,
    ) -> Result<Option<ImageStream>, Error> {
        self.check_store()?;
        match self.read_stream_file(key)? {
            Some((path, bytes)) if hex::encode(Sha256::digest(&bytes)) == sha256 => {
                Ok(Some(parse_stream(key, &path, &bytes)?))
            }
            _ => Ok(None),
        }
    }

    /// The bytes of `key`'s stream file, refusing links as [`Self::load`] refuses them; `None`
    /// when not stored (a name no stream file could have is simply not stored).
    fn read_stream_file(&self, key: &StreamKey) -> Result<Option<(PathBuf, Vec<u8>)>, Error> {
        let Ok(path) = self.stream_path(key) else {
            return Ok(None);
        };
        let dir = self.root.join(&key.namespace);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::Symlink {
                    path: dir.display().to_string(),
                });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &dir)(e)),
        }
        Ok(read_nofollow(&path)?.map(|bytes| (path, bytes)))
    }

    /// The Image recorded for `digest`.
    /// The Image recorded for `digest`: the file named by the digest must hold the Image of
    /// that digest (its `metadata.name`), else it is damaged and an error, never another
    /// image's data under this id.
    pub fn load_image(&self, digest: &str) -> Result<Option<Image>, Error> {
        let path = self.image_path(digest)?;
        self.check_images_folder(&path)?;
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
        replace_file(dir, path, bytes, Durability::Now)
    }

    /// Write new image files, several at once, into the one images folder. The folder is
    /// created and checked for links once; each file is renamed into place without a flush of
    /// its own, and one `syncfs` makes the whole batch durable before this returns, so a
    /// stream written afterwards never points at an image that a power loss could lose. (A
    /// flush per file cost an import of a thousand images a thousand waits on the disk.) A
    /// file a crash left empty or torn counts as missing and is fetched and rewritten by the
    /// next import. Returns the paths written, in the order given.
    fn write_images<'a>(&self, images: &'a [(PathBuf, &Image)]) -> Result<Vec<&'a Path>, Error> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const WRITERS: usize = 4;
        let Some((first, _)) = images.first() else {
            return Ok(Vec::new());
        };
        let dir = first.parent().unwrap_or(&self.root);
        self.refuse_links_to(dir)?;
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        self.refuse_links_to(dir)?;
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, image)) = images.get(i) else {
                    return Ok(done);
                };
                if path.parent() != Some(dir) {
                    return Err(Error::Damaged {
                        path: path.display().to_string(),
                        message: "an image file outside the images folder".into(),
                    });
                }
                let bytes = to_yaml(image)?;
                // read_nofollow refuses a link at the file itself; the folder was checked.
                if let Ok(Some(existing)) = read_nofollow(path)
                    && existing == bytes.as_bytes()
                {
                    continue;
                }
                if replace_file(dir, path, bytes.as_bytes(), Durability::Batch)? {
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
        if !written.is_empty() {
            sync_filesystem(dir, images, &written)?;
        }
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

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or(text);
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// When a replaced file's bytes reach the disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Flushed before the rename.
    Now,
    /// Left to one [`sync_filesystem`] of the whole batch.
    Batch,
}

/// Put `bytes` at `path` through a temporary file in `dir` and a rename, so a reader sees
/// the old file or the new one, never a part.
fn replace_file(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<bool, Error> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
    if durability == Durability::Now {
        tmp.as_file().sync_all().map_err(io("flush", path))?;
    }
    tmp.persist(path)
        .map_err(|e| io("rename onto", path)(e.error))?;
    Ok(true)
}

/// Make a batch of renamed files in `dir` durable: one `syncfs` of the filesystem holding
/// it, or, where that call fails, a flush of each file written and of the folder.
fn sync_filesystem(
    dir: &Path,
    images: &[(PathBuf, &Image)],
    written: &[usize],
) -> Result<(), Error> {
    let folder = File::open(dir).map_err(io("open", dir))?;
    if rustix::fs::syncfs(&folder).is_ok() {
        return Ok(());
    }
    for &i in written {
        let path = &images[i].0;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io("open", path))?;
        file.sync_all().map_err(io("flush", path))?;
    }
    sync_dir(dir);
    Ok(())
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
        self.load_skipping(&|_, _| false)
    }

    fn load_skipping(
        &self,
        skip: &(dyn Fn(&StreamKey, &str) -> bool + Sync),
    ) -> Result<Snapshot, Error> {
        self.check_store()?;
        let (meta, meta_bytes, memos) = self.read_meta()?;
        let files = self.stream_files()?;
        // Every file is read and hashed (the digest covers them all); only the parse, which
        // costs far more than the read, is left out for files the caller does not need.
        let loaded: Vec<(String, Option<ImageStream>, Option<&str>)> = files
            .par_iter()
            .map(|(key, path)| {
                let bytes = read_nofollow(path)?
                    .ok_or_else(|| io("read", path)(std::io::ErrorKind::NotFound.into()))?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                let memo = memos
                    .get(&key.to_string())
                    .filter(|(file, _)| sha256.get(..MEMO_HASH_LEN) == Some(file.as_str()))
                    .map(|(_, memo)| memo.as_str())
                    .filter(|memo| skip(key, memo));
                let stream = match memo {
                    Some(_) => None,
                    None => Some(parse_stream(key, path, &bytes)?),
                };
                Ok((sha256, stream, memo))
            })
            .collect::<Result<_, Error>>()?;
        // The digest covers the meta and every stream file's bytes (through its hash).
        let mut hasher = Sha256::new();
        hasher.update(META_FILE.as_bytes());
        hasher.update([0]);
        hasher.update(&meta_bytes);
        hasher.update([0]);
        let mut snapshot = Snapshot {
            meta,
            ..Snapshot::default()
        };
        for ((key, _), (sha256, stream, memo)) in files.into_iter().zip(loaded) {
            hasher.update(key.to_string().as_bytes());
            hasher.update([0]);
            hasher.update(sha256.as_bytes());
            hasher.update([0]);
            match stream {
                Some(stream) => {
                    snapshot.streams.insert(key.clone(), stream);
                }
                None => {
                    let memo = memo.unwrap_or_default().to_owned();
                    snapshot.skipped.insert(key.clone(), memo);
                }
            }
            snapshot.hashes.insert(key, sha256);
        }
        snapshot.digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        Ok(snapshot)
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
            // write_images leaves identical bytes alone, so an intact file costs a read; an
            // old-shape or damaged one is rewritten. It checks the folder for links once.
            images.push((self.image_path(&image.metadata.name)?, image));
        }
        // A new store gets its meta first (serial 0), so an apply interrupted before its
        // end leaves a folder that is still recognised as a store and repaired next time.
        if let Some(meta) = &commit.meta
            && self.read_meta()?.0.is_none()
        {
            self.write_meta(&MetaFile {
                meta: &Meta {
                    lineage: meta.lineage.clone(),
                    serial: 0,
                },
                memos: MemoIndex::new(),
            })?;
        }
        for path in self.write_images(&images)? {
            written.images += 1;
            dirs.insert(path.parent().map(Path::to_path_buf));
        }
        // The hash of each stream file this commit leaves, for the memo index.
        let mut hashes = BTreeMap::new();
        for (key, stream) in &commit.streams {
            let path = self.stream_path(key)?;
            match stream {
                Some(stream) => {
                    let text = to_yaml(stream)?;
                    hashes.insert(key, hex::encode(Sha256::digest(text.as_bytes())));
                    if self.write_atomic(&path, text.as_bytes())? {
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
            let memos: MemoIndex = commit
                .memos
                .iter()
                .filter(|(key, _)| !matches!(commit.streams.get(key), Some(None)))
                .filter_map(|(key, memo)| {
                    let file = memo.file.as_ref().or_else(|| hashes.get(key))?;
                    let file = file.get(..MEMO_HASH_LEN)?.to_owned();
                    Some((key.to_string(), (file, memo.memo.clone())))
                })
                .collect();
            written.meta = self.write_meta(&MetaFile { meta, memos })?;
        }
        Ok(written)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

impl DirState {
    /// Write `streamsync.toml` (and the `.gitignore` beside it on first use).
    fn write_meta(&self, meta: &MetaFile<'_>) -> Result<bool, Error> {
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
    fn load_streams_of_reads_only_the_streams_named_and_refuses_links() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path().join("state")).unwrap();
        let mut commit = Commit::default();
        for (ns, name) in [("demo", "app"), ("demo", "other"), ("team", "web")] {
            commit
                .streams
                .insert(StreamKey::new(ns, name), Some(stream(ns, name)));
        }
        commit.meta = Some(Meta {
            lineage: "l".into(),
            serial: 1,
        });
        state.commit(&commit).unwrap();
        let keys: std::collections::BTreeSet<StreamKey> = [
            StreamKey::new("demo", "app"),
            StreamKey::new("demo", "missing"),
            StreamKey::new("nowhere", "app"),
            StreamKey::new("..", "app"),
        ]
        .into_iter()
        .collect();
        let got = state.load_streams_of(&keys).unwrap();
        assert_eq!(
            got.keys().cloned().collect::<Vec<_>>(),
            [StreamKey::new("demo", "app")]
        );
        // A namespace folder that is a link is refused, not followed.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("state/linked")).unwrap();
        let keys = [StreamKey::new("linked", "app")].into_iter().collect();
        assert!(matches!(
            state.load_streams_of(&keys),
            Err(Error::Symlink { .. })
        ));
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
mod memo_tests {
    use super::*;
    use crate::state::Memo;

    #[test]
    fn a_load_skips_only_files_whose_bytes_still_match_their_memo() {
        let dir = tempfile::tempdir().unwrap();
        let state = DirState::open(dir.path()).unwrap();
        let (a, b, c) = (
            StreamKey::new("demo", "a"),
            StreamKey::new("demo", "b"),
            StreamKey::new("demo", "c"),
        );
        let mut commit = Commit::default();
        for key in [&a, &b, &c] {
            let s = ImageStream::new(&key.namespace, &key.name);
            commit.streams.insert(key.clone(), Some(s));
        }
        commit.meta = Some(Meta {
            lineage: "l".into(),
            serial: 1,
        });
        let memo = |m: &str| Memo {
            file: None,
            memo: m.into(),
        };
        commit.memos = [(a.clone(), memo("ma")), (b.clone(), memo("mb"))].into();
        state.commit(&commit).unwrap();
        let full = state.load().unwrap();
        assert!(full.skipped.is_empty());

        let some = state.load_skipping(&|_, m| m == "ma").unwrap();
        assert_eq!(some.skipped, [(a.clone(), "ma".to_owned())].into());
        assert_eq!(some.streams.keys().collect::<Vec<_>>(), [&b, &c]);
        assert_eq!(some.digest, full.digest);
        assert_eq!(some.hashes, full.hashes);

        // Same meaning, other bytes: parsed again.
        let path = state.stream_path(&a).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("# by hand\n{text}")).unwrap();
        let all = state.load_skipping(&|_, _| true).unwrap();
        assert_eq!(all.skipped.keys().collect::<Vec<_>>(), [&b]);
        assert_ne!(all.digest, full.digest);

        // A later commit keeps the memo of a file it does not write (given with the file's
        // hash) and drops the memo of a stream it deletes.
        let mut next = Commit {
            meta: Some(Meta {
                lineage: "l".into(),
                serial: 2,
            }),
            ..Commit::default()
        };
        next.streams.insert(b.clone(), None);
        next.memos = [
            (
                a.clone(),
                Memo {
                    file: Some(all.hashes[&a].clone()),
                    memo: "ma2".into(),
                },
            ),
            (b.clone(), memo("mb")),
        ]
        .into();
        state.commit(&next).unwrap();
        let meta = std::fs::read_to_string(dir.path().join(META_FILE)).unwrap();
        assert!(meta.contains("\n[memos]\n\"demo/a\" = [\""), "{meta}");
        assert!(
            !meta.contains("demo/b") && !meta.contains("demo/c"),
            "{meta}"
        );
        let after = state.load_skipping(&|_, m| m == "ma2").unwrap();
        assert_eq!(after.skipped.keys().collect::<Vec<_>>(), [&a]);
        assert_eq!(after.serial(), 2);
    }

    #[test]
    fn a_damaged_memo_index_is_a_damaged_meta_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(META_FILE),
            "lineage = \"l\"\nserial = 1\n[memos]\n\"demo/a\" = 3\n",
        )
        .unwrap();
        let state = DirState::open(dir.path()).unwrap();
        assert!(matches!(state.load(), Err(Error::Damaged { .. })));
        std::fs::write(
            dir.path().join(META_FILE),
            "lineage = \"l\"\nserial = 1\nother = 2\n",
        )
        .unwrap();
        assert!(matches!(state.load(), Err(Error::Damaged { .. })));
    }
}
