//! The GitHub workflows: every streamsync command they run parses with the real CLI, and the
//! pull-request check's commands behave on a repository with a base and a head branch.

use std::path::Path;

use crate::common::{TestRepo, crate_path, run_in};
use crate::snap;

/// The `command:` inputs given to the streamsync action in a workflow file.
fn action_commands(workflow: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crate_path(".github/workflows").join(workflow)).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut out = Vec::new();
    for job in doc["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            if step["uses"] == "./.github/actions/streamsync" {
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
    assert_eq!(seen, 4, "validate, two plans, sync");
    assert_eq!(
        shell_words(r#"sync --once --author "streamsync <s@x>""#),
        ["sync", "--once", "--author", "streamsync <s@x>"]
    );
}

fn commit(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test", "test@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}

#[test]
fn pull_request_validation_annotates_the_head_branch() {
    let repo = TestRepo::new();
    let git = git2::Repository::init(repo.path()).unwrap();
    repo.write(
        "definitions/demo/ruby.yaml",
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: '3.3'\n    from:\n      kind: DockerImage\n      name: quay.io/org/ruby:3.3\n",
    );
    commit(&git, "base");
    let base = git.head().unwrap().peel_to_commit().unwrap();
    git.branch("main-base", &base, true).unwrap();

    // The head branch adds a tag with two mistakes.
    repo.write(
        "definitions/demo/ruby.yaml",
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: '3.3'\n    from:\n      kind: DockerImage\n      name: quay.io/org/ruby:3.3\n  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: '3.4'\n    importPolicy:\n      scheduled: true\n",
    );
    commit(&git, "head");

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
