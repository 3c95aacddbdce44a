//! The `streamsync` binary: everything lives in the library; this only returns the exit code.
//! The version it reports names the commit and the target it was built from (see `build.rs`).

fn main() -> std::process::ExitCode {
    streamsync::cli::main_with_version(concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("STREAMSYNC_COMMIT"),
        ", ",
        env!("STREAMSYNC_TARGET"),
        ")"
    ))
}
