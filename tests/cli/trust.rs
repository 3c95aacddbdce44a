//! Output a reviewer can trust, and the pull-request workflows that show it (issue 22): a cut
//! comment still names every new or changed source; a saved plan covers the manifests and
//! shows its roll-outs; file names cannot start a GitHub workflow command and direction
//! controls are escaped; the plan runs a streamsync that is not the pull request's, without
//! write permission, and a separate workflow posts the comment from the artifact, editing only
//! its own. The workflows' shell steps run here with bash, jq and the real binary; `gh` (the
//! GitHub API) is a small script that answers from files and records what was asked.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{Output, Stream, Tag, TestRepo, crate_path, stream};
use crate::scenarios::scenario_repo;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn workflow(name: &str) -> Value {
    let text = read(&crate_path(".github/workflows").join(name));
    serde_saphyr::from_str(&text).unwrap()
}

/// The `run:` script of the step `name` of `job` in workflow `file`.
fn step_script(file: &str, job: &str, name: &str) -> String {
    workflow(file)["jobs"][job]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("{file}: no step {name:?}"))
        .to_owned()
}

/// Run a workflow script with bash in `dir`, `PATH` led by `bin` when given.
fn run_step(dir: &Path, script: &str, env: &[(&str, &str)], bin: Option<&Path>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg("-e").arg("-c").arg(script).current_dir(dir);
    if let Some(bin) = bin {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", bin.display()));
    }
    let out = cmd
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn stream_yaml(name: &str, tags: &[(&str, &str)]) -> String {
    tags.iter()
        .map(|(tag, source)| Tag::image(tag, source).reference())
        .fold(stream(name), Stream::tag)
        .to_yaml()
}

/// The red team's case (6,000 streams there, 2,500 here): every stream changes, one is retargeted to another
/// registry. The comment is cut, and still names the retargeted source, first.
#[test]
fn a_cut_comment_names_every_new_or_changed_source() {
    let repo = TestRepo::new();
    let write_all = |evil: bool| {
        for s in 0..2_500 {
            let source = if evil && s == 1_234 {
                "evil.example.com/backdoor/app:v1".to_owned()
            } else if evil {
                format!("quay.io/org/app{s}:v2")
            } else {
                format!("quay.io/org/app{s}:v1")
            };
            repo.write(
                &format!("definitions/team/app{s:04}.yaml"),
                &stream_yaml(&format!("app{s:04}"), &[("v1", &source)]),
            );
        }
    };
    write_all(false);
    let applied = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    write_all(true);
    let md = repo.run(&["plan", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    let text = &md.stdout;
    assert!(text.len() <= 60_000, "{}", text.len());
    assert!(text.contains("_Truncated:"), "the comment is cut");
    let sources = text
        .find("#### New and changed sources")
        .expect("a sources section");
    let evil = text
        .find("evil.example.com/backdoor/app")
        .expect("the retargeted source is named");
    assert!(sources < evil, "in the sources section");
    // Sources first, then removals and streams; the retargeted one leads its list.
    assert!(evil < text.find("#### Every change").unwrap());
    let first = text[sources..].lines().nth(2).unwrap();
    assert_eq!(
        first,
        "- `team/app1234:v1`: `quay.io/org/app1234:v1` → `evil.example.com/backdoor/app:v1`"
    );
    // The moves within their own repositories are told too, by registry.
    assert!(
        text.contains("- `quay.io`: tags moved within 2499 repositories already in use"),
        "{}",
        &text[sources..sources + 2_000]
    );
}

/// Fewer sources: every one is listed whole, before the streams, even when the details are
/// cut, and removals follow.
#[test]
fn a_cut_comment_lists_sources_whole_when_they_fit() {
    let repo = TestRepo::new();
    let tags = |v: &str| -> Vec<(String, String)> {
        (0..60)
            .map(|t| (format!("t{t}"), format!("quay.io/org/big:{v}{t}")))
            .collect()
    };
    let write = |s: usize, v: &str| {
        let tags = tags(v);
        let tags: Vec<(&str, &str)> = tags.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        repo.write(
            &format!("definitions/team/big{s:03}.yaml"),
            &stream_yaml(&format!("big{s:03}"), &tags),
        );
    };
    for s in 0..200 {
        write(s, "a");
    }
    repo.write(
        "definitions/team/gone.yaml",
        &stream_yaml("gone", &[("x", "quay.io/org/gone:x")]),
    );
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    // Only one tag really changes its source; everything else gains details (annotations).
    for s in 0..200 {
        write(s, "a");
    }
    repo.write(
        "definitions/team/big150.yaml",
        &read(&repo.path().join("definitions/team/big150.yaml"))
            .replace("quay.io/org/big:a7\n", "evil.example.com/backdoor/app:v1\n"),
    );
    std::fs::remove_file(repo.path().join("definitions/team/gone.yaml")).unwrap();
    for s in 0..200 {
        let p = repo.path().join(format!("definitions/team/big{s:03}.yaml"));
        let text = read(&p).replace(
            "metadata:\n",
            &format!(
                "metadata:\n  annotations:\n    description: '{}'\n",
                "long ".repeat(60)
            ),
        );
        std::fs::write(p, text).unwrap();
    }
    let md = repo.run(&["plan", "--format", "markdown", "--prune"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    let text = &md.stdout;
    assert!(
        text.contains("_Truncated:"),
        "the comment is cut: {}",
        text.len()
    );
    let sources = text.find("#### New and changed sources").unwrap();
    let line = "- `team/big150:t7`: `quay.io/org/big:a7` → `evil.example.com/backdoor/app:v1`";
    let at = text
        .find(line)
        .unwrap_or_else(|| panic!("{}", &text[..4_000]));
    let removals = text.find("#### Removals").unwrap();
    assert!(sources < at && at < removals, "sources, then removals");
    assert!(text[removals..].contains("- `team/gone`: removes the whole stream"));
    assert!(removals < text.find("#### Every change").unwrap());
}

/// The `update` scenario with the roll-out manifests, settled: a plan with roll-outs only.
fn settled_repo() -> TestRepo {
    let repo = scenario_repo("update");
    for f in ["web.yaml", "worker.json"] {
        repo.copy(
            format!("tests/fixtures/rollout/cli/deploy/{f}"),
            &format!("deploy/{f}"),
        );
    }
    let web = repo.path().join("deploy/web.yaml");
    std::fs::write(&web, read(&web).replace("ruby:edge", "ruby:docs")).unwrap();
    repo.write(
        "definitions/web/ruby.yaml",
        &read(&repo.path().join("state/web/ruby.yaml")),
    );
    repo
}

#[test]
fn a_saved_plan_shows_its_rollouts_and_is_refused_after_a_manifest_changed() {
    let repo = settled_repo();
    let saved = repo.path().join("saved.json");
    let saved = saved.to_str().unwrap();
    let out = repo.run(&["plan", "--out", saved]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dry = repo.run(&["apply", saved, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("Roll-outs:\n~ roll deploy/web.yaml")
            && dry.stdout.ends_with("0 to import, 3 to roll.\n"),
        "{}",
        dry.stdout
    );
    let json = repo.run(&["apply", saved, "--dry-run", "--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["rollouts"].as_array().unwrap().len(),
        3,
        "{}",
        json.stdout
    );

    // A manifest changes after the plan: the plan no longer says what applying would roll.
    let web = repo.path().join("deploy/web.yaml");
    let changed = read(&web).replace("name: web\n", "name: web # edited\n");
    assert_ne!(changed, read(&web));
    std::fs::write(&web, &changed).unwrap();
    let out = repo.run(&["apply", saved]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "saved plan is stale: the definitions, policies, config or roll-out manifests it was made from changed"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(read(&web), changed, "nothing rolled");
    // A new manifest counts too.
    std::fs::write(&web, read(&web).replace(" # edited", "")).unwrap();
    let out = repo.run(&["plan", "--out", saved]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    repo.write("deploy/new.yaml", "kind: ConfigMap\n");
    let out = repo.run(&["apply", saved]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("saved plan is stale"), "{}", out.stderr);
    std::fs::remove_file(repo.path().join("deploy/new.yaml")).unwrap();
    let out = repo.run(&["apply", saved]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A manifest with a broken trigger, named to forge a workflow command and to reverse text.
const BROKEN: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    image.openshift.io/triggers: 'not json'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: x\n";

fn no_line_starts_a_workflow_command(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line starts a workflow command: {line:?}"
        );
    }
}

#[test]
fn file_names_cannot_start_a_workflow_command_or_reverse_text() {
    let repo = settled_repo();
    repo.write("::error title=pwned::forged.yaml", BROKEN);
    repo.write(" ::stop-commands::x.yaml", BROKEN);
    repo.write("deploy/abc\u{202e}lmy.yaml", BROKEN);
    repo.write("deploy/x\u{61c}y\u{2066}.yaml", BROKEN);
    for args in [
        &["validate"][..],
        &["validate", "--format", "text"],
        &["plan"],
        &["rollout", "--dry-run"],
        &["apply", "--dry-run"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        let all = format!("{}{}", out.stdout, out.stderr);
        no_line_starts_a_workflow_command(&format!("{args:?}"), &all);
        assert!(
            all.contains("./::error title=pwned::forged.yaml"),
            "{args:?}: {all}"
        );
        assert!(
            all.contains("./ ::stop-commands::x.yaml"),
            "{args:?}: {all}"
        );
        for c in ['\u{202e}', '\u{61c}', '\u{2066}'] {
            assert!(!all.contains(c), "{args:?}: {c:?} unescaped: {all}");
        }
        assert!(all.contains("deploy/abc\\u202elmy.yaml"), "{args:?}: {all}");
        assert!(
            all.contains("deploy/x\\u061cy\\u2066.yaml"),
            "{args:?}: {all}"
        );
    }
    // JSON escapes them as JSON does, so the document stays valid and keeps the true names.
    let out = repo.run(&["validate", "--format", "json"]);
    assert!(!out.stdout.contains('\u{202e}'), "{}", out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    let files: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"deploy/abc\u{202e}lmy.yaml"), "{files:?}");
    assert!(
        files.contains(&"::error title=pwned::forged.yaml"),
        "{files:?}"
    );
    // The GitHub format stays workflow commands, the name escaped as a property.
    let out = repo.run(&["validate", "--format", "github"]);
    assert!(
        out.stdout
            .contains("::error file=%3A%3Aerror title=pwned%3A%3Aforged.yaml,line="),
        "{}",
        out.stdout
    );
    for line in out.stdout.lines() {
        assert!(line.starts_with("::"), "{line}");
    }
}

// ---- the workflows ----

/// Every third-party action is pinned by a full commit id, its version in a comment; local
/// actions are the only other kind.
#[test]
fn every_third_party_action_is_pinned_by_commit() {
    let mut files: Vec<_> = std::fs::read_dir(crate_path(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(crate_path(".github/actions/streamsync/action.yml"));
    let mut pinned = 0;
    for file in files {
        for line in read(&file).lines() {
            let Some(used) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            if used.starts_with("./") {
                continue;
            }
            let (action, rest) = used.split_once('@').unwrap_or_else(|| panic!("{line}"));
            let (sha, version) = rest.split_once(" # ").unwrap_or_else(|| panic!("{line}"));
            assert_eq!(action.split('/').count(), 2, "{}: {line}", file.display());
            assert!(
                sha.len() == 40
                    && sha
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{}: not pinned by commit: {line}",
                file.display()
            );
            let v = version.strip_prefix('v').unwrap_or("");
            assert!(
                v.split('.').count() == 3 && v.split('.').all(|n| n.parse::<u32>().is_ok()),
                "{}: no version comment: {line}",
                file.display()
            );
            pinned += 1;
        }
    }
    assert!(pinned >= 10, "{pinned}");
}

/// The plan job runs the base branch's streamsync on the pull request's files, and can write
/// nothing; it runs on manifest changes too.
#[test]
fn the_plan_workflow_runs_no_pull_request_code_and_writes_nothing() {
    let doc = workflow("plan.yml");
    assert_eq!(doc["permissions"], serde_json::json!({"contents": "read"}));
    let paths: Vec<&str> = doc["on"]["pull_request"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for needed in [
        "definitions/**",
        "policies/**",
        "streamsync.toml",
        "**.yaml",
        "**.yml",
        "**.json",
    ] {
        assert!(paths.contains(&needed), "{paths:?} lacks {needed}");
    }
    assert_eq!(paths.last(), Some(&"!state/**"), "state/ excluded last");
    let jobs = doc["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs["plan"];
    assert!(job.get("permissions").is_none());
    let steps = job["steps"].as_array().unwrap();
    let checkouts: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .collect();
    assert_eq!(checkouts.len(), 2);
    assert_eq!(
        checkouts[0]["with"],
        serde_json::json!({
            "ref": "${{ github.event.pull_request.base.sha }}",
            "path": "base",
            "persist-credentials": false
        })
    );
    assert_eq!(checkouts[1]["with"]["path"], "pr");
    assert_eq!(checkouts[1]["with"]["persist-credentials"], false);
    let mut runs = 0;
    for step in steps {
        let uses = step["uses"].as_str().unwrap_or("");
        if uses.starts_with("./") {
            // The action, and the sources it builds, are the base branch's.
            assert_eq!(uses, "./base/.github/actions/streamsync", "{step}");
            assert_eq!(step["with"]["working-directory"], "pr", "{step}");
            runs += 1;
        }
        if let Some(script) = step["run"].as_str() {
            for word in ["cargo", "pr/", "gh ", "GH_TOKEN"] {
                assert!(!script.contains(word), "{step}");
            }
        }
        assert!(step.get("env").is_none_or(|e| e.get("GH_TOKEN").is_none()));
    }
    assert_eq!(runs, 5);
}

/// The commenter: `workflow_run` of `plan`, only `actions: read` and `pull-requests: write`,
/// and no checkout or streamsync at all.
#[test]
fn the_comment_workflow_runs_no_pull_request_code() {
    let doc = workflow("plan-comment.yml");
    assert_eq!(
        doc["on"],
        serde_json::json!({"workflow_run": {"workflows": ["plan"], "types": ["completed"]}})
    );
    assert_eq!(doc["permissions"], serde_json::json!({}));
    let job = &doc["jobs"]["comment"];
    assert_eq!(
        job["permissions"],
        serde_json::json!({"actions": "read", "pull-requests": "write"})
    );
    for step in job["steps"].as_array().unwrap() {
        let uses = step["uses"].as_str().unwrap_or("");
        assert!(
            uses.is_empty() || uses.starts_with("actions/download-artifact@"),
            "{step}"
        );
        if let Some(script) = step["run"].as_str() {
            for word in ["streamsync ", "git ", "source ", "bash ", "eval", ". \""] {
                assert!(!script.contains(word), "{word:?} in {script}");
            }
        }
    }
}

/// A `gh` that answers `gh api` from `<dir>/api/<path with / as _>.json` (after `--jq`, with
/// the real jq) and appends every call, with the `--input` file's content, to `<dir>/calls`.
fn fake_gh(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("api")).unwrap();
    let script = format!(
        r#"#!/bin/bash
set -euo pipefail
dir={dir:?}
[ "$1" = api ] || {{ echo "unexpected gh $*" >&2; exit 2; }}
shift
method=GET; jqexpr=; input=; path=
while [ $# -gt 0 ]; do
  case "$1" in
    --method) method="$2"; shift 2 ;;
    --jq) jqexpr="$2"; shift 2 ;;
    --input) input="$2"; shift 2 ;;
    --paginate) shift ;;
    -*) echo "unexpected flag $1" >&2; exit 2 ;;
    *) path="$1"; shift ;;
  esac
done
{{ echo "$method $path"; [ -z "$input" ] || cat "$input"; echo; }} >> "$dir/calls"
if [ "$method" != GET ]; then echo '{{}}'; exit 0; fi
file="$dir/api/${{path//\//_}}.json"
[ -f "$file" ] || {{ echo "gh: Not Found (HTTP 404)" >&2; exit 1; }}
if [ -n "$jqexpr" ]; then jq -r "$jqexpr" "$file"; else cat "$file"; fi
"#,
        dir = dir.to_str().unwrap()
    );
    let gh = bin.join("gh");
    std::fs::write(&gh, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct Commenter {
    dir: tempfile::TempDir,
}

impl Commenter {
    fn new(comments: Value) -> Self {
        let c = Commenter {
            dir: tempfile::tempdir().unwrap(),
        };
        fake_gh(c.dir.path());
        c.api(
            "repos/o/r/pulls/7",
            &serde_json::json!({"head": {"sha": "abc123"}}),
        );
        c.api("repos/o/r/issues/7/comments", &comments);
        c.artifact(
            "7\n",
            "**streamsync plan** for abc123\n<!-- streamsync-plan -->\nPlan: 1 to add\n",
        );
        c
    }

    fn api(&self, path: &str, v: &Value) {
        std::fs::write(
            self.dir
                .path()
                .join("api")
                .join(format!("{}.json", path.replace('/', "_"))),
            v.to_string(),
        )
        .unwrap();
    }

    fn artifact(&self, number: &str, comment: &str) {
        let a = self.dir.path().join("artifact");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("pr-number"), number).unwrap();
        std::fs::write(a.join("comment.md"), comment).unwrap();
    }

    fn run(&self, head: &str) -> (Output, String) {
        let d = self.dir.path();
        let tmp = d.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let artifact = d.join("artifact");
        let script = step_script(
            "plan-comment.yml",
            "comment",
            "Post or update the pull-request comment",
        );
        let env = workflow("plan-comment.yml")["jobs"]["comment"]["steps"][1]["env"]["BOT"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = run_step(
            d,
            &script,
            &[
                ("GH_TOKEN", "t"),
                ("REPO", "o/r"),
                ("RUN_HEAD_SHA", head),
                ("ARTIFACT", artifact.to_str().unwrap()),
                ("BOT", &env),
                ("RUNNER_TEMP", tmp.to_str().unwrap()),
            ],
            Some(&d.join("bin")),
        );
        let calls = std::fs::read_to_string(d.join("calls")).unwrap_or_default();
        (out, calls)
    }
}

fn comment(id: u64, login: &str, kind: &str, body: &str) -> Value {
    serde_json::json!({"id": id, "user": {"login": login, "type": kind}, "body": body})
}

#[test]
fn the_commenter_edits_only_its_own_marked_comment() {
    let marker = "<!-- streamsync-plan -->";
    // Somebody planted the marker first; the bot has not commented yet: a new comment.
    let c = Commenter::new(serde_json::json!([
        comment(11, "mallory", "User", &format!("{marker}\nplanted")),
        comment(12, "github-actions[bot]", "Bot", "another bot comment"),
    ]));
    let (out, calls) = c.run("abc123");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("created the plan comment on #7"),
        "{}",
        out.stdout
    );
    let post = calls
        .split("POST repos/o/r/issues/7/comments\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{calls}"));
    assert!(!calls.contains("PATCH"), "{calls}");
    let body: Value = serde_json::from_str(post.lines().next().unwrap()).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("{marker}\n**streamsync plan** for abc123\n")),
        "{body}"
    );
    assert_eq!(body.matches(marker).count(), 1, "{body}");

    // The bot's own marked comment is the one updated, not the planted one.
    let c = Commenter::new(serde_json::json!([
        comment(11, "mallory", "User", &format!("{marker}\nplanted")),
        comment(
            13,
            "github-actions[bot]",
            "Bot",
            &format!("{marker}\nold plan")
        ),
    ]));
    let (out, calls) = c.run("abc123");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        calls.contains("PATCH repos/o/r/issues/comments/13\n"),
        "{calls}"
    );
    assert!(!calls.contains("comments/11"), "{calls}");
    assert!(!calls.contains("POST"), "{calls}");
}

#[test]
fn the_commenter_treats_the_artifact_as_untrusted() {
    // A number that is not one: nothing asked, nothing posted.
    let c = Commenter::new(serde_json::json!([]));
    c.artifact("7; rm -rf /\n", "x");
    let (out, calls) = c.run("abc123");
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("::error::the plan artifact holds no pull-request number")
    );
    assert_eq!(calls, "");
    // Another pull request than the run planned (or one that moved on): no comment.
    let c = Commenter::new(serde_json::json!([]));
    let (out, calls) = c.run("fff999");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("no comment"), "{}", out.stdout);
    assert_eq!(calls, "GET repos/o/r/pulls/7\n\n");
    // A huge artifact, not UTF-8, with forged workflow commands: posted as text, bounded,
    // nothing of it in the log.
    let c = Commenter::new(serde_json::json!([]));
    let mut big = String::from("::set-output name=x::y\n");
    big.push_str(&"é".repeat(100_000));
    let dir = c.dir.path().join("artifact");
    let mut bytes = big.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe tail");
    std::fs::write(dir.join("comment.md"), bytes).unwrap();
    let (out, calls) = c.run("abc123");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("set-output"), "{}", out.stdout);
    let post = calls
        .split("POST repos/o/r/issues/7/comments\n")
        .nth(1)
        .unwrap();
    let body: Value = serde_json::from_str(post.lines().next().unwrap()).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(body.chars().count() <= 60_100, "{}", body.chars().count());
    assert!(body.starts_with("<!-- streamsync-plan -->\n::set-output"));
}

/// The plan job's "Compose the comment" step with the real binary's outputs: the comment
/// for the artifact, and a job summary whose full plan shows the roll-outs.
#[test]
fn the_job_summary_shows_the_rollouts_of_the_saved_plan() {
    let repo = settled_repo();
    let tmp = tempfile::tempdir().unwrap();
    let t = |f: &str| tmp.path().join(f).to_str().unwrap().to_owned();
    // The commands of plan.yml's steps (without --refresh and --base: no registry, no Git).
    let md = repo.run(&[
        "plan",
        "--format",
        "markdown",
        "--detailed-exitcode",
        "--out",
        &t("plan-saved.json"),
    ]);
    assert_eq!(md.code, 2, "{}", md.stderr);
    std::fs::write(t("plan.md"), &md.stdout).unwrap();
    let txt = repo.run(&["apply", &t("plan-saved.json"), "--dry-run"]);
    assert_eq!(txt.code, 0, "{}", txt.stderr);
    std::fs::write(t("plan.txt"), &txt.stdout).unwrap();
    let json = repo.run(&["plan", "--format", "json"]);
    std::fs::write(t("plan.json"), &json.stdout).unwrap();
    let summary = t("summary.md");
    let out = run_step(
        tmp.path(),
        &step_script("plan.yml", "plan", "Compose the comment"),
        &[
            ("RUNNER_TEMP", tmp.path().to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", &summary),
            ("PLAN_EXIT", "2"),
            ("HEAD_SHA", "abc123"),
            ("CATALOG_URL", "https://example.com/a"),
            ("PR_NUMBER", "7"),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary = read(Path::new(&summary));
    let full = summary.find("The full plan").unwrap();
    assert!(
        summary[full..].contains("~ roll deploy/web.yaml Deployment web/web container web"),
        "{summary}"
    );
    assert!(summary[full..].contains("3 to roll."), "{summary}");
    let comment = read(&tmp.path().join("plan-comment/comment.md"));
    assert!(comment.starts_with("<!-- streamsync-plan -->\n**streamsync plan** for abc123\n"));
    assert_eq!(comment.matches("<!-- streamsync-plan -->").count(), 1);
    assert!(comment.contains("### Roll-outs"), "{comment}");
    assert_eq!(read(&tmp.path().join("plan-comment/pr-number")), "7\n");
}

/// The streamsync action's cache key (its source fingerprint) covers `build.rs` and
/// `.cargo/config.toml` when present, and ci.yml's cache key names both.
#[test]
fn the_build_cache_key_covers_build_rs_and_cargo_config() {
    let action: Value =
        serde_saphyr::from_str(&read(&crate_path(".github/actions/streamsync/action.yml")))
            .unwrap();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "fingerprint")
        .unwrap();
    let script = step["run"].as_str().unwrap();
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    std::fs::create_dir_all(root.join(".github/actions/streamsync")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\n").unwrap();
    std::fs::write(root.join("Cargo.lock"), "").unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
    let hash = || {
        let out_file = root.join("out");
        let _ = std::fs::remove_file(&out_file);
        let out = run_step(
            root,
            script,
            &[
                (
                    "GITHUB_ACTION_PATH",
                    root.join(".github/actions/streamsync").to_str().unwrap(),
                ),
                ("GITHUB_OUTPUT", out_file.to_str().unwrap()),
            ],
            None,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = read(&out_file);
        text.lines()
            .find_map(|l| l.strip_prefix("hash="))
            .unwrap()
            .to_owned()
    };
    let plain = hash();
    assert_eq!(hash(), plain, "deterministic");
    std::fs::write(root.join("build.rs"), "fn main() {}\n").unwrap();
    let with_build = hash();
    assert_ne!(with_build, plain);
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(root.join(".cargo/config.toml"), "[build]\n").unwrap();
    let with_config = hash();
    assert_ne!(with_config, with_build);
    std::fs::write(root.join(".cargo/config.toml"), "[build]\njobs = 1\n").unwrap();
    assert_ne!(hash(), with_config);

    let ci = read(&crate_path(".github/workflows/ci.yml"));
    assert!(
        ci.contains("hashFiles('Cargo.lock', 'build.rs', '.cargo/config.toml')"),
        "{ci}"
    );
}

/// Errors found by validate (or a plan that exits 1 on a manifest error) fail the plan job only
/// at its end: the comment is still composed, says so first, and survives a plan that could
/// not be made at all (no saved plan, no JSON).
#[test]
fn the_plan_job_comments_on_errors_and_fails_last() {
    let doc = workflow("plan.yml");
    let steps = doc["jobs"]["plan"]["steps"].as_array().unwrap();
    let validate = steps.iter().find(|s| s["name"] == "Validate").unwrap();
    assert_eq!(validate["with"]["allowed-exit-codes"], "0 1");
    let last = steps.last().unwrap();
    assert_eq!(
        last["if"],
        "steps.validate.outputs.exit-code != '0' || steps.plan.outputs.exit-code == '1'"
    );
    assert!(last["run"].as_str().unwrap().contains("exit 1"));
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    let out = run_step(
        tmp.path(),
        &step_script("plan.yml", "plan", "Compose the comment"),
        &[
            ("RUNNER_TEMP", tmp.path().to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("PLAN_EXIT", "1"),
            ("VALIDATE_EXIT", "1"),
            ("HEAD_SHA", "abc123"),
            ("CATALOG_URL", ""),
            ("PR_NUMBER", "7"),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let comment = read(&tmp.path().join("plan-comment/comment.md"));
    assert!(
        comment.contains("> [!CAUTION]\n> Validation found errors"),
        "{comment}"
    );
    assert!(
        read(&summary).contains("(no plan: the definitions do not validate)"),
        "{}",
        read(&summary)
    );
}
