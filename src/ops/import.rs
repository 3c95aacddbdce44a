//! `import`: `oc import-image`. Re-imports a defined stream's tag (or, with `all`, its
//! repository's tags or every DockerImage tag) now, under the state lock, with any pending
//! change of that stream, and of the streams its tags take images from, applied first;
//! `from` (with `confirm` for a new stream) instead edits the definitions: it adds or updates
//! the tag, or creates the stream. Error wording follows `oc` (semantics spec §3.1).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use super::apply::{self, Applied, RepositoryImports};
use super::edits::{
    self, Edited, Resolved, new_stream_slot, new_stream_text, resolve, set_import_mode, target_for,
};
use super::{Invalid, Progress, Run, Workspace, lock};
use crate::definition::DefinitionSet;
use crate::edit::{self, Format, Seg, Session, Val};
use crate::error::Hinted;
use crate::model::{
    ANNOTATION_INSECURE_REPOSITORY, ImageStream, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_TAG,
    ObjectReference, StreamKey, TagReference, reference,
};
use crate::plan::{Action, Change, Plan};
use crate::reconcile;

/// Options of [`run`]: `oc import-image`'s arguments and flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `[namespace/]stream[:tag]`.
    pub target: String,
    /// Every upstream tag of the stream's repository (or every DockerImage tag).
    pub all: bool,
    /// Cap for `all`.
    pub max: usize,
    /// The pull spec to import from: edits the definitions.
    pub from: Option<String>,
    /// Create the stream (or change the repository of `all`).
    pub confirm: bool,
    /// `importPolicy.scheduled` of the tag written.
    pub scheduled: bool,
    /// `importPolicy.insecure` (with `all`, the stream's insecure-repository annotation).
    pub insecure: bool,
    /// `source` or `local`.
    pub reference_policy: Option<String>,
    /// `Legacy` or `PreserveOriginal`.
    pub import_mode: Option<String>,
    /// Compute what would change and write nothing.
    pub dry_run: bool,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
    /// Registry auth file (docker config.json format).
    pub registry_config: Option<PathBuf>,
}

/// What [`run`] did.
#[derive(Debug)]
pub enum Report {
    /// Tags of a defined stream were imported (or would be).
    Imported(Imported),
    /// The definitions were edited (`from` with `dry_run`: would be).
    Edited(Edited),
    /// The definitions were edited (`from`), then the tag (or, with `all`, the repository)
    /// was imported, as `oc import-image --from … --confirm` does.
    EditedImported(Box<(Edited, Imported)>),
}

/// A re-import.
#[derive(Debug)]
pub struct Imported {
    /// What the registry's tag list held that was not used.
    pub notes: Vec<String>,
    /// Repository tags left out by the cap.
    pub left_out: Vec<String>,
    /// The imports that ran, or (a dry run) the plan of them.
    pub outcome: Outcome,
    /// The manifests' problems (see [`super::Triggers`]).
    pub manifest_problems: Vec<crate::diagnostic::Diagnostic>,
}

/// Ran or planned.
#[derive(Debug)]
pub enum Outcome {
    /// A dry run: what would be imported.
    DryRun(Plan),
    /// The imports ran.
    Applied(Applied),
}

