//! Running the built binary from the registry tests: a command with the environment every
//! test wants (no colour, no log filter, no credentials of the machine, a fixed "now"), and
//! its output.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The "now" a run has unless a test names another.
pub const NOW: &str = "2026-01-01T00:00:00Z";

/// What a run printed and how it exited.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Stdout as JSON (the test fails when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The binary with the test environment, at [`NOW`].
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_streamsync"));
    c.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", "/nonexistent-streamsync-test")
        .env("STREAMSYNC_NOW", NOW);
    c
}

/// Run `args` in the repository at `root` at time `now`.
pub fn run_at(root: &Path, now: &str, args: &[&str]) -> Out {
    let out = bin()
        .arg("-C")
        .arg(root)
        .args(args)
        .env("STREAMSYNC_NOW", now)
        .output()
        .expect("run streamsync");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run `args` in the repository at `root` at [`NOW`].
pub fn run(root: &Path, args: &[&str]) -> Out {
    run_at(root, NOW, args)
}
