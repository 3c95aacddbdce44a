//! The `streamsync` binary: everything lives in the library; this only returns the exit code.

fn main() -> std::process::ExitCode {
    streamsync::cli::main()
}
