//! The README's claims, run: the quick start on a fresh repository, the completions command,
//! the validate example's line numbers, the roll-out walkthrough and the `-o`/`-q` claims
//! compared with what the tool prints. Completions hide hidden flags.

use std::path::Path;
use std::process::Command;

use crate::common::{TestRepo, crate_path, run_in};

fn readme() -> String {
    std::fs::read_to_string(crate_path("README.md")).unwrap()
}

/// The lines of the first fenced block after `heading`, of the given info string.
fn block_after(heading: &str, info: &str) -> Vec<String> {
    let text = readme();
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README lacks {heading:?}"));
    let fence = format!("```{info}\n");
    let open = start + text[start..].find(&fence).expect("a block") + fence.len();
    let close = open + text[open..].find("```").expect("its end");
    text[open..close].lines().map(str::to_owned).collect()
}

#[test]
fn completions_hide_hidden_flags_and_bash_parses_them() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_in(Path::new("."), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for hidden in ["--now", "--debounce-ms", "debounce", " now="] {
            assert!(!out.stdout.contains(hidden), "{shell} offers {hidden}");
        }
        assert!(out.stdout.contains("auto-approve"), "{shell}");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("streamsync.bash");
    std::fs::write(
        &script,
        run_in(Path::new("."), &["completions", "bash"]).stdout,
    )
    .unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The install section's completions line (under "From source") creates its folder first and
/// works as written.
#[test]
fn the_completions_command_of_the_readme_works_in_a_fresh_home() {
    let lines = block_after("**From source**", "sh");
    let line = lines
        .iter()
        .find(|l| l.contains("completions bash"))
        .expect("a completions line")
        .split(" #")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(line.starts_with("mkdir -p "), "{line}");
    let home = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_streamsync"))
        .parent()
        .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&line)
        .env("HOME", home.path())
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = home
        .path()
        .join(".local/share/bash-completion/completions/streamsync");
    assert!(
        std::fs::read_to_string(written)
            .unwrap()
            .contains("_streamsync()")
    );
}

/// The console blocks of the section under `heading`: `(command, lines shown after it)`.
fn console(heading: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in block_after(heading, "console") {
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push((cmd.to_owned(), Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line);
        }
    }
    out
}

/// Run the README's console commands in `root` (streamsync from this build, git with a test
/// identity; `git push` and `oc` have no server here) and check that every line the README
/// shows is printed.
fn walk(root: &Path, steps: &[(String, Vec<String>)], oc_export: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_streamsync"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for (cmd, shown) in steps {
        if cmd.starts_with("git push") {
            continue;
        }
        if let Some(rest) = cmd.strip_prefix("oc get is -A -o yaml > ") {
            std::fs::copy(crate_path(oc_export), root.join(rest)).unwrap();
            continue;
        }
        let out = Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .current_dir(root)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env("STREAMSYNC_NOW", "2026-01-01T00:00:00Z")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "`{cmd}` failed:\n{printed}");
        for line in shown {
            assert!(
                printed.lines().any(|l| l.trim_end() == line.trim_end()),
                "`{cmd}` does not print the README's line {line:?}; it printed:\n{printed}"
            );
        }
    }
}

#[test]
fn the_quick_start_walks_as_written() {
    let steps = console("## Quick start");
    assert!(steps.iter().any(|(c, _)| c.starts_with("streamsync init")));
    assert!(steps.iter().any(|(c, _)| c.starts_with("git add")));
    let repo = TestRepo::new();
    git2::Repository::init(repo.path()).unwrap();
    walk(repo.path(), &steps, "");
    // The state was committed with the definitions.
    let git = git2::Repository::open(repo.path()).unwrap();
    let tree = git.head().unwrap().peel_to_tree().unwrap();
    assert!(tree.get_path(Path::new("state/team/example.yaml")).is_ok());
    assert!(
        tree.get_path(Path::new("definitions/team/example.yaml"))
            .is_ok()
    );
}

#[test]
fn adopting_walks_as_written() {
    let steps = console("### Adopting streams from a cluster");
    let repo = TestRepo::new();
    walk(repo.path(), &steps, "tests/fixtures/adopt/streams.yaml");
}

/// The validate example's message, line and column are what validate prints for that typo.
#[test]
fn the_validate_example_is_what_validate_prints() {
    let text = readme();
    let shown = text
        .lines()
        .find(|l| l.contains("error: tag `2.0`: `from.kind` `DockerImages`"))
        .expect("the validate example")
        .to_owned();
    let hint = text
        .lines()
        .skip_while(|l| *l != shown)
        .nth(1)
        .unwrap()
        .to_owned();
    let repo = TestRepo::new();
    let ruby = std::fs::read_to_string(crate_path("definitions/demo/ruby.yaml")).unwrap();
    repo.write(
        "definitions/demo/ruby.yaml",
        &ruby.replacen("kind: DockerImage\n", "kind: DockerImages\n", 1),
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 1);
    let printed = format!("{}{}", out.stdout, out.stderr);
    assert!(
        printed.lines().any(|l| l == shown),
        "{shown}\n---\n{printed}"
    );
    assert!(printed.lines().any(|l| l == hint), "{hint}\n---\n{printed}");
}

/// The roll-out walkthrough's first step, on the example repository as it is.
#[test]
fn the_rollout_walkthrough_waits_as_shown() {
    let steps = console("## Roll-outs");
    let (cmd, shown) = &steps[0];
    assert_eq!(cmd, "streamsync rollout --dry-run");
    let repo = TestRepo::new();
    for dir in ["definitions/demo", "deploy", "policies"] {
        for entry in std::fs::read_dir(crate_path(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            repo.copy(format!("{dir}/{name}"), &format!("{dir}/{name}"));
        }
    }
    repo.copy("streamsync.toml", "streamsync.toml");
    let out = repo.run(&["rollout", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let printed = format!("{}{}", out.stdout, out.stderr);
    for line in shown {
        assert!(printed.lines().any(|l| l == line), "{line}\n---\n{printed}");
    }
}

/// `-o` is `--format` wherever data is printed; `-q` leaves only errors (and JSON asked for).
#[test]
fn output_and_quiet_claims_hold() {
    let repo = TestRepo::new();
    assert_eq!(repo.run(&["init", "-q", "--namespace", "team"]).code, 0);
    for args in [
        &["validate", "-o", "json"][..],
        &["plan", "-o", "json"],
        &["prune", "-o", "json"],
        &["rollout", "--dry-run", "-o", "json"],
        &["get", "streams", "-o", "json"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", out.stdout));
    }
    for args in [
        &["-q", "validate"][..],
        &["-q", "plan"],
        &["-q", "apply", "--auto-approve"],
        &["-q", "plan"],
        &["-q", "rollout", "--dry-run"],
        &["-q", "sync", "--once"],
        &["-q", "catalog"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", ""),
            "{args:?}"
        );
    }
    let out = repo.run(&["-q", "plan", "-o", "json"]);
    assert!(out.stdout.contains("\"format_version\""), "{}", out.stdout);
    let out = repo.run(&["-q", "get", "stream", "team/nosuch"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
}
