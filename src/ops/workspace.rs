//! The [`Workspace`]: where an operation runs (repository root, config file, state folder,
//! "now") and the shared steps every operation takes from there, each in one place: loading
//! config, policies and definitions with their diagnostics, opening and locking the state,
//! building the registry client, and the digest a saved plan records. It is built from
//! explicit values, so a test or an embedding program needs no command line; it reads files
//! and never writes to a terminal.
//!
//! Inputs are read once: the config and the policies are loaded the first time an operation
//! asks for them and kept, with their diagnostics, in the workspace's [`Settings`]; every
//! later step (definitions, trigger check, saved-plan digest) uses that value. A config that
//! does not parse stays an error ([`Workspace::config`]); it is never replaced by defaults.
//! A new round of a long-running command (`watch`, `sync`) starts from
//! [`Workspace::fresh`], which reads the files again.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use crate::definition::{self, Loaded, SourceError};
use crate::diagnostic::Diagnostic;
use crate::error::Hinted;
use crate::model::{Cluster, ImageStream};
use crate::policy::{self, Config, Policies};
use crate::registry::RegistryClient;
use crate::rollout;
use crate::state::{self, LiveState as _, LockGuard, dir::DirState};

/// Where an operation runs.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The repository root.
    pub root: PathBuf,
    /// The config file (may not exist).
    pub config_path: PathBuf,
    /// Whether the config file was named explicitly (then it must exist).
    pub config_given: bool,
    /// The state folder.
    pub state_dir: PathBuf,
    /// "Now", for ages, timestamps and import events.
    pub now: DateTime<Utc>,
    /// Whether the root was found or given (false: no folder upward looked like a repository,
    /// and the current folder stands in); only changes the wording of a missing-folder error.
    pub root_found: bool,
    /// The config and policies, read on first use and kept for the rest of the command.
    settings: Arc<OnceLock<Settings>>,
}

/// What [`Workspace::check_triggers`] found in the repository's manifests.
#[derive(Debug, Clone, Default)]
pub struct Triggers {
    /// The triggers and build outputs, judged against the definitions.
    pub scan: rollout::Scan,
    /// The manifests' problems: unreadable files, trigger errors and warnings. A manifest
    /// problem never stops the image streams nor the other manifests from rolling, so an
    /// operation runs on and carries them in its report; an error among them fails the
    /// command that shows them.
    pub problems: Vec<Diagnostic>,
}

impl Triggers {
    /// The triggers of `manifests`, judged against the definitions `set` (which streams the
    /// repository manages, which tags exist), with the manifests' problems.
    pub fn judged(
        manifests: &[rollout::Manifest],
        set: &crate::definition::DefinitionSet,
        config: &Config,
    ) -> Triggers {
        let mut scan = rollout::scan(manifests);
        let problems = rollout::validate(&scan, set, &config.default_namespace);
        rollout::mark_managed(&mut scan, set, &config.default_namespace);
        Triggers { scan, problems }
    }
}

/// The config and the policies as read once for a workspace, with their diagnostics.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config, or the located diagnostic that says why it cannot be used.
    pub config: Result<Config, Box<Diagnostic>>,
    /// The policies merged from `policies/*.toml`.
    pub policies: Policies,
    /// Every problem found reading them (the config's error among them), sorted.
    pub diagnostics: Vec<Diagnostic>,
}

impl Workspace {
    /// The repository at `root` with the defaults: `<root>/streamsync.toml`, `<root>/state`,
    /// the current time.
    pub fn new(root: impl Into<PathBuf>) -> Workspace {
        let root = root.into();
        Workspace {
            config_path: root.join("streamsync.toml"),
            config_given: false,
            state_dir: root.join("state"),
            now: Utc::now(),
            root_found: true,
            settings: Arc::default(),
            root,
        }
    }

