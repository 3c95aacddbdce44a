//! What a run verified on the mirror, kept in `<state>/mirror.toml` so that the next run
//! need not ask again: per source image (`registry/repository@digest`), its mirror
//! repository, the tags set there, the cosign tags and referrer digests copied along, and
//! when the mirror last answered for it. An image whose entry matches (same mirror
//! repository, same tags) and was verified within `[mirror] verify_interval` is not asked
//! about, on the mirror or on the source. A record written for another `[mirror] registry`
//! is ignored whole. Only reads and writes that one file (atomically); decides nothing
//! about what to copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The record's file name, in the state folder.
pub const FILE: &str = "mirror.toml";

/// One source image as last verified on the mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The mirror repository (`HOST[:PORT][/PREFIX]/<path>`).
    pub mirror: String,
    /// The tags set on the mirror.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// Cosign tags copied along.
    #[serde(default)]
    pub signatures: Vec<String>,
    /// Referrer digests copied along.
    #[serde(default)]
    pub referrers: Vec<String>,
    /// When the mirror last answered for it.
    pub verified: DateTime<Utc>,
}

/// The whole record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// `[mirror] registry` it was written for.
    #[serde(default)]
    pub registry: String,
    /// Per `registry/repository@digest`.
    #[serde(default)]
    pub images: BTreeMap<String, Entry>,
}

impl Record {
    /// The record for `registry` in `state_dir`: empty when there is none, when it was
    /// written for another registry, or when it cannot be read (it is only a cache: the
    /// worst a lost record costs is asking the mirror again).
    pub fn load(state_dir: &Path, registry: &str) -> Record {
        let empty = Record {
            registry: registry.to_owned(),
            images: BTreeMap::new(),
        };
        let Ok(text) = fs_err::read_to_string(path(state_dir)) else {
            return empty;
        };
        match toml::from_str::<Record>(&text) {
            Ok(r) if r.registry == registry => r,
            _ => empty,
        }
    }

    /// The entry of `source` when it still holds at `now` for `mirror` and `tags`.
    pub fn fresh(
        &self,
        source: &str,
        mirror: &str,
        tags: &BTreeSet<String>,
        now: DateTime<Utc>,
        interval_secs: i64,
    ) -> Option<&Entry> {
        let e = self.images.get(source)?;
        let age = now.timestamp().checked_sub(e.verified.timestamp())?;
        (e.mirror == mirror && &e.tags == tags && (0..interval_secs).contains(&age)).then_some(e)
    }

    /// The TOML text.
    pub fn render(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# What `streamsync mirror` verified on the mirror (see the README, Mirror); a cache:\n# deleting it makes the next run ask the mirror about every image.\n{body}"
        )
    }

    /// Write the record into `state_dir` through a rename, when its text changed. Returns
    /// whether it wrote.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<bool> {
        use std::io::Write as _;
        let target = path(state_dir);
        let text = self.render();
        if fs_err::read_to_string(&target).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-mirror-")
            .tempfile_in(state_dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        file.write_all(text.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(&target).map_err(|e| e.error)?;
        Ok(true)
    }
}

/// The record's path in `state_dir`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn entry(verified: i64) -> Entry {
        Entry {
            mirror: "m:5000/org/app".into(),
            tags: ["v1".to_owned()].into(),
            signatures: vec![],
            referrers: vec![],
            verified: at(verified),
        }
    }

    #[test]
    fn fresh_only_within_the_interval_and_for_the_same_mirror_and_tags() {
        let mut r = Record {
            registry: "m:5000".into(),
            images: BTreeMap::new(),
        };
        r.images.insert("q/org/app@sha256:a".into(), entry(1000));
        let tags: BTreeSet<String> = ["v1".to_owned()].into();
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &tags, at(1000), 60)
                .is_some()
        );
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &tags, at(1059), 60)
                .is_some()
        );
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &tags, at(1060), 60)
                .is_none()
        );
        // A clock that went back does not make an entry fresh.
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &tags, at(999), 60)
                .is_none()
        );
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &tags, at(1000), 0)
                .is_none()
        );
        assert!(
            r.fresh("q/org/app@sha256:a", "n:5000/org/app", &tags, at(1000), 60)
                .is_none()
        );
        let more: BTreeSet<String> = ["v1".to_owned(), "v2".to_owned()].into();
        assert!(
            r.fresh("q/org/app@sha256:a", "m:5000/org/app", &more, at(1000), 60)
                .is_none()
        );
        assert!(
            r.fresh("q/org/app@sha256:b", "m:5000/org/app", &tags, at(1000), 60)
                .is_none()
        );
    }

    #[test]
    fn a_record_for_another_registry_or_damaged_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Record {
            registry: "m:5000".into(),
            images: BTreeMap::new(),
        };
        r.images.insert("q/org/app@sha256:a".into(), entry(1000));
        assert!(r.save(dir.path()).unwrap());
        assert!(!r.save(dir.path()).unwrap());
        assert_eq!(Record::load(dir.path(), "m:5000"), r);
        assert!(Record::load(dir.path(), "n:5000").images.is_empty());
        std::fs::write(path(dir.path()), "registry = [").unwrap();
        assert!(Record::load(dir.path(), "m:5000").images.is_empty());
    }
}
