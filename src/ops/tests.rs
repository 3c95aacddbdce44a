//! The operations called as a program embedding streamsync calls them: a workspace from
//! explicit values, typed options, typed reports; no registry is needed because every tag
//! here is a reference tag (recorded, never imported).

use chrono::TimeZone as _;

use super::apply::{self, Report};
use super::edits::Edited;
use super::plan::Offline;
use super::{NoProgress, Run, Workspace};
use crate::plan::Action;

const DEFINITION: &str = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  namespace: web
spec:
  tags:
  - name: \"1\"
    from:
      kind: DockerImage
      name: quay.io/org/app:1
    reference: true
";

fn repo(definition: &str) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().expect("tempdir");
    let defs = dir.path().join("definitions/web");
    std::fs::create_dir_all(&defs).expect("definitions");
    std::fs::write(defs.join("app.yaml"), definition).expect("definition");
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    let ws = Workspace::new(dir.path()).with_now(now);
    (dir, ws)
}

fn applied(ws: &Workspace, options: &apply::Options) -> Report {
    match apply::run(ws, options, None, &NoProgress).expect("apply") {
        Run::Done(report) => report,
        Run::Invalid(invalid) => panic!("invalid: {:?}", invalid.diagnostics),
    }
}

#[test]
fn a_workspace_defaults_to_the_repository_layout() {
    let ws = Workspace::new("/repo");
    assert_eq!(
        ws.config_path,
        std::path::Path::new("/repo/streamsync.toml")
    );
    assert_eq!(ws.state_dir, std::path::Path::new("/repo/state"));
    assert!(!ws.config_given);
    let ws = ws.with_config("/elsewhere.toml").with_state_dir("/live");
    assert!(ws.config_given);
    assert_eq!(ws.state_dir, std::path::Path::new("/live"));
    // A config named explicitly must exist.
    assert!(ws.load_config().is_err());
}

#[test]
fn apply_records_the_reference_tag_and_the_next_run_is_up_to_date() {
    let (dir, ws) = repo(DEFINITION);
    let Report::Applied(done) = applied(&ws, &apply::Options::default()) else {
        panic!("nothing applied");
    };
    assert!(!done.failed() && !done.incomplete());
    assert_eq!(done.report.serial, 1);
    let actions: Vec<Action> = done
        .report
        .applied
        .results
        .iter()
        .map(|r| r.change.action)
        .collect();
    assert!(actions.contains(&Action::CreateStream), "{actions:?}");
    assert!(dir.path().join("state/web/app.yaml").is_file());
    assert!(done.requests.is_empty(), "no registry was asked");

    let Run::Done(planned) = super::plan::run(&ws, &Default::default()).expect("plan") else {
        panic!("invalid");
    };
    assert!(planned.planned.plan.is_empty());
    assert!(matches!(
        applied(&ws, &apply::Options::default()),
        Report::UpToDate { .. }
    ));
}

#[test]
fn a_declined_approval_and_a_dry_run_change_nothing() {
    let (dir, ws) = repo(DEFINITION);
    let mut seen = 0;
    let mut decline = |plan: &crate::plan::Plan| {
        seen = plan.changes.len();
        Ok(false)
    };
    let report =
        apply::run(&ws, &Default::default(), Some(&mut decline), &NoProgress).expect("apply");
    assert!(matches!(report, Run::Done(Report::Cancelled { .. })));
    assert!(seen > 0, "the approval saw the plan");
    let dry = apply::Options {
        dry_run: true,
        ..Default::default()
    };
    let Report::DryRun { plan, saved, .. } = applied(&ws, &dry) else {
        panic!("not a dry run");
    };
    assert!(!saved && !plan.is_empty());
    assert!(!dir.path().join("state").exists());
}

#[test]
fn invalid_definitions_are_reported_not_applied() {
    let (dir, ws) = repo(&DEFINITION.replace("kind: DockerImage", "kind: Nonsense"));
    let Run::Invalid(invalid) =
        apply::run(&ws, &Default::default(), None, &NoProgress).expect("apply")
    else {
        panic!("applied invalid definitions");
    };
    assert!(invalid.diagnostics.iter().any(|d| d.is_error()));
    assert_eq!(invalid.files, 1);
    assert!(!dir.path().join("state").exists());
    let loaded = super::validate::run(&ws, &Default::default()).expect("validate");
    assert!(loaded.has_errors());
}

