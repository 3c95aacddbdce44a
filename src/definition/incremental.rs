//! Definitions loaded once and kept up to date file by file: what a fresh load gives, built
//! from the parsed files (every load goes through here), and, for a caller that keeps it
//! between rounds (`watch`), updated with only the files that changed. An update checks again
//! only the streams an edit can affect: those whose definition changed, and those that name
//! one of them as a source (or name a stream in a namespace whose list of streams changed,
//! since a "did you mean" hint reads that list). The result is the one a fresh load of the same
//! files gives; what an update cannot keep exact (a stream defined twice, before or after the
//! edit) it refuses, and the caller loads afresh.

use std::collections::{BTreeMap, BTreeSet};

use super::validate;
use super::{Definition, DefinitionSet, Loaded};
use crate::diagnostic::{self, Diagnostic};
use crate::model::StreamKey;
use crate::policy::{Config, Policies};

/// One file as [`super::parse_file`] parsed it: its definitions and its own diagnostics.
pub type Parsed = (Vec<Definition>, Vec<Diagnostic>);

/// The definitions of every file, validated, with what an update needs to stay exact.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Each file's streams (in the file's order) and its own diagnostics, by path.
    files: BTreeMap<String, FileStreams>,
    /// The definitions.
    set: DefinitionSet,
    /// Problems found gathering the set: streams defined twice.
    duplicates: Vec<Diagnostic>,
    /// What the check of each stream found.
    checked: BTreeMap<StreamKey, Vec<Diagnostic>>,
    /// The other streams each stream names as a source (only streams that name one).
    sources: BTreeMap<StreamKey, Vec<StreamKey>>,
    /// Diagnostics from outside the definitions (the config's, the policies'), kept in.
    extra: Vec<Diagnostic>,
}

#[derive(Debug, Default)]
struct FileStreams {
    keys: Vec<StreamKey>,
    diagnostics: Vec<Diagnostic>,
}

/// What an update changed.
#[derive(Debug, Default)]
pub struct Updated {
    /// Streams defined differently (or no longer, or newly), sorted.
    pub changed: BTreeSet<StreamKey>,
    /// How many streams were checked again.
    pub checked: usize,
}

/// A diagnostic `[lint] allow` does not silence.
fn kept(policies: &Policies, d: &Diagnostic) -> bool {
    d.is_error() || !policies.lint.allow.iter().any(|a| a == d.code)
}

impl Tracker {
    /// Gather the files parsed (in path order) into a set, then validate it; `extra` joins
    /// the diagnostics.
    pub fn new(
        parsed: Vec<(String, Parsed)>,
        config: &Config,
        policies: &Policies,
        extra: Vec<Diagnostic>,
    ) -> Tracker {
        let mut tracker = Tracker {
            extra,
            ..Tracker::default()
        };
        for (path, (defs, diags)) in parsed {
            let mut file = FileStreams {
                keys: Vec::new(),
                diagnostics: diags.into_iter().filter(|d| kept(policies, d)).collect(),
            };
            for def in defs {
                let key = def.stream.key();
                if let Some(first) = tracker.set.streams.get(&key) {
                    tracker.duplicates.push(duplicate(&def, first));
                    continue;
                }
                file.keys.push(key.clone());
                tracker.set.streams.insert(key, def);
            }
            tracker.files.insert(path, file);
        }
        let all: Vec<StreamKey> = tracker.set.streams.keys().cloned().collect();
        tracker.check(&all, config, policies);
        tracker
    }

    /// The definitions.
    pub fn set(&self) -> &DefinitionSet {
        &self.set
    }

    /// Whether a diagnostic is an error (without gathering them).
    pub fn has_errors(&self) -> bool {
        self.extra
            .iter()
            .chain(self.files.values().flat_map(|f| &f.diagnostics))
            .chain(&self.duplicates)
            .chain(self.checked.values().flatten())
            .any(Diagnostic::is_error)
    }

