//! `watch` through the binary: it re-plans on every save, shows errors, and keeps running.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{LazyLock, mpsc};
use std::time::{Duration, Instant};

use crate::common::{Tag, TestRepo, stream};

/// `demo/ruby`, one reference tag (edits below replace its text: a name, a version).
static RUBY: LazyLock<String> = LazyLock::new(|| {
    stream("ruby")
        .tag(Tag::image("latest", "quay.io/example/ruby:3.3").reference())
        .to_yaml()
});

/// Read stdout blocks (each starts with a `──` header line) from a running watch.
struct Watch {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(repo: &TestRepo) -> Watch {
        let mut cmd = crate::support::bin();
        let mut child = cmd
            .arg("-C")
            .arg(repo.path())
            .arg("watch")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start watch");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines: rx }
    }

    /// The next block after a header, waiting at most `limit` for it to start.
    fn next_block(&self, limit: Duration) -> Option<(Duration, String)> {
        let started = Instant::now();
        let header = self.lines.recv_timeout(limit).ok()?;
        assert!(
            header.starts_with("──"),
            "a block starts with its header: {header}"
        );
        let took = started.elapsed();
        let mut body = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            if line.starts_with("──") {
                panic!("two blocks for one change: {body}\n{line}");
            }
            body.push_str(&line);
            body.push('\n');
        }
        Some((took, format!("{header}\n{body}")))
    }

    fn stop(mut self) -> i32 {
        let pid = self.child.id();
        // SIGINT, as Ctrl-C would send.
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "watch did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn replans_on_save_shows_errors_and_recovers() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    let watch = Watch::start(&repo);
    let (_, first) = watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    assert!(!first.contains("error"), "{first}");

    // A valid edit: a new stream shows up within a second.
    repo.write(
        "definitions/demo/python.yaml",
        &RUBY.replace("ruby", "python"),
    );
    let (took, block) = watch
        .next_block(Duration::from_secs(1))
        .expect("re-planned within 1 s");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(block.contains("python"), "{block}");
    assert!(!block.contains("error"), "{block}");

    // A broken edit: the error is shown with its place, and the watcher keeps running.
    repo.write(
        "definitions/demo/python.yaml",
        &RUBY
            .replace("ruby", "python")
            .replace("DockerImage", "DockerImag"),
    );
    let (_, block) = watch
        .next_block(Duration::from_secs(1))
        .expect("errors within 1 s");
    assert!(block.contains("definitions/demo/python.yaml:9:"), "{block}");
    assert!(block.contains("error"), "{block}");

    // Fixed again: the plan is back.
    repo.write(
        "definitions/demo/python.yaml",
        &RUBY.replace("ruby", "python"),
    );
    let (_, block) = watch
        .next_block(Duration::from_secs(1))
        .expect("plan within 1 s");
    assert!(!block.contains("error"), "{block}");

    assert_eq!(watch.stop(), 0, "Ctrl-C exits 0");
}

#[test]
fn picks_up_a_policies_folder_created_later() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    let watch = Watch::start(&repo);
    watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    repo.write("policies/lint.toml", "[lint]\nallow = []\n");
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("policies seen");
    assert!(block.contains("policies"), "{block}");
    // And a broken policy inside the new folder is reported.
    repo.write("policies/lint.toml", "[lint]\nalow = []\n");
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("policy error seen");
    assert!(block.contains("policies/lint.toml:2:1"), "{block}");
    assert_eq!(watch.stop(), 0);
}

#[test]
fn each_round_is_the_plan_with_its_rollouts_and_trigger_errors() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    // Applied once: `latest` holds its reference, and the manifest still has the placeholder.
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";
    repo.write("deploy/web.yaml", manifest);
    let watch = Watch::start(&repo);
    let (_, first) = watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    assert!(
        first.contains(
            "~ roll deploy/web.yaml Deployment demo/web container web: \" \" → quay.io/example/ruby:3.3"
        ),
        "{first}"
    );
    // A trigger error is a validation error, shown as one in the next round.
    repo.write(
        "deploy/web.yaml",
        &manifest.replace("ruby:latest", "ruby:missing"),
    );
    repo.write("definitions/demo/ruby.yaml", &RUBY.replace("3.3", "3.4"));
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("re-planned");
    assert!(
        block.contains("deploy/web.yaml:7:") && block.contains("has no tag `missing`"),
        "{block}"
    );
    assert_eq!(watch.stop(), 0);
}

