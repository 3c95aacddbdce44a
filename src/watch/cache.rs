//! The definition files `watch` parsed, kept between rounds by content hash: a round re-reads
//! every file (the content, not its time stamp, decides) and parses only those whose bytes
//! changed, then validates the whole set as a fresh load does, so the result is the one
//! [`Workspace::load_definitions`] gives. A config change empties the cache (parsing depends
//! on it); anything it cannot read falls back to the full load, whose error is the same.

use std::collections::HashMap;

use anyhow::Result;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::definition::{self, Definition, Loaded, source};
use crate::diagnostic::Diagnostic;
use crate::ops::Workspace;

type Parsed = (Vec<Definition>, Vec<Diagnostic>);

/// Parsed definition files by path, each with the hash of the bytes it was parsed from.
#[derive(Default)]
pub struct Cache {
    config: Option<[u8; 32]>,
    files: HashMap<String, ([u8; 32], Parsed)>,
    /// Files parsed by the last [`Cache::load`] (the others came from the cache).
    pub parsed: usize,
    /// Whether the last [`Cache::load`] was a full load.
    pub full: bool,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Cache {
    /// The working tree's definitions, as [`Workspace::load_definitions`] loads them.
    pub fn load(&mut self, ws: &Workspace) -> Result<Loaded> {
        match self.incremental(ws) {
            Some(loaded) => Ok(loaded),
            None => {
                self.files.clear();
                self.full = true;
                ws.load_definitions(None)
            }
        }
    }

    fn incremental(&mut self, ws: &Workspace) -> Option<Loaded> {
        let (config, policies, mut diags) = ws.load_settings();
        let config_digest = digest(&std::fs::read(&ws.config_path).unwrap_or_default());
        if self.config != Some(config_digest) {
            self.files.clear();
            self.config = Some(config_digest);
        }
        if !ws.root.join(source::DEFINITIONS_DIR).is_dir() {
            return None;
        }
        let paths = source::list_worktree(&ws.root).ok()?;
        let files = paths
            .par_iter()
            .map(|rel| source::read_worktree_file(&ws.root, rel).ok())
            .collect::<Option<Vec<_>>>()?;
        let cached = &self.files;
        let parsed: Vec<(String, [u8; 32], Parsed, bool)> = files
            .par_iter()
            .map(|file| {
                let hash = digest(&file.bytes);
                match cached.get(&file.path) {
                    Some((h, parsed)) if *h == hash => {
                        (file.path.clone(), hash, parsed.clone(), false)
                    }
                    _ => (
                        file.path.clone(),
                        hash,
                        definition::parse_file(file, &config),
                        true,
                    ),
                }
            })
            .collect();
        self.parsed = parsed.iter().filter(|p| p.3).count();
        self.full = self.parsed == parsed.len();
        let mut in_order = Vec::with_capacity(parsed.len());
        self.files.clear();
        for (path, hash, result, _) in parsed {
            in_order.push(result.clone());
            self.files.insert(path, (hash, result));
        }
        let mut loaded = definition::load_parsed(in_order, &config, &policies);
        diags.append(&mut loaded.diagnostics);
        crate::diagnostic::sort(&mut diags);
        loaded.diagnostics = diags;
        Some(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, image: &str) -> String {
        format!(
            "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\nspec:\n  tags:\n  - name: latest\n    from:\n      kind: DockerImage\n      name: {image}\n"
        )
    }

    fn same(cache: &mut Cache, ws: &Workspace) {
        let incremental = cache.load(ws).unwrap();
        let fresh = ws.load_definitions(None).unwrap();
        assert_eq!(incremental.set, fresh.set);
        assert_eq!(incremental.diagnostics, fresh.diagnostics);
        assert_eq!(incremental.files, fresh.files);
    }

    #[test]
    fn parses_only_changed_files_and_loads_what_a_fresh_load_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        for name in ["a", "b", "c"] {
            write(
                &format!("definitions/demo/{name}.yaml"),
                &stream(name, "quay.io/x/y:1"),
            );
        }
        let ws = Workspace::new(root);
        let mut cache = Cache::default();
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 3);
        // Unchanged: nothing parsed. A time stamp alone changes nothing.
        write("definitions/demo/a.yaml", &stream("a", "quay.io/x/y:1"));
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 0);
        // One edit, one parse; a duplicate stream across files is still found.
        write("definitions/demo/b.yaml", &stream("a", "quay.io/x/y:2"));
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 1);
        assert!(ws.load_definitions(None).unwrap().has_errors());
        // A broken file, then fixed.
        write("definitions/demo/b.yaml", "kind: [");
        same(&mut cache, &ws);
        write("definitions/demo/b.yaml", &stream("b", "quay.io/x/y:2"));
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 1);
        // A deletion.
        std::fs::remove_file(root.join("definitions/demo/c.yaml")).unwrap();
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 0);
        // A config change: everything again.
        write("streamsync.toml", "default_namespace = \"other\"\n");
        same(&mut cache, &ws);
        assert_eq!(cache.parsed, 2);
        assert!(cache.full);
    }
}
