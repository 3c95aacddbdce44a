//! `validate` through the binary.

use crate::common::TestRepo;
use crate::snap;

#[test]
fn corpus_files_validate_unchanged() {
    let repo = TestRepo::new();
    for f in [
        "httpd-rhel.json",
        "nodejs-rhel.json",
        "postgresql-rhel.json",
        "ruby-rhel.json",
    ] {
        repo.copy(
            format!("tests/fixtures/corpus/{f}"),
            &format!("definitions/openshift/{f}"),
        );
    }
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("validate_corpus", out.snapshot());
}