/// Import now, or edit the definitions to import from a pull spec.
pub fn run(ws: &Workspace, args: &Options, progress: &dyn Progress) -> Result<Run<Report>> {
    if let Some(p) = &args.reference_policy
        && !matches!(p.to_ascii_lowercase().as_str(), "source" | "local")
    {
        bail!("reference policy must be set to 'source' or 'local'");
    }
    if let Some(m) = &args.import_mode
        && !matches!(m.as_str(), "Legacy" | "PreserveOriginal")
    {
        bail!("valid ImportMode values are Legacy or PreserveOriginal");
    }
    if args.confirm || args.from.is_some() {
        let (edited, key, tag) = from_pullspec(ws, args)?;
        if args.dry_run {
            return Ok(Run::Done(Report::Edited(edited)));
        }
        // The tag is in the definitions now; import it as a re-import of a defined stream
        // does (its pending changes applied first, under the lock).
        let again = Options {
            target: if args.all {
                key.to_string()
            } else {
                format!("{key}:{tag}")
            },
            all: args.all,
            max: args.max,
            lock_timeout: args.lock_timeout,
            registry_config: args.registry_config.clone(),
            ..Options::default()
        };
        return Ok(match reimport(ws, &again, progress)? {
            Run::Done(Report::Imported(imported)) => {
                Run::Done(Report::EditedImported(Box::new((edited, imported))))
            }
            Run::Done(other) => Run::Done(other),
            Run::Invalid(invalid) => Run::Invalid(invalid),
        });
    }
    reimport(ws, args, progress)
}

/// `[namespace/]name[:tag]` as `oc import-image` reads it.
fn parse_target(target: &str, all: bool) -> Result<(Option<&str>, &str, Option<&str>)> {
    if target.contains('@') {
        bail!("to import images by ID, use the 'tag' command");
    }
    let (namespace, rest) = match target.split_once('/') {
        Some((ns, rest)) if !ns.is_empty() && !rest.contains('/') => (Some(ns), rest),
        Some(_) => bail!("invalid image stream `{target}`"),
        None => (None, target),
    };
    let (name, tag) = match rest.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (rest, None),
    };
    if name.is_empty() || tag == Some("") {
        bail!("`{target}` must be of the form [namespace/]stream[:tag]");
    }
    if let (true, Some(tag)) = (all, tag) {
        bail!("cannot specify a tag \"{tag}\" as well as --all");
    }
    Ok((namespace, name, tag))
}

/// Follow `ImageStreamTag` references within the stream to the tag that names the source
/// (`FollowTagReference`).
fn follow<'a>(stream: &'a ImageStream, start: &'a TagReference) -> Result<&'a TagReference> {
    let key = stream.key();
    let mut tag = start;
    let mut seen = vec![tag.name.as_str()];
    loop {
        let Some(from) = &tag.from else {
            return Ok(tag);
        };
        if from.kind != KIND_IMAGE_STREAM_TAG {
            return Ok(tag);
        }
        let Some((source, stag)) = from.source(&key) else {
            bail!("tag \"{}\" points to an invalid imagestreamtag", start.name);
        };
        if source != key {
            bail!(
                "tag \"{}\" points to an imagestreamtag from another ImageStream",
                start.name
            );
        }
        if seen.contains(&stag) {
            bail!(
                "tag \"{}\" on the image stream is a reference to same tag",
                start.name
            );
        }
        seen.push(stag);
        tag = stream.spec_tag(stag).ok_or_else(|| {
            anyhow::anyhow!("tag \"{}\" points to an invalid imagestreamtag", start.name)
        })?;
    }
}

