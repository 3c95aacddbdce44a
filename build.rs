//! Build-time facts for `streamsync --version`: the target the binary is built for
//! (`STREAMSYNC_TARGET`; only build scripts are told it).
//!
//! The commit comes from `STREAMSYNC_COMMIT` in the environment of the build (scripts/package.sh
//! and the release workflow set it; without it, as in a build from the crate, it is `unknown`).
//! Only `src/main.rs` reads it, so a new commit rebuilds the binary, not the library.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=STREAMSYNC_TARGET={target}");
}
