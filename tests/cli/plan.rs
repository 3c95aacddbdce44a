//! `plan` through the binary: refusing invalid definitions, exit codes, `--refresh`, `--base`.

use crate::common::{Tag, TestRepo, stream};
use crate::scenarios::scenario_repo;
use crate::snap;

#[test]
fn invalid_definitions_are_refused_and_nothing_is_written() {
    let repo = TestRepo::new();
    // A literal: the snapshot locates the second `a` at line 9.
    repo.write(
        "definitions/demo/app.yaml",
        "kind: ImageStream\napiVersion: image.openshift.io/v1\nmetadata:\n  name: app\nspec:\n  tags:\n  - name: a\n    from: {kind: DockerImage, name: quay.io/x/app:1}\n  - name: a\n    from: {kind: DockerImage, name: quay.io/x/app:2}\n",
    );
    for cmd in ["plan", "apply"] {
        let out = repo.run(&[cmd]);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("definitions/demo/app.yaml:9:"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("defined twice"), "{}", out.stderr);
    }
    snap!("plan_invalid_definitions", repo.run(&["plan"]).snapshot());
    assert!(!repo.path().join("state").exists());
}

#[test]
fn detailed_exitcode_and_empty_state() {
    let repo = scenario_repo("fresh");
    assert_eq!(repo.run(&["plan"]).code, 0);
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 2);
    assert_eq!(
        repo.run(&["plan", "--no-refresh", "--detailed-exitcode"])
            .code,
        2
    );
    // Nothing defined, nothing live.
    let empty = TestRepo::new();
    empty.write("definitions/.keep", "");
    let out = empty.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert_eq!(
        out.stdout,
        "No changes. Live state matches the definitions.\n"
    );
}

#[test]
fn refresh_reports_an_unreachable_registry_as_incomplete() {
    let repo = scenario_repo("import-offline");
    let plain = repo.run(&["plan", "--format", "json"]);
    let refreshed = repo.run(&["plan", "--refresh", "--format", "json"]);
    assert_eq!(plain.code, 0, "{}", plain.snapshot());
    // Nothing listens on 127.0.0.1:1: the scheduled tag could not be asked.
    assert_eq!(refreshed.code, 3, "{}", refreshed.snapshot());
    let v: serde_json::Value = serde_json::from_str(&refreshed.stdout).unwrap();
    assert_eq!(v["unobserved"][0]["tag"], "nightly", "{}", refreshed.stdout);
    assert!(
        v["unobserved"][0]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Unreachable"),
        "{}",
        refreshed.stdout
    );
    assert!(plain.stderr.is_empty(), "{}", plain.stderr);
}

#[test]
fn base_marks_introduced_changes_and_drift() {
    let repo = scenario_repo("update");
    let git = git2::Repository::init(repo.path()).unwrap();
    // The base has every change of the scenario except the new `edge` tag: those are drift
    // already pending; `edge` is what this revision introduces.
    let path = repo.path().join("definitions/web/ruby.yaml");
    let head = std::fs::read_to_string(&path).unwrap();
    let base = head.replace(
        "  - name: edge\n    reference: true\n    from:\n      kind: DockerImage\n      name: registry.example.com/ruby:3.4-rc\n",
        "",
    );
    assert_ne!(base, head);
    std::fs::write(&path, &base).unwrap();
    crate::common::commit_all(&git, "base");
    std::fs::write(&path, &head).unwrap();

    let out = repo.run(&["plan", "--base", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let marks: Vec<(String, bool)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{} {}",
                    c["action"].as_str().unwrap(),
                    c["tag"].as_str().unwrap_or("-")
                ),
                c["introduced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        vec![
            ("update_stream -".to_owned(), false),
            ("update_tag 3.1".to_owned(), false),
            ("update_tag docs".to_owned(), false),
            ("add_tag edge".to_owned(), true),
            ("remove_tag old".to_owned(), false),
            ("add_tag pinned".to_owned(), false),
        ]
    );
    snap!(
        "plan_base_text",
        repo.run(&["plan", "--base", "HEAD"]).snapshot()
    );
    let md = repo.run(&["plan", "--base", "HEAD", "--format", "markdown"]);
    assert!(
        md.stdout.contains(
            "1 change introduced by this pull request; 5 already pending on the base (drift)."
        ),
        "{}",
        md.stdout
    );
    snap!("plan_base_markdown", md.snapshot());
    // A base that does not exist is an error.
    let bad = repo.run(&["plan", "--base", "no-such-branch"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("no-such-branch"), "{}", bad.stderr);
}

/// A failed import stays pending, like a tainted resource: the next plan lists it as an
/// import to retry with the last failure's reason, `--detailed-exitcode` exits 2, and apply
/// and sync (scheduled or not) retry it.
#[test]
fn a_failed_import_stays_pending_and_is_retried() {
    let repo = TestRepo::new();
    repo.define(
        "tools",
        &stream("cli")
            .tag(Tag::image("stable", "127.0.0.1:1/example/cli:1.5"))
            .tag(Tag::image("next", "127.0.0.1:1/example/cli:1.6")),
    );
    let applied = repo.run(&["apply"]);
    assert_eq!(applied.code, 3, "{}", applied.snapshot());
    let out = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}", out.snapshot());
    // One line per tag, each naming its own URL: the first asked could not connect, the
    // other was not asked, and says so.
    for (tag, version) in [("next", "1.6"), ("stable", "1.5")] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(&format!("<= import tools/cli:{tag}  (retry: Unreachable: ")))
            .unwrap_or_else(|| panic!("no retry of {tag}:\n{}", out.stdout));
        assert!(
            line.contains(&format!(
                "https://127.0.0.1:1/v2/example/cli/manifests/{version}"
            )),
            "{line}"
        );
    }
    assert!(
        out.stdout
            .contains("(127.0.0.1:1 was unreachable earlier in this run)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("Plan: 0 to add, 0 to change, 0 to remove, 2 to import.\n"),
        "{}",
        out.stdout
    );
    let json = repo.run(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["summary"]["import"], 2);
    assert_eq!(v["changes"][0]["action"], "import");
    assert!(
        v["changes"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("retry: Unreachable: "),
        "{v}"
    );
    // apply retries (and fails again, so the plan keeps them).
    let again = repo.run(&["apply"]);
    assert_eq!(again.code, 3, "{}", again.snapshot());
    assert!(
        again
            .stdout
            .contains("import tools/cli:stable: failed: Unreachable"),
        "{}",
        again.stdout
    );
    // sync retries a tag that is not scheduled.
    let sync = repo.run(&["sync", "--once"]);
    assert_eq!(sync.code, 3, "{}", sync.snapshot());
    assert!(
        sync.stdout
            .contains("import tools/cli:next: failed: Unreachable"),
        "{}",
        sync.stdout
    );
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 2);
    // Failed connections are not requests that were sent.
    assert!(
        again.stderr.contains(", 0 requests; 2 failed"),
        "{}",
        again.stderr
    );
}