/// Re-import tags of a defined stream now.
fn reimport(ws: &Workspace, args: &Options, progress: &dyn Progress) -> Result<Run<Report>> {
    let (namespace, name, tag) = parse_target(&args.target, args.all)?;
    if args.scheduled
        || args.insecure
        || args.reference_policy.is_some()
        || args.import_mode.is_some()
    {
        // They set the tag's import policy, which lives in the definitions.
        bail!(Hinted::new(
            "--scheduled, --insecure, --reference-policy and --import-mode change the tag's definition, so they need --from",
            format!(
                "{} (or streamsync tag)",
                command_line(args, "--from PULLSPEC")
            ),
        ));
    }
    let loaded = ws.load_definitions(None)?;
    let triggers = ws.check_triggers(&loaded, None)?;
    if let Some(invalid) = Invalid::checked(&loaded, &triggers) {
        return Ok(Run::Invalid(invalid));
    }
    let config = ws.config()?.clone();
    let key = match resolve(&loaded.set, namespace, name, &config.default_namespace)? {
        Resolved::Existing(key) => key,
        Resolved::New(key) => bail!(Hinted::new(
            format!(
                "no image stream named \"{}\" exists, pass --confirm to create and import",
                key.name
            ),
            command_line(args, "--from PULLSPEC --confirm"),
        )),
    };
    let Some(stream) = loaded.set.streams.get(&key).map(|d| &d.stream) else {
        bail!("image stream `{key}` is not loaded");
    };
    let registry = ws.registry(&config, args.registry_config.as_deref())?;
    let state = ws.state()?;
    let _guard = if args.dry_run {
        None
    } else {
        Some(lock(&state, args.lock_timeout)?)
    };
    let options = crate::plan::Options { prune: false };
    // Pending changes of this stream go first, so the import sees the spec as defined, and
    // those of the streams its tags take images from (as Terraform's -target includes
    // dependencies): a tag following a stream not applied yet would otherwise fail.
    let involved = with_sources(&loaded.set, stream);
    let keys: Vec<StreamKey> = involved.iter().map(|s| s.key()).collect();
    let planned = reconcile::plan(&involved, &state, &options, None)?;
    let mut changes: Vec<Change> = planned
        .plan
        .changes
        .iter()
        .filter(|c| keys.contains(&c.key()))
        .cloned()
        .collect();
    let mut errors = planned.plan.errors.clone();
    errors.retain(|e| {
        keys.iter()
            .any(|k| e.namespace == k.namespace && e.stream == k.name)
    });
    let Wanted {
        changes: wanted,
        notes,
        left_out,
    } = wanted_imports(
        args,
        stream,
        &key,
        (name, tag),
        &planned.snapshot.streams,
        &registry,
    )?;
    for w in wanted {
        let dup = changes
            .iter()
            .any(|c| c.action == Action::Import && c.key() == w.key() && c.tag == w.tag);
        if !dup {
            changes.push(w);
        }
    }
    let outcome = if args.dry_run {
        Outcome::DryRun(Plan {
            changes,
            errors,
            ..Plan::default()
        })
    } else {
        let now = ws.now_text();
        let report = apply::execute(
            &state,
            &planned.snapshot,
            &changes,
            &registry,
            &now,
            progress,
        )?;
        let mut done = apply::applied(report, errors, RepositoryImports::default(), &registry);
        done.rolled = super::rollout::after_import(ws, &triggers.scan, None)?;
        Outcome::Applied(done)
    };
    Ok(Run::Done(Report::Imported(Imported {
        notes,
        left_out,
        outcome,
        manifest_problems: triggers.problems,
    })))
}

/// What a re-import asks for, with the registry's notes and the repository tags the cap left
/// out.
struct Wanted {
    changes: Vec<Change>,
    notes: Vec<String>,
    left_out: Vec<String>,
}

/// The forced imports a re-import makes: with `--all`, every tag of the stream's repository
/// (or every tag imported from a registry); else the one tag.
fn wanted_imports(
    args: &Options,
    stream: &ImageStream,
    key: &StreamKey,
    (name, tag): (&str, Option<&str>),
    live_streams: &std::collections::BTreeMap<StreamKey, ImageStream>,
    registry: &super::Registry,
) -> Result<Wanted> {
    let live = live_streams.get(key);
    if !args.all {
        let change = tag_reimport(stream, key, (name, tag), live)?;
        return Ok(Wanted {
            changes: vec![change],
            notes: Vec::new(),
            left_out: Vec::new(),
        });
    }
    let mut left_out = Vec::new();
    let mut notes = Vec::new();
    let mut wanted: Vec<Change> = Vec::new();
    if stream.repository().is_some() {
        let repos = apply::repository_changes(&[stream], live_streams, registry, args.max);
        if let Some(e) = repos.errors.first() {
            bail!("{}", e.message);
        }
        notes = repos.notes;
        wanted.extend(repos.changes);
        left_out = repos.left.into_values().flatten().collect();
    } else {
        for t in stream.spec.tags.iter().filter(|t| t.is_importable()) {
            wanted.push(forced(key, t, live));
        }
        if wanted.is_empty() {
            bail!(
                "image stream \"{}\" has no tags imported from a registry",
                key.name
            );
        }
    }
    Ok(Wanted {
        changes: wanted,
        notes,
        left_out,
    })
}