#[test]
fn a_tag_edit_reports_its_diff_and_the_plan_it_implies() {
    let (dir, ws) = repo(DEFINITION);
    let options = super::tag::Options {
        args: vec!["quay.io/org/app:2".into(), "web/app:2".into()],
        dry_run: true,
        ..Default::default()
    };
    let report = super::tag::run(&ws, &options).expect("tag");
    let Edited {
        files,
        dry_run,
        messages,
        implied,
    } = report.edited;
    assert!(dry_run);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "definitions/web/app.yaml");
    assert!(files[0].after.contains("quay.io/org/app:2"));
    assert_eq!(messages, ["Tag web/app:2 set to quay.io/org/app:2."]);
    // Written nothing.
    let on_disk = std::fs::read_to_string(dir.path().join("definitions/web/app.yaml")).unwrap();
    assert_eq!(on_disk, DEFINITION);
    let Some(Ok(Offline::Plan(plan))) = implied else {
        panic!("no implied plan");
    };
    assert!(
        plan.changes
            .iter()
            .any(|c| c.action == Action::Import && c.tag.as_deref() == Some("2")),
        "{:?}",
        plan.changes
    );
}

#[test]
fn a_sync_pass_commits_the_state_with_a_message_naming_its_changes() {
    let (dir, ws) = repo(DEFINITION);
    let git = git2::Repository::init(dir.path()).expect("git init");
    let options = super::sync::Options {
        commit: true,
        author: Some("streamsync <sync@example.com>".into()),
        ..Default::default()
    };
    let Run::Done(report) = super::sync::pass(&ws, &options, &NoProgress).expect("pass") else {
        panic!("invalid");
    };
    assert!(report.commit_error.is_none(), "{:?}", report.commit_error);
    let committed = report.committed.expect("a commit");
    assert_eq!(committed.subject, "streamsync: update live state");
    let head = git.head().expect("head").peel_to_commit().expect("commit");
    assert_eq!(head.id().to_string(), committed.id);
    assert_eq!(
        head.author().email().unwrap_or_default(),
        "sync@example.com"
    );
    let message = head.message().unwrap_or_default();
    assert!(message.contains("create stream web/app"), "{message}");
    let tree = head.tree().expect("tree");
    assert!(
        tree.get_path(std::path::Path::new("state/web/app.yaml"))
            .is_ok()
    );
    // Nothing left to do: the next pass writes and commits nothing.
    let Run::Done(again) = super::sync::pass(&ws, &options, &NoProgress).expect("pass") else {
        panic!("invalid");
    };
    assert!(again.committed.is_none());
    assert!(!again.applied.report.written.any());
}

