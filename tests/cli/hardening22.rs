//! Issue 22, manifests and config, through the binary: cost in proportion to the input
//! (trigger annotations, many objects, many roll-outs in one file: two sizes each), bounded
//! diagnostics (output and peak memory of the child measured), `ca_files` that are not
//! regular files, edits that change nothing but the image (block scalars at the end of a
//! file, tagged values, duplicate keys), and the config checks of `[rollout] branch` and
//! `[cluster] internal_registry`.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestRepo, commit_all};
use crate::scenarios::scenario_repo;

/// What one bounded run printed and cost.
struct Measured {
    code: i32,
    /// Bytes written to stdout and stderr together.
    output_bytes: usize,
    /// Bytes written to stderr (diagnostics).
    stderr_bytes: usize,
    /// The first MiB of stderr.
    stderr: String,
    /// Peak resident memory of the child, in bytes (`wait4`'s `ru_maxrss`).
    peak_rss: u64,
    /// CPU time of the child (user and system): the work done, which a busy machine
    /// changes far less than the wall-clock time.
    cpu: Duration,
}

/// Run streamsync in `root` with an address-space limit and a time limit (killed after it),
/// measuring its output and peak memory: a run that would exhaust the machine fails here.
fn run_measured(root: &Path, args: &[&str], memory_limit: u64, timeout: Duration) -> Measured {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamsync"));
    command
        .arg("-C")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("STREAMSYNC_NOW", "2026-01-01T00:00:00Z")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: memory_limit,
                rlim_max: memory_limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped below with wait4, which also gives the child's own peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("run streamsync");
    let pid = child.id() as libc::pid_t;
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let (mut kept, mut total, mut buf) = (Vec::new(), 0usize, vec![0u8; 64 * 1024]);
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
                let room = (1usize << 20).saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            (String::from_utf8_lossy(&kept).into_owned(), total)
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            while start.elapsed() < timeout {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !done.load(std::sync::atomic::Ordering::SeqCst) {
                // SAFETY: the child is not reaped yet, so its pid is still its own.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        })
    };
    let mut status = 0;
    // SAFETY: plain FFI call on our own child; rusage is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` outlive the call, and `pid` is this test's own child.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reaped, pid, "wait4");
    watchdog.join().unwrap();
    let (_, out_bytes) = out.join().unwrap();
    let (stderr, err_bytes) = err.join().unwrap();
    assert!(
        elapsed < timeout,
        "`streamsync {}` ran past {timeout:?} and was killed",
        args.join(" ")
    );
    Measured {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        },
        output_bytes: out_bytes + err_bytes,
        stderr_bytes: err_bytes,
        stderr,
        peak_rss: usage.ru_maxrss as u64 * 1024,
        cpu: [usage.ru_utime, usage.ru_stime]
            .iter()
            .map(|t| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64))
            .sum(),
    }
}

const GIB: u64 = 1 << 30;

/// A repository of the `update` scenario in Git, with `config` as its `streamsync.toml`.
fn git_repo(config: &str) -> (TestRepo, git2::Repository) {
    let repo = scenario_repo("update");
    repo.copy(
        "tests/fixtures/rollout/cli/deploy/web.yaml",
        "deploy/web.yaml",
    );
    let web = repo.path().join("deploy/web.yaml");
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, text.replace("ruby:edge", "ruby:docs")).unwrap();
    let state = std::fs::read_to_string(repo.path().join("state/web/ruby.yaml")).unwrap();
    repo.write("definitions/web/ruby.yaml", &state);
    repo.write("streamsync.toml", config);
    let git = git2::Repository::init_opts(
        repo.path(),
        git2::RepositoryInitOptions::new().initial_head("trunk"),
    )
    .unwrap();
    commit_all(&git, "base");
    (repo, git)
}

fn pr_config(branch: &str) -> String {
    format!("[rollout]\npull_request = true\nbranch = \"{branch}\"\n")
}

// --- config checks -----------------------------------------------------------------------------