/// The forced import of one tag (`latest` by default), following references within the
/// stream to the tag that names the source.
fn tag_reimport(
    stream: &ImageStream,
    key: &StreamKey,
    (name, tag): (&str, Option<&str>),
    live: Option<&ImageStream>,
) -> Result<Change> {
    let tag = tag.unwrap_or("latest");
    let repository = stream.repository();
    match stream.spec_tag(tag) {
        Some(t) => {
            let source = follow(stream, t)?;
            match &source.from {
                Some(f) if f.kind == KIND_DOCKER_IMAGE && !source.reference => {
                    Ok(forced(key, source, live))
                }
                Some(f) => bail!(
                    "tag \"{tag}\" points to existing {} \"{}\", it cannot be re-imported",
                    if f.kind == KIND_DOCKER_IMAGE {
                        "reference"
                    } else {
                        f.kind.as_str()
                    },
                    f.name
                ),
                None => bail!("tag \"{tag}\" has no source, it cannot be re-imported"),
            }
        }
        None if tag == "latest" && repository.is_some() => {
            let repo = repository.unwrap_or_default();
            Ok(reconcile::forced_import(
                key,
                tag,
                live,
                &format!("{repo}:latest"),
                "import",
            ))
        }
        None => bail!(Hinted::new(
            format!(
                "the tag \"{tag}\" does not exist on the image stream - choose an existing tag \
                 to import or use the 'tag' command to create a new tag"
            ),
            format!("e.g. streamsync tag quay.io/org/{name}:{tag} {name}:{tag}"),
        )),
    }
}

/// `stream` and every defined stream its tags take images from, directly or through others
/// (`ImageStreamTag` and `ImageStreamImage` sources), `stream` first.
fn with_sources<'a>(set: &'a DefinitionSet, stream: &'a ImageStream) -> Vec<&'a ImageStream> {
    let mut out = vec![stream];
    let mut i = 0;
    while let Some(current) = out.get(i).copied() {
        i += 1;
        let holder = current.key();
        for from in current.spec.tags.iter().filter_map(|t| t.from.as_ref()) {
            let Some((source, _)) = from.source(&holder) else {
                continue;
            };
            if out.iter().any(|s| s.key() == source) {
                continue;
            }
            if let Some(d) = set.streams.get(&source) {
                out.push(&d.stream);
            }
        }
    }
    out
}

/// A forced import of a spec tag (`oc import-image` resets the tag generation).
fn forced(key: &StreamKey, t: &TagReference, live: Option<&ImageStream>) -> Change {
    let from = t.from.as_ref().map_or("", |f| f.name.as_str());
    let mut c = reconcile::forced_import(key, &t.name, live, from, "import");
    if let Some(serde_json::Value::Object(map)) = &mut c.after {
        map.insert(
            "importMode".into(),
            t.import_policy.effective_import_mode().into(),
        );
    }
    c
}