    /// Every diagnostic in the order a fresh load finds them, then sorted.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self.extra.clone();
        all.extend(
            self.files
                .values()
                .flat_map(|f| f.diagnostics.iter().cloned()),
        );
        all.extend(self.duplicates.iter().cloned());
        all.extend(self.checked.values().flatten().cloned());
        diagnostic::sort(&mut all);
        all
    }

    /// The definitions and every diagnostic, as a fresh load gives them.
    pub fn into_loaded(self) -> Loaded {
        Loaded {
            diagnostics: self.diagnostics(),
            files: self.files.len(),
            set: self.set,
        }
    }

    /// The other streams each stream names as a source (streams that name none are left out).
    pub fn sources(&self) -> &BTreeMap<StreamKey, Vec<StreamKey>> {
        &self.sources
    }

    /// Replace the files `changes` names (`None`: the file is gone) and check again what they
    /// can affect. `None` when the result could not be kept exact (a stream defined twice,
    /// now or before): the tracker is then spent and the caller loads afresh.
    pub fn update(
        &mut self,
        changes: Vec<(String, Option<Parsed>)>,
        config: &Config,
        policies: &Policies,
    ) -> Option<Updated> {
        if !self.duplicates.is_empty() {
            return None;
        }
        let streams = &mut self.set.streams;
        let mut before: BTreeMap<StreamKey, Definition> = BTreeMap::new();
        for (path, _) in &changes {
            if let Some(file) = self.files.remove(path) {
                for key in file.keys {
                    if let Some(def) = streams.remove(&key) {
                        before.insert(key, def);
                    }
                }
            }
        }
        let mut added = Vec::new();
        for (path, parsed) in changes {
            let Some((defs, diags)) = parsed else {
                continue;
            };
            let mut file = FileStreams {
                keys: Vec::new(),
                diagnostics: diags.into_iter().filter(|d| kept(policies, d)).collect(),
            };
            for def in defs {
                let key = def.stream.key();
                if streams.contains_key(&key) {
                    return None;
                }
                file.keys.push(key.clone());
                if !before.contains_key(&key) {
                    added.push(key.clone());
                }
                streams.insert(key, def);
            }
            self.files.insert(path, file);
        }
        let changed: BTreeSet<StreamKey> = before
            .iter()
            .filter(|(key, def)| streams.get(*key) != Some(*def))
            .map(|(key, _)| key.clone())
            .chain(added)
            .collect();
        // Namespaces that gained or lost a stream: a check that did not find its source there
        // names the closest of their streams.
        let renamed: BTreeSet<&str> = changed
            .iter()
            .filter(|k| before.contains_key(*k) != streams.contains_key(*k))
            .map(|k| k.namespace.as_str())
            .collect();
        let mut again: BTreeSet<StreamKey> = changed
            .iter()
            .filter(|k| streams.contains_key(*k))
            .cloned()
            .collect();
        for (key, names) in &self.sources {
            let affected = names.iter().any(|n| {
                changed.contains(n)
                    || (renamed.contains(n.namespace.as_str()) && !streams.contains_key(n))
            });
            if affected && streams.contains_key(key) {
                again.insert(key.clone());
            }
        }
        for key in changed.iter().filter(|k| !streams.contains_key(*k)) {
            self.checked.remove(key);
            self.sources.remove(key);
        }
        let again: Vec<StreamKey> = again.into_iter().collect();
        self.check(&again, config, policies);
        Some(Updated {
            checked: again.len(),
            changed,
        })
    }

    /// Check the streams `keys` names (all in the set) and keep what each found.
    fn check(&mut self, keys: &[StreamKey], config: &Config, policies: &Policies) {
        let set: &DefinitionSet = &self.set;
        for (key, diags) in validate::validate_each(set, keys, config, policies) {
            let names = validate::sources(&set.streams[&key].stream);
            if names.is_empty() {
                self.sources.remove(&key);
            } else {
                self.sources.insert(key.clone(), names);
            }
            self.checked.insert(key, diags);
        }
    }
}

