//! `catalog`: write the developer-catalog preview page. Gathers the definitions (working tree
//! or `--rev`), the live state and the prune recommendations, lets `crate::catalog` build and
//! render the page, and writes `index.html` in one rename. Asks no registry.

use std::io::Write as _;

use anyhow::{Context as _, Result};

use crate::catalog;
use crate::cli::{CatalogArgs, Context, ExitStatus, Printer};
use crate::diagnostic;
use crate::error::Hinted;
use crate::prune::{self, triggers};
use crate::state::dir::DirState;

/// Run `catalog`.
pub fn run(ctx: &Context, args: &CatalogArgs, printer: &Printer) -> Result<ExitStatus> {
    let loaded = super::load_definitions(ctx, &args.rev)?;
    if loaded.has_errors() {
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        printer.diagnostics(&diagnostic::render_text(&errors));
        return Err(Hinted::new(
            format!(
                "cannot write the catalog: {} in the definitions or policies",
                diagnostic::plural(errors.len(), "1 error", &format!("{} errors", errors.len()))
            ),
            "fix the definitions and policies first; `streamsync validate` lists every problem",
        )
        .into());
    }
    let (_, policies, _) = ctx.load_settings();
    let policy = policies
        .prune
        .compile()
        .context("the [prune] policy cannot be used")?;
    let state = DirState::open(&ctx.state_dir)?;
    let live = state.load_streams()?;
    let manifests = match &args.rev.rev {
        Some(rev) => super::prune::manifests_at_rev(&ctx.root, rev)?,
        None => super::prune::manifests_in_worktree(ctx)?,
    };
    let uses: Vec<_> = manifests
        .iter()
        .filter_map(|f| std::str::from_utf8(&f.bytes).ok().map(|t| (f, t)))
        .flat_map(|(f, text)| triggers::scan_manifest(&f.path, text).uses)
        .collect();
    let report = prune::recommend(&prune::Inputs {
        definitions: &loaded.set,
        live: &live,
        policy: &policy,
        uses: &uses,
        now: ctx.now,
    });
    // An Image that cannot be read shows as unknown metadata, not as a failed page.
    let image = |digest: &str| state.load_image(digest).ok().flatten();
    let page = catalog::build(&catalog::Inputs {
        definitions: &loaded.set,
        live: &live,
        image: &image,
        prune: &report,
        policy: &policy,
        source: match &args.rev.rev {
            Some(rev) => format!("the definitions at revision `{rev}`"),
            None => "the definitions in the working tree".to_owned(),
        },
        now: ctx.now,
    });
    let html = catalog::html::render(&page);

    let dir = args.out.clone().unwrap_or_else(|| ctx.root.join("catalog"));
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

    let versions: usize = page.cards.iter().map(|c| c.versions.len()).sum();
    let flagged: usize = page
        .cards
        .iter()
        .flat_map(|c| &c.versions)
        .filter(|v| !v.flags.is_empty())
        .count();
    printer.info(&format!(
        "Wrote {} ({}, {}, {} flagged; {} without a builder tag left out; {}).",
        ctx.display_path(&path),
        diagnostic::plural(
            page.cards.len(),
            "1 card",
            &format!("{} cards", page.cards.len())
        ),
        diagnostic::plural(versions, "1 version", &format!("{versions} versions")),
        flagged,
        diagnostic::plural(
            page.omitted.len(),
            "1 stream",
            &format!("{} streams", page.omitted.len())
        ),
        catalog::html::human_size(html.len() as u64),
    ));
    Ok(ExitStatus::Success)
}