/// `import NAME[:TAG] --from PULLSPEC [--all] [--confirm]`, done by editing the definitions:
/// on a defined stream it adds or updates the tag (NAME's tag, else the pull spec's, else
/// `latest`) to import PULLSPEC with the import flags; a stream that is not defined is
/// created in `definitions/<ns>/<name>.yaml` only with `--confirm` (without it: exit 1, as
/// `oc`); with `--all`, PULLSPEC's repository becomes `spec.dockerImageRepository`. The report
/// holds the diff and the plan the edit implies; `dry_run` writes nothing.
fn from_pullspec(ws: &Workspace, args: &Options) -> Result<(Edited, StreamKey, String)> {
    let Some(from) = args.from.as_deref() else {
        bail!(Hinted::new(
            "--confirm creates a stream, so it needs --from PULLSPEC",
            "e.g. streamsync import ruby --from quay.io/ruby/ruby:3.3 --confirm",
        ));
    };
    let from = from.trim();
    let pull = reference::parse(from).with_context(|| format!("invalid pull spec `{from}`"))?;
    let (namespace, rest) = match args.target.split_once('/') {
        Some((ns, rest)) if !ns.is_empty() && !rest.contains('/') => (Some(ns), rest),
        Some(_) => bail!("invalid image stream `{}`", args.target),
        None => (None, args.target.as_str()),
    };
    let (name, target_tag) = match rest.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (rest, None),
    };
    if name.is_empty() || target_tag == Some("") {
        bail!(
            "`{}` must be of the form [namespace/]stream[:tag]",
            args.target
        );
    }
    if args.all && target_tag.is_some() {
        bail!(Hinted::new(
            "--all imports the whole repository, so NAME cannot name a tag",
            "drop the `:tag` from NAME, or drop --all",
        ));
    }
    let (config, policies, _) = ws.load_settings();
    let mut session = Session::open(&ws.root, config, policies)?;
    let set = session.load().set;
    let default_namespace = session.config().default_namespace.clone();
    let tag_name = target_tag
        .map(str::to_owned)
        .or_else(|| (!pull.tag.is_empty()).then(|| pull.tag.clone()))
        .unwrap_or_else(|| "latest".to_owned());
    let tag = import_tag(args, &tag_name, from);
    let mut repo = pull.clone();
    repo.tag.clear();
    repo.digest.clear();
    let repository = repo.exact();
    let source = Source {
        tag: &tag,
        tag_name: &tag_name,
        from,
        repository: &repository,
    };
    let message = match resolve(&set, namespace, name, &default_namespace)? {
        Resolved::Existing(key) => (edit_existing(&mut session, &set, &key, args, &source)?, key),
        Resolved::New(key) => (create_stream(ws, &mut session, &key, args, &source)?, key),
    };
    let (message, key) = message;
    let loaded = session.check()?;
    let files = edits::write(&session, args.dry_run, true)?;
    let implied = Some(edits::implied_plan(ws, &loaded, std::slice::from_ref(&key)));
    Ok((
        Edited {
            files,
            dry_run: args.dry_run,
            messages: vec![message],
            implied,
        },
        key,
        tag_name,
    ))
}

/// What `import --from` writes: the tag, its name, the pull spec, and its repository (for
/// `--all`).
struct Source<'a> {
    tag: &'a TagReference,
    tag_name: &'a str,
    from: &'a str,
    repository: &'a str,
}

/// `spec.dockerImageRepository`, which `--all` sets.
fn repository_path() -> [Seg; 2] {
    [
        Seg::Key("spec".into()),
        Seg::Key("dockerImageRepository".into()),
    ]
}

/// The stream annotation `--all --insecure` sets.
fn insecure_path() -> [Seg; 3] {
    [
        Seg::Key("metadata".into()),
        Seg::Key("annotations".into()),
        Seg::Key(ANNOTATION_INSECURE_REPOSITORY.into()),
    ]
}

