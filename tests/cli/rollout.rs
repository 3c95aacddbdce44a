//! Roll-outs through the binary: `validate` and the commands that report trigger errors and
//! warnings yet do their work, and `rollout` itself on real files (byte-exact expected files) with Source and Local
//! reference policies, paused and waiting triggers, `--dry-run` and JSON.

use std::path::Path;

use crate::common::{TestRepo, crate_path, stream};
use crate::scenarios::scenario_repo;
use crate::snap;

/// The `update` scenario (stream `web/ruby` with images in the live state) plus the
/// manifests of `tests/fixtures/rollout/cli/deploy`.
fn repo() -> TestRepo {
    let repo = scenario_repo("update");
    for f in ["web.yaml", "worker.json"] {
        repo.copy(
            format!("tests/fixtures/rollout/cli/deploy/{f}"),
            &format!("deploy/{f}"),
        );
    }
    repo
}

/// [`repo`] with definitions equal to the live state, so a plan has roll-outs and no change;
/// the canary follows `docs` (in the live state) rather than `edge` (not in it).
fn settled_repo() -> TestRepo {
    let repo = repo();
    let web = repo.path().join("deploy/web.yaml");
    std::fs::write(&web, read(&web).replace("ruby:edge", "ruby:docs")).unwrap();
    repo.write(
        "definitions/web/ruby.yaml",
        &read(&repo.path().join("state/web/ruby.yaml")),
    );
    repo
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The repository's manifests equal the expected files of `tests/fixtures/rollout/cli/<dir>`.
fn assert_manifests(repo: &TestRepo, dir: &str) {
    for f in ["web.yaml", "worker.json"] {
        assert_eq!(
            read(&repo.path().join("deploy").join(f)),
            read(&crate_path(format!("tests/fixtures/rollout/cli/{dir}/{f}"))),
            "deploy/{f} against {dir}/{f}"
        );
    }
}

#[test]
fn rollout_rolls_source_tags_to_their_pull_specs_byte_for_byte() {
    let repo = repo();
    let dry = repo.run(&["rollout", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    snap!("rollout_dry_run", dry.snapshot());
    // A dry run writes nothing.
    assert_manifests(&repo, "deploy");

    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Rolled 2 containers in 2 files (1 paused, 1 waiting)."),
        "{}",
        out.stderr
    );
    assert_manifests(&repo, "source");

    // Rolled: nothing left to do, and nothing rewritten.
    let again = repo.run(&["rollout"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("Nothing to roll (1 paused, 1 waiting)."),
        "{}",
        again.stderr
    );
    assert_manifests(&repo, "source");
}

#[test]
fn rollout_rolls_local_tags_to_the_integrated_registry() {
    let repo = repo();
    let state = repo.path().join("state/web/ruby.yaml");
    std::fs::write(&state, read(&state).replace("type: Source", "type: Local")).unwrap();
    repo.write(
        "streamsync.toml",
        "[cluster]\ninternal_registry = \"image-registry.openshift-image-registry.svc:5000\"\n",
    );
    let out = repo.run(&["rollout", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format_version"], "1.1");
    assert_eq!(v["summary"]["rollout"], 2);
    assert_eq!(
        v["written"],
        serde_json::json!(["deploy/web.yaml", "deploy/worker.json"])
    );
    let worker = &v["rollouts"][1];
    assert_eq!(worker["kind"], "DeploymentConfig");
    assert_eq!(worker["before"], " ");
    assert_eq!(worker["from"], "web/ruby:3.1");
    assert_eq!(
        worker["after"],
        format!(
            "image-registry.openshift-image-registry.svc:5000/web/ruby@sha256:3a335d7{}",
            "e".repeat(57)
        )
    );
    assert_manifests(&repo, "local");
}

/// Every kind of trigger error, one object each, beside manifests that roll; returns the
/// text of `deploy/errors.yaml`.
fn write_trigger_errors(repo: &TestRepo) -> String {
    repo.write(
        "deploy/broken.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:lates"},"fieldPath":"spec.template.spec.containers[0].image"}]'
spec:
  template:
    spec:
      containers:
      - name: api
        image: x
"#,
    );
    // Every other kind of trigger error, one object each, and the two objects (a build output,
    // a tag of the definitions) that are fine.
    let t = |from: &str, field_path: &str| {
        format!(
            r#"'[{{"from":{from},"fieldPath":"spec.template.spec.containers{field_path}.image"}}]'"#
        )
    };
    let ist = |name: &str| format!(r#"{{"kind":"ImageStreamTag","name":"{name}"}}"#);
    let errors = [
        ("json", r#"'[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},'"#.to_owned()),
        ("not-a-list", r#"'{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"}}'"#.to_owned()),
        ("no-kind", t(r#"{"name":"ruby:3.3"}"#, "[0]")),
        ("other-kind", t(r#"{"kind":"DockerImage","name":"ruby:3.3"}"#, "[0]")),
        ("no-container", t(&ist("ruby:3.3"), "[2]")),
        ("no-such-name", t(&ist("ruby:3.3"), r#"[?(@.name==\"nope\")]"#)),
        (
            "no-init",
            r#"'[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.initContainers[0].image"}]'"#.to_owned(),
        ),
        (
            "not-a-container",
            r#"'[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.containers[0].image"}]'"#.to_owned(),
        ),
        (
            "duplicate",
            format!(
                r#"'[{{"from":{},"fieldPath":"spec.template.spec.containers[0].image"}},{{"from":{},"fieldPath":"spec.template.spec.containers[0].image"}}]'"#,
                ist("ruby:3.3"),
                ist("ruby:3.1")
            ),
        ),
        ("unknown-tag", t(&ist("ruby:nope"), "[0]")),
        ("built", t(&ist("site:latest"), "[0]")),
        ("defined", t(&ist("ruby:3.3"), "[0]")),
    ];
    let mut text = String::from(
        "apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata: {name: site, namespace: web}\nspec:\n  output:\n    to: {kind: ImageStreamTag, name: \"site:latest\"}\n",
    );
    for (name, annotation) in errors {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: {annotation}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n"
        ));
    }
    // A container written as an alias of another: rolling it would roll both.
    text.push_str(&format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: alias\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: {}\nspec:\n  template:\n    spec:\n      initContainers:\n      - &app {{name: app, image: x}}\n      containers:\n      - *app\n",
        t(&ist("ruby:3.3"), "[0]")
    ));
    repo.write("deploy/errors.yaml", &text);
    repo.write(
        "deploy/dc.json",
        r#"{"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
 "metadata": {"name": "dc", "namespace": "web"},
 "spec": {
  "template": {"spec": {"containers": [{"name": "app", "image": " "}]}},
  "triggers": [
   {"type": "ConfigChange"},
   {"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["app"], "from": {"name": "ruby:3.3"}}},
   {"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["gone"], "from": {"kind": "ImageStreamTag", "name": "ruby:3.3"}}},
   {"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["app"], "from": {"kind": "ImageStreamTag", "name": "python:3.11"}}}
  ]}}
"#,
    );
    // Tabs indent nothing in YAML: the file is named, and it alone.
    repo.write(
        "deploy/tabs.yaml",
        "kind: Deployment\nmetadata:\n\tname: tabs\n\tannotations:\n\t\timage.openshift.io/triggers: '[]'\n",
    );
    text
}

#[test]
fn trigger_errors_fail_validate_and_every_command_but_stop_nothing() {
    let repo = repo();
    let text = write_trigger_errors(&repo);
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    snap!("rollout_validate_errors", out.snapshot());
    for name in ["built", "defined"] {
        let line = text
            .lines()
            .position(|l| l == format!("  name: {name}"))
            .unwrap();
        assert!(
            !out.stderr
                .contains(&format!("deploy/errors.yaml:{}:", line + 4)),
            "{name}: {}",
            out.stderr
        );
    }
    // A typo of a defined tag stays an error, with the nearest tag.
    assert!(
        out.stderr.contains("deploy/broken.yaml:7:")
            && out.stderr.contains("hint: did you mean `ruby:latest`?"),
        "{}",
        out.stderr
    );
    // Each command does its work (the other manifests roll), then prints the errors and
    // fails.
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["sync", "--once"],
        &["rollout"],
    ] {
        let repo = settled_repo();
        write_trigger_errors(&repo);
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("deploy/broken.yaml:7:")
                && out.stderr.contains("deploy/errors.yaml:140:")
                && out.stderr.contains("deploy/tabs.yaml:3:2"),
            "{args:?}: {}",
            out.stderr
        );
        let web = read(&repo.path().join("deploy/web.yaml"));
        if args == ["plan"] {
            assert!(
                out.stdout
                    .contains("~ roll deploy/web.yaml Deployment web/web"),
                "{}",
                out.stdout
            );
            assert!(web.contains(&"c".repeat(64)), "{web}");
        } else {
            assert!(
                web.contains(&format!("ruby@sha256:3a33{}", "b".repeat(60))),
                "{args:?}: {web}\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn the_seed_guide_form_rolls_with_a_warning() {
    let repo = repo();
    repo.write(
        "deploy/guide.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: guide
  namespace: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[?(@.name=''web'')].image","paused":"false"}]'
spec:
  template:
    spec:
      containers:
      - name: web
        image: x
"#,
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("deploy/guide.yaml:7:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        read(&repo.path().join("deploy/guide.yaml")).contains(&format!(
            "        image: registry.example.com/ruby@sha256:3a33{}\n",
            "b".repeat(60)
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn the_example_repository_stays_valid_with_its_manifest() {
    let out = crate::common::run_in(&crate_path(""), &["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = crate::common::run_in(&crate_path(""), &["rollout", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "waiting deploy/ruby-hello.yaml Deployment demo/ruby-hello container web (follows demo/ruby:latest)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_shows_pending_rollouts_in_text_and_markdown() {
    let repo = repo();
    let text = repo.run(&["plan"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(&format!(
            "\nRoll-outs:\n~ roll deploy/web.yaml Deployment web/web container web: registry.example.com/ruby@sha256:{} → registry.example.com/ruby@sha256:3a33{}\n",
            "c".repeat(64),
            "b".repeat(60)
        )),
        "{}",
        text.stdout
    );
    // The plan adds `edge` as a reference to `ruby:3.4-rc`, which the canary already runs:
    // once applied it neither waits nor rolls.
    assert!(
        text.stdout.ends_with(
            "Would roll 2 containers in 2 files (1 paused).\n\nPlan: 2 to add, 3 to change, 1 to remove, 0 to import, 2 to roll.\n"
        ),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("container canary"), "{}", text.stdout);
    snap!("rollout_plan_text", text.stdout.clone());
    let md = repo.run(&["plan", "--format", "markdown"]);
    snap!("rollout_plan_markdown", md.stdout.clone());
    assert!(
        md.stdout
            .contains("\n### Roll-outs\n\n```\n~ roll deploy/web.yaml"),
        "{}",
        md.stdout
    );
    // Rolled: the plan has none left to show, and writes nothing itself.
    assert_manifests(&repo, "deploy");
    assert_eq!(repo.run(&["rollout"]).code, 0);
    let after = repo.run(&["plan"]);
    assert!(!after.stdout.contains("Roll-outs:"), "{}", after.stdout);
}

#[test]
fn detailed_exitcode_is_2_while_a_rollout_is_pending() {
    let repo = settled_repo();
    let out = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("Roll-outs:\n")
            && out
                .stdout
                .ends_with("\nPlan: 0 to add, 0 to change, 0 to remove, 0 to import, 3 to roll.\n"),
        "{}",
        out.stdout
    );
    assert_eq!(repo.run(&["rollout"]).code, 0);
    let out = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn plan_json_lists_rollouts_and_counts_them() {
    let repo = repo();
    let out = repo.run(&["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format_version"], "1.2");
    assert_eq!(v["summary"]["rollout"], 2);
    let web = &v["rollouts"][0];
    let fields: Vec<&str> = web
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "file",
            "line",
            "kind",
            "namespace",
            "name",
            "container",
            "field_path",
            "before",
            "after",
            "from"
        ]
    );
    assert_eq!(v["rollouts_skipped"][0]["reason"], "paused");
    snap!("rollout_plan_json", out.stdout);
    // The same count in a saved plan.
    let saved = repo.path().join("saved.json");
    let out = repo.run(&["plan", "--out", saved.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&read(&saved)).unwrap();
    assert_eq!(v["format_version"], "1.2");
    assert_eq!(v["summary"]["rollout"], 2);
}

#[test]
fn base_marks_the_rollouts_a_pull_request_introduces() {
    let repo = repo();
    // The base has the web tier only; the pull request adds the worker.
    let worker = read(&repo.path().join("deploy/worker.json"));
    std::fs::remove_file(repo.path().join("deploy/worker.json")).unwrap();
    let git = git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git, "base");
    repo.write("deploy/worker.json", &worker);

    let out = repo.run(&["plan", "--base", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let marks: Vec<(&str, bool)> = v["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap(),
                r["introduced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [("deploy/web.yaml", false), ("deploy/worker.json", true)]
    );
    let text = repo.run(&["plan", "--base", "HEAD"]);
    assert!(
        text.stdout.contains(
            "Roll-outs:\nIntroduced by this revision (1):\n~ roll deploy/worker.json DeploymentConfig web/worker"
        ) && text
            .stdout
            .contains("Drift already pending on the base (1):\n~ roll deploy/web.yaml Deployment web/web"),
        "{}",
        text.stdout
    );
    let md = repo.run(&["plan", "--base", "HEAD", "--format", "markdown"]);
    assert!(
        md.stdout
            .contains("### Roll-outs\n\n```\nIntroduced by this revision (1):\n")
            && md.stdout.contains(
                "\n1 roll-out introduced by this pull request; 1 already due on the base.\n"
            ),
        "{}",
        md.stdout
    );
}

#[test]
fn an_unreadable_manifest_is_an_error_and_the_others_still_roll() {
    let repo = repo();
    repo.write(
        "deploy/broken.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  annotations:\n    image.openshift.io/triggers: '[]'\nspec: [unclosed\n",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("deploy/broken.yaml:"), "{}", out.stderr);

    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("Roll-outs:\n~ roll"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("deploy/broken.yaml:")
            && plan.stderr.contains("cannot read this manifest"),
        "{}",
        plan.stderr
    );

    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Rolled 2 containers in 2 files (1 paused, 1 waiting).")
            && out.stderr.contains("deploy/broken.yaml:"),
        "{}",
        out.stderr
    );
    assert_manifests(&repo, "source");
}

#[test]
fn nothing_rolls_from_a_failed_import() {
    let repo = repo();
    let state = repo.path().join("state/web/ruby.yaml");
    // The last import of `latest` failed: it keeps its image, but nothing rolls to it.
    std::fs::write(
        &state,
        read(&state).replace(
            "  - tag: latest\n    items:\n",
            "  - tag: latest\n    conditions:\n    - type: ImportSuccess\n      status: \"False\"\n      reason: NotFound\n      message: manifest unknown\n      generation: 3\n    items:\n",
        ),
    )
    .unwrap();
    let out = repo.run(&["rollout", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "  waiting deploy/web.yaml Deployment web/web container web (follows web/ruby:latest): its last import failed: NotFound: manifest unknown\n"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("container web:"), "{}", out.stdout);
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let web = read(&repo.path().join("deploy/web.yaml"));
    assert!(
        web.contains(&format!("ruby@sha256:{}", "c".repeat(64))),
        "{web}"
    );
}

/// `[rollout] branch` must be a Git branch name: an error at its line, so `validate` and the
/// commands that work from the config say so before any pass commits anything.
#[test]
fn an_invalid_rollout_branch_is_a_config_error_at_its_line() {
    let repo = repo();
    repo.write(
        "streamsync.toml",
        "[rollout]\npull_request = true\nbranch = \"roll outs..\"\n",
    );
    for command in ["validate", "sync"] {
        let args: &[&str] = if command == "sync" {
            &["sync", "--once", "--commit"]
        } else {
            &[command]
        };
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        assert!(
            out.stderr.contains(
                "streamsync.toml:3:10: error: `roll outs..` is not a valid Git branch name (for example `streamsync/rollout`)"
            ),
            "{}",
            out.stderr
        );
    }
    repo.write(
        "streamsync.toml",
        "[rollout]\npull_request = true\nbranch = \"team/deploys\"\n",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
}

#[test]
fn a_trigger_waits_while_its_tag_or_the_tag_it_follows_has_an_import_due() {
    let repo = repo();
    let defs = repo.path().join("definitions/web/ruby.yaml");
    // `latest` follows `3.3`, whose new source is not imported yet: offline, the plan cannot
    // know the image the web tier will roll to, so it does not roll it to the old one.
    std::fs::write(
        &defs,
        read(&defs).replace(
            "name: registry.example.com/ruby:3.3",
            "name: registry.example.com/ruby:3.4",
        ),
    )
    .unwrap();
    let out = repo.run(&["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["container"] != "web"),
        "{}",
        out.stdout
    );
    let waiting: Vec<&serde_json::Value> = v["rollouts_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["container"] == "web")
        .collect();
    assert_eq!(waiting.len(), 1, "{}", out.stdout);
    assert_eq!(waiting[0]["reason"], "waiting");
    assert!(
        waiting[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("an import is due first"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_manifest_not_utf8_or_too_large_is_named_when_it_holds_a_trigger() {
    let repo = repo();
    let mut latin1 = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: caf\xe9\n  annotations:\n    image.openshift.io/triggers: '[]'\n".to_vec();
    latin1.extend_from_slice(b"spec: {}\n");
    std::fs::write(repo.path().join("deploy/latin1.yaml"), latin1).unwrap();
    // Large files: one with a trigger at its very end, one with none (left alone, silently).
    let filler = "# padding\n".repeat(1_700_000);
    repo.write(
        "deploy/huge.yaml",
        &format!("{filler}metadata:\n  annotations:\n    image.openshift.io/triggers: '[]'\n"),
    );
    repo.write("deploy/data.yaml", &filler);

    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("deploy/latin1.yaml:1:1")
            && out.stderr.contains("not UTF-8")
            && out.stderr.contains("deploy/huge.yaml:1:1")
            && out
                .stderr
                .contains("more than the 16777216 a manifest may have")
            && !out.stderr.contains("deploy/data.yaml"),
        "{}",
        out.stderr
    );
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("deploy/latin1.yaml:1:1"),
        "{}",
        out.stderr
    );
    assert_manifests(&repo, "source");
}

#[test]
fn apply_rolls_what_the_plan_said_even_with_no_change_to_the_state() {
    let repo = settled_repo();
    let web = repo.path().join("deploy/web.yaml");
    let state_before = read(&repo.path().join("state/web/ruby.yaml"));
    let web_before = read(&web);
    let dry = repo.run(&["apply", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("Roll-outs:\n~ roll deploy/web.yaml")
            && dry.stdout.ends_with("0 to import, 3 to roll.\n"),
        "{}",
        dry.stdout
    );
    assert_eq!(read(&web), web_before);

    let out = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("No changes. Live state matches the definitions.\n~ roll deploy/web.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("Rolled 3 containers in 2 files (1 paused)."),
        "{}",
        out.stderr
    );
    assert_ne!(read(&web), web_before);
    // The state was not written.
    assert_eq!(read(&repo.path().join("state/web/ruby.yaml")), state_before);

    let again = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout,
        "No changes. Live state matches the definitions.\n"
    );
    assert!(!again.stderr.contains("Rolled"), "{}", again.stderr);
    let plan = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

fn digest_3_1() -> String {
    format!("registry.example.com/ruby@sha256:3a335d7{}", "e".repeat(57))
}

fn digest_3_3() -> String {
    format!("registry.example.com/ruby@sha256:3a33{}", "b".repeat(60))
}

/// OpenShift's defaults for a DeploymentConfig: `from` without `kind` is an ImageStreamTag,
/// `kind: ImageStream` follows `latest`, a container name that matches nothing is ignored
/// (the others roll), and `lastTriggeredImage` is written with the image where the trigger
/// has it (even `""`), never inserted where it has not.
#[test]
fn deployment_config_defaults_and_last_triggered_image() {
    let repo = settled_repo();
    let dc = r#"apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: defaults
  namespace: web
spec:
  triggers:
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [web, gone]
      from: {name: "ruby:3.1"}
      lastTriggeredImage: ""
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [stream]
      from: {kind: ImageStream, name: ruby}
  template:
    spec:
      containers:
      - name: web
        image: " "
      - name: stream
        image: " "
"#;
    repo.write("deploy/dc.yaml", dc);
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "deploy/dc.yaml:11:29: warning: ImageChange trigger 1 of DeploymentConfig `defaults` names container `gone`, which DeploymentConfig `defaults` does not have; OpenShift ignores the name, and so does streamsync"
        ),
        "{}",
        out.stderr
    );
    let out = repo.run(&["rollout", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mine: Vec<(&str, &str)> = v["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["file"] == "deploy/dc.yaml")
        .map(|r| {
            (
                r["container"].as_str().unwrap(),
                r["from"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [("web", "web/ruby:3.1"), ("stream", "web/ruby:latest")],
        "{}",
        out.stdout
    );
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = dc
        .replacen(
            "lastTriggeredImage: \"\"",
            &format!("lastTriggeredImage: \"{}\"", digest_3_1()),
            1,
        )
        .replacen("image: \" \"", &format!("image: \"{}\"", digest_3_1()), 1)
        .replacen("image: \" \"", &format!("image: \"{}\"", digest_3_3()), 1);
    assert_eq!(read(&repo.path().join("deploy/dc.yaml")), expected);
    assert_eq!(expected.matches("lastTriggeredImage").count(), 1);
}

/// Two triggers with different field paths select one container: OpenShift applies them in
/// order, so the last one wins; `validate` warns. A paused one changes nothing.
#[test]
fn of_two_triggers_on_one_container_the_last_wins_with_a_warning() {
    let repo = settled_repo();
    let annotation = r#"'[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:3.1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"app\")].image"},{"from":{"kind":"ImageStreamTag","name":"ruby:latest"},"fieldPath":"spec.template.spec.containers[?(@.name=''app'')].image","paused":true}]'"#;
    let text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: twice\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: {annotation}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n"
    );
    repo.write("deploy/twice.yaml", &text);
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("deploy/twice.yaml:7:")
            && out.stderr.contains(
                "Deployment `twice`: the trigger on `web/ruby:3.3` (`spec.template.spec.containers[0].image`) selects container `app`, which the trigger on `web/ruby:3.1`"
            )
            && out.stderr.contains("so the last one wins"),
        "{}",
        out.stderr
    );
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(&repo.path().join("deploy/twice.yaml")),
        text.replace("image: x", &format!("image: {}", digest_3_1()))
    );
}

/// The warnings for forms OpenShift ignores reach every command that reads triggers, and the
/// pull-request comment, with file and line; none of them fails a command.
#[test]
fn warnings_for_forms_openshift_ignores_are_printed_by_every_command() {
    let guide = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: guide
  namespace: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[?(@.name=''web'')].image"}]'
spec:
  template:
    spec:
      containers:
      - name: web
        image: x
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]'
spec:
  template:
    spec:
      containers:
      - name: once
        image: x
---
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: annotated
  namespace: web
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"ruby:3.3"},"fieldPath":"spec.template.spec.containers[0].image"}]'
spec:
  template:
    spec:
      containers:
      - name: annotated
        image: x
"#;
    let dc = "deploy/guide.yaml:35:34: warning: DeploymentConfig `annotated`: OpenShift's controller does not read the trigger annotation on a DeploymentConfig, only its `spec.triggers` (`ImageChange`)";
    let selector = "deploy/guide.yaml:7:101: warning: trigger 1 of Deployment `guide`: OpenShift's controller does not match field path `spec.template.spec.containers[?(@.name='web')].image`, finds no container for it and so ignores every trigger of Deployment `guide`";
    let job = "deploy/guide.yaml:21:34: warning: Job `once`: OpenShift's controller does not update this kind from image triggers, and a Job's or Pod's template cannot change once it is created";
    for args in [
        &["validate"][..],
        &["plan"],
        &["plan", "--format", "markdown"],
        &["rollout", "--dry-run"],
        &["apply", "--auto-approve"],
        &["sync", "--once"],
        &["rollout"],
    ] {
        let repo = settled_repo();
        repo.write("deploy/guide.yaml", guide);
        let out = repo.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(selector) && out.stderr.contains(job) && out.stderr.contains(dc),
            "{args:?}: {}",
            out.stderr
        );
        if args == ["plan", "--format", "markdown"] {
            assert!(
                out.stdout.contains("> [!WARNING]\n> The workload manifests have image triggers OpenShift would read differently:\n> - `deploy/guide.yaml:7:101` warning: trigger 1 of Deployment")
                    && out.stdout.contains("> - `deploy/guide.yaml:21:34` warning: Job"),
                "{}",
                out.stdout
            );
        }
        // The commands that roll rolled it, as written.
        let rolls = matches!(args[0], "apply" | "sync" | "rollout") && !args.contains(&"--dry-run");
        assert_eq!(
            read(&repo.path().join("deploy/guide.yaml"))
                .matches(&format!("image: {}", digest_3_3()))
                .count(),
            if rolls { 3 } else { 0 },
            "{args:?}"
        );
    }
}

/// A stream that imports a whole repository (`spec.dockerImageRepository`) has tags only
/// once imported: a trigger on a tag its spec does not list waits, it is no error.
#[test]
fn a_tag_of_a_docker_image_repository_stream_waits() {
    let repo = settled_repo();
    repo.define(
        "web",
        &stream("mirror")
            .namespace("web")
            .repository("registry.example.com/mirror"),
    );
    repo.write(
        "deploy/mirror.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mirror\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"mirror:v2\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = repo.run(&["rollout", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "  waiting deploy/mirror.yaml Deployment web/mirror container app (follows web/mirror:v2)"
        ),
        "{}",
        out.stdout
    );
}

/// A trigger naming a tag the stream does not have suggests the nearest tag name.
#[test]
fn a_trigger_naming_a_missing_tag_suggests_the_nearest() {
    let repo = repo();
    repo.write(
        "deploy/typo.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typo\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:lates\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("has no tag `lates`"), "{all}");
    assert!(all.contains("hint: did you mean `ruby:latest`?"), "{all}");
}

#[test]
fn what_git_ignores_is_not_rolled_and_costs_nothing() {
    let repo = repo();
    let web = read(&repo.path().join("deploy/web.yaml"));
    // Copies of a manifest that rolls, where Git ignores them: a folder the top `.gitignore`
    // names, a pattern of a nested `.gitignore`, `.git/info/exclude`, and `target/`.
    repo.write(".gitignore", "/generated/\nnode_modules/\n");
    repo.write("deploy/.gitignore", "*.local.yaml\n");
    git2::Repository::init(repo.path()).unwrap();
    repo.write(".git/info/exclude", "scratch/\n");
    for path in [
        "generated/web.yaml",
        "node_modules/chart/deploy/web.yaml",
        "deploy/web.local.yaml",
        "scratch/web.yaml",
        "target/web.yaml",
    ] {
        repo.write(path, &web);
    }
    // Ignored folders cost nothing: an unreadable manifest and a broken one there say nothing,
    // and a link loop is never entered.
    std::fs::write(
        repo.path().join("node_modules/chart/latin1.yaml"),
        b"metadata:\n  name: caf\xe9\n  annotations:\n    image.openshift.io/triggers: '[]'\n",
    )
    .unwrap();
    repo.write(
        "node_modules/chart/broken.yaml",
        "metadata:\n  annotations:\n    image.openshift.io/triggers: '[]'\nspec: [unclosed\n",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        repo.path().join("node_modules"),
        repo.path().join("node_modules/chart/loop"),
    )
    .unwrap();

    let validate = repo.run(&["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    let plan = repo.run(&["plan"]);
    for ignored in [
        "generated/",
        "node_modules/",
        "web.local.yaml",
        "scratch/",
        "target/",
    ] {
        assert!(!plan.stdout.contains(ignored), "{ignored}: {}", plan.stdout);
        assert!(!plan.stderr.contains(ignored), "{ignored}: {}", plan.stderr);
    }
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Rolled 2 containers in 2 files (1 paused, 1 waiting)."),
        "{}",
        out.stderr
    );
    assert_manifests(&repo, "source");
    for path in [
        "generated/web.yaml",
        "node_modules/chart/deploy/web.yaml",
        "deploy/web.local.yaml",
        "scratch/web.yaml",
        "target/web.yaml",
    ] {
        assert_eq!(read(&repo.path().join(path)), web, "{path} is left alone");
    }

    // The same copy outside an ignored folder rolls: the files above were skipped because
    // Git ignores them, not because of their content.
    repo.write("deploy/more/web.yaml", &web);
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("Rolled 1 container"), "{}", out.stderr);
}