#[test]
fn prune_write_removes_stale_dated_tags_only_when_not_a_dry_run() {
    let stale = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  namespace: web
spec:
  tags:
  - name: \"20200101\"
    from:
      kind: DockerImage
      name: quay.io/org/app:20200101
    reference: true
  - name: latest
    from:
      kind: DockerImage
      name: quay.io/org/app:latest
    reference: true
";
    let (dir, ws) = repo(stale);
    let dry = super::prune::Options {
        write: true,
        dry_run: true,
        ..Default::default()
    };
    let Run::Done(report) = super::prune::run(&ws, &dry).expect("prune") else {
        panic!("invalid");
    };
    let removed = report.written.expect("write was asked for");
    assert_eq!(removed.tags, 1);
    assert!(removed.edited.dry_run && removed.edited.implied.is_none());
    assert!(!removed.edited.files[0].after.contains("20200101"));
    let path = dir.path().join("definitions/web/app.yaml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), stale);

    let write = super::prune::Options {
        dry_run: false,
        ..dry
    };
    let Run::Done(report) = super::prune::run(&ws, &write).expect("prune") else {
        panic!("invalid");
    };
    assert_eq!(report.written.expect("written").tags, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("20200101") && text.contains("latest"),
        "{text}"
    );
}

fn hinted(err: &anyhow::Error) -> &crate::error::Hinted {
    err.downcast_ref::<crate::error::Hinted>()
        .unwrap_or_else(|| panic!("not a hinted error: {err:#}"))
}

#[test]
fn get_reads_the_live_state_as_values_and_names_what_it_cannot_find() {
    use super::get::{self, Options, Query};
    use crate::get::{Found, render};
    let (_dir, ws) = repo(DEFINITION);
    let ask = |query: Query, objects: bool| get::run(&ws, &Options { query, objects });

    // Before the first apply the state is empty, and a stream is not in it.
    let Found::Streams(empty) = ask(Query::Streams, false).expect("streams") else {
        panic!("not the streams");
    };
    assert!(empty.streams.is_empty() && empty.rows.is_empty());
    let err = ask(Query::Stream("app".into()), false).expect_err("no stream yet");
    assert_eq!(
        hinted(&err).hint.as_deref(),
        Some("the live state is empty; run `streamsync apply` first")
    );

    applied(&ws, &apply::Options::default());

    let Found::Streams(all) = ask(Query::Streams, false).expect("streams") else {
        panic!("not the streams");
    };
    assert_eq!(all.streams.len(), 1);
    assert_eq!(
        (
            all.rows[0].namespace.as_str(),
            all.rows[0].name.as_str(),
            all.rows[0].tags.clone()
        ),
        ("web", "app", vec!["1".to_owned()])
    );
    let Found::Stream(stream) = ask(Query::Stream("app".into()), false).expect("stream") else {
        panic!("not a stream");
    };
    assert_eq!(stream.key().to_string(), "web/app");

    // A description needs no object; YAML and JSON print the ImageStreamTag.
    let Found::Tag(described) = ask(Query::Tag("app:1".into()), false).expect("tag") else {
        panic!("not a tag");
    };
    assert!(described.object.is_none());
    assert_eq!(described.pull_spec.as_deref(), Some("quay.io/org/app:1"));
    assert!(render::show(&Found::Tag(described), render::Format::Yaml, ws.now).is_err());
    let found = ask(Query::Tag("web/app:1".into()), true).expect("tag");
    let Found::Tag(tag) = &found else {
        panic!("not a tag");
    };
    let object = tag.object.as_ref().expect("the ImageStreamTag");
    assert_eq!(object.kind, "ImageStreamTag");
    assert_eq!(object.metadata.name, "app:1");
    assert_eq!(object.metadata.namespace, "web");
    assert_eq!(object.image.docker_image_reference, "quay.io/org/app:1");
    let json: serde_json::Value =
        serde_json::from_str(&render::show(&found, render::Format::Json, ws.now).expect("json"))
            .expect("JSON");
    assert_eq!(json["kind"], "ImageStreamTag");
    assert_eq!(json["tag"]["from"]["name"], "quay.io/org/app:1");

    // What is not there is an error with a hint, as on the command line.
    let err = ask(Query::Tag("app:2".into()), false).expect_err("no such tag");
    assert_eq!(hinted(&err).message, "stream `web/app` has no tag `2`");
    assert_eq!(hinted(&err).hint.as_deref(), Some("its tags: 1"));
    let err = ask(Query::Tag("app".into()), false).expect_err("not a tag name");
    assert!(hinted(&err).message.contains("[namespace/]stream:tag"));
    let err = ask(Query::Stream("web/ap".into()), false).expect_err("misspelt");
    assert_eq!(
        hinted(&err).hint.as_deref(),
        Some("did you mean `web/app`?")
    );
    let err = ask(Query::Image("3a335d7".into()), false).expect_err("a reference tag");
    assert_eq!(
        hinted(&err).message,
        "no image in the live state matches `3a335d7`"
    );
}

/// A manifest's problem comes back in the report of every operation that checked the
/// triggers, as often as they run: nothing keeps it aside for a first reader to take.
#[test]
fn manifest_problems_travel_in_each_report() {
    let (dir, ws) = repo(DEFINITION);
    let deploy = dir.path().join("deploy");
    std::fs::create_dir_all(&deploy).expect("deploy");
    std::fs::write(
        deploy.join("web.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:nope\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: x\n",
    )
    .expect("manifest");
    let codes = |problems: &[crate::diagnostic::Diagnostic]| -> Vec<&'static str> {
        problems.iter().map(|d| d.code).collect()
    };
    let loaded = ws.load_definitions(None).expect("definitions");
    let triggers = ws.check_triggers(&loaded, None).expect("triggers");
    assert_eq!(codes(&triggers.problems), ["trigger-unknown-tag"]);
    assert_eq!(triggers.scan.triggers.len(), 1);
    for _ in 0..2 {
        let Run::Done(planned) = super::plan::run(&ws, &Default::default()).expect("plan") else {
            panic!("not planned");
        };
        assert_eq!(
            codes(&planned.planned.plan.rollouts.problems),
            ["trigger-unknown-tag"]
        );
    }
    let report = applied(&ws, &apply::Options::default());
    assert!(matches!(report, Report::Applied(_)));
    assert_eq!(codes(report.manifest_problems()), ["trigger-unknown-tag"]);
    let report = applied(&ws, &apply::Options::default());
    assert!(matches!(report, Report::UpToDate { .. }));
    assert_eq!(codes(report.manifest_problems()), ["trigger-unknown-tag"]);
    let validated = super::validate::run(&ws, &Default::default()).expect("validate");
    assert!(
        validated
            .diagnostics
            .iter()
            .any(|d| d.code == "trigger-unknown-tag"),
        "{:?}",
        validated.diagnostics
    );
}