/// The pull request that adds the first definitions: its base has no definitions folder, so
/// everything is introduced; a base that does not exist is "no such revision".
#[test]
fn base_without_definitions_and_missing_base() {
    let repo = TestRepo::new();
    repo.write("streamsync.toml", "");
    let git = git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git, "empty");
    repo.define("web", &stream("ruby"));
    let out = repo.run(&["plan", "--base", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["changes"][0]["action"], "create_stream");
    assert_eq!(v["changes"][0]["introduced"], true);
    let out = repo.run(&["plan", "--base", "no-such-branch"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("caused by: no such revision `no-such-branch`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("class="), "{}", out.stderr);
}

#[test]
fn sources_the_definitions_do_not_have_are_refused_by_validate_plan_and_apply() {
    let repo = TestRepo::new();
    // A literal: the diagnostics are asserted at their lines and columns.
    let app = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
spec:
  tags:
  - name: \"1.0\"
    from:
      kind: DockerImage
      name: quay.io/x/app:1.0
    reference: true
  - name: copy
    from:
      kind: ImageStreamTag
      name: nosuch:1.0
  - name: pin
    from:
      kind: ImageStreamImage
      name: nosuch@sha256:0123456789abcdef
  - name: latest
    from:
      kind: ImageStreamTag
      name: \"1.0\"
";
    repo.write("definitions/demo/app.yaml", app);
    let validate = repo.run(&["validate", "--format", "json"]);
    assert_eq!(validate.code, 1, "{}", validate.snapshot());
    let v: serde_json::Value = serde_json::from_str(&validate.stdout).unwrap();
    let found: Vec<(String, u64, u64)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("unknown-source-stream".to_owned(), 15, 13),
            ("unknown-source-stream".to_owned(), 19, 13),
        ]
    );
    // Plan and apply refuse the definitions as a whole: not even `1.0` is applied.
    for cmd in ["plan", "apply"] {
        let out = repo.run(&[cmd]);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        assert!(
            out.stderr
                .contains("definitions/demo/app.yaml:15:13: error: tag `copy` takes its image from `nosuch:1.0`"),
            "{}",
            out.stderr
        );
    }
    assert!(!repo.path().join("state").exists());
    // With the source stream defined, the same forms plan: short and long.
    repo.define(
        "demo",
        &stream("nosuch").tag(Tag::image("1.0", "quay.io/x/nosuch:1.0").reference()),
    );
    repo.write(
        "definitions/demo/app.yaml",
        &app.replace(
            "  - name: pin\n    from:\n      kind: ImageStreamImage\n      name: nosuch@sha256:0123456789abcdef\n",
            "",
        ),
    );
    let plan = repo.run(&["plan", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.snapshot());
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let reasons: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stream"] == "app")
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"new tag; follows `nosuch:1.0`"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"new tag; follows `1.0`"), "{reasons:?}");
    let apply = repo.run(&["apply"]);
    assert_eq!(apply.code, 0, "{}", apply.snapshot());
    for (tag, want) in [
        ("app:copy", "quay.io/x/nosuch:1.0"),
        ("app:latest", "quay.io/x/app:1.0"),
    ] {
        let out = repo.run(&["get", "tag", tag, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["image"]["dockerImageReference"], want, "{tag}");
    }
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 0);
}
