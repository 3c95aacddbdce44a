//! `validate` through the binary: the example repository, every error kind with its position,
//! the three formats, `--rev` against the working tree, and the OpenShift sample corpus.

use std::path::Path;

use crate::common::{TestRepo, crate_path, stream};
use crate::snap;

#[test]
fn corpus_files_validate_unchanged() {
    let repo = TestRepo::new();
    for f in [
        "httpd-rhel.json",
        "nodejs-rhel.json",
        "postgresql-rhel.json",
        "ruby-rhel.json",
    ] {
        repo.copy(
            format!("tests/fixtures/corpus/{f}"),
            &format!("definitions/openshift/{f}"),
        );
    }
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("validate_corpus", out.snapshot());
}

#[test]
fn an_exported_stream_loads_with_notes_for_what_the_server_owns() {
    // As `oc get is ruby -o yaml` prints it (a literal: the notes point at its lines).
    let repo = TestRepo::new();
    repo.write(
        "definitions/demo/ruby.yaml",
        r#"apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  annotations:
    openshift.io/display-name: Ruby
  creationTimestamp: "2024-01-01T00:00:00Z"
  generation: 3
  name: ruby
  namespace: demo
  resourceVersion: "12345"
  uid: 0f0e0d0c-0000-4000-8000-000000000000
spec:
  lookupPolicy:
    local: false
  tags:
  - name: "3.3"
    from:
      kind: DockerImage
      name: registry.access.redhat.com/ubi9/ruby-33:latest
    generation: 3
    importPolicy:
      importMode: Legacy
    referencePolicy:
      type: Source
status:
  dockerImageRepository: image-registry.openshift-image-registry.svc:5000/demo/ruby
  tags:
  - tag: "3.3"
    items: []
"#,
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("validate_exported_notes", out.snapshot());
    let out = repo.run(&["validate", "--format", "github"]);
    assert_eq!(out.code, 0);
    snap!("validate_exported_notes_github", out.stdout);
    let out = repo.run(&["validate", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (&v["valid"], &v["errors"], &v["warnings"], &v["notes"]),
        (&true.into(), &0.into(), &0.into(), &2.into()),
        "{v}"
    );
    // `-q` keeps notes and warnings out of the text.
    let out = repo.run(&["-q", "validate"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    // `[lint] allow` silences the notes.
    repo.write(
        "policies/lint.toml",
        "[lint]\nallow = [\"server-field-ignored\"]\n",
    );
    let out = repo.run(&["validate", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((&v["warnings"], &v["notes"]), (&0.into(), &0.into()), "{v}");
    // The server's fields never reach the plan.
    let out = repo.run(&["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("12345") && !out.stdout.contains("svc:5000"));
}

#[test]
fn a_metadata_typo_is_an_error_everywhere() {
    let repo = TestRepo::new();
    // A literal: the typos are the point, and the snapshot locates them.
    repo.write(
        "definitions/demo/ruby.yaml",
        "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  lables:
    team: web
  anotations:
    openshift.io/display-name: Ruby
  uid: 0f0e0d0c-0000-4000-8000-000000000000
spec:
  tags: []
",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    snap!("validate_metadata_typo", out.snapshot());
    assert!(
        out.stderr.contains(
            "definitions/demo/ruby.yaml:5:3: error: unknown field `lables` in `metadata`\n  hint: did you mean `labels`?"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "definitions/demo/ruby.yaml:7:3: error: unknown field `anotations` in `metadata`\n  hint: did you mean `annotations`?"
        ),
        "{}",
        out.stderr
    );
    // The server-owned `uid` stays a note.
    assert!(
        out.stderr
            .contains("note: server-owned metadata field `uid`"),
        "{}",
        out.stderr
    );
    // plan and apply refuse the definitions as a whole.
    for command in ["plan", "apply"] {
        let out = repo.run(&[command]);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        assert!(
            out.stderr.contains("unknown field `lables`"),
            "{}",
            out.stderr
        );
    }
    assert!(!repo.path().join("state").exists());
}

/// Copy a folder of the crate (recursively) into the repository.
fn copy_tree(repo: &TestRepo, rel: &str) {
    fn walk(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    walk(&crate_path(rel), &repo.path().join(rel));
}

#[test]
fn the_example_repository_is_valid() {
    let repo = TestRepo::new();
    copy_tree(&repo, "definitions");
    copy_tree(&repo, "policies");
    repo.copy("streamsync.toml", "streamsync.toml");
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("validate_example", out.snapshot());
    let out = repo.run(&["validate", "--format", "json"]);
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["format_version"], "1.0");
    assert_eq!(v["errors"], 0);
}

/// One stream per file, each with problems, so every error kind shows with its position.
/// Literals: malformed on purpose, and the snapshots locate every problem.
fn broken_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "definitions/demo/ruby.yaml",
        r#"apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  annotations:
    openshift.io/image.insecureRepository: "true"
spec:
  dockerImageRepository: quay.io/org/ruby:2.0
  tags:
  - name: "2.0"
    annotations:
      version: 2.0
      tags: builder,ruby
    from:
      kind: DockerImages
      name: quay.io/org/ruby:2.0
  - name: "2.7"
    from:
      kind: DockerImage
      name: quay.io/Org/ruby:2.7
    importPolicy:
      importMode: legacy
    referencePolicy:
      type: source
  - name: latest
    from:
      kind: ImageStreamTag
      name: "2.8"
    importPolicy:
      scheduled: true
  - name: "2.7"
  - name: -bad
  - name: v2.0.1-2016-05-01
  - name: edge
    from:
      kind: DockerImage
      name: registry.local:5000/ruby:edge
    importPolicy:
      insecure: true
      schedule: true
"#,
    )
    .write(
        "definitions/demo/Python.yaml",
        "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: Python\nspec:\n  tag: []\n",
    )
    .write(
        "definitions/demo/zz-copy.yaml",
        "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: ruby\n",
    )
    .write(
        "definitions/demo/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    )
    .write(
        "definitions/demo/list.json",
        "{\n\t\"kind\": \"List\",\n\t\"items\": [\n\t\t{\"kind\": \"ImageStream\", \"metadata\": {\"name\": \"x\"}, \"spec\": {\"tags\": [{\"name\": \"a\", \"from\": {\"kind\": \"ImageStreamImage\", \"name\": \"a@b@c\"}}]}}\n\t]\n}\n",
    )
    .write("definitions/demo/empty.yaml", "---\n")
    .write("policies/default.toml", "[prune]\nmax_age_dayz = 3\n");
    repo
}

#[test]
fn every_error_kind_with_its_position() {
    let repo = broken_repo();
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "text diagnostics go to stderr");
    snap!("validate_errors_text", out.snapshot());
}

#[test]
fn json_format() {
    let repo = broken_repo();
    let out = repo.run(&["validate", "--format", "json"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    for d in v["diagnostics"].as_array().unwrap() {
        for key in ["file", "line", "column", "severity", "code", "message"] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
    }
    snap!("validate_errors_json", out.stdout);
}

#[test]
fn github_format() {
    let repo = broken_repo();
    let out = repo.run(&["validate", "--format", "github"]);
    assert_eq!(out.code, 1);
    for line in out.stdout.lines() {
        assert!(
            line.starts_with("::error file=") || line.starts_with("::warning file="),
            "{line}"
        );
    }
    snap!("validate_errors_github", out.stdout);
}

#[test]
fn rev_reads_the_committed_tree_like_a_checkout() {
    // The committed state: the broken repository.
    let repo = broken_repo();
    git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(
        &git2::Repository::open(repo.path()).unwrap(),
        "broken definitions",
    );

    // The working tree moves on: fixed files, a deletion and a new file.
    repo.define("demo", &stream("ruby"));
    std::fs::remove_file(repo.path().join("definitions/demo/deploy.yaml")).unwrap();
    repo.define("demo", &stream("new"));

    // A checkout-equivalent tree of HEAD, made by hand from the same files.
    let checkout = broken_repo();

    for format in ["text", "json", "github"] {
        let at_rev = repo.run(&["validate", "--rev", "HEAD", "--format", format]);
        let expected = checkout.run(&["validate", "--format", format]);
        assert_eq!(at_rev.code, expected.code, "{format}");
        assert_eq!(at_rev.stdout, expected.stdout, "{format}");
        assert_eq!(at_rev.stderr, expected.stderr, "{format}");
        let worktree = repo.run(&["validate", "--format", format]);
        assert_ne!(
            worktree.stdout + &worktree.stderr,
            at_rev.stdout + &at_rev.stderr
        );
    }

    // A bare clone gives the same answer at the same revision.
    let bare = tempfile::tempdir().unwrap();
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(repo.path().to_str().unwrap(), bare.path())
        .unwrap();
    let from_bare = crate::common::run_in(bare.path(), &["validate", "--rev", "HEAD"]);
    let expected = checkout.run(&["validate"]);
    assert_eq!(from_bare.code, expected.code);
    // Policies come from the working tree (a bare repository has none), so compare only the
    // definition diagnostics.
    let defs = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("definitions/"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(defs(&from_bare.stderr), defs(&expected.stderr));
}

#[test]
fn rev_outside_git_and_unknown_rev_are_errors() {
    let repo = TestRepo::new();
    repo.define("a", &stream("s"));
    let out = repo.run(&["validate", "--rev", "HEAD"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("not inside a Git repository"),
        "{}",
        out.stderr
    );
    git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git2::Repository::open(repo.path()).unwrap(), "one");
    let out = repo.run(&["validate", "--rev", "no-such-branch"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: no such revision `no-such-branch`"),
        "{}",
        out.stderr
    );
    // libgit2's class and code numbers are not for people.
    assert!(!out.stderr.contains("class="), "{}", out.stderr);
}

#[test]
fn rev_of_a_tree_or_a_blob_is_an_error() {
    let repo = TestRepo::new();
    repo.define("a", &stream("s"));
    git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git2::Repository::open(repo.path()).unwrap(), "one");
    for (rev, kind) in [
        ("HEAD^{tree}", "tree"),
        ("HEAD:definitions/a/s.yaml", "blob"),
    ] {
        for command in ["validate", "plan"] {
            let out = repo.run(&[command, "--rev", rev]);
            assert_eq!(out.code, 1, "{}", out.snapshot());
            assert!(
                out.stderr.contains(&format!(
                    "error: revision `{rev}` is a {kind}, not a commit"
                )),
                "{}",
                out.stderr
            );
            assert_eq!(out.stdout, "");
        }
    }
    // A tag is followed to its commit.
    let git = git2::Repository::open(repo.path()).unwrap();
    let head = git.head().unwrap().peel(git2::ObjectType::Commit).unwrap();
    let sig = git2::Signature::now("Test", "test@example.com").unwrap();
    git.tag("v1", &head, &sig, "v1", false).unwrap();
    assert_eq!(repo.run(&["validate", "--rev", "v1"]).code, 0);
}

#[test]
fn a_missing_definitions_folder_is_an_error_not_an_empty_plan() {
    let repo = TestRepo::new();
    repo.write("streamsync.toml", "");
    repo.write("defs/a/s.yaml", &stream("s").to_yaml());
    for command in ["validate", "plan", "apply"] {
        let out = repo.run(&[command]);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        assert!(
            out.stderr
                .starts_with("error: the definitions folder `definitions` does not exist in `"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("hint: "), "{}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    assert!(!repo.path().join("state").exists());
    // At a revision too.
    git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git2::Repository::open(repo.path()).unwrap(), "one");
    let out = repo.run(&["plan", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "error: the definitions folder `definitions` does not exist at revision `HEAD`"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn outside_any_repository_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::support::bin();
    let out = cmd.arg("plan").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: not inside a streamsync repository: "),
        "{stderr}"
    );
}