#[test]
fn a_ca_file_that_is_no_regular_file_or_too_large_is_refused_naming_ca_files() {
    let repo = scenario_repo("update");
    std::fs::write(repo.path().join("big.pem"), vec![b'A'; 2 << 20]).unwrap();
    std::fs::create_dir(repo.path().join("folder.pem")).unwrap();
    for (file, why) in [
        ("/dev/zero", "not a regular file"),
        ("folder.pem", "not a regular file"),
        ("big.pem", "larger than 1024 KiB"),
    ] {
        repo.write(
            "streamsync.toml",
            &format!("[registry]\nca_files = [\"{file}\"]\n"),
        );
        for args in [&["plan", "--refresh"][..], &["import", "web/ruby"][..]] {
            let out = run_measured(repo.path(), args, 2 * GIB, Duration::from_secs(60));
            assert_eq!(out.code, 1, "{file} {args:?}: {}", out.stderr);
            assert!(
                out.stderr
                    .contains(&format!("[registry] ca_files: `{file}`: {why}")),
                "{file}: {}",
                out.stderr
            );
            assert!(out.peak_rss < 300 << 20, "{file}: {} bytes", out.peak_rss);
        }
    }
}

#[test]
fn an_invalid_internal_registry_is_a_config_error_at_its_line() {
    let repo = scenario_repo("update");
    for bad in [
        "https://image-registry.example.com",
        "image-registry.example.com/ns",
        "registry example.com",
        "registry.example.com:99999",
        "-registry.example.com",
    ] {
        repo.write(
            "streamsync.toml",
            &format!("# the cluster\n\n[cluster]\ninternal_registry = \"{bad}\"\n"),
        );
        for args in [
            &["validate"][..],
            &["plan"][..],
            &["rollout", "--dry-run"][..],
        ] {
            let out = repo.run(args);
            assert_eq!(out.code, 1, "{bad} {args:?}: {}", out.snapshot());
            assert!(
                out.stderr.contains(&format!(
                    "streamsync.toml:4:21: error: `{bad}` is not a registry address `host[:port]`"
                )),
                "{bad} {args:?}: {}",
                out.stderr
            );
        }
    }
    for good in [
        "image-registry.openshift-image-registry.svc:5000",
        "127.0.0.1:5000",
        "[::1]:5000",
        "registry.local",
    ] {
        repo.write(
            "streamsync.toml",
            &format!("[cluster]\ninternal_registry = \"{good}\"\n"),
        );
        let out = repo.run(&["validate"]);
        assert_eq!(out.code, 0, "{good}: {}", out.snapshot());
    }
}

#[test]
fn a_rollout_branch_git_would_read_otherwise_is_a_config_error_at_its_line() {
    let repo = scenario_repo("update");
    for (bad, why) in [
        ("HEAD", "is not a valid Git branch name"),
        ("-f", "is not a valid Git branch name (it starts with `-`)"),
        ("refs/heads/deploys", "starts with `refs/`"),
        ("deploys.lock", "is not a valid Git branch name"),
        ("a..b", "is not a valid Git branch name"),
        ("x@{1}", "is not a valid Git branch name"),
    ] {
        repo.write("streamsync.toml", &pr_config(bad));
        let out = repo.run(&["validate"]);
        assert_eq!(out.code, 1, "{bad}: {}", out.snapshot());
        assert!(
            out.stderr
                .contains(&format!("streamsync.toml:3:10: error: `{bad}` {why}")),
            "{bad}: {}",
            out.stderr
        );
    }
}

