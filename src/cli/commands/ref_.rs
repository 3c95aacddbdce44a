//! `ref PULLSPEC`: how a pull spec parses with OpenShift's grammar and how the Docker client
//! defaults normalise it. Needs no repository; reads and writes nothing but the terminal.

use anyhow::{Result, anyhow};

use crate::cli::{ExitStatus, Printer, RefArgs};
use crate::error::Hinted;
use crate::model::reference;

/// Print how the pull spec parses, as JSON: the five parts exactly as parsed (empty when
/// absent), then `normalized` with the defaults applied. The object is exactly the six keys of
/// the contract (no `format_version`: it describes a pull spec, not a versioned report).
pub fn run(args: &RefArgs, printer: &Printer) -> Result<ExitStatus> {
    let spec = args.pullspec.as_str();
    let r = reference::parse(spec).map_err(|e| {
        let hint = if spec.contains("://") {
            Some("a pull spec has no scheme: drop the `https://`")
        } else if spec.is_empty() {
            Some("a pull spec looks like `[registry/][namespace/]name[:tag][@digest]`")
        } else if matches!(e, reference::ParseError::DigestTooShort { .. }) {
            Some(
                "write the whole digest; `streamsync get image ID` finds an imported image by a short id",
            )
        } else if matches!(e, reference::ParseError::Uppercase) {
            Some("registries accept lowercase repository paths only (tags may be mixed case)")
        } else {
            None
        };
        // The reason belongs on the `error:` line itself, so a script sees it first.
        let message = format!("invalid pull spec `{spec}`: {e}");
        match hint {
            Some(h) => anyhow!(Hinted::new(message, h)),
            None => anyhow!(Hinted::plain(message)),
        }
    })?;
    // Built by hand to fix the key order of the contract (serde_json keeps insertion order).
    let value = serde_json::json!({
        "registry": r.registry,
        "namespace": r.namespace,
        "name": r.name,
        "tag": r.tag,
        "digest": r.digest,
        "normalized": r.normalized(),
    });
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    printer.out(&text);
    Ok(ExitStatus::Success)
}
