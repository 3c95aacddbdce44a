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

/// The install block's completions line creates its folder first and works as written.
#[test]
fn the_completions_command_of_the_readme_works_in_a_fresh_home() {
    let lines = block_after("## Install", "sh");
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