/// The branch in pull-request mode must be neither the default branch nor read as a remote's
/// branch, and a branch streamsync did not write is never rewritten; its own is.
#[test]
fn the_rollout_branch_is_never_the_default_a_remotes_or_someone_elses() {
    let sync = ["sync", "--once", "--commit"];
    // The default branch, as the remote's HEAD names it, by convention, or as configured.
    let (repo, git) = git_repo(&pr_config("develop"));
    git.remote("origin", "https://git.example.com/team/deploy.git")
        .unwrap();
    let trunk = git.head().unwrap().target().unwrap();
    git.reference("refs/remotes/origin/develop", trunk, true, "test")
        .unwrap();
    git.reference_symbolic(
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/develop",
        true,
        "test",
    )
    .unwrap();
    for (branch, why) in [
        ("develop", "`develop`, the repository's default branch"),
        ("main", "`main`, the repository's default branch"),
        ("master", "`master`, the repository's default branch"),
        (
            "origin/main",
            "`origin/main`, which starts with the remote `origin`",
        ),
    ] {
        repo.write("streamsync.toml", &pr_config(branch));
        commit_all(&git, &format!("use {branch}"));
        let out = repo.run(&sync);
        assert_eq!(out.code, 1, "{branch}: {}", out.snapshot());
        assert!(out.stderr.contains(why), "{branch}: {}", out.stderr);
        assert!(
            git.find_reference(&format!("refs/heads/{branch}")).is_err(),
            "{branch} was written"
        );
    }
    assert_eq!(
        git.refname_to_id("refs/remotes/origin/develop").unwrap(),
        trunk
    );

    // A branch somebody made is refused, locally or on the remote; streamsync's own is
    // rewritten on a new HEAD.
    repo.write("streamsync.toml", &pr_config("deploys"));
    commit_all(&git, "deploys");
    let head = git.head().unwrap().target().unwrap();
    git.reference("refs/heads/deploys", head, false, "someone's")
        .unwrap();
    let out = repo.run(&sync);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains(
            "`refs/heads/deploys` exists and its last commit is not a streamsync roll-out"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(git.refname_to_id("refs/heads/deploys").unwrap(), head);
    git.find_reference("refs/heads/deploys")
        .unwrap()
        .delete()
        .unwrap();
    let out = repo.run(&sync);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let ours = git.refname_to_id("refs/heads/deploys").unwrap();
    assert!(
        git.find_commit(ours)
            .unwrap()
            .message()
            .unwrap()
            .starts_with("streamsync: roll 2 containers")
    );
    // A reviewer's commit on top of streamsync's: kept.
    let sig = git2::Signature::now("Reviewer", "r@example.com").unwrap();
    let tree = git.find_commit(ours).unwrap().tree().unwrap();
    let theirs = git
        .commit(
            None,
            &sig,
            &sig,
            "fix the canary by hand",
            &tree,
            &[&git.find_commit(ours).unwrap()],
        )
        .unwrap();
    git.reference("refs/heads/deploys", theirs, true, "review")
        .unwrap();
    std::fs::write(repo.path().join("README"), "moved\n").unwrap();
    commit_all(&git, "moved");
    let out = repo.run(&sync);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert_eq!(git.refname_to_id("refs/heads/deploys").unwrap(), theirs);
    // The same on the remote-tracking branch (what a push would overwrite).
    git.reference("refs/heads/deploys", ours, true, "back")
        .unwrap();
    git.reference("refs/remotes/origin/deploys", theirs, true, "fetched")
        .unwrap();
    let out = repo.run(&sync);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr.contains("`refs/remotes/origin/deploys` exists"),
        "{}",
        out.stderr
    );
    // Streamsync's own, on an earlier HEAD: recreated on the new one.
    git.find_reference("refs/remotes/origin/deploys")
        .unwrap()
        .delete()
        .unwrap();
    let out = repo.run(&sync);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let new = git.refname_to_id("refs/heads/deploys").unwrap();
    assert_ne!(new, ours);
    assert_eq!(
        git.find_commit(new).unwrap().parent_id(0).unwrap(),
        git.head().unwrap().target().unwrap()
    );
}

// --- values nobody asked to change -------------------------------------------------------------

const TRIGGER: &str = r#"'[{"from":{"kind":"ImageStreamTag","name":"ruby:latest"},"fieldPath":"spec.template.spec.containers[0].image"}]'"#;

