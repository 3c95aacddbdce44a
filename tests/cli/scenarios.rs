//! Scenario tests: a folder per scenario under `tests/scenarios/<name>/` with definitions and a
//! starting state. Each plan is snapshotted in text, Markdown and JSON; then it is applied, and
//! a second plan must be empty (exit 0 with --detailed-exitcode).

use std::path::Path;

use crate::common::{TestRepo, crate_path};
use crate::snap;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A repository holding scenario `name`.
pub fn scenario_repo(name: &str) -> TestRepo {
    let repo = TestRepo::new();
    copy_dir(&crate_path(format!("tests/scenarios/{name}")), repo.path());
    repo
}

/// Snapshot the plan in the three formats; returns the exit code of the text plan.
fn plans(repo: &TestRepo, label: &str, extra: &[&str]) -> i32 {
    let mut code = None;
    for format in ["text", "markdown", "json"] {
        let mut args = vec!["plan", "--format", format];
        args.extend_from_slice(extra);
        let out = repo.run(&args);
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan JSON");
            assert_eq!(v["format_version"], "1.2");
        }
        code.get_or_insert(out.code);
        snap!(format!("scenario_{label}_plan_{format}"), out.snapshot());
    }
    code.unwrap_or(-1)
}

/// Apply, snapshot the report, check the empty-plan invariant; returns apply's exit code.
fn apply_and_converge(repo: &TestRepo, label: &str, extra: &[&str]) -> i32 {
    let mut args = vec!["apply"];
    args.extend_from_slice(extra);
    let out = repo.run(&args);
    snap!(format!("scenario_{label}_apply"), out.snapshot());
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend_from_slice(extra);
    let again = repo.run(&args);
    assert_eq!(
        again.code,
        0,
        "plan after apply is not empty:\n{}",
        again.snapshot()
    );
    assert!(
        again
            .stdout
            .ends_with("No changes. Live state matches the definitions.\n")
    );
    out.code
}

#[test]
fn fresh_state_creates_streams_reference_and_tracking_tags() {
    let repo = scenario_repo("fresh");
    assert_eq!(plans(&repo, "fresh", &[]), 0);
    assert_eq!(apply_and_converge(&repo, "fresh", &[]), 0);
    snap!(
        "scenario_fresh_get_ruby",
        repo.run(&["get", "stream", "web/ruby"]).snapshot()
    );
    snap!(
        "scenario_fresh_get_site",
        repo.run(&["get", "stream", "site"]).snapshot()
    );
    let meta = std::fs::read_to_string(repo.path().join("state/streamsync.toml")).unwrap();
    assert!(meta.contains("serial = 1"), "{meta}");
}

#[test]
fn update_covers_stream_and_tag_changes_and_image_prefixes() {
    let repo = scenario_repo("update");
    assert_eq!(plans(&repo, "update", &[]), 0);
    assert_eq!(apply_and_converge(&repo, "update", &[]), 0);
    snap!(
        "scenario_update_get_ruby",
        repo.run(&["get", "stream", "ruby"]).snapshot()
    );
    let meta = std::fs::read_to_string(repo.path().join("state/streamsync.toml")).unwrap();
    assert!(
        meta.contains("lineage = \"11111111-2222-4333-8444-555555555555\"\nserial = 5"),
        "{meta}"
    );
    // The Image file the scenario holds in the flat shape of older versions was written again
    // in the openshift/api shape along with the stream that points at it.
    let image = std::fs::read_to_string(repo.path().join(format!(
        "state/images/sha256/3a335d7{}.yaml",
        "e".repeat(57)
    )))
    .unwrap();
    for line in [
        "dockerImageMetadataVersion: \"1.0\"",
        "  kind: DockerImage",
        "  Config:\n    Labels:\n      io.k8s.display-name: Ruby 3.1",
    ] {
        assert!(image.contains(line), "{line}: {image}");
    }
    assert!(!image.contains("OS:"), "{image}");
}

