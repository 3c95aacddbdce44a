//! Resolves the global options into one [`Context`]: the repository root, the config, the
//! state folder and "now". The only place where flags, files and the environment merge.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use super::GlobalArgs;
use crate::diagnostic::Diagnostic;
use crate::error::Hinted;
use crate::policy::{self, Config, Policies};

/// Everything a command needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository root.
    pub root: PathBuf,
    /// The config file (may not exist).
    pub config_path: PathBuf,
    /// The state folder.
    pub state_dir: PathBuf,
    /// "Now" (fixed by `--now` / `STREAMSYNC_NOW` in tests).
    pub now: DateTime<Utc>,
    /// The global options as given.
    pub global: GlobalArgs,
    /// Whether the root was found or given (false: no folder upward looked like a repository,
    /// and the current folder stands in).
    pub root_found: bool,
}

impl Context {
    /// Resolve the root (`-C`, else the first folder upward with `streamsync.toml`,
    /// `definitions/` or `.git`, else the current folder).
    pub fn resolve(global: &GlobalArgs) -> Result<Context> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        let root = match &global.repo {
            Some(dir) => {
                let dir = cwd.join(dir);
                if !dir.is_dir() {
                    return Err(Hinted::new(
                        format!("repository folder `{}` does not exist", dir.display()),
                        "pass an existing folder to -C/--repo",
                    )
                    .into());
                }
                dir
            }
            None => find_root(&cwd).unwrap_or_else(|| cwd.clone()),
        };
        let root_found = global.repo.is_some() || find_root(&cwd).is_some();
        let config_path = global
            .config
            .as_ref()
            .map_or_else(|| root.join("streamsync.toml"), |c| cwd.join(c));
        let state_dir = global
            .state
            .as_ref()
            .map_or_else(|| root.join("state"), |s| cwd.join(s));
        let now = match &global.now {
            Some(text) => parse_now(text)?,
            None => Utc::now(),
        };
        Ok(Context {
            root,
            config_path,
            state_dir,
            now,
            global: global.clone(),
            root_found,
        })
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

    /// Load the config; a broken config is a located diagnostic.
    pub fn load_config(&self) -> Result<Config, Box<Diagnostic>> {
        if self.global.config.is_some() && !self.config_path.exists() {
            return Err(Box::new(Diagnostic::error(
                self.config_display(),
                0,
                0,
                "io",
                "config file does not exist",
            )));
        }
        policy::load_config(&self.config_path, &self.config_display())
    }

    /// Load config and policies together, collecting every problem.
    pub fn load_settings(&self) -> (Config, Policies, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let config = self.load_config().unwrap_or_else(|d| {
            diags.push(*d);
            Config::default()
        });
        let (policies, pdiags) = policy::load_policies(&self.root);
        diags.extend(pdiags);
        (config, policies, diags)
    }
}

fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            dir.join("streamsync.toml").is_file()
                || dir.join("definitions").is_dir()
                || dir.join(".git").exists()
        })
        .map(Path::to_path_buf)
}

/// `2026-01-01`, `2026-01-01T12:00:00Z` or any RFC 3339 time.
pub fn parse_now(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(Hinted::new(
        format!("invalid --now / STREAMSYNC_NOW value `{text}`"),
        "use a date like 2026-01-01 or an RFC 3339 time",
    )
    .into())
}

/// Parse a duration like `0s`, `30s`, `15m`, `2h`, `7d`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration> {
    crate::util::parse_duration(text).ok_or_else(|| {
        Hinted::new(
            format!("invalid duration `{text}`"),
            "use a number with a unit, e.g. 30s, 15m, 2h or 7d",
        )
        .into()
    })
}