/// The error for `def`, a second definition of the stream `first` defines.
fn duplicate(def: &Definition, first: &Definition) -> Diagnostic {
    let key = def.stream.key();
    Diagnostic::error(
        &def.file,
        def.pos.line,
        def.pos.column,
        "duplicate-stream",
        format!("stream `{key}` is defined twice"),
    )
    .with_hint(format!(
        "it is first defined at {}:{}:{}; keep one definition",
        first.file, first.pos.line, first.pos.column
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{SourceFile, parse_file};

    /// The contents a file takes in the test: streams following each other's tags (or tags
    /// and streams that do not exist), a stream moved, one defined twice, a broken file.
    fn variant(n: u64, file: usize) -> Option<String> {
        let name = ["ruby", "python", "node", "noda", "perl", "rubyy"][file];
        let tag = |t: &str, kind: &str, from: &str| {
            format!("  - name: '{t}'\n    from:\n      kind: {kind}\n      name: {from}\n")
        };
        let head = |name: &str| {
            format!(
                "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\nspec:\n  tags:\n"
            )
        };
        let text = match n % 9 {
            0 => return None,
            1 => head(name) + &tag("1", "DockerImage", &format!("quay.io/x/{name}:1")),
            2 => {
                head(name)
                    + &tag("1", "DockerImage", &format!("quay.io/x/{name}:1"))
                    + &tag("latest", "ImageStreamTag", "ruby:1")
            }
            3 => head(name) + &tag("latest", "ImageStreamTag", "node:2"),
            4 => head(name) + &tag("2", "DockerImage", "quay.io/x/n:2"),
            5 => head(name) + &tag("latest", "ImageStreamTag", "nod:1"),
            6 => head("ruby") + &tag("1", "DockerImage", "quay.io/x/dup:1"),
            7 => "kind: ImageStream\nmetadata: [unclosed\n".to_owned(),
            _ => {
                head(name)
                    + &tag(
                        "x",
                        "ImageStreamImage",
                        "python@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                    )
                    + &tag("bad name!", "DockerImage", "quay.io/x/y:1")
            }
        };
        Some(text)
    }

    fn parse(path: &str, text: &str) -> Parsed {
        let file = SourceFile {
            path: path.to_owned(),
            bytes: text.as_bytes().to_vec(),
        };
        parse_file(&file, &Config::default())
    }

    fn fresh(files: &BTreeMap<String, String>) -> Loaded {
        let parsed = files
            .iter()
            .map(|(p, t)| (p.clone(), parse(p, t)))
            .collect();
        Tracker::new(parsed, &Config::default(), &Policies::default(), Vec::new()).into_loaded()
    }

    #[test]
    fn updates_give_what_a_fresh_load_gives() {
        let (config, policies) = (Config::default(), Policies::default());
        let mut seed: u64 = 0x5eed;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut tracker: Option<Tracker> = None;
        let mut kept = 0;
        for _ in 0..2_000 {
            // One to three files change at once; some move to the other namespace.
            let mut touched = BTreeSet::new();
            for _ in 0..1 + next() % 3 {
                let file = (next() % 6) as usize;
                let ns = if next() % 4 == 0 { "b" } else { "a" };
                let path = format!("definitions/{ns}/f{file}.yaml");
                match variant(next(), file) {
                    Some(text) => files.insert(path.clone(), text),
                    None => files.remove(&path),
                };
                touched.insert(path);
            }
            let changes: Vec<(String, Option<Parsed>)> = touched
                .into_iter()
                .map(|p| {
                    let parsed = files.get(&p).map(|t| parse(&p, t));
                    (p, parsed)
                })
                .collect();
            let expected = fresh(&files);
            let updated = tracker
                .as_mut()
                .and_then(|t| t.update(changes, &config, &policies));
            if updated.is_some() {
                kept += 1;
                let t = tracker.as_ref().unwrap();
                assert_eq!(t.set(), &expected.set);
                assert_eq!(t.diagnostics(), expected.diagnostics);
                assert_eq!(t.has_errors(), expected.has_errors());
            } else {
                let parsed = files
                    .iter()
                    .map(|(p, t)| (p.clone(), parse(p, t)))
                    .collect();
                tracker = Some(Tracker::new(parsed, &config, &policies, Vec::new()));
            }
        }
        assert!(kept > 500, "only {kept} updates were kept");
    }
}