/// A Deployment of `web/ruby:latest` whose one container is `container` (indented as the
/// first entry of `containers`, after `- `).
fn deployment(container: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: {TRIGGER}\nspec:\n  template:\n    spec:\n      containers:\n      - {container}"
    )
}

const ROLLED: &str = "registry.example.com/ruby@sha256:3a33bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn an_image_added_before_a_block_scalar_ending_the_file_leaves_the_scalar_alone() {
    let repo = scenario_repo("update");
    let text = deployment(
        "name: web\n        env:\n        - name: SECRET\n          value: |\n            s3cr3t",
    );
    for (file, text) in [
        ("deploy/lf.yaml", text.clone()),
        ("deploy/crlf.yaml", text.replace('\n', "\r\n")),
        ("deploy/folded.yaml", text.replace("value: |", "value: >+")),
    ] {
        repo.write(file, &text);
    }
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        out.stderr.contains("Rolled 3 containers in 3 files."),
        "{}",
        out.stderr
    );
    let expected = deployment(&format!(
        "name: web\n        image: {ROLLED}\n        env:\n        - name: SECRET\n          value: |\n            s3cr3t"
    ));
    let read = |f: &str| std::fs::read_to_string(repo.path().join(f)).unwrap();
    assert_eq!(read("deploy/lf.yaml"), expected);
    assert_eq!(read("deploy/crlf.yaml"), expected.replace('\n', "\r\n"));
    assert_eq!(
        read("deploy/folded.yaml"),
        expected.replace("value: |", "value: >+")
    );
    let again = repo.run(&["rollout"]);
    assert_eq!(again.code, 0, "{}", again.snapshot());
    assert!(again.stderr.contains("Nothing to roll"), "{}", again.stderr);
}

#[test]
fn a_tagged_image_is_not_rewritten_and_the_roll_out_is_an_error_naming_the_file() {
    let repo = scenario_repo("update");
    let tagged = deployment("name: web\n        image: !!binary b2xk\n");
    repo.write("deploy/tagged.yaml", &tagged);
    let custom = deployment("name: web\n        image: !custom old\n");
    repo.write("deploy/custom.yaml", &custom);
    for args in [&["rollout"][..], &["validate"][..]] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{}", out.snapshot());
        // At the value, after its tag.
        for (file, column) in [("deploy/tagged.yaml", 25), ("deploy/custom.yaml", 24)] {
            assert!(
                out.stderr.contains(&format!(
                    "{file}:13:{column}: error: trigger 1 of Deployment `web`: the container's `image` is written with a YAML tag"
                )),
                "{}",
                out.stderr
            );
        }
    }
    let read = |f: &str| std::fs::read_to_string(repo.path().join(f)).unwrap();
    assert_eq!(read("deploy/tagged.yaml"), tagged);
    assert_eq!(read("deploy/custom.yaml"), custom);
}

