//! The GitHub workflows: every streamsync command they run parses with the real CLI, and the
//! pull-request check's commands behave on a repository with a base and a head branch.

use std::path::Path;

use crate::common::{Stream, Tag, TestRepo, crate_path, run_in, stream};
use crate::snap;

/// The `command:` inputs given to the streamsync action in a workflow file.
fn action_commands(workflow: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crate_path(".github/workflows").join(workflow)).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut out = Vec::new();
    for job in doc["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            // The pull-request check runs the base branch's action from its `base/` checkout.
            if step["uses"] == "./.github/actions/streamsync"
                || step["uses"] == "./base/.github/actions/streamsync"
            {
                out.push(step["with"]["command"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

/// Split like the action's `eval "set -- …"`: double quotes group, `$BASE_REF` is `main`.
fn shell_words(command: &str) -> Vec<String> {
    let command = command.replace("$BASE_REF", "main");
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

#[test]
fn every_workflow_command_parses() {
    let mut seen = 0;
    for workflow in ["plan.yml", "sync.yml"] {
        for command in action_commands(workflow) {
            let mut args = shell_words(&command);
            // Usage errors exit 1 before `--help` is honoured; valid flags print help.
            args.push("--help".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_in(Path::new("."), &args);
            assert_eq!(out.code, 0, "{workflow}: `{command}`: {}", out.stderr);
            seen += 1;
        }
    }
    assert_eq!(
        seen, 7,
        "validate, two plans, the full plan, two catalogs, sync"
    );
    assert_eq!(
        shell_words(r#"sync --once --author "streamsync <s@x>""#),
        ["sync", "--once", "--author", "streamsync <s@x>"]
    );
}

#[test]
fn pull_request_validation_annotates_the_head_branch() {
    let repo = TestRepo::new();
    let git = git2::Repository::init(repo.path()).unwrap();
    // Literals: the annotations the check writes point at their lines.
    repo.write(
        "definitions/demo/ruby.yaml",
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: '3.3'\n    from:\n      kind: DockerImage\n      name: quay.io/org/ruby:3.3\n",
    );
    crate::common::commit_all(&git, "base");
    let base = git.head().unwrap().peel_to_commit().unwrap();
    git.branch("main-base", &base, true).unwrap();

    // The head branch adds a tag with two mistakes.
    repo.write(
        "definitions/demo/ruby.yaml",
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: '3.3'\n    from:\n      kind: DockerImage\n      name: quay.io/org/ruby:3.3\n  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: '3.4'\n    importPolicy:\n      scheduled: true\n",
    );
    crate::common::commit_all(&git, "head");

    let head = repo.run(&["validate", "--format", "github"]);
    assert_eq!(head.code, 1);
    snap!("workflow_validate_annotations", head.stdout);
    let base = repo.run(&["validate", "--rev", "main-base", "--format", "github"]);
    assert_eq!(base.code, 0, "{}", base.stderr);
    assert_eq!(base.stdout, "");
}

/// actionlint reads workflows only; check the composite action's shape here: every step of a
/// composite action needs a `shell` when it runs a script, and every input it reads exists.
#[test]
fn composite_action_is_well_formed() {
    let text =
        std::fs::read_to_string(crate_path(".github/actions/streamsync/action.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(doc["runs"]["using"], "composite");
    let inputs = doc["inputs"].as_object().unwrap();
    for (name, input) in inputs {
        assert!(
            input["description"].is_string(),
            "input {name} has no description"
        );
    }
    let steps = doc["runs"]["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for step in steps {
        if step.get("run").is_some() {
            assert_eq!(step["shell"], "bash", "{step}");
        } else {
            assert!(step["uses"].is_string(), "{step}");
        }
    }
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(inputs.contains_key(&name), "unknown input `{name}`");
    }
    // Both workflows use it.
    for workflow in ["plan.yml", "sync.yml"] {
        assert!(!action_commands(workflow).is_empty(), "{workflow}");
    }
}

fn stream_yaml(name: &str, tags: &[(&str, &str)]) -> String {
    tags.iter()
        .map(|(tag, source)| Tag::image(tag, source).reference())
        .fold(
            stream(name).annotation("openshift.io/display-name", name),
            Stream::tag,
        )
        .to_yaml()
}

/// The plan workflow's comment: `plan --base <base> --format markdown` on a head branch, with
/// drift already pending on the base told apart from what the pull request introduces.
#[test]
fn pull_request_plan_comment_marks_what_the_head_introduces() {
    let repo = TestRepo::new();
    let git = git2::Repository::init(repo.path()).unwrap();
    repo.write(
        "definitions/demo/ruby.yaml",
        &stream_yaml("ruby", &[("3.3", "quay.io/org/ruby:3.3")]),
    );
    repo.write(
        "definitions/demo/python.yaml",
        &stream_yaml("python", &[("3.12", "quay.io/org/python:3.12")]),
    );
    let applied = repo.run(&["apply"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // Drift on the base: python gained a tag that was never applied.
    repo.write(
        "definitions/demo/python.yaml",
        &stream_yaml(
            "python",
            &[
                ("3.12", "quay.io/org/python:3.12"),
                ("3.13", "quay.io/org/python:3.13"),
            ],
        ),
    );
    crate::common::commit_all(&git, "base");
    let base = git.head().unwrap().peel_to_commit().unwrap();
    git.branch("main-base", &base, true).unwrap();

    // The pull request adds ruby 3.4 and moves 3.3.
    repo.write(
        "definitions/demo/ruby.yaml",
        &stream_yaml(
            "ruby",
            &[
                ("3.3", "quay.io/org/ruby:3.3.6"),
                ("3.4", "quay.io/org/ruby:3.4"),
            ],
        ),
    );
    crate::common::commit_all(&git, "head");

    let md = repo.run(&["plan", "--base", "main-base", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md.stdout.contains("<!-- streamsync-plan -->"));
    assert!(md.stdout.chars().count() <= 60_000);
    snap!("workflow_plan_comment", md.stdout);
    let json = repo.run(&["plan", "--base", "main-base", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let introduced: Vec<(String, bool)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}:{}",
                    c["stream"].as_str().unwrap(),
                    c["tag"].as_str().unwrap_or("")
                ),
                c["introduced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        introduced.contains(&("python:3.13".to_owned(), false)),
        "{introduced:?}"
    );
    assert!(
        introduced.contains(&("ruby:3.4".to_owned(), true)),
        "{introduced:?}"
    );
}

/// A plan of 2,000 changes still fits one GitHub comment.
#[test]
fn markdown_plan_of_2000_changes_fits_a_comment() {
    let repo = TestRepo::new();
    for s in 0..100 {
        let tags: Vec<(String, String)> = (0..19)
            .map(|t| (format!("v{t}.0"), format!("quay.io/org/app{s}:v{t}.0")))
            .collect();
        let tags: Vec<(&str, &str)> = tags.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        repo.write(
            &format!("definitions/team/app{s}.yaml"),
            &stream_yaml(&format!("app{s}"), &tags),
        );
    }
    let json = repo.run(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["changes"].as_array().unwrap().len(), 2000);
    let md = repo.run(&["plan", "--format", "markdown", "--detailed-exitcode"]);
    assert_eq!(md.code, 2, "{}", md.stderr);
    let chars = md.stdout.chars().count();
    assert!(chars <= 60_000, "{chars} characters");
    assert!(chars > 30_000, "the budget is used, not wasted: {chars}");
    assert!(md.stdout.contains("<!-- streamsync-plan -->"));
    // The summary comes first, and what was left out is said.
    let summary = md.stdout.find("Plan: 2000 to add").expect("the summary");
    assert!(
        summary < md.stdout.find("<details>").unwrap(),
        "summary first"
    );
    assert!(
        md.stdout.to_lowercase().contains("not shown")
            || md.stdout.to_lowercase().contains("truncated"),
        "a truncation note"
    );
}

/// The README answers what a newcomer asks first, lists every command, and keeps its first
/// screen (up to the install section) short.
#[test]
fn readme_covers_what_a_newcomer_needs() {
    let readme = std::fs::read_to_string(crate::common::crate_path("README.md")).unwrap();
    for needed in [
        "Rust 1.89",
        "C compiler",
        "cargo install --locked --path .",
        "uses: <owner>/streamsync/.github/actions/streamsync@v0.2.0",
        "--auto-approve",
        "A failed import stays pending",
        "`request_timeout`",
        "`connect_timeout`",
        "`max_concurrency`",
        "`[apply] prune_streams",
        "--import-mode",
        "--scheduled",
        "otherwise re-imports every `DockerImage` tag",
    ] {
        let flat = readme.replace('\n', " ");
        assert!(
            readme.contains(needed) || flat.contains(&needed.replace('\n', " ")),
            "README lacks {needed:?}"
        );
    }
    let first_section = readme
        .find("\n## Quick start")
        .expect("a Quick start section");
    assert!(
        readme[..first_section].lines().count() <= 30,
        "the README's first screen grew"
    );
    let table_start = readme.find("## Commands").unwrap();
    let table = &readme[table_start
        ..readme[table_start..]
            .find("\n## ")
            .map_or(readme.len(), |i| table_start + i + 1)];
    let help = crate::common::run_in(std::path::Path::new("."), &["--help"]).stdout;
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    for line in commands.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if name == "help" {
            continue;
        }
        assert!(
            table.contains(&format!("| `{name}")),
            "the README's command table lacks `{name}`"
        );
    }
}
