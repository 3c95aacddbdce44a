//! The memo index in `state/streamsync.toml`: plans that leave at-rest state files unparsed
//! must say exactly what plans that parse every file say, and must never trust a file that
//! changed since its memo was recorded.

use std::path::Path;

use crate::common::{Output, Tag, TestRepo, commit_all};

/// Stream `name` with `tags`, as its definition file holds it.
fn stream(name: &str, tags: impl IntoIterator<Item = Tag>) -> String {
    tags.into_iter()
        .fold(crate::common::stream(name), crate::common::Stream::tag)
        .to_yaml()
}

/// A reference tag described as `<name> from <from>`.
fn reference_tag(name: &str, from: &str) -> Tag {
    described(name, from, &format!("{name} from {from}"))
}

fn described(name: &str, from: &str, description: &str) -> Tag {
    Tag::image(name, from)
        .reference()
        .annotation("description", description)
}

/// Five streams applied offline: three at rest, one linked to another namespace's stream by
/// an `ImageStreamTag`, one whose import failed (never at rest: plan notes it).
fn applied_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "definitions/web/ruby.yaml",
        &stream(
            "ruby",
            [
                reference_tag("3.3", "registry.example.com/ruby:3.3"),
                Tag::tracking("latest", "ruby:3.3"),
            ],
        ),
    )
    .write(
        "definitions/web/python.yaml",
        &stream(
            "python",
            [
                reference_tag("3.12", "registry.example.com/python:3.12"),
                reference_tag("3.13", "registry.example.com/python:3.13"),
            ],
        ),
    )
    .write(
        "definitions/web/node.yaml",
        &stream(
            "node",
            [reference_tag("22", "registry.example.com/node:22")],
        ),
    )
    .write(
        "definitions/apps/site.yaml",
        &stream(
            "site",
            [Tag::tracking("ruby", "ruby:3.3").in_namespace("web")],
        ),
    )
    .write(
        "definitions/tools/cli.yaml",
        &stream("cli", [Tag::image("stable", "127.0.0.1:1/example/cli:1.5")]),
    );
    let applied = repo.run(&["apply"]);
    assert_eq!(applied.code, 3, "{}", applied.snapshot());
    repo
}

/// A copy of `state/` without its memo index, as an older streamsync left it.
fn copy_without_memos(repo: &TestRepo) {
    let from = repo.path().join("state");
    let to = repo.path().join("state-full");
    copy_dir(&from, &to);
    let meta = std::fs::read_to_string(to.join("streamsync.toml")).unwrap();
    let cut = meta.find("[memos]").expect("the apply recorded memos");
    std::fs::write(to.join("streamsync.toml"), &meta[..cut]).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Plan against `state/` (with memos) and `state-full/` (without); both outputs must be the
/// same, byte for byte. Returns the output.
fn same_plan(repo: &TestRepo, args: &[&str]) -> Output {
    let run = |state: &str| {
        let state = repo.path().join(state);
        let mut all = vec!["--state", state.to_str().unwrap(), "plan"];
        all.extend_from_slice(args);
        repo.run(&all)
    };
    let with = run("state");
    let without = run("state-full");
    assert_eq!(
        (with.code, &with.stdout, &with.stderr),
        (without.code, &without.stdout, &without.stderr),
        "plan {args:?} differs with the memo index"
    );
    with
}

/// The changes of a JSON plan other than the pending retry of the failed `tools/cli` import.
fn besides_retry(plan: &serde_json::Value) -> Vec<&serde_json::Value> {
    plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["stream"] != "cli")
        .collect()
}

