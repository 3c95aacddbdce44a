//! What every operation that edits the definitions shares (`tag`, `import --from`,
//! `prune --write`): finding a stream by the STREAM rule, where a new stream goes, writing
//! the checked edits (or not, for a dry run), and the offline plan an edit implies for the
//! streams it touched. Edits themselves go through the byte-preserving editor.

use anyhow::{Result, bail};

use super::Workspace;
use super::plan::{Offline, offline_of};
use crate::definition::{DefinitionSet, Loaded};
use crate::edit::{self, FileChange, Format, Session, Target};
use crate::error::Hinted;
use crate::model::{StreamKey, TagReference};

/// The files an operation edited, and the plan the edit implies.
#[derive(Debug)]
pub struct Edited {
    /// Every file changed, before and after (written unless `dry_run`).
    pub files: Vec<FileChange>,
    /// Nothing was written.
    pub dry_run: bool,
    /// What was done, one sentence each.
    pub messages: Vec<String>,
    /// The offline plan of the touched streams from the edited definitions, when one was
    /// made; an error says why it could not be.
    pub implied: Option<Result<Offline>>,
}

/// A stream that is defined, or one that would be new.
pub enum Resolved {
    /// Defined in the definitions.
    Existing(StreamKey),
    /// Not defined: where it would be.
    New(StreamKey),
}

/// DESIGN's STREAM rule: `ns/name` is that stream; a bare name is the one stream of that name
/// in any namespace (several: an error listing them; none: the default namespace).
pub fn resolve(
    set: &DefinitionSet,
    namespace: Option<&str>,
    name: &str,
    default_namespace: &str,
) -> Result<Resolved> {
    if let Some(ns) = namespace {
        let key = StreamKey::new(ns, name);
        return Ok(if set.streams.contains_key(&key) {
            Resolved::Existing(key)
        } else {
            Resolved::New(key)
        });
    }
    let found: Vec<&StreamKey> = set.streams.keys().filter(|k| k.name == name).collect();
    match found.as_slice() {
        [] => Ok(Resolved::New(StreamKey::new(default_namespace, name))),
        [one] => Ok(Resolved::Existing((*one).clone())),
        many => {
            let list: Vec<String> = many.iter().map(ToString::to_string).collect();
            bail!(Hinted::new(
                format!(
                    "stream name `{name}` is defined in several namespaces: {}",
                    list.join(", ")
                ),
                format!("name one of them as <namespace>/{name}"),
            ))
        }
    }
}

/// The file a new stream goes to.
pub fn new_stream_file(key: &StreamKey) -> String {
    format!("definitions/{}/{}.yaml", key.namespace, key.name)
}

/// The text of a new definition file before its tags are added.
pub fn new_stream_text(key: &StreamKey) -> String {
    format!(
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {}\n  namespace: {}\n",
        key.name, key.namespace
    )
}

/// The editor's target for stream `key` in `file`.
pub fn target_for(key: &StreamKey, file: &str, session: &Session) -> Target {
    session.target(key, file)
}

/// The file a new stream goes into and its edit target, refused when that file already
/// exists (on disk or created earlier in this session) rather than overwritten.
pub fn new_stream_slot(
    ws: &Workspace,
    session: &Session,
    key: &StreamKey,
) -> Result<(String, Target)> {
    let file = new_stream_file(key);
    if session.text(&file).is_some() || ws.root.join(&file).exists() {
        bail!(Hinted::new(
            format!(
                "image stream `{key}` does not exist, and `{file}` (where it would go) already exists"
            ),
            "add the stream to a definition file yourself, or name another namespace",
        ));
    }
    let target = target_for(key, &file, session);
    Ok((file, target))
}

/// The flags `oc tag` and `oc import-image` share, as they land in the spec tag they write.
pub fn set_import_flags(
    tag: &mut TagReference,
    insecure: bool,
    scheduled: bool,
    import_mode: Option<&str>,
    reference_policy: Option<&str>,
) {
    tag.import_policy.insecure = insecure;
    tag.import_policy.scheduled = scheduled;
    import_mode
        .unwrap_or_default()
        .clone_into(&mut tag.import_policy.import_mode);
    if let Some(p) = reference_policy {
        tag.reference_policy.kind = if p.eq_ignore_ascii_case("local") {
            "Local".into()
        } else {
            "Source".into()
        };
    }
}

/// `--import-mode` on an existing tag: `update_tag` keeps the entry's `importMode` bytes, so
/// the mode asked for is set here (and only when asked for).
pub fn set_import_mode(
    text: &str,
    format: Format,
    target: &Target,
    tag: &TagReference,
) -> Result<String, edit::EditError> {
    if tag.import_policy.import_mode.is_empty() {
        return Ok(text.to_owned());
    }
    edit::set(
        text,
        format,
        target,
        &edit::tag_path(&tag.name, &["importPolicy", "importMode"]),
        &edit::Val::str(&tag.import_policy.import_mode),
    )
}

/// Write the session's edits, unless this is a dry run, and return every file change.
/// `checked`: the caller has just validated these edits with `Session::check`.
pub fn write(session: &Session, dry_run: bool, checked: bool) -> Result<Vec<FileChange>> {
    if !checked {
        session.check()?;
    }
    Ok(if dry_run {
        session.changes()
    } else {
        session.write_checked()?
    })
}

/// The plan that the edit implies for the touched streams, from the edited definitions
/// (`loaded`, written or not: a dry run shows the plan it would cause).
pub fn implied_plan(ws: &Workspace, loaded: &Loaded, streams: &[StreamKey]) -> Result<Offline> {
    offline_of(ws, loaded, Some(streams))
}
