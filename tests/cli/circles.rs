//! The import-circle check CI runs (`scripts/check-circles.py`): the library has none, and a
//! circle, through a `use`, a `use crate::{…}` group or a `super::` climbing out of its own
//! module, is reported with the lines that make it.

use std::process::Command;

use crate::common::{TestRepo, crate_path};

fn check(root: &std::path::Path) -> (i32, String, String) {
    let out = Command::new("python3")
        .arg(crate_path("scripts/check-circles.py"))
        .arg("--root")
        .arg(root)
        .output()
        .expect("python3 runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_library_has_no_import_circle() {
    let (code, stdout, stderr) = check(&crate_path("src"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("no import circles among "), "{stdout}");
}

#[test]
fn a_circle_is_reported_with_its_lines() {
    let repo = TestRepo::new();
    repo.write("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\n")
        .write("src/a/mod.rs", "use crate::{b::Thing, c};\n")
        .write("src/b.rs", "pub struct Thing;\n")
        .write(
            "src/c/inner.rs",
            "pub fn f() -> super::super::a::X { todo() }\n",
        );
    let (code, _, stderr) = check(&repo.path().join("src"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("import circle among: a, c"), "{stderr}");
    assert!(stderr.contains("src/c/inner.rs:1:"), "{stderr}");
    assert!(!stderr.contains("b ->"), "{stderr}");

    // Without the edge back, the same tree passes.
    repo.write("src/c/inner.rs", "pub fn f() {}\n");
    let (code, stdout, stderr) = check(&repo.path().join("src"));
    assert_eq!(code, 0, "{stdout}{stderr}");
}
