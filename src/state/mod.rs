//! Live state: what has been applied. Owns the [`LiveState`] trait and its embedded default
//! backend, [`dir`], which keeps the state as plain YAML files under `state/`. Nothing outside
//! this module may assume the directory layout (a Kubernetes backend is planned behind the same
//! trait). It never reads definitions, plans or registries: it loads and stores values.

pub mod commit;
pub mod dir;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Image, ImageStream, StreamKey};

/// A live-state failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{path}`")]
    Io {
        /// read, write, rename, ...
        action: &'static str,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what streamsync wrote.
    #[error("state file `{path}` is damaged: {message}")]
    Damaged {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Another process holds the state lock.
    #[error("the live state is locked by another process ({holder})")]
    Locked {
        /// Who holds it (pid and start time, as written in the lock file).
        holder: String,
    },
    /// A stream or image name that cannot be a file name.
    #[error("invalid name `{0}` for the live state")]
    InvalidName(String),
    /// A symbolic link inside the state folder: following it would read or write outside the
    /// store, so none is followed.
    #[error("`{path}` is a symbolic link; the live state never follows links")]
    Symlink {
        /// The link.
        path: String,
    },
    /// A folder that holds files but no `streamsync.toml`: not a store, so not written into.
    #[error(
        "`{path}` is not a streamsync state folder: it has no `streamsync.toml` but holds `{entry}`"
    )]
    NotAStore {
        /// The folder.
        path: String,
        /// One of the entries found.
        entry: String,
    },
}

impl Error {
    /// How to fix it, where that is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Symlink { .. } => Some(
                "replace the link with the real file or folder; the live state is written only inside its own folder",
            ),
            Error::NotAStore { .. } => Some(
                "point --state at the state folder (it holds `streamsync.toml`), or at an empty or missing folder to start a new one",
            ),
            _ => None,
        }
    }
}

/// `state/streamsync.toml`: which state this is and how many applies it has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Fixed when the state is created; a saved plan for another lineage is refused.
    pub lineage: String,
    /// +1 per apply that changed something.
    pub serial: u64,
}

/// Everything [`LiveState::load`] read, with a digest of it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Lineage and serial; `None` before the first apply.
    pub meta: Option<Meta>,
    /// Every stream.
    pub streams: BTreeMap<StreamKey, ImageStream>,
    /// `sha256:…` over the meta and every stream as stored: two loads give the same digest
    /// exactly when nothing changed in between (a crash that wrote some streams changes it).
    pub digest: String,
    /// Streams that are stored but were not parsed, because the caller of
    /// [`LiveState::load_skipping`] said their recorded memo shows they cannot matter; with
    /// the memo that decided it. Never in `streams`.
    pub skipped: BTreeMap<StreamKey, String>,
    /// sha256 (hex) of every stream file as read, parsed or skipped.
    pub hashes: BTreeMap<StreamKey, String>,
}

impl Snapshot {
    /// The serial (0 before the first apply).
    pub fn serial(&self) -> u64 {
        self.meta.as_ref().map_or(0, |m| m.serial)
    }

    /// The lineage, if the state exists.
    pub fn lineage(&self) -> Option<&str> {
        self.meta.as_ref().map(|m| m.lineage.as_str())
    }
}

/// What one apply writes: streams (`None` deletes), images, then the meta, in that order.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    /// New content per stream; `None` removes the stream.
    pub streams: BTreeMap<StreamKey, Option<ImageStream>>,
    /// Images first recorded by this apply.
    pub images: Vec<Image>,
    /// The meta to write last, only when something else was written.
    pub meta: Option<Meta>,
    /// Memos to record with the meta, per stream that exists after the commit (streams
    /// without one are always parsed). See [`Memo`].
    pub memos: BTreeMap<StreamKey, Memo>,
}

/// An opaque digest of what one stored stream means to its reader, recorded beside the hash
/// of the file bytes it was computed from. A later [`LiveState::load_skipping`] hands the
/// memo of each file whose bytes still hash the same to the caller, who may then leave it
/// unparsed. A file edited by hand, damaged, or written by a crash half-way no longer hashes
/// the same, so its memo is never used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memo {
    /// sha256 (hex) of the stored file the memo was computed from; `None`: the file this
    /// commit writes for the stream.
    pub file: Option<String>,
    /// The memo.
    pub memo: String,
}

/// What a commit wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Stream files written or removed.
    pub streams: usize,
    /// Image files written.
    pub images: usize,
    /// Whether the meta was written.
    pub meta: bool,
}

impl Written {
    /// Whether anything at all was written.
    pub fn any(&self) -> bool {
        self.streams > 0 || self.images > 0 || self.meta
    }
}

/// Held while an apply runs; released on drop (and by the OS when the process dies).
pub struct LockGuard {
    _inner: Box<dyn Send>,
}

impl LockGuard {
    /// Wrap a backend's lock value; dropping it must release the lock.
    pub fn new(inner: Box<dyn Send>) -> Self {
        LockGuard { _inner: inner }
    }
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockGuard")
    }
}

/// A store of live state.
pub trait LiveState {
    /// Load the meta and every stream, with a digest of what was read.
    fn load(&self) -> Result<Snapshot, Error>;

    /// [`LiveState::load`], except that a stream whose file still holds the bytes a memo was
    /// recorded for, and for which `skip(key, memo)` is true, is left unparsed (listed in
    /// [`Snapshot::skipped`]). The digest is the same as a full load's. Backends without
    /// memos parse everything.
    fn load_skipping(
        &self,
        skip: &(dyn Fn(&StreamKey, &str) -> bool + Sync),
    ) -> Result<Snapshot, Error> {
        let _ = skip;
        self.load()
    }

    /// Every stream (without meta or digest).
    fn load_streams(&self) -> Result<BTreeMap<StreamKey, ImageStream>, Error> {
        Ok(self.load()?.streams)
    }

    /// The Image recorded for `digest` (`sha256:…`), if any.
    fn load_image(&self, digest: &str) -> Result<Option<Image>, Error>;

    /// Whether an Image is recorded for `digest` (one staged by this run is not yet).
    fn has_image(&self, digest: &str) -> bool;

    /// An Image the commit that follows (with `meta`) will record, handed over as soon as it
    /// is known so its file can be written while the other imports are still in flight.
    /// Nothing is durable, nor counted, until [`LiveState::commit`] records it; a store that
    /// cannot write ahead ignores it.
    fn stage_image(&self, meta: &Meta, image: &Image) {
        let _ = (meta, image);
    }

    /// Take the apply lock, waiting up to `timeout` for another holder to finish.
    fn lock(&self, timeout: Duration) -> Result<LockGuard, Error>;

    /// Write a commit; unchanged content is not rewritten.
    fn commit(&self, commit: &Commit) -> Result<Written, Error>;

    /// Where the state lives, for messages.
    fn describe(&self) -> String;
}
