//! Each input is read once per command: `strace -f -e trace=openat` of `plan` and of `apply`
//! (from the definitions and from a saved plan) shows `streamsync.toml` and each policy file
//! opened at most once. strace is one of the packages `.ci/run` installs.

use std::path::Path;
use std::process::Command;

use crate::common::{TestRepo, stream};

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("streamsync.toml", "default_namespace = \"demo\"\n")
        .write("policies/a.toml", "[prune]\nprotect = [\"latest\"]\n")
        .write("policies/b.toml", "[lint]\nallow = []\n")
        .define(
            "demo",
            &stream("app").annotation("openshift.io/display-name", "App"),
        )
        .define("demo", &stream("tools"));
    repo
}

/// The files under `root` that `args` opened, with how often, read from strace's log.
fn opens(root: &Path, args: &[&str]) -> (i32, Vec<(String, usize)>) {
    let log = root.join("strace.log");
    let mut cmd = crate::support::bin();
    let program = cmd.get_program().to_owned();
    let mut strace = Command::new("strace");
    strace
        .args(["-f", "-qq", "-e", "trace=openat", "-o"])
        .arg(&log)
        .arg(program)
        .arg("-C")
        .arg(root)
        .args(args);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => strace.env(k, v),
            None => strace.env_remove(k),
        };
    }
    let out = strace
        .output()
        .expect("strace is installed (.ci/run installs it)");
    cmd.arg("--version"); // the sandbox lives until here
    let text = std::fs::read_to_string(&log).expect("strace log");
    let root = root.canonicalize().unwrap();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for line in text.lines() {
        let Some(start) = line.find("openat(") else {
            continue;
        };
        if line.contains("= -1") {
            continue; // not opened
        }
        let Some(q) = line[start..].find('"') else {
            continue;
        };
        let rest = &line[start + q + 1..];
        let Some(end) = rest.find('"') else {
            continue;
        };
        let path = Path::new(&rest[..end]);
        let rel = path
            .strip_prefix(&root)
            .or_else(|_| path.strip_prefix(root.to_str().unwrap()))
            .map(|p| p.to_string_lossy().into_owned());
        if let Ok(rel) = rel {
            *counts.entry(rel).or_default() += 1;
        }
    }
    (
        out.status.code().unwrap_or(-1),
        counts.into_iter().collect(),
    )
}

fn assert_once(what: &str, code: i32, counts: &[(String, usize)]) {
    assert_eq!(code, 0, "{what}: {counts:?}");
    for file in ["streamsync.toml", "policies/a.toml", "policies/b.toml"] {
        let n = counts
            .iter()
            .find(|(p, _)| p == file)
            .map_or(0, |(_, n)| *n);
        assert_eq!(n, 1, "{what} opened {file} {n} times: {counts:?}");
    }
}

#[test]
fn plan_opens_config_and_policies_once() {
    let repo = repo();
    let (code, counts) = opens(repo.path(), &["plan"]);
    assert_once("plan", code, &counts);
}

#[test]
fn apply_opens_config_and_policies_once() {
    let repo = repo();
    let (code, counts) = opens(repo.path(), &["apply", "--auto-approve"]);
    assert_once("apply", code, &counts);
}

#[test]
fn apply_of_a_saved_plan_opens_config_and_policies_once() {
    let repo = repo();
    let saved = repo.path().join("saved.plan");
    let saved = saved.to_str().unwrap();
    let out = repo.run(&["plan", "--out", saved]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let (code, counts) = opens(repo.path(), &["apply", saved]);
    assert_once("apply saved.plan", code, &counts);
}

#[test]
fn a_config_that_does_not_parse_is_an_error_never_the_defaults() {
    let repo = repo();
    repo.write(
        "streamsync.toml",
        "default_namespace = \"demo\"\n[registry\n",
    );
    // `get` reads only the config and the state: the parse error stops it, located.
    let out = repo.run(&["get", "streams"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert_eq!(out.stdout, "", "{}", out.snapshot());
    assert!(
        out.stderr
            .starts_with("error: streamsync.toml:2:10: unclosed table, expected `]`\n"),
        "{}",
        out.snapshot()
    );
    assert!(out.stderr.contains("\n  hint: "), "{}", out.snapshot());
    // `plan` lists it with the definitions' problems and makes no plan.
    let out = repo.run(&["plan"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        out.stderr
            .contains("streamsync.toml:2:10: error: unclosed table, expected `]`"),
        "{}",
        out.snapshot()
    );
    assert!(
        out.stderr.contains("no plan was made"),
        "{}",
        out.snapshot()
    );
    // `apply` and a sync pass stop on it before the state is touched.
    for (args, said) in [
        (&["apply", "--auto-approve"][..], "nothing was applied"),
        (&["sync", "--once"][..], "nothing was synced"),
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.snapshot());
        assert!(
            out.stderr
                .contains("streamsync.toml:2:10: error: unclosed table, expected `]`")
                && out.stderr.contains(said),
            "{args:?}: {}",
            out.snapshot()
        );
        assert!(!repo.path().join("state").exists(), "{args:?}");
    }
}
