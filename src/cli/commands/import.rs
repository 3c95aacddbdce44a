//! `import`: `oc import-image`. Re-imports a defined stream's tag (or, with `--all`, its
//! repository's tags or every DockerImage tag) now, under the state lock, with any pending
//! change of that stream, and of the streams its tags take images from, applied first;
//! `--from PULLSPEC --confirm` instead creates the stream in the definitions through the
//! editor. Error wording follows `oc` (semantics spec §3.1).

use std::fmt::Write as _;

use anyhow::{Context as _, Result, bail};

use super::tag::{Resolved, finish, new_stream_file, new_stream_text, resolve, target_for};
use crate::cli::commands::{load_definitions, refuse_invalid, resolver};
use crate::cli::settings::parse_duration;
use crate::cli::{Context, ExitStatus, ImportArgs, Printer, ReportFormat, RevArgs};
use crate::definition::DefinitionSet;
use crate::edit::{self, Format, Seg, Session, Val};
use crate::error::Hinted;
use crate::model::{
    ImageStream, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_TAG, ObjectReference, StreamKey,
    TagReference, reference,
};
use crate::plan::{Action, Change, Options};
use crate::reconcile;
use crate::state::dir::DirState;

/// Run `import`.
pub fn run(ctx: &Context, args: &ImportArgs, printer: &Printer) -> Result<ExitStatus> {
    if args.confirm || args.from.is_some() {
        return confirm_create(ctx, args, printer);
    }
    reimport(ctx, args, printer)
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
        let Some((source, stag)) = from.source(&key.namespace) else {
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
fn reimport(ctx: &Context, args: &ImportArgs, printer: &Printer) -> Result<ExitStatus> {
    let (namespace, name, tag) = parse_target(&args.target, args.all)?;
    let timeout = parse_duration(&args.lock_timeout)?;
    let loaded = load_definitions(ctx, &RevArgs::default())?;
    if let Some(status) = refuse_invalid(&loaded, printer, "nothing was imported") {
        return Ok(status);
    }
    let config = ctx.load_config().unwrap_or_default();
    let key = match resolve(&loaded.set, namespace, name, &config.default_namespace)? {
        Resolved::Existing(key) => key,
        Resolved::New(key) => bail!(Hinted::new(
            format!(
                "no image stream named \"{}\" exists, pass --confirm to create and import",
                key.name
            ),
            format!(
                "streamsync import {} --from PULLSPEC --confirm",
                args.target
            ),
        )),
    };
    let Some(stream) = loaded.set.streams.get(&key).map(|d| &d.stream) else {
        bail!("image stream `{key}` is not loaded");
    };
    let registry = resolver(ctx, &config, args.registry_config.as_deref())?;
    let state = DirState::open(&ctx.state_dir)?;
    let _guard = if args.dry_run {
        None
    } else {
        Some(super::apply::lock(&state, timeout)?)
    };
    let options = Options { prune: false };
    // Pending changes of this stream go first, so the import sees the spec as defined, and
    // those of the streams its tags take images from (as Terraform's -target includes
    // dependencies): a tag following a stream not applied yet would otherwise fail.
    let involved = with_sources(&loaded.set, stream);
    let keys: Vec<StreamKey> = involved.iter().map(|s| s.key()).collect();
    let planned = reconcile::plan(&involved, &state, &options, None)?;
    let live = planned.snapshot.streams.get(&key);
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
    let mut left_out = Vec::new();
    let mut wanted: Vec<Change> = Vec::new();
    let repository = stream.repository();
    if args.all {
        if repository.is_some() {
            let repos = super::apply::repository_changes(
                &[stream],
                &planned.snapshot.streams,
                &registry,
                args.max,
            );
            if let Some(e) = repos.errors.first() {
                bail!("{}", e.message);
            }
            for note in &repos.notes {
                printer.warn(note);
            }
            wanted.extend(repos.changes);
            left_out = repos.left.into_values().flatten().collect();
        } else {
            for t in stream.spec.tags.iter().filter(|t| t.is_importable()) {
                wanted.push(forced(&key, t, live));
            }
            if wanted.is_empty() {
                bail!(
                    "image stream \"{}\" has no tags imported from a registry",
                    key.name
                );
            }
        }
    } else {
        let tag = tag.unwrap_or("latest");
        match stream.spec_tag(tag) {
            Some(t) => {
                let source = follow(stream, t)?;
                match &source.from {
                    Some(f) if f.kind == KIND_DOCKER_IMAGE && !source.reference => {
                        wanted.push(forced(&key, source, live));
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
                wanted.push(reconcile::forced_import(
                    &key,
                    tag,
                    live,
                    &format!("{repo}:latest"),
                    "import",
                ));
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
    for w in wanted {
        let dup = changes
            .iter()
            .any(|c| c.action == Action::Import && c.key() == w.key() && c.tag == w.tag);
        if !dup {
            changes.push(w);
        }
    }
    if args.dry_run {
        let plan = crate::plan::Plan {
            changes,
            errors,
            ..crate::plan::Plan::default()
        };
        super::apply::print_plan(&plan, ReportFormat::Text, printer);
    } else {
        let now = ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let report = super::apply::execute(
            &state,
            &planned.snapshot,
            &changes,
            &registry,
            &now,
            printer,
        )?;
        let status = super::apply::finish(
            &report,
            &errors,
            &super::apply::RepositoryImports::default(),
            &registry,
            ReportFormat::Text,
            printer,
        );
        if !left_out.is_empty() {
            printer.info(&not_imported(&left_out));
        }
        if status == ExitStatus::Failure {
            printer.info("error: import completed with errors");
        }
        return Ok(status);
    }
    if !left_out.is_empty() {
        printer.info(&not_imported(&left_out));
    }
    Ok(ExitStatus::Success)
}

/// `stream` and every defined stream its tags take images from, directly or through others
/// (`ImageStreamTag` and `ImageStreamImage` sources), `stream` first.
fn with_sources<'a>(set: &'a DefinitionSet, stream: &'a ImageStream) -> Vec<&'a ImageStream> {
    let mut out = vec![stream];
    let mut i = 0;
    while let Some(current) = out.get(i).copied() {
        i += 1;
        let ns = current.key().namespace;
        for from in current.spec.tags.iter().filter_map(|t| t.from.as_ref()) {
            let Some((source, _)) = from.source(&ns) else {
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

fn not_imported(tags: &[String]) -> String {
    let mut text = format!(
        "info: The remote repository contained {} additional tags which were not imported: ",
        tags.len()
    );
    let _ = write!(text, "{}", tags.join(", "));
    text
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

/// `import NAME --from PULLSPEC [--all] --confirm`: create `definitions/<ns>/<name>.yaml`
/// holding a stream that imports PULLSPEC (one tag: NAME's tag, else the pull spec's, else
/// `latest`; with `--all`, `spec.dockerImageRepository`). Without `--confirm` (or with
/// `--dry-run`) it shows the file it would create and writes nothing.
pub fn confirm_create(ctx: &Context, args: &ImportArgs, printer: &Printer) -> Result<ExitStatus> {
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
    let (config, policies, _) = ctx.load_settings();
    let mut session = Session::open(&ctx.root, config, policies)?;
    let set = session.load().set;
    let default_namespace = session.config().default_namespace.clone();
    let key = match resolve(&set, namespace, name, &default_namespace)? {
        Resolved::Existing(key) => {
            let file = &set.streams[&key].file;
            bail!(Hinted::new(
                format!("image stream `{key}` already exists (defined in `{file}`)"),
                "import --confirm only creates new streams; edit its tags with `streamsync tag`",
            ));
        }
        Resolved::New(key) => key,
    };
    let file = new_stream_file(&key);
    let target = target_for(&key, &file, &session);
    let text = if args.all {
        let mut repo = pull.clone();
        repo.tag.clear();
        repo.digest.clear();
        edit::set(
            &new_stream_text(&key),
            Format::Yaml,
            &target,
            &[
                Seg::Key("spec".into()),
                Seg::Key("dockerImageRepository".into()),
            ],
            &Val::str(repo.exact()),
        )?
    } else {
        let tag_name = target_tag
            .map(str::to_owned)
            .or_else(|| (!pull.tag.is_empty()).then(|| pull.tag.clone()))
            .unwrap_or_else(|| "latest".to_owned());
        let tag = TagReference {
            name: tag_name,
            from: Some(ObjectReference {
                kind: KIND_DOCKER_IMAGE.to_owned(),
                name: from.to_owned(),
                namespace: None,
            }),
            ..TagReference::default()
        };
        edit::add_tag(&new_stream_text(&key), Format::Yaml, &target, &tag)?
    };
    session.create(&file, text)?;
    let dry_run = !args.confirm || args.dry_run;
    finish(&session, dry_run, false, printer)?;
    if dry_run {
        printer.info(&format!(
            "image stream `{key}` does not exist; pass --confirm to create it in `{file}`"
        ));
    } else {
        printer.info(&format!("Created image stream `{key}` importing {from}."));
    }
    Ok(ExitStatus::Success)
}
