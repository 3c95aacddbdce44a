//! The function-size check CI runs (`scripts/function-sizes.py`): no function of the library
//! is over 150 lines, and one that is gets named with its file and line; braces in strings,
//! chars and comments do not count.

use std::process::Command;

use crate::common::{TestRepo, crate_path};

fn check(root: &std::path::Path) -> (i32, String) {
    let out = Command::new("python3")
        .arg(crate_path("scripts/function-sizes.py"))
        .arg("--root")
        .arg(root)
        .output()
        .expect("python3 runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_function_of_the_library_is_over_150_lines() {
    let (code, stderr) = check(&crate_path("src"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.starts_with("no function over 150 lines"), "{stderr}");
}

#[test]
fn a_long_function_is_named_with_its_file_and_line() {
    // `fn long` spans 152 lines: its `fn` line, 150 body lines, its closing brace.
    let body: String = (0..150).map(|i| format!("    let _x{i} = 1;\n")).collect();
    let long = format!("// fn decoy() {{\n\npub fn long() {{\n{body}}}\n");
    // Exactly the limit, 150 lines, with a `{` in a string, a `}` in a char and a `{` in a
    // comment, none of which counts as a brace.
    let body: String = (0..145).map(|i| format!("    let _x{i} = 1;\n")).collect();
    let fits = format!(
        "pub fn fits() {{\n    let _s = \"{{\";\n    let _c = '}}';\n    // {{\n{body}}}\n"
    );
    let repo = TestRepo::new();
    repo.write("src/lib.rs", "pub mod a;\n")
        .write("src/a.rs", &long)
        .write("src/b.rs", &fits);
    let (code, stderr) = check(&repo.path().join("src"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("src/a.rs:3: fn long is 152 lines (limit 150)"),
        "{stderr}"
    );
    assert!(!stderr.contains("fits"), "{stderr}");
    assert!(!stderr.contains("decoy"), "{stderr}");

    repo.write("src/a.rs", "pub fn short() {}\n");
    let (code, stderr) = check(&repo.path().join("src"));
    assert_eq!(code, 0, "{stderr}");
}
