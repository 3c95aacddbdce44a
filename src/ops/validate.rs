//! `validate`: load every definition, policy and the config and collect every problem; the
//! report is the loaded set with its diagnostics, rendered by whoever asked.

use anyhow::Result;

use super::Workspace;
use crate::definition::Loaded;

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the definitions at this Git revision instead of the working tree.
    pub rev: Option<String>,
}

/// Load and check everything; diagnostics are in the result, not errors.
pub fn run(ws: &Workspace, options: &Options) -> Result<Loaded> {
    let mut loaded = ws.load_definitions(options.rev.as_deref())?;
    let triggers = ws.check_triggers(&loaded, options.rev.as_deref())?;
    // Here an unreadable manifest is one more error to show.
    loaded.diagnostics.extend(triggers.problems);
    loaded.diagnostics.extend(mirror_clashes(ws, &loaded));
    crate::diagnostic::sort(&mut loaded.diagnostics);
    Ok(loaded)
}

/// `[mirror]`: two source repositories of the definitions that would share one mirror
/// repository are an error at the `registry` key.
fn mirror_clashes(ws: &Workspace, loaded: &Loaded) -> Vec<crate::diagnostic::Diagnostic> {
    let Ok(config) = ws.load_config() else {
        return Vec::new();
    };
    let Some(mirror) = super::mirror::mirror_of(&config) else {
        return Vec::new();
    };
    let sources = super::mirror::definition_sources(&loaded.set, &config);
    let clashes = super::mirror::clashes(&sources, &mirror);
    if clashes.is_empty() {
        return Vec::new();
    }
    // The line of `registry` inside `[mirror]`.
    let text = fs_err::read_to_string(&ws.config_path).unwrap_or_default();
    let mut in_mirror = false;
    let mut at = (0, 0);
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_mirror = t == "[mirror]";
        } else if in_mirror && t.starts_with("registry") {
            at = (
                n as u32 + 1,
                (line.len() - line.trim_start().len()) as u32 + 1,
            );
            break;
        }
    }
    clashes
        .into_iter()
        .map(|(repo, sources)| {
            crate::diagnostic::Diagnostic::error(
                ws.config_display(),
                at.0,
                at.1,
                "mirror-repository-shared",
                format!(
                    "[mirror] registry: {} would share the mirror repository {repo}",
                    sources.join(" and ")
                ),
            )
            .with_hint(
                "give each source registry its own mirror (a registry per source, or import the streams from one source)",
            )
        })
        .collect()
}