/// `import --from` on a defined stream: sets its repository (`--all`, which must be the
/// same unless `--confirm`) or adds or updates the tag. Returns the message.
fn edit_existing(
    session: &mut Session,
    set: &DefinitionSet,
    key: &StreamKey,
    args: &Options,
    source: &Source<'_>,
) -> Result<String> {
    let Source {
        tag,
        tag_name,
        from,
        repository,
    } = *source;
    let (repository_path, insecure_path) = (repository_path(), insecure_path());
    let def = &set.streams[key];
    let file = def.file.clone();
    let target = target_for(key, &file, session);
    let format = Format::of_path(&file);
    let message = if args.all {
        let current = def.stream.repository().unwrap_or_default();
        if current != repository && !args.confirm {
            bail!(Hinted::new(
                format!(
                    "the image stream has a different import spec \"{current}\", pass --confirm to update"
                ),
                command_line(args, "--confirm"),
            ));
        }
        session.edit(&file, |text| {
            let text = edit::set(
                text,
                format,
                &target,
                &repository_path,
                &Val::str(repository),
            )?;
            if args.insecure {
                edit::set(&text, format, &target, &insecure_path, &Val::str("true"))
            } else {
                Ok(text)
            }
        })?;
        format!("Image stream `{key}` imports the repository {repository}.")
    } else {
        let exists = def.stream.spec_tag(tag_name).is_some();
        session.edit(&file, |text| {
            if exists {
                let text = edit::update_tag(text, format, &target, tag)?;
                set_import_mode(&text, format, &target, tag)
            } else {
                edit::add_tag(text, format, &target, tag)
            }
        })?;
        format!(
            "Tag {}/{}:{tag_name} {} to import {from}.",
            key.namespace,
            key.name,
            if exists { "updated" } else { "added" }
        )
    };
    Ok(message)
}

/// `import --from --confirm` of a stream that is not defined: a new definition file with the
/// repository (`--all`) or the tag. Returns the message.
fn create_stream(
    ws: &Workspace,
    session: &mut Session,
    key: &StreamKey,
    args: &Options,
    source: &Source<'_>,
) -> Result<String> {
    let Source {
        tag,
        from,
        repository,
        ..
    } = *source;
    let (repository_path, insecure_path) = (repository_path(), insecure_path());
    if !args.confirm {
        bail!(Hinted::new(
            format!(
                "no image stream named \"{}\" exists, pass --confirm to create and import",
                key.name
            ),
            command_line(args, "--confirm"),
        ));
    }
    let (file, target) = new_stream_slot(ws, session, key)?;
    let text = if args.all {
        let text = edit::set(
            &new_stream_text(key),
            Format::Yaml,
            &target,
            &repository_path,
            &Val::str(repository),
        )?;
        if args.insecure {
            edit::set(
                &text,
                Format::Yaml,
                &target,
                &insecure_path,
                &Val::str("true"),
            )?
        } else {
            text
        }
    } else {
        edit::add_tag(&new_stream_text(key), Format::Yaml, &target, tag)?
    };
    session.create(&file, text)?;
    Ok(format!(
        "Created image stream `{key}` importing {from} in `{file}`."
    ))
}

/// The user's command line again, with the import flags they gave, plus `extra` (for a hint).
pub fn command_line(args: &Options, extra: &str) -> String {
    let mut line = format!("streamsync import {}", args.target);
    if args.all {
        line.push_str(" --all");
    }
    if let Some(from) = &args.from {
        line.push_str(&format!(" --from {from}"));
    }
    for (on, flag) in [
        (args.scheduled, " --scheduled"),
        (args.insecure, " --insecure"),
    ] {
        if on {
            line.push_str(flag);
        }
    }
    if let Some(p) = &args.reference_policy {
        line.push_str(&format!(" --reference-policy {p}"));
    }
    if let Some(m) = &args.import_mode {
        line.push_str(&format!(" --import-mode {m}"));
    }
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    line
}

/// The spec tag `oc import-image --from` writes: a `DockerImage` source with the import flags.
fn import_tag(args: &Options, name: &str, from: &str) -> TagReference {
    let mut tag = TagReference {
        name: name.to_owned(),
        from: Some(ObjectReference {
            kind: KIND_DOCKER_IMAGE.to_owned(),
            name: from.to_owned(),
            namespace: None,
        }),
        ..TagReference::default()
    };
    super::edits::set_import_flags(
        &mut tag,
        args.insecure,
        args.scheduled,
        args.import_mode.as_deref(),
        args.reference_policy.as_deref(),
    );
    tag
}
