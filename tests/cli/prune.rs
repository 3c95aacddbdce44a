//! `prune` through the binary: one fixture repository per scenario under
//! `tests/fixtures/prune/`, each rendered as text, Markdown and JSON; plus exit codes, the
//! promise to change nothing, and the tagging-convention lint of `validate`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{TestRepo, crate_path};
use crate::snap;

/// A repository holding a copy of `tests/fixtures/prune/<name>`.
fn fixture(name: &str) -> TestRepo {
    let repo = TestRepo::new();
    copy_dir(
        &crate_path(format!("tests/fixtures/prune/{name}")),
        repo.path(),
    );
    repo
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `root` with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Text (with `--explain`), Markdown (with `--explain`) and JSON of one scenario, in one
/// snapshot; also checks that JSON parses and carries the format version.
fn scenario(name: &str) -> serde_json::Value {
    let repo = fixture(name);
    let text = repo.run(&["prune", "--explain"]);
    let markdown = repo.run(&["prune", "--explain", "--format", "markdown"]);
    let json = repo.run(&["prune", "--format", "json"]);
    for out in [&text, &markdown, &json] {
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON output");
    assert_eq!(value["format_version"], "1.0");
    snap!(
        format!("prune_{name}"),
        format!(
            "=== prune --explain\n{}\n=== prune --explain --format markdown\n{}\n=== prune --format json\n{}",
            text.snapshot(),
            markdown.snapshot(),
            json.snapshot()
        )
    );
    value
}

/// `(kind, stream, tag, reason_code)` of the JSON entries under `key`.
fn codes(value: &serde_json::Value, key: &str) -> Vec<(String, String, String, String)> {
    value[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    e["namespace"].as_str().unwrap(),
                    e["stream"].as_str().unwrap()
                ),
                e["tag"].as_str().unwrap().to_owned(),
                e["reason_code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn c(kind: &str, stream: &str, tag: &str, code: &str) -> (String, String, String, String) {
    (kind.into(), stream.into(), tag.into(), code.into())
}

#[test]
fn expired_dated_tags() {
    let v = scenario("expired");
    assert_eq!(
        codes(&v, "candidates"),
        vec![
            c(
                "tag",
                "team/app",
                "RELEASE.2024-06-30T12-00-00Z",
                "expired-dated-tag"
            ),
            c("tag", "team/app", "build-2024-03-01", "expired-dated-tag"),
            c("tag", "team/app", "v2.0.1-may-2016", "expired-dated-tag"),
        ]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![c("tag", "team/app", "2025-12-20", "too-young")]
    );
    let first = &v["candidates"][2];
    assert_eq!(first["age_days"], 3502);
    assert_eq!(first["image"], "quay.io/acme/app:v2.0.1-may-2016");
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "kind",
            "namespace",
            "stream",
            "tag",
            "image",
            "age_days",
            "reason_code",
            "reason"
        ]
    );
}

#[test]
fn protected_globs() {
    let v = scenario("protected");
    assert_eq!(
        codes(&v, "candidates"),
        vec![c(
            "tag",
            "team/app",
            "snapshot-20230101",
            "expired-dated-tag"
        )]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![c("tag", "team/app", "release-20230101", "protected")]
    );
}

#[test]
fn referenced_tags() {
    let v = scenario("referenced");
    assert_eq!(
        codes(&v, "candidates"),
        vec![c(
            "tag",
            "team/app",
            "snapshot-2023-07-01",
            "expired-dated-tag"
        )]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![
            c("tag", "team/app", "2023-06-01", "referenced"),
            c("tag", "team/app", "nightly-20240301", "referenced"),
        ]
    );
    assert!(
        v["kept"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("`other/consumer:base`")
    );
    assert!(
        v["kept"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("`app:stable`")
    );
}

#[test]
fn trigger_annotations_in_deploy_manifests() {
    let v = scenario("triggers");
    assert_eq!(
        codes(&v, "candidates"),
        vec![
            // Named only by a paused trigger.
            c("tag", "shop/web", "api-2024-02-15", "expired-dated-tag"),
            c("tag", "shop/web", "tools-2023-01-01", "expired-dated-tag"),
        ]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![
            c("tag", "shop/web", "old-2023-05-01", "manifest"),
            c("tag", "shop/web", "web-2024-01-15", "trigger"),
        ]
    );
    assert!(
        v["kept"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("`deploy/web.yaml`")
    );
}

#[test]
fn series_keep_the_newest() {
    let v = scenario("series");
    assert_eq!(
        codes(&v, "candidates"),
        vec![
            c("tag", "team/app", "nightly-20250901", "expired-dated-tag"),
            c("tag", "team/app", "nightly-20250902", "expired-dated-tag"),
            c("tag", "team/app", "weekly-2025-08-01", "expired-dated-tag"),
        ]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![c("tag", "team/app", "nightly-20250903", "newest-of-series")]
    );

    // keep_per_series = 2 keeps the two newest.
    let repo = fixture("series");
    repo.write("policies/prune.toml", "[prune]\nkeep_per_series = 2\n");
    let out = repo.run(&["prune", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        codes(&v, "kept"),
        vec![
            c("tag", "team/app", "nightly-20250902", "newest-of-series"),
            c("tag", "team/app", "nightly-20250903", "newest-of-series"),
        ]
    );
}

#[test]
fn history_beyond_kept_revisions() {
    let v = scenario("history");
    assert_eq!(
        codes(&v, "candidates"),
        vec![
            c("history", "team/app", "latest", "history-beyond-revisions"),
            c("history", "team/app", "latest", "history-beyond-revisions"),
        ]
    );
    let images: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "sha256:5a333e95bb0d7f29e932fcc0fe5295a0ac2b34f1de90a7306f4f1b5f35eb5d43",
            "sha256:83e55fecbd62d4b29b85424aeff93c50d6e51c524a36cb21b7de428f78b36bd3",
        ]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![
            c("history", "team/app", "latest", "history-too-young"),
            c("history", "team/app", "latest", "referenced"),
        ]
    );
}

#[test]
fn per_stream_overrides() {
    let v = scenario("overrides");
    assert_eq!(
        codes(&v, "candidates"),
        vec![
            c("tag", "team/app", "2025-11-15", "expired-dated-tag"),
            c("tag", "team/app", "ga-2020-01-01", "expired-dated-tag"),
        ]
    );
    assert_eq!(
        codes(&v, "kept"),
        vec![
            c("tag", "openshift/ruby", "2024-03-01", "too-young"),
            c("tag", "openshift/ruby", "ga-2020-01-01", "protected"),
        ]
    );
}

#[test]
fn nothing_to_prune() {
    let v = scenario("nothing");
    assert_eq!(codes(&v, "candidates"), vec![]);
    let repo = fixture("nothing");
    let out = repo.run(&["prune", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Nothing to prune: 1 dated tag in 1 stream checked.")
    );
}

#[test]
fn detailed_exitcode_is_two_with_candidates() {
    let repo = fixture("expired");
    for format in ["text", "json", "markdown"] {
        let out = repo.run(&["prune", "--detailed-exitcode", "--format", format]);
        assert_eq!(out.code, 2, "{format}: {}", out.stderr);
    }
    assert_eq!(repo.run(&["prune"]).code, 0);
}

#[test]
fn prune_changes_no_file_and_no_state() {
    for name in ["history", "triggers", "expired"] {
        let repo = fixture(name);
        let before = tree(repo.path());
        for args in [
            &["prune", "--explain"][..],
            &["prune", "--format", "json"],
            &["prune", "--format", "markdown", "--detailed-exitcode"],
        ] {
            let out = repo.run(args);
            assert!(out.code == 0 || out.code == 2, "{}", out.stderr);
        }
        assert_eq!(tree(repo.path()), before, "{name}");
        // A repository without state gets none.
        assert_eq!(repo.path().join("state").exists(), name == "history");
    }
}

#[test]
fn write_removes_candidate_tags_and_nothing_else() {
    let repo = fixture("expired");
    let file = "definitions/team/app.yaml";
    let path = repo.path().join(file);
    let original = std::fs::read_to_string(&path).unwrap();

    // --dry-run shows the diff and writes nothing.
    let dry = repo.run(&["prune", "--write", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert!(
        dry.stdout.contains("-  - name: \"v2.0.1-may-2016\""),
        "{}",
        dry.stdout
    );

    let out = repo.run(&["prune", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("prune_write", out.snapshot());
    let edited = std::fs::read_to_string(&path).unwrap();
    for gone in [
        "v2.0.1-may-2016",
        "build-2024-03-01",
        "RELEASE.2024-06-30T12-00-00Z",
    ] {
        assert!(!edited.contains(gone), "{gone} removed:\n{edited}");
    }
    // Exactly the three entries (lines 11-22) went; every other byte stays.
    let mut expected: Vec<&str> = original.split_inclusive('\n').collect();
    expected.drain(10..22);
    assert_eq!(edited, expected.concat());
    // Nothing is left to recommend, and the definitions still validate.
    let again = repo.run(&["prune", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(repo.run(&["validate"]).code, 0);
}

#[test]
fn write_with_nothing_to_prune_changes_nothing() {
    let repo = fixture("nothing");
    let before = tree(repo.path());
    let out = repo.run(&["prune", "--write"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(tree(repo.path()), before);
}

#[test]
fn invalid_definitions_and_policies_fail() {
    let repo = fixture("expired");
    repo.write(
        "policies/prune.toml",
        "[prune]\nkeep_younger_than = \"soon\"\nprotect = [\"[x\"]\n",
    );
    let out = repo.run(&["prune"]);
    assert_eq!(out.code, 1);
    snap!("prune_invalid_policy", out.snapshot());
}

#[test]
fn broken_trigger_annotation_is_reported_and_tags_stay_in_use() {
    let repo = fixture("triggers");
    repo.write(
        "deploy/odd.yaml",
        "kind: Deployment\nmetadata:\n  name: odd\n  namespace: shop\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"web:tools-2023-01-01\"},\"fieldPath\":\"x\"},{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"web:tools-2023-01-01\"},\"fieldPath\":\"x\"}]'\n",
    );
    let out = repo.run(&["prune", "--format", "json"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("deploy/odd.yaml: OpenShift rejects this `image.openshift.io/triggers` annotation (duplicate triggers are not allowed)"),
        "{}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        codes(&v, "candidates"),
        vec![c("tag", "shop/web", "api-2024-02-15", "expired-dated-tag")]
    );
}

#[test]
fn rev_reads_manifests_from_the_revision() {
    let repo = fixture("triggers");
    let git = git2::Repository::init(repo.path()).unwrap();
    let mut index = git.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    let tree = git.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    git.commit(Some("HEAD"), &sig, &sig, "fixture", &tree, &[])
        .unwrap();
    // In the working tree the trigger is gone; at HEAD it is still there.
    std::fs::remove_file(repo.path().join("deploy/web.yaml")).unwrap();
    let now = repo.run(&["prune", "--format", "json"]);
    let at_head = repo.run(&["prune", "--format", "json", "--rev", "HEAD"]);
    let now: serde_json::Value = serde_json::from_str(&now.stdout).unwrap();
    let at_head: serde_json::Value = serde_json::from_str(&at_head.stdout).unwrap();
    let tags = |v: &serde_json::Value| -> Vec<String> {
        codes(v, "candidates").into_iter().map(|c| c.2).collect()
    };
    assert_eq!(
        tags(&now),
        ["api-2024-02-15", "tools-2023-01-01", "web-2024-01-15"]
    );
    assert_eq!(tags(&at_head), ["api-2024-02-15", "tools-2023-01-01"]);
}

#[test]
fn lint_warns_on_tagging_conventions() {
    let repo = fixture("lint");
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("prune_lint_validate", out.snapshot());
    assert_eq!(out.stderr.matches(": warning: ").count(), 2);

    repo.write(
        "policies/lint.toml",
        "[lint]\nallow = [\"dated-source-generic-tag\"]\n",
    );
    let out = repo.run(&["validate", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let found: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["dated-versioned-tag"]);
}

#[test]
fn unreadable_live_stream_is_a_located_error() {
    let repo = fixture("history");
    repo.write("state/team/broken.yaml", "metadata: [unclosed\n");
    let out = repo.run(&["prune"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: state file `")
            && out
                .stderr
                .contains("state/team/broken.yaml` is damaged: line 1 column 11"),
        "{}",
        out.stderr
    );
}

#[test]
fn short_image_ids_protect_history_as_the_long_form_does() {
    let long = fixture("history");
    let short = fixture("history");
    let path = "definitions/team/app.yaml";
    let text = std::fs::read_to_string(short.path().join(path)).unwrap();
    short.write(
        path,
        &text.replace("\"app@sha256:a0dfadeb8f6b7f37\"", "\"a0dfadeb8f6b7f37\""),
    );
    let json = |repo: &TestRepo| {
        let out = repo.run(&["prune", "--format", "json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        (codes(&v, "candidates"), codes(&v, "kept"))
    };
    let (candidates, kept) = json(&short);
    assert_eq!((candidates.clone(), kept.clone()), json(&long));
    assert!(
        kept.contains(&c("history", "team/app", "latest", "referenced")),
        "{kept:?}"
    );
}