    /// Read the config from `path`, which must exist.
    pub fn with_config(mut self, path: impl Into<PathBuf>) -> Workspace {
        self.config_path = path.into();
        self.config_given = true;
        self.settings = Arc::default();
        self
    }

    /// The same workspace with nothing loaded yet: the next step reads the config, policies
    /// and manifests again (a new `watch` or `sync` round).
    pub fn fresh(&self) -> Workspace {
        Workspace {
            settings: Arc::default(),
            ..self.clone()
        }
    }

    /// The config and policies, read the first time and kept.
    pub fn settings(&self) -> &Settings {
        self.settings.get_or_init(|| {
            let config = self.read_config();
            let (policies, mut diagnostics) = policy::load_policies(&self.root);
            if let Err(d) = &config {
                diagnostics.insert(0, (**d).clone());
            }
            Settings {
                config,
                policies,
                diagnostics,
            }
        })
    }

    /// The config; one that cannot be read or parsed is an error that names the file, line
    /// and column (never the defaults in its place).
    pub fn config(&self) -> Result<&Config> {
        self.settings().config.as_ref().map_err(|d| {
            let place = match (d.line, d.column) {
                (0, _) => d.file.clone(),
                (line, 0) => format!("{}:{line}", d.file),
                (line, column) => format!("{}:{line}:{column}", d.file),
            };
            let message = format!("{place}: {}", d.message);
            anyhow::Error::from(match &d.hint {
                Some(hint) => Hinted::new(message, hint.clone()),
                None => Hinted::new(
                    message,
                    format!(
                        "fix {}; nothing was read with defaults in its place",
                        d.file
                    ),
                ),
            })
        })
    }