const TRIGGERED: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";

#[test]
fn a_manifest_edit_starts_a_round_that_shows_the_rollout() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    repo.write("deploy/README.md", "manifests\n");
    let watch = Watch::start(&repo);
    let (_, first) = watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    assert!(!first.contains("roll"), "{first}");
    // A manifest in a watched folder.
    repo.write("deploy/web.yaml", TRIGGERED);
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("a round for the manifest");
    assert!(block.contains("changed deploy/web.yaml"), "{block}");
    assert!(
        block.contains(
            "~ roll deploy/web.yaml Deployment demo/web container web: \" \" → quay.io/example/ruby:3.3"
        ),
        "{block}"
    );
    // A folder created after start, with a manifest in it, and an edit inside it later.
    repo.write(
        "apps/api/deploy.yaml",
        &TRIGGERED.replace("name: web", "name: api"),
    );
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("a round for the new folder");
    assert!(block.contains("roll apps/api/deploy.yaml"), "{block}");
    std::fs::remove_file(repo.path().join("apps/api/deploy.yaml")).unwrap();
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("a round for the deletion");
    let (header, body) = block.split_once('\n').unwrap();
    assert!(
        header.contains("changed apps/api/deploy.yaml ("),
        "{header}"
    );
    assert!(!body.contains("apps/api"), "{body}");
    assert!(body.contains("roll deploy/web.yaml"), "{body}");
    assert_eq!(watch.stop(), 0);
}

#[test]
fn ignored_folders_and_editor_files_start_no_round() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    repo.write(".gitignore", "node_modules/\n/build/\n*.local.yaml\n");
    repo.write("node_modules/chart/web.yaml", TRIGGERED);
    repo.write("build/web.yaml", TRIGGERED);
    repo.write("deploy/web.yaml", TRIGGERED);
    let watch = Watch::start(&repo);
    let (_, first) = watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    assert!(
        !first.contains("node_modules") && !first.contains("build/"),
        "{first}"
    );
    // Under ignored folders, ignored names, editors' temporary files, other file types.
    repo.write(
        "node_modules/chart/web.yaml",
        &TRIGGERED.replace("web", "app"),
    );
    repo.write("node_modules/other/new.yaml", TRIGGERED);
    repo.write("build/web.yaml", &TRIGGERED.replace("web", "app"));
    repo.write("target/web.yaml", TRIGGERED);
    repo.write("deploy/web.local.yaml", TRIGGERED);
    for temp in [
        ".web.yaml.swp",
        "web.yaml~",
        "4913",
        ".#web.yaml",
        "web.yaml.tmp",
        "notes.md",
    ] {
        repo.write(&format!("deploy/{temp}"), "x\n");
    }
    repo.write("definitions/demo/.ruby.yaml.swp", "x\n");
    repo.write("definitions/demo/ruby.yaml~", "x\n");
    assert!(
        watch.next_block(Duration::from_secs(1)).is_none(),
        "no round for ignored or temporary files"
    );
    // The watcher still sees a real edit.
    repo.write(
        "deploy/web.yaml",
        &TRIGGERED.replace("name: web\n  namespace", "name: site\n  namespace"),
    );
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("a round for the real edit");
    let header = block.lines().next().unwrap();
    assert!(header.contains("changed deploy/web.yaml ("), "{header}");
    assert!(block.contains("demo/site"), "{block}");
    assert_eq!(watch.stop(), 0);
}

#[test]
fn a_state_change_from_another_process_starts_a_round() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    repo.write("definitions/demo/ruby.yaml", &RUBY.replace("3.3", "3.4"));
    let watch = Watch::start(&repo);
    let (_, first) = watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    assert!(first.contains("3.4"), "{first}");
    // `apply` in another terminal: the live state catches up, and the plan shows it.
    let applied = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("a round for the state");
    let header = block.lines().next().unwrap();
    assert!(
        header.contains("changed state/streamsync.toml ("),
        "{header}"
    );
    let fresh = repo.run(&["plan"]);
    let body: String = block.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert!(!body.contains("3.3"), "{body}");
    assert!(
        fresh.stdout.lines().all(|l| body.contains(l)),
        "{body}\n---\n{}",
        fresh.stdout
    );
    assert_eq!(watch.stop(), 0);
}

