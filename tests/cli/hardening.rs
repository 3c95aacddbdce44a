//! Hostile repositories and races, through the binary. The state folder is streamsync's own
//! (no link in it is followed, a folder that is not a store is never written into, a first
//! apply leaves a recognisable store even when killed, the serial never wraps, a damaged image
//! file is never shown as another image); `sync --commit` commits the state folder alone; a
//! hand-edited saved plan is refused; text from definitions is escaped in every output; a cut
//! plan comment still names every change; definition links leading out and submodules are
//! refused alike in the work tree and at a revision.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{Stream, Tag, TestRepo, stream};
use crate::scenarios::scenario_repo;

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_lock_file_linked_to_a_definition_is_refused_and_the_definition_kept() {
    let repo = scenario_repo("fresh");
    let ruby = repo.path().join("definitions/web/ruby.yaml");
    let before = read(&ruby);
    std::fs::create_dir_all(repo.path().join("state")).unwrap();
    symlink(&ruby, repo.path().join("state/.lock")).unwrap();
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains("state/.lock` is a symbolic link"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
    assert_eq!(read(&ruby), before, "the link's target was changed");
    assert!(!repo.path().join("state/web").exists());
}

#[test]
fn the_lock_file_is_not_emptied_on_release() {
    // A lock file that was swapped for a hard link to another file after it was taken would
    // be truncated by an emptying release; releasing only unlocks.
    let repo = scenario_repo("fresh");
    assert_eq!(repo.run(&["apply"]).code, 0);
    let lock = read(repo.path().join("state/.lock"));
    assert!(lock.contains("pid = "), "{lock}");
}

#[test]
fn links_inside_the_state_folder_are_errors_that_name_them() {
    let repo = scenario_repo("fresh");
    assert_eq!(repo.run(&["apply"]).code, 0);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), "not: a stream\n").unwrap();

    // A stream file that is a link.
    let file = repo.path().join("state/web/ruby.yaml");
    std::fs::rename(&file, outside.path().join("ruby.yaml")).unwrap();
    symlink(outside.path().join("ruby.yaml"), &file).unwrap();
    for args in [&["plan"][..], &["apply"], &["get", "streams"]] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.snapshot());
        assert!(
            out.stderr
                .contains("state/web/ruby.yaml` is a symbolic link"),
            "{args:?}: {}",
            out.stderr
        );
    }
    std::fs::remove_file(&file).unwrap();
    std::fs::rename(outside.path().join("ruby.yaml"), &file).unwrap();

    // A namespace folder that is a link: nothing is read through it or written into it.
    let ns = repo.path().join("state/apps");
    std::fs::rename(&ns, outside.path().join("apps")).unwrap();
    symlink(outside.path().join("apps"), &ns).unwrap();
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains("state/apps` is a symbolic link"),
        "{}",
        out.stderr
    );

    // The meta file as a link.
    std::fs::remove_file(&ns).unwrap();
    std::fs::rename(outside.path().join("apps"), &ns).unwrap();
    let meta = repo.path().join("state/streamsync.toml");
    std::fs::rename(&meta, outside.path().join("streamsync.toml")).unwrap();
    symlink(outside.path().join("streamsync.toml"), &meta).unwrap();
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr
            .contains("state/streamsync.toml` is a symbolic link"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_image_folder_that_is_a_link_is_not_written_through() {
    let repo = scenario_repo("update");
    let outside = tempfile::tempdir().unwrap();
    let images = repo.path().join("state/images");
    std::fs::rename(&images, outside.path().join("images")).unwrap();
    symlink(outside.path().join("images"), &images).unwrap();
    let out = repo.run(&["get", "image", "web/ruby@3a335d7"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains("state/images` is a symbolic link"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_folder_that_is_not_a_store_is_refused_and_left_alone() {
    let repo = scenario_repo("fresh");
    repo.write("notes/README.md", "my notes\n");
    let notes = repo.path().join("notes");
    let notes = notes.to_str().unwrap();
    let out = repo.run(&["--state", notes, "apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "is not a streamsync state folder: it has no `streamsync.toml` but holds `README.md`"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: point --state"), "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(repo.path().join("notes"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("README.md")]);
    // `plan` reads it no more than apply writes it.
    assert_eq!(repo.run(&["--state", notes, "plan"]).code, 1);
    // The definitions folder is not a store either.
    let definitions = repo.path().join("definitions");
    let out = repo.run(&["--state", definitions.to_str().unwrap(), "apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    // An empty folder becomes one.
    let empty = repo.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = repo.run(&["--state", empty.to_str().unwrap(), "apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(repo.path().join("empty/streamsync.toml").is_file());
}

#[test]
fn an_interrupted_first_apply_leaves_a_store_the_next_apply_repairs() {
    let repo = TestRepo::new();
    for i in 0..150 {
        let app = (0..6)
            .map(|t| {
                Tag::image(
                    &format!("v{t}"),
                    &format!("registry.example.com/app{i}:{t}"),
                )
                .reference()
            })
            .fold(stream(&format!("app{i:04}")), Stream::tag);
        repo.define("crash", &app);
    }
    let started = std::time::Instant::now();
    let measure = repo.path().join("measure");
    let out = repo.run(&["--state", measure.to_str().unwrap(), "apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(measure.join("crash/app0149.yaml").is_file());
    let full = started.elapsed().as_millis().max(20) as u64;
    let mut partial = 0;
    for round in 0..8u64 {
        let state = repo.path().join(format!("run{round}"));
        let state = state.to_str().unwrap();
        let mut cmd = crate::support::bin();
        let mut child = cmd
            .arg("-C")
            .arg(repo.path())
            .args(["--state", state, "apply"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(full * (round + 2) / 10));
        let _ = child.kill();
        let _ = child.wait();
        let dir = Path::new(state);
        let streams = dir.join("crash");
        let written = streams.is_dir() && std::fs::read_dir(&streams).unwrap().next().is_some();
        if written {
            assert!(
                dir.join("streamsync.toml").is_file(),
                "round {round}: stream files without streamsync.toml"
            );
            if std::fs::read_dir(&streams).unwrap().count() < 150 {
                partial += 1;
            }
        }
        let repair = repo.run(&["--state", state, "apply"]);
        assert_eq!(repair.code, 0, "round {round}: {}", repair.snapshot());
        let plan = repo.run(&["--state", state, "plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "round {round}: {}", plan.snapshot());
    }
    eprintln!("{partial} of 8 kills landed while stream files were being written");
}

#[test]
fn the_serial_never_wraps() {
    let repo = scenario_repo("update");
    let meta = repo.path().join("state/streamsync.toml");
    let text = read(&meta);
    let at_max = regex::Regex::new(r"serial = \d+")
        .unwrap()
        .replace(&text, format!("serial = {}", i64::MAX))
        .into_owned();
    std::fs::write(&meta, &at_max).unwrap();
    let stream = read(repo.path().join("state/web/ruby.yaml"));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(&format!(
            "the live state's serial is at its maximum ({})",
            i64::MAX
        )),
        "{}",
        out.stderr
    );
    assert_eq!(read(&meta), at_max);
    assert_eq!(read(repo.path().join("state/web/ruby.yaml")), stream);
}

#[test]
fn a_mismatched_image_file_is_never_shown_under_another_id() {
    let repo = scenario_repo("update");
    let file = repo.path().join(
        "state/images/sha256/3a335d7eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.yaml",
    );
    let other = read(&file).replace(
        "sha256:3a335d7eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        "sha256:4b446e8fffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    );
    std::fs::write(&file, other).unwrap();
    let out = repo.run(&["get", "image", "web/ruby@3a335d7", "-o", "json"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(!out.stdout.contains("4b446e8"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("is damaged: it holds image `sha256:4b446e8"),
        "{}",
        out.stderr
    );
}

/// The paths `git status` reports as changed (staged or not), with their status bits.
fn git_status(repo: &git2::Repository) -> Vec<(String, git2::Status)> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    repo.statuses(Some(&mut opts))
        .unwrap()
        .iter()
        .map(|e| (e.path().unwrap().to_owned(), e.status()))
        .collect()
}

fn head_tree(repo: &git2::Repository) -> git2::Tree<'_> {
    repo.head().unwrap().peel_to_tree().unwrap()
}

#[test]
fn sync_commit_commits_exactly_the_state_folder() {
    let repo = scenario_repo("fresh");
    repo.define(
        "web",
        &stream("app.tmpl").tag(Tag::image("v1", "registry.example.com/app:1").reference()),
    );
    let git = git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git, "definitions");
    // Someone's work in progress: a staged new file and a staged edit.
    repo.write("notes.txt", "staged, not for the sync commit\n");
    repo.write("definitions/web/README.md", "staged edit\n");
    let mut index = git.index().unwrap();
    index.add_path(Path::new("notes.txt")).unwrap();
    index
        .add_path(Path::new("definitions/web/README.md"))
        .unwrap();
    index.write().unwrap();

    let out = repo.run(&["sync", "--once", "--commit"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(out.stderr.contains("committed "), "{}", out.stderr);
    let tree = head_tree(&git);
    for path in [
        "state/streamsync.toml",
        "state/web/ruby.yaml",
        "state/web/app.tmpl.yaml",
        "state/apps/site.yaml",
    ] {
        assert!(
            tree.get_path(Path::new(path)).is_ok(),
            "{path} not committed"
        );
    }
    for path in ["notes.txt", "definitions/web/README.md", "state/.lock"] {
        assert!(
            tree.get_path(Path::new(path)).is_err(),
            "{path} is in the sync commit"
        );
    }
    // The staged work is still staged; the state is clean.
    let status = git_status(&git);
    assert!(
        status
            .iter()
            .any(|(p, s)| p == "notes.txt" && s.contains(git2::Status::INDEX_NEW)),
        "{status:?}"
    );
    assert!(
        status
            .iter()
            .any(|(p, s)| p == "definitions/web/README.md" && s.contains(git2::Status::INDEX_NEW)),
        "{status:?}"
    );
    let dirty: Vec<_> = status
        .iter()
        .filter(|(p, _)| p.starts_with("state/"))
        .collect();
    assert!(dirty.is_empty(), "state not clean: {dirty:?}");
}

#[test]
fn a_sync_commit_that_failed_is_made_by_the_next_sync() {
    let repo = scenario_repo("fresh");
    let git = git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git, "definitions");
    let head = git.head().unwrap().target().unwrap();
    let lock = git.path().join("index.lock");
    std::fs::write(&lock, "").unwrap();
    let out = repo.run(&["sync", "--once", "--commit"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(out.stderr.contains("index.lock"), "{}", out.stderr);
    assert_eq!(git.head().unwrap().target().unwrap(), head);
    assert!(repo.path().join("state/web/ruby.yaml").is_file());
    std::fs::remove_file(&lock).unwrap();
    // Nothing new to apply, but the state on disk is not in HEAD yet.
    let out = repo.run(&["sync", "--once", "--commit"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let tree = head_tree(&git);
    let blob = tree
        .get_path(Path::new("state/web/ruby.yaml"))
        .unwrap()
        .to_object(&git)
        .unwrap()
        .peel_to_blob()
        .unwrap();
    assert_eq!(
        blob.content(),
        std::fs::read(repo.path().join("state/web/ruby.yaml")).unwrap()
    );
    let dirty: Vec<_> = git_status(&git)
        .into_iter()
        .filter(|(p, _)| p.starts_with("state/"))
        .collect();
    assert!(dirty.is_empty(), "state not clean: {dirty:?}");
}

/// Every file of a state folder (the lock file too), with its text and modification time.
fn state_files(dir: &Path) -> Vec<(String, String, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.push((p.display().to_string(), read(&p), modified));
            }
        }
    }
    out.sort();
    out
}

/// Save a plan of `repo` (extra `plan` arguments in `args`) and return it as JSON.
fn saved_plan(repo: &TestRepo, args: &[&str]) -> (String, serde_json::Value) {
    let file = repo.path().join("plan.json");
    let file = file.to_str().unwrap().to_owned();
    let mut all = vec!["plan", "--out", &file];
    all.extend_from_slice(args);
    let out = repo.run(&all);
    assert!(out.code == 0 || out.code == 2, "{}", out.snapshot());
    let v = serde_json::from_str(&read(&file)).unwrap();
    (file, v)
}

/// Apply a hand-edited plan: refused, state untouched.
fn assert_forged_refused(repo: &TestRepo, file: &str, plan: &serde_json::Value) {
    std::fs::write(file, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    let state = state_files(&repo.path().join("state"));
    let out = repo.run(&["apply", file]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr
            .contains("error: saved plan does not match the definitions it was made from"),
        "{}",
        out.stderr
    );
    assert_eq!(
        state_files(&repo.path().join("state")),
        state,
        "the state changed"
    );
}

#[test]
fn hand_edited_saved_plans_are_refused() {
    let repo = scenario_repo("update");
    let (file, plan) = saved_plan(&repo, &[]);
    let changes = plan["changes"].as_array().unwrap().clone();
    assert!(!changes.is_empty());

    // An added create_stream.
    let mut forged = plan.clone();
    forged["changes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "action": "create_stream", "namespace": "evil", "stream": "backdoor", "tag": null,
            "before": null, "after": {}, "reason": "new stream"
        }));
    assert_forged_refused(&repo, &file, &forged);

    // A changed pull spec.
    let mut forged = plan.clone();
    let text = serde_json::to_string(&forged["changes"]).unwrap();
    assert!(text.contains("registry.example.com"), "{text}");
    forged["changes"] =
        serde_json::from_str(&text.replace("registry.example.com", "evil.example.com")).unwrap();
    assert_forged_refused(&repo, &file, &forged);

    // A change left out.
    let mut forged = plan.clone();
    forged["changes"].as_array_mut().unwrap().pop();
    assert_forged_refused(&repo, &file, &forged);

    // A delete_stream in a plan made without --prune.
    let mut forged = plan.clone();
    forged["changes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "action": "delete_stream", "namespace": "web", "stream": "ruby", "tag": null,
            "before": {}, "after": null, "reason": "not in the definitions"
        }));
    assert_forged_refused(&repo, &file, &forged);

    // The real plan still applies.
    std::fs::write(&file, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let out = repo.run(&["apply", &file]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
}

#[test]
fn a_saved_plan_is_stale_when_its_config_or_policies_change() {
    let repo = scenario_repo("update");
    let (file, _) = saved_plan(&repo, &[]);
    repo.write("policies/prune.toml", "[prune]\nkeep_tag_revisions = 7\n");
    let out = repo.run(&["apply", &file]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "error: saved plan is stale: the definitions, policies, config or roll-out manifests"
        ),
        "{}",
        out.stderr
    );
}

/// A literal: each hostile value needs its own YAML quoting.
const HOSTILE: &str = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: evil
  annotations:
    openshift.io/display-name: \"Evil\\e]0;pwned\\a\\e[2J\\rHidden\\tTab\\nSigned-off-by: Mallory <m@example.com>\"
spec:
  tags:
  - name: v1
    annotations:
      description: \"see `[here](https://evil.example.com)` \\e[31mred\\e[0m @everyone <img src=x>\"
    reference: true
    from:
      kind: DockerImage
      name: quay.io/org/evil:v1
";

/// No control character but the newline, and no bidirectional override.
fn assert_clean(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
        .collect();
    assert!(bad.is_empty(), "{what} prints {bad:?}:\n{text}");
}

#[test]
fn text_from_definitions_is_escaped_in_every_output() {
    let repo = TestRepo::new();
    repo.write("definitions/team/evil.yaml", HOSTILE);
    for args in [
        &["plan"][..],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "json"],
        &["validate"],
    ] {
        let out = repo.run(args);
        assert_clean(&format!("{args:?} stdout"), &out.stdout);
        assert_clean(&format!("{args:?} stderr"), &out.stderr);
    }
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    for args in [
        &["get", "stream", "team/evil"][..],
        &["get", "stream", "team/evil", "-o", "yaml"],
        &["get", "streams"],
        &["get", "tag", "team/evil:v1"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.snapshot());
        assert_clean(&format!("{args:?} stdout"), &out.stdout);
    }
    // Colour still works: the only escape sequences are streamsync's own colours.
    repo.write(
        "definitions/team/evil.yaml",
        &HOSTILE.replace("name: v1\n", "name: v2\n"),
    );
    let out = repo.run(&["--color", "always", "plan"]);
    assert!(out.stdout.contains("\x1b[32m"), "{}", out.stdout);
    assert!(!out.stdout.contains("\x1b]0;"), "{:?}", out.stdout);
    assert!(!out.stdout.contains("\x1b[2J"), "{:?}", out.stdout);
    // Every escape sequence is one of streamsync's colours, none an outside one.
    for seq in out.stdout.split('\x1b').skip(1) {
        let code = seq.split_inclusive('m').next().unwrap_or("");
        assert!(
            ["[0m", "[1m", "[31m", "[32m", "[33m", "[36m"].contains(&code),
            "outside escape sequence {code:?} in {:?}",
            out.stdout
        );
    }
    assert_clean("--color always stderr", &out.stderr);
}

#[test]
fn markdown_shows_outside_text_only_as_code_or_escaped_text() {
    let repo = TestRepo::new();
    repo.write("definitions/team/evil.yaml", HOSTILE);
    let out = repo.run(&["plan", "--format", "markdown"]);
    assert_clean("markdown", &out.stdout);
    for line in out.stdout.lines().filter(|l| l.contains("<img")) {
        let in_code = line.starts_with('+') || (line.starts_with("  - `") && line.ends_with('`'));
        assert!(in_code, "outside text as Markdown: {line}");
    }
    // Pull specs appear verbatim in code spans.
    assert!(
        out.stdout.contains("`quay.io/org/evil:v1`"),
        "{}",
        out.stdout
    );
}

fn big_stream(name: &str, tags: usize, registry: &str) -> String {
    (0..tags)
        .map(|t| {
            Tag::image(&format!("v{t}.0"), &format!("{registry}/{name}:v{t}.0"))
                .annotation(
                    "description",
                    &format!("A long description of version {t} of {name}, long enough to make every section large."),
                )
                .reference()
        })
        .fold(
            stream(name).annotation("openshift.io/display-name", name),
            Stream::tag,
        )
        .to_yaml()
}

#[test]
fn a_cut_comment_still_names_every_stream_source_and_removal() {
    let repo = TestRepo::new();
    repo.define(
        "team",
        &stream("zzz")
            .tag(Tag::image("keep", "quay.io/org/zzz:1").reference())
            .tag(Tag::image("gone", "quay.io/org/zzz:2").reference()),
    );
    assert_eq!(repo.run(&["apply"]).code, 0);
    for i in 0..200 {
        let name = format!("app{i:03}");
        repo.write(
            &format!("definitions/team/{name}.yaml"),
            &big_stream(&name, 12, "quay.io/org"),
        );
    }
    // The one change to watch: a source moved to another registry, and a tag removed.
    repo.define(
        "team",
        &stream("zzz").tag(Tag::image("keep", "evil.example.net/org/zzz:1").reference()),
    );
    let out = repo.run(&["plan", "--format", "markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.chars().count() <= 60_000, "{} characters", md.len());
    assert!(md.contains("job summary"), "says where the full plan is");
    for i in 0..200 {
        assert!(
            md.contains(&format!("`team/app{i:03}`")),
            "app{i:03} is missing"
        );
    }
    assert!(md.contains("`team/zzz`"), "{md}");
    assert!(
        md.contains("evil.example.net/org/zzz"),
        "the new source is hidden"
    );
    assert!(md.contains("`gone`"), "the removal is hidden");
}

/// A stream `name` with one reference tag, as its definition file holds it.
fn stream_text(name: &str) -> String {
    stream(name)
        .tag(Tag::image("v1", &format!("quay.io/org/{name}:v1")).reference())
        .to_yaml()
}

#[test]
fn definition_links_leading_out_are_errors_in_the_work_tree_and_at_a_revision() {
    let repo = TestRepo::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(&secret, stream_text("secret")).unwrap();
    repo.write("definitions/web/ruby.yaml", &stream_text("ruby"));
    // A link inside the repository is read at its target.
    repo.write("shared/python.yaml", &stream_text("python"));
    symlink(
        "../../shared/python.yaml",
        repo.path().join("definitions/web/python.yaml"),
    )
    .unwrap();
    let git = git2::Repository::init(repo.path()).unwrap();
    crate::common::commit_all(&git, "inside links");
    for args in [&["validate"][..], &["validate", "--rev", "HEAD"]] {
        let out = repo.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.snapshot());
    }
    let plan = repo.run(&["plan", "--rev", "HEAD", "--format", "json"]);
    assert!(plan.stdout.contains("\"python\""), "{}", plan.stdout);

    // A link leading out: an error naming it, in the work tree and at a revision.
    symlink(&secret, repo.path().join("definitions/web/secret.yaml")).unwrap();
    crate::common::commit_all(&git, "a link out");
    for args in [
        &["validate"][..],
        &["plan"],
        &["validate", "--rev", "HEAD"],
        &["plan", "--rev", "HEAD"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.snapshot());
        assert!(
            out.stderr.contains(
                "`definitions/web/secret.yaml` is a symbolic link leading outside the repository"
            ),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("secret"), "{args:?}: {}", out.stdout);
    }
    // A tag edit never writes through it either.
    let out = repo.run(&["tag", "quay.io/org/x:1", "web/ruby:x"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert_eq!(read(&secret), stream_text("secret"));
}

#[test]
fn a_submodule_under_definitions_is_refused_alike_by_the_work_tree_and_a_revision() {
    let repo = TestRepo::new();
    repo.write("definitions/web/ruby.yaml", &stream_text("ruby"));
    let vendor = repo.path().join("definitions/vendor");
    std::fs::create_dir_all(&vendor).unwrap();
    let inner = git2::Repository::init(&vendor).unwrap();
    std::fs::write(vendor.join("extra.yaml"), stream_text("extra")).unwrap();
    crate::common::commit_all(&inner, "vendor");
    let git = git2::Repository::init(repo.path()).unwrap();
    // The outer repository records the inner one as a submodule: a gitlink entry.
    let mut index = git.index().unwrap();
    index
        .add_path(Path::new("definitions/web/ruby.yaml"))
        .unwrap();
    index
        .add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o160000,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: inner.head().unwrap().target().unwrap(),
            flags: "definitions/vendor".len() as u16,
            flags_extended: 0,
            path: b"definitions/vendor".to_vec(),
        })
        .unwrap();
    index.write().unwrap();
    let tree = git.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test", "test@example.com").unwrap();
    git.commit(Some("HEAD"), &sig, &sig, "with a submodule", &tree, &[])
        .unwrap();
    let head = git.head().unwrap().peel_to_tree().unwrap();
    assert_eq!(
        head.get_path(Path::new("definitions/vendor"))
            .unwrap()
            .kind(),
        Some(git2::ObjectType::Commit),
        "the test needs a gitlink"
    );
    for args in [&["validate"][..], &["validate", "--rev", "HEAD"]] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.snapshot());
        assert!(
            out.stderr
                .contains("`definitions/vendor` is a Git submodule"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_policy_file_linked_out_of_the_repository_is_not_read() {
    let repo = TestRepo::new();
    repo.write("definitions/web/ruby.yaml", &stream_text("ruby"));
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.toml");
    std::fs::write(&secret, "password = \"hunter2\"\n").unwrap();
    std::fs::create_dir_all(repo.path().join("policies")).unwrap();
    symlink(&secret, repo.path().join("policies/prune.toml")).unwrap();
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "policies/prune.toml: error: is a symbolic link leading outside the repository"
        ),
        "{}",
        out.snapshot()
    );
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
}

#[test]
fn the_config_linked_out_of_the_repository_is_not_read() {
    let repo = TestRepo::new();
    repo.write("definitions/web/ruby.yaml", &stream_text("ruby"));
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.toml");
    std::fs::write(&secret, "password = \"hunter2\"\n").unwrap();
    symlink(&secret, repo.path().join("streamsync.toml")).unwrap();
    for args in [&["validate"][..], &["plan"]] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.snapshot());
        assert!(
            out.stderr.contains(
                "streamsync.toml: error: is a symbolic link leading outside the repository"
            ),
            "{args:?}: {}",
            out.snapshot()
        );
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
    // A link to a file inside the repository is read as that file.
    std::fs::remove_file(repo.path().join("streamsync.toml")).unwrap();
    repo.write("config/streamsync.toml", "default_namespace = \"web\"\n");
    symlink(
        "config/streamsync.toml",
        repo.path().join("streamsync.toml"),
    )
    .unwrap();
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
}