#[test]
fn offline_import_failure_is_recorded_and_keeps_history() {
    let repo = scenario_repo("import-offline");
    assert_eq!(plans(&repo, "import_offline", &[]), 0);
    let out = repo.run(&["apply"]);
    snap!("scenario_import_offline_apply", out.snapshot());
    assert_eq!(out.code, 3);
    // The failed import stays pending: the next plan retries it.
    let again = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 2, "{}", again.snapshot());
    snap!("scenario_import_offline_plan_retry", again.snapshot());
    let tag = repo.run(&["get", "tag", "tools/cli:stable", "-o", "json"]);
    assert_eq!(tag.code, 0, "{}", tag.stderr);
    let v: serde_json::Value = serde_json::from_str(&tag.stdout).unwrap();
    assert_eq!(v["conditions"][0]["type"], "ImportSuccess");
    assert_eq!(v["conditions"][0]["status"], "False");
    assert_eq!(v["conditions"][0]["reason"], "Unreachable");
    assert_eq!(v["tag"]["from"]["name"], "127.0.0.1:1/example/cli:1.5");
    // The previous image is still the tag's image.
    assert_eq!(
        v["image"]["dockerImageReference"],
        format!("127.0.0.1:1/example/cli@sha256:{}", "c".repeat(64))
    );
    snap!(
        "scenario_import_offline_get_cli",
        repo.run(&["get", "stream", "cli"]).snapshot()
    );
}

#[test]
fn prune_off_lists_unmanaged_and_prune_on_deletes() {
    let repo = scenario_repo("prune");
    assert_eq!(plans(&repo, "prune_off", &["--detailed-exitcode"]), 0);
    assert_eq!(plans(&repo, "prune_on", &["--prune"]), 0);
    // Without --prune nothing happens to the unmanaged stream.
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(repo.path().join("state/legacy/perl.yaml").exists());
    assert_eq!(apply_and_converge(&repo, "prune_on", &["--prune"]), 0);
    assert!(!repo.path().join("state/legacy/perl.yaml").exists());
    assert!(!repo.path().join("state/legacy").exists());
}

#[test]
fn prune_streams_from_the_config() {
    let repo = scenario_repo("prune");
    repo.write("streamsync.toml", "[apply]\nprune_streams = true\n");
    let out = repo.run(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["changes"][0]["action"], "delete_stream");
    assert_eq!(v["summary"]["remove"], 1);
    assert_eq!(repo.run(&["apply"]).code, 0);
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn image_prefix_errors_name_the_candidates() {
    let repo = scenario_repo("image-prefix");
    assert_eq!(plans(&repo, "image_prefix", &[]), 1);
    let out = repo.run(&["apply"]);
    snap!("scenario_image_prefix_apply", out.snapshot());
    assert_eq!(out.code, 1);
    // The resolvable tag was applied; the others stay out, so the plan still reports them.
    let again = repo.run(&["plan", "--format", "json"]);
    assert_eq!(again.code, 1);
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["summary"]["add"], 0);
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(2));
    let got = repo.run(&["get", "tag", "ruby:by-full-digest", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(v["kind"], "ImageStreamTag");
    assert_eq!(
        v["image"]["metadata"]["name"],
        format!("sha256:{}", "c".repeat(64))
    );
}

#[test]
fn apply_reports_each_change_as_json() {
    let repo = scenario_repo("import-offline");
    let out = repo.run(&["apply", "--format", "json"]);
    assert_eq!(out.code, 3, "{}", out.snapshot());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format_version"], "1.2");
    assert_eq!(v["serial"], 8);
    assert_eq!(v["written"]["streams"], 1);
    let results: Vec<(String, String, bool)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["action"].as_str().unwrap(),
                    r["tag"].as_str().unwrap()
                ),
                r["status"].as_str().unwrap().to_owned(),
                r["unreachable"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            ("add_tag nightly".to_owned(), "done".to_owned(), false),
            ("import nightly".to_owned(), "failed".to_owned(), true),
            ("update_tag stable".to_owned(), "done".to_owned(), false),
            ("import stable".to_owned(), "failed".to_owned(), true),
        ]
    );
}
