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
    /// The first MiB of stdout and of stderr.
    stdout: String,
    stderr: String,
    /// Peak resident memory of the child, in bytes (`wait4`'s `ru_maxrss`).
    peak_rss: u64,
    elapsed: Duration,
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
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reaped, pid, "wait4");
    watchdog.join().unwrap();
    let (stdout, out_bytes) = out.join().unwrap();
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
        stdout,
        stderr,
        peak_rss: usage.ru_maxrss as u64 * 1024,
        elapsed,
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