    /// Keep the live state in `dir`.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Workspace {
        self.state_dir = dir.into();
        self
    }

    /// Fix "now".
    pub fn with_now(mut self, now: DateTime<Utc>) -> Workspace {
        self.now = now;
        self
    }

    /// "Now" as import events record it.
    pub fn now_text(&self) -> String {
        self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// The config file's name as shown in diagnostics.
    pub fn config_display(&self) -> String {
        self.display_path(&self.config_path)
    }

    /// `path` relative to the root when inside it, with `/` separators.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// The config (read once, see [`Workspace::settings`]); a broken config is a located
    /// diagnostic.
    pub fn load_config(&self) -> Result<Config, Box<Diagnostic>> {
        self.settings().config.clone()
    }

    /// Read the config file.
    fn read_config(&self) -> Result<Config, Box<Diagnostic>> {
        if self.config_given && !self.config_path.exists() {
            return Err(Box::new(Diagnostic::error(
                self.config_display(),
                0,
                0,
                "io",
                "config file does not exist",
            )));
        }
        // The repository's own config, when a link, must stay in the repository: a pull
        // request could otherwise point it at any file of the machine running the check.
        // (`--config FILE` names its file on purpose and is read wherever it is.)
        if !self.config_given
            && std::fs::symlink_metadata(&self.config_path).is_ok_and(|m| m.is_symlink())
        {
            let root = self
                .root
                .canonicalize()
                .unwrap_or_else(|_| self.root.clone());
            let inside = self
                .config_path
                .canonicalize()
                .is_ok_and(|t| t.starts_with(&root) && t.is_file());
            if !inside {
                return Err(Box::new(Diagnostic::error(
                    self.config_display(),
                    0,
                    0,
                    "io",
                    "is a symbolic link leading outside the repository (or nowhere), so it is not read",
                )));
            }
        }
        policy::load_config(&self.config_path, &self.config_display())
    }

    /// Config and policies together with every problem (read once, see
    /// [`Workspace::settings`]). A config that cannot be used is among the diagnostics, as an
    /// error that stops the operation; the config returned then is the default, so that the
    /// definitions can still be checked and every problem reported at once.
    pub fn load_settings(&self) -> (Config, Policies, Vec<Diagnostic>) {
        let s = self.settings();
        (
            s.config.clone().unwrap_or_default(),
            s.policies.clone(),
            s.diagnostics.clone(),
        )
    }

    /// Load config, policies and definitions (the working tree, or Git revision `rev`) with
    /// every diagnostic.
    pub fn load_definitions(&self, rev: Option<&str>) -> Result<Loaded> {
        self.load_source(rev).map_err(|e| self.source_error(e))
    }

    /// [`Workspace::load_definitions`], with the source's own error for callers that treat
    /// some as normal.
    pub fn load_source(&self, rev: Option<&str>) -> Result<Loaded, SourceError> {
        let (config, policies, mut diags) = self.load_settings();
        let source = match rev {
            Some(rev) => definition::Source::Rev {
                root: self.root.clone(),
                rev: rev.to_owned(),
            },
            None => definition::Source::WorkTree {
                root: self.root.clone(),
            },
        };
        let mut loaded = definition::load(&source, &config, &policies)?;
        diags.append(&mut loaded.diagnostics);
        crate::diagnostic::sort(&mut diags);
        loaded.diagnostics = diags;
        Ok(loaded)
    }

    /// Scan the repository's manifests for image-change triggers (the working tree, or Git
    /// revision `rev`) and judge them against `loaded`'s definitions (which streams the
    /// repository manages, which tags exist). The manifests' problems come back with the
    /// scan ([`Triggers::problems`]): they never stop an operation on the streams, which
    /// carries them in its report for the caller to show.
    pub fn check_triggers(&self, loaded: &Loaded, rev: Option<&str>) -> Result<Triggers> {
        let Ok(config) = &self.settings().config else {
            // The config's error is already among `loaded`'s diagnostics and stops the
            // operation; without a config there are no `[rollout] paths` to scan.
            return Ok(Triggers::default());
        };
        Ok(Triggers::judged(
            &self.manifests(config, rev)?,
            &loaded.set,
            config,
        ))
    }

    /// The repository's workload manifests (the working tree's, or those at Git revision
    /// `rev`) as `[rollout] paths` selects them: what roll-outs, prune's protection and the
    /// catalog read triggers from.
    pub fn manifests(&self, config: &Config, rev: Option<&str>) -> Result<Vec<rollout::Manifest>> {
        Ok(match rev {
            Some(rev) => rollout::manifests_at_rev(&self.root, rev, &config.rollout)
                .with_context(|| format!("cannot read the manifests at `{rev}`"))?,
            None => rollout::find_manifests(&self.root, &self.state_dir, &config.rollout).map_err(
                |e| match e {
                    rollout::FindError::Glob { .. } => anyhow::Error::from(Hinted::new(
                        e.to_string(),
                        format!("fix `[rollout] paths` in {}", self.config_display()),
                    )),
                    other => anyhow::Error::from(other),
                },
            )?,
        })
    }

    /// A definitions source that cannot be read, with the hint that fixes it.
    pub fn source_error(&self, e: SourceError) -> anyhow::Error {
        match &e {
            SourceError::MissingDir { at, .. } if at.is_empty() && !self.root_found => Hinted::new(
                format!(
                    "not inside a streamsync repository: neither `{}` nor a folder above it holds \
                         streamsync.toml, definitions/ or .git",
                    self.root.display()
                ),
                "run streamsync inside the repository, or pass -C/--repo DIR",
            )
            .into(),
            SourceError::MissingDir { at, .. } if at.is_empty() => Hinted::new(
                format!("{e} in `{}`", self.root.display()),
                "keep ImageStream files in definitions/<namespace>/*.yaml at the repository root, \
                 or pass -C/--repo to point at the repository",
            )
            .into(),
            SourceError::MissingDir { .. } => Hinted::new(
                e.to_string(),
                "check the revision and the folder's name in it",
            )
            .into(),
            SourceError::NoSuchRev { .. } => Hinted::new(
                e.to_string(),
                "name a branch, tag or commit of the repository (`git branch -a` lists them)",
            )
            .into(),
            SourceError::NotACommit { .. } => Hinted::new(
                e.to_string(),
                "--rev takes a commit: a branch, a tag or a commit id",
            )
            .into(),
            _ => e.into(),
        }
    }

    /// `sha256:…` over everything a plan is made from: the normalised definitions, the prune
    /// option, the config, the policies and the roll-out manifests (at `rev`, or the working
    /// tree's). A saved plan records it; applying the plan refuses it when it changed. The
    /// saved plan's own file (`plan_file`), when it lies in the repository, is not an input.
    pub fn inputs_digest(
        &self,
        desired: &[&ImageStream],
        options: &crate::plan::Options,
        rev: Option<&str>,
        plan_file: Option<&Path>,
    ) -> Result<String> {
        use sha2::Digest as _;
        let settings = self.settings();
        let config = settings.config.as_ref().ok();
        let policies = &settings.policies;
        let mut hasher = sha2::Sha256::new();
        hasher.update(crate::plan::inputs_digest(desired.iter().copied(), options));
        hasher.update(b"\n");
        hasher.update(serde_json::to_vec(&config).unwrap_or_default());
        hasher.update(b"\n");
        // Policies are plain data (rules, patterns, numbers) whose Debug form is deterministic.
        hasher.update(format!("{policies:?}"));
        // Every manifest roll-outs read, by path and bytes (length-prefixed, so no two lists
        // hash alike), and why one could not be read.
        // A file's place, for a file that may not exist yet: its folder resolved, then its name.
        let place = |p: &Path| -> Option<PathBuf> {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Some(parent.canonicalize().ok()?.join(p.file_name()?))
        };
        let own = plan_file.and_then(place);
        // A config that cannot be read stops the command before a plan is made or applied;
        // its manifests are hashed as the defaults list them all the same.
        let fallback = Config::default();
        for m in self.manifests(config.unwrap_or(&fallback), rev)? {
            if rev.is_none() && own.is_some() && place(&self.root.join(&m.path)) == own {
                continue;
            }
            for part in [
                m.path.as_str(),
                m.text.as_str(),
                m.unreadable.as_deref().unwrap_or(""),
            ] {
                hasher.update((part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
        }
        Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
    }

    /// The live-state store.
    pub fn state(&self) -> Result<DirState> {
        Ok(DirState::open(&self.state_dir)?)
    }

    /// The registry client of one run: the one place that builds it. An auth file or CA file
    /// that cannot be used is an error.
    pub fn registry(&self, config: &Config, registry_config: Option<&Path>) -> Result<Registry> {
        let done = Arc::new(AtomicU64::new(0));
        let client = RegistryClient::new(&config.registry, &self.root, registry_config)
            .map_err(|e| {
                anyhow::Error::from(Hinted::new(
                    e.to_string(),
                    "fix the file, or point --registry-config / [registry] in streamsync.toml \
                     at a usable one",
                ))
            })?
            .with_progress(Arc::clone(&done));
        Ok(Registry {
            client,
            done,
            started: Instant::now(),
            cluster: config.cluster.clone(),
        })
    }
}

/// The registry client of one run, with what progress and summaries need.
pub struct Registry {
    /// The client: one per run, every pass sent as one `resolve_all`.
    pub client: RegistryClient,
    /// Resolutions finished so far (a progress display polls it).
    pub done: Arc<AtomicU64>,
    /// When the run started asking (for the summary line).
    pub started: Instant,
    /// The cluster's integrated registry (`[cluster]`), which the state's streams point at.
    pub cluster: Cluster,
}

/// Take the state lock, waiting up to `timeout`; a lock held by another run is an error that
/// says how to wait for it.
pub fn lock(state: &DirState, timeout: Duration) -> Result<LockGuard> {
    state.lock(timeout).map_err(|e| match e {
        state::Error::Locked { holder } => crate::error::Actionable::Locked { holder }.into(),
        other => anyhow::Error::from(other),
    })
}
