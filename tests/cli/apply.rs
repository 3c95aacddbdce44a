//! `apply` through the binary: saved plans and staleness, the state lock, unchanged inputs
//! writing nothing, and killing applies at random moments.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{Stream, Tag, TestRepo, stream};
use crate::scenarios::scenario_repo;

/// Every file under `dir` with its bytes and mtime.
fn files(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let meta = std::fs::metadata(&p).unwrap();
                out.insert(
                    p.clone(),
                    (std::fs::read(&p).unwrap(), meta.modified().unwrap()),
                );
            }
        }
    }
    out
}

#[test]
fn saved_plan_applies_once_and_then_is_stale() {
    let repo = scenario_repo("fresh");
    let plan_file = repo.path().join("plan.json");
    let plan_file = plan_file.to_str().unwrap();
    let out = repo.run(&["plan", "--out", plan_file]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(out.stderr.contains("Saved the plan to "), "{}", out.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["format_version"], "1.2");
    assert_eq!(saved["serial"], 0);
    assert!(saved["lineage"].is_null());
    assert!(
        saved["state_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(
        saved["inputs_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Definitions changed after the plan was made: the saved plan is stale.
    repo.define("web", &stream("extra"));
    let stale = repo.run(&["apply", plan_file]);
    assert_eq!(stale.code, 1, "{}", stale.snapshot());
    assert!(
        stale.stderr.contains(
            "error: saved plan is stale: the definitions, policies, config or roll-out manifests it was made from changed since the plan was made"
        ),
        "{}",
        stale.stderr
    );
    assert!(!repo.path().join("state").exists());
    std::fs::remove_file(repo.path().join("definitions/web/extra.yaml")).unwrap();
    let applied = repo.run(&["apply", plan_file]);
    assert_eq!(applied.code, 0, "{}", applied.snapshot());
    assert!(!applied.stdout.contains("extra"), "{}", applied.stdout);
    assert!(!repo.path().join("state/web/extra.yaml").exists());

    // The first-apply case: a plan made against an empty state cannot be applied twice.
    let again = repo.run(&["apply", plan_file]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains(
            "error: saved plan is stale: the live state changed since the plan was made (serial 0 → 1)"
        ),
        "{}",
        again.stderr
    );
    assert!(
        again
            .stderr
            .contains("hint: run `streamsync plan --out FILE` again"),
        "{}",
        again.stderr
    );

    // A fresh plan applies and leaves an empty plan behind.
    let second = repo.path().join("plan2.json");
    let second = second.to_str().unwrap();
    assert_eq!(repo.run(&["plan", "--out", second]).code, 0);
    assert_eq!(repo.run(&["apply", second]).code, 0);
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn saved_plan_is_stale_after_a_half_written_state() {
    let repo = scenario_repo("update");
    let plan_file = repo.path().join("p.json");
    let plan_file = plan_file.to_str().unwrap();
    assert_eq!(repo.run(&["plan", "--out", plan_file]).code, 0);
    // A crash after a stream file was written but before the meta: the serial did not move.
    let path = repo.path().join("state/web/ruby.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("display-name: Ruby", "display-name: Ruby (half)"),
    )
    .unwrap();
    let out = repo.run(&["apply", plan_file]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("saved plan is stale: the live state changed since the plan was made (serial 4 unchanged, but the state files differ"),
        "{}",
        out.stderr
    );
    // Nothing was written by the refused apply.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text.replace("display-name: Ruby", "display-name: Ruby (half)")
    );
}

#[test]
fn saved_plans_that_are_not_plans_are_refused() {
    let repo = scenario_repo("update");
    let plan_file = repo.path().join("p.json");
    let plan_file = plan_file.to_str().unwrap();
    repo.write("p.json", "{\"format_version\": \"1.0\"}");
    let out = repo.run(&["apply", plan_file]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot use saved plan: it is not a plan saved by `streamsync plan --out`"),
        "{}",
        out.stderr
    );
    repo.write(
        "p.json",
        "{\"kind\": \"streamsync-plan\", \"format_version\": \"2.0\"}",
    );
    let out = repo.run(&["apply", plan_file]);
    assert!(
        out.stderr.contains("format version `2.0` is not supported"),
        "{}",
        out.stderr
    );
}

#[test]
fn unchanged_inputs_write_nothing() {
    let repo = scenario_repo("update");
    assert_eq!(repo.run(&["apply"]).code, 0);
    let before = files(&repo.path().join("state"));
    std::thread::sleep(Duration::from_millis(20));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert_eq!(
        out.stdout,
        "No changes. Live state matches the definitions.\n"
    );
    assert_eq!(files(&repo.path().join("state")), before);
    // --dry-run never writes either, even with changes pending.
    let fresh = scenario_repo("fresh");
    let out = fresh.run(&["apply", "--dry-run"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .ends_with("Plan: 6 to add, 0 to change, 0 to remove, 0 to import.\n")
    );
    assert!(!fresh.path().join("state").exists());
}

#[test]
fn lock_contention_names_the_holder_and_waits_when_asked() {
    let repo = scenario_repo("fresh");
    std::fs::create_dir_all(repo.path().join("state")).unwrap();
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(repo.path().join("state/.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    lock.write_all(b"pid = 4242\nstarted = \"2026-01-01T00:00:00Z\"\n")
        .unwrap();
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "the live state is locked by another apply (pid 4242, started 2026-01-01T00:00:00Z)"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--lock-timeout"), "{}", out.stderr);
    assert!(!repo.path().join("state/streamsync.toml").exists());
    // With a timeout, apply waits for the holder to finish.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        lock.unlock().unwrap();
    });
    let started = Instant::now();
    let out = repo.run(&["apply", "--lock-timeout", "20s"]);
    releaser.join().unwrap();
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(started.elapsed() >= Duration::from_millis(300));
    let bad = repo.run(&["apply", "--lock-timeout", "soon"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("invalid duration `soon`"),
        "{}",
        bad.stderr
    );
}

/// Definitions for `n` streams of 6 reference tags plus tracking tags; `round` changes every
/// source so each apply rewrites every stream.
fn big_definitions(repo: &TestRepo, n: usize, round: usize) {
    for i in 0..n {
        let name = format!("app{i:04}");
        let app = (0..6)
            .map(|t| {
                Tag::image(
                    &format!("v{t}"),
                    &format!("registry.example.com/app{i}:{t}.{round}"),
                )
                .reference()
            })
            .fold(
                stream(&name).annotation(
                    "openshift.io/display-name",
                    &format!("App {i} round {round}"),
                ),
                Stream::tag,
            )
            .tag(Tag::tracking("latest", &format!("{name}:v5")));
        repo.define("crash", &app);
    }
}

/// A small deterministic generator (xorshift) seeded from the clock; the seed is printed so a
/// failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_applies_leave_a_loadable_state_that_the_next_apply_repairs() {
    let repo = TestRepo::new();
    let n = 150;
    big_definitions(&repo, n, 0);
    // Measure one full apply to spread the kills over its whole duration.
    let started = Instant::now();
    assert_eq!(repo.run(&["apply"]).code, 0);
    let full = started.elapsed().as_millis().max(20) as u64;
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}, full apply {full} ms");
    let mut rng = Rng(seed);
    let mut killed_mid_write = 0;
    for round in 1..=24 {
        big_definitions(&repo, n, round);
        let serial_before =
            std::fs::read_to_string(repo.path().join("state/streamsync.toml")).unwrap();
        let mut cmd = crate::support::bin();
        let mut child = cmd
            .arg("-C")
            .arg(repo.path())
            .arg("apply")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = rng.next() % (full + full / 2);
        std::thread::sleep(Duration::from_millis(delay));
        // SIGKILL: no destructor, no flush, no unlock (the OS drops the lock).
        let _ = child.kill();
        let _ = child.wait();
        // Every file loads.
        let got = repo.run(&["get", "streams", "-o", "json"]);
        assert_eq!(
            got.code,
            0,
            "round {round} (seed {seed}): state does not load:\n{}",
            got.snapshot()
        );
        let v: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
        let streams = v["items"].as_array().unwrap();
        assert_eq!(streams.len(), n);
        let moved = streams
            .iter()
            .filter(|s| {
                s["metadata"]["annotations"]["openshift.io/display-name"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(&format!("round {round}")))
            })
            .count();
        let serial_after =
            std::fs::read_to_string(repo.path().join("state/streamsync.toml")).unwrap();
        if moved > 0 && moved < n && serial_after == serial_before {
            killed_mid_write += 1;
        }
        // The next apply converges, and the plan after it is empty.
        let repair = repo.run(&["apply"]);
        assert_eq!(
            repair.code,
            0,
            "round {round} (seed {seed}): {}",
            repair.snapshot()
        );
        let plan = repo.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code,
            0,
            "round {round} (seed {seed}): {}",
            plan.snapshot()
        );
        // Tracking tags agree with their source after the repair.
        let tag = repo.run(&["get", "tag", "crash/app0007:latest", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&tag.stdout).unwrap();
        assert_eq!(
            v["image"]["dockerImageReference"],
            format!("registry.example.com/app7:5.{round}"),
            "round {round} (seed {seed})"
        );
    }
    eprintln!("{killed_mid_write} of 24 kills landed while stream files were being written");
}

#[test]
fn quiet_apply_prints_nothing_but_errors() {
    let repo = TestRepo::new();
    reference_stream(&repo);
    let out = repo.run(&["-q", "apply"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert!(repo.path().join("state/web/ruby.yaml").exists());
    // Nothing to do: still silent.
    let out = repo.run(&["-q", "apply"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    // A failed import is an error: one line for it on stderr, nothing on stdout.
    repo.define(
        "web",
        &stream("perl").tag(Tag::image("5", "127.0.0.1:1/perl/perl:5")),
    );
    let out = repo.run(&["-q", "apply"]);
    assert_eq!(out.code, 3, "{}", out.snapshot());
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: import web/perl:5: Unreachable: cannot reach 127.0.0.1:1"),
        "{}",
        out.stderr
    );
}

/// Run streamsync on a pseudo-terminal (through `script`), feeding `input` to it.
fn run_on_terminal(repo: &TestRepo, args: &str, input: &str, ci: Option<&str>) -> (i32, String) {
    let command = format!(
        "{} -C {} {args}",
        env!("CARGO_BIN_EXE_streamsync"),
        repo.path().display()
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .env_remove("CI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(v) = ci {
        cmd.env("CI", v);
    }
    let mut child = cmd.spawn().expect("script(1) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn reference_stream(repo: &TestRepo) {
    repo.define(
        "web",
        &stream("ruby").tag(Tag::image("ref", "quay.io/ruby/ruby:3.3").reference()),
    );
}

#[test]
fn apply_on_a_terminal_shows_the_plan_and_asks_first() {
    let repo = TestRepo::new();
    reference_stream(&repo);
    let (code, screen) = run_on_terminal(&repo, "apply", "no\n", None);
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("+ create stream web/ruby"), "{screen}");
    assert!(screen.contains("Enter a value:"), "{screen}");
    assert!(
        screen.contains("Apply cancelled: nothing was changed."),
        "{screen}"
    );
    assert!(!repo.path().join("state").exists());
    let (code, screen) = run_on_terminal(&repo, "apply", "yes\n", None);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Apply complete: 2 done"), "{screen}");
    assert!(repo.path().join("state/web/ruby.yaml").exists());
}

#[test]
fn auto_approve_ci_and_pipes_never_prompt() {
    let repo = TestRepo::new();
    reference_stream(&repo);
    let (code, screen) = run_on_terminal(&repo, "apply --auto-approve", "", None);
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Enter a value"), "{screen}");
    repo.define("web", &stream("perl"));
    let (code, screen) = run_on_terminal(&repo, "apply", "", Some("true"));
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Enter a value"), "{screen}");
    assert!(repo.path().join("state/web/perl.yaml").exists());
    // Pipes (as every other test runs): no prompt, the apply just runs.
    repo.define("web", &stream("node"));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(!out.stderr.contains("Enter a value"), "{}", out.stderr);
    assert!(repo.path().join("state/web/node.yaml").exists());
}

#[test]
fn the_sync_loop_keeps_running_through_invalid_definitions() {
    let repo = TestRepo::new();
    let valid = stream("ruby")
        .tag(Tag::image("latest", "quay.io/example/ruby:3.3").reference())
        .to_yaml();
    repo.write(
        "definitions/demo/ruby.yaml",
        &valid.replace("DockerImage", "DockerImag"),
    );
    let mut cmd = crate::support::bin();
    let mut child = cmd
        .arg("-C")
        .arg(repo.path())
        .args(["sync", "--interval", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sync");
    // Refused passes, one a second, and the loop goes on: once the definitions are fixed,
    // the next pass applies them.
    std::thread::sleep(Duration::from_millis(1500));
    repo.write("definitions/demo/ruby.yaml", &valid);
    let meta = repo.path().join("state/streamsync.toml");
    let start = Instant::now();
    while !meta.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no pass after the fix"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sync did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.matches("nothing was synced").count() >= 1,
        "{stderr}"
    );
    assert!(stderr.contains("sync stopped"), "{stderr}");
    assert_eq!(status.code(), Some(0), "the last pass succeeded\n{stderr}");
}
