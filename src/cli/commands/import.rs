//! `import`: `oc import-image`. This file holds the creation path (`--from PULLSPEC
//! --confirm`), which writes a new definition file through the editor; the re-import of
//! existing streams is built separately.

use anyhow::{Context as _, Result, bail};

use super::tag::{Resolved, finish, new_stream_file, new_stream_text, resolve, target_for};
use crate::cli::{Context, ExitStatus, ImportArgs, Printer};
use crate::edit::{self, Format, Seg, Session, Val};
use crate::error::Hinted;
use crate::model::{KIND_DOCKER_IMAGE, ObjectReference, TagReference, reference};

/// Run `import`.
pub fn run(ctx: &Context, args: &ImportArgs, printer: &Printer) -> Result<ExitStatus> {
    if args.confirm || args.from.is_some() {
        return confirm_create(ctx, args, printer);
    }
    bail!("`import` is not built yet")
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
