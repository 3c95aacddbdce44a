//! `catalog`: the developer-catalog preview page. Gathers the definitions (working tree or a
//! revision), the live state and the prune recommendations, lets [`crate::catalog`] build
//! and render the page, and writes `index.html` in one rename; or, with [`Options::json`],
//! renders the cards as JSON and writes nothing. Asks no registry.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::{Invalid, Run, Workspace};
use crate::catalog;
use crate::prune;

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions and manifests at this Git revision instead of the working tree.
    pub rev: Option<String>,
    /// Folder to write `index.html` into (default: `<root>/catalog`).
    pub out: Option<PathBuf>,
    /// Render the cards as JSON instead of writing the page.
    pub json: bool,
}

/// What [`run`] wrote.
#[derive(Debug, Clone)]
pub struct Report {
    /// The page written; `None` with [`Options::json`].
    pub path: Option<PathBuf>,
    /// The JSON document, with [`Options::json`].
    pub json: Option<String>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Stream cards.
    pub cards: usize,
    /// Of them, the cards the console lists.
    pub in_console: usize,
    /// Versions over every card.
    pub versions: usize,
    /// Versions with a flag (stale, prune candidate, failed import…).
    pub flagged: usize,
    /// Streams left out: no builder tag.
    pub omitted: usize,
}

/// Build and write the page.
pub fn run(ws: &Workspace, options: &Options) -> Result<Run<Report>> {
    let loaded = ws.load_definitions(options.rev.as_deref())?;
    if let Some(invalid) = Invalid::of(&loaded) {
        return Ok(Run::Invalid(invalid));
    }
    let (_, policies, _) = ws.load_settings();
    let policy = policies
        .prune
        .compile()
        .context("the [prune] policy cannot be used")?;
    let state = ws.state()?;
    let live = state.load_streams()?;
    let manifests = ws.manifests(ws.config()?, options.rev.as_deref())?;
    let uses: Vec<_> = manifests
        .iter()
        .flat_map(|m| prune::triggers::scan_manifest(&m.path, &m.text).uses)
        .collect();
    let report = prune::recommend(&prune::Inputs {
        definitions: &loaded.set,
        live: &live,
        policy: &policy,
        uses: &uses,
        now: ws.now,
    });
    // An Image that cannot be read shows as unknown metadata, not as a failed page.
    let image = |digest: &str| state.load_image(digest).ok().flatten();
    let page = catalog::build(&catalog::Inputs {
        definitions: &loaded.set,
        live: &live,
        image: &image,
        prune: &report,
        policy: &policy,
        source: match &options.rev {
            Some(rev) => format!("the definitions at revision `{rev}`"),
            None => "the definitions in the working tree".to_owned(),
        },
        now: ws.now,
    });
    let in_console = page.cards.iter().filter(|c| c.in_console()).count();
    let versions = page.cards.iter().map(|c| c.versions.len()).sum();
    let flagged = page
        .cards
        .iter()
        .flat_map(|c| &c.versions)
        .filter(|v| !v.flags.is_empty())
        .count();
    if options.json {
        let json = catalog::json::render(&page);
        return Ok(Run::Done(Report {
            path: None,
            bytes: json.len() as u64,
            json: Some(json),
            cards: page.cards.len(),
            in_console,
            versions,
            flagged,
            omitted: page.omitted.len(),
        }));
    }
    let html = catalog::html::render(&page);

    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| ws.root.join("catalog"));
    fs_err::create_dir_all(&dir).context("cannot create the catalog folder")?;
    let path = dir.join("index.html");
    let mut file = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    // A temporary file is private; the page is meant to be served and shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    // Renamed into place so a reader never sees half a page; not flushed to disk, since the
    // page is regenerated from the repository at will.
    file.write_all(html.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.persist(&path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;

    Ok(Run::Done(Report {
        path: Some(path),
        json: None,
        bytes: html.len() as u64,
        cards: page.cards.len(),
        in_console,
        versions,
        flagged,
        omitted: page.omitted.len(),
    }))
}