/// The body of a round (its header line left out).
fn body(block: &str) -> String {
    block
        .split_once('\n')
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

#[test]
fn incremental_rounds_print_what_a_fresh_start_prints() {
    let repo = TestRepo::new();
    let python = stream("python")
        .tag(Tag::tracking("latest", "ruby:latest"))
        .tag(Tag::image("3.12", "quay.io/example/python:3.12").reference());
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    repo.define("demo", &python);
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    let watch = Watch::start(&repo);
    watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    let defs = repo.path().join("definitions/demo");
    type Step<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let steps: Vec<Step> = vec![
        (
            "an edit",
            Box::new(|| {
                repo.write("definitions/demo/ruby.yaml", &RUBY.replace("3.3", "3.4"));
            }),
        ),
        (
            "a new file",
            Box::new(|| {
                repo.write("definitions/demo/go.yaml", &RUBY.replace("ruby", "go"));
            }),
        ),
        (
            "a rename",
            Box::new(|| {
                std::fs::rename(defs.join("python.yaml"), defs.join("py.yaml")).unwrap();
            }),
        ),
        (
            "a deletion that leaves a reference dangling",
            Box::new(|| {
                std::fs::remove_file(defs.join("ruby.yaml")).unwrap();
            }),
        ),
        (
            "the file back",
            Box::new(|| {
                repo.write("definitions/demo/ruby.yaml", &RUBY);
            }),
        ),
        (
            "a broken file",
            Box::new(|| {
                // A literal: malformed on purpose.
                repo.write(
                    "definitions/demo/go.yaml",
                    "kind: ImageStream\nmetadata: [unclosed\n",
                );
            }),
        ),
        (
            "the file fixed",
            Box::new(|| {
                repo.write("definitions/demo/go.yaml", &RUBY.replace("ruby", "golang"));
            }),
        ),
    ];
    for (what, step) in steps {
        step();
        let (_, block) = watch
            .next_block(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("a round after {what}"));
        let fresh = Watch::start(&repo);
        let (_, first) = fresh
            .next_block(Duration::from_secs(10))
            .expect("a fresh first plan");
        assert_eq!(fresh.stop(), 0);
        assert_eq!(body(&block), body(&first), "after {what}");
        // A valid round is exactly `plan`'s output.
        let plan = repo.run(&["plan"]);
        let invalid = what.starts_with("a deletion") || what == "a broken file";
        assert_eq!(plan.code != 0, invalid, "after {what}: {}", plan.stderr);
        if plan.code == 0 {
            assert_eq!(body(&block), plan.stdout, "after {what}");
        } else {
            assert!(body(&block).contains("error"), "after {what}: {block}");
        }
    }
    assert_eq!(watch.stop(), 0);
}

#[test]
fn editor_temporary_files_start_no_round() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/ruby.yaml", &RUBY);
    repo.write("policies/default.toml", "[lint]\nallow = []\n");
    let watch = Watch::start(&repo);
    watch
        .next_block(Duration::from_secs(10))
        .expect("a first plan");
    // What vim, Emacs and others write while saving: no round for any of them.
    for temp in [
        "definitions/demo/4913",
        "definitions/demo/.ruby.yaml.swp",
        "definitions/demo/ruby.yaml~",
        "definitions/demo/.#ruby.yaml",
        "definitions/demo/#ruby.yaml#",
        "definitions/demo/ruby.yaml___jb_tmp___",
        "policies/default.toml.swo",
    ] {
        repo.write(temp, "not: [valid\n");
    }
    assert!(
        watch.next_block(Duration::from_millis(1500)).is_none(),
        "a round started for an editor's temporary file"
    );
    // The real save still starts one.
    repo.write("definitions/demo/ruby.yaml", &RUBY.replace("ruby", "rubyx"));
    let (_, block) = watch
        .next_block(Duration::from_secs(2))
        .expect("re-planned after the real save");
    assert!(block.contains("rubyx"), "{block}");
    assert_eq!(watch.stop(), 0);
}