#[test]
fn duplicate_keys_in_a_manifest_are_errors_and_nothing_in_that_document_rolls() {
    let repo = scenario_repo("update");
    let twice = deployment(
        "name: web\n        image: registry.example.com/ruby:old\n        image: registry.example.com/ruby:new\n",
    );
    // A second document of the same file, without duplicates, still rolls.
    let fine = deployment("name: web\n        image: registry.example.com/ruby:old\n")
        .replace("name: web\n  namespace", "name: api\n  namespace");
    repo.write("deploy/web.yaml", &format!("{twice}---\n{fine}"));
    let metadata = deployment("name: web\n        image: x\n").replace(
        "  name: web\n  namespace: web\n",
        "  name: web\n  namespace: web\n  name: other\n",
    );
    repo.write("deploy/meta.yaml", &metadata);
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    for at in ["deploy/web.yaml:14:9", "deploy/meta.yaml:6:3"] {
        assert!(
            out.stderr
                .contains(&format!("{at}: error: duplicate key `")),
            "{at}: {}",
            out.stderr
        );
    }
    let out = repo.run(&["rollout"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr
            .contains("deploy/web.yaml:14:9: error: duplicate key `image` (first at line 13)"),
        "{}",
        out.stderr
    );
    let rolled = std::fs::read_to_string(repo.path().join("deploy/web.yaml")).unwrap();
    assert!(rolled.starts_with(&twice), "{rolled}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("deploy/meta.yaml")).unwrap(),
        metadata
    );
}

// --- cost in proportion to the input -----------------------------------------------------------

/// The CPU time of `streamsync args` on the file `make(n)` (as `deploy/w.yaml`) at `n` and
/// `4 * n`: the larger within `budget`, and 4x the input costing less than 8x the time
/// (linear with room for noise; quadratic would be 16x). Returns the two runs.
fn scales_linearly(
    what: &str,
    args: &[&str],
    n: usize,
    budget: Duration,
    make: impl Fn(usize) -> String,
) -> (Measured, Measured) {
    let run = |n: usize| {
        let repo = scenario_repo("update");
        repo.write("deploy/w.yaml", &make(n));
        // The best of two runs, so that a busy machine does not decide.
        let first = run_measured(repo.path(), args, 2 * GIB, budget * 4);
        repo.write("deploy/w.yaml", &make(n));
        let second = run_measured(repo.path(), args, 2 * GIB, budget * 4);
        if second.cpu < first.cpu {
            second
        } else {
            first
        }
    };
    let small = run(n);
    let large = run(4 * n);
    // Runs this short are mostly start-up and noise: below 0.1 s of CPU counts as 0.1 s.
    let ratio = large.cpu.as_secs_f64() / small.cpu.as_secs_f64().max(0.1);
    eprintln!(
        "{what}: n={n} {:?}, 4n {:?} (ratio {ratio:.1}), peak {} MiB",
        small.cpu,
        large.cpu,
        large.peak_rss >> 20
    );
    assert!(
        large.cpu < budget,
        "{what}: {:?} at 4n={} is over {budget:?}",
        large.cpu,
        4 * n
    );
    assert!(
        ratio < 8.0,
        "{what}: 4x the input took {ratio:.1}x the time"
    );
    // Diagnostics are bounded; the data on stdout is what was asked for.
    assert!(
        large.stderr_bytes < 1 << 20,
        "{what}: {} bytes",
        large.stderr_bytes
    );
    assert!(
        large.peak_rss < 300 << 20,
        "{what}: {} bytes",
        large.peak_rss
    );
    (small, large)
}

fn entries(n: usize, field_path: impl Fn(usize) -> String) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"from":{{"kind":"ImageStreamTag","name":"ruby:latest"}},"fieldPath":"{}"}}"#,
                field_path(i).replace('"', "\\\"")
            )
        })
        .collect();
    format!("'[{}]'", entries.join(","))
}

fn annotated(annotation: &str, containers: usize) -> String {
    let containers: String = (0..containers)
        .map(|i| format!("      - name: w{i}\n        image: registry.example.com/ruby:old\n"))
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\n  annotations:\n    image.openshift.io/triggers: {annotation}\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
    )
}

