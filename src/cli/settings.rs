//! Resolves the global options into one [`Workspace`]: the repository root, the config, the
//! state folder and "now". The only place where flags, files and the environment merge.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use super::GlobalArgs;
use crate::error::Hinted;
use crate::ops::Workspace;

/// Resolve the global options into the [`Workspace`]: the root (`-C`, else the first folder
/// upward with `streamsync.toml`, `definitions/` or `.git`, else the current folder), the
/// config file, the state folder and "now".
pub fn workspace(global: &GlobalArgs) -> Result<Workspace> {
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
    let mut ws = Workspace::new(root);
    ws.root_found = root_found;
    if let Some(config) = &global.config {
        ws = ws.with_config(cwd.join(config));
    }
    if let Some(state) = &global.state {
        ws = ws.with_state_dir(cwd.join(state));
    }
    if let Some(text) = &global.now {
        ws = ws.with_now(parse_now(text)?);
    }
    Ok(ws)
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