/// How many stream files a plan left unparsed (from its `-v` log line).
fn unparsed(repo: &TestRepo, state: &str) -> String {
    let state = repo.path().join(state);
    let out = repo.run(&["--state", state.to_str().unwrap(), "-v", "plan"]);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("left unparsed"))
        .unwrap_or_else(|| panic!("no count in:\n{}", out.stderr));
    line.split("live state: ")
        .nth(1)
        .unwrap_or(line)
        .split(" stream files")
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn plans_are_the_same_with_and_without_the_memo_index() {
    let repo = applied_repo();
    let meta = std::fs::read_to_string(repo.path().join("state/streamsync.toml")).unwrap();
    for at_rest in ["web/python", "web/node", "web/ruby", "apps/site"] {
        assert!(meta.contains(&format!("\"{at_rest}\" = [\"")), "{meta}");
    }
    // A failed import is not at rest: plan must read it to note it.
    assert!(!meta.contains("\"tools/cli\""), "{meta}");
    copy_without_memos(&repo);
    let git = git2::Repository::init(repo.path()).unwrap();
    commit_all(&git, "applied");

    // Linked streams (ruby, site) and the failed import are parsed; python and node are not.
    assert_eq!(unparsed(&repo, "state"), "2 of 5");
    assert_eq!(unparsed(&repo, "state-full"), "0 of 5");
    // The failed import stays pending, the only change: an import to retry.
    let out = same_plan(&repo, &["--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("import tools/cli:stable"),
        "{}",
        out.stdout
    );

    let python = repo.path().join("definitions/web/python.yaml");
    let node = repo.path().join("definitions/web/node.yaml");
    let edits: Vec<(&Path, String)> = vec![
        // An annotation.
        (
            &python,
            stream(
                "python",
                [
                    reference_tag("3.12", "registry.example.com/python:3.12"),
                    described(
                        "3.13",
                        "registry.example.com/python:3.13",
                        "Python 3.13 from registry.example.com/python:3.13",
                    ),
                ],
            ),
        ),
        // A source, and a tag following another stream that is at rest.
        (
            &node,
            stream(
                "node",
                [
                    reference_tag("22", "registry.example.com/node:22.1"),
                    Tag::tracking("py", "python:3.12"),
                ],
            ),
        ),
        // A removed tag.
        (
            &python,
            stream(
                "python",
                [reference_tag("3.12", "registry.example.com/python:3.12")],
            ),
        ),
        // The same spec written another way: no change.
        (
            &python,
            stream(
                "python",
                [
                    reference_tag("3.13", "registry.example.com/python:3.13")
                        .reference_policy("Source"),
                    reference_tag("3.12", "registry.example.com/python:3.12"),
                ],
            ),
        ),
    ];
    for (path, text) in edits {
        let before = std::fs::read_to_string(path).unwrap();
        std::fs::write(path, text).unwrap();
        for format in ["text", "json", "markdown"] {
            same_plan(&repo, &["--format", format]);
            same_plan(&repo, &["--format", format, "--base", "HEAD"]);
        }
        same_plan(&repo, &["--prune", "--format", "json"]);
        std::fs::write(path, before).unwrap();
    }

    // A stream no longer defined, and a new one.
    std::fs::remove_file(&node).unwrap();
    repo.write(
        "definitions/web/go.yaml",
        &stream(
            "go",
            [reference_tag("1.23", "registry.example.com/go:1.23")],
        ),
    );
    let out = same_plan(&repo, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["unmanaged"][0], "web/node", "{}", out.stdout);
    let out = same_plan(&repo, &["--prune", "--format", "json", "--base", "HEAD"]);
    assert!(out.stdout.contains("delete_stream"), "{}", out.stdout);
}

#[test]
fn hand_edited_or_damaged_state_files_are_never_trusted() {
    let repo = applied_repo();
    copy_without_memos(&repo);
    let edit = |rel: &str, f: &dyn Fn(String) -> String| {
        for state in ["state", "state-full"] {
            let path = repo.path().join(state).join(rel);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, f(text)).unwrap();
        }
    };
    assert_eq!(unparsed(&repo, "state"), "2 of 5");

    // Someone edits the live state by hand: the plan shows the drift it made.
    edit("web/python.yaml", &|t| {
        t.replace(
            "registry.example.com/python:3.13",
            "registry.example.com/python:3.14",
        )
    });
    let out = same_plan(&repo, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let python = besides_retry(&v);
    assert_eq!(python.len(), 1, "{}", out.stdout);
    assert_eq!(python[0]["action"], "update_tag", "{}", out.stdout);
    assert_eq!(python[0]["stream"], "python", "{}", out.stdout);
    assert_eq!(unparsed(&repo, "state"), "1 of 5");

    // An edit that changes only bytes, not meaning, is still read (and changes nothing).
    edit("web/python.yaml", &|t| {
        t.replace(
            "registry.example.com/python:3.14",
            "registry.example.com/python:3.13",
        )
    });
    edit("web/node.yaml", &|t| format!("# checked by hand\n{t}"));
    let out = same_plan(&repo, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(besides_retry(&v).is_empty(), "{}", out.stdout);
    // python holds its recorded bytes again, so its memo holds again; node does not.
    assert_eq!(unparsed(&repo, "state"), "1 of 5");

    // A forged memo (another file's line) does not match the file's bytes.
    let meta_path = repo.path().join("state/streamsync.toml");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let line = |key: &str| {
        meta.lines()
            .find(|l| l.starts_with(&format!("\"{key}\"")))
            .unwrap()
            .to_owned()
    };
    let forged = meta.replace(
        &line("web/node"),
        &line("web/python").replace("web/python", "web/node"),
    );
    std::fs::write(&meta_path, forged).unwrap();
    edit("web/node.yaml", &|t| {
        t.replace(
            "registry.example.com/node:22",
            "registry.example.com/node:20",
        )
    });
    let out = same_plan(&repo, &["--format", "json"]);
    assert!(
        out.stdout.contains("registry.example.com/node:20"),
        "{}",
        out.stdout
    );

    // A damaged file is an error, memo or not.
    std::fs::write(&meta_path, &meta).unwrap();
    edit("web/python.yaml", &|t| t.replace("spec:", "spec: ["));
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: state file `")
            && out
                .stderr
                .contains("state/web/python.yaml` is damaged: line 8"),
        "{}",
        out.stderr
    );
}