#[test]
fn a_trigger_annotation_of_thousands_of_entries_costs_in_proportion() {
    // Entries by index, each selecting no container: one error each, bounded.
    let (_, large) = scales_linearly(
        "annotation by index",
        &["validate"],
        4_000,
        Duration::from_secs(20),
        |n| {
            annotated(
                &entries(n, |i| {
                    format!("spec.template.spec.containers[{}].image", i + 1)
                }),
                1,
            )
        },
    );
    assert_eq!(large.code, 1);
    assert!(
        large
            .stderr
            .contains("15980 more `trigger-field-path` problems in this file"),
        "{}",
        large.stderr
    );
    // Name selectors that match none of thousands of containers.
    let (_, large) = scales_linearly(
        "annotation by name",
        &["validate"],
        2_000,
        Duration::from_secs(20),
        |n| {
            annotated(
                &entries(n, |i| {
                    format!(r#"spec.template.spec.containers[?(@.name=="c{i}")].image"#)
                }),
                n,
            )
        },
    );
    assert_eq!(large.code, 1);
    assert!(
        large
            .stderr
            .contains("the 8000 `containers` of Deployment `web` include [0] `w0`, [1] `w1`, [2] `w2`, [3] `w3`, [4] `w4` and 7995 more"),
        "{}",
        large.stderr
    );
    // Entries that are all valid: each rolls its container.
    let (_, large) = scales_linearly(
        "annotation rolled",
        &["rollout", "--dry-run", "--format", "json"],
        1_000,
        Duration::from_secs(20),
        |n| {
            annotated(
                &entries(n, |i| {
                    format!(r#"spec.template.spec.containers[?(@.name=="w{i}")].image"#)
                }),
                n,
            )
        },
    );
    assert_eq!(large.code, 0, "{}", large.stderr);
}

fn deployments(n: usize) -> String {
    (0..n)
        .map(|i| {
            deployment("name: web\n        image: registry.example.com/ruby:old\n").replace(
                "name: web\n  namespace",
                &format!("name: web{i}\n  namespace"),
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn a_file_of_thousands_of_deployments_validates_and_rolls_in_proportion() {
    let (_, large) = scales_linearly(
        "deployments validated",
        &["validate"],
        2_500,
        Duration::from_secs(20),
        deployments,
    );
    assert_eq!(large.code, 0, "{}", large.stderr);
    let (_, large) = scales_linearly(
        "deployments rolled",
        &["rollout"],
        1_000,
        Duration::from_secs(20),
        deployments,
    );
    assert_eq!(large.code, 0, "{}", large.stderr);
    assert!(
        large.stderr.contains("Rolled 4000 containers in 1 file."),
        "{}",
        large.stderr
    );
}

#[test]
fn diagnostics_stay_bounded_however_many_problems_a_file_has() {
    // A DeploymentConfig whose thousands of `containerNames` match none of its thousands of
    // containers, and an annotation whose entries are all broken: each file shows a bounded
    // number of problems of a kind, then how many more.
    let dc = |n: usize| {
        let names: String = (0..n).map(|i| format!("      - n{i}\n")).collect();
        let containers: String = (0..n)
            .map(|i| format!("      - name: c{i}\n        image: x\n"))
            .collect();
        format!(
            "apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata:\n  name: dc\n  namespace: web\nspec:\n  template:\n    spec:\n      containers:\n{containers}  triggers:\n  - type: ImageChange\n    imageChangeParams:\n      automatic: true\n      from: {{kind: ImageStreamTag, name: 'ruby:latest'}}\n      containerNames:\n{names}"
        )
    };
    let broken = |n: usize| {
        let entries = vec![r#"{"from":{"kind":"ImageStreamTag"}}"#; n].join(",");
        annotated(&format!("'[{entries}]'"), 1)
    };
    for (what, text) in [("dc", dc(8_000)), ("broken", broken(16_000))] {
        let repo = scenario_repo("update");
        repo.write("deploy/w.yaml", &text);
        for args in [
            &["validate"][..],
            &["plan"][..],
            &["rollout", "--dry-run"][..],
        ] {
            let out = run_measured(repo.path(), args, 2 * GIB, Duration::from_secs(60));
            assert!(
                out.output_bytes < 1 << 20,
                "{what} {args:?}: {} bytes",
                out.output_bytes
            );
            assert!(
                out.peak_rss < 300 << 20,
                "{what} {args:?}: {} bytes",
                out.peak_rss
            );
            let lines = out
                .stderr
                .lines()
                .filter(|l| l.contains(": error: "))
                .count();
            assert!(
                lines <= 30,
                "{what} {args:?}: {lines} errors shown\n{}",
                out.stderr
            );
            if out.code != 0 {
                assert!(
                    out.stderr.contains("more `trigger-"),
                    "{what} {args:?}: {}",
                    out.stderr
                );
            }
        }
    }
}
