//! The `streamsync` binary: everything lives in the library; this only returns the exit code.
//! The version it reports names the commit (`STREAMSYNC_COMMIT` at build time, else `unknown`)
//! and the target (see `build.rs`).

fn main() -> std::process::ExitCode {
    let commit = option_env!("STREAMSYNC_COMMIT").unwrap_or("unknown");
    let version = format!(
        "{} (commit {commit}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("STREAMSYNC_TARGET")
    );
    streamsync::cli::main_with_version(Box::leak(version.into_boxed_str()))
}
